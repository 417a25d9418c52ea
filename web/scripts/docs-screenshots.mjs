#!/usr/bin/env node
// Takes the screenshots of the Czech user documentation (docs/cs/img/*.png) from the web app
// running against the mock backend (e2e/mock-server.mjs: in-memory admin, desk, chats and
// callbacks, a local OpenID issuer), in Debian's Chromium through playwright-core — the same
// set-up as the browser tests. Needs web/dist: `npm run build` first.
//
// Usage: node scripts/docs-screenshots.mjs        (then `npm run docs` to rebuild the PDFs)
// Environment: CHROMIUM_PATH (default /usr/bin/chromium).
// Each PNG is checked to stay under 150 kB; the script exits non-zero naming what failed.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { pageApi } from "../e2e/helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const WEB = resolve(here, "..");
const ROOT = resolve(WEB, "..");
const OUT = join(ROOT, "docs", "cs", "img");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// As in e2e/helpers.mjs.
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const MAX_BYTES = 150 * 1024;
const TIMEOUT_MS = 20_000;

if (!existsSync(join(WEB, "dist", "index.html"))) {
  console.error("docs-screenshots: web/dist is missing: run `npm run build` first");
  process.exit(1);
}
if (!existsSync(CHROMIUM)) {
  console.error(`docs-screenshots: Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  process.exit(1);
}
mkdirSync(OUT, { recursive: true });

/** Starts the mock server on a free port; resolves its base URL. */
function startMock() {
  const mock = spawn(process.execPath, [join(WEB, "e2e", "mock-server.mjs"), "--port", "0"], {
    cwd: WEB,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, MOCK_DUPLICATE_BROADCASTS: "0" },
  });
  const url = new Promise((resolveUrl, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error("mock server did not start within 10 s")), 10_000);
    mock.stdout.on("data", (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    mock.on("exit", (code) => reject(new Error(`mock server exited with ${code}`)));
  });
  return { mock, url };
}

/** Logs in through the mock issuer's form (password = user name). */
async function login(page, base, username) {
  await page.goto(`${base}/`);
  await page.getByTestId("login").click();
  await page.waitForURL((url) => url.pathname.startsWith("/auth/authorize"));
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(username);
  await page.getByRole("button", { name: "Přihlásit se" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/auth/"));
  await page.getByTestId("user-name").waitFor();
}

/** An API call with the page's own access token: the answer's body; an error status throws. */
async function api(page, method, path, body) {
  const answer = await pageApi(page, method, path, body);
  if (answer.status >= 400) throw new Error(`${method} ${path} → ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

const taken = [];

/** A screenshot of `target` (a locator, or the page's viewport) as docs/cs/img/<name>.png. */
async function shot(target, name, options = {}) {
  const path = join(OUT, `${name}.png`);
  // The page re-renders on every push: an element replaced meanwhile is found again.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await target.screenshot({ path, animations: "disabled", caret: "hide", ...options });
      break;
    } catch (error) {
      if (attempt >= 5 || !/not attached|detached/i.test(String(error))) throw error;
      await new Promise((resolveWait) => setTimeout(resolveWait, 300));
    }
  }
  const bytes = statSync(path).size;
  if (readFileSync(path).subarray(1, 4).toString("latin1") !== "PNG") throw new Error(`${name}.png is not a PNG`);
  if (bytes > MAX_BYTES) throw new Error(`${name}.png is ${Math.round(bytes / 1024)} kB, more than ${MAX_BYTES / 1024} kB`);
  taken.push(`${relative(ROOT, path)} (${Math.round(bytes / 1024)} kB)`);
}

/** A screenshot of `container` from its top down to the bottom of `last` (a long panel cut short). */
async function shotUntil(page, container, last, name) {
  await last.scrollIntoViewIfNeeded();
  const box = await container.boundingBox();
  const end = await last.boundingBox();
  if (!box || !end) throw new Error(`${name}: the element to photograph is not visible`);
  const bottom = Math.min(box.y + box.height, end.y + end.height + 12);
  await shot(page, name, { fullPage: true, clip: { x: box.x, y: box.y + (await page.evaluate(() => window.scrollY)), width: box.width, height: bottom - box.y } });
}

async function newPage(browser, width = 1280, height = 860) {
  const context = await browser.newContext({ locale: "cs-CZ", timezoneId: "Europe/Prague", viewport: { width, height }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(TIMEOUT_MS);
  return { context, page: await context.newPage() };
}

async function operatorShots(browser, base) {
  const { context, page } = await newPage(browser);
  try {
    await login(page, base, "agent01");
    await page.getByTestId("main-nav").getByRole("link", { name: "Pracoviště" }).click();
    await page.getByTestId("desk-state").waitFor();
    await page.locator('[data-testid="live-state"][data-state="open"]').waitFor();
    await page.getByTestId("desk-ready").click();
    await page.locator('[data-testid="desk-state"][data-state="ready"]').waitFor();
    await page.getByTestId("desk-stats-mine-24h").waitFor();

    // A call from a number two clients share (mock seed): ringing, the clients to pick from.
    await api(page, "POST", "/api/mock/desk/offer", { username: "agent01", number: "+420601555777", attributes: { problem: "platby", insuranceNumber: "8001011234" } });
    await page.locator('[data-testid="desk-call"][data-state="ringing"]').waitFor();
    await page.getByTestId("desk-candidates").locator("li").nth(1).waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, "pracoviste");
    await shot(page.getByTestId("desk-client"), "identifikace-volajiciho");

    // Přijmout, pick the client: the card; the connected call with its buttons.
    await page.getByTestId("desk-call-answer").click();
    await page.locator('[data-testid="desk-call"][data-state="connected"]').waitFor();
    await page.getByRole("button", { name: "Vybrat klienta Marie Dvořáková" }).click();
    await page.getByTestId("desk-card-name").filter({ hasText: "Marie Dvořáková" }).waitFor();
    await page.mouse.move(0, 0);
    await shot(page.getByTestId("desk-calls"), "hovor");
    await shot(page.getByTestId("desk-card"), "karta-klienta");

    // Poznámka (two versions) and Kategorie hovoru.
    await page.getByLabel("Poznámka", { exact: true }).fill("Klientka se ptá na platbu pojistného za říjen.");
    await page.getByTestId("desk-note-save").click();
    await page.getByTestId("desk-note-version-1").waitFor();
    await page.getByLabel("Poznámka", { exact: true }).fill("Klientka se ptá na platbu pojistného za říjen. Platba dohledána, potvrzení pošleme e-mailem.");
    await page.getByTestId("desk-note-save").click();
    await page.getByTestId("desk-note-version-2").waitFor();
    await page.getByTestId("desk-category").selectOption("dotaz-platby");
    await page.getByTestId("desk-category-save").click();
    await page.getByTestId("desk-category-current").filter({ hasText: "›" }).waitFor();
    await shot(page.getByTestId("desk-contact"), "poznamka-kategorie");

    // Přepojovací panel during the call (Konzultace / Předat naslepo), with a favourite.
    const star = page.getByTestId("desk-directory").locator("button.star").first();
    if ((await star.getAttribute("aria-pressed")) !== "true") await star.click();
    await page.getByTestId("desk-directory").locator('button.star[aria-pressed="true"]').first().waitFor();
    await page.mouse.move(0, 0);
    await shotUntil(page, page.getByTestId("desk-transfer"), page.getByTestId("desk-directory").locator("li").nth(5), "prepojovaci-panel");

    // Zavěsit: the wrap-up countdown in the presence bar; queues and statistics.
    // (A click on a button the page has just re-rendered can be lost: try again.)
    for (let attempt = 1; ; attempt += 1) {
      if (await page.getByTestId("desk-call-hangup").count()) await page.getByTestId("desk-call-hangup").click().catch(() => undefined);
      try {
        await page.getByTestId("desk-no-call").waitFor({ timeout: 5_000 });
        break;
      } catch (error) {
        if (attempt >= 4) throw error;
      }
    }
    await page.getByTestId("desk-wrapup").waitFor();
    await shot(page.getByTestId("desk-presence"), "stav-dohra");

    // Chaty: a customer's web chat taken and answered.
    const created = await api(page, "POST", "/api/mock/desk/chat", { customer: { name: "Jan Dvořák", email: "jan.dvorak@example.cz" }, text: "Dobrý den, ztratil jsem průkaz pojištěnce. Co mám udělat?" });
    const id = created.conversationId;
    await page.getByTestId(`desk-chat-accept-${id}`).click();
    await page.getByTestId("desk-chat-transcript").locator('li[data-from="customer"]').first().waitFor();
    await page.getByTestId("desk-chat-clients").waitFor();
    await page.getByTestId("desk-chat-input").fill("Dobrý den, nový průkaz vám pošleme poštou na adresu trvalého bydliště.");
    await page.getByTestId("desk-chat-send").click();
    await page.getByTestId("desk-chat-transcript").locator('li[data-from="agent"]').first().waitFor();
    await page.mouse.move(0, 0);
    await shotUntil(page, page.getByTestId("desk-chats"), page.getByTestId("desk-chat-end"), "chaty");

    // Zpětná volání.
    await page.getByTestId("main-nav").getByRole("link", { name: "Zpětná volání" }).click();
    await page.getByTestId("cb-table").waitFor();
    await page.mouse.move(0, 0);
    await shot(page.locator("main"), "zpetna-volani");
  } finally {
    await context.close();
  }
}

async function adminShots(browser, base) {
  const { context, page } = await newPage(browser);
  try {
    await login(page, base, "admin");
    // The mock's administration starts empty: the local stack's demo queues and members
    // (localstack/demo-config.json), overflows set once every queue exists.
    const ignoreExisting = (error) => {
      if (!/→ 409/.test(String(error))) throw error;
    };
    const demo = JSON.parse(readFileSync(join(ROOT, "localstack", "demo-config.json"), "utf8")).documents;
    const queues = demo.filter((doc) => doc.collection === "queue").map((doc) => doc.document);
    for (const { overflow, ...queue } of queues) await api(page, "POST", "/api/admin/queues", queue).catch(ignoreExisting);
    for (const { queueId, ...queue } of queues) if (queue.overflow) await api(page, "PUT", `/api/admin/queues/${queueId}`, queue);
    for (const doc of demo.filter((entry) => entry.collection.startsWith("member#"))) {
      const { queueId, username, skillLevel, priority, locked } = doc.document;
      await api(page, "PUT", `/api/admin/queues/${queueId}/members/${username}`, { skillLevel, priority, ...(locked === undefined ? {} : { locked }) });
    }
    // One membership locked, to show it.
    await api(page, "PUT", "/api/admin/queues/kkc-obecne/members/agent02", { skillLevel: 7, priority: 5, locked: true });
    // A queue with its hours, overflow and members.
    await page.goto(`${base}/#/admin/queues/edit/kkc-obecne`);
    await page.getByTestId("members-table").waitFor();
    await page.mouse.move(0, 0);
    await shot(page.getByTestId("members"), "fronta-operatori");
    const form = page.locator("form").filter({ has: page.getByTestId("queue-save") });
    await shot(form.locator("fieldset").nth(1), "fronta-pracovni-doba");

    // An IVR tree in the editor (the demo tree of the local stack), checked.
    const tree = JSON.parse(readFileSync(join(ROOT, "localstack", "ivr", "hlavni-linka.json"), "utf8"));
    await api(page, "POST", "/api/admin/ivrs", tree).catch(async (error) => {
      if (!/409/.test(String(error))) throw error;
    });
    await page.goto(`${base}/#/admin/ivrs/edit/${encodeURIComponent(tree.ivrId)}`);
    await page.getByRole("button", { name: "Zkontrolovat" }).click();
    await page.getByText("Strom je v pořádku.").waitFor();
    await page.mouse.move(0, 0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, "ivr-editor");
  } finally {
    await context.close();
  }
}

const { mock, url } = startMock();
let code = 0;
try {
  const base = await url;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    await operatorShots(browser, base);
    await adminShots(browser, base);
  } finally {
    await browser.close();
  }
  console.log(`docs-screenshots: ${taken.length} screenshots\n  ${taken.join("\n  ")}`);
} catch (error) {
  console.error(`docs-screenshots: ${error?.stack ?? error}`);
  code = 1;
} finally {
  mock.kill("SIGTERM");
}
process.exit(code);

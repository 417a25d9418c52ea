// Shared set-up of the browser tests: Debian's Chromium driven by playwright-core (no
// browser download), against BASE_URL (the dev gateway by default, or the mock server).

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { after, before } from "node:test";

export const BASE_URL = (process.env.BASE_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** How long a step may wait for the page (the real stack's first requests start Lambdas). */
export const STEP_TIMEOUT_MS = Number(process.env.E2E_STEP_TIMEOUT_MS ?? 20_000);

// Playwright itself creates a fresh, temporary user-data-dir for every launch() and removes
// it on close (it refuses a --user-data-dir argument outside launchPersistentContext).
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Waits until the stack answers GET /api/health with 200. */
export async function waitForStack(timeoutMs = Number(process.env.E2E_STACK_TIMEOUT_MS ?? 60_000)) {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${BASE_URL}/api/health`);
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = String(error?.cause?.code ?? error);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${BASE_URL}/api/health did not answer 200 within ${timeoutMs} ms (${last})`);
}

/** A fresh context (own storage, Czech browser) and page; console errors are collected. */
export async function newPage(browser) {
  const context = await browser.newContext({ locale: "cs-CZ", timezoneId: "Europe/Prague" });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  return { context, page, errors };
}

/** Logs in through the issuer's form (password = user name for the demo users). */
export async function login(page, username, password = username) {
  await page.goto(`${BASE_URL}/`);
  await page.getByTestId("login").click();
  await page.waitForURL((url) => url.pathname.startsWith("/auth/authorize"));
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.getByRole("button", { name: "Přihlásit se" }).click();
  try {
    await page.waitForURL((url) => url.origin === new URL(BASE_URL).origin && !url.pathname.startsWith("/auth/"));
  } catch (error) {
    const alert = await page.locator('[role="alert"]').allTextContents().catch(() => []);
    throw new Error(`login as ${username} did not return to the app (at ${page.url()}; ${alert.join(" ") || "no message"})`, {
      cause: error,
    });
  }
  await page.getByTestId("user-name").waitFor();
}

export async function navLabels(page) {
  return page.getByTestId("main-nav").locator("a").allTextContents();
}

/** Waits until the live panel says the WebSocket is open. */
export async function waitForLive(page) {
  await page.locator('[data-testid="live-state"][data-state="open"]').waitFor();
}

/**
 * One browser for the tests of a `describe` block: started (after the stack answers) before
 * them, closed with every page context after them. Returns `open()`, a new signed-out page.
 */
export function useBrowser() {
  let browser;
  const contexts = [];
  before(async () => {
    await waitForStack();
    browser = await launchBrowser();
  });
  after(async () => {
    await Promise.allSettled(contexts.map((context) => context.close()));
    await browser?.close();
  });
  return async function open() {
    const opened = await newPage(browser);
    contexts.push(opened.context);
    return opened;
  };
}

/** An API call from the page, with the page's own access token: `{status, body}`. */
export function pageApi(page, method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session = JSON.parse(sessionStorage.getItem("linka.auth.session") ?? "{}");
      const response = await fetch(path, {
        method,
        headers: { Authorization: `Bearer ${session.accessToken}`, "Content-Type": "application/json", Accept: "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    { method, path, body },
  );
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core on the page: the serious and critical violations, as readable lines. */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      nodes: violation.nodes.slice(0, 3).map((node) => node.target.join(" ")),
    }));
  });
  return violations.filter((violation) => violation.impact === "serious" || violation.impact === "critical").map((violation) => `${violation.id} (${violation.impact}): ${violation.nodes.join(", ")}`);
}

// Browser tests of the administration (issue 3: ADM-2..7, SEC-3) against BASE_URL: the real
// stack (make test) or the mock server (npm run test:e2e:mock). The real stack keeps its data
// between runs, so every id made here carries a per-run suffix. No fixed sleeps.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BASE_URL, login, navLabels, pageApi, useBrowser, axeViolations } from "./helpers.mjs";

const TEST_TIMEOUT_MS = 120_000;
const RUN = Date.now().toString(36);
const QUEUE_ID = `e2e-q-${RUN}`;
const BAD_QUEUE_ID = `e2e-qb-${RUN}`;
const USERNAME = `e2e-u-${RUN}`;
const MOBILE_USERNAME = `e2e-m-${RUN}`;
const STARTED_AT = Date.now();
const CHAT_DEFAULTS = { webQueueId: null, smsQueueId: null, emailQueueId: null, socialQueueId: null, chatsPerAgent: null, distribution: null };


/** yyyy-MM-dd of today + `days` in Europe/Prague. */
function pragueDate(days) {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Prague" }).format(new Date());
  const [y, m, d] = today.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** yyyy-MM-ddTHH:mm (datetime-local) of an instant in Europe/Prague. */
function pragueLocal(ms) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Prague",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date(ms))
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

const czechDate = (iso) => {
  const [y, m, d] = iso.split("-").map(Number);
  return `${d}. ${m}. ${y}`;
};

describe(`Linka administration at ${BASE_URL}`, () => {
  const open = useBrowser();

  async function openAdminPage(page, label, testId) {
    await page.getByTestId("main-nav").getByRole("link", { name: "Administrace" }).click();
    await page.getByTestId("admin-nav").getByRole("link", { name: label }).click();
    await page.getByTestId(testId).waitFor();
  }

  test("admin creates a queue with opening hours and an overflow, sees it in Czech and in English", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");
    await openAdminPage(page, "Fronty", "queues-page");
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Fronty");

    await page.getByTestId("queue-new").click();
    const form = page.getByTestId("queue-form");
    await form.waitFor();
    await form.getByLabel("Označení fronty").fill(QUEUE_ID);
    await form.getByLabel("Název", { exact: true }).fill("Klientská linka E2E");
    await form.getByLabel("Skupina operátorů").fill("KKC");
    await form.getByLabel("Priorita").fill("7");

    // Monday in two intervals, the other days all day: open at any time of the test.
    await page.getByTestId("add-interval-monday").click();
    await page.getByTestId("interval-monday-0-start").fill("00:00");
    await page.getByTestId("interval-monday-0-end").fill("12:00");
    await page.getByTestId("add-interval-monday").click();
    assert.equal(await page.getByTestId("interval-monday-1-start").inputValue(), "12:00", "a new interval starts where the last ended");
    await page.getByTestId("interval-monday-1-end").fill("00:00");
    for (const day of ["tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]) {
      await page.getByTestId(`add-interval-${day}`).click();
      await page.getByTestId(`interval-${day}-0-start`).fill("00:00");
      await page.getByTestId(`interval-${day}-0-end`).fill("00:00");
    }
    // No public-holiday rule (the test may run on a holiday), one closed day a month ahead.
    await page.getByTestId("queue-holidays").uncheck();
    const closedDay = pragueDate(30);
    await page.getByTestId("add-exception").click();
    await page.getByTestId("exception-0-date").fill(closedDay);
    assert.equal(await page.getByTestId("exception-0-closed").isChecked(), true);
    await form.getByLabel("Přepad při neaktivní frontě").selectOption("external");
    await form.getByLabel("Telefonní číslo").fill("+420601123456");
    await page.getByTestId("queue-save").click();

    // Back on the list, in Czech.
    await page.getByTestId("queues-page").getByRole("status").filter({ hasText: `Fronta ${QUEUE_ID} byla vytvořena.` }).waitFor();
    const row = page.getByTestId("queues-table").locator(`tr[data-queue-id="${QUEUE_ID}"]`);
    await row.waitFor();
    const headers = await page.getByTestId("queues-table").locator("thead th").allTextContents();
    assert.deepEqual(headers, ["Fronta", "Název", "Skupina", "Priorita", "Stav", "Další změna", "Přepad", "Akce"]);
    assert.equal(await row.getByTestId("queue-name").textContent(), "Klientská linka E2E");
    assert.equal(await row.getByTestId("queue-open").getAttribute("data-open"), "true");
    assert.equal(await row.getByTestId("queue-open").textContent(), "Otevřeno");
    assert.equal(await row.getByTestId("queue-next-change").textContent(), `${czechDate(closedDay)} 0:00`);
    assert.equal(await row.getByTestId("queue-overflow").textContent(), "externí číslo +420 601 123 456");

    // The same page in English.
    await page.getByTestId("lang-switch").click();
    assert.equal(await page.locator("html").getAttribute("lang"), "en");
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Queues");
    assert.equal(await row.getByTestId("queue-open").textContent(), "Open");
    assert.equal(await row.getByTestId("queue-overflow").textContent(), "external number +420 601 123 456");
    assert.deepEqual(await page.getByTestId("queues-table").locator("thead th").allTextContents(), [
      "Queue",
      "Name",
      "Group",
      "Priority",
      "State",
      "Next change",
      "Overflow",
      "Actions",
    ]);
    assert.ok((await page.getByTestId("admin-nav").locator("a").allTextContents()).includes("Audit log"));
    await page.getByTestId("lang-switch").click();
    assert.equal(await page.locator("html").getAttribute("lang"), "cs");

    // The edit form shows what was stored; an agent joins the queue with a skill level and priority.
    await row.getByTestId("queue-edit").click();
    await page.getByTestId("queue-form").waitFor();
    assert.equal(await page.getByTestId("queue-id").inputValue(), QUEUE_ID);
    assert.equal(await page.getByTestId("interval-monday-1-start").inputValue(), "12:00");
    assert.equal(await page.getByTestId("exception-0-date").inputValue(), closedDay);
    assert.equal(await page.getByTestId("overflow-value").inputValue(), "+420601123456");
    const members = page.getByTestId("members");
    await members.getByLabel("Operátor", { exact: true }).fill("agent01");
    await members.getByLabel("Úroveň dovedností", { exact: true }).fill("8");
    await members.getByLabel("Priorita", { exact: true }).fill("3");
    await page.getByTestId("member-add").click();
    const member = page.getByTestId("members-table").locator('tr[data-username="agent01"]');
    await member.waitFor();
    assert.equal(await member.getByTestId("member-skill").inputValue(), "8");
    assert.equal(await member.getByTestId("member-priority").inputValue(), "3");
    // An unknown user is refused next to the field.
    await members.getByLabel("Operátor", { exact: true }).fill(`nikdo-${RUN}`);
    await page.getByTestId("member-add").click();
    const memberError = members.locator('[data-testid="field-error"][data-field="username"]');
    await memberError.waitFor();
    assert.ok((await memberError.textContent()).trim().length > 0);
    assert.deepEqual(errors, []);
  });

  test("a bad overflow number is shown next to its field in Czech and nothing typed is lost", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");
    await openAdminPage(page, "Fronty", "queues-page");
    await page.getByTestId("queue-new").click();
    await page.getByTestId("queue-form").waitFor();
    await page.getByTestId("queue-id").fill(BAD_QUEUE_ID);
    await page.getByTestId("queue-name").fill("Asistence E2E");
    await page.getByTestId("queue-group").fill("AS");
    await page.getByTestId("add-interval-monday").click();
    await page.getByTestId("overflow-kind").selectOption("mobile");
    await page.getByTestId("overflow-value").fill("12345");
    await page.getByTestId("queue-save").click();

    const fieldError = page.locator('[data-testid="field-error"][data-field="overflow.number"]');
    await fieldError.waitFor();
    assert.equal(await fieldError.textContent(), "Zadejte telefonní číslo v mezinárodním tvaru, např. +420601123456.");
    const input = page.getByTestId("overflow-value");
    assert.equal(await input.getAttribute("aria-invalid"), "true");
    assert.match((await input.getAttribute("aria-describedby")) ?? "", new RegExp(await fieldError.getAttribute("id")));
    assert.equal(await page.getByTestId("problem").locator("p").first().textContent(), "Zadané údaje nejsou platné.");
    // Nothing typed is lost.
    assert.equal(await input.inputValue(), "12345");
    assert.equal(await page.getByTestId("queue-id").inputValue(), BAD_QUEUE_ID);
    assert.equal(await page.getByTestId("queue-name").inputValue(), "Asistence E2E");
    assert.equal(await page.getByTestId("queue-group").inputValue(), "AS");
    assert.equal(await page.getByTestId("interval-monday-0-start").inputValue(), "08:00");
    assert.equal(await page.getByTestId("interval-monday-0-end").inputValue(), "16:30");
    assert.equal(await page.getByTestId("overflow-kind").inputValue(), "mobile");

    // Corrected, it saves; then it is deleted from the list.
    await input.fill("+420601123456");
    await page.getByTestId("queue-save").click();
    const row = page.getByTestId("queues-table").locator(`tr[data-queue-id="${BAD_QUEUE_ID}"]`);
    await row.waitFor();
    assert.equal(await row.getByTestId("queue-overflow").textContent(), "mobil +420 601 123 456");
    await row.getByTestId("queue-delete").click();
    await row.getByTestId("queue-delete-confirm").click();
    await row.waitFor({ state: "detached" });
    assert.deepEqual(errors, []);
  });

  test("admin creates a user, changes its roles and group, and deletes it", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");
    await openAdminPage(page, "Uživatelé", "users-page");
    await page.getByTestId("user-new").click();
    const form = page.getByTestId("user-form");
    await form.waitFor();
    await form.getByLabel("Uživatelské jméno").fill(USERNAME);
    await form.getByLabel("Jméno a příjmení").fill("Testovací Operátorka");
    await form.getByLabel("E-mail").fill(`${USERNAME}@linka.local`);
    await form.getByLabel("Klapka operátora").fill("2999");
    await form.getByLabel("operátor", { exact: true }).check();
    await page.getByTestId("group-KKC").check();
    await page.getByTestId("user-save").click();
    await page.getByTestId("users-page").getByRole("status").filter({ hasText: `Uživatel ${USERNAME} byl vytvořen.` }).waitFor();

    await page.goto(`${BASE_URL}/#/admin/users/edit/${USERNAME}`);
    await form.waitFor();
    assert.equal(await page.getByTestId("user-username").inputValue(), USERNAME);
    assert.equal(await page.getByTestId("role-agent").isChecked(), true);
    assert.equal(await page.getByTestId("group-KKC").isChecked(), true);
    await page.getByTestId("role-agent").uncheck();
    await page.getByTestId("role-supervisor").check();
    await page.getByTestId("role-recording-listen").check();
    await page.getByTestId("group-KKC").uncheck();
    await page.getByTestId("group-AS").check();
    await page.getByTestId("user-save").click();
    await page.getByTestId("users-page").getByRole("status").filter({ hasText: `Uživatel ${USERNAME} byl uložen.` }).waitFor();

    await page.goto(`${BASE_URL}/#/admin/users/edit/${USERNAME}`);
    await form.waitFor();
    assert.equal(await page.getByTestId("user-display-name").inputValue(), "Testovací Operátorka");
    assert.equal(await page.getByTestId("role-agent").isChecked(), false);
    assert.equal(await page.getByTestId("role-supervisor").isChecked(), true);
    assert.equal(await page.getByTestId("role-recording-listen").isChecked(), true);
    assert.equal(await page.getByTestId("group-KKC").isChecked(), false);
    assert.equal(await page.getByTestId("group-AS").isChecked(), true);
    assert.equal(await page.getByTestId("user-agent-number").inputValue(), "2999");

    // A bad agent number is refused next to its field, the rest stays.
    await page.getByTestId("user-agent-number").fill("12");
    await page.getByTestId("user-save").click();
    const fieldError = page.locator('[data-testid="field-error"][data-field="agentNumber"]');
    await fieldError.waitFor();
    assert.equal(await fieldError.textContent(), "Zadejte 3 až 6 číslic.");
    assert.equal(await page.getByTestId("role-supervisor").isChecked(), true);
    await page.getByTestId("user-agent-number").fill("2999");

    await page.getByTestId("user-delete").click();
    await page.getByTestId("user-delete-confirm").click();
    await page.getByTestId("users-page").getByRole("status").filter({ hasText: `Uživatel ${USERNAME} byl smazán.` }).waitFor();
    assert.deepEqual(errors, []);
  });

  test("admin sets an agent's mobile: both fields or neither, a bad number refused at its field, removed again (DESK-2)", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");
    await openAdminPage(page, "Uživatelé", "users-page");
    await page.getByTestId("user-new").click();
    const form = page.getByTestId("user-form");
    await form.waitFor();
    await form.getByLabel("Uživatelské jméno").fill(MOBILE_USERNAME);
    await form.getByLabel("Jméno a příjmení").fill("Mobilní Operátorka");
    await form.getByLabel("Klapka operátora").fill("2997");
    await form.getByLabel("operátor", { exact: true }).check();
    const mobile = page.getByTestId("user-mobile");
    assert.equal(await mobile.locator("legend").textContent(), "Příjem hovorů na mobilu");
    const device = form.getByLabel("Mobilní pobočka (PBX)");
    const number = form.getByLabel("Číslo mobilu");
    const deviceError = page.locator('[data-testid="field-error"][data-field="mobile.device"]');
    const numberError = page.locator('[data-testid="field-error"][data-field="mobile.number"]');
    const stored = async () => (await pageApi(page, "GET", `/api/admin/users/${MOBILE_USERNAME}`)).body;

    // Only the extension: said at the empty number (the focus there), nothing sent.
    let sent = 0;
    const count = (request) => {
      if (new URL(request.url()).pathname.startsWith("/api/admin/users")) sent += request.method() === "GET" ? 0 : 1;
    };
    page.on("request", count);
    await device.fill("2996");
    await page.getByTestId("user-save").click();
    await numberError.waitFor();
    assert.equal(await numberError.textContent(), "Vyplňte mobilní pobočku i číslo mobilu, nebo obě pole nechte prázdná.");
    assert.equal(await number.getAttribute("aria-invalid"), "true");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "user-mobile-number");
    assert.equal(sent, 0);
    page.off("request", count);

    // A fixed-line number: the API refuses it (422 mobile.number), shown at the field, the rest kept.
    await number.fill("224 123 456");
    await page.getByTestId("user-save").click();
    await page.locator('[data-testid="field-error"][data-field="mobile.number"]:has-text("české číslo mobilu")').waitFor();
    assert.equal(await numberError.textContent(), "Zadejte české číslo mobilu, např. 601 123 456 nebo +420601123456.");
    assert.equal(await number.getAttribute("aria-invalid"), "true");
    assert.equal(await device.inputValue(), "2996");
    assert.equal(await form.getByLabel("Jméno a příjmení").inputValue(), "Mobilní Operátorka");
    assert.deepEqual(await axeViolations(page), []);

    // A mobile number with spaces: created, stored as E.164.
    await number.fill("601 123 456");
    await page.getByTestId("user-save").click();
    await page.getByTestId("users-page").getByRole("status").filter({ hasText: `Uživatel ${MOBILE_USERNAME} byl vytvořen.` }).waitFor();
    assert.deepEqual((await stored()).mobile, { device: "2996", number: "+420601123456" });

    // The edit form shows it; the desk phone's own extension is refused as the mobile extension.
    await page.goto(`${BASE_URL}/#/admin/users/edit/${MOBILE_USERNAME}`);
    await form.waitFor();
    assert.equal(await device.inputValue(), "2996");
    assert.equal(await number.inputValue(), "+420 601 123 456");
    await device.fill("2997");
    await page.getByTestId("user-save").click();
    await deviceError.waitFor();
    assert.equal(await deviceError.textContent(), "Mobilní pobočka se musí lišit od klapky operátora (pevné linky).");

    // Both fields emptied: the mobile is removed.
    await device.fill("");
    await number.fill("");
    await page.getByTestId("user-save").click();
    await page.getByTestId("users-page").getByRole("status").filter({ hasText: `Uživatel ${MOBILE_USERNAME} byl uložen.` }).waitFor();
    assert.equal((await stored()).mobile, undefined);

    await page.goto(`${BASE_URL}/#/admin/users/edit/${MOBILE_USERNAME}`);
    await form.waitFor();
    assert.equal(await device.inputValue(), "");
    await page.getByTestId("user-delete").click();
    await page.getByTestId("user-delete-confirm").click();
    await page.getByTestId("users-page").getByRole("status").filter({ hasText: `Uživatel ${MOBILE_USERNAME} byl smazán.` }).waitFor();
    assert.deepEqual(errors, []);
  });

  test("the audit log lists the records of those changes for the actor admin, newest first", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");
    await openAdminPage(page, "Auditní záznam", "audit-page");
    // From two minutes before the run (clock skew), only admin's records.
    await page.getByLabel("Od", { exact: true }).fill(pragueLocal(STARTED_AT - 120_000));
    await page.getByLabel("Uživatel (původce)").fill("admin");
    await page.getByTestId("audit-search").click();
    const table = page.getByTestId("audit-table");
    await page.locator('[data-testid="audit-table"][data-page="1"]').waitFor();
    assert.deepEqual(await table.locator("thead th").allTextContents(), ["Čas", "Původce", "Událost", "Předmět", "Výsledek", "Podrobnosti"]);

    const wanted = {
      userCreate: `tr[data-action="user.create"][data-target="${USERNAME}"]`,
      userUpdate: `tr[data-action="user.update"][data-target="${USERNAME}"][data-outcome="success"]`,
      userDelete: `tr[data-action="user.delete"][data-target="${USERNAME}"]`,
      // The API names queue writes config.create with target queues/{id}; accept queue.create/{id} too.
      queueCreate: `tr[data-action$="create"][data-target$="${QUEUE_ID}"][data-outcome="success"]`,
    };
    const found = new Set();
    let previous = Infinity;
    for (let pageNumber = 1; pageNumber <= 30; pageNumber++) {
      const rows = await table.locator("tbody tr").evaluateAll((trs) =>
        trs.map((tr) => ({ actor: tr.getAttribute("data-actor"), time: tr.querySelector("td")?.textContent ?? "" })),
      );
      for (const { actor, time } of rows) {
        assert.equal(actor, "admin");
        const match = /^(\d+)\. (\d+)\. (\d{4}) (\d+):(\d{2})$/.exec(time);
        assert.ok(match, `time shown as d. M. yyyy H:mm: ${time}`);
        const [, d, m, y, hh, mm] = match.map(Number);
        const key = (((y * 100 + m) * 100 + d) * 100 + hh) * 100 + mm;
        assert.ok(key <= previous, "newest first");
        previous = key;
      }
      for (const [name, selector] of Object.entries(wanted)) {
        if ((await table.locator(selector).count()) > 0) found.add(name);
      }
      if (found.size === Object.keys(wanted).length) break;
      const next = page.getByTestId("audit-next");
      if ((await next.count()) === 0) break;
      await next.click();
      await page.locator(`[data-testid="audit-table"][data-page="${pageNumber + 1}"]`).waitFor();
    }
    assert.deepEqual([...found].sort(), Object.keys(wanted).sort());
    assert.deepEqual(errors, []);
  });

  test("admin manages breaks, call categories, the transfer panel and the ICIS link", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");

    // Přestávky: create, edit, delete.
    await openAdminPage(page, "Přestávky", "break-codes-page");
    const breakCode = `e2e-b-${RUN}`;
    await page.getByTestId("break-codes-code").fill(breakCode);
    await page.getByTestId("break-codes-name").fill("Oběd");
    await page.getByTestId("break-codes-kind").selectOption("private");
    await page.getByTestId("break-codes-maxMinutes").fill("30");
    await page.getByTestId("break-codes-save").click();
    const breakRow = page.getByTestId("break-codes-table").locator(`tr[data-id="${breakCode}"]`);
    await breakRow.waitFor();
    assert.deepEqual((await breakRow.locator("td").allTextContents()).slice(0, 5), [breakCode, "Oběd", "soukromá přestávka", "30", "ano"]);
    await breakRow.getByTestId("break-codes-edit").click();
    assert.equal(await page.getByTestId("break-codes-code").getAttribute("readonly"), "");
    await page.getByTestId("break-codes-name").fill("Oběd (dlouhý)");
    await page.getByTestId("break-codes-kind").selectOption("work");
    await page.getByTestId("break-codes-save").click();
    await breakRow.locator("td", { hasText: "Oběd (dlouhý)" }).waitFor();
    assert.equal(await breakRow.locator("td").nth(2).textContent(), "pracovní přestávka");
    await breakRow.getByTestId("break-codes-delete").click();
    await breakRow.getByTestId("break-codes-delete-confirm").click();
    await breakRow.waitFor({ state: "detached" });

    // Kategorie hovorů: a category and its subcategory.
    await page.getByTestId("admin-nav").getByRole("link", { name: "Kategorie hovorů" }).click();
    await page.getByTestId("call-categories-page").waitFor();
    const parent = `e2e-c-${RUN}`;
    await page.getByTestId("call-categories-categoryId").fill(parent);
    await page.getByTestId("call-categories-name").fill("Změna pojišťovny");
    await page.getByTestId("call-categories-save").click();
    await page.getByTestId("call-categories-table").locator(`tr[data-id="${parent}"]`).waitFor();
    await page.getByTestId("call-categories-categoryId").fill(`${parent}-x`);
    await page.getByTestId("call-categories-name").fill("Přestup od jiné pojišťovny");
    await page.getByTestId("call-categories-parentId").selectOption(parent);
    await page.getByTestId("call-categories-save").click();
    const child = page.getByTestId("call-categories-table").locator(`tr[data-id="${parent}-x"]`);
    await child.waitFor();
    assert.equal(await child.locator("td").nth(2).textContent(), parent);

    // Přepojovací panel: a group and a line in it; a bad number is refused at its field.
    await page.getByTestId("admin-nav").getByRole("link", { name: "Přepojovací panel" }).click();
    await page.getByTestId("transfer-panel-page").waitFor();
    const group = `e2e-g-${RUN}`;
    // The page is drawn again while the admin types (its data arriving, here a forced redraw):
    // the field keeps the focus, and what is typed next lands in it (ci58 lost a typed id this way).
    await page.getByTestId("transfer-groups-groupId").focus();
    await page.keyboard.type("e2e-g-");
    await page.evaluate(() => window.dispatchEvent(new HashChangeEvent("hashchange")));
    await page.keyboard.type(RUN);
    assert.equal(await page.getByTestId("transfer-groups-groupId").inputValue(), group);
    await page.getByTestId("transfer-groups-name").fill("Vedení E2E");
    await page.getByTestId("transfer-groups-save").click();
    await page.getByTestId("transfer-groups-table").locator(`tr[data-id="${group}"]`).waitFor();
    const line = `e2e-l-${RUN}`;
    await page.getByTestId("transfer-lines-lineId").fill(line);
    await page.getByTestId("transfer-lines-label").fill("Ředitel KC");
    await page.getByTestId("transfer-lines-groupId").selectOption(group);
    await page.getByTestId("transfer-lines-target-kind").selectOption("external");
    await page.getByTestId("transfer-lines-target-value").fill("601");
    await page.getByTestId("transfer-lines-save").click();
    const lineError = page.getByTestId("transfer-lines").locator('[data-testid="field-error"][data-field="target.number"]');
    await lineError.waitFor();
    assert.equal(await lineError.textContent(), "Zadejte telefonní číslo v mezinárodním tvaru, např. +420601123456.");
    assert.equal(await page.getByTestId("transfer-lines-label").inputValue(), "Ředitel KC");
    await page.getByTestId("transfer-lines-target-value").fill("+420601123456");
    await page.getByTestId("transfer-lines-save").click();
    const lineRow = page.getByTestId("transfer-lines-table").locator(`tr[data-id="${line}"]`);
    await lineRow.waitFor();
    assert.deepEqual((await lineRow.locator("td").allTextContents()).slice(0, 4), [line, "Ředitel KC", "Vedení E2E", "externí číslo +420 601 123 456"]);

    // Odkaz do ICIS: must be https with {clientId}.
    await page.getByTestId("admin-nav").getByRole("link", { name: "Odkaz do ICIS" }).click();
    await page.getByTestId("icis-form").waitFor();
    await page.getByLabel("Šablona adresy").fill("http://icis.example.cz/klient");
    await page.getByTestId("icis-save").click();
    const icisError = page.locator('[data-testid="field-error"][data-field="urlTemplate"]');
    await icisError.waitFor();
    assert.equal(await icisError.textContent(), "Zadejte adresu začínající https:// a obsahující {clientId}.");
    const template = `https://icis.example.cz/klient/{clientId}?e2e=${RUN}`;
    await page.getByLabel("Šablona adresy").fill(template);
    await page.getByTestId("icis-save").click();
    await page.getByTestId("icis-saved").waitFor();
    assert.equal(await page.getByTestId("icis-current").textContent(), template);
    assert.deepEqual(errors, []);
  });

  test("admin defines an own client card field with options (CDB-4)", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");
    await openAdminPage(page, "Pole karty klienta", "client-fields-page");
    const key = `e2e-f-${RUN}`;
    await page.getByTestId("client-fields-key").fill(key);
    await page.getByTestId("client-fields-labelCs").fill("Preferovaný kontakt");
    await page.getByTestId("client-fields-labelEn").fill("Preferred contact");
    await page.getByTestId("client-fields-type").selectOption("select");
    await page.getByTestId("client-fields-options").fill("telefon | Telefon | Phone\nemail | E-mail");
    await page.getByTestId("client-fields-inCard").check();
    await page.getByTestId("client-fields-save").click();
    const row = page.getByTestId("client-fields-table").locator(`tr[data-id="${key}"]`);
    await row.waitFor();
    assert.deepEqual((await row.locator("td").allTextContents()).slice(0, 3), [key, "Preferovaný kontakt", "Výběr"]);
    // Opened again: the options come back one per line, the English label filled in.
    await row.getByTestId("client-fields-edit").click();
    assert.equal(await page.getByTestId("client-fields-options").inputValue(), "telefon | Telefon | Phone\nemail | E-mail | E-mail");
    assert.equal(await page.getByTestId("client-fields-key").getAttribute("readonly"), "");
    // A select without options is refused, and nothing is lost from the form.
    await page.getByTestId("client-fields-options").fill("");
    await page.getByTestId("client-fields-save").click();
    await page.locator('[data-testid="field-error"][data-field="options"]').waitFor();
    assert.equal(await page.getByTestId("client-fields-labelCs").inputValue(), "Preferovaný kontakt");
    await row.getByTestId("client-fields-delete").click();
    await row.getByTestId("client-fields-delete-confirm").click();
    await row.waitFor({ state: "detached" });
    assert.deepEqual(errors, []);
  });

  test("admin chooses the SMS queue and the chats per agent; a missing queue and an out-of-range limit are shown at their fields", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");
    // Own queues; the real stack keeps its settings, so the ones found are put back at the end.
    const smsQueue = `e2e-chs-${RUN}`;
    const goneQueue = `e2e-chg-${RUN}`;
    for (const [queueId, name] of [[smsQueue, `SMS E2E ${RUN}`], [goneQueue, `Zrušená E2E ${RUN}`]]) {
      const { status } = await pageApi(page, "POST", "/api/admin/queues", { queueId, name });
      assert.equal(status, 201, `queue ${queueId} created`);
    }
    const original = await pageApi(page, "GET", "/api/admin/settings/chat");
    assert.equal(original.status, 200);
    assert.equal((await pageApi(page, "PUT", "/api/admin/settings/chat", CHAT_DEFAULTS)).status, 200);
    const queueSelects = { webQueueId: "Webový chat", smsQueueId: "SMS", emailQueueId: "E-mail", socialQueueId: "Sociální sítě" };
    const sms = page.getByLabel("SMS", { exact: true });
    const limit = page.getByLabel("Konverzací na operátora", { exact: true });
    const fieldError = (field) => page.locator(`[data-testid="field-error"][data-field="${field}"]`);
    try {
      await openAdminPage(page, "Nastavení chatu", "chat-settings-page");
      await page.getByTestId("chat-settings-form").waitFor();
      assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Nastavení chatu");
      // The defaults: every queue "— výchozí —", the limit empty.
      for (const label of Object.values(queueSelects)) {
        const select = page.getByLabel(label, { exact: true });
        assert.equal(await select.inputValue(), "", label);
        assert.equal(await select.locator("option:checked").textContent(), "— výchozí —", label);
      }
      assert.equal(await limit.inputValue(), "");
      assert.ok((await sms.locator("option").allTextContents()).includes(`SMS E2E ${RUN} (${smsQueue})`));

      // Out of range: refused at its field, nothing chosen is lost.
      await sms.selectOption(smsQueue);
      await limit.fill("11");
      await page.getByTestId("chat-settings-save").click();
      await fieldError("chatsPerAgent").waitFor();
      assert.equal(await fieldError("chatsPerAgent").textContent(), "Zadejte celé číslo od 1 do 10.");
      assert.equal(await limit.getAttribute("aria-invalid"), "true");
      assert.equal(await sms.inputValue(), smsQueue);
      assert.deepEqual(await axeViolations(page), []);

      // A queue deleted after the page listed it: the server names the field.
      await sms.selectOption(goneQueue);
      await limit.fill("5");
      assert.equal((await pageApi(page, "DELETE", `/api/admin/queues/${goneQueue}`)).status, 204);
      await page.getByTestId("chat-settings-save").click();
      await fieldError("smsQueueId").waitFor();
      assert.equal(await fieldError("smsQueueId").textContent(), "Taková fronta neexistuje.");
      assert.equal(await sms.getAttribute("aria-invalid"), "true");
      assert.ok(await fieldError("chatsPerAgent").isHidden());
      assert.equal(await limit.inputValue(), "5");

      // Saved from the keyboard (Enter in the limit field), then read again after a reload.
      await sms.selectOption(smsQueue);
      await limit.press("Enter");
      await page.getByTestId("chat-settings-saved").waitFor();
      assert.equal(await page.getByTestId("chat-settings-saved").textContent(), "Nastavení chatu bylo uloženo.");
      assert.ok(await fieldError("smsQueueId").isHidden());
      await page.reload();
      await page.getByTestId("chat-settings-form").waitFor();
      assert.equal(await sms.inputValue(), smsQueue);
      assert.equal(await limit.inputValue(), "5");
      assert.equal(await page.getByLabel("Webový chat", { exact: true }).inputValue(), "");
      // Přidělování chatů was left as shown (agents take chats): saved as chosen.
      assert.deepEqual((await pageApi(page, "GET", "/api/admin/settings/chat")).body, { ...CHAT_DEFAULTS, smsQueueId: smsQueue, chatsPerAgent: 5, distribution: "agentsTake" });
      // A queue the settings name cannot be deleted.
      assert.equal((await pageApi(page, "DELETE", `/api/admin/queues/${smsQueue}`)).status, 409);
      assert.deepEqual(await axeViolations(page), []);

      await page.getByTestId("lang-switch").click();
      await page.getByRole("heading", { level: 1, name: "Chat settings" }).waitFor();
      assert.equal(await page.getByLabel("Conversations per agent", { exact: true }).inputValue(), "5");
      await page.getByTestId("lang-switch").click();
      await page.getByRole("heading", { level: 1, name: "Nastavení chatu" }).waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await pageApi(page, "PUT", "/api/admin/settings/chat", original.body ?? CHAT_DEFAULTS);
      await pageApi(page, "DELETE", `/api/admin/queues/${smsQueue}`);
      await pageApi(page, "DELETE", `/api/admin/queues/${goneQueue}`);
    }
  });

  test("when the admin chooses automatic chat distribution, should keep it after a reload and show a refused way at its field", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");
    const original = await pageApi(page, "GET", "/api/admin/settings/chat");
    assert.equal(original.status, 200);
    assert.equal((await pageApi(page, "PUT", "/api/admin/settings/chat", CHAT_DEFAULTS)).status, 200);
    const distribution = page.getByLabel("Přidělování chatů", { exact: true });
    const fieldError = page.locator('[data-testid="field-error"][data-field="distribution"]');
    const save = page.getByTestId("chat-settings-save");
    const saved = page.getByTestId("chat-settings-saved");
    try {
      await openAdminPage(page, "Nastavení chatu", "chat-settings-page");
      await page.getByTestId("chat-settings-form").waitFor();
      // Nothing stored: agents take chats themselves; the two ways offered, the rule explained at the field.
      assert.equal(await distribution.inputValue(), "agentsTake");
      assert.deepEqual(await distribution.locator("option").allTextContents(), ["Operátoři si chaty berou sami z fronty", "Automaticky operátorovi podle dovedností a vytížení"]);
      const hintId = (await distribution.getAttribute("aria-describedby")).split(" ")[0];
      assert.match(await page.locator(`[id="${hintId}"]`).textContent(), /úroveň dovedností.*priorita.*Připraven/);

      // Automaticky, saved from the keyboard, kept after a reload.
      await distribution.focus();
      await distribution.selectOption("automatic");
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "chat-settings-save");
      await page.keyboard.press("Enter");
      await saved.waitFor();
      assert.equal(await saved.textContent(), "Nastavení chatu bylo uloženo.");
      await page.reload();
      await page.getByTestId("chat-settings-form").waitFor();
      assert.equal(await distribution.inputValue(), "automatic");
      assert.equal(await distribution.locator("option:checked").textContent(), "Automaticky operátorovi podle dovedností a vytížení");
      assert.equal((await pageApi(page, "GET", "/api/admin/settings/chat")).body.distribution, "automatic");
      assert.deepEqual(await axeViolations(page), []);

      // A way this app does not know (as a newer back end might store it) is shown, not replaced;
      // saving it, the back end refuses it (422) and the refusal is shown at the field.
      await page.route("**/api/admin/settings/chat", async (route) => {
        if (route.request().method() !== "GET") return route.continue();
        const response = await route.fetch();
        await route.fulfill({ response, json: { ...(await response.json()), distribution: "roundRobin" } });
      });
      await page.reload();
      await page.getByTestId("chat-settings-form").waitFor();
      assert.equal(await distribution.inputValue(), "roundRobin");
      assert.equal(await distribution.locator("option:checked").textContent(), "roundRobin (neznámý způsob přidělování)");
      await save.click();
      await fieldError.waitFor();
      assert.equal(await fieldError.textContent(), "Taková položka neexistuje.");
      assert.equal(await distribution.getAttribute("aria-invalid"), "true");
      assert.ok((await distribution.getAttribute("aria-describedby")).split(" ").includes(await fieldError.getAttribute("id")));
      assert.equal(await distribution.inputValue(), "roundRobin");
      assert.ok(await saved.isHidden());
      await page.unroute("**/api/admin/settings/chat");
      assert.equal((await pageApi(page, "GET", "/api/admin/settings/chat")).body.distribution, "automatic");

      // Back to agents taking chats: the error goes, the choice is stored.
      await distribution.selectOption("agentsTake");
      await save.click();
      await saved.waitFor();
      assert.ok(await fieldError.isHidden());
      assert.equal((await pageApi(page, "GET", "/api/admin/settings/chat")).body.distribution, "agentsTake");

      // An unknown value sent to the API is refused with the field named.
      const refused = await pageApi(page, "PUT", "/api/admin/settings/chat", { ...CHAT_DEFAULTS, distribution: "roundRobin" });
      assert.equal(refused.status, 422);
      assert.deepEqual(refused.body.errors.map((error) => error.field), ["distribution"]);

      await page.getByTestId("lang-switch").click();
      await page.getByRole("heading", { level: 1, name: "Chat settings" }).waitFor();
      assert.equal(await page.getByLabel("Chat distribution", { exact: true }).locator("option:checked").textContent(), "Agents take chats from the queue themselves");
      await page.getByTestId("lang-switch").click();
      await page.getByRole("heading", { level: 1, name: "Nastavení chatu" }).waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await page.unroute("**/api/admin/settings/chat").catch(() => undefined);
      await pageApi(page, "PUT", "/api/admin/settings/chat", original.body ?? CHAT_DEFAULTS);
    }
  });

  test("an agent has no admin pages: none in the menu, and typed addresses are refused", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "agent01");
    assert.deepEqual(await navLabels(page), ["Přehled", "Pracoviště", "Zpětná volání", "Hlasová schránka"]);
    assert.equal(await page.getByTestId("admin-nav").count(), 0);
    for (const path of ["/admin/queues", "/admin/audit", `/admin/queues/edit/${QUEUE_ID}`, "/admin/users/new"]) {
      await page.goto(`${BASE_URL}/#${path}`);
      const refusal = page.getByTestId("page-forbidden");
      await refusal.waitFor();
      assert.equal(await refusal.textContent(), "Tato stránka je dostupná jen pro role: administrátor.");
      assert.equal(await page.getByTestId("admin-nav").count(), 0);
      assert.equal(await page.getByTestId("queues-table").count(), 0);
      assert.equal(await page.getByTestId("queue-form").count(), 0);
    }
    assert.deepEqual(errors, []);
  });
});

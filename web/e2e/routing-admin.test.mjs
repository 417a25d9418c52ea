// Browser tests of the routing administration (issue 5: IN-6, IN-9 … IN-13, IN-17, IN-18)
// against BASE_URL: the real stack (make test) or the mock server (npm run test:e2e:mock).
// Every id made here carries a per-run suffix; the routing plan and the devices are put back
// as they were. No fixed sleeps.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BASE_URL, login, pageApi, useBrowser } from "./helpers.mjs";

const TEST_TIMEOUT_MS = 120_000;
const RUN = Date.now().toString(36);
const QUEUE_ID = `e2e-rq-${RUN}`;
const IVR_ID = `e2e-ivr-${RUN}`;

const closedWeek = Object.fromEntries(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"].map((day) => [day, []]));

const api = pageApi;

async function ensureQueue(page) {
  const { status } = await api(page, "POST", "/api/admin/queues", {
    queueId: QUEUE_ID,
    name: "Směrování E2E",
    priority: 5,
    schedule: { timezone: "Europe/Prague", weekly: closedWeek, exceptions: [], closedOnPublicHolidays: false },
    overflow: null,
  });
  assert.ok(status === 201 || status === 409, `queue ${QUEUE_ID} created (${status})`);
}

describe(`Linka routing administration at ${BASE_URL}`, () => {
  const open = useBrowser();

  async function openAdminPage(page, label, testId) {
    await page.getByTestId("main-nav").getByRole("link", { name: "Administrace" }).click();
    await page.getByTestId("admin-nav").getByRole("link", { name: label, exact: true }).click();
    await page.getByTestId(testId).waitFor();
  }

  async function addNode(page, id, kind) {
    await page.getByTestId("node-new-id").fill(id);
    await page.getByTestId("node-new-kind").selectOption(kind);
    await page.getByTestId("node-add").click();
    await page.locator(`[data-testid="ivr-node"][data-node-id="${id}"]`).waitFor();
  }

  test("admin builds an IVR tree with a menu and a transfer to a queue; the check finds a dangling node; fixed, it saves and is listed", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");
    await ensureQueue(page);
    await openAdminPage(page, "Stromy IVR", "ivrs-page");
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Stromy IVR");

    await page.getByTestId("ivr-new").click();
    const form = page.getByTestId("ivr-form");
    await form.waitFor();
    await form.getByLabel("Označení stromu IVR").fill(IVR_ID);
    await form.getByLabel("Název", { exact: true }).fill("Linka E2E");
    const node = (id) => page.locator(`[data-testid="ivr-node"][data-node-id="${id}"]`);

    // The new tree starts with a greeting; a menu, a transfer and a hang-up are added.
    await node("uvitani").getByLabel("Text hlášky").fill("Dobrý den, vítá vás Linka.");
    await addNode(page, "menu", "menu");
    await addNode(page, "fronta", "transferToQueue");
    await addNode(page, "konec", "hangup");
    assert.equal(await node("menu").getAttribute("data-node-kind"), "menu");
    await node("uvitani").getByLabel("Další uzel", { exact: true }).selectOption("menu");
    await node("menu").getByLabel("Text hlášky").fill("Pro spojení s operátorem stiskněte jedničku, pro ukončení dvojku.");
    await node("menu").getByTestId("option-add").click();
    await node("menu").getByTestId("option-add").click();
    const options = node("menu").getByTestId("menu-option");
    assert.equal(await options.nth(0).getByTestId("option-key").inputValue(), "1");
    assert.equal(await options.nth(1).getByTestId("option-key").inputValue(), "2");
    await options.nth(0).getByTestId("option-target").selectOption("fronta");
    await options.nth(1).getByTestId("option-target").selectOption("konec");
    await node("menu").getByLabel("Po vyčerpání pokusů").selectOption("fronta");
    await node("fronta").getByLabel("Fronta (označení)").fill(QUEUE_ID);
    // What was chosen survives re-rendering (adding options, nodes).
    assert.equal(await node("uvitani").getByLabel("Další uzel", { exact: true }).inputValue(), "menu");

    // The hang-up node goes; option 2 now points at a node that does not exist.
    await node("konec").getByTestId("node-remove").click();
    await node("konec").waitFor({ state: "detached" });
    assert.equal(await options.nth(1).getByTestId("option-target").inputValue(), "konec");
    await page.getByTestId("ivr-check").click();
    const dangling = page.locator('[data-testid="field-error"][data-field="nodes.menu.options.2"]');
    await dangling.waitFor();
    assert.equal(await dangling.textContent(), "Uzel „konec“ neexistuje.");
    assert.equal(await options.nth(1).getByTestId("option-target").getAttribute("aria-invalid"), "true");
    assert.equal(await page.getByTestId("ivr-check-result").getAttribute("data-valid"), "false");
    assert.match((await node("menu").getAttribute("class")) ?? "", /has-problem/);
    // The same problem in English; what was typed stays.
    await page.getByTestId("lang-switch").click();
    assert.equal(await dangling.textContent(), 'Node "konec" does not exist.');
    assert.equal(await page.getByTestId("ivr-check").textContent(), "Check");
    assert.equal(await node("menu").getByLabel("When the attempts are used up").inputValue(), "fronta");
    await page.getByTestId("lang-switch").click();
    assert.equal(await page.getByTestId("ivr-check").textContent(), "Zkontrolovat");

    // Fixed, the check passes and the tree saves.
    await options.nth(1).getByTestId("option-target").selectOption("fronta");
    await page.getByTestId("ivr-check").click();
    await page.locator('[data-testid="ivr-check-result"][data-valid="true"]').waitFor();
    assert.equal(await page.getByTestId("ivr-check-result").textContent(), "Strom je v pořádku.");
    assert.equal(await page.locator('[data-testid="field-error"]:not([hidden])').count(), 0);
    await page.getByTestId("ivr-save").click();

    await page.getByTestId("ivrs-page").getByRole("status").filter({ hasText: `Strom IVR ${IVR_ID} byl vytvořen.` }).waitFor();
    const row = page.getByTestId("ivrs-table").locator(`tr[data-ivr-id="${IVR_ID}"]`);
    await row.waitFor();
    assert.deepEqual(await page.getByTestId("ivrs-table").locator("thead th").allTextContents(), ["Strom IVR", "Název", "Stav", "Počet uzlů", "Akce"]);
    assert.equal(await row.getByTestId("ivr-name").textContent(), "Linka E2E");
    assert.equal(await row.getByTestId("ivr-node-count").textContent(), "3");
    assert.equal(await row.getByTestId("ivr-active").textContent(), "Aktivní");

    // Deactivated from the list; the list in English.
    await row.getByTestId("ivr-toggle").click();
    await row.locator('[data-testid="ivr-active"][data-active="false"]').waitFor();
    assert.equal(await row.getByTestId("ivr-active").textContent(), "Neaktivní");
    await page.getByTestId("lang-switch").click();
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "IVR trees");
    assert.equal(await row.getByTestId("ivr-active").textContent(), "Inactive");
    assert.deepEqual(await page.getByTestId("ivrs-table").locator("thead th").allTextContents(), ["IVR tree", "Name", "State", "Nodes", "Actions"]);
    assert.ok((await page.getByTestId("admin-nav").locator("a").allTextContents()).includes("Routing plan"));
    await page.getByTestId("lang-switch").click();
    assert.equal(await page.locator("html").getAttribute("lang"), "cs");

    // The editor shows what was stored; a queue that does not exist is refused at its field.
    await row.getByTestId("ivr-edit").click();
    await form.waitFor();
    assert.equal(await page.getByTestId("ivr-id").inputValue(), IVR_ID);
    assert.equal(await page.getByTestId("ivr-entry").inputValue(), "uvitani");
    assert.equal(await options.nth(1).getByTestId("option-target").inputValue(), "fronta");
    assert.equal(await node("fronta").getByLabel("Fronta (označení)").inputValue(), QUEUE_ID);
    await page.getByTestId("ivr-json-view").locator("summary").click();
    const json = JSON.parse(await page.getByTestId("ivr-json").inputValue());
    assert.deepEqual(json.nodes.menu.options, { 1: "fronta", 2: "fronta" });
    assert.equal(json.active, false);
    // A power user may edit the JSON and apply it to the forms.
    json.name = "Linka E2E (JSON)";
    await page.getByTestId("ivr-json").fill(JSON.stringify(json, null, 2));
    await page.getByTestId("ivr-json-apply").click();
    assert.equal(await page.getByTestId("ivr-name").inputValue(), "Linka E2E (JSON)");
    assert.equal(await options.nth(0).getByTestId("option-target").inputValue(), "fronta");
    await node("fronta").getByLabel("Fronta (označení)").fill(`neni-${RUN}`);
    await page.getByTestId("ivr-save").click();
    const queueError = page.locator('[data-testid="field-error"][data-field="nodes.fronta.queueId"]');
    await queueError.waitFor();
    assert.ok((await queueError.textContent()).trim().length > 0);
    assert.equal(await node("fronta").getByLabel("Fronta (označení)").inputValue(), `neni-${RUN}`);
    assert.deepEqual(errors, []);
  });

  test("admin sets a queue's routing (wrap-up, limits, nobody logged on, last agent) and sees it after a reload", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");
    await ensureQueue(page);
    await page.goto(`${BASE_URL}/#/admin/queues/edit/${QUEUE_ID}`);
    const section = page.getByTestId("queue-routing");
    const form = page.getByTestId("queue-routing-form");
    await form.waitFor();
    assert.equal(await section.getByRole("heading", { level: 2 }).textContent(), "Směrování");

    // A negative number is refused next to its field before anything is sent.
    await form.getByLabel("Doba na dopracování (s)").fill("-5");
    await page.getByTestId("routing-save").click();
    const wrapError = form.locator('[data-testid="field-error"][data-field="wrapUpSeconds"]');
    await wrapError.waitFor();
    assert.equal(await wrapError.textContent(), "Zadejte celé číslo.");

    await form.getByLabel("Doba na dopracování (s)").fill("45");
    await form.getByLabel("Nejdelší čekání ve frontě (s)").fill("300");
    await form.getByLabel("Nejvíce čekajících hovorů").fill("12");
    await form.getByLabel("Postup").selectOption("announce");
    await form.getByLabel("Hláška (označení)").fill("nikdo-neni");
    await form.getByLabel("Po hlášce").selectOption("hangUp");
    await form.getByLabel("Zapnout směrování na posledního operátora").check();
    await form.getByLabel("Čekání na posledního operátora (s)").fill("15");
    await form.getByLabel("Poslední hovor nejvýše před (h)").fill("24");
    await page.getByTestId("routing-save").click();
    await page.getByTestId("routing-saved").waitFor();
    assert.equal(await page.getByTestId("routing-saved").textContent(), "Směrování fronty bylo uloženo.");

    await page.reload();
    await form.waitFor();
    assert.equal(await form.getByLabel("Doba na dopracování (s)").inputValue(), "45");
    assert.equal(await form.getByLabel("Nejdelší čekání ve frontě (s)").inputValue(), "300");
    assert.equal(await form.getByLabel("Nejvíce čekajících hovorů").inputValue(), "12");
    assert.equal(await form.getByLabel("Postup").inputValue(), "announce");
    assert.equal(await form.getByLabel("Hláška (označení)").inputValue(), "nikdo-neni");
    assert.equal(await form.getByLabel("Po hlášce").inputValue(), "hangUp");
    assert.equal(await form.getByLabel("Zapnout směrování na posledního operátora").isChecked(), true);
    assert.equal(await form.getByLabel("Čekání na posledního operátora (s)").inputValue(), "15");
    assert.equal(await form.getByLabel("Poslední hovor nejvýše před (h)").inputValue(), "24");
    // The queue document itself is untouched by the routing form.
    assert.equal(await page.getByTestId("queue-name").inputValue(), "Směrování E2E");

    // In English.
    await page.getByTestId("lang-switch").click();
    assert.equal(await section.getByRole("heading", { level: 2 }).textContent(), "Routing");
    assert.equal(await page.getByTestId("routing-save").textContent(), "Save routing");
    assert.equal(await form.getByLabel("Wrap-up time (s)").inputValue(), "45");
    await page.getByTestId("lang-switch").click();
    assert.deepEqual(errors, []);
  });

  test("admin adds a rule to the routing plan and a queue's PBX device, sees them after a reload, and removes them", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "admin");
    await ensureQueue(page);

    await openAdminPage(page, "Plán směrování", "plan");
    const planForm = page.getByTestId("plan-form");
    await planForm.waitFor();
    const before = (await page.getByTestId("plan-rule").count()) ?? 0;
    await page.getByTestId("rule-add").click();
    const rule = page.getByTestId("plan-rule").nth(before);
    await rule.getByTestId("rule-id").fill(`e2e-${RUN}`);
    await rule.getByTestId("rule-dialled").fill("5999");
    await rule.getByTestId(`rule-${before}-entry-kind`).selectOption("queue");
    await rule.getByTestId(`rule-${before}-entry-queue`).fill(QUEUE_ID);
    if (before > 0) {
      // The new rule moves up one place.
      await rule.getByTestId("rule-up").click();
      assert.equal(await page.getByTestId("plan-rule").nth(before - 1).getByTestId("rule-id").inputValue(), `e2e-${RUN}`);
    }
    await page.getByTestId("plan-save").click();
    await page.getByTestId("plan-saved").waitFor();
    await page.reload();
    await planForm.waitFor();
    const stored = page.locator(`[data-testid="plan-rule"][data-rule-id="e2e-${RUN}"]`);
    await stored.waitFor();
    assert.equal(await stored.getByTestId("rule-dialled").inputValue(), "5999");
    await stored.getByTestId("rule-remove").click();
    await stored.waitFor({ state: "detached" });
    await page.getByTestId("plan-save").click();
    await page.getByTestId("plan-saved").waitFor();

    await page.getByTestId("admin-nav").getByRole("link", { name: "Zařízení ústředny" }).click();
    const devicesForm = page.getByTestId("devices-form");
    await devicesForm.waitFor();
    const queuesTable = page.getByTestId("devices-queues");
    const rows = await queuesTable.getByTestId("device-row").count();
    await page.getByTestId("devices-queues-add").click();
    await queuesTable.getByTestId("device-id").nth(rows).fill(QUEUE_ID);
    await queuesTable.getByTestId("device-number").nth(rows).fill("59x");
    await page.getByTestId("devices-save").click();
    const deviceError = devicesForm.locator(`[data-testid="field-error"][data-field="queues.${QUEUE_ID}"]`);
    await deviceError.waitFor();
    assert.equal(await deviceError.textContent(), "Zadejte zařízení ústředny: 1 až 20 číslic, *, # nebo +.");
    await queuesTable.getByTestId("device-number").nth(rows).fill("5998");
    await page.getByTestId("devices-save").click();
    await page.getByTestId("devices-saved").waitFor();
    await page.reload();
    await devicesForm.waitFor();
    const device = queuesTable.locator(`[data-testid="device-row"][data-id="${QUEUE_ID}"]`);
    assert.equal(await device.getByTestId("device-number").inputValue(), "5998");
    await device.getByRole("button").click();
    await device.waitFor({ state: "detached" });
    await page.getByTestId("devices-save").click();
    await page.getByTestId("devices-saved").waitFor();
    assert.deepEqual(errors, []);
  });

  test("an agent gets no routing pages", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "agent01");
    for (const path of ["/admin/ivrs", "/admin/ivrs/new", "/admin/routing-plan", "/admin/devices"]) {
      await page.goto(`${BASE_URL}/#${path}`);
      await page.getByTestId("page-forbidden").waitFor();
      assert.equal(await page.getByTestId("ivr-form").count(), 0);
    }
    assert.deepEqual(errors, []);
  });
});

// The agent desk against the real stack (`make run`/`make test`: dev gateway, pbx-sim, relay):
// the PBX simulator rings agent01's phone from a number two demo clients share
// (scripts/seed-clients.py); two agents in two browser contexts answer, identify, note,
// categorise, consult and transfer the call with the desk's buttons only; agent08 moves to
// their mobile (the PBX mobile extension 2908) and back (DESK-2). On the mock server (which has
// /api/mock/desk) these tests are skipped: desk.test.mjs covers the mock. No sleeps.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BASE_URL, axeViolations, login, pageApi, useBrowser } from "./helpers.mjs";

const TEST_TIMEOUT_MS = 240_000;
const PBX_SIM_URL = (process.env.LINKA_PBX_SIM_URL ?? "http://127.0.0.1:7080").replace(/\/+$/, "");
const CUSTOMER = "+420777000111"; // Jana Dvořáková and Tomáš Dvořák (scripts/seed-clients.py)

describe(`Linka agent desk on the stack at ${BASE_URL}`, () => {
  const open = useBrowser();

  async function openDesk(page) {
    await page.getByTestId("main-nav").getByRole("link", { name: "Pracoviště" }).click();
    await page.getByTestId("desk-state").waitFor();
    await page.locator('[data-testid="live-state"][data-state="open"]').waitFor();
  }

  async function ready(page) {
    // Waits for the request too: an agent who was ready already shows "ready" at once, and the
    // desk takes no other button while the request is on its way.
    const answered = page.waitForResponse((response) => response.url().endsWith("/api/desk/presence"));
    await page.getByTestId("desk-ready").click();
    await answered;
    await page.locator('[data-testid="desk-state"][data-state="ready"]').waitFor();
  }

  test("two agents answer, identify, note, consult and transfer a PBX call at their desks", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const first = await open();
    await login(first.page, "agent01");
    if ((await pageApi(first.page, "GET", "/api/mock/desk")).status === 200) {
      t.skip("the mock has no PBX; desk.test.mjs covers it");
      return;
    }
    const second = await open();
    await login(second.page, "agent02");
    await openDesk(first.page);
    await openDesk(second.page);
    // Earlier tests may have left calls at these phones (a callback dialled from agent01's):
    // the PBX clears them, and both desks show no call.
    const calls = await (await fetch(`${PBX_SIM_URL}/calls`)).json();
    for (const call of calls.filter((c) => c.connections.some((leg) => leg.device === "2001" || leg.device === "2002"))) {
      await fetch(`${PBX_SIM_URL}/calls/${call.id}/hangup`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    }
    await first.page.getByTestId("desk-no-call").waitFor();
    await second.page.getByTestId("desk-no-call").waitFor();
    // Statistiky are read with the desk (their figures depend on earlier runs: not checked).
    await first.page.getByTestId("desk-stats-table").waitFor();
    await ready(first.page);
    await ready(second.page);

    // The PBX rings agent01's phone: the desk shows the call and both clients with the number.
    const placed = await fetch(`${PBX_SIM_URL}/calls`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ from: CUSTOMER, to: "2001" }) });
    assert.equal(placed.status < 300, true, `pbx-sim answered ${placed.status}`);
    const ringing = first.page.locator('[data-testid="desk-call"][data-state="ringing"]');
    await ringing.waitFor();
    assert.equal(await ringing.getByTestId("desk-call-number").textContent(), "+420 777 000 111");
    const candidates = first.page.getByTestId("desk-candidates").locator("li");
    await candidates.nth(1).waitFor();
    const names = (await candidates.allTextContents()).join(" | ");
    assert.match(names, /Jana Dvořáková/);
    assert.match(names, /Tomáš Dvořák/);
    assert.deepEqual(await axeViolations(first.page), []);

    // Přijmout from the keyboard; the agent picks Jana: her card with the ICIS link.
    await first.page.getByTestId("desk-call-answer").focus();
    await first.page.keyboard.press("Enter");
    await first.page.locator('[data-testid="desk-call"][data-state="connected"]').waitFor();
    await first.page.getByTestId("desk-pick-90000001").click();
    await first.page.getByTestId("desk-card-name").filter({ hasText: "Jana Dvořáková" }).waitFor();
    // (the link template is the administrator's; the admin browser tests change it)
    assert.match(await first.page.getByTestId("desk-icis-link").getAttribute("href"), /^https:\/\/.*90000001/);

    // Poznámka and Kategorie hovoru.
    const note = "Klientka chce nový průkaz pojištěnce.";
    await first.page.getByTestId("desk-note").fill(note);
    await first.page.getByTestId("desk-note-save").click();
    await first.page.getByTestId("desk-note-version-1").filter({ hasText: note }).waitFor();
    const categories = await pageApi(first.page, "GET", "/api/desk/categories");
    const category = categories.body.items[0];
    await first.page.getByTestId("desk-category").selectOption(category.categoryId);
    await first.page.getByTestId("desk-category-save").click();
    await first.page.getByTestId("desk-category-current").filter({ hasText: category.name }).waitFor();

    // Konzultace with agent02 from the transfer panel; agent02 answers at their desk.
    await first.page.getByTestId("desk-call-consult").click();
    await first.page.getByTestId("desk-choosing").waitFor();
    await first.page.getByTestId("desk-consult-agent02").click();
    await first.page.locator('[data-testid="desk-call"][data-state="held"]').waitFor();
    const consulted = second.page.locator('[data-testid="desk-call"][data-state="ringing"]');
    await consulted.waitFor();
    assert.equal(await consulted.getByTestId("desk-call-number").textContent(), "2001");
    await consulted.getByTestId("desk-call-answer").click();
    await first.page.locator('[data-testid="desk-call"][data-state="connected"]').waitFor();

    // Přepojit: the customer is agent02's now; agent01's desk is empty.
    await first.page.getByTestId("desk-call-transfer").click();
    await first.page.getByTestId("desk-no-call").waitFor();
    const transferred = second.page.locator('[data-testid="desk-call"][data-state="connected"]').filter({ hasText: "+420 777 000 111" });
    await transferred.waitFor();
    await transferred.getByTestId("desk-call-hangup").click();
    await second.page.getByTestId("desk-no-call").waitFor();

    // Later agent01 amends the note from Poslední kontakty: both versions are kept.
    const recent = first.page.getByTestId("desk-recent-table").locator("tr", { hasText: "+420 777 000 111" }).first();
    await recent.waitFor();
    await recent.getByRole("button", { name: "Otevřít" }).click();
    await first.page.getByTestId("desk-note-version-1").waitFor();
    await first.page.getByTestId("desk-note").fill(`${note} Odesláno poštou.`);
    await first.page.getByTestId("desk-note-save").click();
    await first.page.getByTestId("desk-note-version-2").filter({ hasText: "Odesláno poštou." }).waitFor();
    await first.page.getByTestId("desk-note-version-1").filter({ hasText: note }).waitFor();
    assert.deepEqual(await axeViolations(first.page), []);
    assert.deepEqual(first.errors, []);
    assert.deepEqual(second.errors, []);
  });

  test("an agent moves to the mobile and back with the desk's phone switch, staying ready (DESK-2)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    await login(page, "agent08");
    if ((await pageApi(page, "GET", "/api/mock/desk")).status === 200) {
      t.skip("the mock has no PBX; desk.test.mjs covers it");
      return;
    }
    await openDesk(page);
    // Earlier runs may have left calls at agent08's phones: the PBX clears them.
    const calls = await (await fetch(`${PBX_SIM_URL}/calls`)).json();
    for (const call of calls.filter((c) => c.connections.some((leg) => leg.device === "2008" || leg.device === "2908"))) {
      await fetch(`${PBX_SIM_URL}/calls/${call.id}/hangup`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    }
    await page.getByTestId("desk-no-call").waitFor();
    const phone = page.getByTestId("desk-phone");
    const current = page.getByTestId("desk-phone-current");
    const toSwitch = page.getByTestId("desk-phone-switch");
    const settled = (using) => page.locator(`[data-testid="desk-phone"][data-using="${using}"]:not([data-pending])`).waitFor();
    if ((await phone.getAttribute("data-using")) === "mobile") {
      // (left on the mobile by an earlier run)
      await toSwitch.click();
      await settled("desk");
    }
    await ready(page);
    assert.equal(await current.textContent(), "Pevná linka 2008");

    // To the mobile: the PBX logs agent08 off 2008 and on (ready) at 2908; the desk shows it.
    await toSwitch.click();
    await settled("mobile");
    assert.equal(await current.textContent(), "Mobil +420 601 000 008");
    await page.locator('[data-testid="desk-state"][data-state="ready"]').waitFor();
    const read = await pageApi(page, "GET", "/api/desk");
    assert.deepEqual([read.body.phone.using, read.body.device], ["mobile", "2908"]);
    assert.deepEqual(await axeViolations(page), []);

    // And back to the desk phone, still ready.
    await toSwitch.click();
    await settled("desk");
    assert.equal(await current.textContent(), "Pevná linka 2008");
    await page.locator('[data-testid="desk-state"][data-state="ready"]').waitFor();
    assert.equal((await pageApi(page, "GET", "/api/desk")).body.device, "2008");
    assert.equal(await page.getByTestId("problem").count(), 0);
    assert.deepEqual(errors, []);
  });
});

// Browser tests of Zpětná volání and Hlasová schránka against BASE_URL: the mock server
// (npm run test:e2e:mock, handlers in mock-callbacks.mjs) or the real stack. The callbacks
// the test works on are made by the test (a per-run phone number); the voicemail too, where the
// mock offers POST /api/mock/voicemails. No fixed sleeps.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { BASE_URL, login, navLabels, pageApi, useBrowser } from "./helpers.mjs";

const TEST_TIMEOUT_MS = 120_000;
// agent01 is a member of kkc-obecne in the demo configuration (the mock knows every queue).
const QUEUE_ID = process.env.E2E_CALLBACK_QUEUE ?? "kkc-obecne";
// Nine digits from the run's time, so every run has its own numbers.
const RUN = String(Date.now() % 1_000_000).padStart(6, "0");
const NUMBER_A = `+420605${RUN}`;
const NUMBER_B = `+420606${RUN}`;
const NUMBER_C = `607${RUN}`;
const spaced = (e164) => e164.replace(/^\+420(\d{3})(\d{3})(\d{3})$/, "+420 $1 $2 $3");

const api = pageApi;

/** Controls in <main> without an accessible name, and duplicate element ids (a small stand-in for axe). */
function accessibilityProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const text = (element) => (element?.textContent ?? "").trim();
    for (const control of document.querySelectorAll("main button, main input, main select, main textarea, main audio, main a[href]")) {
      const labelledBy = control.getAttribute("aria-labelledby");
      const name =
        control.getAttribute("aria-label") ||
        (labelledBy ? labelledBy.split(/\s+/).map((id) => text(document.getElementById(id))).join(" ").trim() : "") ||
        (control.id ? text(document.querySelector(`label[for="${CSS.escape(control.id)}"]`)) : "") ||
        text(control.closest("label")) ||
        (control.tagName === "BUTTON" || control.tagName === "A" ? text(control) : "");
      if (!name) problems.push(`no name: ${control.outerHTML.slice(0, 120)}`);
    }
    const seen = new Map();
    for (const element of document.querySelectorAll("[id]")) seen.set(element.id, (seen.get(element.id) ?? 0) + 1);
    for (const [id, count] of seen) if (count > 1) problems.push(`id ${id} ×${count}`);
    for (const table of document.querySelectorAll("main table")) {
      if (!table.querySelector("caption") && !table.getAttribute("aria-label")) problems.push("table without caption");
    }
    return problems;
  });
}

describe(`Linka callbacks and voicemail at ${BASE_URL}`, () => {
  const open = useBrowser();

  async function newCallback(page, number, extra = {}) {
    const { status, body } = await api(page, "POST", "/api/callbacks", { requestId: randomUUID(), queueId: QUEUE_ID, number, clientName: "Test E2E", ...extra });
    assert.equal(status, 201, `callback ${number} created: ${JSON.stringify(body)}`);
    return body.id;
  }

  /** Through the main menu when the page is in it, else by its address. */
  async function goTo(page, path, label) {
    const link = page.getByTestId("main-nav").getByRole("link", { name: label });
    if ((await link.count()) > 0) await link.click();
    else await page.goto(`${BASE_URL}/#${path}`);
  }

  const statusOf = (page, id, text) => page.getByTestId(`cb-status-${id}`).filter({ hasText: text }).waitFor();

  test("an agent claims a due callback, records no answer, marks it done and creates one", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    await login(page, "agent01");
    assert.deepEqual(await navLabels(page), ["Přehled", "Pracoviště", "Zpětná volání", "Hlasová schránka"]);
    if ((await api(page, "GET", "/api/mock/voicemails")).status === 404) {
      // On the real stack routing dials a due callback itself from a ready demo agent, so the
      // manual flow below races it; the stack's callback flow is tested in tests/tests/routing.rs.
      t.skip("the manual claim flow runs on the mock; the stack dials due callbacks itself");
      return;
    }
    const mine = await newCallback(page, NUMBER_A);
    const other = await newCallback(page, NUMBER_B);

    await goTo(page, "/callbacks", "Zpětná volání");
    await page.getByTestId(`cb-row-${mine}`).waitFor();
    assert.match(await page.title(), /^Zpětná volání/);
    assert.deepEqual(await page.getByTestId("cb-table").locator("thead th").allTextContents(), [
      "Číslo",
      "Klient",
      "Fronta",
      "Zdroj",
      "Stav",
      "Kdy",
      "Pokusy",
      "Akce",
    ]);
    assert.equal(await page.getByTestId(`cb-number-${mine}`).textContent(), spaced(NUMBER_A));
    assert.equal(await page.getByTestId(`cb-status-${mine}`).textContent(), "čeká");
    assert.equal(await page.getByTestId(`cb-attempts-${mine}`).textContent(), "0");
    assert.match(await page.getByTestId(`cb-row-${mine}`).locator("td").nth(5).textContent(), /^\d{1,2}\. \d{1,2}\. \d{4} \d{1,2}:\d{2}$/);
    assert.deepEqual(await accessibilityProblems(page), []);

    // Zavolat: claimed (and dialled); the outcome buttons replace it, the focus on the first.
    await page.getByTestId(`cb-call-${mine}`).click();
    await statusOf(page, mine, "volá se — agent01");
    await page.getByTestId("cb-message").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), `cb-answered-${mine}`);
    assert.equal(await page.getByTestId(`cb-call-${mine}`).count(), 0);

    // One claim at a time: the 409 is shown in Czech.
    await page.getByTestId(`cb-call-${other}`).click();
    const refusal = page.locator('[data-testid="problem"][data-code="agent-has-claim"]');
    await refusal.waitFor();
    assert.equal(await refusal.textContent(), "Už máte rozpracované jiné zpětné volání. Nejprve zapište jeho výsledek.");

    // Nedovoláno: back in the list as waiting, with one attempt.
    await page.getByTestId(`cb-noAnswer-${mine}`).click();
    await statusOf(page, mine, "čeká");
    await page.getByTestId(`cb-attempts-${mine}`).filter({ hasText: "1" }).waitFor();
    assert.equal(await page.getByTestId("problem").count(), 0);

    // The detail shows the attempt; a note is added to it (keyboard only).
    await page.getByTestId(`cb-detail-${mine}`).click();
    await page.getByTestId("cb-detail-attempts").filter({ hasText: "nedovoláno" }).waitFor();
    await page.getByTestId(`cb-note-${mine}`).focus();
    await page.keyboard.press("Enter");
    const noteText = page.locator('[data-testid="cb-note-form"] textarea');
    await noteText.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), "TEXTAREA");
    await page.keyboard.type("Klient nezvedá, zkusit odpoledne.");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.getByTestId("cb-detail-notes").filter({ hasText: "Klient nezvedá, zkusit odpoledne." }).waitFor();
    assert.equal(await page.getByTestId("cb-note-form").count(), 0);

    // Přeplánovat the other one to the first free window.
    await page.getByTestId(`cb-reschedule-${other}`).click();
    const rescheduleForm = page.getByTestId("cb-reschedule-form");
    await rescheduleForm.locator("select").waitFor();
    assert.deepEqual(await accessibilityProblems(page), []);
    await rescheduleForm.getByTestId("cb-reschedule-save").click();
    await statusOf(page, other, "naplánováno");
    await page.getByTestId("cb-message").filter({ hasText: "přeplánováno" }).waitFor();

    // Vyřízeno: gone from the open list, in the closed ones.
    await page.getByTestId(`cb-done-${mine}`).click();
    await page.getByTestId(`cb-row-${mine}`).waitFor({ state: "detached" });
    await page.getByTestId("cb-closed-toggle").check();
    await statusOf(page, mine, "vyřízeno");
    await page.getByTestId("cb-closed-toggle").uncheck();
    await page.getByTestId(`cb-row-${other}`).waitFor();

    // Nové zpětné volání: the number in any form, shown grouped.
    await page.getByTestId("cb-new-toggle").click();
    await page.getByTestId("cb-new-queue").fill(QUEUE_ID);
    await page.getByTestId("cb-new-number").fill(NUMBER_C);
    await page.getByTestId("cb-new-client").fill("Nový Klient");
    await page.getByTestId("cb-new-note").fill("Chce probrat přeplatek.");
    assert.deepEqual(await accessibilityProblems(page), []);
    await page.getByTestId("cb-new-save").click();
    await page.getByTestId("cb-message").filter({ hasText: "vytvořeno" }).waitFor();
    const created = page.locator('tr[data-testid^="cb-row-"]').filter({ hasText: spaced(`+420${NUMBER_C}`) });
    await created.waitFor();
    assert.match(await created.textContent(), /Nový Klient/);

    // Clean up what is still open (the real stack keeps it).
    for (const id of [other, (await created.getAttribute("data-testid")).replace("cb-row-", "")]) {
      await api(page, "POST", `/api/callbacks/${id}/cancel`);
    }

    await page.getByTestId("lang-switch").click();
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Callbacks");
    await page.getByTestId("lang-switch").click();
    assert.deepEqual(errors, []);
  });

  test("an agent takes a voicemail, plays it and marks it done", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    await login(page, "agent01");
    const made = await api(page, "POST", "/api/mock/voicemails", { caller: NUMBER_A, queueId: QUEUE_ID });
    let id = made.status === 201 ? made.body.id : null;
    if (!id) {
      const list = await api(page, "GET", "/api/voicemails?view=open");
      id = list.body?.items?.find((item) => item.status === "new")?.id;
    }
    if (!id) {
      // The real stack has voicemail only when a caller leaves one through the IVR: that path is
      // tested by tests/tests/routing.rs (when_callers_use_the_cloud_ivr_and_callbacks_…).
      t.skip("no voicemail to work on (the mock seeds one; the stack's IVR path is tested in Rust)");
      return;
    }

    await goTo(page, "/voicemails", "Hlasová schránka");
    const row = page.getByTestId(`vm-row-${id}`);
    await row.waitFor();
    assert.deepEqual(await page.getByTestId("vm-table").locator("thead th").allTextContents(), [
      "Volající",
      "Fronta",
      "Nahráno",
      "Délka",
      "Stav",
      "Údaje z IVR",
      "Akce",
    ]);
    assert.equal(await page.getByTestId(`vm-status-${id}`).textContent(), "nový");
    if (made.status === 201) {
      assert.equal(await page.getByTestId(`vm-caller-${id}`).textContent(), spaced(NUMBER_A));
      const cells = await row.locator("td").allTextContents();
      assert.equal(cells[3], "1:05");
      assert.match(cells[5], /Problém: platby; Číslo pojištěnce: 8001011234/);
    }
    assert.deepEqual(await accessibilityProblems(page), []);

    await page.getByTestId(`vm-assign-${id}`).click();
    await page.getByTestId(`vm-status-${id}`).filter({ hasText: "přiřazen — agent01" }).waitFor();

    await page.getByTestId(`vm-play-${id}`).click();
    const audio = page.getByTestId("vm-audio");
    await audio.waitFor();
    const detail = await api(page, "GET", `/api/voicemails/${id}`);
    const src = await audio.getAttribute("src");
    if (made.status === 201) assert.equal(src, `${BASE_URL}/mock-recordings/${id}.wav?X-Amz-Signature=mock`);
    assert.equal(new URL(src).pathname, new URL(detail.body.playbackUrl).pathname);
    assert.equal(await audio.evaluate((element) => element.controls), true);
    assert.deepEqual(await accessibilityProblems(page), []);

    await page.getByTestId(`vm-done-${id}`).click();
    await row.waitFor({ state: "detached" });
    await page.getByTestId("vm-closed-toggle").check();
    await page.getByTestId(`vm-status-${id}`).filter({ hasText: "vyřízen" }).waitFor();
    assert.deepEqual(errors, []);
  });

  test("a wallboard has neither page", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    await login(page, "wallboard");
    const nav = await navLabels(page);
    assert.ok(!nav.includes("Zpětná volání") && !nav.includes("Hlasová schránka"), `menu: ${nav.join(", ")}`);
    for (const path of ["/callbacks", "/voicemails"]) {
      await page.goto(`${BASE_URL}/#${path}`);
      await page.getByTestId("page-forbidden").waitFor();
    }
    assert.deepEqual(errors, []);
  });
});

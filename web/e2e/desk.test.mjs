// Browser tests of Pracoviště (the agent desk) against the mock server (npm run
// test:e2e:mock; handlers and test hooks in mock-desk.mjs). On the real stack (no
// /api/mock/desk) they are skipped: calls there come from the PBX. No fixed sleeps.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BASE_URL, login, navLabels, pageApi, useBrowser, axeViolations } from "./helpers.mjs";

const TEST_TIMEOUT_MS = 180_000;
const SHARED_NUMBER = "+420601555777"; // Jan Dvořák and Marie Dvořáková (mock seed)


describe(`Linka agent desk at ${BASE_URL}`, () => {
  const open = useBrowser();

  async function openDesk(page, username, t) {
    await login(page, username);
    if ((await pageApi(page, "GET", "/api/mock/desk")).status !== 200) {
      t.skip("the desk flows run on the mock; on the stack calls come from the PBX");
      return false;
    }
    await page.getByTestId("main-nav").getByRole("link", { name: "Pracoviště" }).click();
    await page.getByTestId("desk-state").waitFor();
    await page.locator('[data-testid="live-state"][data-state="open"]').waitFor();
    return true;
  }

  const deskState = (page, state) => page.locator(`[data-testid="desk-state"][data-state="${state}"]`).waitFor();

  test("an agent works a call end to end: ready, queues, identification, note, category, consultation, transfer", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    if (!(await openDesk(page, "agent01", t))) return;
    assert.ok((await navLabels(page)).includes("Pracoviště"));
    assert.match(await page.title(), /^Pracoviště/);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Pracoviště");

    // Připraven: the PBX confirms over the WebSocket (a push without a desk → re-read).
    await page.getByTestId("desk-ready").click();
    await deskState(page, "ready");
    assert.equal(await page.getByTestId("desk-state").textContent(), "Připraven");
    // The break codes are offered.
    const breaks = await page.getByTestId("desk-break").locator("option").allTextContents();
    assert.ok(breaks.some((text) => text.startsWith("Přestávka")), breaks.join(", "));

    // Queues: log out of one; the locked one cannot be left (disabled, explained, 403 from the API).
    assert.equal(await page.getByTestId("desk-queue-waiting-kkc-obecne").textContent(), "3");
    const generalQueue = page.getByTestId("desk-queue-kkc-obecne");
    if ((await generalQueue.getAttribute("data-logged-in")) === "false") {
      // (a mock server reused from an earlier run)
      await page.getByTestId("desk-queue-toggle-kkc-obecne").click();
      await page.locator('[data-testid="desk-queue-kkc-obecne"][data-logged-in="true"]').waitFor();
    }
    await page.getByTestId("desk-queue-toggle-kkc-obecne").click();
    await page.locator('[data-testid="desk-queue-kkc-obecne"][data-logged-in="false"]').waitFor();
    assert.equal(await page.getByTestId("desk-queue-state-kkc-obecne").textContent(), "odhlášen");
    await page.getByTestId("desk-message").filter({ hasText: "Jste odhlášen z fronty Klientská linka." }).waitFor();
    const locked = page.getByTestId("desk-queue-toggle-kkc-vip");
    assert.equal(await locked.isDisabled(), true);
    const describedBy = await locked.getAttribute("aria-describedby");
    assert.match(await page.locator(`#${describedBy}`).textContent(), /zamkl administrátor/);
    const refused = await pageApi(page, "PUT", "/api/desk/queues/kkc-vip", { loggedIn: false });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, "queue-locked");

    // Statistiky, read with the desk: overall, my queues (each of the three too) and mine, per period.
    const handled24h = page.getByTestId("desk-stats-mine-24h");
    await handled24h.waitFor();
    const stats = page.getByTestId("desk-stats-table");
    assert.deepEqual(await stats.locator("thead th").allTextContents(), ["Hovory", "24 h", "7 dní", "14 dní", "30 dní"]);
    assert.deepEqual((await stats.locator('tbody th[scope="row"]').allTextContents()).slice(0, 2), ["Celkem", "Moje fronty"]);
    assert.equal(await stats.locator('tbody th[scope="row"]').last().textContent(), "Já");
    assert.match(await page.getByTestId("desk-stats-all-24h").textContent(), /^\d+ \/ \d+SL \d+(,\d)?\u00a0%vyřízeno \d+, ztraceno \d+, úroveň služby \d+(,\d)?\u00a0%$/);
    const handledBefore = Number(await handled24h.getAttribute("data-answered"));
    assert.ok(Number.isInteger(handledBefore), String(handledBefore));

    // A call from a number two clients share is offered.
    const offer = await pageApi(page, "POST", "/api/mock/desk/offer", { username: "agent01", number: SHARED_NUMBER, attributes: { "ivr.volba": "1" } });
    assert.equal(offer.status, 201);
    const call = page.locator('[data-testid="desk-call"][data-state="ringing"]');
    await call.waitFor();
    assert.equal(await call.getByTestId("desk-call-number").textContent(), "+420 601 555 777");
    await page.getByTestId("desk-message").filter({ hasText: "Příchozí hovor z čísla +420 601 555 777." }).waitFor();
    assert.equal(await call.getByTestId("desk-call-queue").textContent(), "Klientská linka");
    assert.match(await call.getByTestId("desk-call-attributes").textContent(), /ivr\.volba: 1/);
    const candidates = page.getByTestId("desk-candidates").locator("li");
    await candidates.nth(1).waitFor();
    assert.equal(await candidates.count(), 2);
    const names = (await candidates.allTextContents()).join(" | ");
    assert.match(names, /Jan Dvořák/);
    assert.match(names, /Marie Dvořáková/);
    assert.deepEqual(await axeViolations(page), []);

    // The agent picks Marie: her card with the ICIS link; every editable field editable.
    await page.getByRole("button", { name: "Vybrat klienta Marie Dvořáková" }).click();
    await page.getByTestId("desk-card-name").filter({ hasText: "Marie Dvořáková" }).waitFor();
    assert.equal(await page.getByTestId("desk-icis-link").getAttribute("href"), "https://icis.example.cz/klient/10000002");
    assert.equal(await page.getByTestId("desk-card-insuranceNumber").getAttribute("readonly"), "");
    assert.equal(await page.getByLabel("Obec").inputValue(), "Brno");

    // Přijmout, from the keyboard.
    await page.getByTestId("desk-call-answer").focus();
    await page.keyboard.press("Enter");
    await page.locator('[data-testid="desk-call"][data-state="connected"]').waitFor();
    await deskState(page, "busy");
    // The focus moved from the vanished Přijmout to Zavěsit.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "desk-call-hangup");

    // The card is edited: a changed city is saved with the version.
    await page.getByLabel("Obec").fill("Brno-Líšeň");
    await page.getByTestId("desk-card-save").click();
    await page.getByTestId("desk-message").filter({ hasText: "Karta klienta byla uložena." }).waitFor();
    assert.match(await page.getByTestId("desk-card").locator("p.muted").first().textContent(), /verze 2/);

    // Poznámka and Kategorie hovoru.
    await page.getByLabel("Poznámka", { exact: true }).fill("Klientka se ptá na platbu pojistného.");
    await page.getByTestId("desk-note-save").click();
    await page.getByTestId("desk-note-version-1").filter({ hasText: "Klientka se ptá na platbu pojistného." }).waitFor();
    await page.getByTestId("desk-category").selectOption("dotaz-platby");
    await page.getByTestId("desk-category-save").click();
    await page.getByTestId("desk-category-current").filter({ hasText: "Dotaz › Platby pojistného" }).waitFor();

    // Konzultace with agent02, chosen in the transfer panel.
    await page.getByTestId("desk-call-consult").click();
    await page.getByTestId("desk-choosing").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "desk-panel-search");
    await page.getByTestId("desk-consult-agent02").click();
    await page.locator('[data-testid="desk-call"][data-state="held"]').waitFor();
    const consultation = page.locator('[data-testid="desk-call"][data-state="connected"]');
    await consultation.waitFor();
    assert.equal(await consultation.getByTestId("desk-call-number").textContent(), "2002");
    await page.locator('[data-testid="desk-presence-agent02"]').filter({ hasText: "Obsazený" }).waitFor();
    // The customer's contact keeps the focus during the consultation.
    await page.getByTestId("desk-card-name").filter({ hasText: "Marie Dvořáková" }).waitFor();
    assert.deepEqual(await axeViolations(page), []);

    // Přepojit (attended): both legs leave this desk, Dohra counts down.
    await page.getByTestId("desk-call-transfer").click();
    await page.getByTestId("desk-no-call").waitFor();
    await deskState(page, "workingAfterCall");
    assert.match(await page.getByTestId("desk-wrapup-left").textContent(), /^0:[0-3]\d$/);
    assert.equal(await page.getByTestId("desk-state").textContent(), "Dohra");
    // IN-18: the agent needs longer; one press adds 30 s to the countdown.
    const untilBefore = Date.parse(await page.getByTestId("desk-wrapup-left").getAttribute("data-until"));
    await page.getByTestId("desk-wrapup-extend").click();
    await page.waitForFunction(
      (before) => Date.parse(document.querySelector('[data-testid="desk-wrapup-left"]')?.dataset.until ?? "") >= before + 30_000,
      untilBefore,
    );
    // The call left the desk: Statistiky are read again and count it as the agent's own.
    await page.locator(`[data-testid="desk-stats-mine-24h"][data-answered="${handledBefore + 1}"]`).waitFor();
    assert.match(await page.getByTestId("desk-stats-mine-24h").textContent(), new RegExp(`vyřízeno ${handledBefore + 1}$`));
    await page.getByTestId("desk-stats-refresh").click();
    await page.locator(`[data-testid="desk-stats-mine-24h"][data-answered="${handledBefore + 1}"]`).waitFor();

    // Later: the contact opened from Poslední kontakty, the note amended; both versions listed.
    const recent = page.getByTestId("desk-recent-table").locator("tr", { hasText: "+420 601 555 777" }).first();
    await recent.waitFor();
    await recent.getByRole("button", { name: "Otevřít" }).click();
    await page.getByTestId("desk-note-version-1").waitFor();
    assert.equal(await page.getByTestId("desk-note").inputValue(), "Klientka se ptá na platbu pojistného.");
    await page.getByTestId("desk-note").fill("Klientka se ptá na platbu pojistného. Doplněno: zaslat složenku.");
    await page.getByTestId("desk-note-save").click();
    await page.getByTestId("desk-note-version-2").filter({ hasText: "zaslat složenku" }).waitFor();
    assert.equal(await page.getByTestId("desk-note-versions").locator("li").count(), 2);
    await page.getByTestId("desk-note-version-1").filter({ hasText: "Klientka se ptá na platbu pojistného." }).waitFor();
    // The category can still be changed after the call.
    await page.getByTestId("desk-category").selectOption("stiznost");
    await page.getByTestId("desk-category-save").click();
    await page.getByTestId("desk-category-current").filter({ hasText: "Stížnost" }).waitFor();

    // Moje historie: full-text search ignores case and diacritics.
    await page.getByTestId("desk-history-q").fill("SLOZENKU");
    await page.getByTestId("desk-history-search").click();
    const rows = page.getByTestId("desk-history-table").locator("tbody tr");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().textContent(), /Marie Dvořáková/);

    // English.
    await page.getByTestId("lang-switch").click();
    await page.getByRole("heading", { level: 1, name: "Desk" }).waitFor();
    assert.ok((await navLabels(page)).includes("Desk"));
    assert.equal(await page.getByTestId("desk-ready").textContent(), "Ready");
    assert.equal(await page.getByTestId("desk-state").textContent(), "Wrap-up");
    assert.equal(await page.locator("#desk-transfer-title").textContent(), "Transfer panel");
    assert.equal(await page.locator("#desk-stats-title").textContent(), "Statistics");
    assert.equal(await page.getByTestId("desk-stats-table").locator('tbody th[scope="row"]').last().textContent(), "Me");
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(errors, []);
  });

  test("the transfer panel follows presence pushes and favourites; a reconnect reads the desk again", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    if (!(await openDesk(page, "agent03", t))) return;

    // Presence colours and texts, live.
    const row = page.getByTestId("desk-presence-agent04");
    await pageApi(page, "PUT", "/api/mock/desk/presence", { username: "agent04", presence: "break" });
    await row.filter({ hasText: "Přestávka" }).waitFor();
    assert.equal(await page.getByTestId("desk-dir-agent04").getAttribute("data-presence"), "break");
    assert.equal(await (await pageApi(page, "PUT", "/api/mock/desk/presence", { username: "agent04", presence: "free" })).status, 200);
    await row.filter({ hasText: "Volný" }).waitFor();

    // A favourite goes to the top.
    const first = () => page.getByTestId("desk-directory").locator("li").first().getAttribute("data-testid");
    const star = page.getByTestId("desk-fav-agent10");
    if ((await star.getAttribute("aria-pressed")) === "true") {
      await star.click();
      await page.locator('[data-testid="desk-fav-agent10"][aria-pressed="false"]').waitFor();
    }
    await star.click();
    await page.locator('[data-testid="desk-fav-agent10"][aria-pressed="true"]').waitFor();
    assert.equal(await first(), "desk-dir-agent10");
    const stored = await pageApi(page, "GET", "/api/desk/directory");
    assert.deepEqual(stored.body.favourites, ["agent10"]);

    // The WebSocket drops; a call offered meanwhile (its push lost) shows after the reconnect.
    await pageApi(page, "POST", "/api/mock/desk/drop-sockets", {});
    // Its contact record is written a second after the desk hears of the call (on the stack the
    // CTI projection follows the push): the clients with the number show meanwhile, the record
    // once it is there, and no error.
    const offer = await pageApi(page, "POST", "/api/mock/desk/offer", { username: "agent03", number: "+420602111222", recordLateMs: 1000 });
    assert.equal(offer.status, 201);
    await page.locator('[data-testid="desk-call"][data-state="ringing"]').waitFor();
    // One client has this number.
    await page.getByTestId("desk-candidates").locator("li").first().filter({ hasText: "Karel Malý" }).waitFor();
    await page.getByTestId("desk-contact-summary").waitFor();
    assert.equal(await page.getByTestId("problem").count(), 0);
    // Zadat klienta ručně (the form the chats share): the caller's number prefilled, the focus on
    // the first field; Zrušit brings the focus back.
    await page.getByTestId("desk-client-new").click();
    await page.getByTestId("desk-new-client").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "desk-new-firstName");
    assert.equal(await page.getByTestId("desk-new-phone").inputValue(), "+420602111222");
    await page.getByTestId("desk-new-cancel").click();
    await page.getByTestId("desk-candidates").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "desk-client-new");
    await page.getByRole("button", { name: "Vybrat klienta Karel Malý" }).click();
    await page.getByTestId("desk-card-name").filter({ hasText: "Karel Malý" }).waitFor();
    // No ICIS id → no link.
    assert.equal(await page.getByTestId("desk-icis-link").count(), 0);
    await page.getByTestId("desk-icis-none").waitFor();
    // Someone else changes the card meanwhile: the save is refused (409), the card reloads.
    const clientId = await page.getByTestId("desk-card").getAttribute("data-client-id");
    await pageApi(page, "POST", `/api/mock/desk/clients/${clientId}/touch`, { fields: { city: "Plzeň" } });
    await page.getByLabel("Obec").fill("Kladno");
    await page.getByTestId("desk-card-save").click();
    await page.getByTestId("desk-invalid").filter({ hasText: "Kartu mezitím změnil někdo jiný" }).waitFor();
    assert.equal(await page.getByLabel("Obec").inputValue(), "Plzeň");

    // Přijmout, tónová volba from the keypad, Podržet / Obnovit, Zavěsit.
    await page.getByTestId("desk-call-answer").click();
    await page.locator('[data-testid="desk-call"][data-state="connected"]').waitFor();
    await page.getByTestId("desk-call-dtmf").click();
    await page.getByTestId("desk-dtmf-key-1").click();
    await page.getByTestId("desk-dtmf-key-2").click();
    await page.getByTestId("desk-dtmf-key-hash").click();
    assert.equal(await page.getByTestId("desk-dtmf-input").inputValue(), "12#");
    await page.getByTestId("desk-dtmf-send").click();
    await page.getByTestId("desk-message").filter({ hasText: "Tóny odeslány do hovoru +420 602 111 222." }).waitFor();
    await page.getByTestId("desk-call-hold").click();
    await page.locator('[data-testid="desk-call"][data-state="held"]').waitFor();
    await page.getByTestId("desk-call-retrieve").click();
    await page.locator('[data-testid="desk-call"][data-state="connected"]').waitFor();
    await page.getByTestId("desk-call-hangup").click();
    await page.getByTestId("desk-no-call").waitFor();

    // Vytočit: a Czech number typed with spaces, dialled as E.164.
    await page.getByTestId("desk-dial-number").fill("603 999 888");
    await page.getByTestId("desk-dial-go").click();
    await page.getByTestId("desk-message").filter({ hasText: "Vytáčí se +420 603 999 888." }).waitFor();
    const outbound = page.locator('[data-testid="desk-call"][data-state="connected"]');
    await outbound.waitFor();
    assert.equal(await outbound.getByTestId("desk-call-number").textContent(), "+420 603 999 888");
    await outbound.getByTestId("desk-call-hangup").click();
    await page.getByTestId("desk-no-call").waitFor();
    assert.deepEqual(errors, []);
  });

  test("an agent enters the client of a chat by hand: the form prefilled from the customer, the client created and assigned (CHAT-4)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    if (!(await openDesk(page, "agent04", t))) return;
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? null);
    // A web chat from an e-mail no client has.
    const email = `alena.mala.${Date.now().toString(36)}@example.cz`;
    const started = await pageApi(page, "POST", "/api/mock/desk/chat", { customer: { email }, text: "Dobrý den, jsem u vás nová, potřebuji poradit." });
    assert.equal(started.status, 201);
    const id = started.body.conversationId;
    const contactId = `chat:${id}`;
    await page.getByTestId(`desk-chat-accept-${id}`).click();
    await page.getByTestId("desk-chat-clients-none").filter({ hasText: `Kontakt ${email} nemá v databázi klientů žádný záznam.` }).waitFor();

    // Zadat klienta ručně: the form (a heading, labelled fields, the card's first), the e-mail
    // prefilled, the focus on the first field.
    const start = page.getByTestId("desk-chat-client-new");
    assert.equal(await start.textContent(), "Zadat klienta ručně");
    await start.click();
    const form = page.getByTestId("desk-chat-new-client");
    await form.waitFor();
    assert.equal(await form.getByRole("heading", { level: 4 }).textContent(), "Nový klient");
    assert.equal(await form.getAttribute("aria-labelledby"), "desk-chat-new-client-title");
    assert.equal(await focused(), "desk-chat-new-firstName");
    assert.equal(await form.getByLabel("E-mail", { exact: true }).inputValue(), email);
    assert.equal(await form.getByLabel("Telefon", { exact: true }).inputValue(), "");
    await page.getByTestId("desk-chat-new-prefilled").waitFor();
    assert.deepEqual(await axeViolations(page), []);

    // Zrušit: the form closes, the focus back on the button; Enter opens it again, Escape closes it.
    await page.getByTestId("desk-chat-new-cancel").click();
    await form.waitFor({ state: "detached" });
    assert.equal(await focused(), "desk-chat-client-new");
    await page.keyboard.press("Enter");
    await form.waitFor();
    assert.equal(await focused(), "desk-chat-new-firstName");
    await page.keyboard.press("Escape");
    await form.waitFor({ state: "detached" });
    assert.equal(await focused(), "desk-chat-client-new");
    await start.click();

    // The surname is required: said at the form, the focus on it, nothing sent.
    await page.getByTestId("desk-chat-new-firstName").fill("Alena");
    await page.getByTestId("desk-chat-new-save").click();
    await form.getByTestId("desk-chat-invalid").filter({ hasText: "Vyplňte povinné údaje: Příjmení." }).waitFor();
    assert.equal(await focused(), "desk-chat-new-lastName");

    // The API refuses a bad e-mail (422): shown at the form with the field's label, the values kept.
    await page.getByTestId("desk-chat-new-lastName").fill("Malá");
    await page.getByTestId("desk-chat-new-email").fill("alena.mala");
    await page.getByTestId("desk-chat-new-save").click();
    const refused = form.locator('[data-testid="problem"][data-code="validation-failed"]');
    await refused.waitFor();
    assert.match(await refused.locator("li").first().textContent(), /^E-mail: /);
    assert.equal(await page.getByTestId("desk-chat-new-firstName").inputValue(), "Alena");
    assert.equal(await page.getByTestId("desk-chat-new-lastName").inputValue(), "Malá");
    assert.equal(await page.getByTestId("desk-chat-new-email").inputValue(), "alena.mala");

    // Corrected and saved: the client is created (POST /api/clients) and assigned to the chat's
    // contact record (PUT …/client); the chat shows whose it is now, the focus there.
    await page.getByTestId("desk-chat-new-email").fill(email);
    const posted = page.waitForRequest((request) => request.method() === "POST" && new URL(request.url()).pathname === "/api/clients");
    const assigned = page.waitForRequest((request) => request.method() === "PUT" && new URL(request.url()).pathname === `/api/contacts/${encodeURIComponent(contactId)}/client`);
    await page.keyboard.press("Enter");
    assert.deepEqual((await posted).postDataJSON(), { fields: { firstName: "Alena", lastName: "Malá", email } });
    const clientId = (await assigned).postDataJSON().clientId;
    await page.getByTestId("desk-chat-client").filter({ hasText: "Přiřazený klient: Alena Malá" }).waitFor();
    await form.waitFor({ state: "detached" });
    await page.getByTestId(`desk-chat-assigned-${clientId}`).waitFor();
    assert.equal(await page.getByTestId("desk-chat-record-saved").textContent(), "Klient Alena Malá byl založen a přiřazen ke kontaktu.");
    assert.equal(await focused(), "desk-chat-client");
    assert.equal(await page.getByTestId("problem").count(), 0);

    // The mock has the client (found by the customer's e-mail) and the contact record is hers.
    const found = (await pageApi(page, "GET", `/api/clients?email=${encodeURIComponent(email)}`)).body.clients;
    assert.deepEqual(found.map((client) => [client.clientId, client.fields.firstName, client.fields.lastName]), [[clientId, "Alena", "Malá"]]);
    const record = (await pageApi(page, "GET", `/api/contacts/${encodeURIComponent(contactId)}`)).body;
    assert.deepEqual([record.clientId, record.clientName], [clientId, "Alena Malá"]);
    assert.deepEqual(await axeViolations(page), []);

    await page.getByTestId("desk-chat-end").click();
    await page.getByTestId("desk-chat").waitFor({ state: "detached" });
    assert.deepEqual(errors, []);
  });

  test("an agent takes calls on the mobile: switches there, a call rings and is answered on the mobile, controlled from the desk, and switches back (DESK-2)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    if (!(await openDesk(page, "agent01", t))) return;
    const phone = page.getByTestId("desk-phone");
    const current = page.getByTestId("desk-phone-current");
    const toSwitch = page.getByTestId("desk-phone-switch");
    const settled = (using) => page.locator(`[data-testid="desk-phone"][data-using="${using}"]:not([data-pending])`).waitFor();
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? null);
    if ((await phone.getAttribute("data-using")) === "mobile") {
      // (a mock server reused from an earlier run)
      await toSwitch.click();
      await settled("desk");
    }

    // Telefon in Můj stav: the desk phone in use, the switch to the mobile offered, labelled.
    assert.equal(await current.textContent(), "Pevná linka 2001");
    assert.equal(await page.locator("#desk-phone-label").textContent(), "Telefon:");
    assert.equal(await phone.getAttribute("role"), "group");
    assert.equal(await toSwitch.textContent(), "Přepnout na mobil +420 601 000 001");
    assert.deepEqual(await axeViolations(page), []);

    // Switched from the keyboard: PUT /api/desk/phone, then the desk (re-read after the push) shows the mobile.
    const put = page.waitForRequest((request) => request.method() === "PUT" && new URL(request.url()).pathname === "/api/desk/phone");
    await toSwitch.focus();
    await page.keyboard.press("Enter");
    assert.deepEqual((await put).postDataJSON(), { phone: "mobile" });
    await settled("mobile");
    assert.equal(await current.textContent(), "Mobil +420 601 000 001");
    assert.equal(await toSwitch.textContent(), "Přepnout na pevnou linku 2001");
    await page.getByTestId("desk-message").filter({ hasText: "Hovory nyní přijímáte na mobilu +420 601 000 001." }).waitFor();
    assert.equal(await focused(), "desk-phone-switch");
    const read = await pageApi(page, "GET", "/api/desk");
    assert.deepEqual([read.body.phone.using, read.body.device, read.body.phone.mobile], ["mobile", "2901", { device: "2901", number: "+420601000001" }]);

    // A call rings at the mobile: the desk says where to answer it, instead of Přijmout.
    const offer = await pageApi(page, "POST", "/api/mock/desk/offer", { username: "agent01", number: "+420602111222" });
    assert.equal(offer.status, 201);
    const ringing = page.locator('[data-testid="desk-call"][data-state="ringing"]');
    await ringing.waitFor();
    const onMobile = ringing.getByTestId("desk-call-on-mobile");
    assert.equal(await onMobile.textContent(), "Přijměte hovor na mobilu");
    assert.equal(await onMobile.getAttribute("aria-live"), "polite");
    assert.equal(await ringing.getByTestId("desk-call-answer").count(), 0);
    await ringing.getByTestId("desk-call-hangup").waitFor();
    await page.getByTestId("desk-message").filter({ hasText: "Příchozí hovor z čísla +420 602 111 222. Přijměte hovor na mobilu." }).waitFor();
    // No switching during a call (explained), and the API refuses both the switch and an answer from the desk.
    assert.equal(await toSwitch.isDisabled(), true);
    assert.equal(await page.locator(`#${await toSwitch.getAttribute("aria-describedby")}`).textContent(), "Během hovoru telefon přepnout nelze.");
    const busy = await pageApi(page, "PUT", "/api/desk/phone", { phone: "desk" });
    assert.deepEqual([busy.status, busy.body.code], [409, "phone-busy"]);
    const [relayId, callId] = offer.body.callKey.split("/");
    const answer = await pageApi(page, "POST", `/api/desk/calls/${relayId}/${callId}/answer`, {});
    assert.deepEqual([answer.status, answer.body.code], [409, "answer-on-mobile"]);
    assert.deepEqual(await axeViolations(page), []);

    // The agent answers on the mobile; the desk shows the call connected and controls it.
    assert.equal((await pageApi(page, "POST", "/api/mock/desk/mobile-answer", { username: "agent01" })).status, 202);
    const connected = page.locator('[data-testid="desk-call"][data-state="connected"]');
    await connected.waitFor();
    assert.equal(await connected.getByTestId("desk-call-on-mobile").count(), 0);
    await connected.getByTestId("desk-call-hold").click();
    await page.locator('[data-testid="desk-call"][data-state="held"]').waitFor();
    await page.getByTestId("desk-call-retrieve").click();
    await connected.waitFor();
    await connected.getByTestId("desk-call-hangup").click();
    await page.getByTestId("desk-no-call").waitFor();
    assert.equal(await toSwitch.isDisabled(), false);

    // A refusal (a call came meanwhile) is said in Czech in the problem box.
    await page.route("**/api/desk/phone", (route) =>
      route.fulfill({ status: 409, contentType: "application/problem+json", body: JSON.stringify({ status: 409, code: "phone-busy", detail: "finish the calls at your phone first" }) }),
    );
    await toSwitch.click();
    const refused = page.locator('[data-testid="problem"][data-code="phone-busy"]');
    await refused.waitFor();
    assert.equal(await refused.textContent(), "Na telefonu, který používáte, je ještě hovor. Nejprve hovor dokončete, potom telefon přepněte.");
    assert.equal(await phone.getAttribute("data-using"), "mobile");
    await page.unroute("**/api/desk/phone");

    // Back to the desk phone; while the PBX switches (the reads held up here) the desk says so.
    await page.route(/\/api\/desk$/, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 700));
      await route.continue();
    });
    await toSwitch.click();
    await page.locator('[data-testid="desk-phone"][data-pending="desk"]').waitFor();
    assert.equal(await page.getByTestId("desk-phone-pending").textContent(), "přepíná se na pevnou linku…");
    assert.equal(await toSwitch.getAttribute("aria-disabled"), "true");
    await settled("desk");
    await page.unrouteAll({ behavior: "wait" });
    assert.equal(await current.textContent(), "Pevná linka 2001");
    await page.getByTestId("desk-message").filter({ hasText: "Hovory nyní přijímáte na pevné lince 2001." }).waitFor();
    assert.equal(await page.getByTestId("problem").count(), 0);

    // English.
    await page.getByTestId("lang-switch").click();
    await page.getByRole("heading", { level: 1, name: "Desk" }).waitFor();
    assert.equal(await current.textContent(), "Desk phone 2001");
    assert.equal(await toSwitch.textContent(), "Switch to the mobile +420 601 000 001");
    await page.getByTestId("lang-switch").click();
    await page.getByRole("heading", { level: 1, name: "Pracoviště" }).waitFor();
    assert.deepEqual(errors, []);
  });

  test("without a mobile the desk shows only the desk phone, with no switch (DESK-2)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    if (!(await openDesk(page, "supervisor", t))) return;
    const read = await pageApi(page, "GET", "/api/desk");
    assert.equal(read.body.phone.mobile, null);
    assert.equal(await page.getByTestId("desk-phone-current").textContent(), `Pevná linka ${read.body.phone.desk}`);
    assert.equal(await page.getByTestId("desk-phone-switch").count(), 0);
    assert.deepEqual(errors, []);
  });

  test("a wallboard has no desk", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page } = await open();
    await login(page, "wallboard");
    assert.ok(!(await navLabels(page)).includes("Pracoviště"));
    await page.goto(`${BASE_URL}/#/desk`);
    await page.getByTestId("page-forbidden").waitFor();
  });
});

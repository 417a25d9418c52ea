// Chaty at Pracoviště (issue 7) in Chromium. On the mock server (hooks in mock-desk.mjs) the
// customer's side is a mock hook; on the real stack the customer's side is the chatbot through
// the conversation API (`/api/chat/conversations…`, client credentials), the bot
// scenario: the bot relays two customer messages and its own, hands off; an agent takes the chat
// and answers at the desk; the bot reads the answer; the agent transfers the chat to a colleague,
// whose desk has it; the transcript is complete and in order. On the mock, also the text
// channels (OMNI-1…3): SMS, e-mail (with an attachment) and Messenger chats with their badges,
// the SMS counter, and an SMS and an e-mail sent from the client card and the Chaty panel.
// No fixed sleeps.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { BASE_URL, login, pageApi, useBrowser } from "./helpers.mjs";

const TEST_TIMEOUT_MS = 180_000;
const SHARED_NUMBER = "+420601555777"; // Jan Dvořák (with an e-mail) and Marie Dvořáková (mock seed)
const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** axe-core on the page: the serious and critical violations, as readable lines. */
async function axeViolations(page) {
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

const focused = (page) => page.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? null);

async function openDesk(page) {
  await page.getByTestId("main-nav").getByRole("link", { name: "Pracoviště" }).click();
  await page.getByTestId("desk-chats").waitFor();
  await page.locator('[data-testid="live-state"][data-state="open"]').waitFor();
}

/** The chatbot's side on the real stack: its token and JSON calls of the conversation API. */
async function chatbot() {
  const response = await fetch(`${BASE_URL}/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials&client_id=chatbot&client_secret=chatbot-secret",
  });
  assert.equal(response.status, 200, "chatbot token");
  const token = (await response.json()).access_token;
  return async (method, path, body) => {
    const answer = await fetch(`${BASE_URL}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await answer.text();
    return { status: answer.status, body: text ? JSON.parse(text) : null };
  };
}

/** An access token of a demo person (password grant; password = user name). */
async function tokenOf(username) {
  const response = await fetch(`${BASE_URL}/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: `grant_type=password&username=${username}&password=${username}`,
  });
  assert.equal(response.status, 200, `token of ${username}`);
  return (await response.json()).access_token;
}

/** The stack tests' own chat queue, open all week, worked by agent06, agent07 and agent08: the
 * API fuzzer that runs before the browser tests changes the demo queues and agent01's chats. */
const CHAT_QUEUE = "chat-e2e";
async function ensureChatQueue() {
  const token = await tokenOf("admin");
  const call = (method, path, body) =>
    fetch(`${BASE_URL}${path}`, { method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const day = [{ start: "00:00", end: "00:00" }];
  const queue = {
    queueId: CHAT_QUEUE, name: "Chat (testy)", priority: 5,
    schedule: { timezone: "Europe/Prague", weekly: { monday: day, tuesday: day, wednesday: day, thursday: day, friday: day, saturday: day, sunday: day }, exceptions: [], closedOnPublicHolidays: false },
  };
  let answer = await call("PUT", `/api/admin/queues/${CHAT_QUEUE}`, queue);
  if (answer.status === 404) answer = await call("POST", "/api/admin/queues", queue);
  assert.ok(answer.status === 200 || answer.status === 201, `queue ${answer.status} ${await answer.text()}`);
  for (const username of ["agent06", "agent07", "agent08"]) {
    const member = await call("PUT", `/api/admin/queues/${CHAT_QUEUE}/members/${username}`, { skillLevel: 5, priority: 5 });
    assert.ok(member.status < 300, `member ${username}: ${member.status}`);
  }
}

describe(`Linka chats at the desk at ${BASE_URL}`, () => {
  const open = useBrowser();

  test("an agent takes a waiting chat, answers, gets the customer's reply live and transfers the chat (mock)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const first = await open();
    await login(first.page, "agent01");
    if ((await pageApi(first.page, "GET", "/api/mock/desk")).status !== 200) {
      t.skip("on the stack the bot scenario below covers chats");
      return;
    }
    await openDesk(first.page);
    const second = await open();
    await login(second.page, "agent02");
    await openDesk(second.page);

    // A customer starts a chat: it appears at both desks at once (push), waiting.
    const created = await pageApi(first.page, "POST", "/api/mock/desk/chat", { customer: { name: "Jan Dvořák", email: "jan.dvorak@example.cz" }, text: "Dobrý den, ztratil jsem průkaz." });
    const id = created.body.conversationId;
    await first.page.getByTestId(`desk-chat-accept-${id}`).waitFor();
    await second.page.getByTestId(`desk-chat-accept-${id}`).waitFor();
    assert.match(await first.page.getByTestId("desk-chats-waiting").textContent(), /Jan Dvořák/);

    // agent01 takes it: the transcript opens; agent02's list no longer offers it.
    await first.page.getByTestId(`desk-chat-accept-${id}`).click();
    const transcript = first.page.getByTestId("desk-chat-transcript");
    await transcript.locator('li[data-from="customer"]').filter({ hasText: "ztratil jsem průkaz" }).waitFor();
    await second.page.getByTestId(`desk-chat-accept-${id}`).waitFor({ state: "detached" });
    // CHAT-4/5: the client with the customer's e-mail, with the ICIS link.
    const clients = first.page.getByTestId("desk-chat-clients");
    await clients.waitFor();
    assert.match(await clients.textContent(), /Jan Dvořák/);

    // The answer, sent with Enter; the customer's reply arrives by push.
    await first.page.getByTestId("desk-chat-input").fill("Pošleme vám nový poštou.");
    await first.page.getByTestId("desk-chat-input").press("Enter");
    await transcript.locator('li[data-from="agent"]').filter({ hasText: "Pošleme vám nový poštou." }).waitFor();
    await pageApi(first.page, "POST", "/api/mock/desk/chat-message", { conversationId: id, text: "Děkuji!" });
    await transcript.locator('li[data-from="customer"]').filter({ hasText: "Děkuji!" }).waitFor();
    const seqs = await transcript.locator("li").evaluateAll((items) => items.map((item) => Number(item.dataset.seq)));
    assert.deepEqual(seqs, seqs.map((_, index) => index + 1));

    // Předat to agent02: theirs now.
    await first.page.getByTestId("desk-chat-transfer-user").fill("agent02");
    await first.page.getByTestId("desk-chat-transfer").click();
    await first.page.getByTestId("desk-chat").waitFor({ state: "detached" });
    await second.page.getByTestId(`desk-chat-open-${id}`).click();
    await second.page.getByTestId("desk-chat-transcript").locator('li[data-from="customer"]').filter({ hasText: "Děkuji!" }).waitFor();
    assert.deepEqual(first.errors, []);
    assert.deepEqual(second.errors, []);
  });

  test("SMS, e-mail and Messenger chats: badges, subject, attachment, SMS counter; an SMS and an e-mail from the client card and the panel (mock)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    await login(page, "agent05");
    if ((await pageApi(page, "GET", "/api/mock/desk")).status !== 200) {
      t.skip("the mock's hooks bring the customers' messages");
      return;
    }
    await openDesk(page);

    // Customers write: an SMS, an e-mail with an attachment, a Messenger message and a web chat.
    const hook = async (body) => {
      const answer = await pageApi(page, "POST", "/api/mock/desk/chat", body);
      assert.equal(answer.status, 201);
      return answer.body.conversationId;
    };
    const smsId = await hook({ channel: "sms", customer: { phone: "+420603123456" }, text: "Dobrý den, potřebuji potvrzení o pojištění." });
    const mailId = await hook({
      channel: "email",
      customer: { name: "Eva Malá", email: "eva.mala@example.cz" },
      subject: "Potvrzení o bezdlužnosti",
      text: "Dobrý den,\nv příloze posílám žádost.",
      attachments: [{ name: "zadost.pdf", contentType: "application/pdf", size: 12_500 }],
    });
    const socialId = await hook({ channel: "social", customer: {}, text: "Dobrý den, máte otevřeno?" });
    const webId = await hook({ customer: { name: "Petr Kos" }, text: "Dobrý den." });

    const waiting = page.getByTestId("desk-chats-waiting");
    const row = (id) => waiting.locator(`li[data-id="${id}"]`);
    await row(webId).waitFor();
    const badge = (id) => row(id).getByTestId("desk-chat-channel").textContent();
    assert.equal(await badge(smsId), "Kanál: SMS");
    assert.equal(await badge(mailId), "Kanál: E-mail");
    assert.equal(await badge(socialId), "Kanál: Messenger");
    assert.equal(await badge(webId), "Kanál: Chat");
    assert.match(await row(smsId).textContent(), /\+420 603 123 456/);
    assert.match(await row(mailId).textContent(), /Eva Malá eva\.mala@example\.cz Předmět: Potvrzení o bezdlužnosti/);
    assert.match(await row(socialId).textContent(), /Uživatel Messengeru/);
    assert.deepEqual(await axeViolations(page), []);

    // The e-mail: its header names the channel and the subject; the attachment with its size;
    // Stáhnout asks for the link and opens it (and offers it as a link).
    await page.getByTestId(`desk-chat-accept-${mailId}`).click();
    const header = page.getByTestId("desk-chat-header");
    await header.filter({ hasText: "Eva Malá" }).waitFor();
    assert.equal(await header.getByTestId("desk-chat-channel").getAttribute("data-channel"), "email");
    assert.equal(await header.getByTestId("desk-chat-subject").textContent(), "Předmět: Potvrzení o bezdlužnosti");
    const attachment = page.getByTestId("desk-chat-transcript").getByTestId("desk-chat-attachment");
    assert.match(await attachment.textContent(), /^zadost\.pdf \(12,5\s?kB\) Stáhnout$/);
    const linkAnswer = page.waitForResponse((response) => new URL(response.url()).pathname === `/api/desk/chats/${mailId}/messages/1/attachments/1`);
    const download = page.context().waitForEvent("request", (request) => request.url().includes("/mock-attachments/"));
    await attachment.getByRole("button", { name: "Stáhnout přílohu zadost.pdf" }).click();
    const link = await (await linkAnswer).json();
    assert.deepEqual([link.name, link.contentType, link.size], ["zadost.pdf", "application/pdf", 12500]);
    assert.equal((await download).url(), link.url);
    assert.equal(await page.getByTestId("desk-chat-attachment-link-1-1").getAttribute("href"), link.url);

    // The SMS: the reply box counts characters and parts and refuses more than 1600 characters.
    await page.getByTestId(`desk-chat-accept-${smsId}`).click();
    await header.filter({ hasText: "+420 603 123 456" }).waitFor();
    assert.equal(await header.getByTestId("desk-chat-channel").getAttribute("data-channel"), "sms");
    const input = page.getByTestId("desk-chat-input");
    const counter = page.getByTestId("desk-chat-sms-counter");
    await input.fill("Dobrý den, potvrzení vám pošleme.");
    assert.match(await counter.textContent(), /^33 \/ 1\s600 znaků · 1 SMS \(s diakritikou jen 70 znaků na SMS\)$/);
    await input.fill("a".repeat(161));
    assert.match(await counter.textContent(), /^161 \/ 1\s600 znaků · 2 SMS \(153 znaků na SMS\)$/);
    let replies = 0;
    page.on("request", (request) => {
      if (request.method() === "POST" && new URL(request.url()).pathname === `/api/desk/chats/${smsId}/messages`) replies += 1;
    });
    await input.fill("b".repeat(1601));
    assert.equal(await counter.getAttribute("data-parts"), "11");
    assert.match(await page.getByTestId("desk-chat-sms-counter-too-long").textContent(), /nejvýše 1\s600 znaků, tato má 1\s601/);
    await input.press("Enter");
    await page.getByTestId("desk-chat-invalid").waitFor();
    assert.equal(replies, 0);
    assert.equal(await focused(page), "desk-chat-input");
    await input.fill("Potvrzení vám pošleme e-mailem.");
    await input.press("Enter");
    await page.getByTestId("desk-chat-transcript").locator('li[data-from="agent"]').filter({ hasText: "Potvrzení vám pošleme e-mailem." }).waitFor();
    assert.equal(replies, 1);

    // The client card: Poslat SMS opens a form with the client's number; a bad number is refused at
    // the field; the SMS goes out with a fresh clientMessageId and opens a conversation in Chaty.
    const offer = await pageApi(page, "POST", "/api/mock/desk/offer", { username: "agent05", number: SHARED_NUMBER });
    assert.equal(offer.status, 201);
    await page.getByRole("button", { name: "Vybrat klienta Jan Dvořák" }).click();
    await page.getByTestId("desk-card-name").filter({ hasText: "Jan Dvořák" }).waitFor();
    await page.getByTestId("desk-card-send-sms").click();
    const form = page.getByTestId("desk-card-compose");
    await form.waitFor();
    assert.equal(await page.getByTestId("desk-card-send-sms").getAttribute("aria-expanded"), "true");
    assert.equal(await page.getByLabel("Telefonní číslo").inputValue(), "+420 601 555 777");
    assert.equal(await focused(page), "desk-card-compose-text");
    await page.getByLabel("Telefonní číslo").fill("12345");
    await page.getByLabel("Text zprávy").fill("Dobrý den, vaše karta je na cestě.");
    assert.match(await page.getByTestId("desk-card-compose-counter").textContent(), /^34 \/ 1\s600 znaků · 1 SMS/);
    await page.getByTestId("desk-card-compose-send").click();
    const toError = form.locator('[data-testid="field-error"][data-field="to"]');
    await toError.waitFor();
    assert.equal(await toError.textContent(), "Zadejte české telefonní číslo, např. 601 123 456 nebo +420 601 123 456.");
    assert.equal(await page.getByLabel("Telefonní číslo").getAttribute("aria-invalid"), "true");
    assert.equal(await focused(page), "desk-card-compose-to");
    assert.equal(await page.getByLabel("Text zprávy").inputValue(), "Dobrý den, vaše karta je na cestě.");
    assert.deepEqual(await axeViolations(page), []);
    await page.getByLabel("Telefonní číslo").fill("601 555 777");
    const sent = page.waitForRequest((request) => request.method() === "POST" && new URL(request.url()).pathname === "/api/desk/chats/sms");
    await page.getByLabel("Telefonní číslo").press("Enter");
    const body = (await sent).postDataJSON();
    assert.deepEqual([body.to, body.text, body.name], ["601 555 777", "Dobrý den, vaše karta je na cestě.", "Jan Dvořák"]);
    assert.match(body.clientMessageId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await page.getByTestId("desk-message").filter({ hasText: "SMS odeslána na číslo +420 601 555 777." }).waitFor();
    await form.waitFor({ state: "detached" });
    assert.equal(await focused(page), "desk-card-send-sms");
    const held = page.getByTestId("desk-chats-held");
    const opened = held.locator('li[data-channel="sms"]').filter({ hasText: "Jan Dvořák" });
    await opened.waitFor();
    assert.match(await opened.textContent(), /Kanál: SMS\s*Jan Dvořák \+420 601 555 777/);

    // Poslat e-mail: the subject is required (checked before sending); then it goes out.
    await page.getByTestId("desk-card-send-email").click();
    await form.waitFor();
    assert.equal(await page.getByLabel("E-mailová adresa").inputValue(), "jan.dvorak@example.cz");
    assert.equal(await focused(page), "desk-card-compose-subject");
    await page.getByLabel("Text zprávy").fill("Dobrý den,\nzměnu adresy jsme provedli.");
    await page.getByTestId("desk-card-compose-send").click();
    await form.locator('[data-testid="field-error"][data-field="subject"]').filter({ hasText: "Vyplňte tento údaj." }).waitFor();
    await page.getByLabel("Předmět").fill("Změna adresy provedena");
    await page.getByTestId("desk-card-compose-send").click();
    await page.getByTestId("desk-message").filter({ hasText: "E-mail odeslán na adresu jan.dvorak@example.cz." }).waitFor();
    await held.locator('li[data-channel="email"]').filter({ hasText: "Předmět: Změna adresy provedena" }).waitFor();

    // Nová SMS from the panel, to any number; Escape closes a form and gives the focus back.
    await page.getByTestId("desk-chats-new-email").click();
    await page.getByTestId("desk-chats-compose").waitFor();
    assert.equal(await focused(page), "desk-chats-compose-to");
    await page.keyboard.press("Escape");
    await page.getByTestId("desk-chats-compose").waitFor({ state: "detached" });
    assert.equal(await focused(page), "desk-chats-new-email");
    await page.getByTestId("desk-chats-new-sms").click();
    const panelForm = page.getByTestId("desk-chats-compose");
    await panelForm.getByLabel("Telefonní číslo").fill("+420 777 123 456");
    await panelForm.getByLabel("Text zprávy").fill("Připomínáme termín schůzky.");
    await panelForm.getByRole("button", { name: "Odeslat SMS" }).click();
    await page.getByTestId("desk-message").filter({ hasText: "SMS odeslána na číslo +420 777 123 456." }).waitFor();
    await held.locator('li[data-channel="sms"]').filter({ hasText: "+420 777 123 456" }).waitFor();

    // What went out to the customers.
    const outbox = (await pageApi(page, "GET", "/api/mock/desk/outbox")).body.items;
    const sentTo = (to) => outbox.filter((item) => item.to === to).map((item) => [item.channel, item.subject ?? null, item.text]);
    assert.deepEqual(sentTo("+420603123456"), [["sms", null, "Potvrzení vám pošleme e-mailem."]]);
    assert.deepEqual(sentTo("+420601555777"), [["sms", null, "Dobrý den, vaše karta je na cestě."]]);
    assert.deepEqual(sentTo("jan.dvorak@example.cz"), [["email", "Změna adresy provedena", "Dobrý den,\nzměnu adresy jsme provedli."]]);
    assert.deepEqual(sentTo("+420777123456"), [["sms", null, "Připomínáme termín schůzky."]]);
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(errors, []);
  });

  test("the bot hands a conversation to an agent, who answers at the desk; the bot reads the answer; the chat moves to a colleague (stack)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const agent = await open();
    await login(agent.page, "agent06");
    if ((await pageApi(agent.page, "GET", "/api/mock/desk")).status === 200) {
      t.skip("the mock has no conversation API; the test above covers the desk");
      return;
    }
    await ensureChatQueue();
    await openDesk(agent.page);
    const colleague = await open();
    await login(colleague.page, "agent07");
    await openDesk(colleague.page);

    const bot = await chatbot();
    const started = await bot("POST", "/api/chat/conversations", { clientToken: `e2e-${Date.now().toString(36)}`, customer: { name: "Tomáš Dvořák" } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.conversationId;
    const messages = `/api/chat/conversations/${id}/messages`;
    for (const [n, text, from] of [[1, "Dobrý den.", "customer"], [2, "Potřebuji kartu EHIC.", "customer"], [3, "Předávám vás operátorovi.", "bot"]]) {
      assert.equal((await bot("POST", messages, { text, clientMessageId: `e2e-${n}`, from })).status, 201);
    }
    assert.equal((await bot("POST", `/api/chat/conversations/${id}/handoff`, { queueId: CHAT_QUEUE })).status, 202);

    // The agent of the queue sees it waiting (push), takes it and answers.
    await agent.page.getByTestId(`desk-chat-accept-${id}`).click();
    const transcript = agent.page.getByTestId("desk-chat-transcript");
    await transcript.locator('li[data-from="bot"]').filter({ hasText: "Předávám vás operátorovi." }).waitFor();
    await agent.page.getByTestId("desk-chat-input").fill("Dobrý den, kartu vám pošleme.");
    await agent.page.getByTestId("desk-chat-send").click();
    await transcript.locator('li[data-from="agent"]').filter({ hasText: "kartu vám pošleme" }).waitFor();

    // The bot reads the answer in the transcript.
    const read = await bot("GET", messages);
    assert.equal(read.status, 200);
    assert.deepEqual(
      read.body.messages.map((m) => [m.from, m.text]),
      [["customer", "Dobrý den."], ["customer", "Potřebuji kartu EHIC."], ["bot", "Předávám vás operátorovi."], ["system", "Předáváme vás operátorovi."], ["agent", "Dobrý den, kartu vám pošleme."]],
    );

    // Předat agent07: the chat is on their desk with the whole transcript.
    await agent.page.getByTestId("desk-chat-transfer-user").fill("agent07");
    await agent.page.getByTestId("desk-chat-transfer").click();
    await agent.page.getByTestId("desk-chat").waitFor({ state: "detached" });
    await colleague.page.getByTestId(`desk-chat-open-${id}`).click();
    const theirs = colleague.page.getByTestId("desk-chat-transcript");
    await theirs.locator('li[data-from="agent"]').filter({ hasText: "kartu vám pošleme" }).waitFor();
    const seqs = await theirs.locator("li").evaluateAll((items) => items.map((item) => Number(item.dataset.seq)));
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6]);
    assert.equal((await bot("POST", messages, { text: "Děkuji.", clientMessageId: "e2e-4" })).status, 201);
    await theirs.locator('li[data-from="customer"]').filter({ hasText: "Děkuji." }).waitFor();
    await colleague.page.getByTestId("desk-chat-end").click();
    await colleague.page.getByTestId("desk-chat").waitFor({ state: "detached" });
  });

  test("a visitor chats through the widget on the insurer's page; an agent answers at the desk (stack)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const agent = await open();
    await login(agent.page, "agent08");
    if ((await pageApi(agent.page, "GET", "/api/mock/desk")).status === 200) {
      t.skip("the mock has no conversation API");
      return;
    }
    await ensureChatQueue();
    await openDesk(agent.page);
    const visitor = await open();
    // The insurer's page, as a site embeds the widget: one script tag, here with the test queue.
    await visitor.page.route(`${BASE_URL}/e2e-insurer.html`, (route) =>
      route.fulfill({
        contentType: "text/html; charset=utf-8",
        body: `<!doctype html><html lang="cs"><head><meta charset="utf-8"><title>Pojišťovna</title></head><body><h1>Pojišťovna</h1><script type="module" src="/linka-widget.js" data-linka-queue="${CHAT_QUEUE}"></script></body></html>`,
      }),
    );
    await visitor.page.goto(`${BASE_URL}/e2e-insurer.html`);
    await visitor.page.getByTestId("linka-widget-toggle").click();
    await visitor.page.getByLabel("Jméno (nepovinné)").fill("Eva Malá");
    await visitor.page.getByTestId("linka-widget-message").fill("Dobrý den, jak změním adresu?");
    await visitor.page.getByTestId("linka-widget-start").click();
    const widget = visitor.page.getByTestId("linka-widget");
    // (Should the queue be closed, the visitor leaves the message; the agents see it either way.)
    await visitor.page.locator('[data-testid="linka-widget"][data-phase="waiting"], [data-testid="linka-widget"][data-phase="closed"]').waitFor();
    if ((await widget.getAttribute("data-phase")) === "closed") {
      assert.match(await visitor.page.getByTestId("linka-widget-closed").textContent(), /mimo provozní dobu/);
      await visitor.page.getByTestId("linka-widget-leave").click();
      await visitor.page.locator('[data-testid="linka-widget"][data-phase="left"]').waitFor();
    }

    // agent08 works the queue: the chat waits at the desk; taken and answered.
    const waiting = agent.page.getByTestId("desk-chats-waiting").locator("li", { hasText: "Eva Malá" }).first();
    await waiting.waitFor();
    await waiting.getByRole("button", { name: "Přijmout" }).click();
    await agent.page.getByTestId("desk-chat-transcript").locator('li[data-from="customer"]').filter({ hasText: "jak změním adresu" }).waitFor();
    await agent.page.getByTestId("desk-chat-input").fill("Adresu změníte v klientské zóně.");
    await agent.page.getByTestId("desk-chat-send").click();

    // The visitor sees the answer (the widget polls) and replies.
    await visitor.page.getByTestId("linka-widget-transcript").locator('li[data-from="agent"]').filter({ hasText: "klientské zóně" }).waitFor();
    await visitor.page.getByTestId("linka-widget-input").fill("Děkuji!");
    await visitor.page.getByTestId("linka-widget-send").click();
    await agent.page.getByTestId("desk-chat-transcript").locator('li[data-from="customer"]').filter({ hasText: "Děkuji!" }).waitFor();
    await agent.page.getByTestId("desk-chat-end").click();
    await visitor.page.locator('[data-testid="linka-widget"][data-phase="ended"]').waitFor();
    assert.deepEqual(visitor.errors, []);
  });
});

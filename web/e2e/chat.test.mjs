// Chaty at Pracoviště (issue 7) in Chromium. On the mock server (hooks in mock-desk.mjs) the
// customer's side is a mock hook; on the real stack the customer's side is the chatbot through
// the conversation API (`/api/chat/conversations…`, client credentials), the bot
// scenario: the bot relays two customer messages and its own, hands off; an agent takes the chat
// and answers at the desk; the bot reads the answer; the agent transfers the chat to a colleague,
// whose desk has it; the transcript is complete and in order. On the mock, also the text
// channels (OMNI-1…3): SMS, e-mail (with an attachment) and Messenger chats with their badges,
// the SMS counter, and an SMS and an e-mail sent from the client card and the Chaty panel; a
// chat's contact record (note, category, client assigned) and its channel in the histories;
// Předat to a queue and to a colleague chosen with their live presence (a colleague at the chat
// limit refused), Přizvat vedoucího; a chat Linka assigns automatically (the mock hook
// chat-assign standing in for the distribution) marked, announced and opened. The widget's
// "Operátor píše…" on the agent's typing push runs everywhere against a routed conversation API
// and socket (the mock has neither).
// On both: the admin prepares an e-mail template (an unknown placeholder refused), an agent starts
// an e-mail from it. On the real stack also a customer's SMS, injected as End User Messaging
// publishes it (scripts/channels.py), taken and answered at the desk, the answer read back from
// the emulator's outbox (/_local/outbox). No fixed sleeps.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BASE_URL, login, pageApi, useBrowser, axeViolations } from "./helpers.mjs";

const TEST_TIMEOUT_MS = 180_000;
const RUN = Date.now().toString(36);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SHARED_NUMBER = "+420601555777"; // Jan Dvořák (with an e-mail) and Marie Dvořáková (mock seed)


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

/** The stack's inbound SMS land in its default chat queue; the API fuzzer may remove its members. */
const SMS_QUEUE = "kkc-obecne";
/** An agent no other stack scenario uses (their chats and queues stay theirs). */
const SMS_AGENT = "agent09";

/** An admin's JSON call on the stack: `{status, body}`. */
async function adminCall(method, path, body) {
  const token = await tokenOf("admin");
  const answer = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await answer.text();
  return { status: answer.status, body: text ? JSON.parse(text) : null };
}

/** Makes `username` a member of the SMS queue (re-creating the queue, open all week, if it is gone). */
async function ensureSmsMember(username) {
  const member = `/api/admin/queues/${SMS_QUEUE}/members/${username}`;
  let answer = await adminCall("PUT", member, { skillLevel: 5, priority: 5 });
  if (answer.status === 404) {
    const day = [{ start: "00:00", end: "00:00" }];
    const weekly = Object.fromEntries(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"].map((name) => [name, day]));
    const queue = { queueId: SMS_QUEUE, name: "Klientská linka", priority: 5, schedule: { timezone: "Europe/Prague", weekly, exceptions: [], closedOnPublicHolidays: false } };
    const created = await adminCall("POST", "/api/admin/queues", queue);
    assert.ok(created.status === 201 || created.status === 409, `queue ${SMS_QUEUE}: ${created.status} ${JSON.stringify(created.body)}`);
    answer = await adminCall("PUT", member, { skillLevel: 5, priority: 5 });
  }
  assert.equal(answer.status, 200, `member ${username} of ${SMS_QUEUE}: ${JSON.stringify(answer.body)}`);
}

/** Ends the chats `username` still holds (from an earlier run that failed halfway): the limit stays free. */
async function endHeldChats(username) {
  const token = await tokenOf(username);
  const call = async (method, path) => {
    const answer = await fetch(`${BASE_URL}${path}`, { method, headers: { Authorization: `Bearer ${token}` } });
    const text = await answer.text();
    return { status: answer.status, body: text ? JSON.parse(text) : null };
  };
  const chats = await call("GET", "/api/desk/chats");
  assert.equal(chats.status, 200, `chats of ${username}: ${JSON.stringify(chats.body)}`);
  for (const chat of chats.body.held ?? []) await call("POST", `/api/desk/chats/${encodeURIComponent(chat.conversationId)}/end`);
}

/** A customer's SMS as End User Messaging publishes it to InboundSmsTopic (scripts/channels.py). */
async function injectSms(from, text) {
  const python = resolve(ROOT, ".venv", "bin", "python");
  const script = resolve(ROOT, "scripts", "channels.py");
  const env = { ...process.env, LINKA_AWS_ENDPOINT: process.env.LINKA_AWS_ENDPOINT ?? "http://127.0.0.1:4566" };
  try {
    await promisify(execFile)(python, [script, "sms", "--from", from, "--text", text], { env, timeout: 60_000 });
  } catch (error) {
    throw new Error(`channels.py sms failed: ${error.stderr || error.message}`, { cause: error });
  }
}

/** Polls `read` until it returns something (not undefined/null/false), or fails after `ms`. */
async function eventually(what, read, ms = 45_000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await read();
    if (last) return last;
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

/** d. m. yyyy of today in Prague (a template's {{datum}}). */
function pragueDay() {
  const [y, m, d] = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Prague" }).format(new Date()).split("-").map(Number);
  return `${d}. ${m}. ${y}`;
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

    // Předat to agent02 (chosen from the colleagues): theirs now.
    await first.page.getByTestId("desk-chat-transfer-user").selectOption("agent02");
    await first.page.getByTestId("desk-chat-transfer").click();
    await first.page.getByTestId("desk-chat").waitFor({ state: "detached" });
    await second.page.getByTestId(`desk-chat-open-${id}`).click();
    await second.page.getByTestId("desk-chat-transcript").locator('li[data-from="customer"]').filter({ hasText: "Děkuji!" }).waitFor();
    assert.deepEqual(first.errors, []);
    assert.deepEqual(second.errors, []);
  });

  test("when Linka assigns a chat to the agent automatically, should mark it new, announce it and open it when no chat is open (mock)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    await login(page, "agent03");
    if ((await pageApi(page, "GET", "/api/mock/desk")).status !== 200) {
      t.skip("the mock's hook stands in for the stack's automatic distribution (its own tests: shared/src/chat/distribution.rs)");
      return;
    }
    await openDesk(page);
    const customerChat = async (name, text) => {
      const answer = await pageApi(page, "POST", "/api/mock/desk/chat", { customer: { name }, text });
      assert.equal(answer.status, 201);
      return answer.body.conversationId;
    };
    /** Linka's distribution gives the waiting chat to agent03 (its push as on the stack). */
    const assign = async (conversationId) => {
      const answer = await pageApi(page, "POST", "/api/mock/desk/chat-assign", { conversationId, username: "agent03" });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    };
    const announcement = page.locator('[aria-live="polite"] [data-testid="desk-message"]');
    const openChat = page.getByTestId("desk-chat");

    // The agent still takes a waiting chat by hand: opened, neither marked nor announced.
    const taken = await customerChat("Karel Novák", "Dobrý den, jak změním adresu?");
    await page.getByTestId(`desk-chat-accept-${taken}`).click();
    await page.locator(`[data-testid="desk-chat"][data-id="${taken}"]`).waitFor();

    // A chat assigned while another is open: marked "nový chat" and announced; the open one stays.
    const second = await customerChat("Alena Malá", "Dobrý den, potřebuji potvrzení o pojištění.");
    await assign(second);
    await page.getByTestId(`desk-chat-new-${second}`).waitFor();
    assert.equal(await page.getByTestId(`desk-chat-new-${second}`).textContent(), "nový chat");
    assert.equal(await announcement.textContent(), "Byl vám přidělen nový chat: Alena Malá.");
    assert.equal(await openChat.getAttribute("data-id"), taken);
    assert.equal(await page.getByTestId(`desk-chat-new-${taken}`).count(), 0, "a chat the agent took is not marked");
    assert.match(await page.getByTestId("desk-chats-mine").textContent(), /Moje chaty \(2 z 3\)/);

    // No chat open: the next one assigned opens at once, marked and announced; the focus stays put.
    await page.getByTestId("desk-chat-end").click();
    await openChat.waitFor({ state: "detached" });
    await page.getByTestId("desk-chats-new-sms").focus();
    const third = await customerChat("Ivana Dušková", "Dobrý den, mám dotaz k platbě.");
    await assign(third);
    await page.locator(`[data-testid="desk-chat"][data-id="${third}"]`).waitFor();
    await page.getByTestId("desk-chat-transcript").locator('li[data-from="customer"]').filter({ hasText: "dotaz k platbě" }).waitFor();
    await page.getByTestId(`desk-chat-new-${third}`).waitFor();
    assert.equal(await announcement.textContent(), "Byl vám přidělen nový chat: Ivana Dušková.");
    assert.equal(await focused(page), "desk-chats-new-sms");
    assert.equal(await page.getByTestId(`desk-chat-open-${third}`).getAttribute("aria-current"), "true");
    assert.deepEqual(await axeViolations(page), []);

    // Answering the chat attends to it: no longer marked.
    await page.getByTestId("desk-chat-input").fill("Dobrý den, rád pomohu.");
    await page.getByTestId("desk-chat-input").press("Enter");
    await page.getByTestId("desk-chat-transcript").locator('li[data-from="agent"]').filter({ hasText: "rád pomohu" }).waitFor();
    await page.getByTestId(`desk-chat-new-${third}`).waitFor({ state: "detached" });

    // From the keyboard: the other new chat opened from Moje chaty, its mark gone.
    await page.getByTestId(`desk-chat-open-${second}`).focus();
    await page.keyboard.press("Enter");
    await page.locator(`[data-testid="desk-chat"][data-id="${second}"]`).waitFor();
    await page.getByTestId(`desk-chat-new-${second}`).waitFor({ state: "detached" });
    assert.equal(await focused(page), "desk-chat-input");

    // A chat already given out is not given again.
    assert.equal((await pageApi(page, "POST", "/api/mock/desk/chat-assign", { conversationId: second, username: "agent03" })).status, 409);
    for (const id of [second, third]) await pageApi(page, "POST", `/api/desk/chats/${id}/end`);
    assert.deepEqual(errors, []);
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
    await agent.page.getByTestId("desk-chat-transfer-user").selectOption("agent07");
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

  test("the admin prepares an e-mail template (an unknown placeholder refused); an agent starts an e-mail from it", { timeout: TEST_TIMEOUT_MS }, async () => {
    const admin = await open();
    await login(admin.page, "admin");
    const agent = await open();
    await login(agent.page, "agent10");
    const mock = (await pageApi(agent.page, "GET", "/api/mock/desk")).status === 200;

    // E-mailové šablony: {{name}} is refused at the subject; nothing typed is lost.
    const page = admin.page;
    await page.getByTestId("main-nav").getByRole("link", { name: "Administrace" }).click();
    await page.getByTestId("admin-nav").getByRole("link", { name: "E-mailové šablony" }).click();
    await page.getByTestId("mail-templates-page").waitFor();
    const templateId = `e2e-t-${RUN}`;
    const name = `Změna adresy provedena ${RUN}`;
    const body = "Dobrý den {{jmeno}},\n\nzměnu adresy jsme provedli dne {{datum}}.\n\nS pozdravem\n{{agent}}\nKlientské centrum";
    await page.getByTestId("mail-templates-templateId").fill(templateId);
    await page.getByTestId("mail-templates-name").fill(name);
    await page.getByTestId("mail-templates-subject").fill("Změna adresy {{name}}");
    await page.getByTestId("mail-templates-body").fill(body);
    assert.match(await page.getByTestId("mail-templates").textContent(), /\{\{jmeno\}\} – jméno zákazníka/);
    await page.getByTestId("mail-templates-save").click();
    const subjectError = page.getByTestId("mail-templates").locator('[data-testid="field-error"][data-field="subject"]');
    await subjectError.waitFor();
    assert.equal(await subjectError.textContent(), "Neznámá proměnná {{name}}. Povolené jsou {{jmeno}}, {{agent}} a {{datum}}.");
    assert.equal(await page.getByTestId("mail-templates-subject").getAttribute("aria-invalid"), "true");
    assert.equal(await page.getByTestId("mail-templates-body").inputValue(), body);
    assert.deepEqual(await axeViolations(page), []);
    await page.getByTestId("mail-templates-subject").fill("Změna adresy ze dne {{datum}}");
    await page.getByTestId("mail-templates-save").click();
    const row = page.getByTestId("mail-templates-table").locator(`tr[data-id="${templateId}"]`);
    await row.waitFor();
    assert.deepEqual((await row.locator("td").allTextContents()).slice(0, 4), [templateId, name, "Změna adresy ze dne {{datum}}", "ano"]);

    // The agent: Nový e-mail offers it (Šablona); picking it fills the subject and the text.
    const me = (await pageApi(agent.page, "GET", "/api/me")).body;
    const agentName = me.name || me.displayName || me.username;
    const today = pragueDay();
    await openDesk(agent.page);
    await agent.page.getByTestId("desk-chats-new-email").click();
    const form = agent.page.getByTestId("desk-chats-compose");
    const choice = form.getByLabel("Šablona");
    await choice.waitFor();
    assert.equal(await agent.page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "desk-chats-compose-to");
    await choice.selectOption({ label: name });
    assert.equal(await form.getByLabel("Předmět").inputValue(), `Změna adresy ze dne ${today}`);
    assert.equal(await form.getByLabel("Text zprávy").inputValue(), `Dobrý den,\n\nzměnu adresy jsme provedli dne ${today}.\n\nS pozdravem\n${agentName}\nKlientské centrum`);
    assert.equal(await agent.page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "desk-chats-compose-template");
    assert.deepEqual(await axeViolations(agent.page), []);
    await agent.page.keyboard.press("Escape");
    await form.waitFor({ state: "detached" });

    if (mock) {
      // On the client card the customer's name fills {{jmeno}}; the agent edits before sending.
      const offer = await pageApi(agent.page, "POST", "/api/mock/desk/offer", { username: "agent10", number: SHARED_NUMBER });
      assert.equal(offer.status, 201);
      await agent.page.getByRole("button", { name: "Vybrat klienta Jan Dvořák" }).click();
      await agent.page.getByTestId("desk-card-name").filter({ hasText: "Jan Dvořák" }).waitFor();
      await agent.page.getByTestId("desk-card-send-email").click();
      const card = agent.page.getByTestId("desk-card-compose");
      await card.getByLabel("Šablona").selectOption({ label: name });
      const text = card.getByLabel("Text zprávy");
      assert.match(await text.inputValue(), /^Dobrý den Jan Dvořák,\n/);
      await text.fill(`${await text.inputValue()}\n\nP. S. Nová karta přijde poštou.`);
      await card.getByRole("button", { name: "Odeslat e-mail" }).click();
      await agent.page.getByTestId("desk-message").filter({ hasText: "E-mail odeslán na adresu jan.dvorak@example.cz." }).waitFor();
      const outbox = (await pageApi(agent.page, "GET", "/api/mock/desk/outbox")).body.items;
      const sent = outbox.filter((item) => item.channel === "email" && item.subject === `Změna adresy ze dne ${today}`).at(-1);
      assert.equal(sent?.text, `Dobrý den Jan Dvořák,\n\nzměnu adresy jsme provedli dne ${today}.\n\nS pozdravem\n${agentName}\nKlientské centrum\n\nP. S. Nová karta přijde poštou.`);
    }

    // Deactivated, it is no longer offered; then deleted.
    await row.getByTestId("mail-templates-edit").click();
    assert.equal(await page.getByTestId("mail-templates-templateId").getAttribute("readonly"), "");
    await page.getByTestId("mail-templates-active").uncheck();
    await page.getByTestId("mail-templates-save").click();
    await row.locator("td").nth(3).filter({ hasText: "ne" }).waitFor();
    const offered = (await pageApi(agent.page, "GET", "/api/desk/mail-templates")).body.items;
    assert.equal(offered.some((template) => template.templateId === templateId), false);
    await row.getByTestId("mail-templates-delete").click();
    await row.getByTestId("mail-templates-delete-confirm").click();
    await row.waitFor({ state: "detached" });
    assert.deepEqual(admin.errors, []);
    assert.deepEqual(agent.errors, []);
  });

  test("a chat's contact record: a versioned note, a category and the client assigned; its channel in the histories (mock)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    await login(page, "agent07");
    if ((await pageApi(page, "GET", "/api/mock/desk")).status !== 200) {
      t.skip("the mock's hooks bring the customer's e-mail");
      return;
    }
    await openDesk(page);
    const created = await pageApi(page, "POST", "/api/mock/desk/chat", {
      channel: "email",
      customer: { name: "Jan Dvořák", email: "jan.dvorak@example.cz" },
      subject: `Nová adresa ${RUN}`,
      text: "Dobrý den,\nod prosince bydlím v Olomouci.",
    });
    const id = created.body.conversationId;
    const contactId = `chat:${id}`;
    await page.getByTestId(`desk-chat-accept-${id}`).click();
    const record = page.getByTestId("desk-chat-record");
    await record.waitFor();
    assert.equal(await record.getAttribute("data-contact-id"), contactId);
    await page.getByTestId("desk-chat-note-versions-none").waitFor();

    // CHAT-4: Přiřadit the matching client; the chat shows whose it is now.
    const clients = page.getByTestId("desk-chat-clients");
    const jan = clients.locator("li", { hasText: "Jan Dvořák" });
    const assigned = page.waitForRequest((request) => request.method() === "PUT" && new URL(request.url()).pathname === `/api/contacts/${encodeURIComponent(contactId)}/client`);
    await jan.getByRole("button", { name: "Přiřadit kontakt klientovi Jan Dvořák" }).click();
    const clientId = (await assigned).postDataJSON().clientId;
    await page.getByTestId("desk-chat-client").filter({ hasText: "Přiřazený klient: Jan Dvořák" }).waitFor();
    await page.getByTestId(`desk-chat-assigned-${clientId}`).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "desk-chat-client");

    // A note, saved as version 1. Someone else saves version 2 meanwhile: it shows at once
    // (contact push) and the text being typed is kept, then saved as version 3.
    const note = page.getByLabel("Poznámka", { exact: true });
    await note.fill("Zákazník hlásí změnu adresy na Olomouc.");
    await page.getByTestId("desk-chat-note-save").click();
    await page.getByTestId("desk-chat-note-version-1").filter({ hasText: "změnu adresy na Olomouc" }).waitFor();
    assert.equal(await page.getByTestId("desk-chat-record-saved").textContent(), "Poznámka byla uložena jako verze 1.");
    await note.fill("Zákazník hlásí změnu adresy na Olomouc; ověřeno.");
    const other = await pageApi(page, "POST", `/api/contacts/${encodeURIComponent(contactId)}/notes`, { text: "Doplněno: nová karta.", baseVersion: 1 });
    assert.equal(other.status, 201);
    await page.getByTestId("desk-chat-note-version-2").filter({ hasText: "Doplněno: nová karta." }).waitFor();
    assert.equal(await note.inputValue(), "Zákazník hlásí změnu adresy na Olomouc; ověřeno.");
    await page.getByTestId("desk-chat-note-save").click();
    await page.getByTestId("desk-chat-note-version-3").filter({ hasText: "ověřeno" }).waitFor();
    assert.equal(await page.getByTestId("desk-chat-note-versions").locator("li").count(), 3);

    // Kategorie kontaktu.
    await page.getByLabel("Kategorie kontaktu", { exact: true }).selectOption("zmena-udaju");
    await page.getByTestId("desk-chat-category-save").click();
    await page.getByTestId("desk-chat-category-current").filter({ hasText: "Změna údajů" }).waitFor();
    const stored = (await pageApi(page, "GET", `/api/contacts/${encodeURIComponent(contactId)}`)).body;
    assert.deepEqual([stored.channel, stored.categoryId, stored.clientId, stored.note?.version], ["email", "zmena-udaju", clientId, 3]);
    assert.deepEqual(await axeViolations(page), []);

    // Poslední kontakty and Moje historie tell the e-mail from calls by its badge.
    const recent = page.getByTestId("desk-recent-table").locator(`tr[data-contact-id="${contactId}"]`);
    await recent.filter({ hasText: "Změna údajů" }).waitFor();
    assert.equal(await recent.getByTestId("desk-chat-channel").textContent(), "Kanál: E-mail");
    assert.match(await recent.locator("td").nth(2).textContent(), /^Kanál: E-mail jan\.dvorak@example\.cz$/);
    await page.getByTestId("desk-history-q").fill("olomouc");
    await page.getByTestId("desk-history-search").click();
    const found = page.getByTestId("desk-history-table").locator(`tr[data-contact-id="${contactId}"]`);
    await found.waitFor();
    assert.equal(await found.getAttribute("data-channel"), "email");

    // Ended, the chat leaves the panel; the record opens from the history with its note.
    await page.getByTestId("desk-chat-end").click();
    await record.waitFor({ state: "detached" });
    await found.getByRole("button", { name: "Otevřít" }).click();
    await page.getByTestId("desk-contact-summary").filter({ hasText: "E-mail jan.dvorak@example.cz" }).waitFor();
    assert.equal(await page.getByTestId("desk-note").inputValue(), "Zákazník hlásí změnu adresy na Olomouc; ověřeno.");
    // The client's history on the card lists it too, with its channel.
    await page.getByTestId("desk-card-name").filter({ hasText: "Jan Dvořák" }).waitFor();
    const history = page.getByTestId("desk-client-history").locator(`tr[data-contact-id="${contactId}"]`);
    assert.equal(await history.getByTestId("desk-chat-channel").textContent(), "Kanál: E-mail");
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(errors, []);
  });

  test("a customer's SMS reaches an agent of the chat queue, who takes it in Chaty and answers by SMS (stack)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const agent = await open();
    await login(agent.page, SMS_AGENT);
    if ((await pageApi(agent.page, "GET", "/api/mock/desk")).status === 200) {
      t.skip("the mock has no SMS gateway; the tests above cover SMS at the desk");
      return;
    }
    await ensureSmsMember(SMS_AGENT);
    await endHeldChats(SMS_AGENT);
    await openDesk(agent.page);

    // The customer texts from a number of their own (the conversation is theirs alone).
    const national = String(Math.floor(Math.random() * 1_000_000)).padStart(6, "0");
    const number = `+420778${national}`;
    const shown = `+420 778 ${national.slice(0, 3)} ${national.slice(3)}`;
    await injectSms(number, `Dobrý den, kdy mi přijde nová karta? (${RUN})`);

    // It waits in Chaty with the SMS badge (push); taken, answered.
    const waiting = agent.page.getByTestId("desk-chats-waiting").locator('li[data-channel="sms"]', { hasText: shown });
    await waiting.waitFor();
    assert.equal(await waiting.getByTestId("desk-chat-channel").textContent(), "Kanál: SMS");
    await waiting.getByRole("button", { name: "Přijmout" }).click();
    const header = agent.page.getByTestId("desk-chat-header");
    await header.filter({ hasText: shown }).waitFor();
    assert.equal(await header.getByTestId("desk-chat-channel").getAttribute("data-channel"), "sms");
    const transcript = agent.page.getByTestId("desk-chat-transcript");
    await transcript.locator('li[data-from="customer"]').filter({ hasText: "kdy mi přijde nová karta" }).waitFor();
    const answer = `Dobrý den, karta je na cestě. (${RUN})`;
    await agent.page.getByTestId("desk-chat-input").fill(answer);
    await agent.page.getByTestId("desk-chat-send").click();
    await transcript.locator('li[data-from="agent"]').filter({ hasText: answer }).waitFor();

    // The answer left as an SMS to the customer's number (the emulator's outbox).
    const sent = await eventually("the SMS in the outbox", async () => {
      const response = await fetch(`${BASE_URL}/_local/outbox`);
      if (!response.ok) return null;
      const outbox = await response.json();
      return (outbox.sms ?? []).find((sms) => sms.to === number && sms.text === answer);
    });
    assert.equal(sent.text, answer);

    await agent.page.getByTestId("desk-chat-end").click();
    await agent.page.getByTestId("desk-chat").waitFor({ state: "detached" });
    assert.deepEqual(agent.errors, []);
  });
  test("an agent hands a chat to a queue and to a free colleague chosen with their presence, and invites a supervisor (mock)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const { page, errors } = await open();
    await login(page, "agent09");
    if ((await pageApi(page, "GET", "/api/mock/desk")).status !== 200) {
      t.skip("the mock's hooks bring the customers' chats");
      return;
    }
    // Jiří Horák (agent08) is on a break, his desk not open here.
    assert.equal((await pageApi(page, "PUT", "/api/mock/desk/presence", { username: "agent08", presence: "break" })).status, 200);
    await openDesk(page);
    const hook = async (body) => {
      const answer = await pageApi(page, "POST", "/api/mock/desk/chat", body);
      assert.equal(answer.status, 201);
      return answer.body.conversationId;
    };
    const id = await hook({ customer: { name: "Lenka Horáková" }, text: "Dobrý den, potřebuji pomoc s přihláškou." });
    await page.getByTestId(`desk-chat-accept-${id}`).click();
    await page.getByTestId("desk-chat-transcript").locator('li[data-from="customer"]').filter({ hasText: "přihláškou" }).waitFor();

    // Předat: the colleagues with their presence, live (free ones first, logged-out ones last, not me).
    const colleague = page.getByLabel("Kolegovi", { exact: true });
    const jiri = colleague.locator('option[value="agent08"]');
    await jiri.filter({ hasText: "Jiří Horák — Přestávka" }).waitFor({ state: "attached" });
    await pageApi(page, "PUT", "/api/mock/desk/presence", { username: "agent08", presence: "free" });
    await jiri.filter({ hasText: "Jiří Horák — Volný" }).waitFor({ state: "attached" });
    const labels = await colleague.locator("option").allTextContents();
    assert.equal(labels[0], "— vyberte —");
    assert.equal(labels.some((label) => label.startsWith("Tereza Němcová")), false, labels.join(", "));
    const presences = labels.slice(1).map((label) => label.split(" — ")[1]);
    const rank = (presence) => (presence === "Volný" ? 0 : presence === "Odhlášen" ? 2 : 1);
    assert.deepEqual(presences.map(rank), [...presences.map(rank)].sort(), labels.join(", "));
    // …and the agent's queues.
    const queue = page.getByLabel("Do fronty", { exact: true });
    assert.deepEqual(await queue.locator("option").allTextContents(), ["— vyberte —", "Klientská linka", "VIP linka", "Asistenční služba (zavřeno)"]);
    assert.deepEqual(await axeViolations(page), []);

    // Nothing chosen: said, and the focus goes to the choice.
    await page.getByTestId("desk-chat-transfer-to-queue").click();
    await page.getByTestId("desk-chat-invalid").filter({ hasText: "Vyberte frontu, do které chat předáte." }).waitFor();
    assert.equal(await focused(page), "desk-chat-transfer-queue");
    assert.equal(await queue.getAttribute("aria-invalid"), "true");
    assert.equal(await queue.getAttribute("aria-describedby"), "desk-chat-transfer-queue-error");

    // To VIP linka, by keyboard: the chat waits in that queue; the desk says so.
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    assert.equal(await queue.inputValue(), "kkc-vip");
    const toQueue = page.waitForRequest((request) => request.method() === "POST" && new URL(request.url()).pathname === `/api/desk/chats/${id}/transfer`);
    await page.keyboard.press("Tab");
    assert.equal(await focused(page), "desk-chat-transfer-to-queue");
    await page.keyboard.press("Enter");
    assert.deepEqual((await toQueue).postDataJSON(), { queueId: "kkc-vip" });
    await page.getByTestId("desk-message").filter({ hasText: "Chat byl předán do fronty VIP linka." }).waitFor();
    await page.getByTestId("desk-chat").waitFor({ state: "detached" });
    assert.equal(await focused(page), "desk-chats-mine");
    await page.getByTestId("desk-chats-waiting").locator(`li[data-id="${id}"]`).filter({ hasText: "kkc-vip" }).waitFor();

    // Taken again and handed to Jiří Horák, free: his now.
    await page.getByTestId(`desk-chat-accept-${id}`).click();
    await page.locator(`[data-testid="desk-chat"][data-id="${id}"]`).waitFor();
    await colleague.selectOption("agent08");
    const toColleague = page.waitForRequest((request) => request.method() === "POST" && new URL(request.url()).pathname === `/api/desk/chats/${id}/transfer`);
    await page.getByRole("button", { name: "Předat kolegovi" }).click();
    assert.deepEqual((await toColleague).postDataJSON(), { username: "agent08" });
    await page.getByTestId("desk-message").filter({ hasText: "Chat byl předán kolegovi: Jiří Horák." }).waitFor();
    await page.getByTestId("desk-chat").waitFor({ state: "detached" });
    const jiriToken = await tokenOf("agent08");
    const jiriCall = async (method, path) => {
      const answer = await fetch(`${BASE_URL}${path}`, { method, headers: { Authorization: `Bearer ${jiriToken}` } });
      return { status: answer.status, body: await answer.json() };
    };
    const his = (await jiriCall("GET", "/api/desk/chats")).body;
    assert.ok(his.held.some((chat) => chat.conversationId === id && chat.agent === "agent08"));

    // He takes two more and is at the chat limit: a transfer to him is refused at Předat, the chat stays.
    for (let n = his.held.length; n < his.chatLimit; n += 1) {
      const more = await hook({ customer: { name: `Zákazník ${n}` }, text: "Dobrý den." });
      assert.equal((await jiriCall("POST", `/api/desk/chats/${more}/accept`)).status, 200);
    }
    const second = await hook({ customer: { name: "Ondřej Malý" }, text: "Dobrý den, chci mluvit s vedoucím." });
    await page.getByTestId(`desk-chat-accept-${second}`).click();
    const chat = page.locator(`[data-testid="desk-chat"][data-id="${second}"]`);
    await chat.waitFor();
    await colleague.selectOption("agent08");
    await page.getByTestId("desk-chat-transfer").click();
    await chat.getByTestId("problem").filter({ hasText: "Kolega má otevřený nejvyšší povolený počet chatů." }).waitFor();
    assert.equal(await chat.getByTestId("problem").getAttribute("data-code"), "chat-limit");
    assert.equal(await focused(page), "desk-chat-transfer");

    // Přizvat vedoucího: only supervisors are offered; Pavel Dohledal joins the chat.
    const supervisors = page.getByLabel("Vedoucí", { exact: true });
    const offered = await supervisors.locator("option").allTextContents();
    assert.ok(offered.some((label) => label.startsWith("Pavel Dohledal — ")), offered.join(", "));
    assert.equal(offered.some((label) => label.startsWith("Jiří Horák")), false, offered.join(", "));
    await supervisors.selectOption("supervisor");
    const invited = page.waitForRequest((request) => request.method() === "POST" && new URL(request.url()).pathname === `/api/desk/chats/${second}/invite`);
    await page.getByRole("button", { name: "Přizvat vedoucího" }).click();
    assert.deepEqual((await invited).postDataJSON(), { username: "supervisor" });
    await page.getByTestId("desk-message").filter({ hasText: "Do chatu jste přizvali: Pavel Dohledal." }).waitFor();
    await page.getByTestId("desk-chat-invited").filter({ hasText: "V chatu je také: Pavel Dohledal" }).waitFor();
    assert.equal(await chat.getByTestId("problem").count(), 0);
    assert.equal(await supervisors.locator('option[value="supervisor"]').count(), 0);
    const stored = await pageApi(page, "GET", `/api/desk/chats/${second}/messages`);
    assert.deepEqual(stored.body.conversation.invited, ["supervisor"]);
    assert.deepEqual(await axeViolations(page), []);

    // In English.
    await page.getByTestId("lang-switch").click();
    await chat.getByRole("group", { name: "Transfer the chat" }).waitFor();
    assert.equal(await page.getByTestId("desk-chat-transfer-to-queue").textContent(), "Transfer to the queue");
    assert.equal(await page.getByTestId("desk-chat-invited").textContent(), "Also in the chat: Pavel Dohledal");
    await page.getByTestId("lang-switch").click();
    await chat.getByRole("group", { name: "Předat chat" }).waitFor();

    await page.getByTestId("desk-chat-end").click();
    await chat.waitFor({ state: "detached" });
    assert.deepEqual(errors, []);
  });

  test("the widget shows Operátor píše… on the agent's typing push, for about 4 s or until the agent's message (routed API and socket)", { timeout: TEST_TIMEOUT_MS }, async () => {
    const { page, errors } = await open();
    const id = "c-typing";
    const messages = [{ seq: 1, from: "customer", text: "Dobrý den, mám dotaz.", at: new Date().toISOString() }];
    // The conversation API of the visitor (not in the mock), routed in the browser.
    await page.route(`${BASE_URL}/api/chat/conversations**`, async (route) => {
      const url = new URL(route.request().url());
      const json = (status, body) => route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) });
      if (url.pathname === "/api/chat/conversations") return json(201, { conversationId: id, participantToken: "tok-typing", status: "bot" });
      if (url.pathname.endsWith("/handoff")) return json(202, { status: "assigned", queueId: "chat-web", leftMessage: false });
      if (url.pathname.endsWith("/messages")) {
        const after = Number(url.searchParams.get("after") ?? "0");
        return json(200, { status: "assigned", messages: messages.filter((message) => message.seq > after) });
      }
      return json(404, { code: "not-found" });
    });
    let socket;
    const connected = new Promise((resolveSocket) => {
      void page.routeWebSocket(/\/ws\?participantToken=tok-typing$/, (ws) => {
        socket = ws;
        resolveSocket(ws);
      });
    });
    await page.route(`${BASE_URL}/e2e-typing.html`, (route) =>
      route.fulfill({
        contentType: "text/html; charset=utf-8",
        body: '<!doctype html><html lang="cs"><head><meta charset="utf-8"><title>Pojišťovna</title></head><body><main><h1>Pojišťovna</h1></main><script type="module" src="/linka-widget.js"></script></body></html>',
      }),
    );
    await page.goto(`${BASE_URL}/e2e-typing.html`);
    await page.getByTestId("linka-widget-toggle").click();
    await page.getByTestId("linka-widget-message").fill("Dobrý den, mám dotaz.");
    await page.getByTestId("linka-widget-start").click();
    await page.locator('[data-testid="linka-widget"][data-phase="chatting"]').waitFor();
    await connected;
    const typing = page.getByTestId("linka-widget-typing");
    assert.equal(await typing.textContent(), "");

    // The visitor is typing when the agent's signal comes: the notice shows, the reply typed stays.
    const input = page.getByTestId("linka-widget-input");
    await input.fill("Jde o přihlášku");
    socket.send(JSON.stringify({ type: "chat-typing", conversationId: id, from: "agent" }));
    await typing.filter({ hasText: "Operátor píše…" }).waitFor();
    const shown = Date.now();
    assert.equal(await input.inputValue(), "Jde o přihlášku");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "linka-widget-input");
    // Another conversation's signal changes nothing.
    socket.send(JSON.stringify({ type: "chat-typing", conversationId: "c-other", from: "agent" }));
    // It goes after about 4 s.
    await page.waitForFunction(() => document.querySelector('[data-testid="linka-widget-typing"]')?.textContent === "", null, { timeout: 20_000 });
    const lasted = Date.now() - shown;
    assert.ok(lasted >= 3000, `shown for ${lasted} ms`);
    assert.deepEqual(await axeViolations(page), []);

    // Typing again, then the agent's message: the notice goes with it.
    socket.send(JSON.stringify({ type: "chat-typing", conversationId: id, from: "agent" }));
    await typing.filter({ hasText: "Operátor píše…" }).waitFor();
    const answer = { conversationId: id, seq: 2, from: "agent", text: "Dobrý den, s přihláškou pomohu.", at: new Date().toISOString() };
    messages.push(answer);
    socket.send(JSON.stringify({ type: "chat-message", message: answer }));
    await page.getByTestId("linka-widget-transcript").locator('li[data-from="agent"]').filter({ hasText: "s přihláškou pomohu" }).waitFor();
    assert.equal(await typing.textContent(), "");
    assert.equal(await input.inputValue(), "Jde o přihlášku");
    assert.deepEqual(errors, []);
  });
});

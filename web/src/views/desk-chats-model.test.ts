import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../api/chat";
import type { DirectoryAgent, PanelPresence } from "../api/desk";
import { fieldErrorMessage } from "../forms/field-errors";
import { deskCs } from "../i18n/desk-cs";
import { deskEn } from "../i18n/desk-en";
import {
  ArrivalTracker,
  chatContactId,
  chatHeading,
  chatProblemKey,
  checkOutbound,
  colleagueName,
  customerLabel,
  inviteCandidates,
  lastSeq,
  mergeMessages,
  outboundRequest,
  sendKey,
  transferColleagues,
} from "./desk-chats-model";

const message = (seq: number, text = `m${seq}`): ChatMessage => ({
  conversationId: "c-1",
  seq,
  messageId: `id-${seq}`,
  from: "customer",
  text,
  at: "2026-11-28T09:00:00Z",
});

const FALLBACK = { customer: "Zákazník", messengerUser: "Uživatel Messengeru" };

describe("desk chats model", () => {
  it("merges a push and a read into one ordered transcript without duplicates", () => {
    const merged = mergeMessages([message(1), message(3)], [message(2), message(3, "again"), message(4)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(lastSeq(merged)).toBe(4);
    expect(lastSeq([])).toBe(0);
  });

  it("labels the customer by name, e-mail or phone", () => {
    expect(customerLabel({ customer: { name: " Jana ", email: "j@x.cz" } }, "?")).toBe("Jana");
    expect(customerLabel({ customer: { email: "j@x.cz" } }, "?")).toBe("j@x.cz");
    expect(customerLabel({ customer: {} }, "Zákazník")).toBe("Zákazník");
  });

  it("heads an SMS by the name and the phone number, or the number alone", () => {
    expect(chatHeading({ channel: "sms", customer: { phone: "+420601234567" } }, FALLBACK)).toEqual({ who: "+420 601 234 567", contact: null, subject: null });
    expect(chatHeading({ channel: "sms", customer: { name: "Jana Dvořáková", phone: "+420601234567" } }, FALLBACK)).toEqual({
      who: "Jana Dvořáková",
      contact: "+420 601 234 567",
      subject: null,
    });
    expect(chatHeading({ channel: "sms", customer: {} }, FALLBACK).who).toBe("Zákazník");
  });

  it("heads an e-mail by the name and the address, with the subject", () => {
    expect(chatHeading({ channel: "email", customer: { name: "Jan Dvořák", email: "jan@example.cz" }, subject: " Změna adresy " }, FALLBACK)).toEqual({
      who: "Jan Dvořák",
      contact: "jan@example.cz",
      subject: "Změna adresy",
    });
    expect(chatHeading({ channel: "email", customer: { email: "jan@example.cz" } }, FALLBACK)).toEqual({ who: "jan@example.cz", contact: null, subject: null });
  });

  it("heads a Messenger conversation by the name, else as a Messenger user; a web chat as before", () => {
    expect(chatHeading({ channel: "social", customer: {} }, FALLBACK).who).toBe("Uživatel Messengeru");
    expect(chatHeading({ channel: "social", customer: { name: "Eva Malá" } }, FALLBACK).who).toBe("Eva Malá");
    expect(chatHeading({ channel: "web", customer: { email: "j@x.cz" } }, FALLBACK)).toEqual({ who: "j@x.cz", contact: null, subject: null });
  });

  it("checks a new SMS or e-mail before sending, in words the UI turns into its messages", () => {
    const sms = { channel: "sms" as const, to: "601 234 567", subject: "", text: "Dobrý den" };
    expect(checkOutbound(sms)).toEqual([]);
    expect(checkOutbound({ ...sms, to: " ", text: "  " }).map((error) => [error.field, fieldErrorMessage(error).key])).toEqual([
      ["to", "field.required"],
      ["text", "field.required"],
    ]);
    const long = checkOutbound({ ...sms, text: "a".repeat(1601) });
    expect(long).toEqual([{ field: "text", message: "an SMS must be at most 1600 characters" }]);
    expect(fieldErrorMessage(long[0]!)).toEqual({ key: "field.maxLength", params: { max: "1600" } });
    // Spaces around are not sent, so not counted.
    expect(checkOutbound({ ...sms, text: ` ${"a".repeat(1600)} ` })).toEqual([]);

    const email = { channel: "email" as const, to: "jan@example.cz", subject: "", text: "Dobrý den" };
    expect(checkOutbound(email).map((error) => error.field)).toEqual(["subject"]);
    const subject = checkOutbound({ ...email, subject: "x".repeat(201) });
    expect(fieldErrorMessage(subject[0]!)).toEqual({ key: "field.length", params: { min: "1", max: "200" } });
    expect(checkOutbound({ ...email, subject: "Změna", text: "a".repeat(4001) }).map((error) => error.field)).toEqual(["text"]);
    expect(checkOutbound({ ...email, subject: "Změna", text: "a".repeat(1601) })).toEqual([]);
  });

  it("builds the request: trimmed, the subject for e-mail only, the name when known", () => {
    expect(outboundRequest({ channel: "sms", to: " 601 234 567 ", subject: "ignored", text: " Ahoj ", name: " Jana " })).toEqual({ to: "601 234 567", text: "Ahoj", name: "Jana" });
    expect(outboundRequest({ channel: "email", to: "jan@example.cz", subject: " Změna ", text: "Text", name: "" })).toEqual({ to: "jan@example.cz", subject: "Změna", text: "Text" });
  });

  it("keeps the clientMessageId for the very same message and takes a fresh one when it changed", () => {
    let n = 0;
    const fresh = () => `id-${++n}`;
    const first = sendKey(null, "a", fresh);
    expect(first).toEqual({ body: "a", id: "id-1" });
    expect(sendKey(first, "a", fresh)).toBe(first);
    expect(sendKey(first, "b", fresh)).toEqual({ body: "b", id: "id-2" });
  });
});

describe("chatContactId", () => {
  it("is the contact id the conversation carries, else chat:<conversationId>", () => {
    expect(chatContactId({ conversationId: "c-1", contactId: "chat:c-1" })).toBe("chat:c-1");
    expect(chatContactId({ conversationId: "c-2" })).toBe("chat:c-2");
    expect(chatContactId({ conversationId: "c-3", contactId: " " })).toBe("chat:c-3");
  });
});

describe("Předat and Přizvat vedoucího (CHAT-2)", () => {
  const agent = (username: string, displayName: string, presence: PanelPresence, roles: string[] = ["agent"]): DirectoryAgent => ({
    username,
    displayName,
    device: "2000",
    roles,
    groups: ["KKC"],
    presence,
  });
  const directory = {
    agents: [
      agent("agent01", "Jana Nováková", "free"),
      agent("agent04", "Tomáš Černý", "loggedOut"),
      agent("agent03", "Lucie Dvořáková", "busy"),
      agent("agent02", "Petr Svoboda", "free"),
      agent("supervisor", "Pavel Dohledal", "break", ["supervisor"]),
      agent("admin", "Alena Správcová", "loggedOut", ["admin"]),
      agent("agent05", "Čeněk Adam", "wrapUp"),
    ],
  };

  it("when the directory is read, should offer every colleague but me: free first, logged out last, by name within", () => {
    expect(transferColleagues(directory, "agent01").map((colleague) => [colleague.username, colleague.presence])).toEqual([
      ["agent02", "free"],
      ["agent05", "wrapUp"],
      ["agent03", "busy"],
      ["supervisor", "break"],
      ["admin", "loggedOut"],
      ["agent04", "loggedOut"],
    ]);
    // Czech order: Č after C, D…; the name falls back to the user name.
    expect(transferColleagues({ agents: [agent("x", " ", "free"), agent("y", "Cyril", "free"), agent("z", "Čestmír", "free")] }, "me").map((c) => c.name)).toEqual(["Cyril", "Čestmír", "x"]);
  });

  it("when inviting, should offer only supervisors and admins, not me and not those already in the chat", () => {
    expect(inviteCandidates(directory, "agent01").map((colleague) => colleague.username)).toEqual(["supervisor", "admin"]);
    expect(inviteCandidates(directory, "agent01", ["supervisor"]).map((colleague) => colleague.username)).toEqual(["admin"]);
    expect(inviteCandidates(directory, "supervisor", ["admin"])).toEqual([]);
  });

  it("when a colleague is named, should use the directory's name, else the user name", () => {
    expect(colleagueName(directory, "supervisor")).toBe("Pavel Dohledal");
    expect(colleagueName(directory, "agent99")).toBe("agent99");
    expect(colleagueName(null, "agent02")).toBe("agent02");
  });

  it("when a chat action is refused, should word the known refusals per action and leave the rest to the general text", () => {
    expect(chatProblemKey({ status: 409, code: "chat-limit" }, "transfer")).toBe("desk.chats.problem.colleagueFull");
    expect(chatProblemKey({ status: 409, code: "chat-limit" }, "accept")).toBe("desk.chats.problem.full");
    expect(chatProblemKey({ status: 409, code: "chat-taken" }, "accept")).toBe("desk.chats.problem.taken");
    expect(chatProblemKey({ status: 409, code: "conversation-ended" }, "invite")).toBe("desk.chats.problem.ended");
    expect(chatProblemKey({ status: 403, code: "not-your-chat" }, "transfer")).toBe("desk.chats.problem.notYours");
    expect(chatProblemKey({ status: 404, code: "conversation-not-found" }, null)).toBe("desk.chats.problem.notFound");
    const badUser = { status: 422, code: "validation-failed", errors: [{ field: "username", message: "must be an active supervisor" }] };
    expect(chatProblemKey(badUser, "invite")).toBe("desk.chats.problem.notSupervisor");
    expect(chatProblemKey(badUser, "transfer")).toBe("desk.chats.problem.notColleague");
    expect(chatProblemKey({ status: 422, code: "validation-failed", errors: [{ field: "queueId", message: "there is no queue x" }] }, "transfer")).toBe("desk.chats.problem.noQueue");
    expect(chatProblemKey(badUser, "send")).toBeNull();
    expect(chatProblemKey({ status: 503, code: "service-unavailable" }, "transfer")).toBeNull();
  });

  it("when a refusal has a desk text, should have it in Czech and in English", () => {
    const keys = ["colleagueFull", "full", "taken", "ended", "notYours", "notFound", "noQueue", "notColleague", "notSupervisor"].map((key) => `desk.chats.problem.${key}`);
    for (const key of keys) {
      expect(key in deskCs, key).toBe(true);
      expect(key in deskEn, key).toBe(true);
    }
  });
});

describe("chats given to the agent", () => {
  const ME = "agent03";
  const assigned = (conversationId: string, extra: Record<string, unknown> = {}) => ({ type: "chat", conversationId, status: "assigned", queueId: "kkc-obecne", agent: ME, ...extra });

  it("when a chat is pushed as assigned to me and the lists then hold it, should say it arrived once and mark it new", () => {
    const arrivals = new ArrivalTracker();
    expect(arrivals.push(assigned("c-1"), ME, [])).toBe(true);
    // A read answered before the chat was mine: nothing yet, still expected.
    expect(arrivals.read([])).toEqual([]);
    expect(arrivals.read(["c-0", "c-1"])).toEqual(["c-1"]);
    expect(arrivals.isNew("c-1")).toBe(true);
    expect(arrivals.isNew("c-0")).toBe(false);
    // Read again (another push): not a second arrival, still marked.
    expect(arrivals.read(["c-0", "c-1"])).toEqual([]);
    expect(arrivals.isNew("c-1")).toBe(true);
  });

  it("when I accept a chat myself, should not take its assigned push for a chat given to me, whichever comes first", () => {
    const arrivals = new ArrivalTracker();
    arrivals.taking("c-2");
    expect(arrivals.push(assigned("c-2"), ME, [])).toBe(false);
    expect(arrivals.read(["c-2"])).toEqual([]);
    expect(arrivals.isNew("c-2")).toBe(false);
    // The push before the request's answer, the read after it.
    const other = new ArrivalTracker();
    other.taking("c-3");
    other.push(assigned("c-3"), ME, []);
    expect(other.read(["c-3"])).toEqual([]);
  });

  it("when my accept is refused, should count a later assignment of the chat again", () => {
    const arrivals = new ArrivalTracker();
    arrivals.taking("c-4");
    arrivals.notTaken("c-4");
    expect(arrivals.push(assigned("c-4"), ME, [])).toBe(true);
    expect(arrivals.read(["c-4"])).toEqual(["c-4"]);
  });

  it("when the push is not an assignment to me of a chat I do not hold, should not count it", () => {
    const arrivals = new ArrivalTracker();
    expect(arrivals.push(assigned("c-5", { agent: "agent02" }), ME, [])).toBe(false);
    expect(arrivals.push(assigned("c-5", { status: "queued", agent: undefined }), ME, [])).toBe(false);
    expect(arrivals.push(assigned("c-6"), ME, ["c-6"])).toBe(false);
    expect(arrivals.push({ type: "chat-message", conversationId: "c-7", status: "assigned", queueId: "q", agent: ME }, ME, [])).toBe(false);
    expect(arrivals.push(assigned(""), ME, [])).toBe(false);
    // A conversation the agent opened (Nová SMS / Nový e-mail) has no queue: pushed without one.
    expect(arrivals.push(assigned("c-8", { queueId: undefined }), ME, [])).toBe(false);
    expect(arrivals.read(["c-5", "c-6", "c-7", "c-8"])).toEqual([]);
  });

  it("when a colleague hands me a chat I once took myself and gave away, should count it as given to me", () => {
    const arrivals = new ArrivalTracker();
    arrivals.taking("c-9");
    arrivals.push(assigned("c-9"), ME, []);
    arrivals.read(["c-9"]);
    // Transferred to agent02 (its push says so), later back to me by agent02.
    arrivals.push(assigned("c-9", { agent: "agent02" }), ME, ["c-9"]);
    expect(arrivals.push(assigned("c-9"), ME, [])).toBe(true);
    expect(arrivals.read(["c-9"])).toEqual(["c-9"]);
  });

  it("when I open the new chat from the list or answer it, or it leaves me, should no longer mark it", () => {
    const arrivals = new ArrivalTracker();
    for (const id of ["c-10", "c-11"]) arrivals.push(assigned(id), ME, []);
    expect(arrivals.read(["c-10", "c-11"])).toEqual(["c-10", "c-11"]);
    arrivals.seen("c-10");
    expect(arrivals.isNew("c-10")).toBe(false);
    expect(arrivals.isNew("c-11")).toBe(true);
    arrivals.read([]);
    expect(arrivals.isNew("c-11")).toBe(false);
    arrivals.push(assigned("c-12"), ME, []);
    arrivals.read(["c-12"]);
    arrivals.push({ type: "chat", conversationId: "c-12", status: "ended", queueId: "kkc-obecne", agent: ME }, ME, ["c-12"]);
    expect(arrivals.isNew("c-12")).toBe(false);
  });

  it("when a chat is given to me, should have its announcement and mark in Czech and in English", () => {
    expect(deskCs["desk.chats.assignedToYou"]).toBe("Byl vám přidělen nový chat: {who}.");
    expect(deskEn["desk.chats.assignedToYou"]).toBe("A new chat was assigned to you: {who}.");
    for (const key of ["desk.chats.assignedToYouMany", "desk.chats.assignedNew"] as const) {
      expect(deskCs[key], key).toBeTruthy();
      expect(deskEn[key], key).toBeTruthy();
    }
  });
});

// Pure helpers of the desk's chats: merging transcripts by sequence number (a push and a read
// may bring the same message, in any order), the customer's label and a conversation's heading
// per channel, the checks and request of an SMS or e-mail the agent sends (a new one), and whom
// a chat can be handed to (Předat) or who can be invited into it (Přizvat vedoucího).

import type { ChatMessage, DeskChat, OpenRequest } from "../api/chat";
import type { Directory, PanelPresence } from "../api/desk";
import type { FieldError, Problem } from "../api/problem";
import { formatPhone } from "../format/phone";
import { SMS_MAX_CHARS } from "./sms-parts";

/** The longest chat message (and e-mail text) the backend takes, in characters. */
export const MAX_TEXT_CHARS = 4000;
/** The longest e-mail subject, in characters. */
export const MAX_SUBJECT_CHARS = 200;

/** `known` and `more` as one transcript: each `seq` once, in order. */
export function mergeMessages(known: readonly ChatMessage[], more: readonly ChatMessage[]): ChatMessage[] {
  const bySeq = new Map<number, ChatMessage>();
  for (const message of [...known, ...more]) bySeq.set(message.seq, message);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** The customer's name, else e-mail, else phone, else `fallback`. */
export function customerLabel(chat: Pick<DeskChat, "customer">, fallback: string): string {
  const { name, email, phone } = chat.customer ?? {};
  return name?.trim() || email?.trim() || phone?.trim() || fallback;
}

/** The seq of the newest message (0 for none). */
export function lastSeq(messages: readonly ChatMessage[]): number {
  return messages.length ? (messages[messages.length - 1]?.seq ?? 0) : 0;
}

export interface ChatHeading {
  /** Who the conversation is with. */
  who: string;
  /** The address shown beside a known name: the phone number (SMS) or the e-mail address. */
  contact: string | null;
  /** E-mail: the thread's subject (null when it has none). */
  subject: string | null;
}

/**
 * How a conversation is named in the lists and the open chat's header: SMS by the customer's
 * name and phone number (the number alone when no name is known), e-mail by the name and the
 * address, with the subject, Messenger by the name or `messengerUser`, a web chat as before.
 */
export function chatHeading(chat: Pick<DeskChat, "channel" | "customer" | "subject">, fallback: { customer: string; messengerUser: string }): ChatHeading {
  const name = chat.customer?.name?.trim() || null;
  const email = chat.customer?.email?.trim() || null;
  const phone = chat.customer?.phone?.trim() || null;
  switch (chat.channel) {
    case "sms": {
      const number = phone ? formatPhone(phone) : null;
      return { who: name ?? number ?? fallback.customer, contact: name ? number : null, subject: null };
    }
    case "email":
      return { who: name ?? email ?? fallback.customer, contact: name ? email : null, subject: chat.subject?.trim() || null };
    case "social":
      return { who: name ?? fallback.messengerUser, contact: null, subject: null };
    default:
      return { who: customerLabel(chat, fallback.customer), contact: null, subject: null };
  }
}

/** What the agent typed into the form of a new SMS or e-mail. */
export interface OutboundDraft {
  channel: "sms" | "email";
  to: string;
  subject: string;
  text: string;
  /** The client's name (from the client card), sent along when known. */
  name?: string;
}

/**
 * The checks made before sending, as field errors worded like the backend's (so that the same
 * UI messages show them); the backend checks the number and the address itself.
 */
export function checkOutbound(draft: OutboundDraft): FieldError[] {
  const errors: FieldError[] = [];
  const chars = (text: string) => [...text].length;
  if (!draft.to.trim()) errors.push({ field: "to", message: "required" });
  if (draft.channel === "email") {
    const subject = draft.subject.trim();
    if (!subject) errors.push({ field: "subject", message: "required" });
    else if (chars(subject) > MAX_SUBJECT_CHARS) errors.push({ field: "subject", message: `must be 1 to ${MAX_SUBJECT_CHARS} characters on one line` });
  }
  const text = draft.text.trim();
  if (!text) errors.push({ field: "text", message: "must not be empty" });
  else if (draft.channel === "sms" && chars(text) > SMS_MAX_CHARS) errors.push({ field: "text", message: `an SMS must be at most ${SMS_MAX_CHARS} characters` });
  else if (chars(text) > MAX_TEXT_CHARS) errors.push({ field: "text", message: `must be at most ${MAX_TEXT_CHARS} characters` });
  return errors;
}

/** The body of POST /api/desk/chats/sms|email (without the clientMessageId). */
export function outboundRequest(draft: OutboundDraft): Omit<OpenRequest, "clientMessageId"> {
  const name = draft.name?.trim().slice(0, 100);
  return {
    to: draft.to.trim(),
    ...(draft.channel === "email" ? { subject: draft.subject.trim() } : {}),
    text: draft.text.trim(),
    ...(name ? { name } : {}),
  };
}

/**
 * The clientMessageId of a send: the same one when the very same message is sent again (a retry
 * after a lost answer opens no second conversation), a fresh one when anything changed.
 */
export function sendKey(last: { body: string; id: string } | null, body: string, fresh: () => string): { body: string; id: string } {
  return last && last.body === body ? last : { body, id: fresh() };
}

/** The contact record of a conversation: the id it carries, else `chat:<conversationId>`. */
export function chatContactId(chat: Pick<DeskChat, "conversationId" | "contactId">): string {
  return chat.contactId?.trim() || `chat:${chat.conversationId}`;
}

// ---- Předat and Přizvat vedoucího (CHAT-2) ----

/** A colleague offered by the open chat's Předat or Přizvat vedoucího choice. */
export interface ColleagueChoice {
  username: string;
  name: string;
  presence: PanelPresence;
}

/** Free colleagues first, those logged out last (the rest between), by name within each. */
function byAvailability(a: ColleagueChoice, b: ColleagueChoice): number {
  const rank = (presence: PanelPresence) => (presence === "free" ? 0 : presence === "loggedOut" ? 2 : 1);
  return rank(a.presence) - rank(b.presence) || a.name.localeCompare(b.name, "cs") || a.username.localeCompare(b.username);
}

function choices(directory: Pick<Directory, "agents">, keep: (agent: Directory["agents"][number]) => boolean): ColleagueChoice[] {
  return directory.agents
    .filter(keep)
    .map((agent) => ({ username: agent.username, name: agent.displayName?.trim() || agent.username, presence: agent.presence }))
    .sort(byAvailability);
}

/**
 * The colleagues a chat can be handed to: the transfer panel's agents and supervisors (the
 * desk's directory, live presence) without the agent; free ones first, logged-out ones last.
 */
export function transferColleagues(directory: Pick<Directory, "agents">, me: string): ColleagueChoice[] {
  return choices(directory, (agent) => agent.username !== me);
}

/**
 * The supervisors who can be invited into the chat (the backend takes an active supervisor or
 * administrator): not the agent, not those already in it.
 */
export function inviteCandidates(directory: Pick<Directory, "agents">, me: string, invited: readonly string[] = []): ColleagueChoice[] {
  return choices(
    directory,
    (agent) => agent.username !== me && !invited.includes(agent.username) && (agent.roles.includes("supervisor") || agent.roles.includes("admin")),
  );
}

/** A colleague's name from the directory (the user name when they are not in it or it is not read). */
export function colleagueName(directory: Pick<Directory, "agents"> | null, username: string): string {
  return directory?.agents.find((agent) => agent.username === username)?.displayName?.trim() || username;
}

/** The chat actions whose refusals the panel words itself. */
export type ChatAction = "accept" | "send" | "transfer" | "invite" | "end";

/**
 * The desk's own text (a message key) for a refused chat action, or null for the app's general
 * problem text: the chat limit (the agent's own, or the colleague's on a transfer), a chat
 * taken, ended or no longer the agent's, and the 422s of a transfer or an invitation.
 */
export function chatProblemKey(problem: Problem, action: ChatAction | null): string | null {
  switch (problem.code) {
    case "chat-limit":
      return action === "transfer" ? "desk.chats.problem.colleagueFull" : "desk.chats.problem.full";
    case "chat-taken":
      return "desk.chats.problem.taken";
    case "conversation-ended":
      return "desk.chats.problem.ended";
    case "not-your-chat":
      return "desk.chats.problem.notYours";
    case "conversation-not-found":
      return "desk.chats.problem.notFound";
  }
  const fields = problem.status === 422 ? (problem.errors ?? []).map((error) => error.field) : [];
  if (action === "transfer" && fields.includes("queueId")) return "desk.chats.problem.noQueue";
  if (action === "transfer" && fields.includes("username")) return "desk.chats.problem.notColleague";
  if (action === "invite" && fields.includes("username")) return "desk.chats.problem.notSupervisor";
  return null;
}

// ---- Chats given to the agent (automatic distribution, CHAT-2; a colleague's Předat) ----

/**
 * Which chats came to the agent without their own doing, so that the desk makes them
 * noticeable: Linka's automatic distribution or a colleague's Předat. A `chat` push `assigned`
 * to the agent (`agent` = their user name) for a conversation they do not hold yet counts,
 * unless the agent is taking it themselves (Přijmout: its push says the same) or opened it
 * (Nová SMS / Nový e-mail: such a conversation has no queue, while a chat given out always
 * comes from one, so a push without `queueId` does not count). The push may come before or
 * after the answer of the agent's own request, so their own are noted before the request.
 * Whether it arrived is decided when the lists are read again and show it held.
 */
export class ArrivalTracker {
  /** Pushed as given to the agent, not seen held yet. */
  readonly #coming = new Set<string>();
  /** Taken or opened by the agent themselves; forgotten when a push says it is no longer theirs. */
  readonly #own = new Set<string>();
  /** Given to the agent and not attended to yet: marked in the held list. */
  readonly #fresh = new Set<string>();

  /** The agent takes (Přijmout) or opened the conversation: its `assigned` push is theirs. */
  taking(id: string): void {
    this.#own.add(id);
  }

  /** The agent's own taking was refused: a later assignment of the chat counts again. */
  notTaken(id: string): void {
    this.#own.delete(id);
  }

  /** A WebSocket push; `true` when it gives the agent a chat they do not hold (yet to be seen held). */
  push(message: Record<string, unknown>, me: string, held: readonly string[]): boolean {
    const id = message["conversationId"];
    if (message["type"] !== "chat" || typeof id !== "string" || id === "") return false;
    if (message["status"] !== "assigned" || message["agent"] !== me) {
      // Queued, ended or someone else's now: no longer the agent's own or new.
      this.#own.delete(id);
      this.#coming.delete(id);
      this.#fresh.delete(id);
      return false;
    }
    const queueId = message["queueId"];
    if (held.includes(id) || this.#own.has(id) || typeof queueId !== "string" || queueId === "") return false;
    this.#coming.add(id);
    return true;
  }

  /**
   * The held chats as just read (in the list's order): those given to the agent that are now
   * held, marked new; what is no longer held is no longer new.
   */
  read(held: readonly string[]): string[] {
    const arrived = held.filter((id) => this.#coming.has(id) && !this.#own.has(id));
    for (const id of held) this.#coming.delete(id);
    for (const id of arrived) this.#fresh.add(id);
    for (const id of [...this.#fresh]) if (!held.includes(id)) this.#fresh.delete(id);
    return arrived;
  }

  /** The agent attended to the chat (opened it from the list, or answered in it). */
  seen(id: string): void {
    this.#fresh.delete(id);
  }

  /** Whether the held chat is marked new. */
  isNew(id: string): boolean {
    return this.#fresh.has(id);
  }
}

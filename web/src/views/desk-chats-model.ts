// Pure helpers of the desk's chats: merging transcripts by sequence number (a push and a read
// may bring the same message, in any order), the customer's label and a conversation's heading
// per channel, and the checks and request of an SMS or e-mail the agent sends (a new one).

import type { ChatMessage, DeskChat, OpenRequest } from "../api/chat";
import type { FieldError } from "../api/problem";
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

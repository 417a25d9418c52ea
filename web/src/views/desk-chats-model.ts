// Pure helpers of the desk's chats: merging transcripts by sequence number (a push and a read
// may bring the same message, in any order) and the customer's label.

import type { ChatMessage, DeskChat } from "../api/chat";

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

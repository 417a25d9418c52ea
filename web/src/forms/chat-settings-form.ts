// Nastavení chatu (CHAT-2, OMNI-1…3) as plain strings ↔ the body of PUT /api/admin/settings/chat
// (pure, no DOM). An empty field means the default: null in the body. Přidělování chatů is
// always one of its choices (nothing stored shows as the default, agentsTake).

import { CHAT_DISTRIBUTIONS, CHAT_QUEUE_FIELDS, type ChatDistribution, type ChatSettings, type Json } from "../api/admin";
import type { FieldError } from "../api/problem";

export interface ChatSettingsForm {
  webQueueId: string;
  smsQueueId: string;
  emailQueueId: string;
  socialQueueId: string;
  /** As typed: "" = the default. */
  chatsPerAgent: string;
  /** Přidělování chatů: agentsTake, automatic, or a stored value this app does not know. */
  distribution: string;
}

export function chatSettingsToForm(settings: ChatSettings): ChatSettingsForm {
  return {
    webQueueId: settings.webQueueId ?? "",
    smsQueueId: settings.smsQueueId ?? "",
    emailQueueId: settings.emailQueueId ?? "",
    socialQueueId: settings.socialQueueId ?? "",
    chatsPerAgent: settings.chatsPerAgent === null ? "" : String(settings.chatsPerAgent),
    distribution: settings.distribution ?? CHAT_DISTRIBUTIONS[0],
  };
}

const WHOLE = /^\d+$/;

/**
 * The request body: every field present, empty ones as null. A whole number goes as a number,
 * anything else as typed (checkChatSettingsForm stops it first; the server would name it).
 * The range 1–10 is the server's to check.
 */
export function formToChatSettings(form: ChatSettingsForm): Json {
  const body: Json = {};
  for (const key of CHAT_QUEUE_FIELDS) {
    const id = form[key].trim();
    body[key] = id === "" ? null : id;
  }
  const limit = form.chatsPerAgent.trim();
  body["chatsPerAgent"] = limit === "" ? null : WHOLE.test(limit) ? Number(limit) : limit;
  // The choice as it is: a value the back end does not know is its to refuse (at the field).
  const distribution = form.distribution.trim();
  body["distribution"] = distribution === "" ? null : distribution;
  return body;
}

/** What the form cannot send: a limit that is not a whole number (server's field paths). */
export function checkChatSettingsForm(form: ChatSettingsForm): FieldError[] {
  const limit = form.chatsPerAgent.trim();
  return limit !== "" && !WHOLE.test(limit) ? [{ field: "chatsPerAgent", message: "must be a whole number" }] : [];
}

export interface QueueChoice {
  value: string;
  /** The queue's name and id; null for the default ("" value) and for a missing queue. */
  label: string | null;
  /** A stored queue id that the queue list does not hold (deleted, or the list failed). */
  missing: boolean;
}

/**
 * The options of one channel's queue select: the default first, the queues by name, and the
 * current value when the list does not hold it (so that a stored id is never silently dropped).
 */
export function queueChoices(queues: readonly { queueId: string; name?: string }[], current: string): QueueChoice[] {
  const sorted = [...queues].sort((a, b) => (a.name || a.queueId).localeCompare(b.name || b.queueId, "cs") || a.queueId.localeCompare(b.queueId));
  const choices: QueueChoice[] = [{ value: "", label: null, missing: false }];
  for (const queue of sorted) {
    choices.push({ value: queue.queueId, label: queue.name && queue.name !== queue.queueId ? `${queue.name} (${queue.queueId})` : queue.queueId, missing: false });
  }
  if (current !== "" && !queues.some((queue) => queue.queueId === current)) {
    choices.push({ value: current, label: null, missing: true });
  }
  return choices;
}

export interface DistributionChoice {
  value: string;
  /** One of the ways the back end takes; null for a stored value this app does not know. */
  known: ChatDistribution | null;
}

/**
 * The options of Přidělování chatů: the ways the back end takes, the default first, and the
 * current value when it is none of them (so that it is shown and never silently replaced).
 */
export function distributionChoices(current: string): DistributionChoice[] {
  const choices: DistributionChoice[] = CHAT_DISTRIBUTIONS.map((value) => ({ value, known: value }));
  if (current !== "" && !choices.some((choice) => choice.value === current)) choices.push({ value: current, known: null });
  return choices;
}

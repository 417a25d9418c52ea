// Pure helpers of the callback and voicemail pages (Zpětná volání, Hlasová schránka): phone
// numbers, status and source labels, durations, time windows and the Czech/English messages
// of their 409 problems. No DOM here, so the unit tests run in node.

import { describeProblem, type Problem } from "../api/problem";
import { formatDateTime } from "../format/date";
import { formatPhone } from "../format/phone";
import type { MessageKey } from "../i18n";
import type { Translate } from "../roles";

export interface Slot {
  start: string;
  end: string;
}

/** `+420 601 123 456` for a Czech number in any common form (601123456, 00420…, +420 …). */
export function displayPhone(number: string | null | undefined): string {
  if (!number) return "";
  const compact = number.trim().replace(/[\s().-]+/g, "");
  let e164 = compact;
  if (/^00420\d{9}$/.test(compact)) e164 = `+${compact.slice(2)}`;
  else if (/^420\d{9}$/.test(compact)) e164 = `+${compact}`;
  else if (/^\d{9}$/.test(compact)) e164 = `+420${compact}`;
  return /^\+420\d{9}$/.test(e164) ? formatPhone(e164) : number.trim();
}

const CALLBACK_STATUS: Readonly<Record<string, MessageKey>> = {
  pending: "callbacks.status.pending",
  scheduled: "callbacks.status.scheduled",
  inProgress: "callbacks.status.inProgress",
  done: "callbacks.status.done",
  failed: "callbacks.status.failed",
  cancelled: "callbacks.status.cancelled",
};

/** čeká / naplánováno / volá se — agent / vyřízeno / nezdařilo se / zrušeno. */
export function callbackStatusLabel(status: string, agent: string | undefined, t: Translate): string {
  const key = CALLBACK_STATUS[status];
  if (!key) return status;
  return status === "inProgress" && agent ? `${t(key)} — ${agent}` : t(key);
}

const SOURCE: Readonly<Record<string, MessageKey>> = {
  ivr: "callbacks.source.ivr",
  agent: "callbacks.source.agent",
  missedCall: "callbacks.source.missedCall",
};

export function callbackSourceLabel(kind: string | undefined, t: Translate): string {
  const key = kind ? SOURCE[kind] : undefined;
  return key ? t(key) : (kind ?? "");
}

const OUTCOME: Readonly<Record<string, MessageKey>> = {
  answered: "callbacks.outcome.answered",
  noAnswer: "callbacks.outcome.noAnswer",
  busy: "callbacks.outcome.busy",
  wrongNumber: "callbacks.outcome.wrongNumber",
  cancelled: "callbacks.outcome.cancelled",
};

export function attemptOutcomeLabel(outcome: string | undefined, t: Translate): string {
  const key = outcome ? OUTCOME[outcome] : undefined;
  return key ? t(key) : (outcome ?? "");
}

const VOICEMAIL_STATUS: Readonly<Record<string, MessageKey>> = {
  new: "voicemails.status.new",
  assigned: "voicemails.status.assigned",
  done: "voicemails.status.done",
};

/** nový / přiřazen — agent / vyřízen. */
export function voicemailStatusLabel(status: string, agent: string | undefined, t: Translate): string {
  const key = VOICEMAIL_STATUS[status];
  if (!key) return status;
  return status === "assigned" && agent ? `${t(key)} — ${agent}` : t(key);
}

const ATTRIBUTE: Readonly<Record<string, MessageKey>> = {
  problem: "voicemails.attr.problem",
  insuranceNumber: "voicemails.attr.insuranceNumber",
};

/** What the IVR collected, `Problém: platby; Číslo pojištěnce: 8001011234`, known names translated. */
export function attributesLabel(attributes: Readonly<Record<string, string>> | undefined, t: Translate): string {
  if (!attributes) return "";
  return Object.entries(attributes)
    .map(([name, value]) => {
      const key = ATTRIBUTE[name];
      return `${key ? t(key) : name}: ${value}`;
    })
    .join("; ");
}

/** `m:ss` of a duration in milliseconds (rounded to whole seconds; 65 400 → 1:05). */
export function formatDuration(ms: number | null | undefined): string {
  const total = Math.max(0, Math.round((typeof ms === "number" && Number.isFinite(ms) ? ms : 0) / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${String(seconds).padStart(2, "0")}`;
}

/** `27. 11. 2026 9:00–9:30` (the end's date too when it is another day). */
export function slotLabel(slot: Slot): string {
  const start = formatDateTime(slot.start);
  const end = formatDateTime(slot.end);
  if (!start || !end) return `${slot.start} – ${slot.end}`;
  const startDay = start.slice(0, start.lastIndexOf(" "));
  const endDay = end.slice(0, end.lastIndexOf(" "));
  return startDay === endDay ? `${start}–${end.slice(end.lastIndexOf(" ") + 1)}` : `${start} – ${end}`;
}

/** The requested time window when there is one, else when it becomes due. */
export function callbackWhenLabel(callback: { requestedSlot?: Slot | undefined; dueAt?: string | undefined }): string {
  if (callback.requestedSlot) return slotLabel(callback.requestedSlot);
  return callback.dueAt ? (formatDateTime(callback.dueAt) ?? callback.dueAt) : "";
}

/** The problem codes of the callback and voicemail APIs with a message of their own. */
const CODE_MESSAGES: Readonly<Record<string, MessageKey>> = {
  "callback-claimed": "callbacks.error.callback-claimed",
  "callback-closed": "callbacks.error.callback-closed",
  "callback-not-due": "callbacks.error.callback-not-due",
  "callback-not-claimed": "callbacks.error.callback-not-claimed",
  "agent-has-claim": "callbacks.error.agent-has-claim",
  "callback-changed": "callbacks.error.callback-changed",
  "no-device": "callbacks.error.no-device",
  "callback-not-found": "callbacks.error.callback-not-found",
  "queue-not-allowed": "callbacks.error.queue-not-allowed",
  "voicemail-assigned": "callbacks.error.voicemail-assigned",
  "voicemail-done": "callbacks.error.voicemail-done",
  "voicemail-not-assigned": "callbacks.error.voicemail-not-assigned",
  "voicemail-changed": "callbacks.error.voicemail-changed",
  "assign-not-allowed": "callbacks.error.assign-not-allowed",
  "voicemail-not-found": "callbacks.error.voicemail-not-found",
};

/** The message key of a known code, or null. */
export function callbackProblemKey(code: string | undefined): MessageKey | null {
  return code ? (CODE_MESSAGES[code] ?? null) : null;
}

/**
 * The text of a problem of these pages: the code's own sentence; else, for a 409 with an unknown
 * code, the server's detail; else the app's general message of the problem.
 */
export function callbackProblemText(problem: Problem, t: Translate): string {
  const key = callbackProblemKey(problem.code);
  if (key) return t(key);
  if (problem.status === 409 && problem.detail) return problem.detail;
  const general = describeProblem(problem, t);
  return problem.detail && problem.status !== 0 && problem.code !== "validation-failed" ? `${general} (${problem.detail})` : general;
}

/** The queue ids present in a list, sorted, each once (the filter of agents, who cannot list queues). */
export function queueIdsOf(items: readonly { queueId: string }[], keep: readonly string[] = []): string[] {
  return [...new Set([...items.map((item) => item.queueId), ...keep.filter((id) => id !== "")])].sort((a, b) => a.localeCompare(b));
}

// Field errors of a 422 problem (`errors: [{field, message}]`) → the form fields they belong
// to, with a Czech/English message. The server's messages are short English sentences meant
// for developers, so the UI shows its own text, chosen by the message's meaning.

import type { FieldError, Problem } from "../api/problem";
import type { MessageKey, Params } from "../i18n";

/**
 * One spelling of a field path: `schedule.weekly.monday[0].start`. Also accepts JSON
 * pointers (`/schedule/weekly/monday/0/start`) and a leading `$.`.
 */
export function normalizeField(field: string): string {
  let path = field.trim();
  if (path.startsWith("/")) {
    path = path
      .slice(1)
      .split("/")
      .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
      .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
      .join("");
  }
  return path.replace(/^\$\.?/, "").replace(/\.\[/g, "[");
}

/** The parent paths of a path, nearest first: `a.b[0].c` → `a.b[0]`, `a.b`, `a`. */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  let rest = path;
  for (;;) {
    const cut = Math.max(rest.lastIndexOf("."), rest.lastIndexOf("["));
    if (cut <= 0) return out;
    rest = rest.slice(0, cut);
    out.push(rest);
  }
}

export interface Assigned {
  /** Errors per rendered field path. */
  byField: Map<string, FieldError[]>;
  /** Errors no rendered field can show (listed in the problem box). */
  rest: FieldError[];
}

/**
 * Puts each error on the field of the same path, else on its nearest rendered ancestor
 * (an overlap reported on `…monday[1]` goes to the row of that interval), else in `rest`.
 */
export function assignFieldErrors(errors: readonly FieldError[], known: Iterable<string>): Assigned {
  const fields = new Set(known);
  const byField = new Map<string, FieldError[]>();
  const rest: FieldError[] = [];
  for (const error of errors) {
    const path = normalizeField(error.field);
    const target = [path, ...ancestors(path)].find((candidate) => fields.has(candidate));
    if (target === undefined) {
      rest.push(error);
    } else {
      byField.set(target, [...(byField.get(target) ?? []), { field: path, message: error.message }]);
    }
  }
  return { byField, rest };
}

export function problemFieldErrors(problem: Problem | null): FieldError[] {
  return problem?.errors ?? [];
}

type Rule = [RegExp, MessageKey, ((match: RegExpExecArray) => Params)?];

/** Server message → UI message; the first matching rule wins. */
const RULES: readonly Rule[] = [
  // A queue that does not exist (chat settings: "there is no queue <id>"); first, as the id in
  // the message may hold words of later rules (email-…, phone-…).
  [/there is no queue|no such queue|unknown queue|queue .*(not exist|not found)/i, "field.unknownQueue"],
  // E-mail templates (shared/src/chat/mail_templates.rs): before "unknown".
  [/unknown placeholder (\{\{[^}]*\}\})/i, "field.placeholder", (m) => ({ placeholder: m[1] ?? "" })],
  [/'\{\{' without '\}\}'/, "field.placeholderOpen"],
  // IVR trees (shared/src/ivr/validate.rs); before the general rules, whose words they share.
  [/refers to node `([^`]*)`/i, "field.ivr.dangling", (m) => ({ node: m[1] ?? "" })],
  [/not reachable from entryNode/i, "field.ivr.unreachable"],
  [/loop without exit/i, "field.ivr.noExit"],
  [/loops through branches/i, "field.ivr.instantLoop"],
  [/lead out of this node/i, "field.ivr.self"],
  [/must be one key/i, "field.ivr.key"],
  [/at least one key/i, "field.ivr.noOptions"],
  [/at least one node/i, "field.ivr.noNodes"],
  [/attribute name/i, "field.ivr.attribute"],
  [/storage key/i, "field.ivr.audioKey"],
  [/voice name/i, "field.ivr.voice"],
  [/must be a queue id/i, "field.ivr.queueId"],
  [/status code/i, "field.ivr.status"],
  [/repeats another status/i, "field.duplicate"],
  [/must be # or \*/i, "field.ivr.terminator"],
  [/extension \(1 to 8 digits\) or an E\.164/i, "field.ivr.number"],
  [/exactly one of queueId and schedule/i, "field.ivr.hoursSource"],
  [/between minDigits and (\d+)/i, "field.ivr.maxDigits", (m) => ({ max: m[1] ?? "" })],
  [/at most (\d+) for this validation/i, "field.ivr.validationAtMost", (m) => ({ max: m[1] ?? "" })],
  [/at least (\d+) for this validation/i, "field.ivr.validationAtLeast", (m) => ({ min: m[1] ?? "" })],
  [/must be a whole number/i, "field.wholeNumber"],
  // The agent's mobile (shared/src/users.rs, DESK-2; the user form's own check).
  [/Czech mobile number/i, "field.mobileNumber"],
  [/must differ from agentNumber/i, "field.mobileDevice"],
  [/both the mobile device and number, or neither/i, "field.mobilePair"],
  // Routing plan and PBX devices (shared/src/routing_settings.rs).
  [/PBX device/i, "field.routing.device"],
  [/ending in '\*'/i, "field.routing.numberPattern"],
  [/keypad keys/i, "field.routing.ivrChoice"],
  [/must be unique/i, "field.duplicate"],
  [/\brequired\b|must not be empty|is missing|missing field/i, "field.required"],
  [/lowercase letters/i, "field.id"],
  [/group code/i, "field.group"],
  [/another queue/i, "field.selfOverflow"],
  [/at most (\d+) characters/i, "field.maxLength", (m) => ({ max: m[1] ?? "" })],
  [/E\.?164|phone/i, "field.phone"],
  [/HH:MM|whole minutes|time of day/i, "field.time"],
  [/after start/i, "field.afterStart"],
  [/overlap/i, "field.overlaps"],
  [/at most (\d+) intervals/i, "field.maxIntervals", (m) => ({ max: m[1] ?? "" })],
  [/duplicate/i, "field.duplicate"],
  [/already exists|exists already|already taken/i, "field.exists"],
  [/(\d+) to (\d+) digits/i, "field.digits", (m) => ({ min: m[1] ?? "", max: m[2] ?? "" })],
  [/digits/i, "field.digitsOnly"],
  [/e-?mail/i, "field.email"],
  [/\{clientId\}|https/i, "field.urlTemplate"],
  [/existing user|not an? (known )?user|unknown user|no such user|no user|user .*(not exist|not found)/i, "field.unknownUser"],
  [/unknown|does not exist|no such|not found/i, "field.unknown"],
  [/RFC ?3339|date-time/i, "field.dateTime"],
  [/must not be after to/i, "field.fromAfterTo"],
  [/31 days/i, "field.rangeTooLong"],
  [/date/i, "field.date"],
  [/(\d+) to (\d+) characters/i, "field.length", (m) => ({ min: m[1] ?? "", max: m[2] ?? "" })],
  [/(?:from )?(\d+) (?:to|and|\.\.) (\d+)|(\d+)\.\.(\d+)/i, "field.range", (m) => ({ min: m[1] ?? m[3] ?? "", max: m[2] ?? m[4] ?? "" })],
  [/true or false|boolean/i, "field.boolean"],
  [/must match|pattern|characters|format/i, "field.format"],
];

/** The UI message (key + params) for one field error. */
export function fieldErrorMessage(error: FieldError): { key: MessageKey; params?: Params } {
  const path = normalizeField(error.field);
  if (/(^|\.)urlTemplate$/.test(path)) {
    return { key: "field.urlTemplate" };
  }
  for (const [pattern, key, params] of RULES) {
    const match = pattern.exec(error.message);
    if (match) {
      return params ? { key, params: params(match) } : { key };
    }
  }
  return { key: "field.invalid" };
}

// The admin API of issue 3 for the mock server (in memory), per the shared contract:
//   /api/admin/users[/{username}]            GET list/one, POST, PUT, DELETE (ADM-2/3); the
//                                            optional `mobile` {device, number} (DESK-2): the
//                                            number stored as E.164, left out on PUT = removed
//   /api/admin/queues[/{queueId}]            with openNow + nextChange (Europe/Prague)
//   /api/admin/queues/{queueId}/members[/{username}]
//   /api/admin/break-codes, call-categories, transfer-groups, transfer-lines, client-fields,
//     mail-templates [/{id}]   (mail templates: placeholders checked as the Rust API does;
//     the desk lists the active ones through `mailTemplates()`, see mock-desk.mjs)
//   /api/admin/settings/icis-link            GET, PUT
//   /api/admin/settings/chat                 GET (every field null until set), PUT (queues must
//                                            exist, chatsPerAgent 1..10, distribution agentsTake|
//                                            automatic|null; a queue named here cannot be
//                                            deleted: 409 queue-in-use)
//   /api/admin/audit?from&to&actor&limit&cursor  newest first (SEC-3)
//   /api/admin/ivrs[/{ivrId}], POST /api/admin/ivrs/validate → {valid, problems}   (issue 5)
//   /api/admin/queues/{queueId}/routing, /api/admin/routing/plan, /api/admin/routing/devices
//                                            GET (defaults when nothing is stored), PUT
//   (the checks of these documents: mock-routing.mjs)
// Lists: {items, nextCursor}; 201 + Location on create; 409 `<noun>-exists` (`-in-use`,
// `queue-has-members` on delete); 404 `<noun>-not-found`; 422 `validation-failed` with
// errors[{field, message}] (messages as the Rust API words them). Audit: users as user.*,
// everything else config.create/update/delete with target `<collection>/<id>`.

import { randomUUID } from "node:crypto";
import {
  defaultDevices,
  defaultPlan,
  defaultQueueRouting,
  normalizeDevices,
  normalizePlan,
  normalizeQueueRouting,
  treeQueues,
  validateDevices,
  validatePlan,
  validateQueueRouting,
  validateTree,
} from "./mock-routing.mjs";

const ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const USERNAME = /^[a-z0-9][a-z0-9._-]{1,63}$/;
const GROUP = /^[A-Z][A-Z0-9_-]{1,15}$/;
/** A Czech mobile number as shared/src/identifiers.rs accepts it (spaces dropped), per the contract's pattern. */
const CZECH_MOBILE = /^(\+420|00420)?((60[1-8]|70[2-5]|719|7[2379][0-9])[0-9]{6}|7060[0-9]{5})$/;

/** `mobile` of a user body (DESK-2): {device, number} normalised, or errors named as the Rust API names them. */
function parseMobile(body, errors) {
  const mobile = body.mobile;
  if (mobile === undefined) return undefined;
  if (typeof mobile !== "object" || mobile === null || Array.isArray(mobile)) {
    errors.push({ field: "mobile", message: "must be an object {device, number}" });
    return undefined;
  }
  const device = typeof mobile.device === "string" && /^\d{3,6}$/.test(mobile.device) ? mobile.device : null;
  if (!device) errors.push({ field: "mobile.device", message: "must be the PBX mobile extension: a string of 3 to 6 digits" });
  const compact = typeof mobile.number === "string" ? mobile.number.replace(/\s+/g, "") : "";
  const number = CZECH_MOBILE.test(compact) ? `+420${compact.replace(/^(\+420|00420)/, "")}` : null;
  if (!number) errors.push({ field: "mobile.number", message: "must be a Czech mobile number, e.g. +420601123456" });
  for (const key of Object.keys(mobile).filter((key) => key !== "device" && key !== "number")) errors.push({ field: `mobile.${key.slice(0, 64)}`, message: "is not a known field" });
  if (device && typeof body.agentNumber === "string" && device === body.agentNumber) {
    errors.push({ field: "mobile.device", message: "must differ from agentNumber (the desk phone)" });
  }
  return device && number ? { device, number } : undefined;
}
const ROLES = ["admin", "supervisor", "agent", "wallboard", "recording-listen", "recording-download", "queues", "callbacks", "icis", "chatbot"];
const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const E164 = /^\+[1-9]\d{7,14}$/;
const TARGET_FIELDS = { queue: "queueId", extension: "extension", external: "number", agent: "username", mobile: "number", ivr: "ivrId" };

const CHAT_QUEUE_FIELDS = ["webQueueId", "smsQueueId", "emailQueueId", "socialQueueId"];
const CHAT_DEFAULTS = { webQueueId: null, smsQueueId: null, emailQueueId: null, socialQueueId: null, chatsPerAgent: null, distribution: null };
/** The chat setting `distribution` (ChatDistribution in shared/src/chat/settings.rs); null = agentsTake. */
const CHAT_DISTRIBUTIONS = ["agentsTake", "automatic"];

const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const b64 = (text) => Buffer.from(text, "utf8").toString("base64url");
const unb64 = (text) => Buffer.from(text, "base64url").toString("utf8");

// ---- Europe/Prague wall clock ---------------------------------------------------------------

const pragueFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/Prague",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

function pragueParts(ms) {
  const out = {};
  for (const part of pragueFormat.formatToParts(new Date(ms))) if (part.type !== "literal") out[part.type] = Number(part.value);
  return out;
}

/** UTC ms of a Prague wall-clock time (minutes from local midnight may be 1440). */
function pragueToUtc(y, m, d, minutes) {
  const wall = Date.UTC(y, m - 1, d, 0, minutes);
  let guess = wall;
  for (let i = 0; i < 2; i++) {
    const p = pragueParts(guess);
    guess += wall - Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  }
  return guess;
}

function easterSunday(year) {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return Date.UTC(year, month - 1, day);
}

export function isCzechHoliday(y, m, d) {
  const fixed = ["1-1", "5-1", "5-8", "7-5", "7-6", "9-28", "10-28", "11-17", "12-24", "12-25", "12-26"];
  if (fixed.includes(`${m}-${d}`)) return true;
  const easter = easterSunday(y);
  const day = Date.UTC(y, m - 1, d);
  return day === easter - 2 * 86_400_000 || day === easter + 86_400_000;
}

const minutesOf = (time, isEnd) => {
  const [h, m] = time.split(":").map(Number);
  const value = h * 60 + m;
  return isEnd && value === 0 ? 1440 : value;
};

function intervalsOn(schedule, y, m, d) {
  const iso = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
  const exception = schedule.exceptions.find((e) => e.date === iso);
  if (exception) return exception.intervals;
  if (schedule.closedOnPublicHolidays && isCzechHoliday(y, m, d)) return [];
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  return schedule.weekly[DAYS[weekday]] ?? [];
}

/** openNow and nextChange (merged ranges, 400 days ahead) like the Rust QueueSchedule. */
export function scheduleState(schedule, now = Date.now()) {
  const today = pragueParts(now);
  let ranges = [];
  for (let offset = -1; offset <= 401; offset++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + offset));
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    const day = intervalsOn(schedule, y, m, d)
      .map((i) => [pragueToUtc(y, m, d, minutesOf(i.start, false)), pragueToUtc(y, m, d, minutesOf(i.end, true))])
      .sort((a, b) => a[0] - b[0]);
    ranges.push(...day);
  }
  const merged = [];
  for (const [start, end] of ranges) {
    const last = merged.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  ranges = merged;
  const openNow = ranges.some(([start, end]) => start <= now && now < end);
  let next = null;
  for (const [index, [start, end]] of ranges.entries()) {
    const isLast = index === ranges.length - 1;
    if (now < start) {
      next = start;
      break;
    }
    if (now < end) {
      next = isLast ? null : end;
      break;
    }
  }
  return { openNow, nextChange: next === null ? null : new Date(next).toISOString().replace(/\.000Z$/, "Z") };
}

// ---- validation -------------------------------------------------------------------------------

function validDate(text) {
  const match = DATE.exec(text ?? "");
  if (!match) return false;
  const [, y, m, d] = match.map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function checkIntervals(path, list, errors) {
  if (!Array.isArray(list)) return errors.push({ field: path, message: "must be an array of intervals" });
  if (list.length > 4) errors.push({ field: path, message: "at most 4 intervals per day" });
  list.forEach((interval, i) => {
    if (!isObject(interval)) return errors.push({ field: `${path}[${i}]`, message: "must be an interval {start, end}" });
    let ok = true;
    for (const key of ["start", "end"]) {
      if (!TIME.test(interval[key] ?? "")) {
        errors.push({ field: `${path}[${i}].${key}`, message: "must be whole minutes (HH:MM)" });
        ok = false;
      }
    }
    if (!ok) return;
    const [start, end] = [minutesOf(interval.start, false), minutesOf(interval.end, true)];
    if (start >= end) return errors.push({ field: `${path}[${i}].end`, message: "must be after start" });
    list.slice(0, i).forEach((other, j) => {
      if (!TIME.test(other?.start ?? "") || !TIME.test(other?.end ?? "")) return;
      const [os, oe] = [minutesOf(other.start, false), minutesOf(other.end, true)];
      if (os < oe && start < oe && os < end) errors.push({ field: `${path}[${i}]`, message: `overlaps ${path}[${j}]` });
    });
  });
}

function checkTarget(path, target, errors, kinds) {
  if (!isObject(target) || !kinds.includes(target.kind)) {
    return errors.push({ field: `${path}.kind`, message: `must be one of ${kinds.join(", ")}` });
  }
  const field = TARGET_FIELDS[target.kind];
  const value = target[field];
  const ok =
    typeof value === "string" &&
    (target.kind === "extension" ? /^\d{1,8}$/.test(value) : target.kind === "external" || target.kind === "mobile" ? E164.test(value) : value.trim() !== "");
  if (!ok) {
    const message =
      target.kind === "extension" ? "must be 1 to 8 digits" : target.kind === "external" || target.kind === "mobile" ? "must be an E.164 number such as +420601123456" : "required";
    errors.push({ field: `${path}.${field}`, message });
  }
}

function checkKnown(body, allowed, errors) {
  for (const key of Object.keys(body)) if (!allowed.includes(key)) errors.push({ field: key, message: "is not a known field" });
}

function checkName(body, key, errors, max = 100) {
  const value = body[key];
  if (value === undefined) errors.push({ field: key, message: "is required" });
  else if (typeof value !== "string" || !value.trim() || [...value].length > max) errors.push({ field: key, message: `must be a string of 1 to ${max} characters` });
}

function checkInt(body, key, min, max, errors, { required = true, nullable = false } = {}) {
  const value = body[key];
  if (value === undefined) {
    if (required) errors.push({ field: key, message: "is required" });
  } else if (value === null) {
    if (!nullable) errors.push({ field: key, message: `must be between ${min} and ${max}` });
  } else if (!Number.isInteger(value) || value < min || value > max) {
    errors.push({ field: key, message: `must be between ${min} and ${max}` });
  }
}

function checkBool(body, key, errors) {
  if (body[key] !== undefined && typeof body[key] !== "boolean") errors.push({ field: key, message: "must be true or false" });
}

/** Shared by POST (with the id) and PUT (id from the path; a matching id in the body is allowed). */
function checkId(body, idKey, pathId, errors) {
  if (pathId === null) {
    if (body[idKey] === undefined) errors.push({ field: idKey, message: "is required" });
    else if (typeof body[idKey] !== "string" || !ID.test(body[idKey])) {
      errors.push({ field: idKey, message: "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit" });
    }
  } else if (body[idKey] !== undefined && body[idKey] !== pathId) {
    errors.push({ field: idKey, message: "must equal the id in the path" });
  }
}

/** The e-mail template checks of shared/src/chat/mail_templates.rs (messages as it words them). */
const PLACEHOLDERS = ["jmeno", "agent", "datum"];
function checkTemplateText(body, key, max, oneLine, errors) {
  const text = body[key];
  if (typeof text !== "string" || !text.trim() || [...text].length > max) return errors.push({ field: key, message: `must be 1 to ${max} characters` });
  if (oneLine ? /[\u0000-\u001f\u007f]/.test(text) : /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) {
    return errors.push({ field: key, message: oneLine ? "must be one line without control characters" : "must not hold control characters" });
  }
  let rest = text;
  for (;;) {
    const start = rest.indexOf("{{");
    if (start < 0) return;
    const after = rest.slice(start + 2);
    const end = after.indexOf("}}");
    if (end < 0) return errors.push({ field: key, message: "has a '{{' without '}}'" });
    const name = after.slice(0, end).trim();
    if (!PLACEHOLDERS.includes(name)) {
      errors.push({ field: key, message: `has an unknown placeholder {{${name}}}; allowed: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ")}` });
    }
    rest = after.slice(end + 2);
  }
}

// ---- the store --------------------------------------------------------------------------------

export function createAdminApi({ users, send, problem, readBody }) {
  const audit = []; // oldest first
  const queues = new Map();
  const members = new Map(); // queueId → Map(username → member)
  let icisLink = null;
  let chatSettings = { ...CHAT_DEFAULTS };
  const ivrTrees = new Map();
  const queueRouting = new Map();
  let plan = defaultPlan();
  let devices = defaultDevices();
  const refs = { queueExists: (id) => queues.has(id), ivrExists: (id) => ivrTrees.has(id) };
  const planEntries = () => [...plan.rules.map((rule) => rule.entry), plan.defaultEntry];

  function record(claims, action, target, status, details = {}) {
    audit.push({
      id: randomUUID(),
      at: new Date().toISOString(),
      actor: claims.preferred_username ?? claims.sub,
      actorRoles: claims.roles ?? [],
      clientId: claims.azp,
      action,
      ...(target ? { target } : {}),
      outcome: status < 300 ? "success" : status === 403 ? "denied" : "failed",
      status,
      details,
    });
  }

  function page(res, url, items, key) {
    const limit = Math.min(Math.max(Number(url.searchParams.get("limit") ?? 50) || 50, 1), 100);
    const cursor = url.searchParams.get("cursor");
    let start = 0;
    if (cursor) {
      let after;
      try {
        after = unb64(cursor);
      } catch {
        after = null;
      }
      if (!after) return problem(res, 400, "invalid-cursor", "Bad cursor.", { errors: [{ field: "cursor", message: "must be the nextCursor of a previous page" }] });
      start = items.findIndex((item) => key(item) > after);
      if (start < 0) start = items.length;
    }
    const slice = items.slice(start, start + limit);
    const more = start + limit < items.length;
    return send(res, 200, { items: slice, nextCursor: more && slice.length ? b64(key(slice.at(-1))) : null });
  }

  // ---- users ----

  function userView(user) {
    return {
      username: user.username,
      displayName: user.name,
      name: user.name,
      roles: user.roles,
      groups: user.groups ?? [],
      ...(user.email ? { email: user.email } : {}),
      ...(user.agentNumber ? { agentNumber: user.agentNumber } : {}),
      ...(user.mobile ? { mobile: { device: user.mobile.device, number: user.mobile.number } } : {}),
      active: user.active !== false,
      createdAt: user.createdAt ?? "2026-01-01T00:00:00Z",
      updatedAt: user.updatedAt ?? "2026-01-01T00:00:00Z",
    };
  }

  function validateUser(body, isCreate) {
    const errors = [];
    checkKnown(body, [...(isCreate ? ["username"] : []), "displayName", "roles", "groups", "email", "agentNumber", "mobile", "active"], errors);
    if (isCreate) {
      if (body.username === undefined) errors.push({ field: "username", message: "is required" });
      else if (typeof body.username !== "string" || !USERNAME.test(body.username)) errors.push({ field: "username", message: "must match ^[a-z0-9][a-z0-9._-]{1,63}$" });
    }
    checkName(body, "displayName", errors);
    if (body.roles === undefined) errors.push({ field: "roles", message: "is required" });
    else if (!Array.isArray(body.roles) || body.roles.length > 16 || !body.roles.every((r) => ROLES.includes(r))) {
      errors.push({ field: "roles", message: 'must be an array of role names, e.g. ["agent"]' });
    }
    if (body.groups !== undefined && (!Array.isArray(body.groups) || body.groups.length > 16 || !body.groups.every((g) => typeof g === "string" && GROUP.test(g)))) {
      errors.push({ field: "groups", message: 'must be an array of group codes (^[A-Z][A-Z0-9_-]{1,15}$), e.g. ["KKC"]' });
    }
    if (body.email !== undefined && (typeof body.email !== "string" || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(body.email))) {
      errors.push({ field: "email", message: "must be an e-mail address" });
    }
    if (body.agentNumber !== undefined && (typeof body.agentNumber !== "string" || !/^\d{3,6}$/.test(body.agentNumber))) {
      errors.push({ field: "agentNumber", message: "must be a string of 3 to 6 digits" });
    }
    parseMobile(body, errors);
    checkBool(body, "active", errors);
    return errors;
  }

  function fromUserBody(username, body, previous) {
    const now = new Date().toISOString();
    return {
      username,
      name: body.displayName,
      roles: [...new Set(body.roles)],
      groups: [...new Set(body.groups ?? [])],
      ...(body.email ? { email: body.email } : {}),
      ...(body.agentNumber ? { agentNumber: body.agentNumber } : {}),
      ...(body.mobile ? { mobile: parseMobile(body, []) } : {}),
      active: body.active !== false,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
  }

  // ---- queues ----

  function validateQueue(body, pathId) {
    const errors = [];
    checkKnown(body, ["queueId", "name", "group", "priority", "schedule", "overflow", "openNow", "nextChange"], errors);
    checkId(body, "queueId", pathId, errors);
    checkName(body, "name", errors);
    if (body.group !== undefined && body.group !== null && (typeof body.group !== "string" || !GROUP.test(body.group))) {
      errors.push({ field: "group", message: "must be a group code such as KKC, AS or EXT" });
    }
    if (body.overflow?.kind === "queue" && body.overflow.queueId === (pathId ?? body.queueId)) {
      errors.push({ field: "overflow.queueId", message: "must be another queue than this one" });
    }
    checkInt(body, "priority", 1, 10, errors, { required: false });
    const schedule = body.schedule;
    if (schedule !== undefined) {
      if (!isObject(schedule)) errors.push({ field: "schedule", message: "must be an object" });
      else {
        if (schedule.timezone !== undefined && schedule.timezone !== "Europe/Prague") errors.push({ field: "schedule.timezone", message: "must be Europe/Prague" });
        if (schedule.weekly !== undefined) {
          if (!isObject(schedule.weekly)) errors.push({ field: "schedule.weekly", message: "must be an object" });
          else {
            for (const key of Object.keys(schedule.weekly)) if (!DAYS.includes(key)) errors.push({ field: `schedule.weekly.${key}`, message: "is not a known field" });
            for (const day of DAYS) if (schedule.weekly[day] !== undefined) checkIntervals(`schedule.weekly.${day}`, schedule.weekly[day], errors);
          }
        }
        if (schedule.exceptions !== undefined) {
          if (!Array.isArray(schedule.exceptions)) errors.push({ field: "schedule.exceptions", message: "must be an array" });
          else
            schedule.exceptions.forEach((exception, i) => {
              if (!validDate(exception?.date)) errors.push({ field: `schedule.exceptions[${i}].date`, message: "must be a date (YYYY-MM-DD)" });
              else if (schedule.exceptions.slice(0, i).some((other) => other?.date === exception.date)) {
                errors.push({ field: `schedule.exceptions[${i}].date`, message: "duplicate date" });
              }
              checkIntervals(`schedule.exceptions[${i}].intervals`, exception?.intervals ?? [], errors);
            });
        }
        if (schedule.closedOnPublicHolidays !== undefined && typeof schedule.closedOnPublicHolidays !== "boolean") {
          errors.push({ field: "schedule.closedOnPublicHolidays", message: "must be true or false" });
        }
      }
    }
    if (body.overflow !== undefined && body.overflow !== null) checkTarget("overflow", body.overflow, errors, Object.keys(TARGET_FIELDS));
    return errors;
  }

  function normalizeQueue(body, queueId) {
    const weekly = Object.fromEntries(DAYS.map((day) => [day, body.schedule?.weekly?.[day] ?? []]));
    return {
      queueId,
      name: body.name,
      ...(body.group ? { group: body.group } : {}),
      priority: body.priority ?? 5,
      schedule: {
        timezone: "Europe/Prague",
        weekly,
        exceptions: body.schedule?.exceptions ?? [],
        closedOnPublicHolidays: body.schedule?.closedOnPublicHolidays ?? false,
      },
      overflow: body.overflow ?? null,
    };
  }

  const queueView = (queue) => ({ ...queue, ...scheduleState(queue.schedule) });

  // ---- simple collections ----

  const simple = {
    "break-codes": {
      idKey: "code",
      action: "break-code",
      items: new Map(),
      validate(body, pathId, errors) {
        checkKnown(body, ["code", "name", "kind", "maxMinutes", "active"], errors);
        checkId(body, "code", pathId, errors);
        checkName(body, "name", errors);
        if (!["private", "work"].includes(body.kind)) errors.push({ field: "kind", message: "must be one of private, work" });
        checkInt(body, "maxMinutes", 1, 480, errors, { required: false, nullable: true });
        checkBool(body, "active", errors);
      },
      normalize: (body, id) => ({ code: id, name: body.name, kind: body.kind, maxMinutes: body.maxMinutes ?? null, active: body.active !== false }),
    },
    "call-categories": {
      idKey: "categoryId",
      action: "call-category",
      items: new Map(),
      validate(body, pathId, errors) {
        checkKnown(body, ["categoryId", "name", "parentId", "active"], errors);
        checkId(body, "categoryId", pathId, errors);
        checkName(body, "name", errors);
        if (body.parentId !== undefined && body.parentId !== null && !this.items.has(body.parentId)) {
          errors.push({ field: "parentId", message: "does not exist" });
        }
        checkBool(body, "active", errors);
      },
      normalize: (body, id) => ({ categoryId: id, name: body.name, parentId: body.parentId ?? null, active: body.active !== false }),
    },
    "client-fields": {
      idKey: "key",
      action: "client-field",
      items: new Map(),
      validate(body, pathId, errors) {
        checkKnown(body, ["key", "label", "type", "options", "required", "editable", "inCard", "order", "active"], errors);
        checkId(body, "key", pathId, errors);
        if (!isObject(body.label)) errors.push({ field: "label", message: "is required" });
        else for (const lang of ["cs", "en"]) checkName(body.label, lang, { push: (error) => errors.push({ ...error, field: `label.${lang}` }) });
        if (!["text", "textarea", "date", "email", "phone", "select"].includes(body.type)) errors.push({ field: "type", message: "must be a field type" });
        if (body.type === "select" && (!Array.isArray(body.options) || body.options.length === 0)) errors.push({ field: "options", message: "a select needs at least one option" });
        for (const flag of ["required", "editable", "inCard", "active"]) checkBool(body, flag, errors);
        checkInt(body, "order", 0, 999, errors, { required: false });
      },
      normalize: (body, id) => ({
        key: id,
        label: body.label,
        type: body.type,
        ...(body.type === "select" ? { options: body.options } : {}),
        required: body.required === true,
        editable: body.editable !== false,
        inCard: body.inCard === true,
        order: body.order ?? 500,
        active: body.active !== false,
      }),
    },
    "mail-templates": {
      idKey: "templateId",
      action: "mail-template",
      items: new Map(),
      validate(body, pathId, errors) {
        checkKnown(body, ["templateId", "name", "subject", "body", "active"], errors);
        checkId(body, "templateId", pathId, errors);
        checkTemplateText(body, "name", 80, true, errors);
        checkTemplateText(body, "subject", 200, true, errors);
        checkTemplateText(body, "body", 4000, false, errors);
        checkBool(body, "active", errors);
      },
      normalize: (body, id) => ({ templateId: id, name: body.name, subject: body.subject, body: body.body, active: body.active !== false }),
    },
    "transfer-groups": {
      idKey: "groupId",
      action: "transfer-group",
      items: new Map(),
      validate(body, pathId, errors) {
        checkKnown(body, ["groupId", "name", "order"], errors);
        checkId(body, "groupId", pathId, errors);
        checkName(body, "name", errors);
        checkInt(body, "order", 0, 1000, errors, { required: false });
      },
      normalize: (body, id) => ({ groupId: id, name: body.name, order: body.order ?? 0 }),
    },
    "transfer-lines": {
      idKey: "lineId",
      action: "transfer-line",
      items: new Map(),
      validate(body, pathId, errors) {
        checkKnown(body, ["lineId", "label", "groupId", "target", "order"], errors);
        checkId(body, "lineId", pathId, errors);
        checkName(body, "label", errors);
        if (typeof body.groupId !== "string" || !simple["transfer-groups"].items.has(body.groupId)) {
          errors.push({ field: "groupId", message: "does not exist" });
        }
        checkTarget("target", body.target, errors, ["queue", "extension", "external", "agent", "mobile"]);
        checkInt(body, "order", 0, 1000, errors, { required: false });
      },
      normalize: (body, id) => ({ lineId: id, label: body.label, groupId: body.groupId, target: body.target, order: body.order ?? 0 }),
    },
  };

  async function json(req, res) {
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
      problem(res, 415, "unsupported-media-type", "Send application/json.");
      return undefined;
    }
    try {
      const body = JSON.parse(await readBody(req));
      if (!isObject(body)) throw new Error("not an object");
      return body;
    } catch {
      problem(res, 400, "body-malformed", "The body is not a JSON object.");
      return undefined;
    }
  }

  const invalid = (res, errors) => problem(res, 422, "validation-failed", "The request is not valid.", { errors });
  const conflict = (res, noun) => problem(res, 409, `${noun}-exists`, `A ${noun} with this id already exists.`);
  const notFound = (res, noun = "record") => problem(res, 404, `${noun}-not-found`, `There is no ${noun} with this id.`);

  function created(res, location, body) {
    return send(res, 201, body, { Location: location });
  }

  /** Handles /api/admin/* for an admin; returns false when the path is not an admin path. */
  async function handle(req, res, url, claims) {
    const path = url.pathname;
    const method = req.method;
    const parts = path.split("/").slice(3).map(decodeURIComponent); // after /api/admin
    const [resource, id, sub, subId] = parts;
    // A helper that answers and records.
    const done = (action, target, status, details) => record(claims, action, target, status, details);

    if (resource === "audit" && parts.length === 1 && method === "GET") {
      const errors = [];
      const parse = (name) => {
        const text = url.searchParams.get(name);
        if (text === null) return null;
        const ms = Date.parse(text);
        if (Number.isNaN(ms) || !/T/.test(text)) errors.push({ field: name, message: "must be an RFC 3339 date-time" });
        return ms;
      };
      const to = parse("to") ?? Date.now();
      const from = parse("from") ?? to - 86_400_000;
      const actor = url.searchParams.get("actor");
      if (actor !== null && !/^[A-Za-z0-9._@-]{1,64}$/.test(actor)) errors.push({ field: "actor", message: "must be a username" });
      if (!errors.length && from > to) errors.push({ field: "from", message: "must not be after to" });
      if (!errors.length && to - from > 31 * 86_400_000) errors.push({ field: "to", message: "must be at most 31 days after from" });
      if (errors.length) return problem(res, 400, "invalid-parameter", "A query parameter is not valid.", { errors });
      const items = audit
        .filter((r) => {
          const at = Date.parse(r.at);
          return at >= from && at <= to && (actor === null || r.actor === actor);
        })
        .reverse()
        .map((r, index) => ({ ...r, _key: String(index).padStart(10, "0") }));
      const limit = Math.min(Math.max(Number(url.searchParams.get("limit") ?? 50) || 50, 1), 100);
      const cursor = url.searchParams.get("cursor");
      const start = cursor ? Number(unb64(cursor)) || 0 : 0;
      const slice = items.slice(start, start + limit).map(({ _key, ...r }) => r);
      const more = start + limit < items.length;
      send(res, 200, { items: slice, nextCursor: more ? b64(String(start + limit)) : null });
      done("audit.read", undefined, 200);
      return true;
    }

    if (resource === "users") {
      if (parts.length === 1 && method === "GET") {
        const all = [...users.values()].sort((a, b) => a.username.localeCompare(b.username)).map(userView);
        page(res, url, all, (u) => u.username);
        done("users.list", undefined, 200);
        return true;
      }
      if (parts.length === 1 && method === "POST") {
        const body = await json(req, res);
        if (!body) return true;
        const errors = validateUser(body, true);
        if (errors.length) return invalid(res, errors), done("user.create", body.username, 422), true;
        if (users.has(body.username)) return problem(res, 409, "user-exists", "A user with this username already exists."), done("user.create", body.username, 409), true;
        const user = fromUserBody(body.username, body, null);
        users.set(user.username, user);
        created(res, `/api/admin/users/${encodeURIComponent(user.username)}`, userView(user));
        done("user.create", user.username, 201);
        return true;
      }
      if (parts.length === 2) {
        const user = users.get(id);
        if (method === "GET") {
          user ? send(res, 200, userView(user)) : problem(res, 404, "user-not-found", "There is no user with this username.");
          done("user.read", id, user ? 200 : 404);
          return true;
        }
        if (method === "PUT") {
          if (!user) return problem(res, 404, "user-not-found", "There is no user with this username."), done("user.update", id, 404), true;
          const body = await json(req, res);
          if (!body) return true;
          const errors = validateUser(body, false);
          if (errors.length) return invalid(res, errors), done("user.update", id, 422), true;
          const updated = fromUserBody(id, body, user);
          const changed = ["name", "roles", "groups", "email", "agentNumber", "mobile", "active"].filter((k) => JSON.stringify(user[k]) !== JSON.stringify(updated[k]));
          users.set(id, updated);
          send(res, 200, userView(updated));
          done("user.update", id, 200, { changed: changed.map((k) => (k === "name" ? "displayName" : k)).join(",") });
          return true;
        }
        if (method === "DELETE") {
          if (!user) return problem(res, 404, "user-not-found", "There is no user with this username."), done("user.delete", id, 404), true;
          users.delete(id);
          res.writeHead(204, { "Cache-Control": "no-store" });
          res.end();
          done("user.delete", id, 204);
          return true;
        }
      }
      return false;
    }

    if (resource === "queues") {
      if (parts.length === 1 && method === "GET") {
        const all = [...queues.values()].sort((a, b) => a.queueId.localeCompare(b.queueId)).map(queueView);
        return page(res, url, all, (q) => q.queueId), true;
      }
      if (parts.length === 1 && method === "POST") {
        const body = await json(req, res);
        if (!body) return true;
        const errors = validateQueue(body, null);
        if (errors.length) return invalid(res, errors), done("config.create", `queues/${body.queueId}`, 422), true;
        if (queues.has(body.queueId)) return conflict(res, "queue"), done("config.create", `queues/${body.queueId}`, 409), true;
        const queue = normalizeQueue(body, body.queueId);
        queues.set(queue.queueId, queue);
        created(res, `/api/admin/queues/${queue.queueId}`, queueView(queue));
        done("config.create", `queues/${queue.queueId}`, 201);
        return true;
      }
      if (parts.length === 2) {
        const queue = queues.get(id);
        if (method === "GET") return (queue ? send(res, 200, queueView(queue)) : notFound(res, "queue")), true;
        if (method === "PUT") {
          if (!queue) return notFound(res, "queue"), done("config.update", `queues/${id}`, 404), true;
          const body = await json(req, res);
          if (!body) return true;
          const errors = validateQueue(body, id);
          if (errors.length) return invalid(res, errors), done("config.update", `queues/${id}`, 422), true;
          const updated = normalizeQueue(body, id);
          queues.set(id, updated);
          send(res, 200, queueView(updated));
          done("config.update", `queues/${id}`, 200);
          return true;
        }
        if (method === "DELETE") {
          if (!queue) return notFound(res, "queue"), done("config.delete", `queues/${id}`, 404), true;
          if ((members.get(id)?.size ?? 0) > 0) {
            problem(res, 409, "queue-has-members", "The queue still has members; remove them first.");
            return done("config.delete", `queues/${id}`, 409), true;
          }
          const pointsHere = (target) => target?.kind === "queue" && target.queueId === id;
          if (
            [...queues.values()].some((q) => pointsHere(q.overflow)) ||
            [...simple["transfer-lines"].items.values()].some((l) => pointsHere(l.target)) ||
            [...ivrTrees.values()].some((tree) => treeQueues(tree).includes(id)) ||
            planEntries().some((entry) => entry?.queueId === id || entry?.target?.queueId === id) ||
            id in devices.queues
          ) {
            problem(res, 409, "queue-in-use", "Another queue overflows to this queue or a transfer-panel line points at it.");
            return done("config.delete", `queues/${id}`, 409), true;
          }
          if (CHAT_QUEUE_FIELDS.some((key) => chatSettings[key] === id)) {
            problem(res, 409, "queue-in-use", "The chat settings send a text channel to this queue.");
            return done("config.delete", `queues/${id}`, 409), true;
          }
          queues.delete(id);
          members.delete(id);
          queueRouting.delete(id);
          res.writeHead(204).end();
          done("config.delete", `queues/${id}`, 204);
          return true;
        }
      }
      if (sub === "routing" && parts.length === 3) {
        if (!queues.has(id)) return notFound(res, "queue"), true;
        if (method === "GET") return send(res, 200, queueRouting.get(id) ?? defaultQueueRouting(id)), true;
        if (method === "PUT") {
          const body = await json(req, res);
          if (!body) return true;
          const errors = validateQueueRouting(body);
          if (body.queueId !== undefined && body.queueId !== id) errors.push({ field: "queueId", message: "must equal the id in the path" });
          if (errors.length) return invalid(res, errors), done("config.update", `queues/${id}/routing`, 422), true;
          const stored = normalizeQueueRouting(id, body);
          queueRouting.set(id, stored);
          send(res, 200, stored);
          done("config.update", `queues/${id}/routing`, 200);
          return true;
        }
        return false;
      }
      if (sub === "members") {
        if (!queues.has(id)) return notFound(res, "queue"), true;
        const list = members.get(id) ?? new Map();
        members.set(id, list);
        if (parts.length === 3 && method === "GET") {
          const all = [...list.values()].sort((a, b) => a.username.localeCompare(b.username));
          return page(res, url, all, (m) => m.username), true;
        }
        if (parts.length === 4 && method === "PUT") {
          const body = await json(req, res);
          if (!body) return true;
          const errors = [];
          if (!users.has(subId)) errors.push({ field: "username", message: "is not a user" });
          checkKnown(body, ["skillLevel", "priority", "locked"], errors);
          checkInt(body, "skillLevel", 1, 10, errors);
          checkInt(body, "priority", 1, 10, errors);
          if (body.locked !== undefined && typeof body.locked !== "boolean") errors.push({ field: "locked", message: "must be true or false" });
          if (errors.length) return invalid(res, errors), done("config.update", `queues/${id}/members/${subId}`, 422), true;
          const member = { queueId: id, username: subId, skillLevel: body.skillLevel, priority: body.priority ?? 5, locked: body.locked ?? false };
          list.set(subId, member);
          send(res, 200, member);
          done("config.update", `queues/${id}/members/${subId}`, 200);
          return true;
        }
        if (parts.length === 4 && method === "DELETE") {
          if (!list.has(subId)) return notFound(res, "member"), true;
          list.delete(subId);
          res.writeHead(204).end();
          done("config.delete", `queues/${id}/members/${subId}`, 204);
          return true;
        }
      }
      return false;
    }

    if (resource === "ivrs") {
      const at = (ivrId) => `ivrs/${ivrId}`;
      if (parts.length === 2 && id === "validate" && method === "POST") {
        const body = await json(req, res);
        if (!body) return true;
        const problems = validateTree(body, refs);
        return send(res, 200, { valid: problems.length === 0, problems }), true;
      }
      if (parts.length === 1 && method === "GET") {
        const all = [...ivrTrees.values()].sort((a, b) => a.ivrId.localeCompare(b.ivrId));
        return page(res, url, all, (tree) => tree.ivrId), true;
      }
      if (parts.length === 1 && method === "POST") {
        const body = await json(req, res);
        if (!body) return true;
        const errors = validateTree(body, refs);
        if (errors.length) return invalid(res, errors), done("config.create", at(body.ivrId), 422), true;
        if (ivrTrees.has(body.ivrId)) return conflict(res, "ivr"), done("config.create", at(body.ivrId), 409), true;
        const tree = { ...body, active: body.active !== false };
        ivrTrees.set(tree.ivrId, tree);
        created(res, `/api/admin/ivrs/${tree.ivrId}`, tree);
        done("config.create", at(tree.ivrId), 201);
        return true;
      }
      if (parts.length === 2) {
        const tree = ivrTrees.get(id);
        if (method === "GET") return (tree ? send(res, 200, tree) : notFound(res, "ivr")), true;
        if (method === "PUT") {
          if (!tree) return notFound(res, "ivr"), done("config.update", at(id), 404), true;
          const body = await json(req, res);
          if (!body) return true;
          const errors = validateTree(body, { ...refs, pathId: id });
          if (errors.length) return invalid(res, errors), done("config.update", at(id), 422), true;
          const updated = { ivrId: id, ...body, active: body.active !== false };
          ivrTrees.set(id, updated);
          send(res, 200, updated);
          done("config.update", at(id), 200);
          return true;
        }
        if (method === "DELETE") {
          if (!tree) return notFound(res, "ivr"), done("config.delete", at(id), 404), true;
          const pointsHere = (target) => target?.kind === "ivr" && target.ivrId === id;
          if ([...queues.values()].some((q) => pointsHere(q.overflow)) || planEntries().some((entry) => entry?.ivrId === id || entry?.target?.ivrId === id) || id in devices.ivrs) {
            problem(res, 409, "ivr-in-use", "A queue overflows to this IVR tree, the routing plan sends calls to it or it has a PBX device.");
            return done("config.delete", at(id), 409), true;
          }
          ivrTrees.delete(id);
          res.writeHead(204).end();
          done("config.delete", at(id), 204);
          return true;
        }
      }
      return false;
    }

    if (resource === "routing" && parts.length === 2 && (id === "plan" || id === "devices")) {
      const isPlan = id === "plan";
      if (method === "GET") return send(res, 200, isPlan ? plan : devices), true;
      if (method === "PUT") {
        const body = await json(req, res);
        if (!body) return true;
        const errors = isPlan ? validatePlan(body, refs) : validateDevices(body, refs);
        if (errors.length) return invalid(res, errors), done("config.update", `routing/${id}`, 422), true;
        if (isPlan) plan = normalizePlan(body);
        else devices = normalizeDevices(body);
        send(res, 200, isPlan ? plan : devices);
        done("config.update", `routing/${id}`, 200);
        return true;
      }
      return false;
    }

    if (resource === "settings" && id === "icis-link" && parts.length === 2) {
      if (method === "GET") return send(res, 200, { urlTemplate: icisLink }), true;
      if (method === "PUT") {
        const body = await json(req, res);
        if (!body) return true;
        const errors = [];
        checkKnown(body, ["urlTemplate"], errors);
        const value = body.urlTemplate;
        if (typeof value !== "string" || !/^https:\/\/[^\s/]+/.test(value) || !value.includes("{clientId}")) {
          errors.push({ field: "urlTemplate", message: "must be an https URL containing {clientId}" });
        }
        if (errors.length) return invalid(res, errors), done("config.update", "settings/icis-link", 422), true;
        icisLink = value;
        send(res, 200, { urlTemplate: icisLink });
        done("config.update", "settings/icis-link", 200);
        return true;
      }
      return false;
    }

    if (resource === "settings" && id === "chat" && parts.length === 2) {
      if (method === "GET") return send(res, 200, chatSettings), true;
      if (method === "PUT") {
        const body = await json(req, res);
        if (!body) return true;
        // As shared/src/chat/settings.rs: the shape first, then (only when it is right) whether
        // each queue named exists.
        const errors = [];
        checkKnown(body, Object.keys(CHAT_DEFAULTS), errors);
        for (const key of CHAT_QUEUE_FIELDS) {
          const value = body[key];
          if (value !== undefined && value !== null && (typeof value !== "string" || !ID.test(value))) {
            errors.push({ field: key, message: "must be a queue id (a-z, 0-9, -)" });
          }
        }
        const limit = body.chatsPerAgent;
        if (limit !== undefined && limit !== null) {
          // serde's words for what does not fit the u8.
          if (Number.isInteger(limit) && (limit < 0 || limit > 255)) errors.push({ field: "chatsPerAgent", message: `invalid value: integer \`${limit}\`, expected u8` });
          else if (!Number.isInteger(limit)) errors.push({ field: "chatsPerAgent", message: `invalid type: ${JSON.stringify(limit)}, expected u8` });
          else if (limit < 1 || limit > 10) errors.push({ field: "chatsPerAgent", message: "must be between 1 and 10" });
        }
        // serde's words for a value that is not one of the enum's.
        const distribution = body.distribution;
        if (typeof distribution === "string" && !CHAT_DISTRIBUTIONS.includes(distribution)) {
          errors.push({ field: "distribution", message: `unknown variant \`${distribution}\`, expected \`agentsTake\` or \`automatic\`` });
        } else if (distribution !== undefined && distribution !== null && typeof distribution !== "string") {
          errors.push({ field: "distribution", message: `invalid type: ${JSON.stringify(distribution)}, expected enum ChatDistribution` });
        }
        if (!errors.length) {
          for (const key of CHAT_QUEUE_FIELDS) {
            const value = body[key];
            if (typeof value === "string" && !queues.has(value)) errors.push({ field: key, message: `there is no queue ${value}` });
          }
        }
        if (errors.length) return invalid(res, errors), done("config.update", "settings/chat", 422), true;
        chatSettings = { ...CHAT_DEFAULTS, ...Object.fromEntries(Object.keys(CHAT_DEFAULTS).map((key) => [key, body[key] ?? null])) };
        send(res, 200, chatSettings);
        done("config.update", "settings/chat", 200);
        return true;
      }
      return false;
    }

    const collection = simple[resource];
    if (collection) {
      const { idKey, action: noun, items } = collection;
      const at = (itemId) => `${resource}/${itemId}`;
      if (parts.length === 1 && method === "GET") {
        const all = [...items.values()].sort((a, b) => String(a[idKey]).localeCompare(String(b[idKey])));
        return page(res, url, all, (item) => item[idKey]), true;
      }
      if (parts.length === 1 && method === "POST") {
        const body = await json(req, res);
        if (!body) return true;
        const errors = [];
        collection.validate(body, null, errors);
        if (errors.length) return invalid(res, errors), done("config.create", at(body[idKey]), 422), true;
        if (items.has(body[idKey])) return conflict(res, noun), done("config.create", at(body[idKey]), 409), true;
        const item = collection.normalize(body, body[idKey]);
        items.set(item[idKey], item);
        created(res, `/api/admin/${resource}/${item[idKey]}`, item);
        done("config.create", at(item[idKey]), 201);
        return true;
      }
      if (parts.length === 2) {
        const item = items.get(id);
        if (method === "GET") return (item ? send(res, 200, item) : notFound(res, noun)), true;
        if (method === "PUT") {
          if (!item) return notFound(res, noun), done("config.update", at(id), 404), true;
          const body = await json(req, res);
          if (!body) return true;
          const errors = [];
          collection.validate(body, id, errors);
          if (errors.length) return invalid(res, errors), done("config.update", at(id), 422), true;
          const updated = collection.normalize(body, id);
          items.set(id, updated);
          send(res, 200, updated);
          done("config.update", at(id), 200);
          return true;
        }
        if (method === "DELETE") {
          if (!item) return notFound(res, noun), done("config.delete", at(id), 404), true;
          if (resource === "transfer-groups" && [...simple["transfer-lines"].items.values()].some((l) => l.groupId === id)) {
            problem(res, 409, "transfer-group-in-use", "Transfer-panel lines still belong to this group.");
            return done("config.delete", at(id), 409), true;
          }
          items.delete(id);
          res.writeHead(204).end();
          done("config.delete", at(id), 204);
          return true;
        }
      }
    }
    return false;
  }

  /** The e-mail templates stored (for the desk's GET /api/desk/mail-templates). */
  const mailTemplates = () => [...simple["mail-templates"].items.values()].map((item) => ({ ...item }));

  return { handle, record, mailTemplates };
}

// The queue form (fronta, ADM-4/7) as plain strings ↔ the API's JSON. Pure: no DOM.
// Row i of a day in the editor is element i of that day in the JSON, so the server's field
// paths (`schedule.weekly.monday[1].end`) point straight at editor rows.

import {
  TARGET_FIELD,
  TARGET_KINDS,
  WEEKDAYS,
  type Interval,
  type Queue,
  type Target,
  type TargetKind,
  type Weekday,
} from "../api/admin";
import type { FieldError } from "../api/problem";

export const MAX_INTERVALS_PER_DAY = 4;
export const DEFAULT_TIMEZONE = "Europe/Prague";
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface IntervalForm {
  start: string;
  end: string;
}

export interface ExceptionForm {
  date: string;
  /** Closed all day (sent as `intervals: []`); otherwise `intervals` apply. */
  closed: boolean;
  intervals: IntervalForm[];
}

export interface TargetForm {
  /** "" = no target. */
  kind: "" | TargetKind;
  value: string;
}

export interface QueueForm {
  queueId: string;
  name: string;
  group: string;
  priority: string;
  timezone: string;
  weekly: Record<Weekday, IntervalForm[]>;
  exceptions: ExceptionForm[];
  closedOnPublicHolidays: boolean;
  overflow: TargetForm;
}

export function emptyWeekly(): Record<Weekday, IntervalForm[]> {
  return Object.fromEntries(WEEKDAYS.map((day) => [day, [] as IntervalForm[]])) as Record<Weekday, IntervalForm[]>;
}

export function newQueueForm(): QueueForm {
  return {
    queueId: "",
    name: "",
    group: "",
    priority: "5",
    timezone: DEFAULT_TIMEZONE,
    weekly: emptyWeekly(),
    exceptions: [],
    closedOnPublicHolidays: true,
    overflow: { kind: "", value: "" },
  };
}

const copyIntervals = (intervals: readonly Interval[] | undefined): IntervalForm[] =>
  (intervals ?? []).map((interval) => ({ start: interval.start ?? "", end: interval.end ?? "" }));

export function targetToForm(target: Target | null | undefined): TargetForm {
  if (!target || !(TARGET_KINDS as readonly string[]).includes(target.kind)) {
    return { kind: "", value: "" };
  }
  const value = (target as unknown as Record<string, unknown>)[TARGET_FIELD[target.kind]];
  return { kind: target.kind, value: typeof value === "string" ? value : "" };
}

export function targetFromForm(form: TargetForm): Target | null {
  if (form.kind === "") {
    return null;
  }
  return { kind: form.kind, [TARGET_FIELD[form.kind]]: form.value.trim() } as Target;
}

export function queueToForm(queue: Queue): QueueForm {
  const weekly = emptyWeekly();
  for (const day of WEEKDAYS) {
    weekly[day] = copyIntervals(queue.schedule?.weekly?.[day]);
  }
  return {
    queueId: queue.queueId,
    name: queue.name ?? "",
    group: queue.group ?? "",
    priority: queue.priority === undefined || queue.priority === null ? "" : String(queue.priority),
    timezone: queue.schedule?.timezone || DEFAULT_TIMEZONE,
    weekly,
    exceptions: (queue.schedule?.exceptions ?? []).map((exception) => ({
      date: exception.date,
      closed: (exception.intervals ?? []).length === 0,
      intervals: copyIntervals(exception.intervals),
    })),
    closedOnPublicHolidays: queue.schedule?.closedOnPublicHolidays ?? false,
    overflow: targetToForm(queue.overflow),
  };
}

/** A whole number, or the text itself (so that the server names the field). */
export function numberOrText(value: string): number | string {
  const trimmed = value.trim();
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/**
 * The request body. `withId` = false for PUT (the id is in the path). Read-only fields
 * (`openNow`, `nextChange`) are never sent.
 */
export function formToQueue(form: QueueForm, withId = true): Record<string, unknown> {
  const intervals = (list: readonly IntervalForm[]) => list.map((i) => ({ start: i.start.trim(), end: i.end.trim() }));
  const weekly = Object.fromEntries(WEEKDAYS.map((day) => [day, intervals(form.weekly[day])]));
  return {
    ...(withId ? { queueId: form.queueId.trim() } : {}),
    name: form.name.trim(),
    // No group = none (an empty string is not a group code).
    ...(form.group.trim() ? { group: form.group.trim() } : {}),
    priority: numberOrText(form.priority),
    schedule: {
      timezone: form.timezone || DEFAULT_TIMEZONE,
      weekly,
      exceptions: form.exceptions.map((exception) => ({
        date: exception.date.trim(),
        intervals: exception.closed ? [] : intervals(exception.intervals),
      })),
      closedOnPublicHolidays: form.closedOnPublicHolidays,
    },
    overflow: targetFromForm(form.overflow),
  };
}

function checkIntervals(path: string, list: readonly IntervalForm[], errors: FieldError[]): void {
  if (list.length > MAX_INTERVALS_PER_DAY) {
    errors.push({ field: path, message: `at most ${MAX_INTERVALS_PER_DAY} intervals per day` });
  }
  list.forEach((interval, i) => {
    for (const key of ["start", "end"] as const) {
      const value = interval[key].trim();
      if (value === "") {
        errors.push({ field: `${path}[${i}].${key}`, message: "is required" });
      } else if (!TIME.test(value)) {
        errors.push({ field: `${path}[${i}].${key}`, message: "must be whole minutes (HH:MM)" });
      }
    }
  });
}

/**
 * What the browser can tell before sending (empty or malformed times and dates, the id's
 * form); the same field paths as the server's. Everything else is left to the server.
 */
export function checkQueueForm(form: QueueForm, isNew: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (isNew && !ID_PATTERN.test(form.queueId.trim())) {
    errors.push({ field: "queueId", message: form.queueId.trim() ? "must match ^[a-z0-9][a-z0-9-]{0,39}$" : "is required" });
  }
  if (!form.name.trim()) errors.push({ field: "name", message: "is required" });
  for (const day of WEEKDAYS) {
    checkIntervals(`schedule.weekly.${day}`, form.weekly[day], errors);
  }
  form.exceptions.forEach((exception, i) => {
    if (!DATE.test(exception.date.trim())) {
      errors.push({ field: `schedule.exceptions[${i}].date`, message: "is required" });
    }
    if (!exception.closed) {
      checkIntervals(`schedule.exceptions[${i}].intervals`, exception.intervals, errors);
    }
  });
  if (form.overflow.kind !== "" && !form.overflow.value.trim()) {
    errors.push({ field: `overflow.${TARGET_FIELD[form.overflow.kind]}`, message: "is required" });
  }
  return errors;
}

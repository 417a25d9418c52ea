import { describe, expect, it } from "vitest";
import type { Queue } from "../api/admin";
import { checkQueueForm, formToQueue, newQueueForm, queueToForm, targetFromForm, targetToForm } from "./queue-form";

const stored: Queue = {
  queueId: "kkc-obecne",
  name: "Klientská linka",
  group: "KKC",
  priority: 5,
  schedule: {
    timezone: "Europe/Prague",
    weekly: {
      monday: [
        { start: "08:00", end: "12:00" },
        { start: "12:30", end: "16:30" },
      ],
      tuesday: [{ start: "00:00", end: "00:00" }],
      wednesday: [],
      thursday: [],
      friday: [{ start: "08:00", end: "14:00" }],
      saturday: [],
      sunday: [],
    },
    exceptions: [
      { date: "2026-12-24", intervals: [] },
      { date: "2026-12-31", intervals: [{ start: "08:00", end: "12:00" }] },
    ],
    closedOnPublicHolidays: true,
  },
  overflow: { kind: "queue", queueId: "as-asistence" },
  openNow: true,
  nextChange: "2026-11-27T15:30:00Z",
};

describe("opening-hours form ↔ JSON", () => {
  it("maps a stored queue to the form and back without change (read-only fields dropped)", () => {
    const form = queueToForm(stored);
    expect(form.weekly.monday).toEqual([
      { start: "08:00", end: "12:00" },
      { start: "12:30", end: "16:30" },
    ]);
    expect(form.weekly.wednesday).toEqual([]);
    expect(form.exceptions).toEqual([
      { date: "2026-12-24", closed: true, intervals: [] },
      { date: "2026-12-31", closed: false, intervals: [{ start: "08:00", end: "12:00" }] },
    ]);
    expect(form.overflow).toEqual({ kind: "queue", value: "as-asistence" });
    expect(form.priority).toBe("5");

    const { openNow: _open, nextChange: _next, ...body } = stored;
    expect(formToQueue(form)).toEqual(body);
  });

  it("leaves the id out of a PUT body", () => {
    expect(formToQueue(queueToForm(stored), false)).not.toHaveProperty("queueId");
  });

  it("sends all seven days, trims, and turns a closed exception into no intervals", () => {
    const form = newQueueForm();
    form.queueId = " nova ";
    form.name = " Nová fronta ";
    form.weekly.friday.push({ start: " 07:00", end: "19:00 " });
    form.exceptions.push({ date: "2026-12-24", closed: true, intervals: [{ start: "08:00", end: "10:00" }] });
    const body = formToQueue(form);
    expect(body["queueId"]).toBe("nova");
    expect(body["name"]).toBe("Nová fronta");
    expect(body["priority"]).toBe(5);
    const schedule = body["schedule"] as Record<string, unknown>;
    expect(Object.keys(schedule["weekly"] as object)).toEqual(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]);
    expect((schedule["weekly"] as Record<string, unknown>)["friday"]).toEqual([{ start: "07:00", end: "19:00" }]);
    expect(schedule["exceptions"]).toEqual([{ date: "2026-12-24", intervals: [] }]);
    expect(schedule["closedOnPublicHolidays"]).toBe(true);
    expect(schedule["timezone"]).toBe("Europe/Prague");
    expect(body["overflow"]).toBeNull();
    expect(body).not.toHaveProperty("group");
    form.group = " KKC ";
    expect(formToQueue(form)["group"]).toBe("KKC");
  });

  it("keeps a priority that is not a whole number as text, so the server names the field", () => {
    const form = newQueueForm();
    form.priority = "vysoká";
    expect(formToQueue(form)["priority"]).toBe("vysoká");
    form.priority = "10";
    expect(formToQueue(form)["priority"]).toBe(10);
  });

  it.each([
    [{ kind: "queue", queueId: "as" }, { kind: "queue", value: "as" }],
    [{ kind: "extension", extension: "2001" }, { kind: "extension", value: "2001" }],
    [{ kind: "external", number: "+420601123456" }, { kind: "external", value: "+420601123456" }],
    [{ kind: "agent", username: "agent01" }, { kind: "agent", value: "agent01" }],
    [{ kind: "mobile", number: "+420601123456" }, { kind: "mobile", value: "+420601123456" }],
    [{ kind: "ivr", ivrId: "main" }, { kind: "ivr", value: "main" }],
  ] as const)("maps the overflow target %j", (target, form) => {
    expect(targetToForm(target)).toEqual(form);
    expect(targetFromForm({ ...form })).toEqual(target);
  });

  it("maps no overflow (and an unknown kind) to none", () => {
    expect(targetToForm(null)).toEqual({ kind: "", value: "" });
    expect(targetToForm({ kind: "pager", x: 1 } as never)).toEqual({ kind: "", value: "" });
    expect(targetFromForm({ kind: "", value: "ignored" })).toBeNull();
  });
});

describe("checks before sending", () => {
  it("names empty and malformed times, missing dates, the id and an empty target with the server's paths", () => {
    const form = newQueueForm();
    form.queueId = "Špatně";
    form.name = "";
    form.weekly.monday = [{ start: "", end: "25:00" }];
    form.weekly.sunday = Array.from({ length: 5 }, () => ({ start: "08:00", end: "09:00" }));
    form.exceptions = [{ date: "", closed: false, intervals: [{ start: "8:00", end: "10:00" }] }];
    form.overflow = { kind: "mobile", value: " " };
    expect(checkQueueForm(form, true).map((error) => error.field)).toEqual([
      "queueId",
      "name",
      "schedule.weekly.monday[0].start",
      "schedule.weekly.monday[0].end",
      "schedule.weekly.sunday",
      "schedule.exceptions[0].date",
      "schedule.exceptions[0].intervals[0].start",
      "overflow.number",
    ]);
  });

  it("accepts a valid form and does not check the id of an existing queue", () => {
    const form = queueToForm(stored);
    expect(checkQueueForm(form, true)).toEqual([]);
    form.queueId = "";
    expect(checkQueueForm(form, false)).toEqual([]);
  });
});

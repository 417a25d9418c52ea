// The inbound routing plan (IN-1, IN-5, IN-7) and the PBX devices as plain strings ↔ the API's
// JSON (pure, no DOM). Row i of a list in a form is element i of that list in the JSON, so the
// server's field paths (`rules[2].entry.queueId`) point straight at form rows.

import type { Json, Target } from "../api/admin";
import type { FieldError } from "../api/problem";
import type { Entry, EntryKind, InboundPlan, PbxDevices } from "../api/routing";
import { numberOrText, targetFromForm, targetToForm, type TargetForm } from "./queue-form";

const str = (value: unknown): string => (typeof value === "string" ? value : typeof value === "number" ? String(value) : "");
const optionalNumber = (value: unknown): string => (typeof value === "number" ? String(value) : "");
const isRecord = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(str) : []);

/** A list typed as text: one item per line or separated by commas. */
export function splitList(text: string): string[] {
  return text
    .split(/[\n,;]+/)
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

export const joinList = (list: readonly string[]): string => list.join(", ");

// ---- entries (rule entries, default entry) --------------------------------------------------

export interface EntryForm {
  /** "" = none (only the default entry may be none). */
  kind: "" | EntryKind;
  ivrId: string;
  node: string;
  queueId: string;
  target: TargetForm;
}

export const newEntryForm = (kind: EntryForm["kind"] = "queue"): EntryForm => ({ kind, ivrId: "", node: "", queueId: "", target: { kind: "queue", value: "" } });

export function entryToForm(entry: Entry | null | undefined): EntryForm {
  const form = newEntryForm("");
  if (!isRecord(entry)) return form;
  if (entry.kind === "ivr") {
    form.kind = "ivr";
    form.ivrId = str(entry.ivrId);
    form.node = str(entry.node);
  } else if (entry.kind === "queue") {
    form.kind = "queue";
    form.queueId = str(entry.queueId);
  } else if (entry.kind === "destination") {
    form.kind = "destination";
    const target = targetToForm(entry.target);
    form.target = target.kind === "" ? { kind: "queue", value: "" } : target;
  }
  return form;
}

export function entryFromForm(form: EntryForm): Entry | null {
  switch (form.kind) {
    case "ivr":
      return form.node.trim() ? { kind: "ivr", ivrId: form.ivrId.trim(), node: form.node.trim() } : { kind: "ivr", ivrId: form.ivrId.trim() };
    case "queue":
      return { kind: "queue", queueId: form.queueId.trim() };
    case "destination":
      return { kind: "destination", target: targetFromForm(form.target) ?? ({ kind: "queue", queueId: "" } as Target) };
    default:
      return null;
  }
}

// ---- the plan -------------------------------------------------------------------------------

export interface RuleForm {
  ruleId: string;
  dialled: string;
  callers: string;
  clientStatuses: string;
  /** Whether the IVR path condition is on; `ivrChoices` "" then means "not yet in an IVR". */
  useIvrChoices: boolean;
  ivrChoices: string;
  attributes: { name: string; value: string }[];
  /** `when.during`, kept as it came (not edited here). */
  during: unknown;
  entry: EntryForm;
  priorityBoost: string;
}

export interface PlanForm {
  rules: RuleForm[];
  defaultEntry: EntryForm;
  clientPriority: { status: string; boost: string }[];
  record: boolean;
  ownNumbers: string;
  recordOwnNumbers: boolean;
}

export function newRuleForm(ruleId = ""): RuleForm {
  return {
    ruleId,
    dialled: "",
    callers: "",
    clientStatuses: "",
    useIvrChoices: false,
    ivrChoices: "",
    attributes: [],
    during: undefined,
    entry: newEntryForm("queue"),
    priorityBoost: "0",
  };
}

export function planToForm(plan: InboundPlan | null | undefined): PlanForm {
  const p: Json = isRecord(plan) ? plan : {};
  const rules = Array.isArray(p["rules"]) ? p["rules"] : [];
  const recording = isRecord(p["recording"]) ? p["recording"] : {};
  return {
    rules: rules.filter(isRecord).map((rule) => {
      const when = isRecord(rule["when"]) ? rule["when"] : {};
      const form = newRuleForm(str(rule["ruleId"]));
      form.dialled = joinList(strings(when["dialled"]));
      form.callers = joinList(strings(when["callers"]));
      form.clientStatuses = joinList(strings(when["clientStatuses"]));
      form.useIvrChoices = Array.isArray(when["ivrChoices"]);
      form.ivrChoices = joinList(strings(when["ivrChoices"]));
      form.attributes = isRecord(when["attributes"]) ? Object.entries(when["attributes"]).map(([name, value]) => ({ name, value: str(value) })) : [];
      form.during = when["during"] ?? undefined;
      form.entry = entryToForm(rule["entry"] as Entry);
      if (form.entry.kind === "") form.entry.kind = "queue";
      form.priorityBoost = optionalNumber(rule["priorityBoost"]) || "0";
      return form;
    }),
    defaultEntry: entryToForm(p["defaultEntry"] as Entry | undefined),
    clientPriority: (Array.isArray(p["clientPriority"]) ? p["clientPriority"] : [])
      .filter(isRecord)
      .map((entry) => ({ status: str(entry["status"]), boost: optionalNumber(entry["boost"]) })),
    record: recording["record"] !== false,
    ownNumbers: joinList(strings(recording["ownNumbers"])),
    recordOwnNumbers: recording["recordOwnNumbers"] === true,
  };
}

export function ruleFromForm(form: RuleForm): Json {
  const when: Json = {
    dialled: splitList(form.dialled),
    callers: splitList(form.callers),
    clientStatuses: splitList(form.clientStatuses),
  };
  if (form.useIvrChoices) when["ivrChoices"] = splitList(form.ivrChoices);
  when["attributes"] = Object.fromEntries(form.attributes.map((attribute) => [attribute.name.trim(), attribute.value]));
  if (form.during !== undefined) when["during"] = form.during;
  return { ruleId: form.ruleId.trim(), when, entry: entryFromForm(form.entry), priorityBoost: numberOrText(form.priorityBoost || "0") };
}

/** The body of `PUT /api/admin/routing/plan`. */
export function formToPlan(form: PlanForm): Json {
  const out: Json = { rules: form.rules.map(ruleFromForm) };
  const defaultEntry = entryFromForm(form.defaultEntry);
  if (defaultEntry) out["defaultEntry"] = defaultEntry;
  out["clientPriority"] = form.clientPriority.map((entry) => ({ status: entry.status.trim(), boost: numberOrText(entry.boost) }));
  out["recording"] = { record: form.record, ownNumbers: splitList(form.ownNumbers), recordOwnNumbers: form.recordOwnNumbers };
  return out;
}

/** `rules.2.entry` (serde-style) → `rules[2].entry`, the paths of the form rows. */
export function arrayPaths(errors: readonly FieldError[], lists: readonly string[]): FieldError[] {
  const pattern = new RegExp(`^(${lists.join("|")})\\.(\\d+)(?=\\.|$)`);
  return errors.map((error) => ({ ...error, field: error.field.replace(/^\//, "").replace(/\//g, ".").replace(pattern, "$1[$2]") }));
}

/** Moves list element `index` by `delta` (−1 up, +1 down); false when it cannot move. */
export function move<T>(list: T[], index: number, delta: number): boolean {
  const to = index + delta;
  if (index < 0 || index >= list.length || to < 0 || to >= list.length) return false;
  const [item] = list.splice(index, 1);
  list.splice(to, 0, item as T);
  return true;
}

// ---- PBX devices ----------------------------------------------------------------------------

export interface DeviceRow {
  id: string;
  device: string;
}

export const DEVICE_GROUPS = ["queues", "ivrs", "announcements"] as const;
export type DeviceGroup = (typeof DEVICE_GROUPS)[number];

export interface DevicesForm {
  queues: DeviceRow[];
  ivrs: DeviceRow[];
  announcements: DeviceRow[];
  defaultAnnouncement: string;
}

const rows = (value: unknown): DeviceRow[] => (isRecord(value) ? Object.entries(value).map(([id, device]) => ({ id, device: str(device) })) : []);

export function devicesToForm(devices: PbxDevices | null | undefined): DevicesForm {
  const d: Json = isRecord(devices) ? devices : {};
  return { queues: rows(d["queues"]), ivrs: rows(d["ivrs"]), announcements: rows(d["announcements"]), defaultAnnouncement: str(d["defaultAnnouncement"]) };
}

/** The body of `PUT /api/admin/routing/devices`. */
export function formToDevices(form: DevicesForm): Json {
  const map = (list: readonly DeviceRow[]) => Object.fromEntries(list.map((row) => [row.id.trim(), row.device.trim()]));
  const out: Json = { queues: map(form.queues), ivrs: map(form.ivrs), announcements: map(form.announcements) };
  if (form.defaultAnnouncement.trim()) out["defaultAnnouncement"] = form.defaultAnnouncement.trim();
  return out;
}

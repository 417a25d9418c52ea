// A queue's routing settings (IN-9, IN-17, IN-18) as plain strings ↔ the API's JSON (pure, no
// DOM). The plan and the PBX devices: plan-form.ts.

import type { Json } from "../api/admin";
import type { FieldError } from "../api/problem";
import { AFTER_ANNOUNCEMENT, NOBODY_ACTIONS, type AfterAnnouncement, type NobodyAction, type QueueRouting } from "../api/routing";
import { numberOrText } from "./queue-form";

const str = (value: unknown): string => (typeof value === "string" ? value : typeof value === "number" ? String(value) : "");
const optionalNumber = (value: unknown): string => (typeof value === "number" ? String(value) : "");
const isRecord = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
// ---- queue routing --------------------------------------------------------------------------

export const DEFAULT_NOBODY_ANNOUNCEMENT = "no-agents";

export interface QueueRoutingForm {
  wrapUpSeconds: string;
  /** Empty: the wrap-up cannot be extended. */
  maxWrapUpSeconds: string;
  maxWaitSeconds: string;
  maxWaitingCalls: string;
  nobodyAction: NobodyAction;
  announcementId: string;
  then: AfterAnnouncement;
  closedAnnouncement: string;
  lastAgent: boolean;
  holdSeconds: string;
  maxAgeHours: string;
}

export function newQueueRoutingForm(): QueueRoutingForm {
  return {
    wrapUpSeconds: "0",
    maxWrapUpSeconds: "",
    maxWaitSeconds: "",
    maxWaitingCalls: "",
    nobodyAction: "announce",
    announcementId: DEFAULT_NOBODY_ANNOUNCEMENT,
    then: "overflow",
    closedAnnouncement: "",
    lastAgent: false,
    holdSeconds: "20",
    maxAgeHours: "48",
  };
}

export function queueRoutingToForm(routing: QueueRouting | null | undefined): QueueRoutingForm {
  const form = newQueueRoutingForm();
  if (!routing) return form;
  form.wrapUpSeconds = optionalNumber(routing.wrapUpSeconds) || "0";
  form.maxWrapUpSeconds = optionalNumber(routing.maxWrapUpSeconds);
  form.maxWaitSeconds = optionalNumber(routing.maxWaitSeconds);
  form.maxWaitingCalls = optionalNumber(routing.maxWaitingCalls);
  const nobody: Json = isRecord(routing.whenNobodyLoggedIn) ? routing.whenNobodyLoggedIn : {};
  const action = nobody["action"];
  form.nobodyAction = (NOBODY_ACTIONS as readonly unknown[]).includes(action) ? (action as NobodyAction) : "announce";
  if (form.nobodyAction === "announce") {
    form.announcementId = str(nobody["announcementId"]);
    form.then = (AFTER_ANNOUNCEMENT as readonly unknown[]).includes(nobody["then"]) ? (nobody["then"] as AfterAnnouncement) : "hangUp";
  }
  form.closedAnnouncement = str(routing.closedAnnouncement);
  if (isRecord(routing.lastAgent)) {
    form.lastAgent = true;
    form.holdSeconds = optionalNumber(routing.lastAgent["holdSeconds"]);
    form.maxAgeHours = optionalNumber(routing.lastAgent["maxAgeHours"]);
  }
  return form;
}

/** The body of `PUT /api/admin/queues/{id}/routing` (empty optional fields are left out). */
export function formToQueueRouting(form: QueueRoutingForm): Json {
  const out: Json = { wrapUpSeconds: numberOrText(form.wrapUpSeconds || "0") };
  if (form.maxWrapUpSeconds.trim()) out["maxWrapUpSeconds"] = numberOrText(form.maxWrapUpSeconds);
  if (form.maxWaitSeconds.trim()) out["maxWaitSeconds"] = numberOrText(form.maxWaitSeconds);
  if (form.maxWaitingCalls.trim()) out["maxWaitingCalls"] = numberOrText(form.maxWaitingCalls);
  out["whenNobodyLoggedIn"] =
    form.nobodyAction === "announce" ? { action: "announce", announcementId: form.announcementId.trim(), then: form.then } : { action: form.nobodyAction };
  if (form.closedAnnouncement.trim()) out["closedAnnouncement"] = form.closedAnnouncement.trim();
  if (form.lastAgent) out["lastAgent"] = { holdSeconds: numberOrText(form.holdSeconds), maxAgeHours: numberOrText(form.maxAgeHours) };
  return out;
}

const WHOLE = /^\d+$/;

/** Empty required numbers and non-numbers, with the server's field paths. */
export function checkQueueRoutingForm(form: QueueRoutingForm): FieldError[] {
  const errors: FieldError[] = [];
  const whole = (field: string, value: string, required: boolean) => {
    const text = value.trim();
    if (text === "") {
      if (required) errors.push({ field, message: "is required" });
    } else if (!WHOLE.test(text)) errors.push({ field, message: "must be a whole number" });
  };
  whole("wrapUpSeconds", form.wrapUpSeconds, true);
  whole("maxWrapUpSeconds", form.maxWrapUpSeconds, false);
  whole("maxWaitSeconds", form.maxWaitSeconds, false);
  whole("maxWaitingCalls", form.maxWaitingCalls, false);
  if (form.nobodyAction === "announce" && !form.announcementId.trim()) errors.push({ field: "whenNobodyLoggedIn.announcementId", message: "is required" });
  if (form.lastAgent) {
    whole("lastAgent.holdSeconds", form.holdSeconds, true);
    whole("lastAgent.maxAgeHours", form.maxAgeHours, true);
  }
  return errors;
}


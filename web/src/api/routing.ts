// The routing API of issue 5 (IN-6, IN-9 … IN-13, IN-17, IN-18): IVR trees, a queue's routing
// settings, the inbound routing plan and the PBX devices. Shapes as serde writes them in
// shared/src/ivr/model.rs and shared/src/routing.rs (camelCase, `kind`-tagged unions).

import { Collection, type Json, type Target } from "./admin";
import type { ApiClient } from "./client";
import type { FieldError } from "./problem";

// ---- IVR trees ------------------------------------------------------------------------------

export type PromptRef = { kind: "audio"; key: string } | { kind: "tts"; text: string; voice?: string };

export const NODE_KINDS = [
  "prompt",
  "menu",
  "collectDigits",
  "branchHours",
  "branchStatistic",
  "branchClientStatus",
  "setAttribute",
  "transferToQueue",
  "transferToNumber",
  "voicemail",
  "callbackOffer",
  "announcePosition",
  "hangup",
] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

export const DIGIT_VALIDATIONS = ["none", "digits", "insuranceNumber", "birthNumber", "phone"] as const;
export type DigitValidation = (typeof DIGIT_VALIDATIONS)[number];

export const QUEUE_STATISTICS = ["agentsLoggedOn", "agentsReady", "waitingCalls", "longestWaitSeconds"] as const;
export type QueueStatistic = (typeof QUEUE_STATISTICS)[number];

export const COMPARISONS = ["lt", "le", "eq", "ne", "ge", "gt"] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** A node as JSON (`kind` + the fields of that kind); see model.rs `Node`. */
export type IvrNode = Json & { kind: NodeKind };

export interface GeneralAnnouncement {
  prompt: PromptRef;
  active: boolean;
}

export interface IvrTree {
  ivrId: string;
  name: string;
  active?: boolean;
  entryNode: string;
  generalAnnouncement?: GeneralAnnouncement;
  lostCallsQueueId?: string;
  nodes: Record<string, IvrNode>;
}

export interface IvrValidation {
  valid: boolean;
  problems: FieldError[];
}

export function ivrs(api: ApiClient): Collection<IvrTree> {
  return new Collection<IvrTree>(api, "/api/admin/ivrs", (item) => item as IvrTree);
}

/** `POST /api/admin/ivrs/validate`: the problems of a tree without storing it. */
export async function validateIvr(api: ApiClient, tree: unknown): Promise<IvrValidation> {
  const answer = (await api.call("POST", "/api/admin/ivrs/validate", tree)) as Partial<IvrValidation> | null;
  const problems = Array.isArray(answer?.problems)
    ? answer.problems.filter((p): p is FieldError => typeof p?.field === "string" && typeof p?.message === "string")
    : [];
  return { valid: answer?.valid === true && problems.length === 0, problems };
}

// ---- queue routing settings -----------------------------------------------------------------

export const NOBODY_ACTIONS = ["wait", "overflow", "announce"] as const;
export type NobodyAction = (typeof NOBODY_ACTIONS)[number];
export const AFTER_ANNOUNCEMENT = ["hangUp", "overflow"] as const;
export type AfterAnnouncement = (typeof AFTER_ANNOUNCEMENT)[number];

export type NobodyLoggedIn = { action: "wait" } | { action: "overflow" } | { action: "announce"; announcementId: string; then: AfterAnnouncement };

export interface QueueRouting {
  queueId?: string;
  wrapUpSeconds: number;
  maxWrapUpSeconds?: number | null;
  maxWaitSeconds?: number;
  maxWaitingCalls?: number;
  whenNobodyLoggedIn: NobodyLoggedIn;
  closedAnnouncement?: string;
  lastAgent?: { holdSeconds: number; maxAgeHours: number };
}

const enc = encodeURIComponent;

export async function getQueueRouting(api: ApiClient, queueId: string): Promise<QueueRouting> {
  return (await api.call("GET", `/api/admin/queues/${enc(queueId)}/routing`)) as QueueRouting;
}

export async function putQueueRouting(api: ApiClient, queueId: string, body: unknown): Promise<QueueRouting> {
  return (await api.call("PUT", `/api/admin/queues/${enc(queueId)}/routing`, body)) as QueueRouting;
}

// ---- inbound routing plan -------------------------------------------------------------------

export type Entry = { kind: "ivr"; ivrId: string; node?: string } | { kind: "queue"; queueId: string } | { kind: "destination"; target: Target };
export const ENTRY_KINDS = ["ivr", "queue", "destination"] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export interface RuleMatch {
  dialled?: string[];
  callers?: string[];
  clientStatuses?: string[];
  ivrChoices?: string[];
  attributes?: Record<string, string>;
  /** A schedule; not edited by the UI, kept as it is. */
  during?: unknown;
}

export interface EntryRule {
  ruleId: string;
  when?: RuleMatch;
  entry: Entry;
  priorityBoost?: number;
}

export interface InboundPlan {
  rules: EntryRule[];
  defaultEntry?: Entry;
  clientPriority: { status: string; boost: number }[];
  recording: { record: boolean; ownNumbers: string[]; recordOwnNumbers: boolean };
}

export async function getPlan(api: ApiClient): Promise<InboundPlan> {
  return (await api.call("GET", "/api/admin/routing/plan")) as InboundPlan;
}

export async function putPlan(api: ApiClient, plan: unknown): Promise<InboundPlan> {
  return (await api.call("PUT", "/api/admin/routing/plan", plan)) as InboundPlan;
}

// ---- PBX devices ----------------------------------------------------------------------------

export interface PbxDevices {
  queues: Record<string, string>;
  ivrs: Record<string, string>;
  announcements: Record<string, string>;
  defaultAnnouncement?: string;
}

export async function getDevices(api: ApiClient): Promise<PbxDevices> {
  return (await api.call("GET", "/api/admin/routing/devices")) as PbxDevices;
}

export async function putDevices(api: ApiClient, devices: unknown): Promise<PbxDevices> {
  return (await api.call("PUT", "/api/admin/routing/devices", devices)) as PbxDevices;
}

// The admin API of issue 3 (ADM-2..7, SEC-3): shapes and calls. Lists are cursor pages
// (`items` + `nextCursor`); create = POST (201), replace = PUT /{id} (200), delete = 204.

import type { ApiClient } from "./client";
import type { Page } from "./types";

export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface Interval {
  start: string;
  end: string;
}

export interface ScheduleException {
  date: string;
  intervals: Interval[];
}

export interface Schedule {
  timezone: string;
  weekly: Record<Weekday, Interval[]>;
  exceptions: ScheduleException[];
  closedOnPublicHolidays: boolean;
}

export const TARGET_KINDS = ["queue", "extension", "external", "agent", "mobile", "ivr"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** Where calls go (přepad of a queue, a line of the transfer panel). */
export type Target =
  | { kind: "queue"; queueId: string }
  | { kind: "extension"; extension: string }
  | { kind: "external"; number: string }
  | { kind: "agent"; username: string }
  | { kind: "mobile"; number: string }
  | { kind: "ivr"; ivrId: string };

/** The JSON field that holds a target's value, per kind. */
export const TARGET_FIELD: Readonly<Record<TargetKind, string>> = {
  queue: "queueId",
  extension: "extension",
  external: "number",
  agent: "username",
  mobile: "number",
  ivr: "ivrId",
};

export interface Queue {
  queueId: string;
  name: string;
  group?: string;
  priority: number;
  schedule: Schedule;
  overflow: Target | null;
  /** Read-only, computed by the server. */
  openNow?: boolean;
  nextChange?: string | null;
}

export interface QueueMember {
  queueId: string;
  username: string;
  skillLevel: number;
  priority: number;
  /** The agent may not log in or out of the queue at the desk (DESK-3). */
  locked?: boolean;
}

export interface AdminUser {
  username: string;
  displayName: string;
  roles: string[];
  groups: string[];
  email?: string;
  agentNumber?: string;
  /** The agent's mobile (DESK-2): the PBX mobile extension and the number (E.164). */
  mobile?: { device: string; number: string };
  active: boolean;
}

export interface AuditRecord {
  id: string;
  at: string;
  actor: string;
  action: string;
  target?: string;
  outcome: string;
  status: number;
  details: Record<string, string>;
}

export interface AuditQuery {
  from?: string;
  to?: string;
  actor?: string;
  cursor?: string | null;
}

export type Json = Record<string, unknown>;

function record(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

/** Reads a cursor page leniently (a bare array is a single page). */
export function readPage<T>(value: unknown, read: (item: unknown) => T): Page<T> {
  if (Array.isArray(value)) {
    return { items: value.map(read), nextCursor: null };
  }
  const r = record(value);
  const items = Array.isArray(r["items"]) ? r["items"] : [];
  const next = r["nextCursor"];
  return { items: items.map(read), nextCursor: typeof next === "string" && next !== "" ? next : null };
}

function str(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

export function readAdminUser(value: unknown): AdminUser {
  const r = record(value);
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  const username = str(r["username"]);
  const user: AdminUser = {
    username,
    displayName: str(r["displayName"]) || str(r["name"]) || username,
    roles: strings(r["roles"]),
    groups: strings(r["groups"]),
    active: r["active"] !== false,
  };
  if (typeof r["email"] === "string" && r["email"]) user.email = r["email"];
  if (typeof r["agentNumber"] === "string" && r["agentNumber"]) user.agentNumber = r["agentNumber"];
  const mobile = record(r["mobile"]);
  if (typeof mobile["device"] === "string" && typeof mobile["number"] === "string") user.mobile = { device: mobile["device"], number: mobile["number"] };
  return user;
}

export function readAudit(value: unknown): AuditRecord {
  const r = record(value);
  const details = record(r["details"]);
  const out: AuditRecord = {
    id: str(r["id"]),
    at: str(r["at"]),
    actor: str(r["actor"]),
    action: str(r["action"]),
    outcome: str(r["outcome"]),
    status: typeof r["status"] === "number" ? r["status"] : 0,
    details: Object.fromEntries(Object.entries(details).map(([k, v]) => [k, str(v) || JSON.stringify(v)])),
  };
  if (typeof r["target"] === "string") out.target = r["target"];
  return out;
}

const enc = encodeURIComponent;

function query(params: Record<string, string | number | null | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `${k}=${enc(String(v))}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

/** A plain admin collection: `/api/admin/<name>` and `/api/admin/<name>/{id}`. */
export class Collection<T = Json> {
  constructor(
    readonly api: ApiClient,
    readonly base: string,
    readonly read: (item: unknown) => T = (item) => record(item) as T,
  ) {}

  async list(cursor?: string | null, limit = 100): Promise<Page<T>> {
    return readPage(await this.api.call("GET", `${this.base}${query({ limit, cursor })}`), this.read);
  }

  /** Every page, up to `maxPages` (lists on the admin pages are short). */
  async all(maxPages = 20): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < maxPages; i++) {
      const page: Page<T> = await this.list(cursor);
      items.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    return items;
  }

  async get(id: string): Promise<T> {
    return this.read(await this.api.call("GET", `${this.base}/${enc(id)}`));
  }

  async create(body: unknown): Promise<T> {
    return this.read(await this.api.call("POST", this.base, body));
  }

  async replace(id: string, body: unknown): Promise<T> {
    return this.read(await this.api.call("PUT", `${this.base}/${enc(id)}`, body));
  }

  async remove(id: string): Promise<void> {
    await this.api.call("DELETE", `${this.base}/${enc(id)}`);
  }
}

export function queues(api: ApiClient): Collection<Queue> {
  return new Collection<Queue>(api, "/api/admin/queues", (item) => item as Queue);
}

export function queueMembers(api: ApiClient, queueId: string): Collection<QueueMember> {
  return new Collection<QueueMember>(api, `/api/admin/queues/${enc(queueId)}/members`, (item) => item as QueueMember);
}

export function users(api: ApiClient): Collection<AdminUser> {
  return new Collection<AdminUser>(api, "/api/admin/users", readAdminUser);
}

export async function auditPage(api: ApiClient, q: AuditQuery): Promise<Page<AuditRecord>> {
  const path = `/api/admin/audit${query({ from: q.from, to: q.to, actor: q.actor, cursor: q.cursor, limit: 50 })}`;
  return readPage(await api.call("GET", path), readAudit);
}

export async function getIcisLink(api: ApiClient): Promise<string | null> {
  const r = record(await api.call("GET", "/api/admin/settings/icis-link"));
  return typeof r["urlTemplate"] === "string" ? r["urlTemplate"] : null;
}

export async function putIcisLink(api: ApiClient, urlTemplate: string): Promise<string | null> {
  const r = record(await api.call("PUT", "/api/admin/settings/icis-link", { urlTemplate }));
  return typeof r["urlTemplate"] === "string" ? r["urlTemplate"] : null;
}

/** The chat settings (CHAT-2, OMNI-1…3): each text channel's queue, the chats per agent and their distribution. */
export interface ChatSettings {
  /** Web chats and the chatbot's hand-offs; null = the deployment's default queue. */
  webQueueId: string | null;
  /** Inbound SMS; null = as web chat. */
  smsQueueId: string | null;
  /** Inbound e-mail; null = as web chat. */
  emailQueueId: string | null;
  /** Social-network (Messenger) messages; null = as web chat. */
  socialQueueId: string | null;
  /** Conversations one agent holds at once (1–10); null = the default (3). */
  chatsPerAgent: number | null;
  /**
   * How waiting chats reach agents, one of CHAT_DISTRIBUTIONS: `agentsTake` (they take them
   * from the queue list) or `automatic` (Linka gives each to one agent of its queue); null =
   * `agentsTake`. Another string is a value this app does not know, kept as read so that a
   * save never silently replaces it.
   */
  distribution: string | null;
}

export const CHAT_QUEUE_FIELDS = ["webQueueId", "smsQueueId", "emailQueueId", "socialQueueId"] as const;
export type ChatQueueField = (typeof CHAT_QUEUE_FIELDS)[number];

/** The ways of chat distribution the back end takes (the first is the default). */
export const CHAT_DISTRIBUTIONS = ["agentsTake", "automatic"] as const;
export type ChatDistribution = (typeof CHAT_DISTRIBUTIONS)[number];

/** Reads the settings leniently: anything missing or of another type is null (the default). */
export function readChatSettings(value: unknown): ChatSettings {
  const r = record(value);
  const id = (key: ChatQueueField): string | null => (typeof r[key] === "string" && r[key] !== "" ? (r[key] as string) : null);
  const limit = r["chatsPerAgent"];
  return {
    webQueueId: id("webQueueId"),
    smsQueueId: id("smsQueueId"),
    emailQueueId: id("emailQueueId"),
    socialQueueId: id("socialQueueId"),
    chatsPerAgent: typeof limit === "number" && Number.isInteger(limit) ? limit : null,
    distribution: typeof r["distribution"] === "string" && r["distribution"] !== "" ? r["distribution"] : null,
  };
}

export async function getChatSettings(api: ApiClient): Promise<ChatSettings> {
  return readChatSettings(await api.call("GET", "/api/admin/settings/chat"));
}

/** PUT the settings (the body as the form built it); answers the stored settings. */
export async function putChatSettings(api: ApiClient, body: Json): Promise<ChatSettings> {
  return readChatSettings(await api.call("PUT", "/api/admin/settings/chat", body));
}

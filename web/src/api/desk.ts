// The agent desk API (issue 6; contract: desk core, clients, contacts, history): its shapes
// and one typed method per route, on top of the app's ApiClient (Bearer, problem+json).

import type { ApiClient } from "./client";

export type PresenceState = "ready" | "notReady" | "busy" | "workingAfterCall" | "loggedOn" | "loggedOff";
export type CallState = "ringing" | "connected" | "held" | "initiated";
export type Direction = "inbound" | "outbound" | "internal";
/** After-call work (IN-18): no call is offered until `until`; extendable up to `extendableUntil`. */
export interface WrapUp {
  from: string;
  until: string;
  extendableUntil: string | null;
}

export type PanelPresence = "free" | "busy" | "ringing" | "break" | "loggedOut" | "wrapUp";
export type CallAction = "answer" | "hangup" | "hold" | "retrieve" | "consult" | "transfer" | "blind-transfer" | "conference" | "send-digits";

export interface DeskQueue {
  queueId: string;
  name: string;
  loggedIn: boolean;
  locked: boolean;
  waiting: number;
  openNow: boolean;
}

export interface BreakCode {
  code: string;
  name: string;
  kind: "private" | "work" | string;
}

export interface DeskCall {
  callKey: string;
  contactId: string;
  state: CallState;
  direction: Direction;
  remote: string;
  remoteName: string | null;
  queueId: string | null;
  since: string;
  attributes: Record<string, string>;
}

/** Which phone the agent takes calls on (DESK-2). */
export type PhoneKind = "desk" | "mobile";

/** The agent's mobile (DESK-2): the PBX mobile extension and the mobile's number (E.164). */
export interface MobilePhone {
  device: string;
  number: string;
}

/** The phones the agent can take calls on and the one in use (DESK-2). */
export interface DeskPhone {
  using: PhoneKind;
  /** The desk phone's extension (the agent number); null without one. */
  desk: string | null;
  mobile: MobilePhone | null;
}

export interface Desk {
  username: string;
  displayName: string;
  /** The extension the agent is at: the desk phone's, or the mobile extension while on the mobile. */
  device: string;
  presence: { state: PresenceState; breakCode: string | null; since: string };
  wrapUp: WrapUp | null;
  queues: DeskQueue[];
  breakCodes: BreakCode[];
  calls: DeskCall[];
  phone: DeskPhone;
}

export type Target =
  | { kind: "agent"; username: string }
  | { kind: "queue"; queueId: string }
  | { kind: "number"; number: string }
  | { kind: "line"; lineId: string };

export interface DirectoryAgent {
  username: string;
  displayName: string;
  device: string;
  roles: string[];
  groups: string[];
  presence: PanelPresence;
}

export interface DirectoryLine {
  lineId: string;
  label: string;
  groupId: string;
  target: Record<string, unknown>;
}

export interface Directory {
  groups: { groupId: string; name: string }[];
  favourites: string[];
  agents: DirectoryAgent[];
  lines: DirectoryLine[];
}

export type FieldType = "text" | "date" | "email" | "phone" | "select" | "textarea";

export interface ClientField {
  key: string;
  label: { cs: string; en: string };
  type: FieldType;
  options?: (string | { value: string; label?: { cs?: string; en?: string } | string })[];
  required: boolean;
  editable: boolean;
  inCard: boolean;
  order: number;
}

export interface Client {
  clientId: string;
  icisId: string | null;
  icisUrl: string | null;
  version: number;
  status: "standard" | "vip" | "debtor" | "deceased" | string;
  fields: Record<string, string>;
  updatedAt: string;
  updatedBy: string;
}

export interface NoteVersion {
  version: number;
  text: string;
  at: string;
  by: string;
}

export interface ContactRecord {
  contactId: string;
  /** `voice`, or a conversation's: `chat` (web), `sms`, `email`, `social` (issue 7). */
  channel: string;
  direction: Direction;
  /** The remote party: a phone number (a call, an SMS), an e-mail address, a Messenger user id; null when none. */
  number: string | null;
  dialled: string | null;
  queueId: string | null;
  agents: string[];
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  outcome: string | null;
  clientId: string | null;
  clientName: string | null;
  categoryId: string | null;
  note: NoteVersion | null;
  data: Record<string, string>;
  attributes: Record<string, string>;
}

export interface ContactPage {
  contacts: ContactRecord[];
  next: string | null;
}

export interface Category {
  categoryId: string;
  name: string;
  parentId: string | null;
  active: boolean;
}

export interface HistoryQuery {
  from?: string | undefined;
  to?: string | undefined;
  q?: string | undefined;
  cursor?: string | null | undefined;
}

/** The figures of one period and scope (DESK-6); per cent and mean talk time are null when there is nothing to count. */
export interface StatsSummary {
  offered: number;
  answered: number;
  /** offered − answered: abandoned, failed or overflowed. */
  lost: number;
  abandoned: number;
  answeredInSl: number;
  /** answeredInSl / offered in per cent, one decimal; null when nothing was offered. */
  serviceLevel: number | null;
  averageTalkSeconds: number | null;
}

export type StatsPeriod = "24h" | "7d" | "14d" | "30d";

export interface QueueStats extends StatsSummary {
  queueId: string;
  name: string;
}

export interface DeskStatsPeriod {
  period: StatsPeriod;
  from: string;
  to: string;
  all: StatsSummary;
  myQueues: StatsSummary;
  queues: QueueStats[];
  /** The agent's own answered calls (offered and lost are 0 here). */
  mine: StatsSummary;
}

export interface DeskStats {
  /** The service-level threshold, seconds from queue entry to the answer. */
  serviceLevelSeconds: number;
  /** In the order 24h, 7d, 14d, 30d. */
  periods: DeskStatsPeriod[];
}

const enc = encodeURIComponent;

/** `relay-1/42` → the two path segments of a call (the call id may itself hold no slash). */
export function splitCallKey(callKey: string): { relayId: string; callId: string } {
  const slash = callKey.indexOf("/");
  if (slash < 0) return { relayId: callKey, callId: "" };
  return { relayId: callKey.slice(0, slash), callId: callKey.slice(slash + 1) };
}

function query(params: Record<string, string | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : "";
}

function contactPage(body: unknown): ContactPage {
  const record = (body ?? {}) as { contacts?: unknown; next?: unknown };
  return {
    contacts: Array.isArray(record.contacts) ? (record.contacts as ContactRecord[]) : [],
    next: typeof record.next === "string" && record.next ? record.next : null,
  };
}

export class DeskApi {
  constructor(private readonly api: Pick<ApiClient, "call">) {}

  // ---- desk core ----

  async desk(): Promise<Desk> {
    return (await this.api.call("GET", "/api/desk")) as Desk;
  }

  async setPresence(state: "ready" | "notReady", breakCode?: string | null): Promise<{ requested: string }> {
    const body = state === "ready" ? { state } : { state, breakCode: breakCode ?? null };
    return (await this.api.call("PUT", "/api/desk/presence", body)) as { requested: string };
  }

  /** Take calls on the desk phone or on the mobile (DESK-2): 202, the desk follows by pushes. */
  async setPhone(phone: PhoneKind): Promise<{ commandId?: string; requested?: string }> {
    return ((await this.api.call("PUT", "/api/desk/phone", { phone })) ?? {}) as { commandId?: string; requested?: string };
  }

  async extendWrapUp(seconds: number): Promise<{ wrapUp: WrapUp | null }> {
    return (await this.api.call("POST", "/api/desk/wrap-up/extend", { seconds })) as { wrapUp: WrapUp | null };
  }

  async endWrapUp(): Promise<{ wrapUp: WrapUp | null }> {
    return (await this.api.call("POST", "/api/desk/wrap-up/end")) as { wrapUp: WrapUp | null };
  }

  async setQueue(queueId: string, loggedIn: boolean): Promise<DeskQueue> {
    return (await this.api.call("PUT", `/api/desk/queues/${enc(queueId)}`, { loggedIn })) as DeskQueue;
  }

  async callAction(callKey: string, action: CallAction, body?: unknown): Promise<{ commandId?: string }> {
    const { relayId, callId } = splitCallKey(callKey);
    return ((await this.api.call("POST", `/api/desk/calls/${enc(relayId)}/${enc(callId)}/${action}`, body ?? {})) ?? {}) as { commandId?: string };
  }

  async dial(number: string, clientId?: string | null): Promise<{ commandId?: string }> {
    return ((await this.api.call("POST", "/api/desk/dial", clientId ? { number, clientId } : { number })) ?? {}) as { commandId?: string };
  }

  async directory(): Promise<Directory> {
    const body = (await this.api.call("GET", "/api/desk/directory")) as Partial<Directory> | null;
    return {
      groups: body?.groups ?? [],
      favourites: body?.favourites ?? [],
      agents: body?.agents ?? [],
      lines: body?.lines ?? [],
    };
  }

  async setFavourites(favourites: string[]): Promise<string[]> {
    const body = (await this.api.call("PUT", "/api/desk/favourites", { favourites })) as { favourites?: string[] } | null;
    return body?.favourites ?? favourites;
  }

  async stats(): Promise<DeskStats> {
    const body = (await this.api.call("GET", "/api/desk/stats")) as Partial<DeskStats> | null;
    return {
      serviceLevelSeconds: typeof body?.serviceLevelSeconds === "number" ? body.serviceLevelSeconds : 0,
      periods: Array.isArray(body?.periods) ? body.periods : [],
    };
  }

  // ---- clients ----

  async clientFields(): Promise<ClientField[]> {
    const body = (await this.api.call("GET", "/api/client-fields")) as { fields?: ClientField[] } | null;
    return [...(body?.fields ?? [])].sort((a, b) => a.order - b.order);
  }

  async findClients(by: { phone?: string; email?: string; insuranceNumber?: string }): Promise<Client[]> {
    const body = (await this.api.call("GET", `/api/clients${query(by)}`)) as { clients?: Client[] } | null;
    return body?.clients ?? [];
  }

  async client(clientId: string): Promise<Client> {
    return (await this.api.call("GET", `/api/clients/${enc(clientId)}`)) as Client;
  }

  async createClient(fields: Record<string, string>): Promise<Client> {
    return (await this.api.call("POST", "/api/clients", { fields })) as Client;
  }

  async updateClient(clientId: string, version: number, fields: Record<string, string>): Promise<Client> {
    return (await this.api.call("PUT", `/api/clients/${enc(clientId)}`, { version, fields })) as Client;
  }

  async clientContacts(clientId: string, cursor?: string | null): Promise<ContactPage> {
    return contactPage(await this.api.call("GET", `/api/clients/${enc(clientId)}/contacts${query({ cursor })}`));
  }

  // ---- contacts ----

  async contact(contactId: string): Promise<ContactRecord> {
    return (await this.api.call("GET", `/api/contacts/${enc(contactId)}`)) as ContactRecord;
  }

  async notes(contactId: string): Promise<NoteVersion[]> {
    const body = (await this.api.call("GET", `/api/contacts/${enc(contactId)}/notes`)) as { versions?: NoteVersion[] } | null;
    return body?.versions ?? [];
  }

  async addNote(contactId: string, text: string, baseVersion: number | null): Promise<NoteVersion> {
    return (await this.api.call("POST", `/api/contacts/${enc(contactId)}/notes`, { text, baseVersion })) as NoteVersion;
  }

  async setCategory(contactId: string, categoryId: string): Promise<ContactRecord> {
    return (await this.api.call("PUT", `/api/contacts/${enc(contactId)}/category`, { categoryId })) as ContactRecord;
  }

  async setClient(contactId: string, clientId: string): Promise<ContactRecord> {
    return (await this.api.call("PUT", `/api/contacts/${enc(contactId)}/client`, { clientId })) as ContactRecord;
  }

  async setData(contactId: string, data: Record<string, string>): Promise<ContactRecord> {
    return (await this.api.call("PUT", `/api/contacts/${enc(contactId)}/data`, { data })) as ContactRecord;
  }

  async history(filter: HistoryQuery): Promise<ContactPage> {
    return contactPage(await this.api.call("GET", `/api/desk/history${query({ from: filter.from, to: filter.to, q: filter.q, cursor: filter.cursor })}`));
  }

  async recent(): Promise<ContactRecord[]> {
    return contactPage(await this.api.call("GET", "/api/desk/recent")).contacts;
  }

  /**
   * The call categories an agent can choose. The contract has no agent-readable list: this
   * asks `GET /api/desk/categories` (proposed, `{items}`), then, for an admin only (others
   * would just leave a refused request in the audit log), the admin collection; null when
   * neither answers, and the page then takes a category code typed in.
   */
  async categories(admin = false): Promise<Category[] | null> {
    const paths = admin ? ["/api/desk/categories", "/api/admin/call-categories?limit=100"] : ["/api/desk/categories"];
    for (const path of paths) {
      try {
        const body = (await this.api.call("GET", path)) as { items?: Category[]; categories?: Category[] } | null;
        const items = body?.items ?? body?.categories;
        if (Array.isArray(items)) return items;
      } catch {
        // try the next
      }
    }
    return null;
  }
}

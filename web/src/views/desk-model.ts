// The pure parts of the agent desk: presence words and colours, the wrap-up countdown, which
// call buttons apply, the transfer panel's order and its updates from pushes, favourites,
// category labels, the DTMF/dial input checks and the statistics table's layout. No DOM here
// (unit-tested in node).

import type { ChatChannel } from "../api/chat";
import { formatPhone } from "../format/phone";
import type {
  Category,
  Client,
  ClientField,
  ContactRecord,
  Desk,
  DeskCall,
  DeskPhone,
  DeskStats,
  Directory,
  DirectoryAgent,
  PanelPresence,
  PhoneKind,
  PresenceState,
  StatsPeriod,
  StatsSummary,
} from "../api/desk";

// ---- presence ----

/** The message key and colour class of a transfer panel presence (unknown → logged out). */
export function panelPresence(presence: string): { key: string; tone: string } {
  const known: Record<PanelPresence, string> = {
    free: "ok",
    busy: "busy",
    ringing: "ringing",
    break: "break",
    loggedOut: "off",
    wrapUp: "wrap",
  };
  const state = (presence in known ? presence : "loggedOut") as PanelPresence;
  return { key: `desk.presence.${state}`, tone: known[state] };
}

/** The message key of the agent's own state. */
export function ownPresenceKey(state: PresenceState | string): string {
  const known = ["ready", "notReady", "busy", "workingAfterCall", "loggedOn", "loggedOff"];
  return `desk.state.${known.includes(state) ? state : "loggedOff"}`;
}

// ---- phones (DESK-2) ----

/**
 * The phones of a desk: the one in use, the desk phone's extension and the mobile. A desk read
 * without them (an older back end) is at its desk phone; `mobile` in use without a mobile is
 * read as the desk phone too.
 */
export function deskPhone(desk: Pick<Desk, "device"> & { phone?: Partial<DeskPhone> | null }): DeskPhone {
  const phone = desk.phone ?? null;
  const mobile = phone?.mobile && typeof phone.mobile.device === "string" && typeof phone.mobile.number === "string" ? phone.mobile : null;
  const deskNumber = typeof phone?.desk === "string" && phone.desk ? phone.desk : phone ? null : desk.device || null;
  return { using: phone?.using === "mobile" && mobile ? "mobile" : "desk", desk: deskNumber, mobile };
}

/** How a phone is named on the desk: the desk phone's extension, or the mobile's number formatted; null when the agent has no such phone. */
export function phoneNumber(phone: DeskPhone, kind: PhoneKind): string | null {
  if (kind === "mobile") return phone.mobile ? formatPhone(phone.mobile.number) : null;
  return phone.desk;
}

/** Whether the desk may offer the switch to the other phone: both phones exist. */
export function canSwitchPhone(phone: DeskPhone): boolean {
  return phone.mobile !== null && phone.desk !== null;
}

/** A call ringing at the mobile the agent takes calls on: answered on the mobile, not from the desk. */
export function answerOnMobile(call: DeskCall, onMobile: boolean): boolean {
  return onMobile && call.state === "ringing" && call.direction !== "outbound";
}

// ---- countdown ----

/** Whole seconds left until `until` (never negative); null when `until` cannot be read. */
export function secondsLeft(until: string, now: number): number | null {
  const end = Date.parse(until);
  if (!Number.isFinite(end)) return null;
  return Math.max(0, Math.ceil((end - now) / 1000));
}

/** `m:ss` (or `h:mm:ss` from an hour on). */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

/** A duration in seconds as `m:ss` for the history tables, empty when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  return typeof seconds === "number" && Number.isFinite(seconds) ? formatCountdown(seconds) : "";
}

/** A count in Czech style: thousands separated by a (narrow no-break) space. */
export function formatCount(value: number, locale: "cs" | "en"): string {
  return new Intl.NumberFormat(locale === "cs" ? "cs-CZ" : "en-GB").format(value);
}

// ---- statistics (DESK-6) ----

export type StatsRowKind = "all" | "myQueues" | "queue" | "mine";

export interface StatsRow {
  /** `all`, `myQueues`, `mine` or `queue-{queueId}` (for test ids). */
  id: string;
  kind: StatsRowKind;
  /** The queue's name (queue rows only). */
  name: string | null;
  /** One summary per period, in the order of `periods`; zeros where a period lacks the queue. */
  cells: StatsSummary[];
}

const ZERO: StatsSummary = { offered: 0, answered: 0, lost: 0, abandoned: 0, answeredInSl: 0, serviceLevel: null, averageTalkSeconds: null };

/**
 * The statistics as a table: a column per period (as the API orders them), rows overall, the
 * agent's queues together, each of them (only when there are two or more: one would repeat the
 * row above) and the agent's own.
 */
export function statsTable(stats: DeskStats): { periods: StatsPeriod[]; rows: StatsRow[] } {
  const periods = stats.periods;
  const queues = new Map<string, string>();
  for (const period of periods) for (const queue of period.queues ?? []) if (!queues.has(queue.queueId)) queues.set(queue.queueId, queue.name);
  const row = (id: string, kind: StatsRowKind, name: string | null, pick: (period: DeskStats["periods"][number]) => StatsSummary | undefined): StatsRow => ({
    id,
    kind,
    name,
    cells: periods.map((period) => pick(period) ?? ZERO),
  });
  return {
    periods: periods.map((period) => period.period),
    rows: [
      row("all", "all", null, (period) => period.all),
      row("myQueues", "myQueues", null, (period) => period.myQueues),
      ...(queues.size > 1 ? [...queues].map(([queueId, name]) => row(`queue-${queueId}`, "queue", name, (period) => period.queues?.find((queue) => queue.queueId === queueId))) : []),
      row("mine", "mine", null, (period) => period.mine),
    ],
  };
}

// ---- calls ----

export type CallButton = "answer" | "hangup" | "hold" | "retrieve" | "consult" | "transfer" | "blind-transfer" | "conference" | "dtmf";

/**
 * The buttons that make sense for a call in its state, given every call of the desk: a
 * ringing inbound call can be answered; a connected call held, consulted, handed over blind
 * or sent digits; a held call that has a consultation beside it can be transferred to it or
 * joined in a conference. While the agent takes calls on the mobile (`onMobile`), a ringing
 * call is answered there: no Přijmout.
 */
export function callButtons(call: DeskCall, calls: readonly DeskCall[], onMobile = false): CallButton[] {
  const buttons: CallButton[] = [];
  const partner = consultationOf(call, calls);
  switch (call.state) {
    case "ringing":
      if (call.direction !== "outbound" && !onMobile) buttons.push("answer");
      buttons.push("hangup");
      break;
    case "initiated":
      buttons.push("hangup");
      break;
    case "connected":
      buttons.push("hangup", "hold", "consult", "blind-transfer", "dtmf");
      break;
    case "held":
      buttons.push("hangup", "retrieve");
      if (partner) buttons.push("transfer", "conference");
      else buttons.push("blind-transfer");
      break;
  }
  return buttons;
}

/** The consultation call of a held call: another call of the desk that is not held. */
export function consultationOf(call: DeskCall, calls: readonly DeskCall[]): DeskCall | null {
  if (call.state !== "held") return null;
  return calls.find((other) => other.callKey !== call.callKey && other.state !== "held") ?? null;
}

/** The call the page talks about: the chosen one while it lasts, else ringing, connected, held. */
export function mainCall(calls: readonly DeskCall[], chosen: string | null): DeskCall | null {
  const picked = chosen ? calls.find((call) => call.callKey === chosen) : undefined;
  if (picked) return picked;
  const rank: Record<string, number> = { ringing: 0, connected: 1, initiated: 2, held: 3 };
  return [...calls].sort((a, b) => (rank[a.state] ?? 9) - (rank[b.state] ?? 9))[0] ?? null;
}

/** Whether a call's number may belong to a client (an external number, not an extension). */
export function isExternalNumber(number: string): boolean {
  return /^\+\d{6,15}$/.test(number.trim());
}

/** DTMF digits as typed (spaces dropped), or null when anything else is in them. */
export function dtmfDigits(text: string): string | null {
  const compact = text.replace(/\s+/g, "");
  return /^[0-9*#A-Da-d]{1,32}$/.test(compact) ? compact.toUpperCase() : null;
}

/**
 * A number to dial: an extension (digits), an E.164 number, or a Czech 9-digit or 00420
 * number (made E.164). Null when it is none of these.
 */
export function dialNumber(text: string): string | null {
  const compact = text.replace(/[\s().-]+/g, "");
  if (/^\+\d{6,15}$/.test(compact)) return compact;
  if (/^00\d{6,15}$/.test(compact)) return `+${compact.slice(2)}`;
  if (/^\d{9}$/.test(compact)) return `+420${compact}`;
  if (/^\d{2,8}$/.test(compact)) return compact;
  return null;
}

// ---- desk updates ----

/** Applies a `desk` push: the desk it carries when it is this agent's, else unchanged. */
export function applyDeskPush(current: Desk | null, message: Record<string, unknown>, username: string): { desk: Desk | null; refetch: boolean } {
  if (message["type"] !== "desk" || (message["username"] !== undefined && message["username"] !== username)) return { desk: current, refetch: false };
  const carried = message["desk"];
  if (carried && typeof carried === "object" && Array.isArray((carried as Desk).calls)) return { desk: carried as Desk, refetch: false };
  // cti-ingest's push carries the phone's calls after the event: shown at once (a ringing call
  // does not wait for the read); the rest of the desk (presence, wrap-up, queues) is read again.
  const calls = message["calls"];
  if (current && Array.isArray(calls)) return { desk: { ...current, calls: calls as DeskCall[] }, refetch: true };
  return { desk: current, refetch: true };
}

/**
 * The desk a `GET /api/desk` answered, unless desk pushes brought calls while it was on its way:
 * then the pushed calls are newer than the read's (the read that the push asked for follows).
 */
export function deskAfterRead(read: Desk, shown: Desk | null, pushedMeanwhile: boolean): Desk {
  return pushedMeanwhile && shown ? { ...read, calls: shown.calls } : read;
}

/**
 * The newest state version seen per PBX device in `desk` or `presence` pushes (their `origin`,
 * from cti-ingest). A call's events and a device's own events are processed side by side, so
 * their pushes can arrive out of order; one not newer than a push already applied from the same
 * device is stale and dropped. Pushes without an origin (desk-api's, the chats') always apply.
 * Forgotten on a resynchronisation (the read that follows is the truth; a recreated store
 * counts from 1 again).
 */
export class PushVersions {
  #seen = new Map<string, number>();

  /** True when `message` may be applied (and it is remembered as the newest of its device). */
  fresh(message: Record<string, unknown>): boolean {
    const origin = message["origin"];
    if (!origin || typeof origin !== "object") return true;
    const { device, version } = origin as { device?: unknown; version?: unknown };
    if (typeof device !== "string" || typeof version !== "number") return true;
    const seen = this.#seen.get(device);
    if (seen !== undefined && version <= seen) return false;
    this.#seen.set(device, version);
    return true;
  }

  forget(): void {
    this.#seen.clear();
  }
}

/** Applies a `presence` push to the transfer panel (a new object; the same one when nothing changes). */
export function applyPresencePush(directory: Directory | null, message: Record<string, unknown>): Directory | null {
  if (!directory || message["type"] !== "presence") return directory;
  const username = message["username"];
  const presence = message["presence"];
  if (typeof username !== "string" || typeof presence !== "string") return directory;
  let changed = false;
  const agents = directory.agents.map((agent) => {
    if (agent.username !== username || agent.presence === presence) return agent;
    changed = true;
    return { ...agent, presence: presence as PanelPresence };
  });
  return changed ? { ...directory, agents } : directory;
}

/** Adds or removes a favourite (agent username or `line:<lineId>`). */
export function toggleFavourite(favourites: readonly string[], id: string): string[] {
  return favourites.includes(id) ? favourites.filter((entry) => entry !== id) : [...favourites, id];
}

export interface PanelEntry {
  id: string;
  kind: "agent" | "line";
  label: string;
  detail: string;
  groups: string[];
  favourite: boolean;
  agent?: DirectoryAgent;
  lineId?: string;
}

/**
 * The transfer panel's rows: favourites first (in the order they were starred), then agents
 * and lines by name; filtered by group and a search text (name, extension, user name; case
 * and diacritics ignored). The agent's own row is left out.
 */
export function panelEntries(directory: Directory, options: { me: string; group: string; search: string }): PanelEntry[] {
  const entries: PanelEntry[] = [];
  for (const agent of directory.agents) {
    if (agent.username === options.me) continue;
    entries.push({
      id: agent.username,
      kind: "agent",
      label: agent.displayName || agent.username,
      detail: agent.device,
      groups: agent.groups,
      favourite: directory.favourites.includes(agent.username),
      agent,
    });
  }
  for (const line of directory.lines) {
    const id = `line:${line.lineId}`;
    entries.push({ id, kind: "line", label: line.label, detail: "", groups: [line.groupId], favourite: directory.favourites.includes(id), lineId: line.lineId });
  }
  const needle = fold(options.search.trim());
  const filtered = entries.filter(
    (entry) =>
      (!options.group || entry.groups.includes(options.group)) &&
      (!needle || fold(`${entry.label} ${entry.detail} ${entry.id}`).includes(needle)),
  );
  const favIndex = (entry: PanelEntry) => directory.favourites.indexOf(entry.id);
  return filtered.sort((a, b) => {
    if (a.favourite !== b.favourite) return a.favourite ? -1 : 1;
    if (a.favourite && b.favourite) return favIndex(a) - favIndex(b);
    if (a.kind !== b.kind) return a.kind === "agent" ? -1 : 1;
    return a.label.localeCompare(b.label, "cs");
  });
}

/** Lower case without diacritics, for searching. */
export function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

// ---- clients and categories ----

/** The client's name for lists: first + last name, else the company, else the id. */
export function clientName(client: Pick<Client, "clientId" | "fields">): string {
  const name = [client.fields["firstName"], client.fields["lastName"]].filter(Boolean).join(" ").trim();
  return name || client.fields["company"] || client.clientId;
}

/** The card fields (inCard) and the others, each in the admin's order. */
export function splitFields(fields: readonly ClientField[]): { card: ClientField[]; more: ClientField[] } {
  const sorted = [...fields].sort((a, b) => a.order - b.order);
  return { card: sorted.filter((field) => field.inCard), more: sorted.filter((field) => !field.inCard) };
}

/** The fields whose value changed (only editable ones). */
export function changedFields(fields: readonly ClientField[], before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of fields) {
    if (!field.editable) continue;
    const old = before[field.key] ?? "";
    const now = after[field.key] ?? "";
    if (old !== now) out[field.key] = now;
  }
  return out;
}

/** The required fields left empty (their keys). */
export function missingRequired(fields: readonly ClientField[], values: Readonly<Record<string, string>>): string[] {
  return fields.filter((field) => field.required && !(values[field.key] ?? "").trim()).map((field) => field.key);
}

/** Active categories as select options, a child as `Parent › Child`, sorted by that label. */
export function categoryOptions(categories: readonly Category[]): { value: string; label: string }[] {
  const byId = new Map(categories.map((category) => [category.categoryId, category]));
  const label = (category: Category): string => {
    const parent = category.parentId ? byId.get(category.parentId) : undefined;
    return parent && parent !== category ? `${parent.name} › ${category.name}` : category.name;
  };
  return categories
    .filter((category) => category.active !== false)
    .map((category) => ({ value: category.categoryId, label: label(category) }))
    .sort((a, b) => a.label.localeCompare(b.label, "cs"));
}

// ---- contact records of calls and conversations ----

/**
 * The conversation channel of a contact record (a chat, SMS, e-mail or Messenger conversation,
 * issue 7) as the chats name it (`chat` → `web`); null for a call (or a channel not known).
 */
export function recordChannel(channel: string | null | undefined): ChatChannel | null {
  switch (channel) {
    case "chat":
    case "web":
      return "web";
    case "sms":
    case "email":
    case "social":
      return channel;
    default:
      return null;
  }
}

/**
 * Who a contact record is with, as shown in the lists: a phone number formatted (a call, an
 * SMS), an e-mail address as it is, nothing for Messenger (its user id says nothing) or when
 * the record has no number.
 */
export function recordAddress(record: Pick<ContactRecord, "channel" | "number">): string {
  const number = typeof record.number === "string" ? record.number.trim() : "";
  if (!number || record.channel === "social") return "";
  return number.includes("@") ? number : formatPhone(number);
}

/** The latest version of a note history (the highest number), or null. */
export function latestVersion(versions: readonly { version: number }[]): number | null {
  return versions.reduce<number | null>((max, entry) => (max === null || entry.version > max ? entry.version : max), null);
}

/** A Prague calendar date `yyyy-MM-dd` as the instant its day starts (or the next day starts, for `to`). */
export function dayBound(date: string, end: boolean, toIso: (local: string) => string | null): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined;
  if (!end) return toIso(`${date}T00:00`) ?? undefined;
  const next = new Date(`${date}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return toIso(`${next.toISOString().slice(0, 10)}T00:00`) ?? undefined;
}

/**
 * Runs `run` at once when requested, and while it runs folds every further request into one
 * more run after it: pushes in a burst cost two reads at most, and the first one starts without
 * waiting (the event → screen time is what agents feel).
 */
export function coalesce(run: () => Promise<void>): { request: () => void; cancel: () => void } {
  let running = false;
  let again = false;
  let cancelled = false;
  const start = (): void => {
    running = true;
    again = false;
    void run().finally(() => {
      running = false;
      if (again && !cancelled) start();
    });
  };
  return {
    request() {
      cancelled = false;
      if (running) {
        again = true;
        return;
      }
      start();
    },
    cancel() {
      cancelled = true;
      again = false;
    },
  };
}

/** Calls a function at most once per `ms`, after the last request (a trailing debounce). */
export function debounce(run: () => void, ms: number, timers: Pick<typeof globalThis, "setTimeout" | "clearTimeout"> = globalThis): { request: () => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    request() {
      if (timer !== null) timers.clearTimeout(timer);
      timer = timers.setTimeout(() => {
        timer = null;
        run();
      }, ms);
    },
    cancel() {
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
    },
  };
}

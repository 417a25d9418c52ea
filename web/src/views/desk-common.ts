// The state of the agent desk page and what its panels may ask of the page (DeskHost). The
// panels (desk-presence, desk-calls, desk-client, desk-notes, desk-history, desk-transfer,
// desk-stats) are render functions of that state; the page (desk.ts) owns the state and the
// API calls.

import type { Category, Client, ClientField, ContactRecord, Desk, DeskCall, DeskStats, Directory, NoteVersion, PhoneKind, Target, CallAction } from "../api/desk";
import type { Problem } from "../api/problem";
import type { Me } from "../api/types";
import { formatDateTime } from "../format/date";
import type { Locale, MessageKey, Params } from "../i18n";
import { h } from "../ui/dom";
import type { Composer } from "./desk-compose";

export type T = (key: MessageKey, params?: Params) => string;
/** A desk text key (the desk's texts are registered with its chunk). */
export const k = (key: string): MessageKey => key as MessageKey;

export interface HistoryState {
  from: string;
  to: string;
  q: string;
  items: ContactRecord[];
  next: string | null;
  loaded: boolean;
}

export interface DeskState {
  desk: Desk | null;
  loadProblem: Problem | null;
  problem: Problem | null;
  /** What the page's own checks found wrong (before sending). */
  invalid: string | null;
  message: string | null;
  directory: Directory | null;
  fields: ClientField[] | null;
  /** null = no readable list (a category code is typed in). */
  categories: Category[] | null;
  chosenCall: string | null;
  contactId: string | null;
  contact: ContactRecord | null;
  notes: NoteVersion[] | null;
  noteDraft: string;
  categoryDraft: string;
  candidatesPhone: string | null;
  candidates: Client[] | null;
  client: Client | null;
  clientEdit: Record<string, string>;
  clientHistory: ContactRecord[] | null;
  clientHistoryNext: string | null;
  newClient: Record<string, string> | null;
  dial: string;
  dtmf: string;
  dtmfOpen: boolean;
  breakCode: string;
  requested: string | null;
  /** The phone asked for (PUT /api/desk/phone) until a desk read shows it in use (DESK-2). */
  phoneRequested: PhoneKind | null;
  panelGroup: string;
  panelSearch: string;
  panelNumber: string;
  /** Set when the agent pressed Konzultace/Předat naslepo and is choosing a target. */
  choosing: "consult" | "blind" | null;
  history: HistoryState;
  recent: ContactRecord[] | null;
  /** GET /api/desk/stats (DESK-6); null until read or when it could not be read. */
  stats: DeskStats | null;
  statsFailed: boolean;
  busy: boolean;
}

export function initialState(): DeskState {
  return {
    desk: null,
    loadProblem: null,
    problem: null,
    invalid: null,
    message: null,
    directory: null,
    fields: null,
    categories: [],
    chosenCall: null,
    contactId: null,
    contact: null,
    notes: null,
    noteDraft: "",
    categoryDraft: "",
    candidatesPhone: null,
    candidates: null,
    client: null,
    clientEdit: {},
    clientHistory: null,
    clientHistoryNext: null,
    newClient: null,
    dial: "",
    dtmf: "",
    dtmfOpen: false,
    breakCode: "",
    requested: null,
    phoneRequested: null,
    panelGroup: "",
    panelSearch: "",
    panelNumber: "",
    choosing: null,
    history: { from: "", to: "", q: "", items: [], next: null, loaded: false },
    recent: null,
    stats: null,
    statsFailed: false,
    busy: false,
  };
}

export interface DeskHost {
  readonly t: T;
  readonly locale: Locale;
  readonly me: Me;
  readonly s: DeskState;
  /** The client card's form of a new SMS or e-mail. */
  readonly composer: Composer;
  /** Re-renders the page, keeping the focus (or moving it to the element with this test id). */
  rerender(focus?: string | null): void;
  presence(state: "ready" | "notReady", breakCode?: string): void;
  /** Take calls on the desk phone or on the mobile (DESK-2). */
  phone(kind: PhoneKind): void;
  /** Extends the wrap-up by `seconds`, or ends it (`null`). */
  wrapUp(seconds: number | null): void;
  queue(queueId: string, loggedIn: boolean): void;
  callAction(call: DeskCall, action: CallAction, body?: unknown): void;
  dial(number: string, clientId?: string | null): void;
  chooseCall(callKey: string): void;
  target(target: Target, mode: "consult" | "blind"): void;
  favourite(id: string): void;
  openContact(contactId: string): void;
  pickClient(clientId: string): void;
  saveClient(): void;
  createClient(): void;
  saveNote(): void;
  saveCategory(): void;
  searchHistory(more: boolean): void;
  moreClientHistory(): void;
  refreshStats(): void;
}

/** A text looked up by a key built from data (a state, an outcome), or `fallback` when there is none. */
export function known(t: T, key: string, fallback: string): string {
  const text = t(k(key));
  return text === key ? fallback : text;
}

export function when(at: string | null | undefined): string {
  return at ? (formatDateTime(at) ?? at) : "";
}

/** A section of the desk with its own heading (h2) and test id. */
export function panel(id: string, title: string, ...children: (Node | string | null | false | undefined)[]): HTMLElement {
  return h("section", { class: "card desk-panel", "aria-labelledby": `${id}-title`, "data-testid": id }, h("h2", { id: `${id}-title` }, title), ...children);
}

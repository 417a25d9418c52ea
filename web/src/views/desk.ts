// Pracoviště (the agent desk, issue 6): presence and breaks, queues, call control, caller
// identification and the client card, the note and category of the contact, histories and the
// transfer panel. Loaded as its own chunk. The PBX's answers arrive over the WebSocket: a
// `desk` push re-reads GET /api/desk (at once, coalescing a burst) or applies the desk it carries, a `presence`
// push updates a panel row, a `contact` push re-reads that contact; after a reconnect the page
// reads everything again.

import { DeskApi, type CallAction, type DeskCall, type PhoneKind, type Target } from "../api/desk";
import type { Problem } from "../api/problem";
import { pragueLocalToIso } from "../format/date";
import { formatPhone } from "../format/phone";
import "../i18n/desk";
import type { LiveSnapshot } from "../live/live";
import { h } from "../ui/dom";
import { rerenderKeepingFocus } from "./callbacks-common";
import { callsPanel } from "./desk-calls";
import { DeskChatsPanel } from "./desk-chats";
import { Composer } from "./desk-compose";
import { clientPanel } from "./desk-client";
import { clientFieldsToCreate, fieldLabels, labelFieldErrors } from "./desk-client-new";
import { initialState, k, type DeskHost, type DeskState } from "./desk-common";
import { historyPanel, recentPanel } from "./desk-history";
import {
  applyDeskPush,
  PushVersions,
  deskAfterRead,
  applyPresencePush,
  changedFields,
  clientName,
  dayBound,
  coalesce,
  deskPhone,
  isExternalNumber,
  latestVersion,
  mainCall,
  missingRequired,
  phoneNumber,
  toggleFavourite,
} from "./desk-model";
import { contactPanel, saveNoteVersion } from "./desk-notes";
import { presenceBar, queuesPanel, tickCountdown } from "./desk-presence";
import { statsPanel } from "./desk-stats";
import { transferPanel } from "./desk-transfer";
import { pageSection, statusLine } from "./form";
import { asProblem, problemBox } from "./problem-box";
import type { View, ViewContext } from "./view";

/** How long pushes are gathered before GET /api/desk is read again. */

const DESK_CODES: Record<string, string> = {
  "queue-locked": "desk.problem.queueLocked",
  "not-found": "desk.problem.notFound",
  conflict: "desk.problem.conflict",
  "no-phone": "desk.problem.noPhone",
  "no-mobile": "desk.problem.noMobile",
  "phone-busy": "desk.problem.phoneBusy",
  "answer-on-mobile": "desk.problem.answerOnMobile",
};

/**
 * After PUT /api/desk/phone the desk follows the PBX by pushes; in case one is lost it is also
 * read again this long (ms) after the request, and the wait is given up after the last step.
 */
const PHONE_WATCH_MS = [2000, 5000, 20000] as const;

/** How often a contact record not written yet is read again (see `#reloadContact`). */
const CONTACT_RETRIES = 5;

export class DeskView implements View {
  readonly #s: DeskState = initialState();
  #context: ViewContext | null = null;
  #api: DeskApi | null = null;
  /** Chaty (issue 7): its own state, loaded with the desk and kept current by chat pushes. */
  #chats: DeskChatsPanel | null = null;
  /** Poslat SMS / Poslat e-mail of the client card. */
  #cardComposer: Composer | null = null;
  #started = false;
  #disposed = false;
  #unsubscribe: (() => void)[] = [];
  #tick: ReturnType<typeof setInterval> | null = null;
  #liveOpened = false;
  #liveLost = false;
  readonly #refetch = coalesce(() => this.#loadDesk());
  /** Desk pushes that carried calls so far (a read answered after one may be older). */
  #callPushes = 0;
  /** The agent's action in progress and the button that started it (see `#run`). */
  #running: Promise<void> | null = null;
  #runningFocus: string | null | undefined = undefined;
  /** Stale desk and presence pushes are dropped (cti-ingest processes groups side by side). */
  #deskPushes = new PushVersions();
  #presencePushes = new PushVersions();
  /** The desk the last contact-focus decision was made on (see `#setDesk`). */
  #focusBasis: DeskState["desk"] = null;
  /** Obnovit and an ended call read the statistics again (one more read if asked meanwhile). */
  readonly #statsRefetch = coalesce(() => this.#loadStats());
  /** A call button pressed (`from`) and where the focus goes once it is gone (`to`, first found). */
  #pendingFocus: { from: string; to: string[] } | null = null;
  /** The timers of a phone switch under way (see PHONE_WATCH_MS). */
  #phoneTimers: ReturnType<typeof setTimeout>[] = [];

  render(context: ViewContext): HTMLElement {
    this.#context = context;
    const { t } = context;
    if (!this.#started) this.#start(context);
    const s = this.#s;
    const host = this.#host(context);
    let body: (HTMLElement | null)[];
    if (!s.desk) {
      body = [s.loadProblem ? this.#problemBox(s.loadProblem) : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading"))];
    } else {
      body = [
        presenceBar(host),
        h(
          "div",
          { class: "desk-grid" },
          h("div", { class: "desk-main" }, callsPanel(host), this.#chats?.render() ?? null, clientPanel(host), contactPanel(host)),
          h("div", { class: "desk-side" }, transferPanel(host), queuesPanel(host), statsPanel(host)),
        ),
        recentPanel(host),
        historyPanel(host),
      ];
    }
    return pageSection(
      k("desk.title"),
      t,
      "desk-page",
      h("div", { "aria-live": "polite" }, statusLine(s.message, "desk-message")),
      s.invalid ? h("div", { class: "alert alert-error", role: "alert", "data-testid": "desk-invalid" }, s.invalid) : null,
      s.problem ? this.#problemBox(s.problem) : null,
      s.desk && s.loadProblem ? this.#problemBox(s.loadProblem) : null,
      ...body,
    );
  }

  dispose(): void {
    this.#disposed = true;
    this.#refetch.cancel();
    this.#statsRefetch.cancel();
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    if (this.#tick !== null) clearInterval(this.#tick);
    this.#tick = null;
    this.#stopPhoneWatch();
  }

  // ---- start, live updates ---------------------------------------------------------------

  #start(context: ViewContext): void {
    this.#started = true;
    this.#api = new DeskApi(context.api);
    const locale = () => this.#context?.locale ?? context.locale;
    const flash = (text: string, focus?: string | null) => {
      const s = this.#s;
      s.message = text;
      s.problem = null;
      s.invalid = null;
      this.#rerender(focus);
    };
    const agentName = () => this.#context?.me.name || this.#s.desk?.displayName || context.me.username;
    this.#chats = new DeskChatsPanel({
      api: context.api,
      t: context.t,
      locale,
      username: context.me.username,
      agentName,
      categories: () => this.#s.categories,
      fields: () => this.#s.fields,
      directory: () => this.#s.directory,
      queues: () => this.#s.desk?.queues ?? [],
      rerender: (focus) => this.#rerender(focus),
      flash,
      contactsChanged: () => void this.#loadRecent(),
    });
    this.#cardComposer = new Composer(
      {
        api: context.api,
        t: context.t,
        locale,
        agentName,
        rerender: (focus) => this.#rerender(focus),
        sent: (text, opened, focus) => {
          flash(text, focus);
          this.#chats?.opened(opened.conversation);
        },
      },
      "desk-card-compose",
    );
    void this.#loadAll();
    const live = context.live;
    if (live) {
      this.#unsubscribe.push(live.onMessage((message) => this.#onPush(message)));
      this.#unsubscribe.push(live.subscribe((snapshot) => this.#onLiveState(snapshot)));
    }
    this.#tick = setInterval(() => {
      if (typeof document !== "undefined") tickCountdown(document, Date.now());
    }, 1000);
  }

  #onLiveState(snapshot: LiveSnapshot): void {
    if (snapshot.state === "open") {
      if (this.#liveOpened && this.#liveLost) {
        // Pushes may have been missed while the connection was down: read everything again.
        this.#liveLost = false;
        this.#deskPushes.forget();
        this.#presencePushes.forget();
        void this.#loadAll(true);
      }
      this.#liveOpened = true;
    } else if (this.#liveOpened) {
      this.#liveLost = true;
    }
  }

  #onPush(message: Record<string, unknown>): void {
    if (this.#disposed) return;
    if (this.#chats?.onPush(message)) return;
    const s = this.#s;
    const type = message["type"];
    if (type === "desk") {
      if (!this.#deskPushes.fresh(message)) return;
      const { desk, refetch } = applyDeskPush(s.desk, message, this.#context?.me.username ?? "");
      if (Array.isArray(message["calls"])) this.#callPushes += 1;
      // The pushed calls are shown at once; when a read follows, the call's contact is brought
      // into focus with its answer (the record may not be written yet, and reading it early only
      // loads the back end when it is busiest).
      if (desk !== s.desk) this.#setDesk(desk, true, !refetch);
      if (refetch) this.#refetch.request();
    } else if (type === "presence") {
      if (!this.#presencePushes.fresh(message)) return;
      const directory = applyPresencePush(s.directory, message);
      if (directory !== s.directory) {
        s.directory = directory;
        this.#rerender();
      }
    } else if (type === "contact") {
      const contactId = message["contactId"];
      if (typeof contactId === "string" && contactId === s.contactId) void this.#reloadContact(false);
      if (typeof contactId === "string" && s.recent?.some((contact) => contact.contactId === contactId)) void this.#loadRecent();
    }
  }

  // ---- loading ---------------------------------------------------------------------------

  async #loadAll(resync = false): Promise<void> {
    const api = this.#api;
    if (!api) return;
    const s = this.#s;
    const [fields, categories] = await Promise.all([
      s.fields && resync ? Promise.resolve(s.fields) : api.clientFields().catch(() => s.fields ?? []),
      s.categories && s.categories.length && resync ? Promise.resolve(s.categories) : api.categories(this.#context?.me.roles.includes("admin") ?? false),
    ]);
    s.fields = fields;
    s.categories = categories;
    await Promise.all([this.#loadDesk(false), this.#loadDirectory(), this.#loadRecent(false), this.#loadStats(false), this.#chats?.load()]);
    if (resync && s.contactId) await this.#reloadContact(false);
    this.#rerender();
  }

  async #loadDesk(render = true): Promise<void> {
    const api = this.#api;
    if (!api || this.#disposed) return;
    try {
      const pushesBefore = this.#callPushes;
      const desk = deskAfterRead(await api.desk(), this.#s.desk, this.#callPushes !== pushesBefore);
      this.#s.loadProblem = null;
      this.#setDesk(desk, render);
    } catch (error) {
      this.#s.loadProblem = asProblem(error);
      if (render) this.#rerender();
    }
  }

  #setDesk(desk: DeskState["desk"], render = true, focus = true): void {
    const s = this.#s;
    const before = s.desk;
    s.desk = desk;
    if (s.requested && desk && (before?.presence.state !== desk.presence.state || desk.presence.state === s.requested)) s.requested = null;
    const phone = desk ? deskPhone(desk) : null;
    if (s.phoneRequested && phone && phone.using === s.phoneRequested && this.#context) {
      // The PBX moved the agent: said in the status line (aria-live).
      s.phoneRequested = null;
      this.#stopPhoneWatch();
      s.message = this.#context.t(k(phone.using === "mobile" ? "desk.phone.nowMobile" : "desk.phone.nowDesk"), { number: phoneNumber(phone, phone.using) ?? "" });
    }
    const calls = desk?.calls ?? [];
    if (s.chosenCall && !calls.some((call) => call.callKey === s.chosenCall)) s.chosenCall = null;
    if (calls.length === 0) s.choosing = null;
    const ringing = calls.find((call) => call.state === "ringing" && !before?.calls.some((old) => old.callKey === call.callKey));
    if (ringing && this.#context) {
      // Said in the status line (aria-live) so that a screen reader announces it too; on the
      // mobile, with where to answer it (DESK-2).
      const onMobile = phone?.using === "mobile" && ringing.direction !== "outbound";
      s.message = this.#context.t(k(onMobile ? "desk.incomingMobile" : "desk.incoming"), { number: ringing.remote ? formatPhone(ringing.remote) : this.#context.t(k("desk.call.unknown")) });
    }
    if (focus) {
      const main = mainCall(calls, s.chosenCall);
      // A new call brings its contact into focus; after the call the contact stays for the notes.
      // "New" against the desk the last focus was decided on (a push may have shown it since).
      const hadIt = this.#focusBasis?.calls.some((call) => call.contactId === main?.contactId) ?? false;
      this.#focusBasis = desk;
      // A consultation (internal) call does not take the focus from the customer's call.
      const focusOnCall = calls.some((call) => call.contactId === s.contactId);
      const steal = !(main?.direction === "internal" && focusOnCall);
      if (main && main.contactId && main.contactId !== s.contactId && (!hadIt || !s.contactId) && steal) void this.#focusContact(main.contactId, main);
    }
    if (before && before.calls.length > 0 && calls.length < before.calls.length) void this.#loadRecent();
    // A call ended (the desk is empty again): its figures may have changed.
    if (before && before.calls.length > 0 && calls.length === 0) this.#statsRefetch.request();
    if (render) this.#rerender();
  }

  async #loadDirectory(): Promise<void> {
    try {
      this.#s.directory = await this.#api!.directory();
    } catch (error) {
      this.#s.problem = asProblem(error);
    }
  }

  async #loadRecent(render = true): Promise<void> {
    try {
      this.#s.recent = await this.#api!.recent();
    } catch {
      this.#s.recent ??= [];
    }
    if (render) this.#rerender();
  }

  /** Reads the statistics; a failure only shows in their panel. */
  async #loadStats(render = true): Promise<void> {
    const api = this.#api;
    const s = this.#s;
    if (!api || this.#disposed) return;
    try {
      s.stats = await api.stats();
      s.statsFailed = false;
    } catch {
      s.stats = null;
      s.statsFailed = true;
    }
    if (render) this.#rerender();
  }

  async #focusContact(contactId: string, call?: DeskCall): Promise<void> {
    const s = this.#s;
    s.contactId = contactId;
    s.contact = null;
    s.notes = null;
    s.noteDraft = "";
    s.categoryDraft = "";
    s.client = null;
    s.clientEdit = {};
    s.clientHistory = null;
    s.clientHistoryNext = null;
    s.candidates = null;
    s.candidatesPhone = call && isExternalNumber(call.remote) ? call.remote : null;
    s.newClient = null;
    this.#rerender();
    await this.#reloadContact(true);
  }

  /**
   * Reads the contact in focus, its notes, and its client (or the candidates by number). The
   * desk hears of a ringing call a moment before its contact record is written: a record not
   * found yet is read again shortly (0.25, 0.5, 1, 2, 4 s), and the clients with the calling
   * number are listed meanwhile.
   */
  async #reloadContact(first: boolean, attempt = 0): Promise<void> {
    const api = this.#api;
    const s = this.#s;
    const contactId = s.contactId;
    if (!api || !contactId || this.#disposed) return;
    try {
      const [contact, notes] = await Promise.all([api.contact(contactId), api.notes(contactId)]);
      if (s.contactId !== contactId) return;
      s.contact = contact;
      const latest = notes.find((note) => note.version === latestVersion(notes));
      if (first || !s.noteDraft || s.noteDraft === latestText(s.notes)) s.noteDraft = latest?.text ?? s.noteDraft;
      s.notes = notes;
      if (first || !s.categoryDraft) s.categoryDraft = contact.categoryId ?? "";
      if (contact.clientId) {
        if (!s.client || s.client.clientId !== contact.clientId) await this.#loadClient(contact.clientId);
      } else {
        s.client = null;
        if (!s.candidatesPhone && contact.number && isExternalNumber(contact.number)) s.candidatesPhone = contact.number;
        if (s.candidatesPhone && (first || s.candidates === null)) s.candidates = await api.findClients({ phone: s.candidatesPhone });
      }
    } catch (error) {
      const problem = asProblem(error);
      if (problem.status === 404 && attempt < CONTACT_RETRIES && s.contactId === contactId) {
        window.setTimeout(() => {
          if (this.#s.contactId === contactId) void this.#reloadContact(first, attempt + 1);
        }, 250 * 2 ** attempt);
        if (!s.client && s.candidatesPhone && s.candidates === null) {
          try {
            s.candidates = await api.findClients({ phone: s.candidatesPhone });
          } catch (lookup) {
            s.problem = asProblem(lookup);
          }
        }
      } else {
        s.problem = problem;
      }
    }
    this.#rerender();
  }

  async #loadClient(clientId: string): Promise<void> {
    const api = this.#api!;
    const s = this.#s;
    const client = await api.client(clientId);
    s.client = client;
    s.clientEdit = { ...client.fields };
    s.clientHistory = null;
    s.clientHistoryNext = null;
    try {
      const page = await api.clientContacts(clientId);
      s.clientHistory = page.contacts;
      s.clientHistoryNext = page.next;
    } catch {
      s.clientHistory = [];
    }
  }

  // ---- actions ---------------------------------------------------------------------------

  /** Runs an action: clears the last message, shows the problem it ends with, re-renders. */
  /**
   * Runs one action of the agent's at a time. Another button pressed while one runs waits its
   * turn instead of being lost (a push can show the next step — the call connected — before the
   * previous request has answered); the same button again while its action runs is a double
   * click and is ignored.
   */
  async #run(task: (api: DeskApi) => Promise<string | null | void>, focus?: string | null): Promise<void> {
    const api = this.#api;
    const s = this.#s;
    if (!api) return;
    while (this.#running) {
      if (focus != null && focus === this.#runningFocus) return;
      await this.#running;
    }
    let finished: () => void = () => {};
    this.#running = new Promise<void>((resolve) => (finished = resolve));
    this.#runningFocus = focus;
    s.busy = true;
    s.problem = null;
    s.invalid = null;
    s.message = null;
    try {
      const message = await task(api);
      if (message) s.message = message;
    } catch (error) {
      s.problem = asProblem(error);
    } finally {
      s.busy = false;
      this.#running = null;
      this.#runningFocus = undefined;
      finished();
    }
    this.#rerender(focus);
  }

  #host(context: ViewContext): DeskHost {
    const s = this.#s;
    const t = context.t;
    const run = this.#run.bind(this);
    return {
      t,
      locale: context.locale,
      me: context.me,
      s,
      composer: this.#cardComposer!,
      rerender: (focus) => this.#rerender(focus),
      presence: (state, breakCode) =>
        void run(async (api) => {
          const answer = await api.setPresence(state, breakCode);
          s.requested = answer?.requested ?? state;
          return t(k("desk.presenceRequested"));
        }),
      wrapUp: (seconds) =>
        void run(async (api) => {
          const answer = seconds === null ? await api.endWrapUp() : await api.extendWrapUp(seconds);
          if (s.desk) s.desk = { ...s.desk, wrapUp: answer?.wrapUp ?? null };
          return t(k(seconds === null ? "desk.wrapUpEnded" : "desk.wrapUpExtended"));
        }, seconds === null ? "desk-ready" : "desk-wrapup-extend"),
      queue: (queueId, loggedIn) =>
        void run(async (api) => {
          const stored = await api.setQueue(queueId, loggedIn);
          if (s.desk) s.desk = { ...s.desk, queues: s.desk.queues.map((queue) => (queue.queueId === queueId ? { ...queue, ...stored } : queue)) };
          const name = stored?.name ?? queueId;
          return t(k(loggedIn ? "desk.queue.loggedIn" : "desk.queue.loggedOut"), { queue: name });
        }, `desk-queue-toggle-${queueId}`),
      phone: (kind) => void this.#switchPhone(kind),
      callAction: (call, action, body) => void this.#callAction(call, action, body),
      dial: (number, clientId) =>
        void run(async (api) => {
          await api.dial(number, clientId);
          s.dial = "";
          this.#refetch.request();
          return t(k("desk.dial.sent"), { number: formatPhone(number) });
        }),
      chooseCall: (callKey) => {
        s.chosenCall = callKey;
      },
      target: (target, mode) => void this.#target(target, mode),
      favourite: (id) =>
        void run(async (api) => {
          const directory = s.directory;
          if (!directory) return;
          const favourites = await api.setFavourites(toggleFavourite(directory.favourites, id));
          s.directory = { ...directory, favourites };
          return null;
        }, `desk-fav-${id}`),
      openContact: (contactId) => {
        void this.#focusContact(contactId).then(() => this.#rerender("desk-note"));
      },
      pickClient: (clientId) =>
        void run(async (api) => {
          const contactId = s.contactId;
          if (!contactId) return;
          s.contact = await api.setClient(contactId, clientId);
          await this.#loadClient(clientId);
          return t(k("desk.client.picked"), { name: s.client ? clientName(s.client) : clientId });
        }, "desk-card-name"),
      saveClient: () => void this.#saveClient(),
      createClient: () => void this.#createClient(),
      saveNote: () => void this.#saveNote(),
      saveCategory: () =>
        void run(async (api) => {
          const contactId = s.contactId;
          const categoryId = s.categoryDraft.trim();
          if (!contactId) return;
          if (!categoryId) {
            s.invalid = t(k("desk.category.needed"));
            return;
          }
          s.contact = await api.setCategory(contactId, categoryId);
          void this.#loadRecent();
          return t(k("desk.category.saved"));
        }),
      searchHistory: (more) => void this.#searchHistory(more),
      refreshStats: () => this.#statsRefetch.request(),
      moreClientHistory: () =>
        void run(async (api) => {
          if (!s.client || !s.clientHistoryNext) return;
          const page = await api.clientContacts(s.client.clientId, s.clientHistoryNext);
          s.clientHistory = [...(s.clientHistory ?? []), ...page.contacts];
          s.clientHistoryNext = page.next;
        }),
    };
  }

  async #callAction(call: DeskCall, action: CallAction, body?: unknown): Promise<void> {
    const t = this.#context!.t;
    const s = this.#s;
    const after: Partial<Record<CallAction, string[]>> = {
      answer: ["desk-call-hangup"],
      hold: ["desk-call-retrieve"],
      retrieve: ["desk-call-hold"],
      hangup: ["desk-call-hangup", "desk-note", "desk-dial-number"],
      transfer: ["desk-note", "desk-dial-number"],
      conference: ["desk-call-hangup"],
    };
    const to = after[action];
    if (to) this.#pendingFocus = { from: `desk-call-${action}`, to };
    await this.#run(async (api) => {
      await api.callAction(call.callKey, action, body);
      if (action === "send-digits") s.dtmfOpen = true;
      if (action === "transfer" || action === "blind-transfer" || action === "conference") s.choosing = null;
      // The PBX's answer comes as a push; read the desk anyway in case a push is lost.
      this.#refetch.request();
      return t(k(`desk.sent.${action}`), { number: formatPhone(call.remote) });
    });
    if (s.problem) this.#pendingFocus = null;
    // The desk did not know the agent is on the mobile yet: read it again.
    if (s.problem?.code === "answer-on-mobile") this.#refetch.request();
  }

  /** Take calls on the desk phone or on the mobile (DESK-2); pending until a desk read shows it. */
  async #switchPhone(kind: PhoneKind): Promise<void> {
    const s = this.#s;
    const t = this.#context!.t;
    if (s.phoneRequested) return;
    await this.#run(async (api) => {
      await api.setPhone(kind);
      s.phoneRequested = kind;
      this.#watchPhone();
      // The PBX's answer comes as pushes; read the desk anyway in case one is lost.
      this.#refetch.request();
      return t(k("desk.phone.requested"));
    }, "desk-phone-switch");
  }

  #watchPhone(): void {
    this.#stopPhoneWatch();
    const last = PHONE_WATCH_MS.length - 1;
    this.#phoneTimers = PHONE_WATCH_MS.map((ms, index) =>
      setTimeout(() => {
        const s = this.#s;
        if (this.#disposed || !s.phoneRequested) return;
        if (index < last) {
          this.#refetch.request();
          return;
        }
        // The PBX never confirmed: the desk shows the phone it knows; the agent may try again.
        s.phoneRequested = null;
        s.message = null;
        s.invalid = this.#context?.t(k("desk.phone.notConfirmed")) ?? null;
        this.#rerender();
      }, ms),
    );
  }

  #stopPhoneWatch(): void {
    for (const timer of this.#phoneTimers) clearTimeout(timer);
    this.#phoneTimers = [];
  }

  async #target(target: Target, mode: "consult" | "blind"): Promise<void> {
    const s = this.#s;
    const t = this.#context!.t;
    const call = mainCall(s.desk?.calls ?? [], s.chosenCall);
    if (!call || (call.state !== "connected" && call.state !== "held")) {
      s.invalid = t(k("desk.choose.noCall"));
      this.#rerender();
      return;
    }
    await this.#run(async (api) => {
      await api.callAction(call.callKey, mode === "consult" ? "consult" : "blind-transfer", { target });
      s.choosing = null;
      if (mode === "consult") s.chosenCall = call.callKey;
      this.#refetch.request();
      return t(k(mode === "consult" ? "desk.sent.consult" : "desk.sent.blind-transfer"), { number: formatPhone(call.remote) });
    }, "desk-calls-title");
  }

  async #saveNote(): Promise<void> {
    const s = this.#s;
    const t = this.#context!.t;
    const contactId = s.contactId;
    const text = s.noteDraft.trim();
    if (!contactId) return;
    if (!text) {
      s.invalid = t(k("desk.note.empty"));
      s.message = null;
      this.#rerender("desk-note");
      return;
    }
    await this.#run(async (api) => {
      const result = await saveNoteVersion(api, contactId, text, s.notes ?? []);
      s.notes = result.notes;
      if (!result.saved) {
        // Someone saved a newer version meanwhile: show it, keep the text typed.
        s.invalid = t(k("desk.note.conflict"));
        return null;
      }
      void this.#loadRecent();
      return t(k("desk.note.saved"), { version: result.version });
    }, "desk-note");
  }

  async #saveClient(): Promise<void> {
    const s = this.#s;
    const t = this.#context!.t;
    const client = s.client;
    if (!client) return;
    const changed = changedFields(s.fields ?? [], client.fields, s.clientEdit);
    if (Object.keys(changed).length === 0) {
      s.problem = null;
      s.invalid = null;
      s.message = t(k("desk.client.unchanged"));
      this.#rerender();
      return;
    }
    const missing = missingRequired((s.fields ?? []).filter((field) => field.key in changed), s.clientEdit);
    if (missing.length) {
      s.invalid = t(k("desk.client.required"), { fields: this.#fieldLabels(missing) });
      this.#rerender();
      return;
    }
    await this.#run(async (api) => {
      try {
        const stored = await api.updateClient(client.clientId, client.version, changed);
        s.client = stored;
        s.clientEdit = { ...stored.fields };
        return t(k("desk.client.saved"));
      } catch (error) {
        if (asProblem(error).status === 409) {
          const fresh = await api.client(client.clientId);
          s.client = fresh;
          s.clientEdit = { ...fresh.fields };
          s.invalid = t(k("desk.client.conflict"), { by: fresh.updatedBy });
          return null;
        }
        throw error;
      }
    }, "desk-card-save");
  }

  async #createClient(): Promise<void> {
    const s = this.#s;
    const t = this.#context!.t;
    const values = s.newClient;
    if (!values) return;
    const missing = missingRequired(s.fields ?? [], values);
    if (missing.length) {
      s.invalid = t(k("desk.client.required"), { fields: this.#fieldLabels(missing) });
      s.message = null;
      this.#rerender();
      return;
    }
    const fields = clientFieldsToCreate(values);
    await this.#run(async (api) => {
      const created = await api.createClient(fields);
      s.newClient = null;
      if (s.contactId) s.contact = await api.setClient(s.contactId, created.clientId);
      await this.#loadClient(created.clientId);
      return t(k("desk.client.created"), { name: clientName(created) });
    }, "desk-card-name");
  }

  #fieldLabels(keys: string[]): string {
    return fieldLabels(this.#s.fields ?? [], keys, this.#context?.locale ?? "cs");
  }

  async #searchHistory(more: boolean): Promise<void> {
    const s = this.#s;
    const t = this.#context!.t;
    const history = s.history;
    const from = history.from ? dayBound(history.from, false, pragueLocalToIso) : undefined;
    const to = history.to ? dayBound(history.to, true, pragueLocalToIso) : undefined;
    if ((history.from && !from) || (history.to && !to) || (from && to && Date.parse(from) >= Date.parse(to))) {
      s.invalid = t(k("desk.history.badPeriod"));
      this.#rerender("desk-history-from");
      return;
    }
    await this.#run(async (api) => {
      const page = await api.history({ from, to, q: history.q.trim() || undefined, cursor: more ? history.next : null });
      history.items = more ? [...history.items, ...page.contacts] : page.contacts;
      history.next = page.next;
      history.loaded = true;
      return more ? null : t(k("desk.history.found"), { count: history.items.length });
    });
  }

  // ---- rendering helpers -------------------------------------------------------------------

  #rerender(focus?: string | null): void {
    if (this.#disposed || !this.#context) return;
    rerenderKeepingFocus(this.#context, focus);
    // After a call command the button pressed vanishes when the PBX's answer arrives (Přijmout
    // → Zavěsit): the focus, lost with it, goes where the work continues.
    const pending = this.#pendingFocus;
    if (!pending || typeof document === "undefined") return;
    if (document.querySelector(`main [data-testid="${CSS.escape(pending.from)}"]`)) return;
    this.#pendingFocus = null;
    const active = document.activeElement;
    if (active && active !== document.body) return;
    const target = pending.to.map((id) => document.querySelector<HTMLElement>(`main [data-testid="${CSS.escape(id)}"]`)).find((element) => element !== null);
    target?.focus();
  }

  #problemBox(problem: Problem): HTMLElement {
    const t = this.#context!.t;
    const key = problem.code ? DESK_CODES[problem.code] : undefined;
    if (key) return h("div", { class: "alert alert-error", role: "alert", "data-testid": "problem", "data-code": problem.code ?? "" }, h("p", null, t(k(key))));
    // A client refused (422): its fields named as the form labels them.
    return problemBox(labelFieldErrors(problem, this.#s.fields ?? [], this.#context?.locale ?? "cs"), t);
  }
}

function latestText(notes: DeskState["notes"]): string {
  if (!notes || notes.length === 0) return "";
  const latest = latestVersion(notes);
  return notes.find((note) => note.version === latest)?.text ?? "";
}

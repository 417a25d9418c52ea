// Zpětná volání (IN-11, IN-22, DESK-13): the callback list of the queues one may work, its
// actions (Zavolat → outcome of the attempt, Vyřízeno, Zrušit, Přeplánovat, Poznámka), the
// detail with notes, attempts and the merged lost calls, and the form of a new callback.
// Loaded as its own chunk; the list refreshes after each action and every 15 s.

import type { Problem } from "../api/problem";
import { formatDateTime, pragueLocalToIso, toPragueLocalInput } from "../format/date";
import type { MessageKey } from "../i18n";
import { h, type Child } from "../ui/dom";
import { callbackProblemBox, listFilters, REFRESH_MS, rerenderKeepingFocus, splitLocal } from "./callbacks-common";
import {
  attemptOutcomeLabel,
  callbackSourceLabel,
  callbackStatusLabel,
  callbackWhenLabel,
  displayPhone,
  queueIdsOf,
  slotLabel,
  type Slot,
} from "./callbacks-format";
import { asProblem } from "./problem-box";
import { button, pageSection, select, statusLine, textInput } from "./form";
import type { View, ViewContext } from "./view";

export interface Callback {
  id: string;
  queueId: string;
  number: string;
  clientId?: string;
  clientName?: string;
  source: { kind: string; contactId?: string };
  enteredAt: string;
  priority: number;
  requestedSlot?: Slot;
  dueAt: string;
  due: boolean;
  status: string;
  agent?: string;
  claimedAt?: string;
  claimExpiresAt?: string;
  attempts?: { at?: string; agent?: string; outcome?: string }[];
  mergedCalls?: { contactId?: string; at?: string }[];
  notes?: { at?: string; by?: string; text?: string }[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  closedAt?: string;
  closedBy?: string;
}

type Outcome = "answered" | "noAnswer" | "busy" | "wrongNumber";
const OUTCOMES: readonly { outcome: Outcome; key: MessageKey }[] = [
  { outcome: "answered", key: "callbacks.answered" },
  { outcome: "noAnswer", key: "callbacks.noAnswer" },
  { outcome: "busy", key: "callbacks.busy" },
  { outcome: "wrongNumber", key: "callbacks.wrongNumber" },
];

const OPEN_STATUSES = new Set(["pending", "scheduled", "inProgress"]);

interface SlotInput {
  date: string;
  from: string;
  to: string;
}

type Panel =
  | { kind: "reschedule"; id: string; slots: Slot[] | null; choice: string; own: SlotInput }
  | { kind: "note"; id: string; text: string };

function readItems(body: unknown): Callback[] {
  const items = (body as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as Callback[]) : [];
}

function emptySlotInput(): SlotInput {
  const { date } = splitLocal(toPragueLocalInput(Date.now()));
  return { date, from: "", to: "" };
}

/** The slot of a date + from/to (Europe/Prague); null when nothing is entered, "bad" when it cannot be. */
function slotOf(input: SlotInput): Slot | null | "bad" {
  if (!input.from && !input.to) return null;
  const start = pragueLocalToIso(`${input.date}T${input.from}`);
  const end = pragueLocalToIso(`${input.date}T${input.to}`);
  if (!start || !end || Date.parse(end) <= Date.parse(start)) return "bad";
  return { start, end };
}

let ids = 0;

export class CallbacksView implements View {
  #items: Callback[] = [];
  #loaded = false;
  #started = false;
  #loadProblem: Problem | null = null;
  #problem: Problem | null = null;
  /** What the form checks itself found wrong (before sending). */
  #invalid: string | null = null;
  #message: string | null = null;
  #closed = false;
  #queue = "";
  #queues: string[] = [];
  #busy = false;
  #panel: Panel | null = null;
  #detailId: string | null = null;
  #detail: Callback | null = null;
  #newOpen = false;
  #new = { queueId: "", number: "", clientName: "", note: "", slot: emptySlotInput(), requestId: "" };
  #timer: ReturnType<typeof setInterval> | null = null;
  #disposed = false;
  #context: ViewContext | null = null;
  readonly #prefix = `cb${++ids}`;

  render(context: ViewContext): HTMLElement {
    this.#context = context;
    const { t } = context;
    if (!this.#started) {
      this.#started = true;
      void this.#load();
      this.#timer = setInterval(() => void this.#load(true), REFRESH_MS);
    }
    const filters = listFilters(t, {
      prefix: "cb",
      queue: this.#queue,
      queues: this.#queues,
      items: this.#items,
      closed: this.#closed,
      closedLabel: "callbacks.closedView",
      onQueue: (value) => {
        this.#queue = value;
        void this.#load();
      },
      onClosed: (value) => {
        this.#closed = value;
        this.#panel = null;
        void this.#load();
      },
      onRefresh: () => void this.#load(),
    });
    let body: Child;
    if (!this.#loaded) {
      body = this.#loadProblem ? callbackProblemBox(this.#loadProblem, t) : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading"));
    } else {
      body = this.#items.length === 0 ? h("p", { class: "muted", "data-testid": "cb-empty" }, t("callbacks.empty")) : this.#table(context);
    }
    return pageSection(
      "callbacks.title",
      t,
      "callbacks-page",
      h("p", { class: "muted" }, t("callbacks.intro")),
      filters,
      h("div", { "aria-live": "polite" }, statusLine(this.#message, "cb-message")),
      this.#problem ? callbackProblemBox(this.#problem, t) : null,
      this.#invalid ? h("div", { class: "alert alert-error", role: "alert", "data-testid": "cb-invalid" }, this.#invalid) : null,
      this.#loaded && this.#loadProblem ? callbackProblemBox(this.#loadProblem, t) : null,
      body,
      this.#panelForm(context),
      this.#detailArea(context),
      this.#newForm(context),
    );
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  // ---- list ------------------------------------------------------------------------------

  #table(context: ViewContext): HTMLElement {
    const { t } = context;
    const th = (key: MessageKey) => h("th", { scope: "col" }, t(key));
    return h(
      "table",
      { class: "table", "data-testid": "cb-table" },
      h("caption", { class: "visually-hidden" }, t(this.#closed ? "callbacks.closedView" : "callbacks.title")),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          th("callbacks.col.number"),
          th("callbacks.col.client"),
          th("callbacks.col.queue"),
          th("callbacks.col.source"),
          th("callbacks.col.status"),
          th("callbacks.col.when"),
          th("callbacks.col.attempts"),
          th("callbacks.col.actions"),
        ),
      ),
      h("tbody", null, ...this.#items.map((item) => this.#row(context, item))),
    );
  }

  #row(context: ViewContext, item: Callback): HTMLElement {
    const { t, me } = context;
    const numberId = `${this.#prefix}-n-${item.id}`;
    const act = (key: MessageKey, name: string, run: () => void, attrs: Record<string, string> = {}) =>
      button(t(key), run, { class: "small", "data-testid": `cb-${name}-${item.id}`, "aria-describedby": numberId, ...attrs });
    const actions: HTMLElement[] = [];
    const open = OPEN_STATUSES.has(item.status);
    const mine = item.status === "inProgress" && item.agent === me.username;
    if (open && mine) {
      for (const { outcome, key } of OUTCOMES) {
        actions.push(act(key, outcome, () => void this.#act(`/attempts`, item, { outcome }, "callbacks.attemptSaved")));
      }
      actions.push(act("callbacks.release", "release", () => void this.#act("/release", item, undefined, "callbacks.released"), { class: "small secondary" }));
    } else if (open && item.status !== "inProgress" && item.due) {
      actions.push(act("callbacks.call", "call", () => void this.#act("/claim", item, { dial: true }, "callbacks.claimed")));
    }
    if (open && (mine || item.status !== "inProgress")) {
      actions.push(act("callbacks.done", "done", () => void this.#act("/done", item, undefined, "callbacks.doneSaved")));
      actions.push(act("callbacks.reschedule", "reschedule", () => this.#openReschedule(item), { class: "small secondary" }));
      actions.push(act("callbacks.cancel", "cancel", () => void this.#act("/cancel", item, undefined, "callbacks.cancelled"), { class: "small secondary" }));
    }
    actions.push(act("callbacks.note", "note", () => this.#openNote(item), { class: "small secondary" }));
    actions.push(
      this.#detailId === item.id
        ? act("callbacks.closeDetail", "detail", () => this.#closeDetail(), { class: "small secondary", "aria-expanded": "true" })
        : act("callbacks.detail", "detail", () => void this.#openDetail(item.id), { class: "small secondary", "aria-expanded": "false" }),
    );
    return h(
      "tr",
      { "data-testid": `cb-row-${item.id}`, "data-status": item.status },
      h("td", { id: numberId, "data-testid": `cb-number-${item.id}` }, displayPhone(item.number)),
      h("td", null, item.clientName ?? ""),
      h("td", null, item.queueId),
      h("td", null, callbackSourceLabel(item.source?.kind, t)),
      h("td", { "data-testid": `cb-status-${item.id}` }, callbackStatusLabel(item.status, item.agent, t)),
      h("td", null, callbackWhenLabel(item)),
      h("td", { "data-testid": `cb-attempts-${item.id}` }, String(item.attempts?.length ?? 0)),
      h("td", { class: "actions" }, ...actions.flatMap((action, index) => (index === 0 ? [action] : [" ", action]))),
    );
  }

  async #load(quiet = false): Promise<void> {
    const context = this.#context;
    if (!context || this.#disposed) return;
    if (quiet && this.#busy) return;
    const query = new URLSearchParams({ view: this.#closed ? "closed" : "open" });
    if (this.#queue) query.set("queueId", this.#queue);
    const before = JSON.stringify(this.#items);
    try {
      this.#items = readItems(await context.api.call("GET", `/api/callbacks?${query.toString()}`));
      this.#queues = queueIdsOf(this.#items, this.#queues);
      this.#loadProblem = null;
      this.#loaded = true;
      if (this.#detailId) {
        const fresh = this.#items.find((item) => item.id === this.#detailId);
        if (fresh && (!this.#detail || fresh.updatedAt !== this.#detail.updatedAt)) await this.#fetchDetail(this.#detailId);
      }
    } catch (error) {
      this.#loadProblem = asProblem(error);
    }
    if (this.#disposed) return;
    if (quiet && before === JSON.stringify(this.#items) && !this.#loadProblem) return;
    rerenderKeepingFocus(context);
  }

  // ---- actions ---------------------------------------------------------------------------

  async #act(action: string, item: Callback, body: unknown, doneKey: MessageKey, focusAfter?: string): Promise<void> {
    const context = this.#context;
    if (!context || this.#busy) return;
    this.#busy = true;
    this.#problem = null;
    this.#invalid = null;
    this.#message = null;
    try {
      const stored = (await context.api.call("POST", `/api/callbacks/${encodeURIComponent(item.id)}${action}`, body)) as Callback | null;
      this.#message = context.t(doneKey, { number: displayPhone(item.number) });
      if (stored && this.#detailId === item.id) this.#detail = stored;
      if (this.#panel?.id === item.id && action !== "/notes") this.#panel = null;
    } catch (error) {
      this.#problem = asProblem(error);
    }
    this.#busy = false;
    await this.#load();
    // After a claim the outcome buttons replace "Zavolat": put the focus on the first of them.
    const focus = focusAfter ?? (action === "/claim" && !this.#problem ? `cb-answered-${item.id}` : null);
    if (focus && !this.#disposed) rerenderKeepingFocus(context, focus);
  }

  #openReschedule(item: Callback): void {
    const panel: Panel = { kind: "reschedule", id: item.id, slots: null, choice: "", own: emptySlotInput() };
    this.#panel = panel;
    this.#problem = null;
    this.#invalid = null;
    if (this.#context) rerenderKeepingFocus(this.#context, `${this.#prefix}-panel-first`);
    void (async () => {
      const context = this.#context;
      if (!context) return;
      try {
        const body = (await context.api.call("GET", `/api/callbacks/slots?queueId=${encodeURIComponent(item.queueId)}`)) as { slots?: Slot[] } | null;
        panel.slots = Array.isArray(body?.slots) ? body.slots : [];
      } catch (error) {
        panel.slots = [];
        this.#problem = asProblem(error);
      }
      panel.choice = panel.slots.length > 0 ? "0" : "own";
      if (!this.#disposed && this.#panel === panel) rerenderKeepingFocus(context);
    })();
  }

  #openNote(item: Callback): void {
    this.#panel = { kind: "note", id: item.id, text: "" };
    this.#problem = null;
    this.#invalid = null;
    if (this.#context) rerenderKeepingFocus(this.#context, `${this.#prefix}-panel-first`);
  }

  #closePanel(): void {
    const id = this.#panel?.id;
    this.#panel = null;
    if (this.#context) rerenderKeepingFocus(this.#context, id ? `cb-note-${id}` : null);
  }

  #panelForm(context: ViewContext): HTMLElement | null {
    const panel = this.#panel;
    if (!panel) return null;
    const { t } = context;
    const item = this.#items.find((candidate) => candidate.id === panel.id) ?? (this.#detail?.id === panel.id ? this.#detail : null);
    const number = item ? displayPhone(item.number) : panel.id;
    const headingId = `${this.#prefix}-panel-title`;
    const close = button(t("callbacks.close"), () => this.#closePanel(), { class: "secondary", "data-testid": "cb-panel-close" });
    if (panel.kind === "note") {
      const area = h("textarea", {
        rows: 3,
        cols: 60,
        maxlength: 2000,
        id: `${this.#prefix}-note-text`,
        "data-testid": `${this.#prefix}-panel-first`,
        on: { input: (event) => (panel.text = (event.target as HTMLTextAreaElement).value) },
      });
      area.value = panel.text;
      area.dataset["role"] = "cb-note-text";
      return h(
        "form",
        {
          class: "form card",
          "aria-labelledby": headingId,
          "data-testid": "cb-note-form",
          novalidate: true,
          on: {
            submit: (event) => {
              event.preventDefault();
              if (!panel.text.trim()) {
                this.#invalid = t("callbacks.needNote");
                this.#message = null;
                rerenderKeepingFocus(context);
                return;
              }
              if (item) void this.#act("/notes", item, { text: panel.text.trim() }, "callbacks.noteSaved").then(() => this.#afterNote(panel));
            },
          },
        },
        h("h2", { id: headingId }, t("callbacks.noteTitle", { number })),
        h("div", { class: "field" }, h("label", { for: `${this.#prefix}-note-text` }, t("callbacks.noteText")), area),
        h("div", { class: "actions" }, h("button", { type: "submit", "data-testid": "cb-note-save" }, t("callbacks.save")), " ", close),
      );
    }
    const slots = panel.slots;
    const slotChoice =
      slots === null
        ? h("p", { class: "muted", "aria-live": "polite", "data-testid": `${this.#prefix}-panel-first`, tabindex: -1 }, t("callbacks.slotsLoading"))
        : h(
            "div",
            { class: "field" },
            h("label", { for: `${this.#prefix}-slot` }, t("callbacks.slots")),
            select(
              panel.choice,
              [...slots.map((slot, index) => ({ value: String(index), label: slotLabel(slot) })), { value: "own", label: t("callbacks.ownSlot") }],
              (value) => {
                panel.choice = value;
                rerenderKeepingFocus(context);
              },
              { id: `${this.#prefix}-slot`, "data-testid": `${this.#prefix}-panel-first`, "data-role": "cb-slot-select" },
            ),
          );
    return h(
      "form",
      {
        class: "form card",
        "aria-labelledby": headingId,
        "data-testid": "cb-reschedule-form",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            let slot: Slot | null | "bad" = null;
            if (panel.choice !== "own" && slots && slots[Number(panel.choice)]) slot = slots[Number(panel.choice)] ?? null;
            else slot = slotOf(panel.own);
            if (slot === null || slot === "bad") {
              this.#invalid = t(slot === null ? "callbacks.needSlot" : "callbacks.badSlot");
              this.#message = null;
              rerenderKeepingFocus(context);
              return;
            }
            if (item) void this.#act("/reschedule", item, { slot }, "callbacks.rescheduled", `cb-reschedule-${item.id}`);
          },
        },
      },
      h("h2", { id: headingId }, t("callbacks.rescheduleTitle", { number })),
      slotChoice,
      panel.choice === "own" ? this.#slotFields(context, panel.own, "cb-own") : null,
      h("div", { class: "actions" }, h("button", { type: "submit", "data-testid": "cb-reschedule-save" }, t("callbacks.save")), " ", close),
    );
  }

  #afterNote(panel: Panel): void {
    if (!this.#problem && this.#panel === panel && panel.kind === "note") {
      this.#panel = null;
      if (this.#context) rerenderKeepingFocus(this.#context, `cb-note-${panel.id}`);
    }
  }

  #slotFields(context: ViewContext, input: SlotInput, testPrefix: string): HTMLElement {
    const { t } = context;
    const id = (name: string) => `${this.#prefix}-${testPrefix}-${name}`;
    const field = (name: keyof SlotInput, label: MessageKey, type: "date" | "time") =>
      h(
        "div",
        { class: "field" },
        h("label", { for: id(name) }, t(label)),
        textInput(input[name], (value) => (input[name] = value), { type, id: id(name), "data-testid": `${testPrefix}-${name}`, ...(type === "time" ? { step: 300 } : {}) }),
      );
    return h("div", { class: "row" }, field("date", "callbacks.date", "date"), field("from", "callbacks.from", "time"), field("to", "callbacks.to", "time"));
  }

  // ---- detail ----------------------------------------------------------------------------

  async #openDetail(id: string): Promise<void> {
    this.#detailId = id;
    this.#detail = this.#items.find((item) => item.id === id) ?? null;
    if (this.#context) rerenderKeepingFocus(this.#context);
    await this.#fetchDetail(id);
    if (this.#context && !this.#disposed) rerenderKeepingFocus(this.#context);
  }

  async #fetchDetail(id: string): Promise<void> {
    const context = this.#context;
    if (!context) return;
    try {
      const stored = (await context.api.call("GET", `/api/callbacks/${encodeURIComponent(id)}`)) as Callback;
      if (this.#detailId === id) this.#detail = stored;
    } catch (error) {
      this.#problem = asProblem(error);
    }
  }

  #closeDetail(): void {
    const id = this.#detailId;
    this.#detailId = null;
    this.#detail = null;
    if (this.#context) rerenderKeepingFocus(this.#context, id ? `cb-detail-${id}` : null);
  }

  #detailArea(context: ViewContext): HTMLElement | null {
    const item = this.#detail;
    if (!this.#detailId || !item) return null;
    const { t } = context;
    const when = (at: string | undefined) => (at ? (formatDateTime(at) ?? at) : "");
    const list = (entries: Child[][], testId: string) =>
      entries.length === 0
        ? h("p", { class: "muted", "data-testid": testId }, t("callbacks.none"))
        : h("ul", { "data-testid": testId }, ...entries.map((parts) => h("li", null, ...parts)));
    const headingId = `${this.#prefix}-detail-title`;
    return h(
      "section",
      { class: "card", "aria-labelledby": headingId, "data-testid": "cb-detail" },
      h("h2", { id: headingId }, t("callbacks.detailTitle", { number: displayPhone(item.number) })),
      h(
        "dl",
        { class: "facts" },
        h("dt", null, t("callbacks.col.client")),
        h("dd", null, item.clientName ?? "—"),
        h("dt", null, t("callbacks.col.queue")),
        h("dd", null, item.queueId),
        h("dt", null, t("callbacks.col.source")),
        h("dd", null, callbackSourceLabel(item.source?.kind, t)),
        h("dt", null, t("callbacks.col.status")),
        h("dd", null, callbackStatusLabel(item.status, item.agent, t)),
        h("dt", null, t("callbacks.col.when")),
        h("dd", null, callbackWhenLabel(item)),
        item.claimExpiresAt && item.status === "inProgress" ? h("dt", null, t("callbacks.claimExpires")) : null,
        item.claimExpiresAt && item.status === "inProgress" ? h("dd", null, when(item.claimExpiresAt)) : null,
        h("dt", null, t("callbacks.createdBy")),
        h("dd", null, `${item.createdBy}, ${when(item.createdAt)}`),
      ),
      h("h3", null, t("callbacks.notes")),
      list(
        (item.notes ?? []).map((note) => [h("span", { class: "muted" }, `${when(note.at)} ${note.by ?? ""}: `), note.text ?? ""]),
        "cb-detail-notes",
      ),
      h("h3", null, t("callbacks.attempts")),
      list(
        (item.attempts ?? []).map((attempt) => [`${when(attempt.at)} ${attempt.agent ?? ""}: ${attemptOutcomeLabel(attempt.outcome, t)}`]),
        "cb-detail-attempts",
      ),
      h("h3", null, t("callbacks.mergedCalls")),
      list(
        (item.mergedCalls ?? []).map((call) => [`${when(call.at)}`, call.contactId ? h("span", { class: "muted" }, ` (${call.contactId})`) : null]),
        "cb-detail-merged",
      ),
    );
  }

  // ---- new callback ----------------------------------------------------------------------

  #newForm(context: ViewContext): HTMLElement {
    const { t } = context;
    const form = this.#new;
    const id = (name: string) => `${this.#prefix}-new-${name}`;
    const listId = id("queues");
    const toggle = h(
      "button",
      {
        type: "button",
        class: "secondary",
        "aria-expanded": this.#newOpen ? "true" : "false",
        "aria-controls": id("form"),
        "data-testid": "cb-new-toggle",
        on: {
          click: () => {
            this.#newOpen = !this.#newOpen;
            rerenderKeepingFocus(context, this.#newOpen ? "cb-new-queue" : "cb-new-toggle");
          },
        },
      },
      t("callbacks.new"),
    );
    if (!this.#newOpen) return h("div", { class: "actions" }, toggle);
    const input = (name: "queueId" | "number" | "clientName", label: MessageKey, attrs: Record<string, string | number | boolean> = {}) =>
      h(
        "div",
        { class: "field" },
        h("label", { for: id(name) }, t(label)),
        textInput(form[name], (value) => (form[name] = value), { id: id(name), ...attrs }),
      );
    const note = h("textarea", {
      rows: 2,
      cols: 60,
      maxlength: 2000,
      id: id("note"),
      "data-testid": "cb-new-note",
      on: { input: (event) => (form.note = (event.target as HTMLTextAreaElement).value) },
    });
    note.value = form.note;
    return h(
      "div",
      null,
      h("div", { class: "actions" }, toggle),
      h(
        "form",
        {
          id: id("form"),
          class: "form card",
          "aria-labelledby": id("title"),
          "data-testid": "cb-new-form",
          novalidate: true,
          on: {
            submit: (event) => {
              event.preventDefault();
              void this.#create();
            },
          },
        },
        h("h2", { id: id("title") }, t("callbacks.new")),
        input("queueId", "callbacks.newQueue", { list: listId, required: true, autocomplete: "off", "data-testid": "cb-new-queue", maxlength: 64 }),
        h("datalist", { id: listId }, ...this.#queues.map((queue) => h("option", { value: queue }))),
        input("number", "callbacks.newNumber", { type: "tel", required: true, autocomplete: "off", "data-testid": "cb-new-number", maxlength: 32 }),
        input("clientName", "callbacks.newClient", { "data-testid": "cb-new-client", maxlength: 200 }),
        h("p", { class: "muted" }, t("callbacks.newSlotHint")),
        this.#slotFields(context, form.slot, "cb-new-slot"),
        h("div", { class: "field" }, h("label", { for: id("note") }, t("callbacks.newNote")), note),
        h("div", { class: "actions" }, h("button", { type: "submit", "data-testid": "cb-new-save" }, t("callbacks.create"))),
      ),
    );
  }

  async #create(): Promise<void> {
    const context = this.#context;
    if (!context || this.#busy) return;
    const { t } = context;
    const form = this.#new;
    this.#problem = null;
    this.#invalid = null;
    this.#message = null;
    const slot = slotOf(form.slot);
    if (!form.queueId.trim() || !form.number.trim() || slot === "bad") {
      this.#invalid = t(slot === "bad" ? "callbacks.badSlot" : "callbacks.needQueueNumber");
      rerenderKeepingFocus(context);
      return;
    }
    // The same requestId for every retry of this form, so a repeated send creates nothing new.
    if (!form.requestId) form.requestId = crypto.randomUUID();
    const body: Record<string, unknown> = { requestId: form.requestId, queueId: form.queueId.trim(), number: form.number.trim() };
    if (form.clientName.trim()) body["clientName"] = form.clientName.trim();
    if (slot) body["slot"] = slot;
    if (form.note.trim()) body["note"] = form.note.trim();
    this.#busy = true;
    try {
      await context.api.call("POST", "/api/callbacks", body);
      this.#message = t("callbacks.created");
      this.#new = { queueId: form.queueId, number: "", clientName: "", note: "", slot: emptySlotInput(), requestId: "" };
    } catch (error) {
      this.#problem = asProblem(error);
    }
    this.#busy = false;
    await this.#load();
  }
}

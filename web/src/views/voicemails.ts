// Hlasová schránka: the messages callers left in the IVR, of the queues one may work. Play a
// message (a presigned URL from GET /api/voicemails/{id}), take it (Převzít), give it back
// (Vrátit), mark it done (Vyřízeno), add a note. Loaded as its own chunk; the list refreshes
// after each action and every 15 s.

import type { Problem } from "../api/problem";
import { formatDateTime } from "../format/date";
import type { MessageKey } from "../i18n";

import { h, type Child } from "../ui/dom";
import { callbackProblemBox, listFilters, REFRESH_MS, rerenderKeepingFocus } from "./callbacks-common";
import { attributesLabel, displayPhone, formatDuration, queueIdsOf, voicemailStatusLabel } from "./callbacks-format";
import { button, pageSection, statusLine } from "./form";
import { asProblem } from "./problem-box";
import type { View, ViewContext } from "./view";

export interface Voicemail {
  id: string;
  queueId: string;
  callKey: string;
  caller?: string;
  recordedAt: string;
  durationMs: number;
  audioKey: string;
  attributes?: Record<string, string>;
  status: string;
  agent?: string;
  assignedAt?: string;
  assignedBy?: string;
  doneBy?: string;
  doneAt?: string;
  notes?: { at?: string; by?: string; text?: string }[];
  createdAt: string;
  updatedAt: string;
}

interface VoicemailDetail extends Voicemail {
  playbackUrl: string;
  playbackExpiresAt: string;
}

// (A local check: importing roles.ts here would split the i18n module into a chunk of its own.)
const SUPERVISING: readonly string[] = ["supervisor", "admin", "callbacks"];

function readItems(body: unknown): Voicemail[] {
  const items = (body as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as Voicemail[]) : [];
}

let ids = 0;

export class VoicemailsView implements View {
  #items: Voicemail[] = [];
  #loaded = false;
  #started = false;
  #loadProblem: Problem | null = null;
  #problem: Problem | null = null;
  #invalid: string | null = null;
  #message: string | null = null;
  #closed = false;
  #queue = "";
  #queues: string[] = [];
  #busy = false;
  #playing: VoicemailDetail | null = null;
  #note: { id: string; text: string } | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #disposed = false;
  #context: ViewContext | null = null;
  readonly #prefix = `vm${++ids}`;

  render(context: ViewContext): HTMLElement {
    this.#context = context;
    const { t } = context;
    if (!this.#started) {
      this.#started = true;
      void this.#load();
      this.#timer = setInterval(() => void this.#load(true), REFRESH_MS);
    }
    const filters = listFilters(t, {
      prefix: "vm",
      queue: this.#queue,
      queues: this.#queues,
      items: this.#items,
      closed: this.#closed,
      closedLabel: "voicemails.closedView",
      onQueue: (value) => {
        this.#queue = value;
        void this.#load();
      },
      onClosed: (value) => {
        this.#closed = value;
        this.#note = null;
        void this.#load();
      },
      onRefresh: () => void this.#load(),
    });
    let body: Child;
    if (!this.#loaded) {
      body = this.#loadProblem ? callbackProblemBox(this.#loadProblem, t) : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading"));
    } else {
      body = this.#items.length === 0 ? h("p", { class: "muted", "data-testid": "vm-empty" }, t("voicemails.empty")) : this.#table(context);
    }
    return pageSection(
      "voicemails.title",
      t,
      "voicemails-page",
      h("p", { class: "muted" }, t("voicemails.intro")),
      filters,
      h("div", { "aria-live": "polite" }, statusLine(this.#message, "vm-message")),
      this.#problem ? callbackProblemBox(this.#problem, t) : null,
      this.#invalid ? h("div", { class: "alert alert-error", role: "alert", "data-testid": "vm-invalid" }, this.#invalid) : null,
      this.#loaded && this.#loadProblem ? callbackProblemBox(this.#loadProblem, t) : null,
      body,
      this.#noteForm(context),
      this.#player(context),
    );
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #callerOf(item: Voicemail, context: ViewContext): string {
    return item.caller ? displayPhone(item.caller) : context.t("voicemails.withheld");
  }

  #table(context: ViewContext): HTMLElement {
    const { t } = context;
    const th = (key: MessageKey) => h("th", { scope: "col" }, t(key));
    return h(
      "table",
      { class: "table", "data-testid": "vm-table" },
      h("caption", { class: "visually-hidden" }, t(this.#closed ? "voicemails.closedView" : "voicemails.title")),
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          th("voicemails.col.caller"),
          th("voicemails.col.queue"),
          th("voicemails.col.recordedAt"),
          th("voicemails.col.duration"),
          th("voicemails.col.status"),
          th("voicemails.col.attributes"),
          th("voicemails.col.actions"),
        ),
      ),
      h("tbody", null, ...this.#items.map((item) => this.#row(context, item))),
    );
  }

  #row(context: ViewContext, item: Voicemail): HTMLElement {
    const { t, me } = context;
    const callerId = `${this.#prefix}-c-${item.id}`;
    const act = (key: MessageKey, name: string, run: () => void, attrs: Record<string, string> = {}) =>
      button(t(key), run, { class: "small", "data-testid": `vm-${name}-${item.id}`, "aria-describedby": callerId, ...attrs });
    const supervising = SUPERVISING.some((role) => me.roles.includes(role));
    const mine = item.status === "assigned" && item.agent === me.username;
    const actions: HTMLElement[] = [act("voicemails.play", "play", () => void this.#play(item.id))];
    if (item.status === "new" || (item.status === "assigned" && !mine && supervising)) {
      actions.push(act("voicemails.assign", "assign", () => void this.#act("/assign", item, {}, "voicemails.assigned", `vm-done-${item.id}`)));
    }
    if (item.status === "assigned" && (mine || supervising)) {
      actions.push(act("voicemails.release", "release", () => void this.#act("/release", item, undefined, "voicemails.released"), { class: "small secondary" }));
    }
    if (item.status === "new" || (item.status === "assigned" && (mine || supervising))) {
      actions.push(act("voicemails.done", "done", () => void this.#act("/done", item, undefined, "voicemails.doneSaved")));
    }
    actions.push(act("voicemails.note", "note", () => this.#openNote(item), { class: "small secondary" }));
    const notes = item.notes ?? [];
    return h(
      "tr",
      { "data-testid": `vm-row-${item.id}`, "data-status": item.status },
      h("td", { id: callerId, "data-testid": `vm-caller-${item.id}` }, this.#callerOf(item, context)),
      h("td", null, item.queueId),
      h("td", null, formatDateTime(item.recordedAt) ?? item.recordedAt),
      h("td", null, formatDuration(item.durationMs)),
      h("td", { "data-testid": `vm-status-${item.id}` }, voicemailStatusLabel(item.status, item.agent, t)),
      h(
        "td",
        null,
        attributesLabel(item.attributes, t),
        notes.length > 0
          ? h("ul", { class: "muted", "data-testid": `vm-notes-${item.id}` }, ...notes.map((note) => h("li", null, `${note.at ? (formatDateTime(note.at) ?? "") : ""} ${note.by ?? ""}: ${note.text ?? ""}`)))
          : null,
      ),
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
      this.#items = readItems(await context.api.call("GET", `/api/voicemails?${query.toString()}`));
      this.#queues = queueIdsOf(this.#items, this.#queues);
      this.#loadProblem = null;
      this.#loaded = true;
    } catch (error) {
      this.#loadProblem = asProblem(error);
    }
    if (this.#disposed) return;
    if (quiet && before === JSON.stringify(this.#items) && !this.#loadProblem) return;
    rerenderKeepingFocus(context);
  }

  async #act(action: string, item: Voicemail, body: unknown, doneKey: MessageKey, focusAfter?: string): Promise<void> {
    const context = this.#context;
    if (!context || this.#busy) return;
    this.#busy = true;
    this.#problem = null;
    this.#invalid = null;
    this.#message = null;
    let ok = false;
    try {
      const stored = (await context.api.call("POST", `/api/voicemails/${encodeURIComponent(item.id)}${action}`, body)) as Voicemail | null;
      this.#message = context.t(doneKey);
      if (stored && this.#playing?.id === item.id) this.#playing = { ...this.#playing, ...stored };
      ok = true;
    } catch (error) {
      this.#problem = asProblem(error);
    }
    this.#busy = false;
    await this.#load();
    if (ok && focusAfter && !this.#disposed) rerenderKeepingFocus(context, focusAfter);
  }

  async #play(id: string): Promise<void> {
    const context = this.#context;
    if (!context) return;
    this.#problem = null;
    this.#invalid = null;
    try {
      this.#playing = (await context.api.call("GET", `/api/voicemails/${encodeURIComponent(id)}`)) as VoicemailDetail;
    } catch (error) {
      this.#problem = asProblem(error);
    }
    if (!this.#disposed) rerenderKeepingFocus(context, this.#playing?.id === id ? "vm-audio" : null);
  }

  #player(context: ViewContext): HTMLElement | null {
    const item = this.#playing;
    if (!item || typeof item.playbackUrl !== "string") return null;
    const { t } = context;
    const headingId = `${this.#prefix}-player-title`;
    const at = formatDateTime(item.recordedAt) ?? item.recordedAt;
    const expires = item.playbackExpiresAt ? formatDateTime(item.playbackExpiresAt) : null;
    return h(
      "section",
      { class: "card", "aria-labelledby": headingId, "data-testid": "vm-player" },
      h("h2", { id: headingId }, t("voicemails.playerTitle", { caller: this.#callerOf(item, context), at })),
      h("audio", { controls: true, preload: "none", src: item.playbackUrl, "aria-label": t("voicemails.audioLabel"), "data-testid": "vm-audio" }),
      h("p", { class: "muted" }, `${formatDuration(item.durationMs)} · ${voicemailStatusLabel(item.status, item.agent, t)}`, item.attributes ? ` · ${attributesLabel(item.attributes, t)}` : ""),
      expires ? h("p", { class: "muted" }, t("voicemails.playbackExpires", { at: expires })) : null,
    );
  }

  #openNote(item: Voicemail): void {
    this.#note = { id: item.id, text: "" };
    this.#problem = null;
    this.#invalid = null;
    if (this.#context) rerenderKeepingFocus(this.#context, "vm-note-text");
  }

  #noteForm(context: ViewContext): HTMLElement | null {
    const note = this.#note;
    if (!note) return null;
    const { t } = context;
    const item = this.#items.find((candidate) => candidate.id === note.id);
    const headingId = `${this.#prefix}-note-title`;
    const areaId = `${this.#prefix}-note-text`;
    const area = h("textarea", {
      rows: 3,
      cols: 60,
      maxlength: 2000,
      id: areaId,
      "data-testid": "vm-note-text",
      on: { input: (event) => (note.text = (event.target as HTMLTextAreaElement).value) },
    });
    area.value = note.text;
    const close = () => {
      this.#note = null;
      rerenderKeepingFocus(context, `vm-note-${note.id}`);
    };
    return h(
      "form",
      {
        class: "form card",
        "aria-labelledby": headingId,
        "data-testid": "vm-note-form",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            if (!note.text.trim()) {
              this.#invalid = t("callbacks.needNote");
              rerenderKeepingFocus(context);
              return;
            }
            if (!item) return;
            void this.#act("/notes", item, { text: note.text.trim() }, "voicemails.noteSaved").then(() => {
              if (!this.#problem && this.#note === note) close();
            });
          },
        },
      },
      h("h2", { id: headingId }, t("voicemails.noteTitle", { caller: item ? this.#callerOf(item, context) : note.id })),
      h("div", { class: "field" }, h("label", { for: areaId }, t("callbacks.noteText")), area),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", "data-testid": "vm-note-save" }, t("callbacks.save")),
        " ",
        button(t("callbacks.close"), close, { class: "secondary", "data-testid": "vm-note-close" }),
      ),
    );
  }
}

// Hlášky (IN-6, IN-10): the uploaded IVR prompt recordings — upload a WAV, listen, delete — and
// a preview of a text-to-speech prompt read by the engine the IVR uses.

import { ApiError } from "../api/client";
import { toProblem, type Problem } from "../api/problem";
import { h } from "../ui/dom";
import { button, pageSection, statusLine, textInput } from "./form";
import { asProblem, problemBox } from "./problem-box";
import type { View, ViewContext } from "./view";

interface PromptItem {
  name: string | null;
  key: string;
  size: number;
  updatedAt: string;
}

const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,59}$/;

function readItems(body: unknown): PromptItem[] {
  const items = (body as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as PromptItem[]) : [];
}

function urlOf(body: unknown): string | null {
  const url = (body as { url?: unknown } | null)?.url;
  return typeof url === "string" ? url : null;
}

export class PromptsView implements View {
  #items: PromptItem[] = [];
  #loaded = false;
  #started = false;
  #loadProblem: Problem | null = null;
  #problem: Problem | null = null;
  #saved: string | null = null;
  #busy = false;
  #name = "";
  #file: File | null = null;
  #playing: { key: string; url: string } | null = null;
  #confirming: string | null = null;
  #ttsText = "";
  #ttsUrl: string | null = null;
  #disposed = false;

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    if (!this.#started) {
      this.#started = true;
      void this.#load(context);
    }
    if (!this.#loaded) {
      return pageSection(
        "prompts.title",
        t,
        "prompts-page",
        this.#loadProblem ? problemBox(this.#loadProblem, t) : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")),
      );
    }
    const rows = this.#items.map((item) => {
      const name = item.name;
      const actions: HTMLElement[] = [];
      if (name) {
        actions.push(button(t("prompts.play"), () => void this.#play(context, item), { "data-testid": `prompt-play-${name}` }));
        actions.push(
          this.#confirming === name
            ? button(t("prompts.confirmDelete"), () => void this.#delete(context, name), { class: "danger", "data-testid": `prompt-confirm-${name}` })
            : button(t("common.delete"), () => this.#confirm(context, name), { "data-testid": `prompt-delete-${name}` }),
        );
      }
      return h(
        "tr",
        { "data-testid": `prompt-row-${name ?? item.key}` },
        h("td", null, h("code", null, item.key)),
        h("td", null, `${Math.max(1, Math.round(item.size / 1024))} kB`),
        h("td", null, new Date(item.updatedAt).toLocaleString(context.locale === "cs" ? "cs-CZ" : "en-GB")),
        h("td", { class: "actions" }, ...actions),
      );
    });
    const table =
      this.#items.length === 0
        ? h("p", { class: "muted", "data-testid": "prompts-empty" }, t("prompts.empty"))
        : h(
            "table",
            { class: "table", "data-testid": "prompts-table" },
            h("thead", null, h("tr", null, h("th", null, t("prompts.key")), h("th", null, t("prompts.size")), h("th", null, t("prompts.updatedAt")), h("th", null, ""))),
            h("tbody", null, ...rows),
          );
    const player = this.#playing
      ? h("p", null, h("code", null, this.#playing.key), " ", h("audio", { controls: true, src: this.#playing.url, "data-testid": "prompt-audio" }))
      : null;
    const fileInput = h("input", {
      type: "file",
      accept: ".wav,audio/wav",
      "data-testid": "prompt-file",
      on: {
        change: (event) => {
          const files = (event.target as HTMLInputElement).files;
          this.#file = files && files.length > 0 ? (files[0] ?? null) : null;
          const base = this.#file?.name.replace(/\.wav$/i, "").toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+/, "").slice(0, 60) ?? "";
          if (!this.#name && base) this.#name = base;
          context.rerender();
        },
      },
    });
    const upload = h(
      "form",
      {
        class: "form",
        "data-testid": "prompt-upload",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#upload(context);
          },
        },
      },
      h("h2", null, t("prompts.upload")),
      h("p", { class: "muted" }, t("prompts.uploadHint")),
      h("label", null, t("prompts.file"), " ", fileInput),
      h("label", null, t("prompts.name"), " ", textInput(this.#name, (v) => (this.#name = v), { "data-testid": "prompt-name", pattern: NAME_PATTERN.source, spellcheck: false })),
      h("div", { class: "actions" }, h("button", { type: "submit", "data-testid": "prompt-upload-button", ...(this.#busy ? { disabled: true } : {}) }, t("prompts.uploadButton"))),
    );
    const tts = h(
      "form",
      {
        class: "form",
        "data-testid": "prompt-tts",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#previewTts(context);
          },
        },
      },
      h("h2", null, t("prompts.tts")),
      h("p", { class: "muted" }, t("prompts.ttsHint")),
      h(
        "label",
        null,
        t("prompts.ttsText"),
        " ",
        (() => {
          const area = h("textarea", { rows: 3, cols: 60, maxlength: 1000, "data-testid": "prompt-tts-text", on: { input: (event) => (this.#ttsText = (event.target as HTMLTextAreaElement).value) } });
          area.value = this.#ttsText;
          return area;
        })(),
      ),
      h("div", { class: "actions" }, h("button", { type: "submit", "data-testid": "prompt-tts-button", ...(this.#busy ? { disabled: true } : {}) }, t("prompts.ttsButton"))),
      this.#ttsUrl ? h("audio", { controls: true, src: this.#ttsUrl, "data-testid": "prompt-tts-audio" }) : null,
    );
    return pageSection(
      "prompts.title",
      t,
      "prompts-page",
      h("p", { class: "muted" }, t("prompts.intro")),
      statusLine(this.#saved, "prompts-saved"),
      this.#problem ? problemBox(this.#problem, t) : null,
      table,
      player,
      upload,
      tts,
    );
  }

  dispose(): void {
    this.#disposed = true;
  }

  #done(context: ViewContext): void {
    this.#busy = false;
    if (!this.#disposed) context.rerender();
  }

  async #load(context: ViewContext): Promise<void> {
    try {
      const items: PromptItem[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
        const page = (await context.api.call("GET", `/api/admin/prompts${query}`)) as { nextCursor?: string | null } | null;
        items.push(...readItems(page));
        cursor = page?.nextCursor ?? null;
      } while (cursor);
      this.#items = items;
      this.#loaded = true;
    } catch (error) {
      this.#loadProblem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }

  #confirm(context: ViewContext, name: string): void {
    this.#confirming = name;
    context.rerender();
  }

  async #play(context: ViewContext, item: PromptItem): Promise<void> {
    if (!item.name) return;
    this.#problem = null;
    try {
      const url = urlOf(await context.api.call("GET", `/api/admin/prompts/${encodeURIComponent(item.name)}`));
      this.#playing = url ? { key: item.key, url } : null;
    } catch (error) {
      this.#problem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }

  async #delete(context: ViewContext, name: string): Promise<void> {
    this.#confirming = null;
    this.#problem = null;
    this.#saved = null;
    try {
      await context.api.call("DELETE", `/api/admin/prompts/${encodeURIComponent(name)}`);
      this.#items = this.#items.filter((item) => item.name !== name);
      if (this.#playing?.key === `prompts/${name}.wav`) this.#playing = null;
      this.#saved = context.t("prompts.deleted");
    } catch (error) {
      this.#problem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }

  async #upload(context: ViewContext): Promise<void> {
    if (this.#busy) return;
    const name = this.#name.trim();
    this.#problem = null;
    this.#saved = null;
    if (!this.#file || !NAME_PATTERN.test(name)) {
      this.#problem = { status: 422, code: "validation-failed", errors: [{ field: !this.#file ? "file" : "name", message: context.t(!this.#file ? "prompts.needFile" : "prompts.badName") }] };
      context.rerender();
      return;
    }
    this.#busy = true;
    context.rerender();
    try {
      // A binary body: the JSON client does not send these.
      const response = await fetch(`/api/admin/prompts/${encodeURIComponent(name)}`, {
        method: "PUT",
        headers: {
          Accept: "application/json, application/problem+json",
          Authorization: `Bearer ${context.session.accessToken}`,
          "Content-Type": "audio/wav",
        },
        body: this.#file,
      });
      const text = await response.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      if (!response.ok) throw new ApiError(toProblem(response.status, body));
      const stored = body as PromptItem;
      this.#items = [...this.#items.filter((item) => item.key !== stored.key), stored].sort((a, b) => a.key.localeCompare(b.key));
      this.#saved = context.t("prompts.uploaded");
      this.#name = "";
      this.#file = null;
    } catch (error) {
      this.#problem = error instanceof ApiError ? error.problem : asProblem(error);
    }
    this.#done(context);
  }

  async #previewTts(context: ViewContext): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    this.#problem = null;
    this.#ttsUrl = null;
    context.rerender();
    try {
      this.#ttsUrl = urlOf(await context.api.call("POST", "/api/admin/prompts/preview-tts", { text: this.#ttsText }));
    } catch (error) {
      this.#problem = asProblem(error);
    }
    this.#done(context);
  }
}

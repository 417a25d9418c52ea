// Auditní záznam (SEC-3): records by time range and actor, newest first, page by page.

import { auditPage, type AuditRecord } from "../api/admin";
import type { Problem } from "../api/problem";
import { formatDateTime, pragueLocalToIso, toPragueLocalInput } from "../format/date";
import type { MessageKey } from "../i18n";
import { cs } from "../i18n/cs";
import { h } from "../ui/dom";
import { field, FormErrors, pageSection, textInput } from "./form";
import { asProblem } from "./problem-box";
import type { View, ViewContext } from "./view";

const DAY_MS = 24 * 60 * 60 * 1000;

export class AuditView implements View {
  #from = toPragueLocalInput(Date.now() - DAY_MS);
  #to = "";
  #actor = "";
  /** Number of the newest request; answers to older ones are dropped. */
  #requestSeq = 0;
  /** The query of the shown page (kept for "next page"). */
  #query: { from?: string; to?: string; actor?: string } | null = null;
  #items: AuditRecord[] = [];
  #cursors: (string | null)[] = [];
  #nextCursor: string | null = null;
  #loading = false;
  #loaded = false;
  #problem: Problem | null = null;
  #disposed = false;

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    if (!this.#loaded && !this.#loading && !this.#problem) {
      void this.#search(context);
    }
    const errors = new FormErrors(this.#problem, t, "a");
    const form = h(
      "form",
      {
        class: "form row",
        role: "search",
        "data-testid": "audit-form",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#search(context);
          },
        },
      },
      field(errors, "from", t("audit.from"), textInput(this.#from, (v) => (this.#from = v), { type: "datetime-local", "data-testid": "audit-from" }), { class: "inline" }),
      field(errors, "to", t("audit.to"), textInput(this.#to, (v) => (this.#to = v), { type: "datetime-local", "data-testid": "audit-to" }), {
        class: "inline",
        hint: t("audit.toHint"),
      }),
      field(errors, "actor", t("audit.actor"), textInput(this.#actor, (v) => (this.#actor = v), { "data-testid": "audit-actor", autocomplete: "off", spellcheck: false }), {
        class: "inline",
      }),
      h("button", { type: "submit", "data-testid": "audit-search" }, t("audit.search")),
    );
    const rows = this.#items.map((record) =>
      h(
        "tr",
        { "data-action": record.action, "data-target": record.target ?? "", "data-actor": record.actor, "data-outcome": record.outcome },
        h("td", null, formatDateTime(record.at) ?? record.at),
        h("td", null, record.actor),
        h("td", null, actionLabel(record.action, t), " ", h("code", null, record.action)),
        h("td", null, record.target ?? ""),
        h("td", null, outcomeLabel(record.outcome, t), ` (${record.status})`),
        h("td", { class: "muted" }, Object.entries(record.details).map(([k, v]) => `${k}: ${v}`).join(", ")),
      ),
    );
    const page = this.#cursors.length;
    const section = pageSection(
      "audit.title",
      t,
      "audit-page",
      h("p", { class: "muted" }, t("audit.intro")),
      form,
      errors.box(),
      this.#loaded
        ? h(
            "table",
            { class: "data", "data-testid": "audit-table", "data-page": page },
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                ...(["audit.col.at", "audit.col.actor", "audit.col.action", "audit.col.target", "audit.col.outcome", "audit.col.details"] as const).map((key) =>
                  h("th", { scope: "col" }, t(key)),
                ),
              ),
            ),
            h("tbody", null, ...rows),
          )
        : null,
      this.#loaded && this.#items.length === 0 ? h("p", { "data-testid": "audit-empty" }, t("audit.empty")) : null,
      this.#loaded ? h("p", { class: "muted", "data-testid": "audit-page-number" }, t("audit.page", { page })) : null,
      this.#loading ? h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")) : null,
      h(
        "div",
        { class: "actions" },
        page > 1 && !this.#loading
          ? h("button", { type: "button", class: "secondary", "data-testid": "audit-first", on: { click: () => void this.#search(context) } }, t("audit.firstPage"))
          : null,
        " ",
        this.#nextCursor && !this.#loading
          ? h("button", { type: "button", class: "secondary", "data-testid": "audit-next", on: { click: () => void this.#next(context) } }, t("audit.nextPage"))
          : null,
      ),
    );
    errors.finish();
    return section;
  }

  dispose(): void {
    this.#disposed = true;
  }

  /** A new query from the form: its first page. */
  async #search(context: ViewContext): Promise<void> {
    const from = this.#from.trim() ? pragueLocalToIso(this.#from) : null;
    const to = this.#to.trim() ? pragueLocalToIso(this.#to) : null;
    const errors = [
      ...(this.#from.trim() && !from ? [{ field: "from", message: "must be an RFC 3339 date-time" }] : []),
      ...(this.#to.trim() && !to ? [{ field: "to", message: "must be an RFC 3339 date-time" }] : []),
    ];
    if (errors.length > 0) {
      this.#problem = { status: 422, code: "validation-failed", errors };
      context.rerender();
      return;
    }
    this.#query = {
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      ...(this.#actor.trim() ? { actor: this.#actor.trim() } : {}),
    };
    this.#cursors = [];
    await this.#fetch(context, null);
  }

  async #next(context: ViewContext): Promise<void> {
    await this.#fetch(context, this.#nextCursor);
  }

  async #fetch(context: ViewContext, cursor: string | null): Promise<void> {
    // Only the newest request may fill the page: an answer to an older one (the first load
    // still running when the user searches) is dropped.
    const request = ++this.#requestSeq;
    this.#loading = true;
    this.#problem = null;
    context.rerender();
    try {
      const result = await auditPage(context.api, { ...(this.#query ?? {}), cursor });
      if (request !== this.#requestSeq) return;
      this.#items = result.items;
      this.#nextCursor = result.nextCursor;
      this.#cursors = [...this.#cursors, cursor];
      this.#loaded = true;
    } catch (error) {
      if (request !== this.#requestSeq) return;
      this.#problem = asProblem(error);
      this.#loaded = true;
      this.#items = [];
      this.#nextCursor = null;
    } finally {
      if (request === this.#requestSeq) this.#loading = false;
    }
    if (!this.#disposed) context.rerender();
  }
}

function actionLabel(action: string, t: ViewContext["t"]): string {
  const key = `audit.action.${action}`;
  return key in cs ? t(key as MessageKey) : "";
}

function outcomeLabel(outcome: string, t: ViewContext["t"]): string {
  const key = `audit.outcome.${outcome}`;
  return key in cs ? t(key as MessageKey) : outcome;
}

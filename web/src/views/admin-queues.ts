// Fronty (ADM-4): the list with the open-now state, the next change and the přepad.

import { queues, type Queue } from "../api/admin";
import type { Problem } from "../api/problem";
import { formatDateTime } from "../format/date";
import { hashFor } from "../router";
import { h } from "../ui/dom";
import { button, pageSection, statusLine } from "./form";
import { takeFlash } from "./flash";
import { asProblem, problemBox } from "./problem-box";
import { describeTarget } from "./target-field";
import type { View, ViewContext } from "./view";

export class QueuesView implements View {
  #items: Queue[] = [];
  #loaded = false;
  #loading = false;
  #problem: Problem | null = null;
  #confirming: string | null = null;
  #flash = takeFlash();
  #disposed = false;

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    if (!this.#loaded && !this.#loading && !this.#problem) {
      void this.#load(context);
    }
    const names = new Map(this.#items.map((queue) => [queue.queueId, queue.name]));
    const rows = this.#items.map((queue) => {
      const overflow = describeTarget(queue.overflow, t);
      const overflowName = queue.overflow?.kind === "queue" ? names.get(queue.overflow.queueId) : undefined;
      return h(
        "tr",
        { "data-queue-id": queue.queueId },
        h("td", null, h("a", { href: hashFor(`/admin/queues/edit/${encodeURIComponent(queue.queueId)}`), "data-testid": "queue-edit" }, queue.queueId)),
        h("td", { "data-testid": "queue-name" }, queue.name),
        h("td", null, queue.group ?? ""),
        h("td", null, String(queue.priority ?? "")),
        h(
          "td",
          { "data-testid": "queue-open", "data-open": String(queue.openNow === true) },
          h("span", { class: `badge ${queue.openNow ? "badge-open" : "badge-closed"}` }, t(queue.openNow ? "queues.open" : "queues.closed")),
        ),
        h("td", { "data-testid": "queue-next-change" }, queue.nextChange ? (formatDateTime(queue.nextChange) ?? queue.nextChange) : t("overview.none")),
        h("td", { "data-testid": "queue-overflow" }, overflowName ? `${overflow} (${overflowName})` : overflow),
        h(
          "td",
          null,
          this.#confirming === queue.queueId
            ? h(
                "span",
                null,
                button(t("common.confirmDelete"), () => void this.#remove(context, queue.queueId), { class: "danger small", "data-testid": "queue-delete-confirm" }),
                " ",
                button(t("common.cancel"), () => this.#confirm(context, null), { class: "secondary small" }),
              )
            : button(t("common.delete"), () => this.#confirm(context, queue.queueId), {
                class: "secondary small",
                "data-testid": "queue-delete",
                "aria-label": `${t("common.delete")} ${queue.queueId}`,
              }),
        ),
      );
    });
    return pageSection(
      "queues.title",
      t,
      "queues-page",
      statusLine(this.#flash ? t(this.#flash.key, this.#flash.params) : null),
      h("p", null, h("a", { href: hashFor("/admin/queues/new"), class: "button", "data-testid": "queue-new" }, t("queues.new"))),
      this.#problem ? problemBox(this.#problem, t) : null,
      this.#loaded
        ? h(
            "table",
            { class: "data", "data-testid": "queues-table" },
            h(
              "thead",
              null,
              h(
                "tr",
                null,
                ...(["queues.col.id", "queues.col.name", "queues.col.group", "queues.col.priority", "queues.col.state", "queues.col.nextChange", "queues.col.overflow", "common.actions"] as const).map(
                  (key) => h("th", { scope: "col" }, t(key)),
                ),
              ),
            ),
            h("tbody", null, ...rows),
          )
        : null,
      this.#loaded && this.#items.length === 0 ? h("p", null, t("queues.empty")) : null,
      this.#loading ? h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")) : null,
    );
  }

  dispose(): void {
    this.#disposed = true;
  }

  #confirm(context: ViewContext, id: string | null): void {
    this.#confirming = id;
    context.rerender();
  }

  async #load(context: ViewContext): Promise<void> {
    this.#loading = true;
    this.#problem = null;
    try {
      this.#items = await queues(context.api).all();
      this.#loaded = true;
    } catch (error) {
      this.#problem = asProblem(error);
    } finally {
      this.#loading = false;
    }
    if (!this.#disposed) context.rerender();
  }

  async #remove(context: ViewContext, id: string): Promise<void> {
    this.#confirming = null;
    this.#flash = null;
    try {
      await queues(context.api).remove(id);
      this.#items = this.#items.filter((queue) => queue.queueId !== id);
      this.#flash = { key: "common.deleted" };
    } catch (error) {
      this.#problem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }
}

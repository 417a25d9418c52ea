// Shared pieces of the callback and voicemail pages: the problem box with the pages' own
// sentences, a re-render that keeps the keyboard focus, and the 15-second refresh.

import type { Problem } from "../api/problem";
import { fieldErrorMessage } from "../forms/field-errors";
import type { Translate } from "../roles";
import { h } from "../ui/dom";
import { callbackProblemText } from "./callbacks-format";
import type { MessageKey } from "../i18n";
import { queueIdsOf } from "./callbacks-format";
import { button, checkbox, select } from "./form";
import type { ViewContext } from "./view";

export const REFRESH_MS = 15_000;

export function callbackProblemBox(problem: Problem, t: Translate): HTMLElement {
  return h(
    "div",
    { class: "alert alert-error", role: "alert", "data-testid": "problem", "data-code": problem.code ?? "" },
    h("p", null, callbackProblemText(problem, t)),
    problem.errors && problem.errors.length > 0
      ? h(
          "ul",
          null,
          ...problem.errors.map((error) => {
            const { key, params } = fieldErrorMessage(error);
            return h("li", { title: error.message }, `${error.field}: ${t(key, params)}`);
          }),
        )
      : null,
  );
}

/**
 * Renders the page again and puts the focus back on the control that had it (found by its
 * `data-testid`), or on `fallback` when given: a list refresh must not throw the keyboard
 * user back to the top of the page.
 */
export function rerenderKeepingFocus(context: ViewContext, fallback?: string | null): void {
  const active = typeof document !== "undefined" ? (document.activeElement as HTMLElement | null) : null;
  const testId = active?.dataset?.["testid"] ?? null;
  const selection =
    active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement ? [active.selectionStart, active.selectionEnd] : null;
  context.rerender();
  const wanted = fallback ?? testId;
  if (!wanted || typeof document === "undefined") return;
  const target = document.querySelector<HTMLElement>(`main [data-testid="${CSS.escape(wanted)}"]`) ?? (fallback && testId ? document.querySelector<HTMLElement>(`main [data-testid="${CSS.escape(testId)}"]`) : null);
  if (target && document.activeElement !== target) {
    target.focus();
    if (selection && (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement)) {
      try {
        target.setSelectionRange(selection[0] ?? null, selection[1] ?? null);
      } catch {
        // Inputs such as type=date have no selection.
      }
    }
  }
}

/** `yyyy-MM-dd` and `HH:mm` parts of a `datetime-local` value. */
export function splitLocal(local: string): { date: string; time: string } {
  const [date = "", time = ""] = local.split("T");
  return { date, time: time.slice(0, 5) };
}

/** The filter row of both lists: the queue (from the ids seen), the closed view, refresh. */
export function listFilters(
  t: Translate,
  options: {
    prefix: "cb" | "vm";
    queue: string;
    queues: readonly string[];
    items: readonly { queueId: string }[];
    closed: boolean;
    closedLabel: MessageKey;
    onQueue: (queue: string) => void;
    onClosed: (closed: boolean) => void;
    onRefresh: () => void;
  },
): HTMLElement {
  const { prefix } = options;
  const ids = queueIdsOf(options.items, [...options.queues, options.queue]);
  return h(
    "div",
    { class: "row", role: "group", "aria-label": t("callbacks.filters") },
    h(
      "label",
      null,
      t("callbacks.queue"),
      " ",
      select(
        options.queue,
        [{ value: "", label: t("callbacks.allQueues") }, ...ids.map((id) => ({ value: id, label: id }))],
        options.onQueue,
        { "data-testid": `${prefix}-queue-filter` },
      ),
    ),
    " ",
    h("label", null, checkbox(options.closed, options.onClosed, { "data-testid": `${prefix}-closed-toggle` }), " ", t(options.closedLabel)),
    " ",
    button(t("callbacks.refresh"), options.onRefresh, { class: "secondary small", "data-testid": `${prefix}-refresh` }),
  );
}

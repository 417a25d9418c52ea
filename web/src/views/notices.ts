import type { Problem } from "../api/problem";
import { SEVERITIES, type Severity } from "../api/types";
import { h } from "../ui/dom";
import { asProblem, problemBox } from "./problem-box";
import type { View, ViewContext } from "./view";

export const MAX_NOTICE_LENGTH = 500;

/** Supervisors and admins send a notice (POST /api/broadcasts) to every connected user. */
export class NoticesView implements View {
  #text = "";
  #severity: Severity = "info";
  #sending = false;
  #sent = false;
  #problem: Problem | null = null;
  #invalid: "notices.empty" | "notices.tooLong" | null = null;
  #disposed = false;

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    const textarea = h("textarea", {
      id: "notice-text",
      name: "text",
      rows: 4,
      maxlength: MAX_NOTICE_LENGTH,
      required: true,
      on: {
        input: (event) => {
          this.#text = (event.target as HTMLTextAreaElement).value;
        },
      },
    });
    textarea.value = this.#text;
    const select = h(
      "select",
      {
        id: "notice-severity",
        name: "severity",
        on: {
          change: (event) => {
            this.#severity = (event.target as HTMLSelectElement).value as Severity;
          },
        },
      },
      ...SEVERITIES.map((severity) => h("option", { value: severity }, t(`notices.severity.${severity}`))),
    );
    select.value = this.#severity;

    const form = h(
      "form",
      {
        class: "form",
        "data-testid": "notice-form",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#send(context);
          },
        },
      },
      h("label", { for: "notice-text" }, t("notices.text")),
      textarea,
      h("label", { for: "notice-severity" }, t("notices.severity")),
      select,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", disabled: this.#sending }, this.#sending ? t("notices.sending") : t("notices.send")),
      ),
    );
    return h(
      "section",
      { class: "page", "aria-labelledby": "page-title" },
      h("h1", { id: "page-title" }, t("notices.title")),
      h("p", { class: "muted" }, t("notices.intro")),
      this.#problem ? problemBox(this.#problem, t) : null,
      this.#invalid
        ? h("div", { class: "alert alert-error", role: "alert" }, t(this.#invalid, { max: MAX_NOTICE_LENGTH }))
        : null,
      this.#sent
        ? h("div", { class: "alert alert-success", role: "status", "data-testid": "notice-sent" }, t("notices.sent"))
        : null,
      form,
    );
  }

  dispose(): void {
    this.#disposed = true;
  }

  async #send(context: ViewContext): Promise<void> {
    if (this.#sending) {
      return;
    }
    const text = this.#text.trim();
    this.#sent = false;
    this.#invalid = text === "" ? "notices.empty" : text.length > MAX_NOTICE_LENGTH ? "notices.tooLong" : null;
    if (this.#invalid) {
      this.#problem = null;
      context.rerender();
      return;
    }
    this.#sending = true;
    this.#problem = null;
    context.rerender();
    try {
      await context.api.broadcast({ text, severity: this.#severity });
      this.#sent = true;
      this.#text = "";
    } catch (error) {
      this.#problem = asProblem(error);
    } finally {
      this.#sending = false;
    }
    if (!this.#disposed) {
      context.rerender();
    }
  }
}

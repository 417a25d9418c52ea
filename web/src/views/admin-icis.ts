// Odkaz do ICIS: the URL template that opens a client in ICIS (`{clientId}` is replaced).

import { getIcisLink, putIcisLink } from "../api/admin";
import type { Problem } from "../api/problem";
import { h } from "../ui/dom";
import { field, FormErrors, pageSection, statusLine, textInput } from "./form";
import { asProblem, problemBox } from "./problem-box";
import type { View, ViewContext } from "./view";

export class IcisLinkView implements View {
  #value = "";
  #stored: string | null = null;
  #loaded = false;
  #started = false;
  #saving = false;
  #problem: Problem | null = null;
  #loadProblem: Problem | null = null;
  #saved: string | null = null;
  #disposed = false;

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    if (!this.#started) {
      this.#started = true;
      void this.#load(context);
    }
    if (!this.#loaded) {
      return pageSection(
        "icis.title",
        t,
        "icis-page",
        this.#loadProblem ? problemBox(this.#loadProblem, t) : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")),
      );
    }
    const errors = new FormErrors(this.#problem, t, "icis");
    const form = h(
      "form",
      {
        class: "form",
        "data-testid": "icis-form",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#save(context);
          },
        },
      },
      errors.box(),
      field(
        errors,
        "urlTemplate",
        t("icis.field"),
        textInput(this.#value, (v) => (this.#value = v), { type: "url", "data-testid": "icis-url", placeholder: "https://icis.example.cz/klient/{clientId}", spellcheck: false }),
        { hint: t("icis.hint") },
      ),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", "data-testid": "icis-save", ...(this.#saving ? { disabled: true } : {}) }, t(this.#saving ? "common.saving" : "common.save")),
      ),
    );
    errors.finish();
    return pageSection(
      "icis.title",
      t,
      "icis-page",
      h("p", { class: "muted" }, t("icis.intro")),
      statusLine(this.#saved, "icis-saved"),
      h("p", null, t("icis.current"), " ", h("code", { "data-testid": "icis-current" }, this.#stored ?? t("icis.notSet"))),
      form,
    );
  }

  dispose(): void {
    this.#disposed = true;
  }

  async #load(context: ViewContext): Promise<void> {
    try {
      this.#stored = await getIcisLink(context.api);
      this.#value = this.#stored ?? "";
      this.#loaded = true;
    } catch (error) {
      const problem = asProblem(error);
      if (problem.status === 404 && problem.code !== "route-not-found") {
        // Nothing stored yet.
        this.#loaded = true;
      } else {
        this.#loadProblem = problem;
      }
    }
    if (!this.#disposed) context.rerender();
  }

  async #save(context: ViewContext): Promise<void> {
    if (this.#saving) return;
    this.#saving = true;
    this.#problem = null;
    this.#saved = null;
    context.rerender();
    try {
      this.#stored = await putIcisLink(context.api, this.#value.trim());
      this.#saved = context.t("icis.saved");
    } catch (error) {
      this.#problem = asProblem(error);
    }
    this.#saving = false;
    if (!this.#disposed) context.rerender();
  }
}

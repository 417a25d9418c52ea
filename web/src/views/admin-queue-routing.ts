// Směrování fronty (IN-9, IN-17, IN-18): a section of the queue edit page with its own form,
// GET/PUT /api/admin/queues/{id}/routing — separate from the queue document and its PUT.

import type { Problem } from "../api/problem";
import { AFTER_ANNOUNCEMENT, getQueueRouting, NOBODY_ACTIONS, putQueueRouting } from "../api/routing";
import { checkQueueRoutingForm, formToQueueRouting, newQueueRoutingForm, queueRoutingToForm, type QueueRoutingForm } from "../forms/routing-form";
import { h } from "../ui/dom";
import { checkbox, checkboxField, field, FormErrors, select, statusLine, textInput } from "./form";
import { asProblem, problemBox } from "./problem-box";
import type { ViewContext } from "./view";

const NUMBER = { type: "number", min: 0, step: 1, class: "narrow" } as const;

export class QueueRoutingSection {
  readonly #queueId: string;
  #form: QueueRoutingForm = newQueueRoutingForm();
  #started = false;
  #loaded = false;
  #loadProblem: Problem | null = null;
  #problem: Problem | null = null;
  #saving = false;
  #saved: string | null = null;
  disposed = false;

  constructor(queueId: string) {
    this.#queueId = queueId;
  }

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    if (!this.#started) {
      this.#started = true;
      void this.#load(context);
    }
    const heading = h("h2", { id: "routing-title" }, t("routing.queue.title"));
    if (!this.#loaded) {
      return h(
        "section",
        { "aria-labelledby": "routing-title", "data-testid": "queue-routing" },
        heading,
        this.#loadProblem ? problemBox(this.#loadProblem, t) : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")),
      );
    }
    const form = this.#form;
    const errors = new FormErrors(this.#problem, t, "r");
    const rerender = () => context.rerender();
    const whole = (path: string, value: string, set: (v: string) => void, labelKey: Parameters<typeof t>[0], testId: string, hintKey?: Parameters<typeof t>[0]) =>
      field(errors, path, t(labelKey), textInput(value, set, { ...NUMBER, "data-testid": testId }), hintKey ? { hint: t(hintKey) } : {});

    const nobody = h(
      "fieldset",
      null,
      h("legend", null, t("routing.queue.nobody")),
      field(
        errors,
        "whenNobodyLoggedIn.action",
        t("routing.queue.nobodyAction"),
        select(
          form.nobodyAction,
          NOBODY_ACTIONS.map((action) => ({ value: action, label: t(`routing.nobody.${action}`) })),
          (v) => {
            form.nobodyAction = v as QueueRoutingForm["nobodyAction"];
            rerender();
          },
          { "data-testid": "routing-nobody" },
        ),
      ),
      form.nobodyAction === "announce"
        ? h(
            "div",
            { class: "row" },
            field(
              errors,
              "whenNobodyLoggedIn.announcementId",
              t("routing.queue.announcementId"),
              textInput(form.announcementId, (v) => (form.announcementId = v), { "data-testid": "routing-announcement", autocomplete: "off", spellcheck: false }),
              { class: "inline", required: true },
            ),
            field(
              errors,
              "whenNobodyLoggedIn.then",
              t("routing.queue.then"),
              select(
                form.then,
                AFTER_ANNOUNCEMENT.map((then) => ({ value: then, label: t(`routing.then.${then}`) })),
                (v) => (form.then = v as QueueRoutingForm["then"]),
                { "data-testid": "routing-then" },
              ),
              { class: "inline" },
            ),
          )
        : null,
      errors.slot("whenNobodyLoggedIn"),
    );

    const lastAgent = h(
      "fieldset",
      null,
      h("legend", null, t("routing.queue.lastAgent")),
      h("p", { class: "muted" }, t("routing.queue.lastAgentHint")),
      checkboxField(
        errors,
        "lastAgent",
        t("routing.queue.lastAgentOn"),
        checkbox(
          form.lastAgent,
          (v) => {
            form.lastAgent = v;
            rerender();
          },
          { "data-testid": "routing-last-agent" },
        ),
      ),
      form.lastAgent
        ? h(
            "div",
            { class: "row" },
            whole("lastAgent.holdSeconds", form.holdSeconds, (v) => (form.holdSeconds = v), "routing.queue.holdSeconds", "routing-hold", "routing.queue.holdSecondsHint"),
            whole("lastAgent.maxAgeHours", form.maxAgeHours, (v) => (form.maxAgeHours = v), "routing.queue.maxAgeHours", "routing-max-age"),
          )
        : null,
    );

    const element = h(
      "form",
      {
        class: "form wide",
        "data-testid": "queue-routing-form",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#save(context);
          },
        },
      },
      errors.box(),
      h(
        "fieldset",
        null,
        h("legend", null, t("routing.queue.limits")),
        whole("wrapUpSeconds", form.wrapUpSeconds, (v) => (form.wrapUpSeconds = v), "routing.queue.wrapUp", "routing-wrap-up", "routing.queue.wrapUpHint"),
        whole("maxWrapUpSeconds", form.maxWrapUpSeconds, (v) => (form.maxWrapUpSeconds = v), "routing.queue.maxWrapUp", "routing-max-wrap-up", "routing.queue.maxWrapUpHint"),
        whole("maxWaitSeconds", form.maxWaitSeconds, (v) => (form.maxWaitSeconds = v), "routing.queue.maxWait", "routing-max-wait", "routing.queue.emptyNoLimit"),
        whole("maxWaitingCalls", form.maxWaitingCalls, (v) => (form.maxWaitingCalls = v), "routing.queue.maxWaiting", "routing-max-waiting", "routing.queue.emptyNoLimit"),
        field(
          errors,
          "closedAnnouncement",
          t("routing.queue.closedAnnouncement"),
          textInput(form.closedAnnouncement, (v) => (form.closedAnnouncement = v), { "data-testid": "routing-closed", autocomplete: "off", spellcheck: false }),
          { hint: t("routing.queue.closedAnnouncementHint") },
        ),
      ),
      nobody,
      lastAgent,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", "data-testid": "routing-save", ...(this.#saving ? { disabled: true } : {}) }, t(this.#saving ? "common.saving" : "routing.queue.save")),
      ),
    );
    errors.finish();
    return h(
      "section",
      { "aria-labelledby": "routing-title", "data-testid": "queue-routing" },
      heading,
      h("p", { class: "muted" }, t("routing.queue.intro")),
      statusLine(this.#saved, "routing-saved"),
      element,
    );
  }

  async #load(context: ViewContext): Promise<void> {
    try {
      this.#form = queueRoutingToForm(await getQueueRouting(context.api, this.#queueId));
      this.#loaded = true;
    } catch (error) {
      this.#loadProblem = asProblem(error);
    }
    if (!this.disposed) context.rerender();
  }

  async #save(context: ViewContext): Promise<void> {
    if (this.#saving) return;
    this.#saved = null;
    const local = checkQueueRoutingForm(this.#form);
    if (local.length > 0) {
      this.#problem = { status: 422, code: "validation-failed", errors: local };
      context.rerender();
      return;
    }
    this.#saving = true;
    this.#problem = null;
    context.rerender();
    try {
      const saved = await putQueueRouting(context.api, this.#queueId, formToQueueRouting(this.#form));
      // The stored settings as the server normalised them (an empty answer keeps the form).
      if (saved && typeof saved === "object") this.#form = queueRoutingToForm(saved);
      this.#saved = context.t("routing.queue.saved");
    } catch (error) {
      this.#problem = asProblem(error);
    }
    this.#saving = false;
    if (!this.disposed) context.rerender();
  }
}

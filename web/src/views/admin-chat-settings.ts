// Nastavení chatu (CHAT-2, OMNI-1…3): the queue of each text channel, how many conversations
// one agent holds at once and how waiting chats reach agents (Přidělování chatů: agents take
// them, or Linka gives each to one agent automatically); one document, GET/PUT
// /api/admin/settings/chat.

import { CHAT_QUEUE_FIELDS, getChatSettings, putChatSettings, queues, type ChatDistribution, type ChatQueueField, type Queue } from "../api/admin";
import type { Problem } from "../api/problem";
import {
  chatSettingsToForm,
  checkChatSettingsForm,
  distributionChoices,
  formToChatSettings,
  queueChoices,
  type ChatSettingsForm,
} from "../forms/chat-settings-form";
import type { MessageKey } from "../i18n";
import { h } from "../ui/dom";
import { field, FormErrors, pageSection, select, statusLine, textInput } from "./form";
import { asProblem, problemBox } from "./problem-box";
import type { View, ViewContext } from "./view";

const QUEUE_TEXTS: Readonly<Record<ChatQueueField, { label: MessageKey; hint: MessageKey }>> = {
  webQueueId: { label: "chatSettings.webQueueId", hint: "chatSettings.webQueueHint" },
  smsQueueId: { label: "chatSettings.smsQueueId", hint: "chatSettings.smsQueueHint" },
  emailQueueId: { label: "chatSettings.emailQueueId", hint: "chatSettings.emailQueueHint" },
  socialQueueId: { label: "chatSettings.socialQueueId", hint: "chatSettings.socialQueueHint" },
};

const DISTRIBUTION_TEXTS: Readonly<Record<ChatDistribution, MessageKey>> = {
  agentsTake: "chatSettings.distribution.agentsTake",
  automatic: "chatSettings.distribution.automatic",
};

export class ChatSettingsView implements View {
  #form: ChatSettingsForm = chatSettingsToForm({
    webQueueId: null,
    smsQueueId: null,
    emailQueueId: null,
    socialQueueId: null,
    chatsPerAgent: null,
    distribution: null,
  });
  #queues: Queue[] = [];
  #queuesFailed = false;
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
        "chatSettings.title",
        t,
        "chat-settings-page",
        this.#loadProblem ? problemBox(this.#loadProblem, t) : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")),
      );
    }
    const form = this.#form;
    const errors = new FormErrors(this.#problem, t, "chat");
    const queueField = (key: ChatQueueField) => {
      const options = queueChoices(this.#queues, form[key]).map((choice) => ({
        value: choice.value,
        label: choice.missing ? t("chatSettings.missingQueue", { id: choice.value }) : (choice.label ?? t("chatSettings.default")),
      }));
      return field(
        errors,
        key,
        t(QUEUE_TEXTS[key].label),
        select(form[key], options, (value) => (form[key] = value), { "data-testid": `chat-${key}` }),
        { hint: t(QUEUE_TEXTS[key].hint) },
      );
    };
    const element = h(
      "form",
      {
        class: "form",
        "data-testid": "chat-settings-form",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#save(context);
          },
        },
      },
      errors.box(),
      h("fieldset", null, h("legend", null, t("chatSettings.queues")), ...CHAT_QUEUE_FIELDS.map(queueField)),
      field(
        errors,
        "chatsPerAgent",
        t("chatSettings.chatsPerAgent"),
        textInput(form.chatsPerAgent, (value) => (form.chatsPerAgent = value), {
          type: "number",
          min: 1,
          max: 10,
          step: 1,
          inputmode: "numeric",
          class: "narrow",
          placeholder: "3",
          "data-testid": "chat-chatsPerAgent",
        }),
        { hint: t("chatSettings.chatsPerAgentHint") },
      ),
      field(
        errors,
        "distribution",
        t("chatSettings.distribution"),
        select(
          form.distribution,
          distributionChoices(form.distribution).map((choice) => ({
            value: choice.value,
            label: choice.known ? t(DISTRIBUTION_TEXTS[choice.known]) : t("chatSettings.distribution.unknown", { value: choice.value }),
          })),
          (value) => (form.distribution = value),
          { "data-testid": "chat-distribution" },
        ),
        { hint: t("chatSettings.distributionHint") },
      ),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", "data-testid": "chat-settings-save", ...(this.#saving ? { disabled: true } : {}) }, t(this.#saving ? "common.saving" : "common.save")),
      ),
    );
    errors.finish();
    return pageSection(
      "chatSettings.title",
      t,
      "chat-settings-page",
      h("p", { class: "muted" }, t("chatSettings.intro")),
      this.#queuesFailed ? h("p", { class: "alert alert-error", role: "alert", "data-testid": "chat-queues-failed" }, t("chatSettings.queuesFailed")) : null,
      statusLine(this.#saved, "chat-settings-saved"),
      element,
    );
  }

  dispose(): void {
    this.#disposed = true;
  }

  async #load(context: ViewContext): Promise<void> {
    try {
      const [settings, list] = await Promise.all([
        getChatSettings(context.api),
        queues(context.api)
          .all()
          .catch(() => null),
      ]);
      this.#form = chatSettingsToForm(settings);
      this.#queues = list ?? [];
      this.#queuesFailed = list === null;
      this.#loaded = true;
    } catch (error) {
      this.#loadProblem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }

  async #save(context: ViewContext): Promise<void> {
    if (this.#saving) return;
    this.#saved = null;
    const local = checkChatSettingsForm(this.#form);
    if (local.length > 0) {
      this.#problem = { status: 422, code: "validation-failed", errors: local };
      context.rerender();
      return;
    }
    this.#saving = true;
    this.#problem = null;
    context.rerender();
    try {
      this.#form = chatSettingsToForm(await putChatSettings(context.api, formToChatSettings(this.#form)));
      this.#saved = context.t("chatSettings.saved");
    } catch (error) {
      // The form keeps everything chosen and typed.
      this.#problem = asProblem(error);
    }
    this.#saving = false;
    if (!this.#disposed) context.rerender();
  }
}

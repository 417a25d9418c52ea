// A new SMS or e-mail to a customer (OMNI-1/2, DESK-15), from the client card (Poslat SMS /
// Poslat e-mail) or the Chaty panel (Nová SMS / Nový e-mail): a small inline form — recipient
// (prefilled, editable), subject (e-mail), text with the SMS counter — sent to
// POST /api/desk/chats/sms|email with a clientMessageId (kept for a retry of the same message).
// The conversation it opens is held by the agent and shows in Chaty; a 422 shows at the fields.
// An e-mail may start from a template (Šablona, OMNI-2): the active ones are read once per form
// opened (none, or a failed read: no choice shown); picking one fills the subject and the text,
// placeholders filled in (mail-template-fill.ts), still editable.
// Also the SMS counter (characters and parts, sms-parts.ts) of the form and of an SMS reply.

import { ChatApi, type MailTemplate, type Opened } from "../api/chat";
import type { ApiClient } from "../api/client";
import type { FieldError, Problem } from "../api/problem";
import { normalizeField } from "../forms/field-errors";
import { formatPhone } from "../format/phone";
import type { Locale } from "../i18n";
import { h } from "../ui/dom";
import { k, type T } from "./desk-common";
import { checkOutbound, outboundRequest, sendKey, type OutboundDraft } from "./desk-chats-model";
import { formatCount } from "./desk-model";
import { button, field, FormErrors } from "./form";
import { asProblem } from "./problem-box";
import { czechDay, fillMailTemplate, offeredTemplates } from "./mail-template-fill";
import { countSms, SMS_MAX_CHARS } from "./sms-parts";

export type OutboundChannel = "sms" | "email";

export interface SmsCounter {
  element: HTMLElement;
  /** Shows the count of `text` (called on every input, without re-rendering the page). */
  update(text: string): void;
}

/**
 * The live SMS counter under a text field: `45 / 1 600 znaků · 1 SMS (160 znaků na SMS)`, and
 * an alert once the text is over the limit. The field should be described by `id`.
 */
export function smsCounter(t: T, locale: Locale, id: string, text: string): SmsCounter {
  const line = h("small", { id, class: "muted sms-counter", "data-testid": id });
  const alert = h("p", { class: "field-error", role: "alert", "data-testid": `${id}-too-long` });
  const update = (value: string) => {
    const count = countSms(value);
    const params = {
      count: formatCount(count.characters, locale),
      max: formatCount(SMS_MAX_CHARS, locale),
      parts: count.parts,
      per: count.perPart,
    };
    line.textContent = t(k(count.encoding === "ucs2" ? "desk.sms.counterUnicode" : "desk.sms.counter"), params);
    line.dataset["parts"] = String(count.parts);
    line.dataset["encoding"] = count.encoding;
    line.classList.toggle("over", count.tooLong);
    const message = count.tooLong ? t(k("desk.sms.tooLong"), params) : "";
    if (alert.textContent !== message) alert.textContent = message;
    alert.hidden = !count.tooLong;
  };
  update(text);
  return { element: h("div", { class: "sms-counter-box" }, line, alert), update };
}

/** The form's field errors in the desk's words where the app's general ones would mislead. */
class ComposeErrors extends FormErrors {
  override message(error: FieldError): string {
    const path = normalizeField(error.field);
    if (path === "to" && /phone/i.test(error.message)) return this.t(k("desk.compose.badPhone"));
    return super.message(error);
  }
}

export interface ComposeHost {
  api: Pick<ApiClient, "call">;
  t: T;
  locale(): Locale;
  /** The agent's name, for a template's `{{agent}}`. */
  agentName(): string;
  /** Re-renders the page (focus: the test id of the element to focus). */
  rerender(focus?: string | null): void;
  /** The message went out: `text` is the flash; Chaty should read its list again. */
  sent(text: string, opened: Opened, focus: string | null): void;
}

const FIELDS = ["to", "subject", "text"] as const;

export class Composer {
  readonly #host: ComposeHost;
  readonly #api: ChatApi;
  /** Test ids and element ids of this form start with it. */
  readonly prefix: string;
  #draft: OutboundDraft | null = null;
  /** Who the form belongs to (a client's id), to close it when the card shows someone else. */
  #owner: string | null = null;
  #returnFocus: string | null = null;
  #problem: Problem | null = null;
  #busy = false;
  #last: { body: string; id: string } | null = null;
  /** The e-mail templates offered in the open form (null: not read, or none to offer). */
  #templates: MailTemplate[] | null = null;
  #templateId = "";

  constructor(host: ComposeHost, prefix: string) {
    this.#host = host;
    this.#api = new ChatApi(host.api);
    this.prefix = prefix;
  }

  /** The open form's channel (null: closed). */
  get channel(): OutboundChannel | null {
    return this.#draft?.channel ?? null;
  }

  get owner(): string | null {
    return this.#owner;
  }

  /** Opens the form (focus on its first empty field); `returnFocus` gets the focus back after. */
  start(channel: OutboundChannel, options: { to?: string; name?: string; owner?: string | null; returnFocus?: string | null } = {}): void {
    const to = options.to ?? "";
    this.#draft = { channel, to: channel === "sms" && to ? formatPhone(to) : to, subject: "", text: "", ...(options.name ? { name: options.name } : {}) };
    this.#owner = options.owner ?? null;
    this.#returnFocus = options.returnFocus ?? null;
    this.#problem = null;
    this.#last = null;
    this.#templates = null;
    this.#templateId = "";
    if (channel === "email") this.#loadTemplates(this.#draft);
    const first = !to ? "to" : channel === "email" ? "subject" : "text";
    this.#host.rerender(`${this.prefix}-${first}`);
  }

  /** Reads the templates for the form just opened (quietly: without them the form works as before). */
  #loadTemplates(draft: OutboundDraft): void {
    this.#api
      .mailTemplates()
      .then((list) => {
        const offered = offeredTemplates(list);
        if (this.#draft !== draft || offered.length === 0) return;
        this.#templates = offered;
        this.#host.rerender();
      })
      .catch(() => undefined);
  }

  /** Šablona picked: the subject and the text from the template, placeholders filled in. */
  #pickTemplate(templateId: string): void {
    const draft = this.#draft;
    this.#templateId = templateId;
    const template = this.#templates?.find((entry) => entry.templateId === templateId);
    if (!draft || !template) return;
    const filled = fillMailTemplate(template, { customerName: draft.name ?? null, agentName: this.#host.agentName(), date: czechDay(new Date()) });
    draft.subject = filled.subject;
    draft.text = filled.text;
    this.#host.rerender(`${this.prefix}-template`);
  }

  /** The template choice of an e-mail form (null when there is nothing to choose). */
  #templateField(): HTMLElement | null {
    const templates = this.#templates;
    if (this.#draft?.channel !== "email" || !templates?.length) return null;
    const { t } = this.#host;
    const id = `${this.prefix}-template`;
    const control = h(
      "select",
      { id, "data-testid": id, "aria-describedby": `${id}-hint`, on: { change: (event) => this.#pickTemplate((event.target as HTMLSelectElement).value) } },
      h("option", { value: "" }, t(k("desk.compose.noTemplate"))),
      ...templates.map((template) => h("option", { value: template.templateId }, template.name)),
    );
    control.value = this.#templateId;
    return h(
      "div",
      { class: "field" },
      h("label", { for: id }, t(k("desk.compose.template"))),
      control,
      h("small", { id: `${id}-hint`, class: "muted" }, t(k("desk.compose.templateHint"))),
    );
  }

  close(focus?: string | null): void {
    const back = focus === undefined ? this.#returnFocus : focus;
    this.#draft = null;
    this.#owner = null;
    this.#problem = null;
    this.#busy = false;
    this.#templates = null;
    this.#host.rerender(back);
  }

  /** Forgets the form without re-rendering (the card it belonged to is gone). */
  drop(): void {
    this.#draft = null;
    this.#owner = null;
    this.#problem = null;
    this.#templates = null;
  }

  render(): HTMLElement | null {
    const draft = this.#draft;
    if (!draft) return null;
    const { t } = this.#host;
    const prefix = this.prefix;
    const sms = draft.channel === "sms";
    const errors = new ComposeErrors(this.#problem, t, prefix);
    const input = (key: "to" | "subject", type: string) => {
      const element = h("input", {
        type,
        "data-testid": `${prefix}-${key}`,
        autocomplete: "off",
        ...(key === "subject" ? { maxlength: 400 } : {}),
        on: { input: (event) => (draft[key] = (event.target as HTMLInputElement).value) },
      });
      element.value = draft[key];
      return element;
    };
    const counter = sms ? smsCounter(t, this.#host.locale(), `${prefix}-counter`, draft.text) : null;
    const text = h("textarea", {
      rows: 4,
      maxlength: 4000,
      "data-testid": `${prefix}-text`,
      on: {
        input: (event) => {
          draft.text = (event.target as HTMLTextAreaElement).value;
          counter?.update(draft.text);
        },
      },
    });
    text.value = draft.text;
    if (counter) text.setAttribute("aria-describedby", `${prefix}-counter`);
    const form = h(
      "form",
      {
        class: "form desk-compose",
        "data-testid": prefix,
        "data-channel": draft.channel,
        "aria-labelledby": `${prefix}-title`,
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#send();
          },
          keydown: (event) => {
            if ((event as KeyboardEvent).key === "Escape") {
              event.preventDefault();
              this.close();
            }
          },
        },
      },
      h("h3", { id: `${prefix}-title` }, t(k(sms ? "desk.compose.smsTitle" : "desk.compose.emailTitle"))),
      errors.box(),
      field(errors, "to", t(k(sms ? "desk.compose.toPhone" : "desk.compose.toEmail")), input("to", sms ? "tel" : "email"), { required: true }),
      this.#templateField(),
      sms ? null : field(errors, "subject", t(k("desk.compose.subject")), input("subject", "text"), { required: true }),
      field(errors, "text", t(k("desk.compose.text")), text, { required: true }),
      counter?.element ?? null,
      h("small", { class: "muted desk-hint" }, t(k("desk.compose.hint"))),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", "data-testid": `${prefix}-send`, "aria-disabled": this.#busy ? "true" : "false" }, t(k(sms ? "desk.compose.sendSms" : "desk.compose.sendEmail"))),
        " ",
        button(t(k("desk.cancel")), () => this.close(), { class: "secondary", "data-testid": `${prefix}-cancel` }),
      ),
    );
    errors.finish();
    return form;
  }

  async #send(): Promise<void> {
    const draft = this.#draft;
    if (!draft || this.#busy) return;
    const { t } = this.#host;
    const invalid = checkOutbound(draft);
    if (invalid.length) {
      this.#problem = { status: 422, code: "validation-failed", errors: invalid };
      this.#host.rerender(this.#focusAfterProblem());
      return;
    }
    const request = outboundRequest(draft);
    this.#last = sendKey(this.#last, JSON.stringify([draft.channel, request]), () => crypto.randomUUID());
    this.#busy = true;
    this.#problem = null;
    try {
      const opened = await this.#api.open(draft.channel, { ...request, clientMessageId: this.#last.id });
      if (this.#draft !== draft) return;
      const customer = opened.conversation?.customer ?? {};
      const to = draft.channel === "sms" ? formatPhone(customer.phone ?? request.to) : (customer.email ?? request.to);
      const focus = this.#returnFocus;
      this.#draft = null;
      this.#owner = null;
      this.#busy = false;
      this.#last = null;
      this.#host.sent(t(k(draft.channel === "sms" ? "desk.compose.smsSent" : "desk.compose.emailSent"), { to }), opened, focus);
    } catch (error) {
      this.#busy = false;
      if (this.#draft !== draft) return;
      this.#problem = asProblem(error);
      this.#host.rerender(this.#focusAfterProblem());
    }
  }

  /** The first field with an error, else the send button. */
  #focusAfterProblem(): string {
    const fields = new Set((this.#problem?.errors ?? []).map((error) => normalizeField(error.field)));
    const first = FIELDS.find((name) => fields.has(name) && (name !== "subject" || this.#draft?.channel === "email"));
    return `${this.prefix}-${first ?? "send"}`;
  }
}

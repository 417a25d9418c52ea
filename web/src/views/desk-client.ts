// Caller identification and the client card (IN-15, CDB-4/5, DESK-14): every client with the
// caller's number to pick from, a person entered by hand, the card's fields (inCard first, the
// rest under "Další údaje"), each editable one editable, the ICIS link, Poslat SMS / Poslat
// e-mail (a new conversation with the client, desk-compose.ts), and the client's contact history.

import type { Client, ClientField } from "../api/desk";
import { formatPhone } from "../format/phone";
import type { Locale } from "../i18n";
import { h } from "../ui/dom";
import { button } from "./form";
import { clientName, splitFields } from "./desk-model";
import { knownClientValues, newClientFieldOrder } from "./desk-client-new";
import { contactTable } from "./desk-history";
import { k, known, panel, type DeskHost } from "./desk-common";

export function clientPanel(host: DeskHost): HTMLElement | null {
  const { t, s } = host;
  if (!s.contactId) return null;
  const children: (HTMLElement | null)[] = [];
  if (s.client) {
    children.push(clientCard(host, s.client));
  } else if (s.newClient) {
    children.push(callNewClientForm(host));
  } else {
    children.push(candidateList(host));
  }
  return panel("desk-client", t(k("desk.client.title")), ...children);
}

function candidateList(host: DeskHost): HTMLElement {
  const { t, s } = host;
  const phone = s.candidatesPhone;
  const list = s.candidates;
  const startNew = button(
    t(k("desk.client.new")),
    () => {
      s.newClient = knownClientValues(s.fields ?? [], { phone });
      host.rerender(firstNewFieldTestId(s.fields ?? [], "desk-new"));
    },
    { class: "secondary", "data-testid": "desk-client-new" },
  );
  let body: HTMLElement;
  if (!phone) body = h("p", { class: "muted" }, t(k("desk.client.noNumber")));
  else if (list === null) body = h("p", { class: "muted", "aria-live": "polite" }, t(k("app.loading")));
  else if (list.length === 0) body = h("p", { "data-testid": "desk-candidates-none" }, t(k("desk.client.noneFound"), { number: formatPhone(phone) }));
  else
    body = h(
      "div",
      null,
      h("p", null, t(k(list.length > 1 ? "desk.client.several" : "desk.client.one"), { number: formatPhone(phone), count: list.length })),
      h(
        "ul",
        { class: "plain desk-candidates", "data-testid": "desk-candidates" },
        ...list.map((client) =>
          h(
            "li",
            { "data-testid": `desk-candidate-${client.clientId}` },
            h("strong", null, clientName(client)),
            client.fields["birthDate"] ? ` (${t(k("desk.client.born"), { date: czechDate(client.fields["birthDate"]) })})` : "",
            client.status !== "standard" ? h("span", { class: `badge status-${client.status}` }, ` ${known(t, `desk.client.status.${client.status}`, client.status)}`) : null,
            " ",
            button(t(k("desk.client.pick")), () => host.pickClient(client.clientId), {
              class: "small",
              "data-testid": `desk-pick-${client.clientId}`,
              "aria-label": t(k("desk.client.pickName"), { name: clientName(client) }),
            }),
          ),
        ),
      ),
    );
  return h("div", { "data-testid": "desk-identify" }, body, h("div", { class: "actions" }, startNew));
}

function clientCard(host: DeskHost, client: Client): HTMLElement {
  const { t, s, locale, composer } = host;
  const { card, more } = splitFields(s.fields ?? []);
  const name = clientName(client);
  const fieldRow = (field: ClientField) => fieldControl(field, locale, s.clientEdit, "desk-card");
  const phones = [client.fields["phone"], client.fields["mobile"]].filter((value): value is string => !!value);
  // The form of a new SMS / e-mail belongs to the client it was opened for.
  if (composer.channel && composer.owner !== client.clientId) composer.drop();
  const composing = composer.channel;
  const compose = (channel: "sms" | "email", testId: string) => () => {
    if (composing === channel) {
      composer.close(testId);
      return;
    }
    // What the card shows now (perhaps typed, not yet saved), else what is stored.
    const value = (key: string) => s.clientEdit[key]?.trim() || client.fields[key] || "";
    const to = channel === "sms" ? value("mobile") || value("phone") : value("email");
    composer.start(channel, { to, name, owner: client.clientId, returnFocus: testId });
  };
  const form = h(
    "form",
    {
      class: "form desk-card",
      "data-testid": "desk-card",
      "data-client-id": client.clientId,
      novalidate: true,
      "aria-labelledby": "desk-card-title",
      on: {
        submit: (event) => {
          event.preventDefault();
          host.saveClient();
        },
      },
    },
    h(
      "h3",
      { id: "desk-card-title" },
      h("span", { "data-testid": "desk-card-name" }, name),
      client.status !== "standard" ? h("span", { class: `badge status-${client.status}`, "data-testid": "desk-card-status" }, ` ${known(t, `desk.client.status.${client.status}`, client.status)}`) : null,
    ),
    h(
      "p",
      { class: "muted" },
      t(k("desk.client.meta"), { id: client.clientId, version: client.version }),
      " ",
      client.icisUrl
        ? h("a", { href: client.icisUrl, target: "_blank", rel: "noopener noreferrer", "data-testid": "desk-icis-link" }, t(k("desk.client.icis")))
        : h("span", { "data-testid": "desk-icis-none" }, t(k("desk.client.noIcis"))),
    ),
    ...card.map(fieldRow),
    more.length
      ? h("details", { class: "desk-more" }, h("summary", null, t(k("desk.client.more"))), ...more.map(fieldRow))
      : null,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", "data-testid": "desk-card-save" }, t(k("desk.client.save"))),
      " ",
      ...phones.map((phone) =>
        button(t(k("desk.client.dial"), { number: formatPhone(phone) }), () => host.dial(phone, client.clientId), { class: "secondary", "data-testid": `desk-card-dial-${phone}` }),
      ),
      " ",
      button(
        t(k("desk.client.other")),
        () => {
          s.client = null;
          s.clientHistory = null;
          host.rerender("desk-client-new");
        },
        { class: "secondary", "data-testid": "desk-card-other" },
      ),
      phones.length || client.fields["email"] ? " " : null,
      phones.length
        ? button(t(k("desk.compose.sms")), compose("sms", "desk-card-send-sms"), {
            class: "secondary",
            "data-testid": "desk-card-send-sms",
            "aria-expanded": composing === "sms" ? "true" : "false",
          })
        : null,
      client.fields["email"] ? " " : null,
      client.fields["email"]
        ? button(t(k("desk.compose.email")), compose("email", "desk-card-send-email"), {
            class: "secondary",
            "data-testid": "desk-card-send-email",
            "aria-expanded": composing === "email" ? "true" : "false",
          })
        : null,
    ),
  );
  // Outside the card's form: a form of its own (Enter there sends the message, not the card).
  return h(
    "div",
    { class: "desk-card-box" },
    form,
    composer.render(),
    h("h3", null, t(k("desk.client.history"))),
    s.clientHistory === null
      ? h("p", { class: "muted" }, t(k("app.loading")))
      : contactTable(host, s.clientHistory, "desk-client-history", t(k("desk.client.history"))),
    s.clientHistoryNext ? button(t(k("desk.history.more")), () => host.moreClientHistory(), { class: "secondary small", "data-testid": "desk-client-history-more" }) : null,
  );
}

function callNewClientForm(host: DeskHost): HTMLElement {
  const { t, s, locale } = host;
  return newClientForm({
    t,
    locale,
    fields: s.fields ?? [],
    values: s.newClient ?? {},
    prefix: "desk-new",
    level: 3,
    create: () => host.createClient(),
    cancel: () => {
      s.newClient = null;
      host.rerender("desk-client-new");
    },
  });
}

/** A form of a new client (a call's Zadat klienta ručně, and a chat's, desk-chats.ts). */
export interface NewClientFormSpec {
  t: DeskHost["t"];
  locale: Locale;
  /** The client fields (GET /api/client-fields); every one is editable here. */
  fields: readonly ClientField[];
  /** The values typed (bound: typing changes them). */
  values: Record<string, string>;
  /**
   * The test ids: `<prefix>-client` the form, `<prefix>-<key>` a field, `<prefix>-save`,
   * `<prefix>-cancel`; `<prefix>-client-title` the heading's id.
   */
  prefix: string;
  /** The heading's level. */
  level: 3 | 4 | 5;
  /** Shown under the heading (e.g. what was prefilled, a refusal). */
  before?: (HTMLElement | null)[];
  /** Založit klienta (also Enter in a field). */
  create: () => void;
  /** Zrušit (also Escape). */
  cancel: () => void;
}

/** The new client's form: the fields (the card's first) labelled, Založit klienta and Zrušit. */
export function newClientForm(spec: NewClientFormSpec): HTMLElement {
  const { t, prefix } = spec;
  const titleId = `${prefix}-client-title`;
  return h(
    "form",
    {
      class: "form",
      "data-testid": `${prefix}-client`,
      novalidate: true,
      "aria-labelledby": titleId,
      on: {
        submit: (event) => {
          event.preventDefault();
          spec.create();
        },
        keydown: (event) => {
          if ((event as KeyboardEvent).key === "Escape") {
            event.preventDefault();
            spec.cancel();
          }
        },
      },
    },
    h(`h${spec.level}`, { id: titleId }, t(k("desk.client.newTitle"))),
    ...(spec.before ?? []),
    ...newClientFieldOrder(spec.fields).map((field) => fieldControl({ ...field, editable: true }, spec.locale, spec.values, prefix)),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", "data-testid": `${prefix}-save` }, t(k("desk.client.create"))),
      " ",
      button(t(k("desk.cancel")), spec.cancel, { class: "secondary", "data-testid": `${prefix}-cancel` }),
    ),
  );
}

/** The test id of the new client form's first field (where the focus goes when it opens). */
export function firstNewFieldTestId(fields: readonly ClientField[], prefix: string): string | null {
  const first = newClientFieldOrder(fields)[0];
  return first ? `${prefix}-${first.key}` : null;
}

/** A labelled control of a client field bound to `values` (read-only text when not editable). */
export function fieldControl(field: ClientField, locale: Locale, values: Record<string, string>, prefix: string): HTMLElement {
  const id = `${prefix}-${field.key}`;
  const label = field.label?.[locale] || field.label?.cs || field.key;
  const value = values[field.key] ?? "";
  const set = (event: Event) => (values[field.key] = (event.target as HTMLInputElement).value);
  let control: HTMLElement;
  if (!field.editable) {
    control = h("input", { type: "text", id, readonly: true, value, "data-testid": id });
    (control as HTMLInputElement).value = value;
  } else if (field.type === "textarea") {
    const area = h("textarea", { id, rows: 2, "data-testid": id, on: { input: set } });
    area.value = value;
    control = area;
  } else if (field.type === "select") {
    const options = (field.options ?? []).map((option) =>
      typeof option === "string" ? { value: option, label: option } : { value: option.value, label: typeof option.label === "string" ? option.label : (option.label?.[locale] ?? option.label?.cs ?? option.value) },
    );
    const element = h("select", { id, "data-testid": id, on: { change: set } }, h("option", { value: "" }, "—"), ...options.map((option) => h("option", { value: option.value }, option.label)));
    element.value = value;
    control = element;
  } else {
    const type = field.type === "date" ? "date" : field.type === "email" ? "email" : field.type === "phone" ? "tel" : "text";
    const input = h("input", { type, id, "data-testid": id, autocomplete: "off", on: { input: set } });
    input.value = value;
    control = input;
  }
  if (field.required) control.setAttribute("aria-required", "true");
  return h("div", { class: "field", "data-field": field.key }, h("label", { for: id }, label, field.required ? " *" : ""), control);
}

function czechDate(iso: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return match ? `${Number(match[3])}. ${Number(match[2])}. ${match[1]}` : iso;
}

export { czechDate };

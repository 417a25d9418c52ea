// Contact lists of the desk: Poslední kontakty (the agent's last 10, DESK-12) and Moje
// historie (own contacts with a period filter and full-text search over notes, DESK-7); the
// same table shows a client's contact history on the client card (DESK-5). Conversations are
// contact records too (issue 7): their rows carry the channel's badge (Chat, SMS, E-mail,
// Messenger) before the number or address, a call's row none.

import type { ContactRecord } from "../api/desk";
import { h } from "../ui/dom";
import { button, textInput } from "./form";
import { channelBadge } from "./desk-chats";
import { categoryOptions, formatDuration, recordAddress, recordChannel } from "./desk-model";
import { k, known, panel, when, type DeskHost } from "./desk-common";

export function contactTable(host: DeskHost, contacts: readonly ContactRecord[], testId: string, caption: string): HTMLElement {
  const { t, s } = host;
  if (contacts.length === 0) return h("p", { class: "muted", "data-testid": `${testId}-empty` }, t(k("desk.history.empty")));
  const categories = new Map((s.categories ? categoryOptions(s.categories) : []).map((option) => [option.value, option.label]));
  const cols = ["when", "direction", "number", "client", "queue", "duration", "outcome", "category", "note", "action"];
  return h(
    "table",
    { class: "data", "data-testid": testId },
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", null, h("tr", null, ...cols.map((col) => h("th", { scope: "col" }, t(k(`desk.history.col.${col}`)))))),
    h(
      "tbody",
      null,
      ...contacts.map((contact) => {
        const numberId = `${testId}-n-${contact.contactId}`;
        const channel = recordChannel(contact.channel);
        const address = recordAddress(contact);
        return h(
          "tr",
          { "data-contact-id": contact.contactId, "data-channel": channel ?? "voice" },
          h("td", null, when(contact.startedAt)),
          h("td", null, known(t, `desk.direction.${contact.direction}`, contact.direction)),
          h("td", { id: numberId }, channel ? channelBadge(t, channel) : null, channel && address ? " " : null, address),
          h("td", null, contact.clientName ?? ""),
          h("td", null, contact.queueId ?? ""),
          h("td", null, formatDuration(contact.durationSeconds)),
          h("td", null, contact.outcome ? known(t, `desk.outcome.${contact.outcome}`, contact.outcome) : ""),
          h("td", null, contact.categoryId ? (categories.get(contact.categoryId) ?? contact.categoryId) : ""),
          h("td", { class: "desk-note-cell" }, contact.note?.text ?? ""),
          h(
            "td",
            null,
            button(t(k("desk.history.open")), () => host.openContact(contact.contactId), {
              class: "small secondary",
              "data-testid": `${testId}-open-${contact.contactId}`,
              "aria-describedby": numberId,
              ...(s.contactId === contact.contactId ? { "aria-current": "true" } : {}),
            }),
          ),
        );
      }),
    ),
  );
}

export function recentPanel(host: DeskHost): HTMLElement {
  const { t, s } = host;
  return panel(
    "desk-recent",
    t(k("desk.recent.title")),
    s.recent === null ? h("p", { class: "muted" }, t(k("app.loading"))) : contactTable(host, s.recent, "desk-recent-table", t(k("desk.recent.title"))),
  );
}

export function historyPanel(host: DeskHost): HTMLElement {
  const { t, s } = host;
  const history = s.history;
  const field = (name: "from" | "to" | "q", label: string, attrs: Record<string, string | number | boolean>) =>
    h("div", { class: "field" }, h("label", { for: `desk-history-${name}` }, label), textInput(history[name], (value) => (history[name] = value), { id: `desk-history-${name}`, "data-testid": `desk-history-${name}`, ...attrs }));
  return panel(
    "desk-history",
    t(k("desk.history.title")),
    h(
      "form",
      {
        class: "row",
        role: "search",
        "aria-label": t(k("desk.history.filter")),
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            host.searchHistory(false);
          },
        },
      },
      field("from", t(k("desk.history.from")), { type: "date" }),
      field("to", t(k("desk.history.to")), { type: "date" }),
      field("q", t(k("desk.history.q")), { type: "search", autocomplete: "off" }),
      h("button", { type: "submit", "data-testid": "desk-history-search" }, t(k("desk.history.search"))),
    ),
    history.loaded ? contactTable(host, history.items, "desk-history-table", t(k("desk.history.title"))) : h("p", { class: "muted" }, t(k("desk.history.hint"))),
    history.next ? button(t(k("desk.history.more")), () => host.searchHistory(true), { class: "secondary small", "data-testid": "desk-history-more" }) : null,
  );
}

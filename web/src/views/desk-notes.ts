// The contact in focus (the current call's, or one opened from the history): its note
// (Poznámka, saved as a new version; the versions listed) and its category (Kategorie hovoru),
// both changeable after the call (DESK-4, DESK-10).

import { formatPhone } from "../format/phone";
import { h } from "../ui/dom";
import { select, textInput } from "./form";
import { categoryOptions } from "./desk-model";
import { k, panel, when, type DeskHost } from "./desk-common";

export function contactPanel(host: DeskHost): HTMLElement | null {
  const { t, s } = host;
  if (!s.contactId) return null;
  const contact = s.contact;
  const live = (s.desk?.calls ?? []).some((call) => call.contactId === s.contactId);
  return panel(
    "desk-contact",
    t(k("desk.contact.title")),
    contact
      ? h(
          "p",
          { class: "muted", "data-testid": "desk-contact-summary" },
          t(k(live ? "desk.contact.live" : "desk.contact.after"), {
            number: formatPhone(contact.number),
            at: when(contact.startedAt),
          }),
          contact.clientName ? ` · ${contact.clientName}` : "",
        )
      : h("p", { class: "muted", "aria-live": "polite" }, t(k("app.loading"))),
    noteForm(host),
    categoryForm(host),
  );
}

function noteForm(host: DeskHost): HTMLElement {
  const { t, s } = host;
  const area = h("textarea", {
    id: "desk-note",
    rows: 4,
    maxlength: 4000,
    "data-testid": "desk-note",
    on: { input: (event) => (s.noteDraft = (event.target as HTMLTextAreaElement).value) },
  });
  area.value = s.noteDraft;
  const versions = [...(s.notes ?? [])].sort((a, b) => b.version - a.version);
  return h(
    "form",
    {
      class: "form",
      "data-testid": "desk-note-form",
      novalidate: true,
      on: {
        submit: (event) => {
          event.preventDefault();
          host.saveNote();
        },
      },
    },
    h("div", { class: "field" }, h("label", { for: "desk-note" }, t(k("desk.note.label"))), area),
    h("div", { class: "actions" }, h("button", { type: "submit", "data-testid": "desk-note-save" }, t(k("desk.note.save")))),
    h("h3", { id: "desk-note-versions-title" }, t(k("desk.note.versions"))),
    s.notes === null
      ? h("p", { class: "muted" }, t(k("app.loading")))
      : versions.length === 0
        ? h("p", { class: "muted", "data-testid": "desk-note-versions-none" }, t(k("desk.note.none")))
        : h(
            "ol",
            { class: "desk-versions", reversed: true, "aria-labelledby": "desk-note-versions-title", "data-testid": "desk-note-versions" },
            ...versions.map((version) =>
              h(
                "li",
                { "data-testid": `desk-note-version-${version.version}`, value: version.version },
                h("span", { class: "muted" }, t(k("desk.note.version"), { version: version.version, at: when(version.at), by: version.by }), " "),
                h("span", { class: "desk-note-text" }, version.text),
              ),
            ),
          ),
  );
}

function categoryForm(host: DeskHost): HTMLElement {
  const { t, s } = host;
  const current = s.contact?.categoryId ?? null;
  const options = s.categories ? categoryOptions(s.categories) : null;
  const currentLabel = current ? (options?.find((option) => option.value === current)?.label ?? current) : t(k("desk.category.none"));
  if (!s.categoryDraft && current) s.categoryDraft = current;
  const control = options
    ? select(s.categoryDraft, [{ value: "", label: t(k("desk.category.choose")) }, ...options], (value) => (s.categoryDraft = value), { id: "desk-category", "data-testid": "desk-category" })
    : textInput(s.categoryDraft, (value) => (s.categoryDraft = value), { id: "desk-category", "data-testid": "desk-category", autocomplete: "off", "aria-describedby": "desk-category-hint" });
  return h(
    "form",
    {
      class: "form",
      "data-testid": "desk-category-form",
      novalidate: true,
      on: {
        submit: (event) => {
          event.preventDefault();
          host.saveCategory();
        },
      },
    },
    h(
      "div",
      { class: "field" },
      h("label", { for: "desk-category" }, t(k("desk.category.label"))),
      control,
      options ? null : h("small", { id: "desk-category-hint", class: "muted" }, t(k("desk.category.typeHint"))),
    ),
    h("p", { class: "muted", "data-testid": "desk-category-current" }, t(k("desk.category.current"), { category: currentLabel })),
    h("div", { class: "actions" }, h("button", { type: "submit", "data-testid": "desk-category-save" }, t(k("desk.category.save")))),
  );
}

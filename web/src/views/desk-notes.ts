// The contact in focus (the current call's, or one opened from the history): its note
// (Poznámka, saved as a new version; the versions listed) and its category (Kategorie hovoru),
// both changeable after the call (DESK-4, DESK-10). The note and category forms are shared with
// the open chat in Chaty (its contact record `chat:<id>`), each with its own ids (`prefix`).

import type { Category, DeskApi, NoteVersion } from "../api/desk";
import { asProblem } from "./problem-box";
import { h } from "../ui/dom";
import { select, textInput } from "./form";
import { categoryOptions, latestVersion, recordAddress, recordChannel } from "./desk-model";
import { k, known, panel, when, type DeskHost, type T } from "./desk-common";

/** One contact record's note and category forms: their state and what they ask for. */
export interface NotesBox {
  /** Element ids and test ids start with it (`desk` → desk-note, desk-note-save, desk-category…). */
  prefix: string;
  /** The heading level of "Verze poznámky". */
  level: 3 | 4 | 5;
  notes: NoteVersion[] | null;
  draft: string;
  setDraft(text: string): void;
  /** The stored category (null: none yet). */
  categoryId: string | null;
  categoryDraft: string;
  setCategoryDraft(value: string): void;
  /** null = no readable list (a category code is typed in). */
  categories: Category[] | null;
  /** The category field's label (default: Kategorie hovoru). */
  categoryLabel?: string;
  saveNote(): void;
  saveCategory(): void;
}

export function contactPanel(host: DeskHost): HTMLElement | null {
  const { t, s } = host;
  if (!s.contactId) return null;
  const contact = s.contact;
  const live = (s.desk?.calls ?? []).some((call) => call.contactId === s.contactId);
  const channel = contact ? recordChannel(contact.channel) : null;
  const box: NotesBox = {
    prefix: "desk",
    level: 3,
    notes: s.notes,
    draft: s.noteDraft,
    setDraft: (text) => (s.noteDraft = text),
    categoryId: contact?.categoryId ?? null,
    categoryDraft: s.categoryDraft,
    setCategoryDraft: (value) => (s.categoryDraft = value),
    categories: s.categories,
    ...(channel ? { categoryLabel: t(k("desk.category.contactLabel")) } : {}),
    saveNote: () => host.saveNote(),
    saveCategory: () => host.saveCategory(),
  };
  return panel(
    "desk-contact",
    t(k("desk.contact.title")),
    contact
      ? h(
          "p",
          { class: "muted", "data-testid": "desk-contact-summary" },
          channel
            ? t(k("desk.contact.text"), { channel: known(t, `desk.chats.channel.${channel}`, channel), address: recordAddress(contact), at: when(contact.startedAt) }).replace(/ {2,}/g, " ")
            : t(k(live ? "desk.contact.live" : "desk.contact.after"), {
                number: recordAddress(contact),
                at: when(contact.startedAt),
              }),
          contact.clientName ? ` · ${contact.clientName}` : "",
        )
      : h("p", { class: "muted", "aria-live": "polite" }, t(k("app.loading"))),
    noteForm(t, box),
    categoryForm(t, box),
  );
}

/** Poznámka: the text (a new version when saved) and the versions saved so far, newest first. */
export function noteForm(t: T, box: NotesBox): HTMLElement {
  const id = `${box.prefix}-note`;
  const area = h("textarea", {
    id,
    rows: 4,
    maxlength: 4000,
    "data-testid": id,
    on: { input: (event) => box.setDraft((event.target as HTMLTextAreaElement).value) },
  });
  area.value = box.draft;
  const versions = [...(box.notes ?? [])].sort((a, b) => b.version - a.version);
  return h(
    "form",
    {
      class: "form",
      "data-testid": `${id}-form`,
      novalidate: true,
      on: {
        submit: (event) => {
          event.preventDefault();
          box.saveNote();
        },
      },
    },
    h("div", { class: "field" }, h("label", { for: id }, t(k("desk.note.label"))), area),
    h("div", { class: "actions" }, h("button", { type: "submit", "data-testid": `${id}-save` }, t(k("desk.note.save")))),
    h(`h${box.level}`, { id: `${id}-versions-title` }, t(k("desk.note.versions"))),
    box.notes === null
      ? h("p", { class: "muted" }, t(k("app.loading")))
      : versions.length === 0
        ? h("p", { class: "muted", "data-testid": `${id}-versions-none` }, t(k("desk.note.none")))
        : h(
            "ol",
            { class: "desk-versions", reversed: true, "aria-labelledby": `${id}-versions-title`, "data-testid": `${id}-versions` },
            ...versions.map((version) =>
              h(
                "li",
                { "data-testid": `${id}-version-${version.version}`, value: version.version },
                h("span", { class: "muted" }, t(k("desk.note.version"), { version: version.version, at: when(version.at), by: version.by }), " "),
                h("span", { class: "desk-note-text" }, version.text),
              ),
            ),
          ),
  );
}

/** Kategorie: a choice of the active categories (or a code typed in), and the one stored. */
export function categoryForm(t: T, box: NotesBox): HTMLElement {
  const id = `${box.prefix}-category`;
  const current = box.categoryId;
  const options = box.categories ? categoryOptions(box.categories) : null;
  const currentLabel = current ? (options?.find((option) => option.value === current)?.label ?? current) : t(k("desk.category.none"));
  if (!box.categoryDraft && current) {
    box.categoryDraft = current;
    box.setCategoryDraft(current);
  }
  const control = options
    ? select(box.categoryDraft, [{ value: "", label: t(k("desk.category.choose")) }, ...options], (value) => box.setCategoryDraft(value), { id, "data-testid": id })
    : textInput(box.categoryDraft, (value) => box.setCategoryDraft(value), { id, "data-testid": id, autocomplete: "off", "aria-describedby": `${id}-hint` });
  return h(
    "form",
    {
      class: "form",
      "data-testid": `${id}-form`,
      novalidate: true,
      on: {
        submit: (event) => {
          event.preventDefault();
          box.saveCategory();
        },
      },
    },
    h(
      "div",
      { class: "field" },
      h("label", { for: id }, box.categoryLabel ?? t(k("desk.category.label"))),
      control,
      options ? null : h("small", { id: `${id}-hint`, class: "muted" }, t(k("desk.category.typeHint"))),
    ),
    h("p", { class: "muted", "data-testid": `${id}-current` }, t(k("desk.category.current"), { category: currentLabel })),
    h("div", { class: "actions" }, h("button", { type: "submit", "data-testid": `${id}-save` }, t(k("desk.category.save")))),
  );
}

export type NoteSaved = { saved: true; version: number; notes: NoteVersion[] } | { saved: false; notes: NoteVersion[] };

/**
 * Saves `text` as the next version of the contact's note, based on the latest version known.
 * Someone else's newer version meanwhile (409) is not an error: the versions are read again and
 * returned with `saved: false` (the caller keeps the text typed and says so).
 */
export async function saveNoteVersion(api: DeskApi, contactId: string, text: string, known: readonly NoteVersion[]): Promise<NoteSaved> {
  try {
    const saved = await api.addNote(contactId, text, latestVersion(known));
    const notes = await api.notes(contactId);
    return { saved: true, version: saved?.version ?? latestVersion(notes) ?? 1, notes };
  } catch (error) {
    if (asProblem(error).status === 409) return { saved: false, notes: await api.notes(contactId) };
    throw error;
  }
}

// The small admin lists (ADM-6): přestávky, kategorie hovorů, přepojovací panel (groups and
// lines), pole karty klienta, e-mailové šablony (OMNI-2). One generic section: a table with
// edit/delete, and a create/edit form below it.

import { Collection, TARGET_KINDS, type Json, type Target } from "../api/admin";
import { withConflictOnId, type Problem } from "../api/problem";
import { numberOrText, targetFromForm, targetToForm, type TargetForm } from "../forms/queue-form";
import type { MessageKey } from "../i18n";
import type { Translate } from "../roles";
import { h } from "../ui/dom";
import { button, checkbox, checkboxField, field, FormErrors, select, statusLine, textInput } from "./form";
import { asProblem, problemBox } from "./problem-box";
import { describeTarget, targetField } from "./target-field";
import type { View, ViewContext } from "./view";

type Value = string | boolean | TargetForm;

export interface FieldDef {
  key: string;
  labelKey: MessageKey;
  kind: "text" | "number" | "checkbox" | "select" | "target" | "textarea";
  /** Where the server names this field in its errors (default: the key). */
  errorPath?: string;
  /** The record's id: required, fixed once created, in the path of PUT/DELETE (not its body). */
  id?: boolean;
  required?: boolean;
  /** Empty → null. */
  nullable?: boolean;
  defaultValue?: string | boolean;
  options?: (t: Translate) => { value: string; label: string }[];
  hintKey?: MessageKey;
  /** A textarea's height in lines (default 4). */
  rows?: number;
  /** Table cell text; default: the value. */
  show?: (item: Json, t: Translate) => string;
  inTable?: boolean;
}

export interface ResourceDef {
  base: string;
  titleKey: MessageKey;
  newKey: MessageKey;
  emptyKey: MessageKey;
  testId: string;
  fields: FieldDef[];
  /** The form's flat values from a stored item (default: the item itself). */
  fromItem?: (item: Json) => Json;
  /** The request body from the form's flat values (default: the values themselves). */
  toBody?: (flat: Json) => Json;
}

const LINE_TARGET_KINDS = TARGET_KINDS.filter((kind) => kind !== "ivr");

/** One list with its form; a page holds one or more. */
export class CrudSection {
  readonly def: ResourceDef;
  items: Json[] = [];
  #loaded = false;
  #loading = false;
  #loadProblem: Problem | null = null;
  #problem: Problem | null = null;
  #values: Record<string, Value> = {};
  #editing: string | null = null;
  #confirming: string | null = null;
  #saved: string | null = null;
  #saving = false;
  #formVersion = 0;
  disposed = false;

  constructor(def: ResourceDef) {
    this.def = def;
    this.#reset();
  }

  get idField(): FieldDef {
    return this.def.fields.find((f) => f.id) ?? this.def.fields[0]!;
  }

  #reset(): void {
    this.#editing = null;
    this.#problem = null;
    this.#formVersion++;
    this.#values = Object.fromEntries(
      this.def.fields.map((f) => [f.key, f.kind === "target" ? ({ kind: "extension", value: "" } as TargetForm) : (f.defaultValue ?? (f.kind === "checkbox" ? false : ""))]),
    );
  }

  #edit(stored: Json): void {
    this.#reset();
    const item = this.def.fromItem ? this.def.fromItem(stored) : stored;
    this.#editing = String(item[this.idField.key] ?? "");
    for (const f of this.def.fields) {
      const value = item[f.key];
      this.#values[f.key] =
        f.kind === "target"
          ? targetToForm(value as Target | null)
          : f.kind === "checkbox"
            ? value === true
            : value === null || value === undefined
              ? ""
              : String(value);
    }
  }

  toJson(withId: boolean): Json {
    const out: Json = {};
    for (const f of this.def.fields) {
      if (f.id && !withId) continue;
      const value = this.#values[f.key];
      if (f.kind === "target") {
        out[f.key] = targetFromForm(value as TargetForm);
      } else if (f.kind === "checkbox") {
        out[f.key] = value === true;
      } else {
        const text = String(value ?? "").trim();
        if (text === "" && f.nullable) out[f.key] = null;
        else out[f.key] = f.kind === "number" ? (text === "" ? text : numberOrText(text)) : text;
      }
    }
    return this.def.toBody ? this.def.toBody(out) : out;
  }

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    const def = this.def;
    if (!this.#loaded && !this.#loading && !this.#loadProblem) void this.load(context);
    const idKey = this.idField.key;
    const columns = def.fields.filter((f) => f.inTable !== false);
    const rows = this.items.map((item) => {
      const id = String(item[idKey] ?? "");
      return h(
        "tr",
        { "data-id": id },
        ...columns.map((f) => h("td", null, f.show ? f.show(item, t) : showValue(item[f.key], t))),
        h(
          "td",
          null,
          button(
            t("common.edit"),
            () => {
              this.#edit(item);
              this.#saved = null;
              context.rerender();
            },
            { class: "secondary small", "data-testid": `${def.testId}-edit`, "aria-label": `${t("common.edit")} ${id}` },
          ),
          " ",
          this.#confirming === id
            ? button(t("common.confirmDelete"), () => void this.#remove(context, id), { class: "danger small", "data-testid": `${def.testId}-delete-confirm` })
            : button(
                t("common.delete"),
                () => {
                  this.#confirming = id;
                  context.rerender();
                },
                { class: "secondary small", "data-testid": `${def.testId}-delete`, "aria-label": `${t("common.delete")} ${id}` },
              ),
        ),
      );
    });
    const errors = new FormErrors(this.#problem, t, `${def.testId}-${this.#formVersion}`);
    const formFields = def.fields.map((f) => this.#fieldElement(errors, f, context));
    const form = h(
      "form",
      {
        class: "form",
        "data-testid": `${def.testId}-form`,
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#save(context);
          },
        },
      },
      h("h3", null, this.#editing === null ? t(def.newKey) : t("common.editing", { id: this.#editing })),
      errors.box(),
      ...formFields,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", "data-testid": `${def.testId}-save`, ...(this.#saving ? { disabled: true } : {}) }, t(this.#saving ? "common.saving" : "common.save")),
        " ",
        this.#editing !== null
          ? button(
              t("common.cancel"),
              () => {
                this.#reset();
                context.rerender();
              },
              { class: "secondary" },
            )
          : null,
      ),
    );
    errors.finish();
    return h(
      "section",
      { "aria-labelledby": `${def.testId}-title`, "data-testid": def.testId },
      h("h2", { id: `${def.testId}-title` }, t(def.titleKey)),
      statusLine(this.#saved, `${def.testId}-saved`),
      this.#loadProblem ? problemBox(this.#loadProblem, t) : null,
      this.#loaded
        ? h(
            "table",
            { class: "data", "data-testid": `${def.testId}-table` },
            h("thead", null, h("tr", null, ...columns.map((f) => h("th", { scope: "col" }, t(f.labelKey))), h("th", { scope: "col" }, t("common.actions")))),
            h("tbody", null, ...rows),
          )
        : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")),
      this.#loaded && this.items.length === 0 ? h("p", null, t(def.emptyKey)) : null,
      form,
    );
  }

  #fieldElement(errors: FormErrors, f: FieldDef, context: ViewContext): HTMLElement {
    const { t } = context;
    const testId = `${this.def.testId}-${f.key}`;
    const value = this.#values[f.key];
    const set = (v: Value) => (this.#values[f.key] = v);
    const options = { required: f.required === true || f.id === true, ...(f.hintKey ? { hint: t(f.hintKey) } : {}) };
    const path = f.errorPath ?? f.key;
    switch (f.kind) {
      case "textarea": {
        const area = h("textarea", { "data-testid": testId, rows: f.rows ?? 4, spellcheck: false, on: { input: (event) => set((event.target as HTMLTextAreaElement).value) } });
        area.value = String(value ?? "");
        return field(errors, path, t(f.labelKey), area, options);
      }
      case "checkbox":
        return checkboxField(errors, path, t(f.labelKey), checkbox(value === true, set, { "data-testid": testId }));
      case "select":
        return field(
          errors,
          path,
          t(f.labelKey),
          select(String(value ?? ""), [...(f.nullable ? [{ value: "", label: t("common.none") }] : []), ...(f.options?.(t) ?? [])], set, { "data-testid": testId }),
          options,
        );
      case "target":
        return targetField({
          errors,
          path: f.key,
          label: t(f.labelKey),
          form: value as TargetForm,
          kinds: LINE_TARGET_KINDS,
          optional: false,
          t,
          changed: () => context.rerender(),
          testId,
        });
      default:
        return field(
          errors,
          path,
          t(f.labelKey),
          textInput(String(value ?? ""), set, {
            "data-testid": testId,
            autocomplete: "off",
            ...(f.kind === "number" ? { type: "number", step: 1 } : {}),
            ...(f.id && this.#editing !== null ? { readonly: true } : {}),
          }),
          options,
        );
    }
  }

  async load(context: ViewContext): Promise<void> {
    this.#loading = true;
    try {
      this.items = await new Collection(context.api, this.def.base).all();
      this.#loaded = true;
      this.#loadProblem = null;
    } catch (error) {
      this.#loadProblem = asProblem(error);
    } finally {
      this.#loading = false;
    }
    if (!this.disposed) context.rerender();
  }

  async #save(context: ViewContext): Promise<void> {
    if (this.#saving) return;
    const collection = new Collection(context.api, this.def.base);
    const editing = this.#editing;
    this.#saving = true;
    this.#saved = null;
    this.#problem = null;
    context.rerender();
    try {
      const stored = editing === null ? await collection.create(this.toJson(true)) : await collection.replace(editing, this.toJson(false));
      const id = String(stored[this.idField.key] ?? editing ?? this.#values[this.idField.key] ?? "");
      this.items = [...this.items.filter((item) => String(item[this.idField.key]) !== id), { ...stored, [this.idField.key]: id }];
      this.#saved = context.t(editing === null ? "common.created" : "common.savedId", { id });
      this.#reset();
    } catch (error) {
      this.#problem = editing === null ? withConflictOnId(asProblem(error), this.idField.key) : asProblem(error);
    }
    this.#saving = false;
    if (!this.disposed) context.rerender();
  }

  async #remove(context: ViewContext, id: string): Promise<void> {
    this.#confirming = null;
    this.#saved = null;
    try {
      await new Collection(context.api, this.def.base).remove(id);
      this.items = this.items.filter((item) => String(item[this.idField.key]) !== id);
      this.#saved = context.t("common.deletedId", { id });
      if (this.#editing === id) this.#reset();
    } catch (error) {
      this.#loadProblem = asProblem(error);
    }
    if (!this.disposed) context.rerender();
  }
}

function showValue(value: unknown, t: Translate): string {
  if (value === null || value === undefined || value === "") return t("overview.none");
  if (typeof value === "boolean") return t(value ? "common.yes" : "common.no");
  return String(value);
}

/** A page of one or more sections. */
class SectionsPage implements View {
  constructor(
    readonly titleKey: MessageKey,
    readonly testId: string,
    readonly sections: CrudSection[],
    readonly introKey?: MessageKey,
  ) {}

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    return h(
      "section",
      { class: "page", "aria-labelledby": "page-title", "data-testid": this.testId },
      h("h1", { id: "page-title" }, t(this.titleKey)),
      this.introKey ? h("p", { class: "muted" }, t(this.introKey)) : null,
      ...this.sections.map((section) => section.render(context)),
    );
  }

  dispose(): void {
    for (const section of this.sections) section.disposed = true;
  }
}

const ID_HINT: MessageKey = "common.idHint";

/** The types of a custom client field (CDB-4), as the API names them. */
const CLIENT_FIELD_TYPES = ["text", "textarea", "date", "email", "phone", "select"] as const;

const text = (value: unknown): string => (typeof value === "string" ? value : "");
const record = (value: unknown): Json => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {});

/** Select options as lines "value | český popisek | English label" (the English one optional). */
export function optionsToText(options: unknown): string {
  if (!Array.isArray(options)) return "";
  return options
    .map((option) => {
      const label = record(record(option)["label"]);
      return [text(record(option)["value"]), text(label["cs"]), text(label["en"])].join(" | ");
    })
    .join("\n");
}

export function optionsFromText(lines: string): Json[] {
  return lines
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const [value = "", cs = "", en = ""] = line.split("|").map((part) => part.trim());
      return { value, label: { cs: cs || value, en: en || cs || value } };
    });
}

/** The admin-defined fields of the client card (CDB-4): label in Czech and English, type, options. */
export function clientFieldsPage(): View {
  const types = (t: Translate) => CLIENT_FIELD_TYPES.map((type) => ({ value: type, label: t(`clientFields.type.${type}` as MessageKey) }));
  const section = new CrudSection({
    base: "/api/admin/client-fields",
    titleKey: "clientFields.list",
    newKey: "clientFields.new",
    emptyKey: "clientFields.empty",
    testId: "client-fields",
    fields: [
      { key: "key", labelKey: "clientFields.field.key", kind: "text", id: true, hintKey: ID_HINT },
      { key: "labelCs", labelKey: "clientFields.field.labelCs", kind: "text", required: true, errorPath: "label.cs", show: (item) => text(record(item["label"])["cs"]) },
      { key: "labelEn", labelKey: "clientFields.field.labelEn", kind: "text", required: true, errorPath: "label.en", inTable: false },
      { key: "type", labelKey: "clientFields.field.type", kind: "select", defaultValue: "text", options: types, show: (item, t) => t(`clientFields.type.${text(item["type"]) || "text"}` as MessageKey) },
      { key: "options", labelKey: "clientFields.field.options", kind: "textarea", hintKey: "clientFields.field.optionsHint", inTable: false },
      { key: "required", labelKey: "clientFields.field.required", kind: "checkbox" },
      { key: "editable", labelKey: "clientFields.field.editable", kind: "checkbox", defaultValue: true, inTable: false },
      { key: "inCard", labelKey: "clientFields.field.inCard", kind: "checkbox" },
      { key: "order", labelKey: "clientFields.field.order", kind: "number", defaultValue: "500" },
      { key: "active", labelKey: "common.active", kind: "checkbox", defaultValue: true },
    ],
    fromItem: (item) => ({
      ...item,
      labelCs: text(record(item["label"])["cs"]),
      labelEn: text(record(item["label"])["en"]),
      options: optionsToText(item["options"]),
    }),
    toBody: (flat) => {
      const { labelCs, labelEn, options, ...rest } = flat;
      const body: Json = { ...rest, label: { cs: text(labelCs), en: text(labelEn) } };
      if (rest["type"] === "select") body["options"] = optionsFromText(text(options));
      return body;
    },
  });
  return new SectionsPage("clientFields.title", "client-fields-page", [section], "clientFields.intro");
}

export function breakCodesPage(): View {
  const kinds = (t: Translate) => [
    { value: "private", label: t("breaks.kind.private") },
    { value: "work", label: t("breaks.kind.work") },
  ];
  const section = new CrudSection({
    base: "/api/admin/break-codes",
    titleKey: "breaks.list",
    newKey: "breaks.new",
    emptyKey: "breaks.empty",
    testId: "break-codes",
    fields: [
      { key: "code", labelKey: "breaks.field.code", kind: "text", id: true, hintKey: ID_HINT },
      { key: "name", labelKey: "breaks.field.name", kind: "text", required: true },
      { key: "kind", labelKey: "breaks.field.kind", kind: "select", defaultValue: "private", options: kinds, show: (item, t) => (item["kind"] === "work" ? t("breaks.kind.work") : t("breaks.kind.private")) },
      { key: "maxMinutes", labelKey: "breaks.field.maxMinutes", kind: "number", nullable: true, hintKey: "breaks.field.maxMinutesHint" },
      { key: "active", labelKey: "common.active", kind: "checkbox", defaultValue: true },
    ],
  });
  return new SectionsPage("breaks.title", "break-codes-page", [section]);
}

export function callCategoriesPage(): View {
  let section: CrudSection | null = null;
  const parents = () =>
    (section?.items ?? []).map((item) => ({ value: String(item["categoryId"]), label: `${String(item["name"] ?? "")} (${String(item["categoryId"])})` }));
  section = new CrudSection({
    base: "/api/admin/call-categories",
    titleKey: "categories.list",
    newKey: "categories.new",
    emptyKey: "categories.empty",
    testId: "call-categories",
    fields: [
      { key: "categoryId", labelKey: "categories.field.id", kind: "text", id: true, hintKey: ID_HINT },
      { key: "name", labelKey: "categories.field.name", kind: "text", required: true },
      { key: "parentId", labelKey: "categories.field.parent", kind: "select", nullable: true, options: parents },
      { key: "active", labelKey: "common.active", kind: "checkbox", defaultValue: true },
    ],
  });
  return new SectionsPage("categories.title", "call-categories-page", [section], "categories.intro");
}

export function transferPanelPage(): View {
  let groups: CrudSection | null = null;
  const groupOptions = () => (groups?.items ?? []).map((item) => ({ value: String(item["groupId"]), label: String(item["name"] ?? item["groupId"]) }));
  groups = new CrudSection({
    base: "/api/admin/transfer-groups",
    titleKey: "transfer.groups",
    newKey: "transfer.newGroup",
    emptyKey: "transfer.groupsEmpty",
    testId: "transfer-groups",
    fields: [
      { key: "groupId", labelKey: "transfer.field.groupId", kind: "text", id: true, hintKey: ID_HINT },
      { key: "name", labelKey: "transfer.field.name", kind: "text", required: true },
      { key: "order", labelKey: "transfer.field.order", kind: "number", defaultValue: "1" },
    ],
  });
  const lines = new CrudSection({
    base: "/api/admin/transfer-lines",
    titleKey: "transfer.lines",
    newKey: "transfer.newLine",
    emptyKey: "transfer.linesEmpty",
    testId: "transfer-lines",
    fields: [
      { key: "lineId", labelKey: "transfer.field.lineId", kind: "text", id: true, hintKey: ID_HINT },
      { key: "label", labelKey: "transfer.field.label", kind: "text", required: true },
      {
        key: "groupId",
        labelKey: "transfer.field.group",
        kind: "select",
        options: groupOptions,
        show: (item) => {
          const id = String(item["groupId"] ?? "");
          const group = groups?.items.find((g) => String(g["groupId"]) === id);
          return group ? String(group["name"] ?? id) : id;
        },
      },
      { key: "target", labelKey: "transfer.field.target", kind: "target", show: (item, t) => describeTarget(item["target"] as Target | null, t) },
      { key: "order", labelKey: "transfer.field.order", kind: "number", defaultValue: "1" },
    ],
  });
  return new SectionsPage("transfer.title", "transfer-panel-page", [groups, lines], "transfer.intro");
}

/**
 * E-mail templates (OMNI-2): what agents start an e-mail from at the desk. The subject and the
 * body may hold {{jmeno}}, {{agent}} and {{datum}}, filled in at the desk; any other placeholder
 * is refused by the server (422 at its field).
 */
export function mailTemplatesPage(): View {
  const section = new CrudSection({
    base: "/api/admin/mail-templates",
    titleKey: "mailTemplates.list",
    newKey: "mailTemplates.new",
    emptyKey: "mailTemplates.empty",
    testId: "mail-templates",
    fields: [
      { key: "templateId", labelKey: "mailTemplates.field.id", kind: "text", id: true, hintKey: ID_HINT },
      { key: "name", labelKey: "mailTemplates.field.name", kind: "text", required: true, hintKey: "mailTemplates.field.nameHint" },
      { key: "subject", labelKey: "mailTemplates.field.subject", kind: "text", required: true },
      { key: "body", labelKey: "mailTemplates.field.body", kind: "textarea", required: true, rows: 10, hintKey: "mailTemplates.field.placeholders", inTable: false },
      { key: "active", labelKey: "common.active", kind: "checkbox", defaultValue: true },
    ],
  });
  return new SectionsPage("mailTemplates.title", "mail-templates-page", [section], "mailTemplates.intro");
}

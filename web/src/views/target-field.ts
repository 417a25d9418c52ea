// The chooser of a call target: the přepad of a queue, or a line of the transfer panel.

import { TARGET_FIELD, type Target, type TargetKind } from "../api/admin";
import { formatPhone } from "../format/phone";
import type { TargetForm } from "../forms/queue-form";
import type { MessageKey } from "../i18n";
import type { Translate } from "../roles";
import { h } from "../ui/dom";
import { field, select, textInput, type FormErrors } from "./form";

const VALUE_LABEL: Readonly<Record<TargetKind, MessageKey>> = {
  queue: "target.value.queue",
  extension: "target.value.extension",
  external: "target.value.external",
  agent: "target.value.agent",
  mobile: "target.value.mobile",
  ivr: "target.value.ivr",
};

export interface TargetFieldOptions {
  errors: FormErrors;
  /** JSON path of the target, e.g. `overflow` or `target`. */
  path: string;
  label: string;
  form: TargetForm;
  kinds: readonly TargetKind[];
  /** Allows "none" (null). */
  optional: boolean;
  t: Translate;
  /** Called after the kind changed (the value field changes with it). */
  changed: () => void;
  queueIds?: readonly string[];
  usernames?: readonly string[];
  testId: string;
}

export function targetField(options: TargetFieldOptions): HTMLElement {
  const { errors, path, form, t } = options;
  const kinds = [
    ...(options.optional ? [{ value: "", label: t("target.kind.none") }] : []),
    ...options.kinds.map((kind) => ({ value: kind, label: t(`target.kind.${kind}`) })),
  ];
  const kindSelect = select(
    form.kind,
    kinds,
    (value) => {
      form.kind = value as TargetForm["kind"];
      form.value = "";
      options.changed();
    },
    { "data-testid": `${options.testId}-kind` },
  );
  const kind = form.kind;
  let valueField: HTMLElement | null = null;
  if (kind !== "") {
    const suggestions = kind === "queue" ? options.queueIds : kind === "agent" ? options.usernames : undefined;
    const listId = `${errors.id(path)}-suggestions`;
    const input = textInput(form.value, (value) => (form.value = value), {
      "data-testid": `${options.testId}-value`,
      autocomplete: "off",
      ...(suggestions ? { list: listId } : {}),
      ...(kind === "external" || kind === "mobile" ? { type: "tel", placeholder: "+420601123456" } : {}),
      ...(kind === "extension" ? { inputmode: "numeric" } : {}),
    });
    valueField = h(
      "div",
      null,
      field(errors, `${path}.${TARGET_FIELD[kind]}`, t(VALUE_LABEL[kind]), input, { required: true }),
      suggestions ? h("datalist", { id: listId }, ...suggestions.map((value) => h("option", { value }))) : null,
    );
  }
  // An error on the target as a whole, or on its kind, shows at the kind.
  const kindField = field(errors, `${path}.kind`, options.label, kindSelect);
  kindField.appendChild(errors.slot(path, kindSelect));
  return h("div", { class: "target-field", "data-testid": options.testId }, kindField, valueField);
}

/** "externí číslo +420 601 123 456", "fronta as-asistence", "bez přepadu" … */
export function describeTarget(target: Target | null | undefined, t: Translate, none: MessageKey = "target.kind.none"): string {
  if (!target) {
    return t(none);
  }
  const value = String((target as unknown as Record<string, unknown>)[TARGET_FIELD[target.kind]] ?? "");
  const shown = target.kind === "external" || target.kind === "mobile" ? formatPhone(value) : value;
  const kindKey = `target.kind.${target.kind}` as MessageKey;
  return `${t(kindKey)} ${shown}`;
}

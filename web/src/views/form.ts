// Form building blocks of the admin pages: labelled inputs bound to a state object, and the
// error slots that show a 422 problem's field errors next to their fields.

import type { FieldError, Problem } from "../api/problem";
import { assignFieldErrors, fieldErrorMessage } from "../forms/field-errors";
import type { MessageKey } from "../i18n";
import type { Translate } from "../roles";
import { h, type Child } from "../ui/dom";
import { problemBox } from "./problem-box";

let counter = 0;

/**
 * Collects the fields of one rendered form; after the form is built, `finish()` puts each
 * field error of the problem into its field's slot (with aria-invalid + aria-describedby)
 * and the rest into the problem box.
 */
export class FormErrors {
  readonly #slots = new Map<string, { slot: HTMLElement; controls: HTMLElement[] }>();
  readonly #box: HTMLElement;
  readonly prefix: string;

  constructor(
    readonly problem: Problem | null,
    readonly t: Translate,
    prefix?: string,
  ) {
    this.prefix = prefix ?? `f${++counter}`;
    this.#box = h("div", { class: "problem-slot" });
  }

  /** A unique element id for a field path. */
  id(path: string): string {
    return `${this.prefix}-${path.replace(/[^A-Za-z0-9]+/g, "-")}`;
  }

  /** The problem box (filled by finish()). */
  box(): HTMLElement {
    return this.#box;
  }

  /** The error slot of a path; `controls` get aria-invalid/aria-describedby when it fills. */
  slot(path: string, ...controls: HTMLElement[]): HTMLElement {
    const existing = this.#slots.get(path);
    if (existing) {
      existing.controls.push(...controls);
      return existing.slot;
    }
    const slot = h("p", { class: "field-error", id: `${this.id(path)}-error`, "data-testid": "field-error", "data-field": path, hidden: true });
    this.#slots.set(path, { slot, controls: [...controls] });
    return slot;
  }

  finish(): void {
    const problem = this.problem;
    if (!problem) {
      this.#box.replaceChildren();
      return;
    }
    const { byField, rest } = assignFieldErrors(problem.errors ?? [], this.#slots.keys());
    for (const [path, errors] of byField) {
      const entry = this.#slots.get(path);
      if (!entry) continue;
      entry.slot.textContent = errors.map((error) => this.message(error)).join(" ");
      entry.slot.title = errors.map((error) => `${error.field}: ${error.message}`).join("\n");
      entry.slot.hidden = false;
      for (const control of entry.controls) {
        control.setAttribute("aria-invalid", "true");
        const described = control.getAttribute("aria-describedby");
        control.setAttribute("aria-describedby", described ? `${described} ${entry.slot.id}` : entry.slot.id);
      }
    }
    this.#box.replaceChildren(problemBox({ ...problem, errors: rest }, this.t, (error) => this.message(error)));
  }

  message(error: FieldError): string {
    const { key, params } = fieldErrorMessage(error);
    return this.t(key, params);
  }
}

export interface FieldOptions {
  hint?: string;
  required?: boolean;
  /** Extra wrapper class. */
  class?: string;
}

/** `<div class="field"><label for>…</label> control <p error slot></div>`. */
export function field(errors: FormErrors, path: string, label: string, control: HTMLElement, options: FieldOptions = {}): HTMLElement {
  const id = errors.id(path);
  control.id = id;
  control.setAttribute("name", path);
  if (options.required) control.setAttribute("required", "");
  const hintId = `${id}-hint`;
  if (options.hint) control.setAttribute("aria-describedby", hintId);
  return h(
    "div",
    { class: `field ${options.class ?? ""}`.trim() },
    h("label", { for: id }, label),
    control,
    options.hint ? h("small", { id: hintId, class: "muted" }, options.hint) : null,
    errors.slot(path, control),
  );
}

export function checkboxField(errors: FormErrors, path: string, label: string, control: HTMLInputElement): HTMLElement {
  const id = errors.id(path);
  control.id = id;
  control.setAttribute("name", path);
  return h("div", { class: "field checkbox" }, control, h("label", { for: id }, label), errors.slot(path, control));
}

/** A text-like input bound to `get`/`set` (no re-render on typing, so focus stays). */
export function textInput(value: string, set: (value: string) => void, attrs: Record<string, string | number | boolean> = {}): HTMLInputElement {
  const input = h("input", { type: "text", ...attrs, on: { input: (event) => set((event.target as HTMLInputElement).value) } });
  input.value = value;
  return input;
}

export function checkbox(checked: boolean, set: (value: boolean) => void, attrs: Record<string, string | number | boolean> = {}): HTMLInputElement {
  const input = h("input", { type: "checkbox", ...attrs, on: { change: (event) => set((event.target as HTMLInputElement).checked) } });
  input.checked = checked;
  return input;
}

export function select(
  value: string,
  options: readonly { value: string; label: string }[],
  set: (value: string) => void,
  attrs: Record<string, string | number | boolean> = {},
): HTMLSelectElement {
  const element = h(
    "select",
    { ...attrs, on: { change: (event) => set((event.target as HTMLSelectElement).value) } },
    ...options.map((option) => h("option", { value: option.value }, option.label)),
  );
  element.value = value;
  // A value that is not offered (e.g. nothing chosen yet) becomes the first option shown.
  if (element.value !== value && options.length > 0) {
    element.value = options[0]!.value;
    set(element.value);
  }
  return element;
}

export function button(label: string, onClick: () => void, attrs: Record<string, string | number | boolean> = {}): HTMLButtonElement {
  return h("button", { type: "button", ...attrs, on: { click: onClick } }, label);
}

export function statusLine(text: string | null, testId = "saved"): HTMLElement | null {
  return text ? h("p", { class: "alert alert-success", role: "status", "data-testid": testId }, text) : null;
}

export function pageSection(titleKey: MessageKey, t: Translate, testId: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "page", "aria-labelledby": "page-title", "data-testid": testId }, h("h1", { id: "page-title" }, t(titleKey)), ...children);
}

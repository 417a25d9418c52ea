// Nový uživatel / úprava uživatele (ADM-2, ADM-3): profile, roles, agent groups, the mobile an
// agent may take calls on (DESK-2); delete.

import { users, type AdminUser } from "../api/admin";
import { withConflictOnId, type FieldError, type Problem } from "../api/problem";
import { formatPhone } from "../format/phone";
import { hashFor } from "../router";
import { roleLabel } from "../roles";
import { h } from "../ui/dom";
import { setFlash } from "./flash";
import { button, checkbox, checkboxField, field, FormErrors, pageSection, textInput } from "./form";
import { asProblem, problemBox } from "./problem-box";
import type { View, ViewContext } from "./view";

/** The roles an administrator assigns to people (ADM-3); machine roles are kept as they are. */
export const USER_ROLES = ["admin", "supervisor", "agent", "wallboard", "recording-listen", "recording-download", "queues", "callbacks"] as const;
export const KNOWN_GROUPS = ["KKC", "AS", "EXT"] as const;

export interface UserForm {
  username: string;
  displayName: string;
  email: string;
  agentNumber: string;
  /** Mobilní pobočka (PBX): the mobile extension (DESK-2). */
  mobileDevice: string;
  /** Číslo mobilu, as typed (the API takes it with or without +420 and spaces). */
  mobileNumber: string;
  roles: Set<string>;
  groups: Set<string>;
  otherGroups: string;
  active: boolean;
}

export function toForm(user: AdminUser | null): UserForm {
  const groups = user?.groups ?? [];
  return {
    username: user?.username ?? "",
    displayName: user?.displayName ?? "",
    email: user?.email ?? "",
    agentNumber: user?.agentNumber ?? "",
    mobileDevice: user?.mobile?.device ?? "",
    mobileNumber: user?.mobile ? formatPhone(user.mobile.number) : "",
    roles: new Set(user?.roles ?? []),
    groups: new Set(groups.filter((g) => (KNOWN_GROUPS as readonly string[]).includes(g))),
    otherGroups: groups.filter((g) => !(KNOWN_GROUPS as readonly string[]).includes(g)).join(", "),
    active: user?.active ?? true,
  };
}

/** The message of a mobile half filled in (the field errors map it to their own text). */
export const MOBILE_PAIR_MESSAGE = "give both the mobile device and number, or neither";

/** Mobilní pobočka and Číslo mobilu go together: an error at the one left empty, else none. */
export function mobileErrors(form: Pick<UserForm, "mobileDevice" | "mobileNumber">): FieldError[] {
  const device = form.mobileDevice.trim();
  const number = form.mobileNumber.trim();
  if (device && !number) return [{ field: "mobile.number", message: MOBILE_PAIR_MESSAGE }];
  if (number && !device) return [{ field: "mobile.device", message: MOBILE_PAIR_MESSAGE }];
  return [];
}

/**
 * The request body; empty e-mail and agent number are left out (the API refuses null), and so
 * is the mobile unless both its fields are filled in (left out on PUT, it is removed).
 */
export function userFormToJson(form: UserForm, withUsername: boolean): Record<string, unknown> {
  const other = form.otherGroups
    .split(/[\s,;]+/)
    .map((g) => g.trim().toUpperCase())
    .filter(Boolean);
  const groups = [...new Set([...KNOWN_GROUPS.filter((g) => form.groups.has(g)), ...other])];
  return {
    ...(withUsername ? { username: form.username.trim() } : {}),
    displayName: form.displayName.trim(),
    roles: [...form.roles],
    groups,
    ...(form.email.trim() ? { email: form.email.trim() } : {}),
    ...(form.agentNumber.trim() ? { agentNumber: form.agentNumber.trim() } : {}),
    ...(form.mobileDevice.trim() && form.mobileNumber.trim() ? { mobile: { device: form.mobileDevice.trim(), number: form.mobileNumber.trim() } } : {}),
    active: form.active,
  };
}

export class UserFormView implements View {
  readonly #username: string | null;
  #form: UserForm = toForm(null);
  #started = false;
  #loaded = false;
  #saving = false;
  #confirmingDelete = false;
  #problem: Problem | null = null;
  #loadProblem: Problem | null = null;
  #disposed = false;

  constructor(username: string | null) {
    this.#username = username;
    this.#loaded = username === null;
  }

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    const title = this.#username === null ? "users.new" : "users.edit";
    if (!this.#started && this.#username !== null) {
      this.#started = true;
      void this.#load(context);
    }
    if (!this.#loaded) {
      return pageSection(
        title,
        t,
        "user-form-page",
        this.#loadProblem ? problemBox(this.#loadProblem, t) : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")),
      );
    }
    const form = this.#form;
    const errors = new FormErrors(this.#problem, t, "u");
    const roleBoxes = USER_ROLES.map((role) =>
      checkboxField(
        errors,
        `roles.${role}`,
        roleLabel(role, t),
        checkbox(form.roles.has(role), (on) => (on ? form.roles.add(role) : form.roles.delete(role)), { "data-testid": `role-${role}`, value: role }),
      ),
    );
    const groupBoxes = KNOWN_GROUPS.map((group) =>
      checkboxField(
        errors,
        `groups.${group}`,
        t(`group.${group}`),
        checkbox(form.groups.has(group), (on) => (on ? form.groups.add(group) : form.groups.delete(group)), { "data-testid": `group-${group}`, value: group }),
      ),
    );
    // Errors on `groups` as a whole also mark the group checkboxes.
    errors.slot("groups", ...inputsOf(groupBoxes));
    const element = h(
      "form",
      {
        class: "form",
        "data-testid": "user-form",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#save(context);
          },
        },
      },
      errors.box(),
      field(
        errors,
        "username",
        t("users.field.username"),
        textInput(form.username, (v) => (form.username = v), {
          "data-testid": "user-username",
          autocomplete: "off",
          spellcheck: false,
          ...(this.#username !== null ? { readonly: true } : {}),
        }),
        { required: true },
      ),
      field(errors, "displayName", t("users.field.displayName"), textInput(form.displayName, (v) => (form.displayName = v), { "data-testid": "user-display-name" }), {
        required: true,
      }),
      field(errors, "email", t("users.field.email"), textInput(form.email, (v) => (form.email = v), { type: "email", "data-testid": "user-email" })),
      field(
        errors,
        "agentNumber",
        t("users.field.agentNumber"),
        textInput(form.agentNumber, (v) => (form.agentNumber = v), { inputmode: "numeric", "data-testid": "user-agent-number" }),
        { hint: t("users.field.agentNumberHint") },
      ),
      h(
        "fieldset",
        { "data-testid": "user-mobile", "aria-describedby": "u-mobile-hint" },
        h("legend", null, t("users.field.mobile")),
        h("p", { id: "u-mobile-hint", class: "muted" }, t("users.field.mobileHint")),
        field(
          errors,
          "mobile.device",
          t("users.field.mobileDevice"),
          textInput(form.mobileDevice, (v) => (form.mobileDevice = v), { inputmode: "numeric", autocomplete: "off", "data-testid": "user-mobile-device" }),
          { hint: t("users.field.mobileDeviceHint") },
        ),
        field(
          errors,
          "mobile.number",
          t("users.field.mobileNumber"),
          textInput(form.mobileNumber, (v) => (form.mobileNumber = v), { type: "tel", autocomplete: "off", "data-testid": "user-mobile-number" }),
          { hint: t("users.field.mobileNumberHint") },
        ),
        // An error on `mobile` as a whole (not an object) marks both fields.
        errors.slot("mobile"),
      ),
      h("fieldset", { "data-testid": "user-roles" }, h("legend", null, t("users.field.roles")), ...roleBoxes, errors.slot("roles", ...inputsOf(roleBoxes))),
      h(
        "fieldset",
        { "data-testid": "user-groups" },
        h("legend", null, t("users.field.groups")),
        ...groupBoxes,
        field(errors, "groups", t("users.field.otherGroups"), textInput(form.otherGroups, (v) => (form.otherGroups = v), { "data-testid": "user-other-groups" }), {
          hint: t("users.field.otherGroupsHint"),
        }),
      ),
      checkboxField(errors, "active", t("users.field.active"), checkbox(form.active, (v) => (form.active = v), { "data-testid": "user-active" })),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", "data-testid": "user-save", ...(this.#saving ? { disabled: true } : {}) }, t(this.#saving ? "common.saving" : "common.save")),
        " ",
        h("a", { href: hashFor("/admin"), class: "button secondary" }, t("common.cancel")),
        " ",
        this.#username === null
          ? null
          : this.#confirmingDelete
            ? h(
                "span",
                null,
                button(t("common.confirmDelete"), () => void this.#remove(context), { class: "danger", "data-testid": "user-delete-confirm" }),
                " ",
                button(
                  t("common.cancel"),
                  () => {
                    this.#confirmingDelete = false;
                    context.rerender();
                  },
                  { class: "secondary" },
                ),
              )
            : button(
                t("common.delete"),
                () => {
                  this.#confirmingDelete = true;
                  context.rerender();
                },
                { class: "secondary", "data-testid": "user-delete" },
              ),
      ),
    );
    errors.finish();
    return pageSection(title, t, "user-form-page", element);
  }

  dispose(): void {
    this.#disposed = true;
  }

  async #load(context: ViewContext): Promise<void> {
    try {
      this.#form = toForm(await users(context.api).get(this.#username ?? ""));
      this.#loaded = true;
    } catch (error) {
      this.#loadProblem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }

  async #save(context: ViewContext): Promise<void> {
    if (this.#saving) return;
    const isNew = this.#username === null;
    // Both mobile fields or neither: said at the empty one (and the focus goes there), nothing sent.
    const halfMobile = mobileErrors(this.#form);
    if (halfMobile.length > 0) {
      this.#problem = { status: 422, code: "validation-failed", errors: halfMobile };
      context.rerender();
      const path = halfMobile[0]!.field;
      if (typeof document !== "undefined") document.getElementById(`u-${path.replace(/[^A-Za-z0-9]+/g, "-")}`)?.focus();
      return;
    }
    this.#saving = true;
    this.#problem = null;
    context.rerender();
    try {
      const collection = users(context.api);
      const body = userFormToJson(this.#form, isNew);
      const saved = isNew ? await collection.create(body) : await collection.replace(this.#username ?? "", body);
      this.#saving = false;
      setFlash(isNew ? "users.created" : "users.saved", { username: saved.username || this.#form.username });
      if (!this.#disposed) context.navigate("/admin");
      return;
    } catch (error) {
      this.#problem = isNew ? withConflictOnId(asProblem(error), "username") : asProblem(error);
    }
    this.#saving = false;
    if (!this.#disposed) context.rerender();
  }

  async #remove(context: ViewContext): Promise<void> {
    this.#confirmingDelete = false;
    try {
      await users(context.api).remove(this.#username ?? "");
      setFlash("users.deleted", { username: this.#username ?? "" });
      if (!this.#disposed) context.navigate("/admin");
      return;
    } catch (error) {
      this.#problem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }
}

function inputsOf(fields: readonly HTMLElement[]): HTMLInputElement[] {
  return fields.flatMap((element) => [...element.querySelectorAll("input")]);
}

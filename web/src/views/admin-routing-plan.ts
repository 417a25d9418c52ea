// Plán směrování (IN-1, IN-5, IN-7) and Zařízení ústředny: the inbound routing plan (rules in
// order, the first match wins; the default entry; client-status priority boosts; the recording
// policy) and the PBX devices of queues, IVR trees and announcements. Each page is one
// document: GET, edit, PUT.

import "../i18n/routing";
import { queues, TARGET_KINDS } from "../api/admin";
import type { Problem } from "../api/problem";
import { ENTRY_KINDS, getDevices, getPlan, ivrs, putDevices, putPlan } from "../api/routing";
import {
  arrayPaths,
  DEVICE_GROUPS,
  devicesToForm,
  formToDevices,
  formToPlan,
  move,
  newRuleForm,
  planToForm,
  type DeviceGroup,
  type DevicesForm,
  type EntryForm,
  type PlanForm,
} from "../forms/plan-form";
import type { Translate } from "../roles";
import { h } from "../ui/dom";
import { button, checkbox, checkboxField, field, FormErrors, pageSection, select, statusLine, textInput } from "./form";
import { asProblem, problemBox } from "./problem-box";
import { targetField } from "./target-field";
import type { View, ViewContext } from "./view";

function withArrayPaths(problem: Problem, lists: readonly string[]): Problem {
  return problem.errors ? { ...problem, errors: arrayPaths(problem.errors, lists) } : problem;
}

abstract class DocumentPage<F> implements View {
  protected form: F | null = null;
  #started = false;
  #loadProblem: Problem | null = null;
  protected problem: Problem | null = null;
  #saving = false;
  #saved: string | null = null;
  protected disposed = false;
  protected queueIds: string[] = [];
  protected ivrIds: string[] = [];

  protected abstract readonly titleKey: Parameters<Translate>[0];
  protected abstract readonly introKey: Parameters<Translate>[0];
  protected abstract readonly savedKey: Parameters<Translate>[0];
  protected abstract readonly testId: string;
  protected abstract fetch(context: ViewContext): Promise<F>;
  protected abstract store(context: ViewContext, form: F): Promise<F | null>;
  protected abstract body(context: ViewContext, form: F, errors: FormErrors): HTMLElement[];
  protected readonly lists: readonly string[] = [];

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    if (!this.#started) {
      this.#started = true;
      void this.#load(context);
    }
    const form = this.form;
    if (!form) {
      return pageSection(this.titleKey, t, this.testId, this.#loadProblem ? problemBox(this.#loadProblem, t) : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")));
    }
    const errors = new FormErrors(this.problem, t, this.testId);
    const element = h(
      "form",
      {
        class: "form wide",
        "data-testid": `${this.testId}-form`,
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#save(context);
          },
        },
      },
      errors.box(),
      h("datalist", { id: `${this.testId}-queues` }, ...this.queueIds.map((value) => h("option", { value }))),
      h("datalist", { id: `${this.testId}-ivrs` }, ...this.ivrIds.map((value) => h("option", { value }))),
      ...this.body(context, form, errors),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", "data-testid": `${this.testId}-save`, ...(this.#saving ? { disabled: true } : {}) }, t(this.#saving ? "common.saving" : "common.save")),
      ),
    );
    errors.finish();
    return pageSection(this.titleKey, t, this.testId, h("p", { class: "muted" }, t(this.introKey)), statusLine(this.#saved, `${this.testId}-saved`), element);
  }

  dispose(): void {
    this.disposed = true;
  }

  async #load(context: ViewContext): Promise<void> {
    try {
      const [form, queueList, ivrList] = await Promise.all([
        this.fetch(context),
        queues(context.api).all().catch(() => []),
        ivrs(context.api).all().catch(() => []),
      ]);
      this.queueIds = queueList.map((queue) => queue.queueId);
      this.ivrIds = ivrList.map((tree) => tree.ivrId);
      this.form = form;
    } catch (error) {
      this.#loadProblem = asProblem(error);
    }
    if (!this.disposed) context.rerender();
  }

  async #save(context: ViewContext): Promise<void> {
    if (this.#saving || !this.form) return;
    this.#saving = true;
    this.#saved = null;
    this.problem = null;
    context.rerender();
    try {
      const stored = await this.store(context, this.form);
      if (stored) this.form = stored;
      this.#saved = context.t(this.savedKey);
    } catch (error) {
      this.problem = withArrayPaths(asProblem(error), this.lists);
    }
    this.#saving = false;
    if (!this.disposed) context.rerender();
  }

  /** Where a call goes: an IVR tree (optionally from a node), a queue or a destination. */
  protected entryEditor(context: ViewContext, errors: FormErrors, path: string, entry: EntryForm, optional: boolean, testId: string): HTMLElement {
    const { t } = context;
    const rerender = () => context.rerender();
    const kinds = [...(optional ? [{ value: "", label: t("plan.entry.none") }] : []), ...ENTRY_KINDS.map((kind) => ({ value: kind, label: t(`plan.entry.${kind}`) }))];
    const kind = select(
      entry.kind,
      kinds,
      (v) => {
        entry.kind = v as EntryForm["kind"];
        rerender();
      },
      { "data-testid": `${testId}-kind` },
    );
    const kindField = field(errors, `${path}.kind`, t("plan.entry.label"), kind, { class: "inline" });
    kindField.appendChild(errors.slot(path, kind));
    let value: HTMLElement | null = null;
    if (entry.kind === "ivr") {
      value = h(
        "div",
        { class: "row" },
        field(
          errors,
          `${path}.ivrId`,
          t("target.value.ivr"),
          textInput(entry.ivrId, (v) => (entry.ivrId = v), { list: `${this.testId}-ivrs`, autocomplete: "off", "data-testid": `${testId}-ivr` }),
          { class: "inline", required: true },
        ),
        field(errors, `${path}.node`, t("plan.entry.node"), textInput(entry.node, (v) => (entry.node = v), { autocomplete: "off", "data-testid": `${testId}-node` }), {
          class: "inline",
          hint: t("plan.entry.nodeHint"),
        }),
      );
    } else if (entry.kind === "queue") {
      value = field(
        errors,
        `${path}.queueId`,
        t("target.value.queue"),
        textInput(entry.queueId, (v) => (entry.queueId = v), { list: `${this.testId}-queues`, autocomplete: "off", "data-testid": `${testId}-queue` }),
        { class: "inline", required: true },
      );
    } else if (entry.kind === "destination") {
      value = targetField({
        errors,
        path: `${path}.target`,
        label: t("plan.entry.destination"),
        form: entry.target,
        kinds: TARGET_KINDS,
        optional: false,
        t,
        changed: rerender,
        queueIds: this.queueIds,
        testId: `${testId}-target`,
      });
    }
    return h("div", { class: "row entry" }, kindField, value);
  }
}

// ---- the plan -------------------------------------------------------------------------------

export class RoutingPlanView extends DocumentPage<PlanForm> {
  protected readonly titleKey = "plan.title";
  protected readonly introKey = "plan.intro";
  protected readonly savedKey = "plan.saved";
  protected readonly testId = "plan";
  protected override readonly lists = ["rules", "clientPriority"];

  protected async fetch(context: ViewContext): Promise<PlanForm> {
    return planToForm(await getPlan(context.api));
  }

  protected async store(context: ViewContext, form: PlanForm): Promise<PlanForm | null> {
    const saved = await putPlan(context.api, formToPlan(form));
    return saved && typeof saved === "object" && Array.isArray(saved.rules) ? planToForm(saved) : null;
  }

  protected body(context: ViewContext, form: PlanForm, errors: FormErrors): HTMLElement[] {
    const { t } = context;
    const rerender = () => context.rerender();
    const rules = form.rules.map((rule, i) => {
      const path = `rules[${i}]`;
      const text = (key: "dialled" | "callers" | "clientStatuses" | "ivrChoices", labelKey: Parameters<Translate>[0], hintKey: Parameters<Translate>[0]) =>
        field(errors, `${path}.when.${key}`, t(labelKey), textInput(rule[key], (v) => (rule[key] = v), { autocomplete: "off", "data-testid": `rule-${key}` }), {
          class: "inline",
          hint: t(hintKey),
        });
      return h(
        "fieldset",
        { class: "rule", "data-testid": "plan-rule", "data-rule-id": rule.ruleId, "data-index": i },
        h("legend", null, t("plan.rule", { n: i + 1 })),
        errors.slot(path),
        h(
          "div",
          { class: "row" },
          field(errors, `${path}.ruleId`, t("plan.ruleId"), textInput(rule.ruleId, (v) => (rule.ruleId = v), { autocomplete: "off", spellcheck: false, "data-testid": "rule-id" }), {
            class: "inline",
            required: true,
          }),
          field(
            errors,
            `${path}.priorityBoost`,
            t("plan.priorityBoost"),
            textInput(rule.priorityBoost, (v) => (rule.priorityBoost = v), { type: "number", min: 0, max: 100, class: "narrow", "data-testid": "rule-boost" }),
            { class: "inline" },
          ),
          button(t("plan.up"), () => move(form.rules, i, -1) && rerender(), {
            class: "secondary small",
            "data-testid": "rule-up",
            "aria-label": `${t("plan.up")}: ${t("plan.rule", { n: i + 1 })}`,
            ...(i === 0 ? { disabled: true } : {}),
          }),
          button(t("plan.down"), () => move(form.rules, i, 1) && rerender(), {
            class: "secondary small",
            "data-testid": "rule-down",
            "aria-label": `${t("plan.down")}: ${t("plan.rule", { n: i + 1 })}`,
            ...(i === form.rules.length - 1 ? { disabled: true } : {}),
          }),
          button(
            t("plan.removeRule"),
            () => {
              form.rules.splice(i, 1);
              rerender();
            },
            { class: "secondary small", "data-testid": "rule-remove", "aria-label": `${t("plan.removeRule")}: ${t("plan.rule", { n: i + 1 })}` },
          ),
        ),
        h("h4", null, t("plan.when")),
        h(
          "div",
          { class: "row" },
          text("dialled", "plan.dialled", "plan.listHint"),
          text("callers", "plan.callers", "plan.callersHint"),
          text("clientStatuses", "plan.clientStatuses", "plan.listHint"),
        ),
        h(
          "div",
          { class: "row" },
          checkboxField(
            errors,
            `${path}.when.useIvrChoices`,
            t("plan.useIvrChoices"),
            checkbox(rule.useIvrChoices, (v) => {
              rule.useIvrChoices = v;
              rerender();
            }),
          ),
          rule.useIvrChoices ? text("ivrChoices", "plan.ivrChoices", "plan.ivrChoicesHint") : null,
        ),
        this.#attributes(context, errors, `${path}.when.attributes`, rule.attributes),
        rule.during !== undefined ? h("p", { class: "muted" }, t("plan.during")) : null,
        h("h4", null, t("plan.then")),
        this.entryEditor(context, errors, `${path}.entry`, rule.entry, false, `rule-${i}-entry`),
      );
    });

    const priorities = h(
      "fieldset",
      { "data-testid": "plan-client-priority" },
      h("legend", null, t("plan.clientPriority")),
      h("p", { class: "muted" }, t("plan.clientPriorityHint")),
      ...form.clientPriority.map((entry, i) =>
        h(
          "div",
          { class: "row", "data-testid": "client-priority-row" },
          field(errors, `clientPriority[${i}].status`, t("plan.status"), textInput(entry.status, (v) => (entry.status = v), { placeholder: "VIP", "data-testid": "priority-status" }), {
            class: "inline",
          }),
          field(
            errors,
            `clientPriority[${i}].boost`,
            t("plan.boost"),
            textInput(entry.boost, (v) => (entry.boost = v), { type: "number", min: 0, max: 100, class: "narrow", "data-testid": "priority-boost" }),
            { class: "inline" },
          ),
          button(
            t("queues.removeInterval"),
            () => {
              form.clientPriority.splice(i, 1);
              rerender();
            },
            { class: "secondary small" },
          ),
          errors.slot(`clientPriority[${i}]`),
        ),
      ),
      button(
        t("plan.addStatus"),
        () => {
          form.clientPriority.push({ status: "", boost: "1" });
          rerender();
        },
        { class: "secondary small", "data-testid": "priority-add" },
      ),
      errors.slot("clientPriority"),
    );

    const recording = h(
      "fieldset",
      { "data-testid": "plan-recording" },
      h("legend", null, t("plan.recording")),
      checkboxField(errors, "recording.record", t("plan.record"), checkbox(form.record, (v) => (form.record = v), { "data-testid": "recording-record" })),
      field(
        errors,
        "recording.ownNumbers",
        t("plan.ownNumbers"),
        textInput(form.ownNumbers, (v) => (form.ownNumbers = v), { autocomplete: "off", "data-testid": "recording-own" }),
        { hint: t("plan.callersHint") },
      ),
      checkboxField(
        errors,
        "recording.recordOwnNumbers",
        t("plan.recordOwnNumbers"),
        checkbox(form.recordOwnNumbers, (v) => (form.recordOwnNumbers = v), { "data-testid": "recording-own-record" }),
      ),
      errors.slot("recording"),
    );

    return [
      h(
        "section",
        { "data-testid": "plan-rules" },
        h("h2", null, t("plan.rules")),
        h("p", { class: "muted" }, t("plan.rulesHint")),
        ...rules,
        form.rules.length === 0 ? h("p", null, t("plan.noRules")) : null,
        button(
          t("plan.addRule"),
          () => {
            const used = new Set(form.rules.map((rule) => rule.ruleId));
            let n = form.rules.length + 1;
            while (used.has(`pravidlo-${n}`)) n++;
            form.rules.push(newRuleForm(`pravidlo-${n}`));
            rerender();
          },
          { class: "secondary", "data-testid": "rule-add" },
        ),
        errors.slot("rules"),
      ),
      h(
        "fieldset",
        { "data-testid": "plan-default" },
        h("legend", null, t("plan.defaultEntry")),
        h("p", { class: "muted" }, t("plan.defaultEntryHint")),
        this.entryEditor(context, errors, "defaultEntry", form.defaultEntry, true, "default-entry"),
      ),
      priorities,
      recording,
    ];
  }

  #attributes(context: ViewContext, errors: FormErrors, path: string, list: { name: string; value: string }[]): HTMLElement {
    const { t } = context;
    return h(
      "div",
      { class: "sub" },
      h("h4", null, t("plan.attributes")),
      ...list.map((attribute, i) =>
        h(
          "div",
          { class: "row" },
          textInput(attribute.name, (v) => (attribute.name = v), { placeholder: "problem", "aria-label": `${t("plan.attributeName")} ${i + 1}`, class: "narrow-text" }),
          " = ",
          textInput(attribute.value, (v) => (attribute.value = v), { placeholder: "platby", "aria-label": `${t("plan.attributeValue")} ${i + 1}` }),
          button(
            t("queues.removeInterval"),
            () => {
              list.splice(i, 1);
              context.rerender();
            },
            { class: "secondary small" },
          ),
          errors.slot(`${path}.${attribute.name}`),
        ),
      ),
      button(
        t("plan.addAttribute"),
        () => {
          list.push({ name: "", value: "" });
          context.rerender();
        },
        { class: "secondary small" },
      ),
      errors.slot(path),
    );
  }
}

// ---- PBX devices ----------------------------------------------------------------------------

export class DevicesView extends DocumentPage<DevicesForm> {
  protected readonly titleKey = "devices.title";
  protected readonly introKey = "devices.intro";
  protected readonly savedKey = "devices.saved";
  protected readonly testId = "devices";

  protected async fetch(context: ViewContext): Promise<DevicesForm> {
    return devicesToForm(await getDevices(context.api));
  }

  protected async store(context: ViewContext, form: DevicesForm): Promise<DevicesForm | null> {
    const saved = await putDevices(context.api, formToDevices(form));
    return saved && typeof saved === "object" && typeof saved.queues === "object" ? devicesToForm(saved) : null;
  }

  protected body(context: ViewContext, form: DevicesForm, errors: FormErrors): HTMLElement[] {
    const { t } = context;
    return [
      ...DEVICE_GROUPS.map((group) => this.#table(context, errors, form, group)),
      h(
        "fieldset",
        null,
        h("legend", null, t("devices.defaultAnnouncement")),
        field(
          errors,
          "defaultAnnouncement",
          t("devices.device"),
          textInput(form.defaultAnnouncement, (v) => (form.defaultAnnouncement = v), { inputmode: "numeric", autocomplete: "off", "data-testid": "devices-default" }),
          { hint: t("devices.defaultAnnouncementHint") },
        ),
      ),
    ];
  }

  #table(context: ViewContext, errors: FormErrors, form: DevicesForm, group: DeviceGroup): HTMLElement {
    const { t } = context;
    const list = form[group];
    const listId = group === "queues" ? `${this.testId}-queues` : group === "ivrs" ? `${this.testId}-ivrs` : undefined;
    return h(
      "fieldset",
      { "data-testid": `devices-${group}` },
      h("legend", null, t(`devices.${group}`)),
      h(
        "table",
        { class: "data" },
        h("thead", null, h("tr", null, h("th", { scope: "col" }, t(`devices.id.${group}`)), h("th", { scope: "col" }, t("devices.device")), h("th", { scope: "col" }, t("common.actions")))),
        h(
          "tbody",
          null,
          ...list.map((row, i) =>
            h(
              "tr",
              { "data-testid": "device-row", "data-id": row.id },
              h(
                "td",
                null,
                textInput(row.id, (v) => (row.id = v), {
                  autocomplete: "off",
                  "data-testid": "device-id",
                  "aria-label": `${t(`devices.id.${group}`)} ${i + 1}`,
                  ...(listId ? { list: listId } : {}),
                }),
              ),
              h(
                "td",
                null,
                textInput(row.device, (v) => (row.device = v), { inputmode: "numeric", autocomplete: "off", class: "narrow-text", "data-testid": "device-number", "aria-label": `${t("devices.device")} ${i + 1}` }),
                errors.slot(`${group}.${row.id}`),
              ),
              h(
                "td",
                null,
                button(
                  t("queues.removeInterval"),
                  () => {
                    list.splice(i, 1);
                    context.rerender();
                  },
                  { class: "secondary small" },
                ),
              ),
            ),
          ),
        ),
      ),
      list.length === 0 ? h("p", { class: "muted" }, t("devices.empty")) : null,
      button(
        t("devices.add"),
        () => {
          list.push({ id: "", device: "" });
          context.rerender();
        },
        { class: "secondary small", "data-testid": `devices-${group}-add` },
      ),
      errors.slot(group),
    );
  }
}

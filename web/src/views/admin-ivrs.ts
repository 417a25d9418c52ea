// Stromy IVR (IN-10 … IN-13, IN-6): the list of trees and the tree editor. The editor is a
// form per node (by kind), next nodes chosen from the tree's node ids, the entry node, the
// general-problem announcement, "Zkontrolovat" (POST /api/admin/ivrs/validate) with the
// problems shown at their nodes and fields, and a JSON view for power users.

import "../i18n/routing";
import { queues } from "../api/admin";
import { withConflictOnId, type Problem } from "../api/problem";
import { COMPARISONS, DIGIT_VALIDATIONS, ivrs, NODE_KINDS, QUEUE_STATISTICS, validateIvr, type IvrTree, type NodeKind } from "../api/routing";
import {
  checkIvrForm,
  formToTree,
  freshNodeId,
  isExitKind,
  newIvrForm,
  newNodeForm,
  renameNode,
  treeToForm,
  type IvrForm,
  type NodeForm,
  type PairForm,
  type PromptForm,
} from "../forms/ivr-form";
import { ID_PATTERN } from "../forms/queue-form";
import type { Translate } from "../roles";
import { hashFor } from "../router";
import { h } from "../ui/dom";
import { setFlash, takeFlash } from "./flash";
import { button, checkbox, checkboxField, field, FormErrors, pageSection, select, statusLine, textInput } from "./form";
import { asProblem, problemBox } from "./problem-box";
import type { View, ViewContext } from "./view";

// ---- the list -------------------------------------------------------------------------------

export class IvrListView implements View {
  #items: IvrTree[] = [];
  #loaded = false;
  #loading = false;
  #problem: Problem | null = null;
  #confirming: string | null = null;
  #flash = takeFlash();
  #disposed = false;

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    if (!this.#loaded && !this.#loading && !this.#problem) void this.#load(context);
    const rows = this.#items.map((tree) => {
      const active = tree.active !== false;
      return h(
        "tr",
        { "data-ivr-id": tree.ivrId },
        h("td", null, h("a", { href: hashFor(`/admin/ivrs/edit/${encodeURIComponent(tree.ivrId)}`), "data-testid": "ivr-edit" }, tree.ivrId)),
        h("td", { "data-testid": "ivr-name" }, tree.name),
        h(
          "td",
          { "data-testid": "ivr-active", "data-active": String(active) },
          h("span", { class: `badge ${active ? "badge-open" : "badge-closed"}` }, t(active ? "ivr.active" : "ivr.inactive")),
        ),
        h("td", { "data-testid": "ivr-node-count" }, String(Object.keys(tree.nodes ?? {}).length)),
        h(
          "td",
          null,
          button(t(active ? "ivr.deactivate" : "ivr.activate"), () => void this.#toggle(context, tree), {
            class: "secondary small",
            "data-testid": "ivr-toggle",
            "aria-label": `${t(active ? "ivr.deactivate" : "ivr.activate")} ${tree.ivrId}`,
          }),
          " ",
          this.#confirming === tree.ivrId
            ? h(
                "span",
                null,
                button(t("common.confirmDelete"), () => void this.#remove(context, tree.ivrId), { class: "danger small", "data-testid": "ivr-delete-confirm" }),
                " ",
                button(t("common.cancel"), () => this.#confirm(context, null), { class: "secondary small" }),
              )
            : button(t("common.delete"), () => this.#confirm(context, tree.ivrId), {
                class: "secondary small",
                "data-testid": "ivr-delete",
                "aria-label": `${t("common.delete")} ${tree.ivrId}`,
              }),
        ),
      );
    });
    return pageSection(
      "ivr.title",
      t,
      "ivrs-page",
      h("p", { class: "muted" }, t("ivr.intro")),
      statusLine(this.#flash ? t(this.#flash.key, this.#flash.params) : null),
      h("p", null, h("a", { href: hashFor("/admin/ivrs/new"), class: "button", "data-testid": "ivr-new" }, t("ivr.new"))),
      this.#problem ? problemBox(this.#problem, t) : null,
      this.#loaded
        ? h(
            "table",
            { class: "data", "data-testid": "ivrs-table" },
            h("thead", null, h("tr", null, ...(["ivr.col.id", "ivr.col.name", "ivr.col.state", "ivr.col.nodes", "common.actions"] as const).map((key) => h("th", { scope: "col" }, t(key))))),
            h("tbody", null, ...rows),
          )
        : null,
      this.#loaded && this.#items.length === 0 ? h("p", null, t("ivr.empty")) : null,
      this.#loading ? h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")) : null,
    );
  }

  dispose(): void {
    this.#disposed = true;
  }

  #confirm(context: ViewContext, id: string | null): void {
    this.#confirming = id;
    context.rerender();
  }

  async #load(context: ViewContext): Promise<void> {
    this.#loading = true;
    this.#problem = null;
    try {
      this.#items = await ivrs(context.api).all();
      this.#loaded = true;
    } catch (error) {
      this.#problem = asProblem(error);
    } finally {
      this.#loading = false;
    }
    if (!this.#disposed) context.rerender();
  }

  async #toggle(context: ViewContext, tree: IvrTree): Promise<void> {
    this.#flash = null;
    this.#problem = null;
    try {
      // The stored tree whole (a list item might be shortened), with `active` flipped.
      const collection = ivrs(context.api);
      const ivrId = tree.ivrId;
      const { ivrId: _id, ...body } = await collection.get(ivrId);
      const active = tree.active === false;
      const saved = (await collection.replace(ivrId, { ...body, active })) as IvrTree | null;
      const stored: IvrTree = saved && typeof saved === "object" ? { ...tree, ...saved, ivrId } : { ...tree, active };
      this.#items = this.#items.map((item) => (item.ivrId === ivrId ? stored : item));
      this.#flash = { key: stored.active === false ? "ivr.deactivated" : "ivr.activated", params: { id: ivrId } };
    } catch (error) {
      this.#problem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }

  async #remove(context: ViewContext, id: string): Promise<void> {
    this.#confirming = null;
    this.#flash = null;
    try {
      await ivrs(context.api).remove(id);
      this.#items = this.#items.filter((tree) => tree.ivrId !== id);
      this.#flash = { key: "common.deletedId", params: { id } };
    } catch (error) {
      this.#problem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }
}

// ---- the editor -----------------------------------------------------------------------------

/** The node ids a problem names (`nodes.<id>…`). */
function nodesWithProblems(problem: Problem | null): Set<string> {
  const ids = new Set<string>();
  for (const error of problem?.errors ?? []) {
    const match = /^\/?nodes[./]([^./[]+)/.exec(error.field);
    if (match?.[1]) ids.add(match[1]);
  }
  return ids;
}

/** Which node references each kind has: [form field, JSON field, label key, optional]. */
type RefField = "next" | "onTimeout" | "onInvalid" | "onExhausted" | "open" | "closed" | "then" | "otherwise" | "defaultTarget" | "accepted" | "declined";

let textareaCounter = 0;

function textArea(value: string, set: (value: string) => void, attrs: Record<string, string | number | boolean> = {}): HTMLTextAreaElement {
  const area = h("textarea", { rows: 2, ...attrs, on: { input: (event) => set((event.target as HTMLTextAreaElement).value) } });
  area.value = value;
  return area;
}

export class IvrEditorView implements View {
  readonly #id: string | null;
  #form: IvrForm = newIvrForm();
  #loaded = false;
  #started = false;
  #saving = false;
  #checking = false;
  #problem: Problem | null = null;
  /** The last check: null = none since the last change of the result. */
  #checked: { valid: boolean; count: number } | null = null;
  #loadProblem: Problem | null = null;
  #queueIds: string[] = [];
  #newNode: { id: string; kind: NodeKind } = { id: "", kind: "prompt" };
  #json: string | null = null;
  #jsonProblem: string | null = null;
  #disposed = false;

  /** `id` null = a new tree. */
  constructor(id: string | null) {
    this.#id = id;
  }

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    if (!this.#started) {
      this.#started = true;
      void this.#load(context);
    }
    const title = this.#id === null ? "ivr.new" : "ivr.edit";
    if (!this.#loaded) {
      return pageSection(title, t, "ivr-form-page", this.#loadProblem ? problemBox(this.#loadProblem, t) : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")));
    }
    const errors = new FormErrors(this.#problem, t, "ivr");
    const form = this.#form;
    const rerender = () => context.rerender();
    const nodeIds = form.nodes.map((node) => node.id);

    const basics = h(
      "fieldset",
      null,
      h("legend", null, t("queues.basics")),
      field(
        errors,
        "ivrId",
        t("ivr.field.id"),
        textInput(form.ivrId, (v) => (form.ivrId = v), { "data-testid": "ivr-id", autocomplete: "off", spellcheck: false, ...(this.#id !== null ? { readonly: true } : {}) }),
        { required: true, hint: t("common.idHint") },
      ),
      field(errors, "name", t("ivr.field.name"), textInput(form.name, (v) => (form.name = v), { "data-testid": "ivr-name" }), { required: true }),
      checkboxField(errors, "active", t("ivr.field.active"), checkbox(form.active, (v) => (form.active = v), { "data-testid": "ivr-active" })),
      field(
        errors,
        "entryNode",
        t("ivr.field.entryNode"),
        this.#nodeSelect(form.entryNode, (v) => (form.entryNode = v), nodeIds, false, t, { "data-testid": "ivr-entry" }),
        { required: true, hint: t("ivr.field.entryNodeHint") },
      ),
      field(
        errors,
        "lostCallsQueueId",
        t("ivr.field.lostCallsQueue"),
        textInput(form.lostCallsQueueId, (v) => (form.lostCallsQueueId = v), {
          list: "ivr-queues",
          autocomplete: "off",
          spellcheck: false,
          "data-testid": "ivr-lost-calls-queue",
        }),
        { hint: t("ivr.field.lostCallsQueueHint") },
      ),
    );

    const announcement = h(
      "fieldset",
      { "data-testid": "ivr-announcement" },
      h("legend", null, t("ivr.announcement")),
      h("p", { class: "muted" }, t("ivr.announcementHint")),
      checkboxField(
        errors,
        "generalAnnouncement",
        t("ivr.announcementSet"),
        checkbox(
          form.hasAnnouncement,
          (v) => {
            form.hasAnnouncement = v;
            rerender();
          },
          { "data-testid": "ivr-announcement-set" },
        ),
      ),
      form.hasAnnouncement
        ? h(
            "div",
            null,
            this.#promptEditor(errors, "generalAnnouncement.prompt", form.announcement, t, rerender, "announcement"),
            checkboxField(
              errors,
              "generalAnnouncement.active",
              t("ivr.announcementActive"),
              checkbox(form.announcementActive, (v) => (form.announcementActive = v), { "data-testid": "ivr-announcement-active" }),
            ),
          )
        : null,
    );

    const troubled = nodesWithProblems(this.#problem);
    const nodes = h(
      "div",
      { class: "ivr-nodes", "data-testid": "ivr-nodes" },
      h("h2", null, t("ivr.nodes")),
      h("p", { class: "muted" }, t("ivr.nodesHint")),
      h(
        "nav",
        { class: "node-index", "aria-label": t("ivr.nodeIndex"), "data-testid": "ivr-node-index" },
        ...form.nodes.map((node) =>
          button(
            node.id,
            () => document.querySelector(`[data-testid="ivr-node"][data-node-id="${CSS.escape(node.id)}"]`)?.scrollIntoView({ behavior: "smooth", block: "start" }),
            { class: `secondary small${troubled.has(node.id) ? " has-problem" : ""}`, title: t(`ivr.kind.${node.kind}`) },
          ),
        ),
      ),
      errors.slot("nodes"),
      ...form.nodes.map((node, index) => this.#nodeEditor(errors, context, node, index, nodeIds)),
      this.#addNodeRow(context),
    );

    const check = this.#checked;
    const formElement = h(
      "form",
      {
        class: "form wide",
        "data-testid": "ivr-form",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#save(context);
          },
        },
      },
      errors.box(),
      h("datalist", { id: "ivr-queues" }, ...this.#queueIds.map((value) => h("option", { value }))),
      basics,
      announcement,
      nodes,
      check
        ? h(
            "p",
            { class: `alert ${check.valid ? "alert-success" : "alert-error"}`, role: "status", "data-testid": "ivr-check-result", "data-valid": String(check.valid) },
            check.valid ? t("ivr.checkOk") : t("ivr.checkProblems", { count: check.count }),
          )
        : null,
      h(
        "div",
        { class: "actions" },
        button(t(this.#checking ? "ivr.checking" : "ivr.check"), () => void this.#check(context), {
          class: "secondary",
          "data-testid": "ivr-check",
          ...(this.#checking ? { disabled: true } : {}),
        }),
        " ",
        h("button", { type: "submit", "data-testid": "ivr-save", ...(this.#saving ? { disabled: true } : {}) }, t(this.#saving ? "common.saving" : "common.save")),
        " ",
        h("a", { href: hashFor("/admin/ivrs"), class: "button secondary" }, t("common.cancel")),
      ),
    );
    errors.finish();
    return pageSection(title, t, "ivr-form-page", formElement, this.#jsonSection(context));
  }

  dispose(): void {
    this.#disposed = true;
  }

  // ---- parts ----

  #nodeSelect(
    value: string,
    set: (value: string) => void,
    nodeIds: readonly string[],
    optional: boolean,
    t: Translate,
    attrs: Record<string, string | number | boolean> = {},
  ): HTMLSelectElement {
    const options = [
      { value: "", label: t(optional ? "ivr.node.none" : "ivr.node.choose") },
      ...nodeIds.map((id) => ({ value: id, label: id })),
      // A reference to the node itself (not offered) or to a node that is gone stays shown.
      ...(value !== "" && !nodeIds.includes(value) ? [{ value, label: this.#form.nodes.some((node) => node.id === value) ? value : t("ivr.node.missing", { id: value }) }] : []),
    ];
    return select(value, options, set, attrs);
  }

  #promptEditor(errors: FormErrors, path: string, prompt: PromptForm, t: Translate, rerender: () => void, testId: string): HTMLElement {
    const kind = select(
      prompt.kind,
      [
        { value: "tts", label: t("ivr.prompt.tts") },
        { value: "audio", label: t("ivr.prompt.audio") },
      ],
      (v) => {
        prompt.kind = v === "audio" ? "audio" : "tts";
        rerender();
      },
      { "data-testid": `${testId}-prompt-kind` },
    );
    const kindField = field(errors, `${path}.kind`, t("ivr.prompt.kind"), kind, { class: "inline" });
    kindField.appendChild(errors.slot(path, kind));
    return h(
      "div",
      { class: "prompt-editor" },
      kindField,
      prompt.kind === "tts"
        ? h(
            "div",
            null,
            field(
              errors,
              `${path}.text`,
              t("ivr.prompt.text"),
              textArea(prompt.text, (v) => (prompt.text = v), { "data-testid": `${testId}-prompt-text`, id: `ta-${++textareaCounter}` }),
              { required: true },
            ),
            field(errors, `${path}.voice`, t("ivr.prompt.voice"), textInput(prompt.voice, (v) => (prompt.voice = v), { placeholder: "cs-CZ-Standard-A", spellcheck: false }), {
              hint: t("ivr.prompt.voiceHint"),
            }),
          )
        : field(
            errors,
            `${path}.key`,
            t("ivr.prompt.key"),
            textInput(prompt.key, (v) => (prompt.key = v), { placeholder: "prompts/hlavni-linka/uvitani.wav", spellcheck: false, "data-testid": `${testId}-prompt-key` }),
            { required: true, hint: t("ivr.prompt.keyHint") },
          ),
    );
  }

  #nodeEditor(errors: FormErrors, context: ViewContext, node: NodeForm, index: number, nodeIds: readonly string[]): HTMLElement {
    const { t } = context;
    const rerender = () => context.rerender();
    const form = this.#form;
    const path = `nodes.${node.id}`;
    const others = nodeIds.filter((id) => id !== node.id);
    const ref = (fieldName: RefField, jsonName: string, labelKey: Parameters<Translate>[0], optional = false) =>
      field(
        errors,
        `${path}.${jsonName}`,
        t(labelKey),
        this.#nodeSelect(node[fieldName], (v) => (node[fieldName] = v), others, optional, t, { "data-ref": jsonName }),
        { class: "inline" },
      );
    const num = (key: "timeoutSeconds" | "maxAttempts" | "minDigits" | "maxDigits" | "value" | "priority" | "maxSeconds", labelKey: Parameters<Translate>[0], hint?: string) =>
      field(errors, `${path}.${key}`, t(labelKey), textInput(node[key], (v) => (node[key] = v), { type: "number", min: 0, class: "narrow" }), {
        class: "inline",
        ...(hint ? { hint } : {}),
      });
    const queue = () =>
      field(errors, `${path}.queueId`, t("ivr.field.queue"), textInput(node.queueId, (v) => (node.queueId = v), { list: "ivr-queues", autocomplete: "off", spellcheck: false }), {
        class: "inline",
      });
    const prompt = (key: "prompt" | "greeting" | "timePrompt", labelKey: Parameters<Translate>[0]) =>
      h("div", { class: "sub" }, h("h4", null, t(labelKey)), this.#promptEditor(errors, `${path}.${key}`, node[key], t, rerender, `${node.id}-${key}`));

    const body: (HTMLElement | null)[] = [];
    switch (node.kind) {
      case "prompt":
        body.push(prompt("prompt", "ivr.field.prompt"), ref("next", "next", "ivr.field.next"));
        break;
      case "menu":
        body.push(
          prompt("prompt", "ivr.field.prompt"),
          this.#pairs(errors, context, node, node.options, `${path}.options`, "ivr.menu.options", "ivr.menu.key", "ivr.menu.addOption", others, true),
          h("div", { class: "row" }, num("timeoutSeconds", "ivr.field.timeout"), num("maxAttempts", "ivr.field.maxAttempts")),
          h("div", { class: "row" }, ref("onTimeout", "onTimeout", "ivr.field.onTimeout", true), ref("onInvalid", "onInvalid", "ivr.field.onInvalid", true), ref("onExhausted", "onExhausted", "ivr.field.onExhausted")),
        );
        break;
      case "collectDigits":
        body.push(
          prompt("prompt", "ivr.field.prompt"),
          h(
            "div",
            { class: "row" },
            num("minDigits", "ivr.field.minDigits"),
            num("maxDigits", "ivr.field.maxDigits"),
            field(
              errors,
              `${path}.terminator`,
              t("ivr.field.terminator"),
              select(
                node.terminator,
                [
                  { value: "", label: t("ivr.terminator.none") },
                  { value: "#", label: "#" },
                  { value: "*", label: "*" },
                ],
                (v) => (node.terminator = v),
              ),
              { class: "inline" },
            ),
          ),
          h(
            "div",
            { class: "row" },
            field(
              errors,
              `${path}.validation`,
              t("ivr.field.validation"),
              select(
                node.validation,
                DIGIT_VALIDATIONS.map((v) => ({ value: v, label: t(`ivr.validation.${v}`) })),
                (v) => (node.validation = v as NodeForm["validation"]),
              ),
              { class: "inline" },
            ),
            field(errors, `${path}.attribute`, t("ivr.field.attribute"), textInput(node.attribute, (v) => (node.attribute = v), { placeholder: "insuranceNumber", spellcheck: false }), {
              class: "inline",
              hint: t("ivr.field.attributeHint"),
            }),
          ),
          h("div", { class: "row" }, num("timeoutSeconds", "ivr.field.timeout"), num("maxAttempts", "ivr.field.maxAttempts")),
          h("div", { class: "row" }, ref("next", "next", "ivr.field.next"), ref("onInvalid", "onInvalid", "ivr.field.onInvalidDigits", true), ref("onExhausted", "onExhausted", "ivr.field.onExhausted")),
        );
        break;
      case "branchHours":
        body.push(
          node.schedule !== undefined && node.queueId === "" ? h("p", { class: "muted" }, t("ivr.branchHours.ownSchedule")) : queue(),
          h("div", { class: "row" }, ref("open", "open", "ivr.field.open"), ref("closed", "closed", "ivr.field.closed")),
        );
        break;
      case "branchStatistic":
        body.push(
          h(
            "div",
            { class: "row" },
            queue(),
            field(
              errors,
              `${path}.stat`,
              t("ivr.field.stat"),
              select(
                node.stat,
                QUEUE_STATISTICS.map((s) => ({ value: s, label: t(`ivr.stat.${s}`) })),
                (v) => (node.stat = v as NodeForm["stat"]),
              ),
              { class: "inline" },
            ),
            field(
              errors,
              `${path}.op`,
              t("ivr.field.op"),
              select(
                node.op,
                COMPARISONS.map((op) => ({ value: op, label: t(`ivr.op.${op}`) })),
                (v) => (node.op = v as NodeForm["op"]),
              ),
              { class: "inline" },
            ),
            num("value", "ivr.field.value"),
          ),
          h("div", { class: "row" }, ref("then", "then", "ivr.field.then"), ref("otherwise", "else", "ivr.field.else")),
        );
        break;
      case "branchClientStatus":
        body.push(
          this.#pairs(errors, context, node, node.statuses, `${path}.statuses`, "ivr.status.list", "ivr.status.status", "ivr.status.add", others, false),
          ref("defaultTarget", "default", "ivr.field.default"),
        );
        break;
      case "setAttribute":
        body.push(
          h(
            "div",
            { class: "row" },
            field(errors, `${path}.name`, t("ivr.field.attrName"), textInput(node.attrName, (v) => (node.attrName = v), { placeholder: "problem", spellcheck: false }), {
              class: "inline",
              hint: t("ivr.field.attributeHint"),
            }),
            field(errors, `${path}.value`, t("ivr.field.attrValue"), textInput(node.attrValue, (v) => (node.attrValue = v)), { class: "inline" }),
          ),
          ref("next", "next", "ivr.field.next"),
        );
        break;
      case "transferToQueue":
        body.push(h("div", { class: "row" }, queue(), num("priority", "ivr.field.priority", t("ivr.field.priorityHint"))));
        break;
      case "transferToNumber":
        body.push(
          field(errors, `${path}.number`, t("ivr.field.number"), textInput(node.number, (v) => (node.number = v), { type: "tel", placeholder: "+420601123456" }), {
            hint: t("ivr.field.numberHint"),
          }),
        );
        break;
      case "voicemail":
        body.push(h("div", { class: "row" }, queue(), num("maxSeconds", "ivr.field.maxSeconds")), prompt("greeting", "ivr.field.greeting"));
        break;
      case "callbackOffer":
        body.push(
          queue(),
          prompt("prompt", "ivr.field.prompt"),
          h(
            "div",
            { class: "row" },
            field(errors, `${path}.acceptDigit`, t("ivr.field.acceptDigit"), textInput(node.acceptDigit, (v) => (node.acceptDigit = v), { maxlength: 1, size: 2, class: "narrow" }), {
              class: "inline",
            }),
            num("timeoutSeconds", "ivr.field.timeout"),
            num("maxAttempts", "ivr.field.maxAttemptsTime"),
          ),
          checkboxField(
            errors,
            `${path}.allowChosenTime`,
            t("ivr.field.allowChosenTime"),
            checkbox(node.allowChosenTime, (v) => {
              node.allowChosenTime = v;
              rerender();
            }),
          ),
          node.allowChosenTime || node.hasTimePrompt ? prompt("timePrompt", "ivr.field.timePrompt") : null,
          h("div", { class: "row" }, ref("accepted", "accepted", "ivr.field.accepted", true), ref("declined", "declined", "ivr.field.declined")),
        );
        break;
      case "announcePosition":
        body.push(h("div", { class: "row" }, queue(), ref("next", "next", "ivr.field.next")));
        break;
      case "hangup":
        body.push(
          checkboxField(
            errors,
            `${path}.hasPrompt`,
            t("ivr.field.hangupPrompt"),
            checkbox(node.hasPrompt, (v) => {
              node.hasPrompt = v;
              rerender();
            }),
          ),
          node.hasPrompt ? prompt("prompt", "ivr.field.prompt") : null,
        );
        break;
    }

    const idInput = h("input", {
      type: "text",
      class: "node-id",
      autocomplete: "off",
      spellcheck: "false",
      "data-testid": "node-id",
      on: {
        change: (event) => {
          const value = (event.target as HTMLInputElement).value.trim();
          if (value === node.id) return;
          // A bad or taken id keeps the old one and says why at the node.
          const message = !value ? "is required" : !ID_PATTERN.test(value) ? "node id must be 1 to 40 lowercase letters, digits or '-'" : nodeIds.includes(value) ? "duplicate node id" : null;
          if (message) this.#problem = { status: 422, code: "validation-failed", errors: [{ field: path, message }] };
          else renameNode(form, node.id, value);
          rerender();
        },
      },
    });
    idInput.value = node.id;
    const kindSelect = select(
      node.kind,
      NODE_KINDS.map((kind) => ({ value: kind, label: t(`ivr.kind.${kind}`) })),
      (v) => {
        node.kind = v as NodeKind;
        rerender();
      },
      { "data-testid": "node-kind" },
    );
    const slot = errors.slot(path, idInput);
    return h(
      "fieldset",
      {
        class: `ivr-node${form.entryNode === node.id ? " entry" : ""}${nodesWithProblems(this.#problem).has(node.id) ? " has-problem" : ""}`,
        "data-node-id": node.id,
        "data-node-kind": node.kind,
        "data-testid": "ivr-node",
      },
      h("legend", null, `${node.id} — ${t(`ivr.kind.${node.kind}`)}`, form.entryNode === node.id ? h("span", { class: "badge badge-open" }, t("ivr.entryBadge")) : null),
      slot,
      h(
        "div",
        { class: "row" },
        field(errors, `${path}.id`, t("ivr.field.nodeId"), idInput, { class: "inline" }),
        field(errors, `${path}.kind`, t("ivr.field.kind"), kindSelect, { class: "inline" }),
        button(
          t("ivr.removeNode"),
          () => {
            form.nodes.splice(index, 1);
            rerender();
          },
          { class: "secondary small", "data-testid": "node-remove", "aria-label": `${t("ivr.removeNode")} ${node.id}` },
        ),
      ),
      isExitKind(node.kind) ? h("p", { class: "muted" }, t("ivr.exitHint")) : null,
      ...body,
    );
  }

  /** Menu options (key → node) or client statuses (status → node). */
  #pairs(
    errors: FormErrors,
    context: ViewContext,
    node: NodeForm,
    list: PairForm[],
    path: string,
    legendKey: Parameters<Translate>[0],
    keyLabel: Parameters<Translate>[0],
    addKey: Parameters<Translate>[0],
    others: readonly string[],
    dtmf: boolean,
  ): HTMLElement {
    const { t } = context;
    const rows = list.map((pair, i) => {
      const rowPath = `${path}.${pair.key}`;
      const key = textInput(pair.key, (v) => (pair.key = v), {
        class: "narrow",
        autocomplete: "off",
        "data-testid": dtmf ? "option-key" : "status-key",
        ...(dtmf ? { maxlength: 1, size: 2 } : { placeholder: "VIP" }),
        "aria-label": `${t(keyLabel)} ${i + 1}`,
      });
      const target = this.#nodeSelect(pair.target, (v) => (pair.target = v), others, false, t, {
        "data-testid": dtmf ? "option-target" : "status-target",
        "aria-label": `${t("ivr.field.next")} ${i + 1}`,
      });
      return h(
        "div",
        { class: "row pair", "data-testid": dtmf ? "menu-option" : "status-row" },
        key,
        " → ",
        target,
        button(
          t("queues.removeInterval"),
          () => {
            list.splice(i, 1);
            context.rerender();
          },
          { class: "secondary small" },
        ),
        errors.slot(rowPath, key, target),
      );
    });
    return h(
      "div",
      { class: "sub" },
      h("h4", null, t(legendKey)),
      ...rows,
      button(
        t(addKey),
        () => {
          const used = new Set(list.map((pair) => pair.key));
          const key = dtmf ? ([..."1234567890*#"].find((k) => !used.has(k)) ?? "") : "";
          list.push({ key, target: "" });
          context.rerender();
        },
        { class: "secondary small", "data-testid": dtmf ? "option-add" : "status-add", "aria-label": `${t(addKey)} (${node.id})` },
      ),
      errors.slot(path),
    );
  }

  #addNodeRow(context: ViewContext): HTMLElement {
    const { t } = context;
    const add = this.#newNode;
    const errors = new FormErrors(null, t, "ivr-add");
    const row = h(
      "div",
      { class: "row add-node", "data-testid": "node-add-row" },
      field(errors, "id", t("ivr.newNodeId"), textInput(add.id, (v) => (add.id = v), { autocomplete: "off", spellcheck: false, "data-testid": "node-new-id", placeholder: freshNodeId(this.#form) }), {
        class: "inline",
      }),
      field(
        errors,
        "kind",
        t("ivr.field.kind"),
        select(
          add.kind,
          NODE_KINDS.map((kind) => ({ value: kind, label: t(`ivr.kind.${kind}`) })),
          (v) => (add.kind = v as NodeKind),
          { "data-testid": "node-new-kind" },
        ),
        { class: "inline" },
      ),
      button(
        t("ivr.addNode"),
        () => {
          const id = add.id.trim() || freshNodeId(this.#form);
          if (!ID_PATTERN.test(id) || this.#form.nodes.some((node) => node.id === id)) {
            this.#problem = { status: 422, code: "validation-failed", errors: [{ field: `nodes.${id}`, message: id ? "duplicate node id" : "is required" }] };
          } else {
            this.#form.nodes.push(newNodeForm(id, add.kind));
            if (this.#form.nodes.length === 1) this.#form.entryNode = id;
            this.#newNode = { id: "", kind: add.kind };
          }
          context.rerender();
        },
        { class: "secondary", "data-testid": "node-add" },
      ),
    );
    errors.finish();
    return row;
  }

  #jsonSection(context: ViewContext): HTMLElement {
    const { t } = context;
    const text = this.#json ?? JSON.stringify(formToTree(this.#form, true), null, 2);
    const area = textArea(text, (v) => (this.#json = v), { rows: 16, class: "json", spellcheck: false, "data-testid": "ivr-json", id: "ivr-json" });
    const details = h(
      "details",
      { class: "json-view", "data-testid": "ivr-json-view", ...(this.#json !== null || this.#jsonProblem ? { open: true } : {}) },
      h("summary", null, t("ivr.json")),
      h("p", { class: "muted" }, t("ivr.jsonHint")),
      h("label", { for: "ivr-json", class: "visually-hidden" }, t("ivr.json")),
      area,
      this.#jsonProblem ? h("p", { class: "field-error", role: "alert" }, this.#jsonProblem) : null,
      h(
        "div",
        { class: "actions" },
        button(t("ivr.jsonApply"), () => this.#applyJson(context, area.value), { class: "secondary small", "data-testid": "ivr-json-apply" }),
        " ",
        button(
          t("ivr.jsonRefresh"),
          () => {
            this.#json = null;
            this.#jsonProblem = null;
            context.rerender();
          },
          { class: "secondary small" },
        ),
      ),
    );
    // Opening the view shows the current form as JSON.
    details.addEventListener("toggle", () => {
      if (details.open && this.#json === null) area.value = JSON.stringify(formToTree(this.#form, true), null, 2);
    });
    return details;
  }

  #applyJson(context: ViewContext, text: string): void {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || typeof (parsed as IvrTree).nodes !== "object") throw new Error("not a tree");
      const next = treeToForm(parsed as IvrTree);
      if (this.#id !== null) next.ivrId = this.#id;
      this.#form = next;
      this.#json = null;
      this.#jsonProblem = null;
      this.#checked = null;
    } catch {
      this.#jsonProblem = context.t("ivr.jsonInvalid");
    }
    context.rerender();
  }

  // ---- I/O ----

  async #load(context: ViewContext): Promise<void> {
    try {
      const [tree, list] = await Promise.all([this.#id !== null ? ivrs(context.api).get(this.#id) : Promise.resolve(null), queues(context.api).all().catch(() => [])]);
      if (tree) this.#form = treeToForm(tree);
      this.#queueIds = list.map((queue) => queue.queueId);
      this.#loaded = true;
    } catch (error) {
      this.#loadProblem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }

  async #check(context: ViewContext): Promise<void> {
    if (this.#checking) return;
    const local = checkIvrForm(this.#form, this.#id === null);
    if (local.length > 0) {
      this.#problem = { status: 422, code: "validation-failed", errors: local };
      this.#checked = { valid: false, count: local.length };
      context.rerender();
      return;
    }
    this.#checking = true;
    this.#json = null;
    context.rerender();
    try {
      const result = await validateIvr(context.api, formToTree(this.#form, true));
      this.#checked = { valid: result.valid, count: result.problems.length };
      this.#problem = result.valid ? null : { status: 422, code: "validation-failed", errors: result.problems };
    } catch (error) {
      this.#checked = null;
      this.#problem = asProblem(error);
    }
    this.#checking = false;
    if (!this.#disposed) context.rerender();
  }

  async #save(context: ViewContext): Promise<void> {
    if (this.#saving) return;
    const isNew = this.#id === null;
    const local = checkIvrForm(this.#form, isNew);
    this.#checked = null;
    if (local.length > 0) {
      this.#problem = { status: 422, code: "validation-failed", errors: local };
      context.rerender();
      return;
    }
    this.#saving = true;
    this.#problem = null;
    this.#json = null;
    context.rerender();
    try {
      const collection = ivrs(context.api);
      if (isNew) await collection.create(formToTree(this.#form, true));
      else await collection.replace(this.#id ?? "", formToTree(this.#form, false));
      this.#saving = false;
      setFlash(isNew ? "ivr.created" : "ivr.saved", { id: this.#id ?? this.#form.ivrId.trim() });
      if (!this.#disposed) context.navigate("/admin/ivrs");
      return;
    } catch (error) {
      this.#problem = isNew ? withConflictOnId(asProblem(error), "ivrId") : asProblem(error);
    }
    this.#saving = false;
    if (!this.#disposed) context.rerender();
  }
}

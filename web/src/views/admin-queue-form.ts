// Nová fronta / úprava fronty (ADM-4, ADM-7): basic data, weekly opening hours (up to four
// intervals a day), dated exceptions, Czech public holidays, the přepad, and the members
// with their skill level and priority.

import { queueMembers, queues, TARGET_KINDS, users, WEEKDAYS, type QueueMember, type Weekday } from "../api/admin";
import { withConflictOnId, type Problem } from "../api/problem";
import {
  checkQueueForm,
  formToQueue,
  MAX_INTERVALS_PER_DAY,
  newQueueForm,
  numberOrText,
  queueToForm,
  type IntervalForm,
  type QueueForm,
} from "../forms/queue-form";
import { hashFor } from "../router";
import { h } from "../ui/dom";
import { setFlash } from "./flash";
import { button, checkbox, checkboxField, field, FormErrors, pageSection, statusLine, textInput } from "./form";
import { asProblem, problemBox } from "./problem-box";
import { QueueRoutingSection } from "./admin-queue-routing";
import { targetField } from "./target-field";
import type { View, ViewContext } from "./view";

const GROUPS = ["KKC", "AS", "EXT"];

/** Times as typed text `HH:MM` (24 h), the same in every browser language. */
const TIME_ATTRS = { inputmode: "numeric", placeholder: "HH:MM", maxlength: 5, size: 5, pattern: "[0-2][0-9]:[0-5][0-9]", autocomplete: "off", class: "time" };

interface MemberRow {
  username: string;
  skillLevel: string;
  priority: string;
  /** The agent may not log in or out of the queue at the desk (DESK-3). */
  locked: boolean;
}

export class QueueFormView implements View {
  readonly #id: string | null;
  #form: QueueForm = newQueueForm();
  #loaded: boolean;
  #saving = false;
  #problem: Problem | null = null;
  #loadProblem: Problem | null = null;
  #queueIds: string[] = [];
  #usernames: string[] = [];
  #userNames = new Map<string, string>();
  #members: MemberRow[] = [];
  #newMember: MemberRow = { username: "", skillLevel: "5", priority: "5", locked: false };
  #memberProblem: Problem | null = null;
  #memberSaved: string | null = null;
  #disposed = false;
  /** Směrování: its own GET/PUT, not part of the queue document. */
  readonly #routing: QueueRoutingSection | null;

  /** `id` null = a new queue. */
  constructor(id: string | null) {
    this.#id = id;
    this.#loaded = false;
    this.#routing = id !== null ? new QueueRoutingSection(id) : null;
  }

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    if (!this.#started) {
      this.#started = true;
      void this.#load(context);
    }
    const title = this.#id === null ? "queues.new" : "queues.edit";
    if (!this.#loaded) {
      return pageSection(
        title,
        t,
        "queue-form-page",
        this.#loadProblem ? problemBox(this.#loadProblem, t) : h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")),
      );
    }
    const errors = new FormErrors(this.#problem, t, "q");
    const form = this.#form;
    const rerender = () => context.rerender();

    const idInput = textInput(form.queueId, (v) => (form.queueId = v), {
      "data-testid": "queue-id",
      autocomplete: "off",
      spellcheck: false,
      ...(this.#id !== null ? { readonly: true } : {}),
    });
    const basics = h(
      "fieldset",
      null,
      h("legend", null, t("queues.basics")),
      field(errors, "queueId", t("queues.field.id"), idInput, { required: true, hint: t("common.idHint") }),
      field(errors, "name", t("queues.field.name"), textInput(form.name, (v) => (form.name = v), { "data-testid": "queue-name" }), { required: true }),
      field(errors, "group", t("queues.field.group"), textInput(form.group, (v) => (form.group = v), { "data-testid": "queue-group", list: "q-groups" })),
      h("datalist", { id: "q-groups" }, ...GROUPS.map((value) => h("option", { value }))),
      field(
        errors,
        "priority",
        t("queues.field.priority"),
        textInput(form.priority, (v) => (form.priority = v), { type: "number", min: 1, max: 10, step: 1, "data-testid": "queue-priority" }),
        { hint: t("queues.field.priorityHint") },
      ),
    );

    const weekly = h(
      "fieldset",
      { "data-testid": "weekly-hours" },
      h("legend", null, t("queues.hours")),
      h("p", { class: "muted" }, t("queues.hoursHint")),
      ...WEEKDAYS.map((day) => this.#dayEditor(errors, context, day)),
    );

    const exceptions = h(
      "fieldset",
      { "data-testid": "exceptions" },
      h("legend", null, t("queues.exceptions")),
      form.exceptions.length === 0 ? h("p", { class: "muted" }, t("queues.exceptionsEmpty")) : null,
      ...form.exceptions.map((exception, i) => {
        const path = `schedule.exceptions[${i}]`;
        const date = textInput(exception.date, (v) => (exception.date = v), { type: "date", "data-testid": `exception-${i}-date` });
        const closed = checkbox(
          exception.closed,
          (value) => {
            exception.closed = value;
            if (!value && exception.intervals.length === 0) exception.intervals.push({ start: "", end: "" });
            rerender();
          },
          { "data-testid": `exception-${i}-closed` },
        );
        return h(
          "div",
          { class: "exception", "data-testid": `exception-${i}` },
          h(
            "div",
            { class: "row" },
            field(errors, `${path}.date`, t("queues.exceptionDate"), date, { required: true }),
            checkboxField(errors, `${path}.closed`, t("queues.closedAllDay"), closed),
            button(
              t("queues.removeException"),
              () => {
                form.exceptions.splice(i, 1);
                rerender();
              },
              { class: "secondary small", "data-testid": `exception-${i}-remove` },
            ),
          ),
          errors.slot(path),
          exception.closed
            ? null
            : this.#intervalsEditor(errors, context, `${path}.intervals`, exception.intervals, `${t("queues.exceptionDate")} ${exception.date}`, `exception-${i}`),
        );
      }),
      button(
        t("queues.addException"),
        () => {
          form.exceptions.push({ date: "", closed: true, intervals: [] });
          rerender();
        },
        { class: "secondary small", "data-testid": "add-exception" },
      ),
      errors.slot("schedule.exceptions"),
    );

    const holidays = checkboxField(
      errors,
      "schedule.closedOnPublicHolidays",
      t("queues.closedOnHolidays"),
      checkbox(form.closedOnPublicHolidays, (v) => (form.closedOnPublicHolidays = v), { "data-testid": "queue-holidays" }),
    );

    const overflow = h(
      "fieldset",
      null,
      h("legend", null, t("queues.overflow")),
      h("p", { class: "muted" }, t("queues.overflowHint")),
      targetField({
        errors,
        path: "overflow",
        label: t("queues.overflowKind"),
        form: form.overflow,
        kinds: TARGET_KINDS,
        optional: true,
        t,
        changed: rerender,
        queueIds: this.#queueIds.filter((id) => id !== this.#id),
        usernames: this.#usernames,
        testId: "overflow",
      }),
    );

    const formElement = h(
      "form",
      {
        class: "form wide",
        "data-testid": "queue-form",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#save(context);
          },
        },
      },
      errors.box(),
      basics,
      weekly,
      h("fieldset", null, h("legend", null, t("queues.schedule")), holidays, errors.slot("schedule")),
      exceptions,
      overflow,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", "data-testid": "queue-save", ...(this.#saving ? { disabled: true } : {}) }, t(this.#saving ? "common.saving" : "common.save")),
        " ",
        h("a", { href: hashFor("/admin/queues"), class: "button secondary" }, t("common.cancel")),
      ),
    );
    errors.finish();

    return pageSection(
      title,
      t,
      "queue-form-page",
      formElement,
      this.#id !== null ? this.#membersSection(context) : null,
      this.#routing ? this.#routing.render(context) : null,
    );
  }

  #started = false;

  dispose(): void {
    this.#disposed = true;
    if (this.#routing) this.#routing.disposed = true;
  }

  #dayEditor(errors: FormErrors, context: ViewContext, day: Weekday): HTMLElement {
    const { t } = context;
    const dayName = t(`day.${day}`);
    return h(
      "div",
      { class: "day", "data-testid": `day-${day}` },
      h("h3", { class: "day-name" }, dayName),
      this.#intervalsEditor(errors, context, `schedule.weekly.${day}`, this.#form.weekly[day], dayName, `interval-${day}`),
    );
  }

  /** The intervals of one day: rows of from–to, add and remove buttons. */
  #intervalsEditor(errors: FormErrors, context: ViewContext, path: string, list: IntervalForm[], context_label: string, testId: string): HTMLElement {
    const { t } = context;
    const rows = list.map((interval, i) => {
      const rowPath = `${path}[${i}]`;
      const start = textInput(interval.start, (v) => (interval.start = v), {
        ...TIME_ATTRS,
        "data-testid": `${testId}-${i}-start`,
        "aria-label": `${context_label}, ${t("queues.interval", { n: i + 1 })}, ${t("queues.from")}`,
      });
      const end = textInput(interval.end, (v) => (interval.end = v), {
        ...TIME_ATTRS,
        "data-testid": `${testId}-${i}-end`,
        "aria-label": `${context_label}, ${t("queues.interval", { n: i + 1 })}, ${t("queues.to")}`,
      });
      return h(
        "div",
        { class: "interval row", "data-testid": `${testId}-${i}` },
        field(errors, `${rowPath}.start`, t("queues.from"), start, { class: "inline" }),
        field(errors, `${rowPath}.end`, t("queues.to"), end, { class: "inline" }),
        button(
          t("queues.removeInterval"),
          () => {
            list.splice(i, 1);
            context.rerender();
          },
          { class: "secondary small", "data-testid": `${testId}-${i}-remove`, "aria-label": `${t("queues.removeInterval")}: ${context_label} ${i + 1}` },
        ),
        errors.slot(rowPath, start, end),
      );
    });
    return h(
      "div",
      { class: "intervals" },
      list.length === 0 ? h("p", { class: "muted closed-day" }, t("queues.closedDay")) : null,
      ...rows,
      list.length < MAX_INTERVALS_PER_DAY
        ? button(
            t("queues.addInterval"),
            () => {
              const last = list.at(-1);
              list.push(last ? { start: last.end === "00:00" ? "" : last.end, end: "" } : { start: "08:00", end: "16:30" });
              context.rerender();
            },
            { class: "secondary small", "data-testid": `add-${testId}`, "aria-label": `${t("queues.addInterval")}: ${context_label}` },
          )
        : null,
      errors.slot(path),
    );
  }

  #membersSection(context: ViewContext): HTMLElement {
    const { t } = context;
    const errors = new FormErrors(this.#memberProblem, t, "m");
    const rows = this.#members.map((member) =>
      h(
        "tr",
        { "data-username": member.username },
        h("td", null, member.username),
        h("td", null, this.#userNames.get(member.username) ?? ""),
        h(
          "td",
          null,
          textInput(member.skillLevel, (v) => (member.skillLevel = v), {
            type: "number",
            min: 1,
            max: 10,
            class: "narrow",
            "data-testid": "member-skill",
            "aria-label": `${t("members.skill")}: ${member.username}`,
          }),
        ),
        h(
          "td",
          null,
          textInput(member.priority, (v) => (member.priority = v), {
            type: "number",
            min: 1,
            max: 10,
            class: "narrow",
            "data-testid": "member-priority",
            "aria-label": `${t("members.priority")}: ${member.username}`,
          }),
        ),
        h(
          "td",
          null,
          checkbox(member.locked, (v) => (member.locked = v), {
            "data-testid": "member-locked",
            "aria-label": `${t("members.locked")}: ${member.username}`,
          }),
        ),
        h(
          "td",
          null,
          button(t("common.save"), () => void this.#saveMember(context, member, false), { class: "secondary small", "data-testid": "member-save" }),
          " ",
          button(t("members.remove"), () => void this.#removeMember(context, member.username), { class: "secondary small", "data-testid": "member-remove" }),
        ),
      ),
    );
    const add = this.#newMember;
    const addForm = h(
      "form",
      {
        class: "row",
        "data-testid": "member-add-form",
        novalidate: true,
        on: {
          submit: (event) => {
            event.preventDefault();
            void this.#saveMember(context, add, true);
          },
        },
      },
      field(errors, "username", t("members.username"), textInput(add.username, (v) => (add.username = v), { list: "m-users", autocomplete: "off", "data-testid": "member-username" }), {
        class: "inline",
      }),
      h("datalist", { id: "m-users" }, ...this.#usernames.map((value) => h("option", { value }, this.#userNames.get(value) ?? value))),
      field(errors, "skillLevel", t("members.skill"), textInput(add.skillLevel, (v) => (add.skillLevel = v), { type: "number", min: 1, max: 10, "data-testid": "member-new-skill" }), {
        class: "inline",
      }),
      field(errors, "priority", t("members.priority"), textInput(add.priority, (v) => (add.priority = v), { type: "number", min: 1, max: 10, "data-testid": "member-new-priority" }), {
        class: "inline",
      }),
      h("button", { type: "submit", class: "secondary", "data-testid": "member-add" }, t("members.add")),
    );
    const section = h(
      "section",
      { "aria-labelledby": "members-title", "data-testid": "members" },
      h("h2", { id: "members-title" }, t("members.title")),
      h("p", { class: "muted" }, t("members.hint")),
      statusLine(this.#memberSaved, "member-saved"),
      errors.box(),
      h(
        "table",
        { class: "data", "data-testid": "members-table" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ...(["members.username", "members.name", "members.skill", "members.priority", "members.locked", "common.actions"] as const).map((key) => h("th", { scope: "col" }, t(key))),
          ),
        ),
        h("tbody", null, ...rows),
      ),
      this.#members.length === 0 ? h("p", null, t("members.empty")) : null,
      addForm,
    );
    errors.finish();
    return section;
  }

  async #load(context: ViewContext): Promise<void> {
    try {
      const api = context.api;
      const [queue, list, people, members] = await Promise.all([
        this.#id !== null ? queues(api).get(this.#id) : Promise.resolve(null),
        queues(api).all().catch(() => []),
        users(api).all(5).catch(() => []),
        this.#id !== null ? queueMembers(api, this.#id).all().catch(() => [] as QueueMember[]) : Promise.resolve([] as QueueMember[]),
      ]);
      if (queue) this.#form = queueToForm(queue);
      this.#queueIds = list.map((q) => q.queueId);
      this.#usernames = people.map((user) => user.username);
      this.#userNames = new Map(people.map((user) => [user.username, user.displayName]));
      this.#members = members.map(memberRow);
      this.#loaded = true;
    } catch (error) {
      this.#loadProblem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }

  async #save(context: ViewContext): Promise<void> {
    if (this.#saving) return;
    const isNew = this.#id === null;
    const local = checkQueueForm(this.#form, isNew);
    if (local.length > 0) {
      this.#problem = { status: 422, code: "validation-failed", errors: local };
      context.rerender();
      return;
    }
    this.#saving = true;
    this.#problem = null;
    context.rerender();
    try {
      const collection = queues(context.api);
      const saved = isNew ? await collection.create(formToQueue(this.#form, true)) : await collection.replace(this.#id ?? "", formToQueue(this.#form, false));
      this.#saving = false;
      setFlash(isNew ? "queues.created" : "queues.saved", { id: saved?.queueId ?? this.#form.queueId });
      if (!this.#disposed) context.navigate("/admin/queues");
      return;
    } catch (error) {
      this.#problem = isNew ? withConflictOnId(asProblem(error), "queueId") : asProblem(error);
    }
    this.#saving = false;
    if (!this.#disposed) context.rerender();
  }

  async #saveMember(context: ViewContext, member: MemberRow, isNew: boolean): Promise<void> {
    const username = member.username.trim();
    this.#memberSaved = null;
    this.#memberProblem = null;
    if (!username) {
      this.#memberProblem = { status: 422, code: "validation-failed", errors: [{ field: "username", message: "is required" }] };
      context.rerender();
      return;
    }
    try {
      const saved = (await context.api.call("PUT", `/api/admin/queues/${encodeURIComponent(this.#id ?? "")}/members/${encodeURIComponent(username)}`, {
        skillLevel: numberOrText(member.skillLevel),
        priority: numberOrText(member.priority),
        locked: member.locked,
      })) as Partial<QueueMember> | null;
      const row = memberRow({ queueId: this.#id ?? "", username, skillLevel: Number(member.skillLevel), priority: Number(member.priority), locked: member.locked, ...(saved ?? {}) });
      this.#members = [...this.#members.filter((m) => m.username !== username), row].sort((a, b) => a.username.localeCompare(b.username));
      if (isNew) this.#newMember = { username: "", skillLevel: "5", priority: "5", locked: false };
      this.#memberSaved = context.t("members.saved", { username });
    } catch (error) {
      this.#memberProblem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }

  async #removeMember(context: ViewContext, username: string): Promise<void> {
    this.#memberSaved = null;
    this.#memberProblem = null;
    try {
      await queueMembers(context.api, this.#id ?? "").remove(username);
      this.#members = this.#members.filter((m) => m.username !== username);
      this.#memberSaved = context.t("members.removed", { username });
    } catch (error) {
      this.#memberProblem = asProblem(error);
    }
    if (!this.#disposed) context.rerender();
  }
}

function memberRow(member: QueueMember): MemberRow {
  return { username: member.username, skillLevel: String(member.skillLevel ?? ""), priority: String(member.priority ?? ""), locked: member.locked ?? false };
}

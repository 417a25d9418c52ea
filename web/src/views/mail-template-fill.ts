// E-mail templates at the desk (OMNI-2): the placeholders of a template the administrator
// prepared, filled in when the agent picks it in the e-mail form — `{{jmeno}}` the customer's
// name (nothing when unknown), `{{agent}}` the agent's name, `{{datum}}` today (`28. 11. 2026`).
// The same rule as the server's reference (shared/src/chat/mail_templates.rs `fill`): after the
// replacements every " ," becomes "," (so "Dobrý den {{jmeno}}," without a name reads "Dobrý den,").

import type { MailTemplate } from "../api/chat";

export type { MailTemplate };

/** What the placeholders stand for. */
export interface TemplateValues {
  /** The customer's name; null or empty when unknown. */
  customerName?: string | null;
  agentName: string;
  /** Today, as `d. m. yyyy`. */
  date: string;
}

/** The placeholders a template may use (the server refuses any other). */
export const PLACEHOLDERS = ["{{jmeno}}", "{{agent}}", "{{datum}}"] as const;

/** `text` with its placeholders filled in. */
export function fillTemplate(text: string, values: TemplateValues): string {
  const filled = text
    .replaceAll("{{jmeno}}", values.customerName?.trim() ?? "")
    .replaceAll("{{agent}}", values.agentName)
    .replaceAll("{{datum}}", values.date);
  return filled.replaceAll(" ,", ",");
}

/** The subject and the text of an e-mail started from `template`. */
export function fillMailTemplate(template: Pick<MailTemplate, "subject" | "body">, values: TemplateValues): { subject: string; text: string } {
  return { subject: fillTemplate(template.subject, values), text: fillTemplate(template.body, values) };
}

/** A day in Czech notation, `d. m. yyyy` (`28. 11. 2026`), as it is in `timeZone` at `at`. */
export function czechDay(at: Date, timeZone = "Europe/Prague"): string {
  const parts = new Intl.DateTimeFormat("en-GB", { timeZone, year: "numeric", month: "numeric", day: "numeric" }).formatToParts(at);
  const part = (type: string) => Number(parts.find((entry) => entry.type === type)?.value ?? "0");
  return `${part("day")}. ${part("month")}. ${part("year")}`;
}

/** The active templates of a list, by name (Czech order), each once. */
export function offeredTemplates(list: readonly MailTemplate[]): MailTemplate[] {
  const seen = new Set<string>();
  return list
    .filter((template) => template.active !== false && typeof template.templateId === "string" && !seen.has(template.templateId) && seen.add(template.templateId))
    .sort((a, b) => a.name.localeCompare(b.name, "cs") || a.templateId.localeCompare(b.templateId));
}

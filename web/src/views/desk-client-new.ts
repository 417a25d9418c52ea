// A client entered by hand (IN-15 for a call, CHAT-4 for a chat): the pure parts both forms
// share — the fields' order, what is prefilled from the caller or the chat's customer, what is
// sent to POST /api/clients and how missing or refused fields are named. The form itself is
// `newClientForm` in desk-client.ts.

import type { ClientField } from "../api/desk";
import type { Problem } from "../api/problem";
import type { Locale } from "../i18n";

/** The fields of a new client in the form's order: the card's (inCard) first, each in the admin's order. */
export function newClientFieldOrder(fields: readonly ClientField[]): ClientField[] {
  return [...fields].sort((a, b) => Number(b.inCard) - Number(a.inCard) || a.order - b.order);
}

/** What is known of the person: a caller's number, a chat customer's name, e-mail and phone. */
export interface KnownPerson {
  name?: string | null;
  email?: string | null;
  phone?: string | null;
}

/**
 * A name as a person gave it split into the first name(s) and the surname (the last word).
 * Titles and abbreviations (words with a dot: "Ing.", "Ph.D.") and commas are left out; one
 * word is taken as the first name (the agent asks for the surname).
 */
export function splitPersonName(name: string): { first: string; last: string } {
  const words = name
    .replace(/,/g, " ")
    .split(/\s+/)
    .filter((word) => word && !word.includes("."));
  if (words.length === 0) return { first: "", last: "" };
  if (words.length === 1) return { first: words[0]!, last: "" };
  return { first: words.slice(0, -1).join(" "), last: words[words.length - 1]! };
}

/**
 * The values a new client's form starts with, for the fields there are: the e-mail into
 * `email`, the number into `phone` (else `mobile`), the name into `firstName`/`lastName` (or
 * whole into the one of them there is, else into `name`).
 */
export function knownClientValues(fields: readonly ClientField[], person: KnownPerson): Record<string, string> {
  const keys = new Set(fields.map((field) => field.key));
  const values: Record<string, string> = {};
  const put = (key: string, value: string) => {
    if (value && keys.has(key)) values[key] = value;
  };
  const email = person.email?.trim() ?? "";
  const phone = person.phone?.trim() ?? "";
  const name = person.name?.trim() ?? "";
  put("email", email);
  put(keys.has("phone") ? "phone" : "mobile", phone);
  if (name) {
    if (keys.has("firstName") && keys.has("lastName")) {
      const { first, last } = splitPersonName(name);
      put("firstName", first);
      put("lastName", last);
    } else {
      put(keys.has("lastName") ? "lastName" : keys.has("firstName") ? "firstName" : "name", name);
    }
  }
  return values;
}

/** The fields sent to create the client: the values typed, trimmed, the empty ones left out. */
export function clientFieldsToCreate(values: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values)
      .map(([key, value]) => [key, value.trim()] as const)
      .filter(([, value]) => value !== ""),
  );
}

/** The labels of the fields `keys` in the UI language, joined ("Příjmení, E-mail"); a key when there is no label. */
export function fieldLabels(fields: readonly ClientField[], keys: readonly string[], locale: Locale): string {
  return keys.map((key) => fields.find((field) => field.key === key)?.label?.[locale] ?? key).join(", ");
}

/**
 * A client API's problem with its field errors named by the fields' labels (`fields.email` →
 * "E-mail"), for the problem box; other errors and problems as they are.
 */
export function labelFieldErrors(problem: Problem, fields: readonly ClientField[], locale: Locale): Problem {
  if (!problem.errors?.length) return problem;
  const label = (path: string) => {
    const match = /^fields\.(.+)$/.exec(path);
    const field = match ? fields.find((entry) => entry.key === match[1]) : undefined;
    return field ? field.label?.[locale] || field.label?.cs || field.key : path;
  };
  return { ...problem, errors: problem.errors.map((error) => ({ ...error, field: label(error.field) })) };
}

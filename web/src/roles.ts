import type { MessageKey, Params } from "./i18n";
import { cs } from "./i18n/cs";

export type Translate = (key: MessageKey, params?: Params) => string;

export function hasAnyRole(roles: readonly string[], wanted: readonly string[]): boolean {
  return wanted.some((role) => roles.includes(role));
}

/** The UI name of a role claim; an unknown role is shown as it is. */
export function roleLabel(role: string, t: Translate): string {
  const key = `role.${role}`;
  return key in cs ? t(key as MessageKey) : role;
}

export function roleLabels(roles: readonly string[], t: Translate): string {
  return roles.map((role) => roleLabel(role, t)).join(", ");
}

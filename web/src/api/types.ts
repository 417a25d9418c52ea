// Shapes of the Linka HTTP API that the app reads (docs/api/openapi.yaml is the reference).
// The readers are lenient: `name` or `displayName`, a bare array or a cursor page.

export interface Me {
  username: string;
  name: string;
  roles: string[];
  groups: string[];
  email?: string;
  agentNumber?: string;
}

export interface UserSummary {
  username: string;
  name: string;
  roles: string[];
  groups: string[];
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface BroadcastRequest {
  text: string;
  severity: Severity;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function readUser(value: unknown): UserSummary {
  const r = record(value);
  const username = optionalString(r["username"]) ?? optionalString(r["preferred_username"]) ?? "";
  return {
    username,
    name: optionalString(r["name"]) ?? optionalString(r["displayName"]) ?? username,
    roles: strings(r["roles"]),
    groups: strings(r["groups"]),
  };
}

export function readMe(value: unknown): Me {
  const r = record(value);
  const me: Me = readUser(value);
  const email = optionalString(r["email"]);
  const agentNumber = optionalString(r["agentNumber"]);
  return {
    ...me,
    ...(email ? { email } : {}),
    ...(agentNumber ? { agentNumber } : {}),
  };
}

export function readUserPage(value: unknown): Page<UserSummary> {
  if (Array.isArray(value)) {
    return { items: value.map(readUser), nextCursor: null };
  }
  const r = record(value);
  const items = Array.isArray(r["items"]) ? r["items"] : Array.isArray(r["users"]) ? r["users"] : [];
  return {
    items: items.map(readUser),
    nextCursor: optionalString(r["nextCursor"]) ?? optionalString(r["cursor"]) ?? null,
  };
}

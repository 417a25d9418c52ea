// RFC 9457 problem details, as every Linka API answers errors, and their Czech/English text.

import type { MessageKey, Params } from "../i18n";

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  /** Stable, machine-readable error code, e.g. `forbidden` or `validation-failed`. */
  code?: string;
  errors?: FieldError[];
}

/** The stable problem codes the UI has its own message for. */
const CODE_MESSAGES: Readonly<Record<string, MessageKey>> = {
  unauthorized: "error.unauthorized",
  forbidden: "error.forbidden",
  "not-found": "error.not-found",
  "validation-failed": "error.validation-failed",
  conflict: "error.conflict",
  "payload-too-large": "error.payload-too-large",
  "unsupported-media-type": "error.unsupported-media-type",
  "rate-limited": "error.rate-limited",
  "too-many-requests": "error.rate-limited",
  "service-unavailable": "error.service-unavailable",
  internal: "error.internal",
  "internal-error": "error.internal",
  network: "error.network",
  "queue-has-members": "error.queue-has-members",
};

/** Families of codes named `<noun>-<suffix>` (e.g. `queue-exists`, `transfer-group-in-use`). */
const SUFFIX_MESSAGES: readonly [string, MessageKey][] = [
  ["-exists", "error.exists"],
  ["-in-use", "error.in-use"],
  ["-not-found", "error.not-found"],
];

/** Parses a problem+json (or any JSON error) body; anything else becomes `{status}`. */
export function toProblem(status: number, body: unknown): Problem {
  const problem: Problem = { status };
  if (typeof body !== "object" || body === null) {
    return problem;
  }
  const record = body as Record<string, unknown>;
  for (const key of ["type", "title", "detail", "code"] as const) {
    const value = record[key];
    if (typeof value === "string") {
      problem[key] = value;
    }
  }
  if (typeof record["status"] === "number") {
    problem.status = record["status"];
  }
  if (Array.isArray(record["errors"])) {
    problem.errors = record["errors"].flatMap((item: unknown) => {
      if (typeof item !== "object" || item === null) {
        return [];
      }
      const { field, message } = item as Record<string, unknown>;
      return typeof field === "string" && typeof message === "string" ? [{ field, message }] : [];
    });
  }
  return problem;
}

/** For answers without a known code (e.g. the gateway's own `{"message":"Not Found"}`). */
const STATUS_MESSAGES: Readonly<Record<number, MessageKey>> = {
  401: "error.unauthorized",
  403: "error.forbidden",
  404: "error.not-found",
  409: "error.conflict",
  413: "error.payload-too-large",
  415: "error.unsupported-media-type",
  422: "error.validation-failed",
  429: "error.rate-limited",
  500: "error.internal",
  502: "error.service-unavailable",
  503: "error.service-unavailable",
  504: "error.service-unavailable",
};

/**
 * The message to show for a problem: one per known code; without a known code, one per
 * well-known status; else a generic message with the status.
 */
export function problemMessage(problem: Problem): { key: MessageKey; params?: Params } {
  const byCode = problem.code ? CODE_MESSAGES[problem.code] : undefined;
  if (byCode) {
    return { key: byCode };
  }
  const bySuffix = problem.code ? SUFFIX_MESSAGES.find(([suffix]) => problem.code?.endsWith(suffix)) : undefined;
  if (bySuffix) {
    return { key: bySuffix[1] };
  }
  const byStatus = problem.status ? STATUS_MESSAGES[problem.status] : undefined;
  if (byStatus) {
    return { key: byStatus };
  }
  if (problem.status === undefined || problem.status === 0) {
    return { key: "error.genericNoStatus" };
  }
  return { key: "error.generic", params: { status: problem.status } };
}

/** A 409 on a create means the id is taken: say so at the id field too. */
export function withConflictOnId(problem: Problem, idField: string): Problem {
  if (problem.status !== 409) {
    return problem;
  }
  return { ...problem, errors: [...(problem.errors ?? []), { field: idField, message: "already exists" }] };
}

export function describeProblem(
  problem: Problem,
  t: (key: MessageKey, params?: Params) => string,
): string {
  const { key, params } = problemMessage(problem);
  return t(key, params);
}

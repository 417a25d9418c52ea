import { describeProblem, type FieldError, type Problem } from "../api/problem";
import { fieldErrorMessage } from "../forms/field-errors";
import type { Translate } from "../roles";
import { h } from "../ui/dom";

/**
 * An error message for a problem, with the field errors of a failed validation that no form
 * field shows itself (`field: message`, the message in the UI language).
 */
export function problemBox(problem: Problem, t: Translate, describe?: (error: FieldError) => string): HTMLElement {
  const text =
    describe ??
    ((error: FieldError) => {
      const { key, params } = fieldErrorMessage(error);
      return t(key, params);
    });
  return h(
    "div",
    { class: "alert alert-error", role: "alert", "data-testid": "problem", "data-code": problem.code ?? "" },
    h("p", null, describeProblem(problem, t)),
    problem.errors && problem.errors.length > 0
      ? h("ul", null, ...problem.errors.map((error) => h("li", { title: error.message }, `${error.field}: ${text(error)}`)))
      : null,
  );
}

export function asProblem(error: unknown): Problem {
  if (typeof error === "object" && error !== null && "problem" in error) {
    return (error as { problem: Problem }).problem;
  }
  return { status: 0 };
}

import { describeProblem, type Problem } from "../api/problem";
import type { Translate } from "../roles";
import { h } from "../ui/dom";

/** An error message for a problem, with the field errors of a failed validation. */
export function problemBox(problem: Problem, t: Translate): HTMLElement {
  return h(
    "div",
    { class: "alert alert-error", role: "alert", "data-testid": "problem", "data-code": problem.code ?? "" },
    h("p", null, describeProblem(problem, t)),
    problem.errors && problem.errors.length > 0
      ? h("ul", null, ...problem.errors.map((error) => h("li", null, `${error.field}: ${error.message}`)))
      : null,
  );
}

export function asProblem(error: unknown): Problem {
  if (typeof error === "object" && error !== null && "problem" in error) {
    return (error as { problem: Problem }).problem;
  }
  return { status: 0 };
}

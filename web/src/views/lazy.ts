// A page whose module is loaded on first use (its own JavaScript chunk), so that the big
// admin editors do not weigh on the first load of the app.

import { h } from "../ui/dom";
import { asProblem, problemBox } from "./problem-box";
import type { View, ViewContext } from "./view";

export function lazyView(load: () => Promise<() => View>): View {
  let inner: View | null = null;
  let failed: unknown = null;
  let started = false;
  let disposed = false;
  return {
    render(context: ViewContext): HTMLElement {
      if (inner) return inner.render(context);
      if (!started) {
        started = true;
        load().then(
          (create) => {
            if (disposed) return;
            inner = create();
            context.rerender();
          },
          (error: unknown) => {
            failed = error;
            if (!disposed) context.rerender();
          },
        );
      }
      return h(
        "section",
        { class: "page" },
        failed ? problemBox(asProblem(failed), context.t) : h("p", { class: "muted", "aria-live": "polite" }, context.t("app.loading")),
      );
    },
    dispose(): void {
      disposed = true;
      inner?.dispose?.();
    },
  };
}

import type { Problem } from "../api/problem";
import type { UserSummary } from "../api/types";
import { hashFor } from "../router";
import { roleLabels } from "../roles";
import { h } from "../ui/dom";
import { takeFlash } from "./flash";
import { statusLine } from "./form";
import { asProblem, problemBox } from "./problem-box";
import type { View, ViewContext } from "./view";

/** The user list of the administration (GET /api/admin/users, by cursor); links to the form. */
export class AdminUsersView implements View {
  #items: UserSummary[] = [];
  #nextCursor: string | null = null;
  #loading = false;
  #loaded = false;
  #problem: Problem | null = null;
  #disposed = false;
  #flash = takeFlash();

  render(context: ViewContext): HTMLElement {
    const { t } = context;
    if (!this.#loaded && !this.#loading && !this.#problem) {
      void this.#load(context, null);
    }
    const header = h(
      "tr",
      null,
      h("th", { scope: "col" }, t("admin.col.username")),
      h("th", { scope: "col" }, t("admin.col.name")),
      h("th", { scope: "col" }, t("admin.col.roles")),
      h("th", { scope: "col" }, t("admin.col.groups")),
    );
    const rows = this.#items.map((user) =>
      h(
        "tr",
        { "data-username": user.username },
        h("td", null, h("a", { href: hashFor(`/admin/users/edit/${encodeURIComponent(user.username)}`), "data-testid": "user-edit" }, user.username)),
        h("td", null, user.name),
        h("td", null, roleLabels(user.roles, t)),
        h("td", null, user.groups.join(", ")),
      ),
    );
    return h(
      "section",
      { class: "page", "aria-labelledby": "page-title", "data-testid": "users-page" },
      h("h1", { id: "page-title" }, t("admin.title")),
      statusLine(this.#flash ? t(this.#flash.key, this.#flash.params) : null),
      h("p", null, h("a", { href: hashFor("/admin/users/new"), class: "button", "data-testid": "user-new" }, t("users.new"))),
      this.#problem ? problemBox(this.#problem, t) : null,
      this.#loaded || this.#items.length > 0
        ? h(
            "table",
            { class: "data", "data-testid": "users-table" },
            h("thead", null, header),
            h("tbody", null, ...rows),
          )
        : null,
      this.#loaded && this.#items.length === 0 ? h("p", null, t("admin.empty")) : null,
      this.#loaded ? h("p", { class: "muted" }, t("admin.count", { count: this.#items.length })) : null,
      this.#loading ? h("p", { class: "muted", "aria-live": "polite" }, t("app.loading")) : null,
      this.#nextCursor && !this.#loading
        ? h(
            "button",
            { type: "button", class: "secondary", on: { click: () => void this.#load(context, this.#nextCursor) } },
            t("admin.more"),
          )
        : null,
    );
  }

  dispose(): void {
    this.#disposed = true;
  }

  async #load(context: ViewContext, cursor: string | null): Promise<void> {
    this.#loading = true;
    this.#problem = null;
    try {
      const page = await context.api.users(cursor);
      this.#items = cursor ? [...this.#items, ...page.items] : page.items;
      this.#nextCursor = page.nextCursor;
      this.#loaded = true;
    } catch (error) {
      this.#problem = asProblem(error);
    } finally {
      this.#loading = false;
    }
    if (!this.#disposed) {
      context.rerender();
    }
  }
}

import { ApiClient } from "./api/client";
import type { Me } from "./api/types";
import { LoginError, OidcClient } from "./auth/oidc";
import type { Session, SessionStore } from "./auth/session";
import type { I18n, MessageKey, Params } from "./i18n";
import { LiveConnection, liveUrl } from "./live/live";
import { hasAnyRole, roleLabels } from "./roles";
import { hashFor, matchRoute, pathFromHash, type RouteDef } from "./router";
import { h, keepingFocus, replaceChildren } from "./ui/dom";
import { ADMIN_ROUTES, adminNav } from "./views/admin-routes";
import { AdminUsersView } from "./views/admin-users";
import { lazyView } from "./views/lazy";
import { renderLivePanel } from "./views/live-panel";
import { NoticesView } from "./views/notices";
import { OverviewView } from "./views/overview";
import { asProblem, problemBox } from "./views/problem-box";
import type { View, ViewContext } from "./views/view";

/** The pages and who may see them; the admin pages (not in the main menu) have their own. */
export const ROUTES: readonly RouteDef<View>[] = [
  { path: "/", labelKey: "nav.overview", roles: null, create: () => new OverviewView() },
  // Zpětná volání and Hlasová schránka: each its own chunk, loaded on first use.
  // Pracoviště (the agent desk): its own chunk.
  { path: "/desk", labelKey: "nav.desk", roles: ["agent", "supervisor"], create: () => lazyView(() => import("./views/desk").then((m) => () => new m.DeskView())) },
  { path: "/callbacks", labelKey: "nav.callbacks", roles: ["agent", "supervisor", "admin", "callbacks"], create: () => lazyView(() => import("./views/callbacks").then((m) => () => new m.CallbacksView())) },
  { path: "/voicemails", labelKey: "nav.voicemails", roles: ["agent", "supervisor", "admin", "callbacks"], create: () => lazyView(() => import("./views/voicemails").then((m) => () => new m.VoicemailsView())) },
  { path: "/notices", labelKey: "nav.notices", roles: ["supervisor", "admin"], create: () => new NoticesView() },
  { path: "/admin", labelKey: "nav.admin", roles: ["admin"], create: () => new AdminUsersView() },
  ...ADMIN_ROUTES,
];

type Message = { key: MessageKey; params?: Params };
/** A message for the login page; `reason` is translated and passed as its `{reason}`. */
type Notice = Message & { reason?: Message };

type AppState =
  | { kind: "anonymous"; notice: Notice | null }
  | { kind: "busy"; messageKey: MessageKey }
  | { kind: "failed"; session: Session; error: unknown }
  | { kind: "signed-in"; session: Session; me: Me };

export interface AppDeps {
  root: HTMLElement;
  i18n: I18n;
  store: SessionStore;
  oidc: OidcClient;
  window: Window;
}

export class App {
  readonly #deps: AppDeps;
  readonly #api: ApiClient;
  readonly #live: LiveConnection;
  #state: AppState = { kind: "busy", messageKey: "app.loading" };
  #view: { path: string; view: View } | null = null;
  #main: HTMLElement | null = null;
  #livePanel: HTMLElement | null = null;
  #expiryTimer: ReturnType<typeof setTimeout> | null = null;
  #tickTimer: ReturnType<typeof setInterval> | null = null;

  constructor(deps: AppDeps) {
    this.#deps = deps;
    this.#api = new ApiClient({
      baseUrl: "",
      accessToken: () => this.#session()?.accessToken ?? null,
      onUnauthorized: () => this.#endSession({ key: "login.expired" }),
    });
    this.#live = new LiveConnection({
      url: () => {
        const session = this.#session();
        return session ? liveUrl(deps.window.location, session.accessToken) : null;
      },
      // A 401 here ends the session through onUnauthorized; other errors change nothing.
      onRepeatedFailure: () => void this.#api.me().catch(() => undefined),
    });
    this.#live.subscribe(() => this.#renderLivePanel());
    deps.i18n.onChange(() => this.#render());
    deps.window.addEventListener("hashchange", () => this.#renderMain());
  }

  async start(): Promise<void> {
    const { window: win, oidc, store } = this.#deps;
    const url = new URL(win.location.href);
    if (OidcClient.isCallback(url)) {
      this.#setState({ kind: "busy", messageKey: "login.inProgress" });
      try {
        const { returnTo } = await oidc.completeLogin(url);
        win.history.replaceState(null, "", `${url.pathname}${returnTo}`);
      } catch (error) {
        win.history.replaceState(null, "", url.pathname);
        this.#setState({ kind: "anonymous", notice: loginFailure(error) });
        return;
      }
    }
    const session = store.load();
    if (!session) {
      this.#setState({ kind: "anonymous", notice: null });
      return;
    }
    await this.#enter(session);
  }

  async #enter(session: Session): Promise<void> {
    this.#setState({ kind: "busy", messageKey: "app.loading" });
    try {
      const me = await this.#api.me();
      this.#setState({ kind: "signed-in", session, me });
      this.#scheduleExpiry(session);
      this.#live.start();
    } catch (error) {
      if (this.#state.kind === "busy") {
        this.#setState({ kind: "failed", session, error });
      }
    }
  }

  async #login(): Promise<void> {
    const { window: win, oidc } = this.#deps;
    try {
      const returnTo = win.location.hash || hashFor("/");
      win.location.assign(await oidc.authorizationUrl(returnTo));
    } catch (error) {
      this.#setState({ kind: "anonymous", notice: loginFailure(error) });
    }
  }

  #logout(): void {
    this.#endSession(null);
  }

  #endSession(notice: Notice | null): void {
    this.#live.stop();
    this.#deps.store.clear();
    if (this.#expiryTimer !== null) {
      clearTimeout(this.#expiryTimer);
      this.#expiryTimer = null;
    }
    this.#setState({ kind: "anonymous", notice });
  }

  #scheduleExpiry(session: Session): void {
    if (this.#expiryTimer !== null) {
      clearTimeout(this.#expiryTimer);
    }
    // setTimeout holds at most ~24.8 days; tokens live far shorter.
    const delay = Math.min(Math.max(0, session.expiresAt - Date.now()), 2 ** 31 - 1);
    this.#expiryTimer = setTimeout(() => this.#endSession({ key: "login.expired" }), delay);
  }

  #session(): Session | null {
    return this.#deps.store.load();
  }

  #setState(state: AppState): void {
    this.#state = state;
    this.#render();
  }

  // ---- rendering -------------------------------------------------------------------------

  #render(): void {
    const { i18n, root } = this.#deps;
    const t = i18n.t;
    const state = this.#state;
    this.#main = null;
    this.#livePanel = null;
    if (state.kind !== "signed-in" && this.#view) {
      this.#view.view.dispose?.();
      this.#view = null;
    }
    const languageButton = h(
      "button",
      {
        type: "button",
        class: "link",
        "data-testid": "lang-switch",
        lang: i18n.locale === "cs" ? "en" : "cs",
        "aria-label": t("lang.switchLabel"),
        on: { click: () => i18n.setLocale(i18n.locale === "cs" ? "en" : "cs") },
      },
      t("lang.switchTo"),
    );
    const brand = h("a", { class: "brand", href: hashFor("/") }, t("app.name"));

    if (state.kind === "signed-in") {
      const nav = h(
        "nav",
        { "aria-label": t("nav.label"), "data-testid": "main-nav" },
        ...ROUTES.filter((route) => route.nav !== false && (!route.roles || hasAnyRole(state.me.roles, route.roles))).map((route) =>
          h("a", { href: hashFor(route.path), "data-path": route.path }, t(route.labelKey)),
        ),
      );
      const header = h(
        "header",
        { class: "topbar" },
        brand,
        nav,
        h(
          "div",
          { class: "user" },
          h("span", { class: "user-name", "data-testid": "user-name" }, state.me.name),
          h(
            "span",
            { class: "user-roles muted", "data-testid": "user-roles", title: t("header.roles") },
            roleLabels(state.me.roles, t),
          ),
          languageButton,
          h("button", { type: "button", class: "secondary small", "data-testid": "logout", on: { click: () => this.#logout() } }, t("logout.button")),
        ),
      );
      this.#main = h("main", { id: "main" });
      this.#livePanel = h("aside", { class: "live", "data-testid": "live-panel", "aria-label": t("live.title") });
      replaceChildren(root, header, h("div", { class: "layout" }, this.#main, this.#livePanel));
      this.#renderMain();
      this.#renderLivePanel();
      return;
    }

    const header = h("header", { class: "topbar" }, brand, h("div", { class: "user" }, languageButton));
    let body: HTMLElement;
    if (state.kind === "busy") {
      body = h("main", { class: "centered" }, h("p", { "aria-live": "polite" }, t(state.messageKey)));
    } else if (state.kind === "failed") {
      body = h(
        "main",
        { class: "centered" },
        problemBox(asProblem(state.error), t),
        h("button", { type: "button", on: { click: () => void this.#enter(state.session) } }, t("app.retry")),
        " ",
        h("button", { type: "button", class: "secondary", on: { click: () => this.#logout() } }, t("logout.button")),
      );
    } else {
      body = h(
        "main",
        { class: "centered" },
        h(
          "section",
          { class: "card login", "aria-labelledby": "login-title" },
          h("h1", { id: "login-title" }, t("login.title")),
          h("p", { class: "muted" }, `${t("app.name")} — ${t("app.tagline")}`),
          state.notice ? h("div", { class: "alert alert-error", role: "alert", "data-testid": "login-notice" }, noticeText(state.notice, t)) : null,
          h("p", null, t("login.intro")),
          h("button", { type: "button", id: "login", "data-testid": "login", on: { click: () => void this.#login() } }, t("login.button")),
        ),
      );
    }
    document.title = t("app.name");
    replaceChildren(root, header, body);
  }

  #viewContext(state: Extract<AppState, { kind: "signed-in" }>): ViewContext {
    const { i18n } = this.#deps;
    return {
      t: i18n.t,
      locale: i18n.locale,
      me: state.me,
      session: state.session,
      api: this.#api,
      rerender: () => this.#renderMain(),
      navigate: (path: string) => {
        this.#deps.window.location.hash = hashFor(path);
      },
      live: this.#live,
    };
  }

  #renderMain(): void {
    const state = this.#state;
    const main = this.#main;
    if (state.kind !== "signed-in" || !main) {
      return;
    }
    const t = this.#deps.i18n.t;
    const path = pathFromHash(this.#deps.window.location.hash);
    const matched = matchRoute(ROUTES, path);
    const route = matched?.route;
    if (this.#view && this.#view.path !== path) {
      this.#view.view.dispose?.();
      this.#view = null;
    }
    for (const link of this.#deps.root.querySelectorAll<HTMLAnchorElement>("nav a[data-path]")) {
      const linkPath = link.dataset["path"] ?? "";
      if (linkPath === path || (linkPath !== "/" && path.startsWith(`${linkPath}/`))) {
        link.setAttribute("aria-current", "page");
      } else {
        link.removeAttribute("aria-current");
      }
    }
    if (!matched || !route) {
      document.title = `${t("error.pageNotFound")} — ${t("app.name")}`;
      replaceChildren(main, h("div", { class: "alert alert-error", role: "alert" }, t("error.pageNotFound")));
      return;
    }
    document.title = `${t(route.labelKey)} — ${t("app.name")}`;
    if (route.roles && !hasAnyRole(state.me.roles, route.roles)) {
      replaceChildren(
        main,
        h("div", { class: "alert alert-error", role: "alert", "data-testid": "page-forbidden" }, t("error.pageForbidden", { roles: roleLabels(route.roles, t) })),
      );
      return;
    }
    if (!this.#view) {
      this.#view = { path, view: route.create(matched.params) };
    }
    const page = this.#view.view.render(this.#viewContext(state));
    keepingFocus(main, () => replaceChildren(main, path === "/admin" || path.startsWith("/admin/") ? adminNav(path, t) : null, page));
  }

  #renderLivePanel(): void {
    const panel = this.#livePanel;
    if (!panel) {
      return;
    }
    const snapshot = this.#live.snapshot;
    replaceChildren(panel, ...renderLivePanel(snapshot, this.#live, this.#deps.i18n.t));
    // Count the reconnect delay down while it runs.
    if (snapshot.reconnectAt !== null && this.#tickTimer === null) {
      this.#tickTimer = setInterval(() => this.#renderLivePanel(), 1000);
    } else if (snapshot.reconnectAt === null && this.#tickTimer !== null) {
      clearInterval(this.#tickTimer);
      this.#tickTimer = null;
    }
  }
}

function loginFailure(error: unknown): Notice {
  if (error instanceof LoginError) {
    const reasonKey: MessageKey = `login.reason.${error.reason}`;
    return { key: "login.failed", reason: { key: reasonKey, params: { error: error.detail ?? "" } } };
  }
  return { key: "login.failed", params: { reason: String(error) } };
}

function noticeText(notice: Notice, t: (key: MessageKey, params?: Params) => string): string {
  const params = notice.reason ? { ...notice.params, reason: t(notice.reason.key, notice.reason.params) } : notice.params;
  return t(notice.key, params);
}

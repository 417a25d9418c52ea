// The administration pages (admin role only) and their own menu under the main one.

import type { MessageKey } from "../i18n";
import { hashFor, type RouteDef } from "../router";
import type { Translate } from "../roles";
import { h } from "../ui/dom";
import { AuditView } from "./admin-audit";
import { ChatSettingsView } from "./admin-chat-settings";
import { IcisLinkView } from "./admin-icis";
import { QueueFormView } from "./admin-queue-form";
import { QueuesView } from "./admin-queues";
import { breakCodesPage, callCategoriesPage, clientFieldsPage, mailTemplatesPage, transferPanelPage } from "./admin-simple";
import { UserFormView } from "./admin-user-form";
import { lazyView } from "./lazy";
import type { View } from "./view";

const ADMIN = ["admin"] as const;

export const ADMIN_ROUTES: readonly RouteDef<View>[] = [
  { path: "/admin/users/new", labelKey: "users.new", roles: ADMIN, nav: false, create: () => new UserFormView(null) },
  { path: "/admin/users/edit/:username", labelKey: "users.edit", roles: ADMIN, nav: false, create: (p) => new UserFormView(p["username"] ?? "") },
  { path: "/admin/queues", labelKey: "admin.nav.queues", roles: ADMIN, nav: false, create: () => new QueuesView() },
  { path: "/admin/queues/new", labelKey: "queues.new", roles: ADMIN, nav: false, create: () => new QueueFormView(null) },
  { path: "/admin/queues/edit/:queueId", labelKey: "queues.edit", roles: ADMIN, nav: false, create: (p) => new QueueFormView(p["queueId"] ?? "") },
  // The routing pages are their own chunk (loaded on first use).
  { path: "/admin/ivrs", labelKey: "admin.nav.ivrs", roles: ADMIN, nav: false, create: () => lazyView(() => import("./admin-ivrs").then((m) => () => new m.IvrListView())) },
  { path: "/admin/ivrs/new", labelKey: "ivr.new", roles: ADMIN, nav: false, create: () => lazyView(() => import("./admin-ivrs").then((m) => () => new m.IvrEditorView(null))) },
  {
    path: "/admin/ivrs/edit/:ivrId",
    labelKey: "ivr.edit",
    roles: ADMIN,
    nav: false,
    create: (p) => lazyView(() => import("./admin-ivrs").then((m) => () => new m.IvrEditorView(p["ivrId"] ?? ""))),
  },
  { path: "/admin/routing-plan", labelKey: "admin.nav.plan", roles: ADMIN, nav: false, create: () => lazyView(() => import("./admin-routing-plan").then((m) => () => new m.RoutingPlanView())) },
  { path: "/admin/devices", labelKey: "admin.nav.devices", roles: ADMIN, nav: false, create: () => lazyView(() => import("./admin-routing-plan").then((m) => () => new m.DevicesView())) },
  { path: "/admin/prompts", labelKey: "admin.nav.prompts", roles: ADMIN, nav: false, create: () => lazyView(() => import("./admin-prompts").then((m) => () => new m.PromptsView())) },
  { path: "/admin/break-codes", labelKey: "admin.nav.breakCodes", roles: ADMIN, nav: false, create: breakCodesPage },
  { path: "/admin/call-categories", labelKey: "admin.nav.callCategories", roles: ADMIN, nav: false, create: callCategoriesPage },
  { path: "/admin/transfer-panel", labelKey: "admin.nav.transferPanel", roles: ADMIN, nav: false, create: transferPanelPage },
  { path: "/admin/client-fields", labelKey: "admin.nav.clientFields", roles: ADMIN, nav: false, create: clientFieldsPage },
  { path: "/admin/mail-templates", labelKey: "admin.nav.mailTemplates", roles: ADMIN, nav: false, create: mailTemplatesPage },
  { path: "/admin/chat-settings", labelKey: "admin.nav.chatSettings", roles: ADMIN, nav: false, create: () => new ChatSettingsView() },
  { path: "/admin/icis-link", labelKey: "admin.nav.icisLink", roles: ADMIN, nav: false, create: () => new IcisLinkView() },
  { path: "/admin/audit", labelKey: "admin.nav.audit", roles: ADMIN, nav: false, create: () => new AuditView() },
];

const MENU: readonly { path: string; labelKey: MessageKey }[] = [
  { path: "/admin", labelKey: "admin.nav.users" },
  { path: "/admin/queues", labelKey: "admin.nav.queues" },
  { path: "/admin/ivrs", labelKey: "admin.nav.ivrs" },
  { path: "/admin/routing-plan", labelKey: "admin.nav.plan" },
  { path: "/admin/devices", labelKey: "admin.nav.devices" },
  { path: "/admin/prompts", labelKey: "admin.nav.prompts" },
  { path: "/admin/break-codes", labelKey: "admin.nav.breakCodes" },
  { path: "/admin/call-categories", labelKey: "admin.nav.callCategories" },
  { path: "/admin/transfer-panel", labelKey: "admin.nav.transferPanel" },
  { path: "/admin/client-fields", labelKey: "admin.nav.clientFields" },
  { path: "/admin/mail-templates", labelKey: "admin.nav.mailTemplates" },
  { path: "/admin/chat-settings", labelKey: "admin.nav.chatSettings" },
  { path: "/admin/icis-link", labelKey: "admin.nav.icisLink" },
  { path: "/admin/audit", labelKey: "admin.nav.audit" },
];

/** The admin menu; the entry of the current page (or its sub-page) is aria-current. */
export function adminNav(path: string, t: Translate): HTMLElement {
  const current = (entry: string) =>
    entry === "/admin" ? path === "/admin" || path.startsWith("/admin/users/") : path === entry || path.startsWith(`${entry}/`);
  return h(
    "nav",
    { class: "subnav", "aria-label": t("admin.nav.label"), "data-testid": "admin-nav" },
    ...MENU.map((entry) =>
      h("a", { href: hashFor(entry.path), "data-path": entry.path, ...(current(entry.path) ? { "aria-current": "page" } : {}) }, t(entry.labelKey)),
    ),
  );
}

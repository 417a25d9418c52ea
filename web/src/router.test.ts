import { describe, expect, it } from "vitest";
import { ROUTES } from "./app";
import { matchPath, matchRoute, pathFromHash } from "./router";

describe("router", () => {
  it("matches parameters and decodes them", () => {
    expect(matchPath("/admin/queues/edit/:queueId", "/admin/queues/edit/kkc-obecne")).toEqual({ queueId: "kkc-obecne" });
    expect(matchPath("/admin/users/edit/:username", "/admin/users/edit/jan.novak%40x")).toEqual({ username: "jan.novak@x" });
    expect(matchPath("/admin/queues/edit/:queueId", "/admin/queues/edit/")).toBeNull();
    expect(matchPath("/admin/queues", "/admin/queues/new")).toBeNull();
  });

  it("finds the admin pages, all for the admin role only and outside the main menu", () => {
    expect(pathFromHash("#/admin/queues")).toBe("/admin/queues");
    for (const path of ["/admin/queues", "/admin/queues/new", "/admin/queues/edit/x", "/admin/users/new", "/admin/users/edit/agent01", "/admin/audit", "/admin/break-codes", "/admin/call-categories", "/admin/transfer-panel", "/admin/icis-link", "/admin/chat-settings"]) {
      const found = matchRoute(ROUTES, path);
      expect(found, path).toBeDefined();
      expect(found?.route.roles).toEqual(["admin"]);
      expect(found?.route.nav).toBe(false);
    }
    expect(ROUTES.filter((route) => route.nav !== false).map((route) => route.path)).toEqual(["/", "/desk", "/callbacks", "/voicemails", "/notices", "/admin"]);
  });
});

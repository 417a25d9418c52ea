// Hash routes (#/, #/admin, #/notices): the app is static files, so any deep link works
// without a server-side fallback, and the OAuth redirect URI stays the bare origin + "/".
// A path segment `:name` matches one segment and passes it (decoded) to `create`.

import type { MessageKey } from "./i18n";

export type RouteParams = Readonly<Record<string, string>>;

export interface RouteDef<V> {
  path: string;
  labelKey: MessageKey;
  /** Roles any of which allows the page; null = every signed-in user. */
  roles: readonly string[] | null;
  /** Shown in the main menu (default true); sub-pages set false. */
  nav?: boolean;
  create: (params: RouteParams) => V;
}

export function pathFromHash(hash: string): string {
  const path = hash.replace(/^#/, "").replace(/\?.*$/, "");
  if (path === "" || path === "/") {
    return "/";
  }
  return path.startsWith("/") ? path : `/${path}`;
}

export function hashFor(path: string): string {
  return `#${path}`;
}

/** Matches a route pattern against a path; the parameters, or null. */
export function matchPath(pattern: string, path: string): RouteParams | null {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) {
    return null;
  }
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i] ?? "";
    const actual = got[i] ?? "";
    if (segment.startsWith(":")) {
      if (actual === "") return null;
      try {
        params[segment.slice(1)] = decodeURIComponent(actual);
      } catch {
        return null;
      }
    } else if (segment !== actual) {
      return null;
    }
  }
  return params;
}

export function matchRoute<V>(routes: readonly RouteDef<V>[], path: string): { route: RouteDef<V>; params: RouteParams } | undefined {
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (params) {
      return { route, params };
    }
  }
  return undefined;
}

export function findRoute<V>(routes: readonly RouteDef<V>[], path: string): RouteDef<V> | undefined {
  return matchRoute(routes, path)?.route;
}

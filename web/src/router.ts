// Hash routes (#/, #/admin, #/notices): the app is static files, so any deep link works
// without a server-side fallback, and the OAuth redirect URI stays the bare origin + "/".

import type { MessageKey } from "./i18n";

export interface RouteDef<V> {
  path: string;
  labelKey: MessageKey;
  /** Roles any of which allows the page; null = every signed-in user. */
  roles: readonly string[] | null;
  create: () => V;
}

export function pathFromHash(hash: string): string {
  const path = hash.replace(/^#/, "");
  if (path === "" || path === "/") {
    return "/";
  }
  return path.startsWith("/") ? path : `/${path}`;
}

export function hashFor(path: string): string {
  return `#${path}`;
}

export function findRoute<V>(routes: readonly RouteDef<V>[], path: string): RouteDef<V> | undefined {
  return routes.find((route) => route.path === path);
}

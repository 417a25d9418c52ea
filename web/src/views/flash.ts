// A one-time message for the next page (e.g. "Fronta byla uložena." after a save).
import type { MessageKey, Params } from "../i18n";

let pending: { key: MessageKey; params?: Params } | null = null;

export function setFlash(key: MessageKey, params?: Params): void {
  pending = params ? { key, params } : { key };
}

export function takeFlash(): { key: MessageKey; params?: Params } | null {
  const flash = pending;
  pending = null;
  return flash;
}

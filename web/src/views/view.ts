import type { ApiClient } from "../api/client";
import type { Me } from "../api/types";
import type { Session } from "../auth/session";
import type { Locale } from "../i18n";
import type { LiveSnapshot } from "../live/live";
import type { Translate } from "../roles";

export interface ViewContext {
  t: Translate;
  locale: Locale;
  me: Me;
  session: Session;
  api: ApiClient;
  /** Asks the app to render this view again (after its state changed). */
  rerender: () => void;
  /** Goes to another page of the app (a path such as `/admin/queues`). */
  navigate: (path: string) => void;
  /** The WebSocket: its state, and the pushes other than pong/broadcast (desk, presence, contact…). */
  live?: {
    subscribe(listener: (snapshot: LiveSnapshot) => void): () => void;
    onMessage(listener: (message: Record<string, unknown>) => void): () => void;
  };
}

/** A page: keeps its own state across renders (language switch, data arriving). */
export interface View {
  render(context: ViewContext): HTMLElement;
  dispose?(): void;
}

// The tokens live in sessionStorage: they survive a reload of the tab but not its closing,
// and they are not shared with other tabs. Never in localStorage.

export const SESSION_KEY = "linka.auth.session";
export const PENDING_KEY = "linka.auth.pending";

export interface Session {
  accessToken: string;
  idToken?: string;
  /** Epoch milliseconds after which the access token is no longer valid. */
  expiresAt: number;
}

/** What the app remembers between sending the browser to the issuer and its return. */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
  /** The hash route to return to after login. */
  returnTo: string;
  createdAt: number;
}

type KeyValueStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export class SessionStore {
  constructor(private readonly storage: KeyValueStorage) {}

  load(now = Date.now()): Session | null {
    const session = readJson<Session>(this.storage, SESSION_KEY);
    if (
      !session ||
      typeof session.accessToken !== "string" ||
      typeof session.expiresAt !== "number"
    ) {
      return null;
    }
    if (session.expiresAt <= now) {
      this.clear();
      return null;
    }
    return session;
  }

  save(session: Session): void {
    this.storage.setItem(SESSION_KEY, JSON.stringify(session));
  }

  savePending(pending: PendingLogin): void {
    this.storage.setItem(PENDING_KEY, JSON.stringify(pending));
  }

  /** Returns the pending login and forgets it, so a code can be redeemed only once. */
  takePending(): PendingLogin | null {
    const pending = readJson<PendingLogin>(this.storage, PENDING_KEY);
    this.storage.removeItem(PENDING_KEY);
    return pending;
  }

  clear(): void {
    this.storage.removeItem(SESSION_KEY);
    this.storage.removeItem(PENDING_KEY);
  }
}

function readJson<T>(storage: KeyValueStorage, key: string): T | null {
  const raw = storage.getItem(key);
  if (raw === null) {
    return null;
  }
  try {
    return JSON.parse(raw) as T;
  } catch {
    storage.removeItem(key);
    return null;
  }
}

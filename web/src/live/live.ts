// The live channel: one WebSocket to `/ws?token=…`, re-opened with exponential backoff,
// kept honest with a ping/pong heartbeat, delivering broadcasts once each (by id).

export type LiveState = "connecting" | "open" | "closed";

export interface Broadcast {
  id: string;
  text: string;
  severity: string;
  sentBy: string;
  sentAt: string;
}

export interface LiveSnapshot {
  state: LiveState;
  /** Newest first. */
  broadcasts: readonly Broadcast[];
  lastPong: { rttMs: number; at: number } | null;
  pongMissing: boolean;
  /** Epoch ms of the next reconnect attempt while closed, else null. */
  reconnectAt: number | null;
}

/** The part of the browser's WebSocket that the connection uses (a fake one in tests). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
}

export interface LiveOptions {
  /** The URL to connect to, or null when there is no valid session (then it stays closed). */
  url: () => string | null;
  createSocket?: (url: string) => SocketLike;
  random?: () => number;
  now?: () => number;
  heartbeatMs?: number;
  pongTimeoutMs?: number;
  maxBroadcasts?: number;
  /**
   * Called when the connection has failed this many times in a row (default 3). A refused
   * upgrade (e.g. 401 for an expired or revoked token) looks like any other failure to a
   * browser, so the app uses this to ask the HTTP API whether the session is still valid.
   */
  onRepeatedFailure?: (failures: number) => void;
  repeatedFailureThreshold?: number;
}

const OPEN = 1;
const MAX_BACKOFF_MS = 30_000;
const BASE_BACKOFF_MS = 1_000;
/** A connection that stayed open this long resets the backoff. */
const STABLE_AFTER_MS = 5_000;
const MAX_REMEMBERED_IDS = 1_000;

/** Exponential backoff with "equal jitter": between half and all of min(30 s, 1 s · 2^attempt). */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** `ws://` or `wss://` on the page's own host, following the page's protocol. */
export function liveUrl(location: Pick<Location, "protocol" | "host">, accessToken: string): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws?token=${encodeURIComponent(accessToken)}`;
}

export function parseBroadcast(message: Record<string, unknown>): Broadcast | null {
  const { id, text, severity, sentBy, sentAt } = message;
  if (typeof id !== "string" || id === "" || typeof text !== "string") {
    return null;
  }
  return {
    id,
    text,
    severity: typeof severity === "string" ? severity : "info",
    sentBy: typeof sentBy === "string" ? sentBy : "",
    sentAt: typeof sentAt === "string" ? sentAt : "",
  };
}

export class LiveConnection {
  readonly #options: Required<Omit<LiveOptions, "createSocket" | "onRepeatedFailure">> &
    Pick<LiveOptions, "createSocket" | "onRepeatedFailure">;
  readonly #listeners = new Set<(snapshot: LiveSnapshot) => void>();
  readonly #messageListeners = new Set<(message: Record<string, unknown>) => void>();
  readonly #seen = new Set<string>();
  #socket: SocketLike | null = null;
  #running = false;
  #attempt = 0;
  #openedAt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  #pongTimer: ReturnType<typeof setTimeout> | null = null;
  #pingSentAt: number | null = null;
  #snapshot: LiveSnapshot = {
    state: "closed",
    broadcasts: [],
    lastPong: null,
    pongMissing: false,
    reconnectAt: null,
  };

  constructor(options: LiveOptions) {
    this.#options = {
      random: Math.random,
      now: Date.now,
      heartbeatMs: 30_000,
      pongTimeoutMs: 10_000,
      maxBroadcasts: 50,
      repeatedFailureThreshold: 3,
      ...options,
    };
  }

  get snapshot(): LiveSnapshot {
    return this.#snapshot;
  }

  subscribe(listener: (snapshot: LiveSnapshot) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#snapshot);
    return () => this.#listeners.delete(listener);
  }

  /** Pushes other than pong and broadcast (e.g. `desk`, `presence`, `contact`), as parsed JSON objects. */
  onMessage(listener: (message: Record<string, unknown>) => void): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  start(): void {
    if (this.#running) {
      return;
    }
    this.#running = true;
    this.#attempt = 0;
    this.#connect();
  }

  stop(): void {
    this.#running = false;
    this.#clearTimers();
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      detach(socket);
      socket.close(1000, "stopped");
    }
    this.#update({ state: "closed", reconnectAt: null });
  }

  #abandon(socket: SocketLike, code: number, reason: string): void {
    if (this.#socket !== socket) {
      return;
    }
    this.#socket = null;
    this.#openedAt = 0;
    detach(socket);
    try {
      socket.close(code, reason);
    } catch {
      // Already closed.
    }
    this.#scheduleReconnect();
  }

  /** Sends `{"action":"ping"}`; the server answers `{"type":"pong"}`. Returns false when not connected. */
  ping(): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN) {
      return false;
    }
    this.#pingSentAt = this.#options.now();
    socket.send(JSON.stringify({ action: "ping" }));
    if (this.#pongTimer === null) {
      this.#pongTimer = setTimeout(() => {
        this.#pongTimer = null;
        this.#update({ pongMissing: true });
        // A connection that no longer answers is as good as closed: drop it and start again
        // without waiting for a closing handshake that may never come.
        this.#abandon(socket, 4000, "pong timeout");
      }, this.#options.pongTimeoutMs);
    }
    return true;
  }

  #connect(): void {
    this.#reconnectTimer = null;
    if (!this.#running) {
      return;
    }
    const url = this.#options.url();
    if (url === null) {
      this.#update({ state: "closed", reconnectAt: null });
      return;
    }
    this.#update({ state: "connecting", reconnectAt: null });
    let socket: SocketLike;
    try {
      socket = this.#options.createSocket
        ? this.#options.createSocket(url)
        : (new WebSocket(url) as unknown as SocketLike);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      this.#openedAt = this.#options.now();
      this.#update({ state: "open", pongMissing: false });
      this.#heartbeatTimer = setInterval(() => this.ping(), this.#options.heartbeatMs);
    };
    socket.onmessage = (event) => this.#onMessage(event.data);
    socket.onerror = () => {
      // The close event follows and does the work.
    };
    socket.onclose = () => {
      if (this.#socket !== socket) {
        return;
      }
      this.#socket = null;
      if (this.#openedAt && this.#options.now() - this.#openedAt >= STABLE_AFTER_MS) {
        this.#attempt = 0;
      }
      this.#openedAt = 0;
      this.#scheduleReconnect();
    };
  }

  #scheduleReconnect(): void {
    this.#clearTimers();
    if (!this.#running) {
      return;
    }
    const delay = reconnectDelay(this.#attempt, this.#options.random);
    this.#attempt += 1;
    if (this.#attempt >= this.#options.repeatedFailureThreshold) {
      this.#options.onRepeatedFailure?.(this.#attempt);
    }
    this.#update({ state: "closed", reconnectAt: this.#options.now() + delay });
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") {
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null) {
      return;
    }
    const record = message as Record<string, unknown>;
    if (record["type"] === "pong") {
      if (this.#pongTimer !== null) {
        clearTimeout(this.#pongTimer);
        this.#pongTimer = null;
      }
      const at = this.#options.now();
      const rttMs = this.#pingSentAt === null ? 0 : at - this.#pingSentAt;
      this.#pingSentAt = null;
      this.#update({ lastPong: { rttMs, at }, pongMissing: false });
    } else if (record["type"] === "broadcast") {
      const broadcast = parseBroadcast(record);
      if (!broadcast || this.#seen.has(broadcast.id)) {
        return;
      }
      this.#remember(broadcast.id);
      const broadcasts = [broadcast, ...this.#snapshot.broadcasts].slice(0, this.#options.maxBroadcasts);
      this.#update({ broadcasts });
    } else if (typeof record["type"] === "string") {
      for (const listener of this.#messageListeners) listener(record);
    }
  }

  #remember(id: string): void {
    this.#seen.add(id);
    if (this.#seen.size > MAX_REMEMBERED_IDS) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) {
        this.#seen.delete(oldest);
      }
    }
  }

  #clearTimers(): void {
    if (this.#reconnectTimer !== null) {
      clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = null;
    }
    if (this.#heartbeatTimer !== null) {
      clearInterval(this.#heartbeatTimer);
      this.#heartbeatTimer = null;
    }
    if (this.#pongTimer !== null) {
      clearTimeout(this.#pongTimer);
      this.#pongTimer = null;
    }
  }

  #update(patch: Partial<LiveSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...patch };
    for (const listener of this.#listeners) {
      listener(this.#snapshot);
    }
  }
}

function detach(socket: SocketLike): void {
  socket.onopen = null;
  socket.onclose = null;
  socket.onerror = null;
  socket.onmessage = null;
}

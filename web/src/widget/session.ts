// The customer's side of a web chat (issue 7, CHAT-1/7): one conversation through the
// conversation API with a participant token — start (idempotent by a client token kept for the
// browser tab), handoff to the agents, and outside the queue's hours a message left for when it
// opens; then messages both ways: pushed live over the WebSocket API (`/ws?participantToken=`)
// and read with `GET …/messages?after=` (each seq once), which also brings the status; the
// widget polls only as a fallback while the socket is down. The agent's typing signal (a
// `chat-typing` push) shows "Operátor píše…" for a few seconds, or until the agent's message.
// No DOM here: the widget (widget.ts) renders what this holds.

export type Phase = "form" | "waiting" | "chatting" | "closed" | "left" | "ended";

export interface WidgetMessage {
  seq: number;
  from: "customer" | "bot" | "agent" | "system";
  text: string;
  at: string;
}

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface SessionOptions {
  apiBase: string;
  storage: KeyValueStore;
  fetchFn?: typeof fetch;
  /** A fresh idempotency key. */
  newKey?: () => string;
  /** The queue to hand chats to (`data-linka-queue`); the API's default chat queue without. */
  queueId?: string | null;
}

const STORE_KEY = "linka-chat";
/** How long the agent's typing signal shows (the desk sends one at most every 3 s while typing). */
export const TYPING_SHOWN_MS = 4000;
/** The customer's typing is told to the agent at most this often (the desk shows it 4 s). */
export const TYPING_SIGNAL_MS = 3000;

interface Stored {
  conversationId: string;
  token: string;
  clientToken: string;
}

export class ChatSession {
  phase: Phase = "form";
  messages: WidgetMessage[] = [];
  nextOpening: string | null = null;
  error: string | null = null;
  readonly #options: SessionOptions;
  readonly #fetch: typeof fetch;
  readonly #newKey: () => string;
  #stored: Stored | null = null;
  /** Until when the agent is shown as typing (ms since the epoch; 0: not). */
  #typingUntil = 0;
  /** When the customer's typing was last told to the agent (ms since the epoch). */
  #typingToldAt = 0;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#fetch = options.fetchFn ?? ((input, init) => fetch(input, init));
    this.#newKey = options.newKey ?? (() => crypto.randomUUID());
    const saved = options.storage.getItem(STORE_KEY);
    if (saved) {
      try {
        this.#stored = JSON.parse(saved) as Stored;
        this.phase = "waiting";
      } catch {
        options.storage.removeItem(STORE_KEY);
      }
    }
  }

  get conversationId(): string | null {
    return this.#stored?.conversationId ?? null;
  }

  /** The WebSocket address for the live messages of this conversation, once it exists. */
  liveUrl(): string | null {
    if (!this.#stored) return null;
    const base = this.#options.apiBase.replace(/^http/, "ws");
    return `${base}/ws?participantToken=${encodeURIComponent(this.#stored.token)}`;
  }

  /** A message pushed over the WebSocket (`chat-message`), merged by its seq. `true` when new. */
  receive(pushed: unknown): boolean {
    const message = pushed as Partial<WidgetMessage> & { conversationId?: string };
    if (!message || typeof message.seq !== "number" || typeof message.text !== "string") return false;
    if (message.conversationId !== undefined && message.conversationId !== this.conversationId) return false;
    if (this.messages.some((known) => known.seq === message.seq)) return false;
    const from = message.from ?? "system";
    this.messages = [...this.messages, { seq: message.seq, from, text: message.text, at: message.at ?? new Date().toISOString() }].sort((a, b) => a.seq - b.seq);
    if (from === "agent") {
      this.#typingUntil = 0;
      if (this.phase === "waiting") this.phase = "chatting";
    }
    return true;
  }

  /** A `chat-typing` push (`{conversationId, from}`): the agent types in this conversation. `true` when it counts. */
  typing(pushed: unknown, now = Date.now()): boolean {
    const signal = pushed as { conversationId?: unknown; from?: unknown } | null;
    if (!signal || signal.from !== "agent" || !this.conversationId) return false;
    if (signal.conversationId !== undefined && signal.conversationId !== this.conversationId) return false;
    if (this.phase !== "waiting" && this.phase !== "chatting") return false;
    this.#typingUntil = now + TYPING_SHOWN_MS;
    return true;
  }

  /** How much longer "Operátor píše…" shows, in ms (0: not shown). */
  agentTyping(now = Date.now()): number {
    return this.phase === "waiting" || this.phase === "chatting" ? Math.max(0, this.#typingUntil - now) : 0;
  }

  async #call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> | null }> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.#stored) headers["Authorization"] = `Bearer ${this.#stored.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await this.#fetch(`${this.#options.apiBase}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  }

  /** Starts the chat with the customer's first message and asks for an agent. */
  async start(customer: { name?: string; email?: string }, text: string): Promise<void> {
    this.error = null;
    const clientToken = this.#newKey();
    const cleaned = Object.fromEntries(Object.entries(customer).filter(([, value]) => value && value.trim()));
    const started = await this.#call("POST", "/api/chat/conversations", { clientToken, customer: cleaned, initialMessage: text });
    if (started.status !== 201 || !started.body) {
      this.error = "start";
      return;
    }
    this.#stored = { conversationId: String(started.body["conversationId"]), token: String(started.body["participantToken"]), clientToken };
    this.#options.storage.setItem(STORE_KEY, JSON.stringify(this.#stored));
    await this.handoff(false);
    await this.poll();
  }

  /** Asks for an agent; outside the hours `leaveMessage` keeps the chat as a message. */
  async handoff(leaveMessage: boolean): Promise<void> {
    const id = this.conversationId;
    if (!id) return;
    const queue = this.#options.queueId ? { queueId: this.#options.queueId } : {};
    const body = leaveMessage ? { ...queue, leaveMessage: true } : this.#options.queueId ? queue : undefined;
    const answer = await this.#call("POST", `/api/chat/conversations/${encodeURIComponent(id)}/handoff`, body);
    if (answer.status === 202) {
      this.phase = answer.body?.["leftMessage"] === true ? "left" : answer.body?.["status"] === "assigned" ? "chatting" : "waiting";
    } else if (answer.status === 409 && answer.body?.["code"] === "chat-closed") {
      this.phase = "closed";
      this.nextOpening = typeof answer.body["nextOpening"] === "string" ? answer.body["nextOpening"] : null;
    } else if (answer.status === 409) {
      this.phase = "ended";
    } else {
      this.error = "handoff";
    }
  }

  async send(text: string): Promise<void> {
    const id = this.conversationId;
    const trimmed = text.trim();
    if (!id || !trimmed) return;
    const answer = await this.#call("POST", `/api/chat/conversations/${encodeURIComponent(id)}/messages`, { text: trimmed, clientMessageId: this.#newKey() });
    if (answer.status === 409) this.phase = "ended";
    else if (answer.status !== 201) this.error = "send";
    await this.poll();
  }

  /** Reads what is new; the agent's joining and the end come with it. */
  async poll(): Promise<void> {
    const id = this.conversationId;
    if (!id) return;
    const after = this.messages.length ? (this.messages[this.messages.length - 1]?.seq ?? 0) : 0;
    const answer = await this.#call("GET", `/api/chat/conversations/${encodeURIComponent(id)}/messages?after=${after}`);
    if (answer.status === 401 || answer.status === 403 || answer.status === 404) {
      this.forget();
      return;
    }
    if (answer.status !== 200 || !answer.body) return;
    const bySeq = new Map(this.messages.map((message) => [message.seq, message]));
    for (const message of (answer.body["messages"] as WidgetMessage[]) ?? []) {
      // The agent's message ends their typing.
      if (message.from === "agent" && !bySeq.has(message.seq)) this.#typingUntil = 0;
      bySeq.set(message.seq, message);
    }
    this.messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    const status = answer.body["status"];
    if (status === "assigned") this.phase = "chatting";
    else if (status === "ended") this.phase = "ended";
    else if (status === "queued" && this.phase !== "left") this.phase = "waiting";
  }

  /**
   * The customer types: tells the agent, at most once per {@link TYPING_SIGNAL_MS} and only while
   * an agent holds the chat. `true` when a signal was sent. A failure only hides the indicator.
   */
  async signalTyping(now = Date.now()): Promise<boolean> {
    const id = this.conversationId;
    if (!id || this.phase !== "chatting" || now - this.#typingToldAt < TYPING_SIGNAL_MS) return false;
    this.#typingToldAt = now;
    try {
      const answer = await this.#call("POST", `/api/chat/conversations/${encodeURIComponent(id)}/typing`);
      if (answer.status === 409) this.phase = "ended";
      return answer.status === 204;
    } catch {
      return false;
    }
  }

  async end(): Promise<void> {
    const id = this.conversationId;
    if (id) await this.#call("POST", `/api/chat/conversations/${encodeURIComponent(id)}/end`);
    this.phase = "ended";
  }

  /** Back to the form (a new chat). */
  forget(): void {
    this.#stored = null;
    this.#options.storage.removeItem(STORE_KEY);
    this.messages = [];
    this.nextOpening = null;
    this.#typingUntil = 0;
    this.phase = "form";
  }
}

import { describe, expect, it } from "vitest";
import { ChatSession, TYPING_SHOWN_MS, TYPING_SIGNAL_MS, type KeyValueStore } from "./session";

class MemoryStore implements KeyValueStore {
  readonly items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

type Answer = { status: number; body?: unknown };

/** A fake API: answers by "METHOD path" (path without the query), recording the calls. */
function fakeApi(answers: Record<string, Answer | Answer[]>) {
  const calls: { method: string; path: string; body: unknown; auth: string | null }[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    const headers = (init?.headers ?? {}) as Record<string, string>;
    calls.push({ method, path: url.pathname + url.search, body: init?.body ? JSON.parse(String(init.body)) : undefined, auth: headers["Authorization"] ?? null });
    const entry = answers[`${method} ${url.pathname}`];
    const answer = Array.isArray(entry) ? (entry.length > 1 ? entry.shift() : entry[0]) : entry;
    if (!answer) return new Response(JSON.stringify({ code: "not-found" }), { status: 404 });
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), { status: answer.status });
  }) as typeof fetch;
  return { fetchFn, calls };
}

const started = { status: 201, body: { conversationId: "c-1", participantToken: "tok", status: "bot" } };
let keys = 0;
const newKey = () => `k${++keys}`;

describe("the widget's chat session", () => {
  it("starts, asks for an agent, and shows the agent's answer when polled", async () => {
    const api = fakeApi({
      "POST /api/chat/conversations": started,
      "POST /api/chat/conversations/c-1/handoff": { status: 202, body: { status: "queued", queueId: "kkc", leftMessage: false } },
      "GET /api/chat/conversations/c-1/messages": [
        { status: 200, body: { messages: [{ seq: 1, from: "customer", text: "Dobrý den", at: "t" }, { seq: 2, from: "system", text: "Předáváme", at: "t" }], status: "queued" } },
        { status: 200, body: { messages: [{ seq: 2, from: "system", text: "Předáváme", at: "t" }, { seq: 3, from: "agent", text: "Dobrý den, jak pomohu?", at: "t" }], status: "assigned" } },
      ],
    });
    const storage = new MemoryStore();
    const session = new ChatSession({ apiBase: "http://x", storage, fetchFn: api.fetchFn, newKey });
    await session.start({ name: "Jana", email: " " }, "Dobrý den");
    expect(session.phase).toBe("waiting");
    expect(api.calls[0]?.body).toMatchObject({ customer: { name: "Jana" }, initialMessage: "Dobrý den" });
    expect(api.calls[1]?.auth).toBe("Bearer tok");
    await session.poll();
    expect(session.phase).toBe("chatting");
    expect(session.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(api.calls.at(-1)?.path).toBe("/api/chat/conversations/c-1/messages?after=2");
    // A reload of the page keeps the conversation.
    expect(new ChatSession({ apiBase: "http://x", storage, fetchFn: api.fetchFn }).conversationId).toBe("c-1");
  });

  it("outside the hours says when the chat opens and can leave the message for then", async () => {
    const api = fakeApi({
      "POST /api/chat/conversations": started,
      "POST /api/chat/conversations/c-1/handoff": [
        { status: 409, body: { code: "chat-closed", nextOpening: "2026-11-30T07:00:00Z" } },
        { status: 202, body: { status: "queued", queueId: "kkc", leftMessage: true } },
      ],
      "GET /api/chat/conversations/c-1/messages": { status: 200, body: { messages: [], status: "bot" } },
    });
    const session = new ChatSession({ apiBase: "http://x", storage: new MemoryStore(), fetchFn: api.fetchFn, newKey });
    await session.start({}, "Dotaz v noci");
    expect(session.phase).toBe("closed");
    expect(session.nextOpening).toBe("2026-11-30T07:00:00Z");
    await session.handoff(true);
    expect(session.phase).toBe("left");
    expect(api.calls.at(-1)?.body).toEqual({ leaveMessage: true });
    const queued = new ChatSession({ apiBase: "http://x", storage: new MemoryStore(), fetchFn: api.fetchFn, newKey, queueId: "chat-web" });
    await queued.start({}, "Dotaz");
    expect(api.calls.find((call) => call.path.endsWith("/handoff") && call.body !== undefined && (call.body as { queueId?: string }).queueId === "chat-web")).toBeDefined();
  });

  it("forgets a conversation its token no longer reaches", async () => {
    const storage = new MemoryStore();
    storage.setItem("linka-chat", JSON.stringify({ conversationId: "c-9", token: "old", clientToken: "k" }));
    const api = fakeApi({ "GET /api/chat/conversations/c-9/messages": { status: 401, body: { code: "invalid-token" } } });
    const session = new ChatSession({ apiBase: "http://x", storage, fetchFn: api.fetchFn });
    await session.poll();
    expect(session.phase).toBe("form");
    expect(storage.getItem("linka-chat")).toBeNull();
  });

  it("when the customer types with an agent in the chat, should tell the agent at most every 3 s", async () => {
    const api = fakeApi({
      "POST /api/chat/conversations": started,
      "POST /api/chat/conversations/c-1/handoff": { status: 202, body: { status: "queued", queueId: "kkc", leftMessage: false } },
      "GET /api/chat/conversations/c-1/messages": { status: 200, body: { messages: [], status: "assigned" } },
      "POST /api/chat/conversations/c-1/typing": [{ status: 204 }, { status: 409, body: { code: "conversation-ended" } }],
    });
    const session = new ChatSession({ apiBase: "http://x", storage: new MemoryStore(), fetchFn: api.fetchFn, newKey });
    await session.start({ name: "Jana" }, "Dobrý den");
    // Waiting for an agent: nobody to tell.
    expect(await session.signalTyping(1_000)).toBe(false);
    await session.poll();
    expect(session.phase).toBe("chatting");
    expect(await session.signalTyping(10_000)).toBe(true);
    expect(await session.signalTyping(10_000 + TYPING_SIGNAL_MS - 1)).toBe(false);
    const typingCalls = () => api.calls.filter((call) => call.path.endsWith("/typing"));
    expect(typingCalls()).toHaveLength(1);
    expect(typingCalls()[0]?.auth).toBe("Bearer tok");
    // The agent ended the chat meanwhile.
    expect(await session.signalTyping(10_000 + TYPING_SIGNAL_MS)).toBe(false);
    expect(session.phase).toBe("ended");
  });

  it("merges pushed messages once by seq, for its own conversation only, and joins on the agent's", async () => {
    const { fetchFn } = fakeApi({
      "POST /api/chat/conversations": started,
      "POST /api/chat/conversations/c-1/handoff": { status: 202, body: { status: "queued" } },
      "GET /api/chat/conversations/c-1/messages": { status: 200, body: { status: "queued", messages: [{ seq: 1, from: "customer", text: "Dobrý den", at: "2026-11-28T10:00:00Z" }] } },
    });
    const session = new ChatSession({ apiBase: "https://linka.example", storage: new MemoryStore(), fetchFn, newKey });
    expect(session.liveUrl()).toBeNull();
    await session.start({ name: "Jana" }, "Dobrý den");
    expect(session.liveUrl()).toBe("wss://linka.example/ws?participantToken=tok");
    expect(session.phase).toBe("waiting");
    const reply = { conversationId: "c-1", seq: 2, from: "agent", text: "Dobrý den, jak pomohu?", at: "2026-11-28T10:00:05Z" };
    expect(session.receive(reply)).toBe(true);
    expect(session.receive(reply)).toBe(false);
    expect(session.receive({ ...reply, seq: 3, conversationId: "c-2" })).toBe(false);
    expect(session.receive({ nonsense: true })).toBe(false);
    expect(session.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(session.phase).toBe("chatting");
  });

  it("when the agent's chat-typing push comes, should show the agent typing for about 4 s, until the agent's message", async () => {
    const { fetchFn } = fakeApi({
      "POST /api/chat/conversations": started,
      "POST /api/chat/conversations/c-1/handoff": { status: 202, body: { status: "assigned" } },
      "GET /api/chat/conversations/c-1/messages": [
        { status: 200, body: { status: "assigned", messages: [{ seq: 1, from: "customer", text: "Dobrý den", at: "t" }] } },
        { status: 200, body: { status: "assigned", messages: [{ seq: 2, from: "agent", text: "Dobrý den, jak pomohu?", at: "t" }] } },
      ],
    });
    const session = new ChatSession({ apiBase: "http://x", storage: new MemoryStore(), fetchFn, newKey });
    // Before there is a conversation, nothing counts.
    expect(session.typing({ type: "chat-typing", conversationId: "c-1", from: "agent" }, 0)).toBe(false);
    await session.start({}, "Dobrý den");
    expect(session.phase).toBe("chatting");
    expect(session.agentTyping(1_000)).toBe(0);

    // The push as the backend sends it: {"type":"chat-typing","conversationId":…,"from":"agent"}.
    expect(session.typing({ type: "chat-typing", conversationId: "c-1", from: "agent" }, 1_000)).toBe(true);
    expect(TYPING_SHOWN_MS).toBe(4000);
    expect(session.agentTyping(1_000)).toBe(4000);
    expect(session.agentTyping(4_999)).toBe(1);
    expect(session.agentTyping(5_000)).toBe(0);
    // Another signal while typing goes on extends it.
    session.typing({ conversationId: "c-1", from: "agent" }, 4_000);
    expect(session.agentTyping(7_000)).toBe(1000);
    // Another conversation's signal, or someone else's, does not count.
    expect(session.typing({ conversationId: "c-2", from: "agent" }, 9_000)).toBe(false);
    expect(session.typing({ conversationId: "c-1", from: "customer" }, 9_000)).toBe(false);
    expect(session.typing(null, 9_000)).toBe(false);
    expect(session.agentTyping(9_000)).toBe(0);

    // The agent's message (pushed) ends it at once; a customer's does not.
    session.typing({ conversationId: "c-1", from: "agent" }, 10_000);
    session.receive({ conversationId: "c-1", seq: 5, from: "customer", text: "Ještě něco", at: "t" });
    expect(session.agentTyping(10_001)).toBeGreaterThan(0);
    session.receive({ conversationId: "c-1", seq: 6, from: "agent", text: "Hned to bude", at: "t" });
    expect(session.agentTyping(10_001)).toBe(0);
  });

  it("when the agent's message comes with a read instead of a push, should stop showing the agent typing", async () => {
    const { fetchFn } = fakeApi({
      "POST /api/chat/conversations": started,
      "POST /api/chat/conversations/c-1/handoff": { status: 202, body: { status: "assigned" } },
      "GET /api/chat/conversations/c-1/messages": [
        { status: 200, body: { status: "assigned", messages: [{ seq: 1, from: "customer", text: "Dobrý den", at: "t" }] } },
        { status: 200, body: { status: "assigned", messages: [{ seq: 2, from: "agent", text: "Dobrý den, jak pomohu?", at: "t" }] } },
        { status: 200, body: { status: "ended", messages: [] } },
      ],
    });
    const session = new ChatSession({ apiBase: "http://x", storage: new MemoryStore(), fetchFn, newKey });
    await session.start({}, "Dobrý den");
    const now = Date.now();
    session.typing({ conversationId: "c-1", from: "agent" }, now);
    await session.poll();
    expect(session.agentTyping(now)).toBe(0);
    // An ended chat shows no typing.
    session.typing({ conversationId: "c-1", from: "agent" }, now);
    await session.poll();
    expect(session.phase).toBe("ended");
    expect(session.agentTyping(now)).toBe(0);
    expect(session.typing({ conversationId: "c-1", from: "agent" }, now)).toBe(false);
  });
});

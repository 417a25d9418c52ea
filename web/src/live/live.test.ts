import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveConnection, liveUrl, reconnectDelay, type SocketLike } from "./live";

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closed = false;
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({});
  }
}

function broadcast(id: string, text = `notice ${id}`) {
  return { type: "broadcast", id, text, severity: "warning", sentBy: "supervisor", sentAt: "2026-11-27T13:05:00Z" };
}

describe("LiveConnection", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function connect() {
    const live = new LiveConnection({
      url: () => "ws://example.test/ws?token=t",
      createSocket: (url) => new FakeSocket(url),
      random: () => 0.5,
      now: () => Date.now(),
    });
    live.start();
    return live;
  }

  it("goes from connecting to open", () => {
    const live = connect();
    expect(live.snapshot.state).toBe("connecting");
    FakeSocket.all[0]?.open();
    expect(live.snapshot.state).toBe("open");
  });

  it("keeps a broadcast once when the same id arrives twice", () => {
    const live = connect();
    const socket = FakeSocket.all[0]!;
    socket.open();
    socket.receive(broadcast("b-1"));
    socket.receive(broadcast("b-2"));
    socket.receive(broadcast("b-1"));
    expect(live.snapshot.broadcasts.map((b) => b.id)).toEqual(["b-2", "b-1"]);
  });

  it("ignores messages that are not JSON or not known", () => {
    const live = connect();
    const socket = FakeSocket.all[0]!;
    socket.open();
    socket.onmessage?.({ data: "not json" });
    socket.receive({ type: "something-else" });
    socket.receive({ type: "broadcast", text: "no id" });
    expect(live.snapshot.broadcasts).toEqual([]);
  });

  it("hands other typed pushes (desk, presence, contact) to message listeners, not pongs or broadcasts", () => {
    const live = connect();
    const socket = FakeSocket.all[0]!;
    const got: unknown[] = [];
    const off = live.onMessage((message) => got.push(message));
    socket.open();
    socket.receive({ type: "desk", username: "agent01", reason: "calls" });
    socket.receive({ type: "presence", username: "agent02", presence: "busy" });
    socket.receive({ type: "pong" });
    socket.receive(broadcast("b-1"));
    socket.receive({ no: "type" });
    off();
    socket.receive({ type: "contact", contactId: "c1" });
    expect(got).toEqual([
      { type: "desk", username: "agent01", reason: "calls" },
      { type: "presence", username: "agent02", presence: "busy" },
    ]);
  });

  it("sends {action: ping} and records the pong", () => {
    const live = connect();
    const socket = FakeSocket.all[0]!;
    socket.open();
    expect(live.ping()).toBe(true);
    expect(JSON.parse(socket.sent[0]!)).toEqual({ action: "ping" });
    vi.advanceTimersByTime(42);
    socket.receive({ type: "pong" });
    expect(live.snapshot.lastPong?.rttMs).toBe(42);
    expect(live.snapshot.pongMissing).toBe(false);
  });

  it("drops a connection whose pong does not come and connects again", () => {
    const live = connect();
    FakeSocket.all[0]!.open();
    live.ping();
    vi.advanceTimersByTime(10_000);
    expect(live.snapshot.pongMissing).toBe(true);
    expect(FakeSocket.all[0]!.closed).toBe(true);
    expect(live.snapshot.state).toBe("closed");
    vi.advanceTimersByTime(1_000);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it("reconnects with growing delays and resets after a stable connection", () => {
    const live = connect();
    FakeSocket.all[0]!.drop(); // attempt 0: 750 ms with random 0.5
    expect(live.snapshot.state).toBe("closed");
    vi.advanceTimersByTime(749);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1]!.drop(); // attempt 1: 1500 ms
    vi.advanceTimersByTime(1_499);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(3);
    FakeSocket.all[2]!.open();
    vi.advanceTimersByTime(6_000);
    FakeSocket.all[2]!.drop(); // stable for 6 s: back to attempt 0
    vi.advanceTimersByTime(750);
    expect(FakeSocket.all).toHaveLength(4);
  });

  it("asks the app to check the session after three failures in a row", () => {
    const onRepeatedFailure = vi.fn();
    const live = new LiveConnection({
      url: () => "ws://example.test/ws?token=t",
      createSocket: (url) => new FakeSocket(url),
      random: () => 0,
      onRepeatedFailure,
    });
    live.start();
    FakeSocket.all[0]!.drop();
    vi.advanceTimersByTime(500);
    FakeSocket.all[1]!.drop();
    vi.advanceTimersByTime(1_000);
    expect(onRepeatedFailure).not.toHaveBeenCalled();
    FakeSocket.all[2]!.drop();
    expect(onRepeatedFailure).toHaveBeenCalledWith(3);
    live.stop();
  });

  it("stays closed after stop", () => {
    const live = connect();
    FakeSocket.all[0]!.open();
    live.stop();
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(live.snapshot.state).toBe("closed");
  });
});

describe("reconnectDelay", () => {
  it("doubles up to 30 s with jitter between half and all of the ceiling", () => {
    expect(reconnectDelay(0, () => 0)).toBe(500);
    expect(reconnectDelay(0, () => 1)).toBe(1_000);
    expect(reconnectDelay(3, () => 1)).toBe(8_000);
    expect(reconnectDelay(10, () => 1)).toBe(30_000);
    expect(reconnectDelay(10, () => 0)).toBe(15_000);
  });
});

describe("liveUrl", () => {
  it("uses ws:// under http and wss:// under https, on the page's own host", () => {
    expect(liveUrl({ protocol: "http:", host: "127.0.0.1:8080" }, "a.b c")).toBe("ws://127.0.0.1:8080/ws?token=a.b%20c");
    expect(liveUrl({ protocol: "https:", host: "linka.example" }, "t")).toBe("wss://linka.example/ws?token=t");
  });
});

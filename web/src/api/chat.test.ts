import { describe, expect, it } from "vitest";
import { ChatApi } from "./chat";

function fake() {
  const calls: { method: string; path: string; body?: unknown }[] = [];
  const api = {
    async call(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<unknown> {
      calls.push(body === undefined ? { method, path } : { method, path, body });
      return { conversationId: "c 1" };
    },
  };
  return { chat: new ChatApi(api), calls };
}

describe("ChatApi", () => {
  it("when a chat is transferred or a supervisor invited, should post exactly one target to the chat's route", async () => {
    const { chat, calls } = fake();
    await chat.transfer("c 1", { username: "agent02" });
    await chat.transfer("c 1", { queueId: "kkc-vip" });
    await chat.invite("c 1", "supervisor");
    await chat.act("c 1", "typing");
    expect(calls).toEqual([
      { method: "POST", path: "/api/desk/chats/c%201/transfer", body: { username: "agent02" } },
      { method: "POST", path: "/api/desk/chats/c%201/transfer", body: { queueId: "kkc-vip" } },
      { method: "POST", path: "/api/desk/chats/c%201/invite", body: { username: "supervisor" } },
      { method: "POST", path: "/api/desk/chats/c%201/typing" },
    ]);
  });
});

import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../api/chat";
import { customerLabel, lastSeq, mergeMessages } from "./desk-chats-model";

const message = (seq: number, text = `m${seq}`): ChatMessage => ({
  conversationId: "c-1",
  seq,
  messageId: `id-${seq}`,
  from: "customer",
  text,
  at: "2026-11-28T09:00:00Z",
});

describe("desk chats model", () => {
  it("merges a push and a read into one ordered transcript without duplicates", () => {
    const merged = mergeMessages([message(1), message(3)], [message(2), message(3, "again"), message(4)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(lastSeq(merged)).toBe(4);
    expect(lastSeq([])).toBe(0);
  });

  it("labels the customer by name, e-mail or phone", () => {
    expect(customerLabel({ customer: { name: " Jana ", email: "j@x.cz" } }, "?")).toBe("Jana");
    expect(customerLabel({ customer: { email: "j@x.cz" } }, "?")).toBe("j@x.cz");
    expect(customerLabel({ customer: {} }, "Zákazník")).toBe("Zákazník");
  });
});

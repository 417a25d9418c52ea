// The desk's chats (issue 7, CHAT-2/3): GET /api/desk/chats and the actions on one chat, on top
// of the app's ApiClient (Bearer, problem+json).

import type { ApiClient } from "./client";

export type ConversationStatus = "bot" | "queued" | "assigned" | "ended";
export type Sender = "customer" | "bot" | "agent" | "system";

export interface DeskChat {
  conversationId: string;
  channel: "web" | "sms" | "email" | "social";
  status: ConversationStatus;
  customer: { name?: string; email?: string; phone?: string };
  attributes?: Record<string, string>;
  queueId?: string;
  agent?: string;
  invited?: string[];
  lastSeq: number;
  createdAt: string;
  updatedAt: string;
}

export interface ChatMessage {
  conversationId: string;
  seq: number;
  messageId: string;
  from: Sender;
  author?: string;
  text: string;
  at: string;
  clientMessageId?: string;
}

export interface DeskChats {
  held: DeskChat[];
  waiting: DeskChat[];
  chatLimit: number;
}

export class ChatApi {
  constructor(private readonly api: Pick<ApiClient, "call">) {}

  async chats(): Promise<DeskChats> {
    return (await this.api.call("GET", "/api/desk/chats")) as DeskChats;
  }

  async transcript(id: string, after = 0): Promise<{ conversation: DeskChat; messages: ChatMessage[] }> {
    return (await this.api.call("GET", `/api/desk/chats/${encodeURIComponent(id)}/messages?after=${after}`)) as {
      conversation: DeskChat;
      messages: ChatMessage[];
    };
  }

  async send(id: string, text: string, clientMessageId: string): Promise<ChatMessage> {
    return (await this.api.call("POST", `/api/desk/chats/${encodeURIComponent(id)}/messages`, { text, clientMessageId })) as ChatMessage;
  }

  async act(id: string, action: "accept" | "end" | "typing"): Promise<DeskChat | null> {
    return (await this.api.call("POST", `/api/desk/chats/${encodeURIComponent(id)}/${action}`)) as DeskChat | null;
  }

  async transfer(id: string, target: { username: string } | { queueId: string }): Promise<DeskChat> {
    return (await this.api.call("POST", `/api/desk/chats/${encodeURIComponent(id)}/transfer`, target)) as DeskChat;
  }
}

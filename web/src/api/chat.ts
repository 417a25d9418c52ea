// The desk's chats (issue 7, CHAT-2/3, OMNI-1…3): GET /api/desk/chats and the actions on one chat
// (take, typing, transfer to a colleague or a queue, invite a supervisor, end),
// attachment links, and the SMS and e-mail conversations an agent opens, on top of the app's
// ApiClient (Bearer, problem+json). Conversations come from the web chat, SMS, e-mail and
// Messenger (`channel: social`).

import type { ApiClient } from "./client";

export type ConversationStatus = "bot" | "queued" | "assigned" | "ended";
export type Sender = "customer" | "bot" | "agent" | "system";
export type ChatChannel = "web" | "sms" | "email" | "social";

export interface DeskChat {
  conversationId: string;
  /** Its contact record (`chat:<conversationId>`): notes, category and client as for a call. */
  contactId?: string;
  channel: ChatChannel;
  status: ConversationStatus;
  customer: { name?: string; email?: string; phone?: string };
  attributes?: Record<string, string>;
  queueId?: string;
  agent?: string;
  invited?: string[];
  /** E-mail: the thread's subject. */
  subject?: string;
  /** Social: the network (`messenger`), page and user. */
  social?: { network: string; pageId: string; userId: string };
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
  /** E-mail: the subject the agent gave a new e-mail. */
  subject?: string;
  /** E-mail attachments, in order (the download link's index counts from 1). */
  attachments?: ChatAttachment[];
}

export interface ChatAttachment {
  name: string;
  contentType: string;
  size: number;
  key: string;
}

/** A presigned download link (valid 5 minutes). */
export interface AttachmentLink {
  url: string;
  name: string;
  contentType: string;
  size: number;
}

/** The first message of an SMS or e-mail conversation the agent opens (held by them). */
export interface OpenRequest {
  to: string;
  text: string;
  clientMessageId: string;
  /** E-mail only (1–200 characters). */
  subject?: string;
  name?: string;
}

export interface Opened {
  conversation: DeskChat;
  message: ChatMessage;
}

/** An e-mail template (OMNI-2) as the desk lists it. */
export interface MailTemplate {
  templateId: string;
  name: string;
  subject: string;
  body: string;
  active?: boolean;
}

/** The body of `POST /api/desk/chats/{id}/transfer`: exactly one of the two. */
export type TransferTarget = { username: string } | { queueId: string };

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

  /** `POST /api/desk/chats/sms|email`: 201 (200 for a repeated clientMessageId). */
  async open(channel: "sms" | "email", request: OpenRequest): Promise<Opened> {
    return (await this.api.call("POST", `/api/desk/chats/${channel}`, request)) as Opened;
  }

  /** The download link of a message's attachment (`index` from 1). */
  async attachment(id: string, seq: number, index: number): Promise<AttachmentLink> {
    return (await this.api.call("GET", `/api/desk/chats/${encodeURIComponent(id)}/messages/${seq}/attachments/${index}`)) as AttachmentLink;
  }

  /** The active e-mail templates (OMNI-2), by name. */
  async mailTemplates(): Promise<MailTemplate[]> {
    const body = (await this.api.call("GET", "/api/desk/mail-templates")) as { items?: unknown } | null;
    return Array.isArray(body?.items) ? (body.items as MailTemplate[]) : [];
  }

  /** Předat: to a colleague (held by them at once) or back to a queue (waiting there), exactly one of the two. */
  async transfer(id: string, target: TransferTarget): Promise<DeskChat> {
    return (await this.api.call("POST", `/api/desk/chats/${encodeURIComponent(id)}/transfer`, target)) as DeskChat;
  }

  /** Přizvat vedoucího: a supervisor joins the chat (reads and writes in it); the chat stays the agent's. */
  async invite(id: string, username: string): Promise<DeskChat> {
    return (await this.api.call("POST", `/api/desk/chats/${encodeURIComponent(id)}/invite`, { username })) as DeskChat;
  }
}

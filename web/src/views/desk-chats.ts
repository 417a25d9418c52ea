// Chaty at Pracoviště (issue 7, CHAT-2/3): the chats waiting in the agent's queues (Přijmout),
// the chats the agent holds (several at once, up to the limit), the open chat's transcript with
// a reply box, Předat (to a colleague) and Ukončit. Calls are independent of chats: an agent with
// open chats still takes calls (CHAT-3). Pushes keep it current: `chat` re-reads the lists,
// `chat-message` adds a message to the open chat (or marks another chat unread), `chat-typing`
// shows that someone else in the chat is typing.

import { ChatApi, type ChatMessage, type DeskChat, type DeskChats } from "../api/chat";
import type { ApiClient } from "../api/client";
import { DeskApi, type Client } from "../api/desk";
import type { Problem } from "../api/problem";
import { h } from "../ui/dom";
import { k, panel, when, type T } from "./desk-common";
import { customerLabel, lastSeq, mergeMessages } from "./desk-chats-model";
import { clientName } from "./desk-model";
import { button, textInput } from "./form";
import { asProblem, problemBox } from "./problem-box";

/** How often the agent's typing is told to the other side at most. */
const TYPING_EVERY_MS = 3000;
/** How long a typing signal is shown. */
const TYPING_SHOWN_MS = 5000;

export interface DeskChatsHost {
  api: Pick<ApiClient, "call">;
  t: T;
  username: string;
  rerender: (focus?: string) => void;
}

export class DeskChatsPanel {
  readonly #api: ChatApi;
  readonly #desk: DeskApi;
  readonly #host: DeskChatsHost;
  /** The open chat (its customer) and the clients matching the customer's e-mail or phone (CHAT-4). */
  #openedChat: DeskChat | null = null;
  #clients: Client[] | null = null;
  #chats: DeskChats | null = null;
  #open: string | null = null;
  #messages: ChatMessage[] = [];
  #draft = "";
  #transferTo = "";
  #unread = new Set<string>();
  #typingUntil = 0;
  #lastTypingSent = 0;
  #problem: Problem | null = null;
  #busy = false;

  constructor(host: DeskChatsHost) {
    this.#host = host;
    this.#api = new ChatApi(host.api);
    this.#desk = new DeskApi(host.api);
  }

  async load(): Promise<void> {
    try {
      this.#chats = await this.#api.chats();
      if (this.#open && !this.#chats.held.some((chat) => chat.conversationId === this.#open)) {
        this.#open = null;
        this.#messages = [];
      }
    } catch (error) {
      this.#problem = asProblem(error);
    }
    this.#host.rerender();
  }

  /** A push from the WebSocket; `true` when it was a chat push. */
  onPush(message: Record<string, unknown>): boolean {
    const type = message["type"];
    if (type === "chat") {
      void this.load();
      return true;
    }
    if (type === "chat-message") {
      const chatMessage = message["message"] as ChatMessage | undefined;
      if (!chatMessage) return true;
      if (chatMessage.conversationId === this.#open) {
        this.#messages = mergeMessages(this.#messages, [chatMessage]);
        this.#typingUntil = 0;
      } else if (chatMessage.author !== this.#host.username) {
        this.#unread.add(chatMessage.conversationId);
      }
      this.#host.rerender();
      return true;
    }
    if (type === "chat-typing") {
      if (message["conversationId"] === this.#open) {
        this.#typingUntil = Date.now() + TYPING_SHOWN_MS;
        this.#host.rerender();
      }
      return true;
    }
    return false;
  }

  async #run(task: () => Promise<void>, focus?: string): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    this.#problem = null;
    try {
      await task();
    } catch (error) {
      this.#problem = asProblem(error);
    }
    this.#busy = false;
    this.#host.rerender(focus);
  }

  async #openChat(id: string): Promise<void> {
    this.#open = id;
    this.#unread.delete(id);
    this.#messages = [];
    this.#draft = "";
    this.#clients = null;
    const { conversation, messages } = await this.#api.transcript(id);
    if (this.#open !== id) return;
    this.#openedChat = conversation;
    this.#messages = mergeMessages([], messages);
    // CHAT-4: who the customer may be, by the e-mail (else the phone) they gave.
    const { email, phone } = conversation.customer ?? {};
    const by = email ? { email } : phone ? { phone } : null;
    this.#clients = by ? await this.#desk.findClients(by).catch(() => []) : [];
  }

  #accept(id: string): void {
    void this.#run(async () => {
      await this.#api.act(id, "accept");
      await this.#openChat(id);
      this.#chats = await this.#api.chats();
    }, "desk-chat-input");
  }

  #send(): void {
    const id = this.#open;
    const text = this.#draft.trim();
    if (!id || !text) return;
    const key = `desk-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    void this.#run(async () => {
      const stored = await this.#api.send(id, text, key);
      this.#draft = "";
      this.#messages = mergeMessages(this.#messages, [stored]);
      // Whatever came meanwhile (a push may have been missed).
      const { messages } = await this.#api.transcript(id, Math.max(0, lastSeq(this.#messages) - 1));
      this.#messages = mergeMessages(this.#messages, messages);
    }, "desk-chat-input");
  }

  #typed(value: string): void {
    this.#draft = value;
    const id = this.#open;
    const now = Date.now();
    if (id && value && now - this.#lastTypingSent > TYPING_EVERY_MS) {
      this.#lastTypingSent = now;
      void this.#api.act(id, "typing").catch(() => undefined);
    }
  }

  #transfer(): void {
    const id = this.#open;
    const username = this.#transferTo.trim();
    if (!id || !username) return;
    void this.#run(async () => {
      await this.#api.transfer(id, { username });
      this.#transferTo = "";
      this.#open = null;
      this.#messages = [];
      this.#chats = await this.#api.chats();
    });
  }

  #end(): void {
    const id = this.#open;
    if (!id) return;
    void this.#run(async () => {
      await this.#api.act(id, "end");
      this.#open = null;
      this.#messages = [];
      this.#chats = await this.#api.chats();
    });
  }

  render(): HTMLElement {
    const { t } = this.#host;
    const chats = this.#chats;
    const customer = (chat: DeskChat) => customerLabel(chat, t(k("desk.chats.customer")));
    const waiting = chats?.waiting ?? [];
    const held = chats?.held ?? [];
    const waitingList = waiting.length
      ? h(
          "ul",
          { class: "plain", "data-testid": "desk-chats-waiting" },
          ...waiting.map((chat) =>
            h(
              "li",
              { "data-id": chat.conversationId },
              h("strong", null, customer(chat)),
              " ",
              h("span", { class: "muted" }, `${chat.queueId ?? ""} · ${when(chat.updatedAt)}`),
              " ",
              button(t(k("desk.chats.accept")), () => this.#accept(chat.conversationId), {
                class: "small",
                "data-testid": `desk-chat-accept-${chat.conversationId}`,
                disabled: this.#busy || held.length >= (chats?.chatLimit ?? 0),
              }),
            ),
          ),
        )
      : h("p", { class: "muted", "data-testid": "desk-chats-none-waiting" }, t(k("desk.chats.noneWaiting")));
    const heldList = held.length
      ? h(
          "ul",
          { class: "plain", "data-testid": "desk-chats-held" },
          ...held.map((chat) =>
            h(
              "li",
              { "data-id": chat.conversationId, class: chat.conversationId === this.#open ? "selected" : "" },
              button(customer(chat), () => void this.#run(() => this.#openChat(chat.conversationId), "desk-chat-input"), {
                class: "link",
                "data-testid": `desk-chat-open-${chat.conversationId}`,
                "aria-current": chat.conversationId === this.#open ? "true" : "false",
              }),
              this.#unread.has(chat.conversationId) ? h("span", { class: "badge", "data-testid": `desk-chat-unread-${chat.conversationId}` }, t(k("desk.chats.unread"))) : null,
            ),
          ),
        )
      : h("p", { class: "muted" }, t(k("desk.chats.noneHeld")));
    return panel(
      "desk-chats",
      t(k("desk.chats.title")),
      this.#problem ? problemBox(this.#problem, t) : null,
      h("h3", null, t(k("desk.chats.waiting"))),
      waitingList,
      h("h3", null, t(k("desk.chats.mine"), { count: held.length, limit: chats?.chatLimit ?? 0 })),
      heldList,
      this.#open ? this.#conversation() : null,
    );
  }

  /** The clients matching the customer's contact (CHAT-4) with their ICIS links (CHAT-5). */
  #clientsBox(): HTMLElement | null {
    const { t } = this.#host;
    const clients = this.#clients;
    if (clients === null) return null;
    const contact = this.#openedChat?.customer?.email ?? this.#openedChat?.customer?.phone ?? "";
    if (clients.length === 0) {
      return h("p", { class: "muted", "data-testid": "desk-chat-clients-none" }, contact ? t(k("desk.chats.noClient"), { contact }) : t(k("desk.chats.noContact")));
    }
    return h(
      "div",
      { "data-testid": "desk-chat-clients" },
      h("p", null, t(k("desk.chats.clients"), { contact })),
      h(
        "ul",
        { class: "plain" },
        ...clients.map((client) =>
          h(
            "li",
            { "data-id": client.clientId },
            clientName(client),
            " ",
            client.icisUrl
              ? h("a", { href: client.icisUrl, target: "_blank", rel: "noopener noreferrer", "data-testid": `desk-chat-icis-${client.clientId}` }, t(k("desk.client.icis")))
              : h("span", { class: "muted" }, t(k("desk.client.noIcis"))),
          ),
        ),
      ),
    );
  }

  /** The reply box: Enter sends. */
  #replyBox(): HTMLInputElement {
    const { t } = this.#host;
    const input = textInput(this.#draft, (value) => this.#typed(value), {
      id: "desk-chat-input",
      "data-testid": "desk-chat-input",
      placeholder: t(k("desk.chats.reply")),
      maxlength: 4000,
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.#send();
      }
    });
    return input;
  }

  #conversation(): HTMLElement {
    const { t } = this.#host;
    const sender = (message: ChatMessage) =>
      message.from === "agent" ? (message.author ?? t(k("desk.chats.from.agent"))) : t(k(`desk.chats.from.${message.from}`));
    const typing = this.#typingUntil > Date.now();
    return h(
      "div",
      { class: "desk-chat", "data-testid": "desk-chat", "data-id": this.#open ?? "" },
      h(
        "ol",
        { class: "plain desk-chat-transcript", "data-testid": "desk-chat-transcript", "aria-live": "polite" },
        ...this.#messages.map((message) =>
          h(
            "li",
            { "data-from": message.from, "data-seq": message.seq },
            h("span", { class: "muted" }, `${sender(message)} · ${when(message.at)}`),
            h("p", null, message.text),
          ),
        ),
      ),
      typing ? h("p", { class: "muted", "data-testid": "desk-chat-typing" }, t(k("desk.chats.typing"))) : null,
      this.#clientsBox(),
      h(
        "div",
        { class: "row" },
        h("label", { for: "desk-chat-input", class: "visually-hidden" }, t(k("desk.chats.reply"))),
        this.#replyBox(),
        button(t(k("desk.chats.send")), () => this.#send(), { "data-testid": "desk-chat-send", disabled: this.#busy }),
      ),
      h(
        "div",
        { class: "row" },
        h("label", { for: "desk-chat-transfer-user" }, t(k("desk.chats.transferTo"))),
        textInput(this.#transferTo, (value) => (this.#transferTo = value), { id: "desk-chat-transfer-user", "data-testid": "desk-chat-transfer-user" }),
        button(t(k("desk.chats.transfer")), () => this.#transfer(), { class: "secondary", "data-testid": "desk-chat-transfer", disabled: this.#busy }),
        button(t(k("desk.chats.end")), () => this.#end(), { class: "secondary", "data-testid": "desk-chat-end", disabled: this.#busy }),
      ),
    );
  }
}

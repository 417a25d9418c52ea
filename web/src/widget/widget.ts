// The embeddable chat widget (issue 7, CHAT-1/7): a button that opens a small Czech chat panel
// on the insurer's pages. `<script type="module" src="https://…/linka-widget.js"></script>`
// mounts it; the API is the script's own origin unless `data-linka-api` says otherwise.
// Everything it shows comes from ChatSession; news arrives over a live WebSocket while the
// panel is open, with polling every 2 s only while that socket is down (20 s while it is up).
// A `chat-typing` push shows "Operátor píše…" under the transcript (updated in place, for
// TYPING_SHOWN_MS or until the agent's message). A re-render keeps the reply typed and the focus.

import { ChatSession, type Phase, type WidgetMessage } from "./session";

/** How often the widget reads the conversation: quickly while it has no live socket. */
const POLL_MS = 2000;
const POLL_LIVE_MS = 20000;
/** API Gateway closes a WebSocket idle for 10 minutes: a ping keeps it. */
const PING_MS = 5 * 60 * 1000;

const TEXT = {
  open: "Chat s operátorem",
  close: "Zavřít chat",
  title: "Chat s pojišťovnou",
  name: "Jméno (nepovinné)",
  email: "E-mail (nepovinný)",
  message: "Vaše zpráva",
  start: "Začít chat",
  waiting: "Čekáte na operátora, hned se vám bude věnovat.",
  chatting: "Operátor je ve chatu.",
  closed: "Chat je teď mimo provozní dobu.",
  opens: "Otevíráme",
  leave: "Zanechat vzkaz",
  left: "Děkujeme, vzkaz máme. Odpovíme, jakmile začneme pracovat.",
  ended: "Chat skončil. Děkujeme.",
  again: "Nový chat",
  reply: "Napište zprávu",
  send: "Odeslat",
  end: "Ukončit chat",
  error: "Něco se nepovedlo; zkuste to prosím znovu.",
  typing: "Operátor píše…",
  from: { customer: "Vy", bot: "Chatbot", agent: "Operátor", system: "Pojišťovna" } as Record<WidgetMessage["from"], string>,
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string | null)[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  for (const child of children) if (child !== null) element.append(child);
  return element;
}

function formatOpening(iso: string): string {
  return new Intl.DateTimeFormat("cs-CZ", { timeZone: "Europe/Prague", weekday: "long", day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

export class ChatWidget {
  readonly #root: HTMLElement;
  readonly #session: ChatSession;
  #open = false;
  #busy = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #socket: WebSocket | null = null;
  #live = false;
  #ping: ReturnType<typeof setInterval> | null = null;
  /** The reply being typed (kept across re-renders). */
  #draft = "";
  /** "Operátor píše…" of the panel shown, and when it goes. */
  #typingLine: HTMLElement | null = null;
  #typingTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(root: HTMLElement, session: ChatSession) {
    this.#root = root;
    this.#session = session;
    this.#render();
  }

  async #do(task: () => Promise<void>): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      await task();
    } catch {
      this.#session.error = "network";
    }
    this.#busy = false;
    this.#render();
  }

  #schedule(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const active: Phase[] = ["waiting", "chatting", "left"];
    if (!this.#open || !active.includes(this.#session.phase)) {
      this.#disconnect();
      return;
    }
    this.#connect();
    this.#timer = setTimeout(() => {
      void this.#do(() => this.#session.poll());
    }, this.#live ? POLL_LIVE_MS : POLL_MS);
  }

  /** Opens the live socket of the conversation (once); a push reads the news at once. */
  #connect(): void {
    const url = this.#session.liveUrl();
    if (this.#socket || !url || typeof WebSocket === "undefined") return;
    const socket = new WebSocket(url);
    this.#socket = socket;
    socket.addEventListener("open", () => {
      this.#live = true;
      this.#ping = setInterval(() => socket.send(JSON.stringify({ action: "ping" })), PING_MS);
    });
    socket.addEventListener("message", (event) => {
      let pushed: { type?: string; message?: unknown } | null = null;
      try {
        pushed = JSON.parse(String(event.data)) as { type?: string; message?: unknown };
      } catch {
        return;
      }
      if (pushed?.type === "chat-typing") {
        if (this.#session.typing(pushed)) this.#showTyping();
        return;
      }
      if (pushed?.type !== "chat-message") return;
      this.#session.receive(pushed.message);
      this.#render();
      // The status (taken, ended) comes with a read.
      void this.#do(() => this.#session.poll());
    });
    socket.addEventListener("close", () => {
      if (this.#socket === socket) this.#socket = null;
      this.#live = false;
      if (this.#ping !== null) clearInterval(this.#ping);
      this.#ping = null;
    });
  }

  #disconnect(): void {
    this.#socket?.close();
    this.#socket = null;
    this.#live = false;
    if (this.#ping !== null) clearInterval(this.#ping);
    this.#ping = null;
  }

  /** Shows or clears "Operátor píše…" in place (no re-render: the reply typed and the focus stay). */
  #showTyping(): void {
    if (this.#typingTimer !== null) clearTimeout(this.#typingTimer);
    this.#typingTimer = null;
    const left = this.#session.agentTyping();
    if (this.#typingLine) this.#typingLine.textContent = left > 0 ? TEXT.typing : "";
    if (left > 0) this.#typingTimer = setTimeout(() => this.#showTyping(), left);
  }

  #render(): void {
    const session = this.#session;
    const root = this.#root;
    const focused = root.contains(document.activeElement) ? document.activeElement?.getAttribute("data-testid") : null;
    this.#typingLine = null;
    root.replaceChildren();
    root.className = "linka-widget";
    const toggle = el("button", { type: "button", class: "linka-widget-toggle", "data-testid": "linka-widget-toggle", "aria-expanded": String(this.#open) }, this.#open ? TEXT.close : TEXT.open);
    toggle.addEventListener("click", () => {
      this.#open = !this.#open;
      if (this.#open && session.conversationId) void this.#do(() => session.poll());
      else this.#render();
    });
    root.append(toggle);
    if (this.#open) root.append(this.#panel());
    if (focused) root.querySelector<HTMLElement>(`[data-testid="${focused}"]`)?.focus();
    this.#showTyping();
    this.#schedule();
  }

  #panel(): HTMLElement {
    const session = this.#session;
    const panel = el("section", { class: "linka-widget-panel", "aria-label": TEXT.title, "data-testid": "linka-widget", "data-phase": session.phase }, el("h2", {}, TEXT.title));
    if (session.error) panel.append(el("p", { role: "alert", class: "linka-widget-error" }, TEXT.error));
    if (session.phase === "form") {
      panel.append(this.#form());
      return panel;
    }
    const status: Partial<Record<Phase, string>> = { waiting: TEXT.waiting, chatting: TEXT.chatting, left: TEXT.left, ended: TEXT.ended };
    if (session.phase === "closed") {
      panel.append(el("p", { "data-testid": "linka-widget-closed" }, TEXT.closed, session.nextOpening ? ` ${TEXT.opens} ${formatOpening(session.nextOpening)}.` : ""));
      const leave = el("button", { type: "button", "data-testid": "linka-widget-leave" }, TEXT.leave);
      leave.addEventListener("click", () => void this.#do(() => session.handoff(true)));
      panel.append(leave);
    } else if (status[session.phase]) {
      panel.append(el("p", { "data-testid": "linka-widget-status", "aria-live": "polite" }, status[session.phase] ?? ""));
    }
    panel.append(
      el(
        "ol",
        { class: "linka-widget-transcript", "data-testid": "linka-widget-transcript", "aria-live": "polite" },
        ...session.messages.map((message) => el("li", { "data-from": message.from, "data-seq": String(message.seq) }, el("strong", {}, `${TEXT.from[message.from]}: `), message.text)),
      ),
    );
    if (session.phase === "waiting" || session.phase === "chatting") {
      this.#typingLine = el("p", { class: "linka-widget-typing", "data-testid": "linka-widget-typing", "aria-live": "polite" });
      panel.append(this.#typingLine, this.#replyForm());
    }
    if (session.phase === "ended" || session.phase === "left") {
      const again = el("button", { type: "button", "data-testid": "linka-widget-again" }, TEXT.again);
      again.addEventListener("click", () => {
        session.forget();
        this.#render();
      });
      panel.append(again);
    }
    return panel;
  }

  #form(): HTMLElement {
    const name = el("input", { type: "text", id: "linka-widget-name", autocomplete: "name", maxlength: "100" });
    const email = el("input", { type: "email", id: "linka-widget-email", autocomplete: "email", maxlength: "254" });
    const message = el("textarea", { id: "linka-widget-message", required: "", maxlength: "4000", rows: "3", "data-testid": "linka-widget-message" });
    const form = el(
      "form",
      { "data-testid": "linka-widget-form" },
      el("label", { for: "linka-widget-name" }, TEXT.name),
      name,
      el("label", { for: "linka-widget-email" }, TEXT.email),
      email,
      el("label", { for: "linka-widget-message" }, TEXT.message),
      message,
      el("button", { type: "submit", "data-testid": "linka-widget-start" }, TEXT.start),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!message.value.trim()) return;
      void this.#do(() => this.#session.start({ name: name.value, email: email.value }, message.value));
    });
    return form;
  }

  #replyForm(): HTMLElement {
    const input = el("input", { type: "text", "aria-label": TEXT.reply, placeholder: TEXT.reply, maxlength: "4000", "data-testid": "linka-widget-input" });
    input.value = this.#draft;
    input.addEventListener("input", () => {
      this.#draft = input.value;
      if (input.value.trim()) void this.#session.signalTyping();
    });
    const form = el("form", { class: "linka-widget-reply" }, input, el("button", { type: "submit", "data-testid": "linka-widget-send" }, TEXT.send));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value;
      if (!text.trim()) return;
      void this.#do(async () => {
        const session = this.#session;
        session.error = null;
        await session.send(text);
        if (!session.error) this.#draft = "";
      });
    });
    const end = el("button", { type: "button", "data-testid": "linka-widget-end" }, TEXT.end);
    end.addEventListener("click", () => void this.#do(() => this.#session.end()));
    return el("div", {}, form, end);
  }
}

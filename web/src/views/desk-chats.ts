// Chaty at Pracoviště (issue 7, CHAT-2/3): the chats waiting in the agent's queues (Přijmout),
// the chats the agent holds (several at once, up to the limit), the open chat's transcript with
// a reply box, Předat (to a colleague chosen from the transfer panel's directory with their live
// presence, free ones first, or to one of the agent's queues), Přizvat vedoucího (a supervisor
// joins the chat) and Ukončit. Without a readable directory a colleague is named by user name.
// Calls are independent of chats: an agent with open chats still takes calls (CHAT-3). Pushes
// keep it current: `chat` re-reads the lists, `chat-message` adds a message to the open chat (or
// marks another chat unread), `chat-typing` shows that someone else in the chat is typing.
// Channels (OMNI-1…3): each chat carries a badge (Chat / SMS / E-mail / Messenger); an SMS is
// named by the phone number, an e-mail by its subject, a Messenger chat by the name or "Uživatel
// Messengeru". E-mail attachments are listed under their message (Stáhnout asks for a link valid
// 5 minutes and opens it). An SMS reply has a live counter of characters and parts and is not
// sent over 1600 characters. Nová SMS / Nový e-mail open a conversation by the agent (desk-compose).
// Every conversation is a contact record like a call (`contactId`, `chat:<id>`): the open chat
// has the call's note and category forms (desk-notes) on it, and Přiřadit per matching client
// (CHAT-4) identifies the client (PUT /api/contacts/{contactId}/client); Zadat klienta ručně
// opens the call's new client form (desk-client) prefilled from the customer (name, e-mail,
// phone), whose Založit klienta creates the client (POST /api/clients) and assigns it so.
// A chat given to the agent without their doing (the chat setting Přidělování chatů:
// automatic, or a colleague's Předat; see ArrivalTracker) is marked "nový chat" in Moje chaty
// until the agent opens it from the list or answers, announced in the desk's status line
// (aria-live), and opened when no chat is open; the focus stays where it is.

import { ChatApi, type ChatAttachment, type ChatChannel, type ChatMessage, type DeskChat, type DeskChats } from "../api/chat";
import type { ApiClient } from "../api/client";
import { DeskApi, type Category, type Client, type ClientField, type ContactRecord, type DeskQueue, type Directory, type NoteVersion } from "../api/desk";
import type { Problem } from "../api/problem";
import { formatSize } from "../format/number";
import type { Locale } from "../i18n";
import { h } from "../ui/dom";
import { k, known, panel, when, type T } from "./desk-common";
import {
  ArrivalTracker,
  chatContactId,
  chatHeading,
  chatProblemKey,
  colleagueName,
  inviteCandidates,
  lastSeq,
  mergeMessages,
  transferColleagues,
  type ChatAction,
  type ColleagueChoice,
} from "./desk-chats-model";
import { Composer, smsCounter, type OutboundChannel } from "./desk-compose";
import { firstNewFieldTestId, newClientForm } from "./desk-client";
import { clientFieldsToCreate, fieldLabels, knownClientValues, labelFieldErrors } from "./desk-client-new";
import { clientName, formatCount, latestVersion, missingRequired, panelPresence } from "./desk-model";
import { categoryForm, noteForm, saveNoteVersion, type NotesBox } from "./desk-notes";
import { button, select, statusLine, textInput } from "./form";
import { asProblem, problemBox } from "./problem-box";
import { countSms, SMS_MAX_CHARS } from "./sms-parts";

/** How often the agent's typing is told to the other side at most. */
const TYPING_EVERY_MS = 3000;
/** How long a typing signal is shown. */
const TYPING_SHOWN_MS = 5000;
/** How long an attachment link is offered after it was read (the backend's link lasts 5 min). */
const LINK_SHOWN_MS = 4 * 60_000;
/** The test ids' prefix of the chat's new client form (`desk-chat-new-<key>`, …-save, …-cancel). */
const NEW_CLIENT = "desk-chat-new";
/** Zadat klienta ručně in the open chat's client box. */
const NEW_CLIENT_BUTTON = "desk-chat-client-new";

export interface DeskChatsHost {
  api: Pick<ApiClient, "call">;
  t: T;
  locale: () => Locale;
  username: string;
  /** The agent's name (an e-mail template's `{{agent}}`). */
  agentName: () => string;
  /** The categories to choose from (null: none readable, a code is typed in). */
  categories: () => Category[] | null;
  /** The client fields (GET /api/client-fields, read with the desk): a client entered by hand. */
  fields: () => readonly ClientField[] | null;
  /** The transfer panel's directory with live presence (null: not read; a colleague is typed in). */
  directory: () => Directory | null;
  /** The agent's queues (GET /api/desk): where a chat can be handed back to. */
  queues: () => readonly DeskQueue[];
  rerender: (focus?: string | null) => void;
  /** A message for the desk's status line (e.g. "SMS odeslána…"), then a re-render. */
  flash: (text: string, focus?: string | null) => void;
  /** A conversation's contact record changed (taken, ended, a note…): the desk's lists may read again. */
  contactsChanged: () => void;
}

/** The open chat's contact record and its forms' state. */
interface ChatRecord {
  contactId: string;
  /** null until read. */
  contact: ContactRecord | null;
  notes: NoteVersion[] | null;
  noteDraft: string;
  categoryDraft: string;
  /** It could not be read. */
  failed: boolean;
  /** What the forms' own checks refused, or a newer note version met. */
  invalid: string | null;
  /** The last save done. */
  saved: string | null;
}

/** A channel's badge: the visible name, read as "Kanál: SMS". */
export function channelBadge(t: T, channel: ChatChannel): HTMLElement {
  return h(
    "span",
    { class: `badge channel channel-${channel}`, "data-testid": "desk-chat-channel", "data-channel": channel },
    h("span", { class: "visually-hidden" }, `${t(k("desk.chats.channelPrefix"))} `),
    known(t, `desk.chats.channel.${channel}`, channel),
  );
}

/** Only http(s) links (and the app's own) are opened. */
function safeUrl(url: string): string | null {
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export class DeskChatsPanel {
  readonly #api: ChatApi;
  readonly #desk: DeskApi;
  readonly #host: DeskChatsHost;
  /** The open chat (its customer) and the clients matching the customer's e-mail or phone (CHAT-4). */
  #openedChat: DeskChat | null = null;
  #clients: Client[] | null = null;
  /** Zadat klienta ručně: the values of the new client's form (null: closed). */
  #newClient: Record<string, string> | null = null;
  /** The open chat's contact record (notes, category, client). */
  #record: ChatRecord | null = null;
  #chats: DeskChats | null = null;
  #open: string | null = null;
  #messages: ChatMessage[] = [];
  #draft = "";
  /** Předat: the colleague (user name) and the queue chosen; Přizvat vedoucího: the supervisor. */
  #transferTo = "";
  #transferQueue = "";
  #inviteUser = "";
  #unread = new Set<string>();
  /** Chats given to the agent (automatic distribution, a colleague's Předat): announced and marked. */
  readonly #arrivals = new ArrivalTracker();
  /** Reads of the lists started; only the newest one's answer is applied. */
  #reads = 0;
  #typingUntil = 0;
  #lastTypingSent = 0;
  #problem: Problem | null = null;
  /** The action the problem came from (the panel words some refusals itself); `client`: Přiřadit or a new client. */
  #problemAction: ChatAction | "client" | null = null;
  /** What the panel's own checks refused (an SMS over the limit, nobody chosen to transfer to). */
  #invalid: string | null = null;
  /** The choice (its element id) `#invalid` is about, shown there; null: the reply. */
  #invalidFor: string | null = null;
  #busy = false;
  /** Attachment links read: `conversation/seq/index` → the link and until when it is offered. */
  readonly #links = new Map<string, { url: string; name: string; until: number }>();
  /** Nová SMS / Nový e-mail. */
  readonly #composer: Composer;

  constructor(host: DeskChatsHost) {
    this.#host = host;
    this.#api = new ChatApi(host.api);
    this.#desk = new DeskApi(host.api);
    this.#composer = new Composer(
      {
        api: host.api,
        t: host.t,
        locale: host.locale,
        agentName: host.agentName,
        rerender: host.rerender,
        sent: (text, opened, focus) => {
          host.flash(text, focus);
          this.opened(opened.conversation);
        },
      },
      "desk-chats-compose",
    );
  }

  /** Opens the panel's form of a new SMS or e-mail. */
  #compose(channel: OutboundChannel): void {
    if (this.#composer.channel === channel) {
      this.#composer.close(`desk-chats-new-${channel}`);
      return;
    }
    this.#composer.start(channel, { returnFocus: `desk-chats-new-${channel}` });
  }

  async load(): Promise<void> {
    const read = ++this.#reads;
    try {
      const chats = await this.#api.chats();
      // A burst of pushes starts several reads: an older answer must not undo a newer one.
      if (read !== this.#reads) return;
      this.#chats = chats;
      if (this.#open && !chats.held.some((chat) => chat.conversationId === this.#open)) this.#close();
      const arrived = this.#arrivals.read(chats.held.map((chat) => chat.conversationId));
      if (arrived.length) this.#arrived(arrived);
    } catch (error) {
      if (read !== this.#reads) return;
      this.#problem = asProblem(error);
    }
    this.#host.rerender();
  }

  /**
   * Chats given to the agent have arrived in Moje chaty (marked there): said in the desk's
   * status line (aria-live, as an incoming call is) and, when no chat is open, the first one
   * opened. The focus stays where it is (the agent may be typing elsewhere).
   */
  #arrived(ids: readonly string[]): void {
    const { t } = this.#host;
    const first = this.#chats?.held.find((chat) => chat.conversationId === ids[0]);
    if (!first) return;
    this.#host.flash(
      ids.length === 1 ? t(k("desk.chats.assignedToYou"), { who: this.#heading(first).who }) : t(k("desk.chats.assignedToYouMany"), { count: ids.length }),
    );
    if (this.#open) return;
    void this.#openChat(first.conversationId)
      .catch((error: unknown) => {
        this.#problem = asProblem(error);
        this.#problemAction = null;
      })
      .finally(() => this.#host.rerender());
  }

  /** A conversation the agent opened (an SMS or e-mail sent): held at once, then the lists read again. */
  opened(conversation: DeskChat): void {
    this.#arrivals.taking(conversation.conversationId);
    const chats = this.#chats;
    if (chats && !chats.held.some((chat) => chat.conversationId === conversation.conversationId)) {
      this.#chats = { ...chats, held: [...chats.held, conversation] };
    }
    this.#host.contactsChanged();
    void this.load();
  }

  /** The open chat is gone (ended, transferred, no longer held). */
  #close(): void {
    this.#open = null;
    this.#messages = [];
    this.#record = null;
    this.#newClient = null;
  }

  /** A push from the WebSocket; `true` when it was a chat push. */
  onPush(message: Record<string, unknown>): boolean {
    const type = message["type"];
    if (type === "chat") {
      this.#arrivals.push(message, this.#host.username, this.#chats?.held.map((chat) => chat.conversationId) ?? []);
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
    if (type === "contact") {
      // The open chat's record changed (a note or category saved elsewhere): read it again. The
      // desk handles the push too (its own contact, the recent contacts).
      if (this.#record && message["contactId"] === this.#record.contactId) void this.#loadRecord(this.#record, false);
      return false;
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

  /** Runs an action: its problem is shown, the focus goes to `focus` (or where the task says on success). */
  async #run(task: () => Promise<void | string>, focus?: string, action: ChatAction | "client" | null = null): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    this.#problem = null;
    this.#problemAction = action;
    this.#invalid = null;
    this.#invalidFor = null;
    let to = focus;
    try {
      to = (await task()) ?? focus;
    } catch (error) {
      const problem = asProblem(error);
      this.#problem = problem;
      // The chat is gone from the agent meanwhile (ended, moved): the lists are read again.
      if (problem.code === "conversation-ended" || problem.code === "not-your-chat") void this.load();
    }
    this.#busy = false;
    this.#host.rerender(to);
  }

  /** A problem box: the panel's own words for known chat refusals, else the app's. */
  #problemBox(problem: Problem): HTMLElement {
    const { t } = this.#host;
    const key = chatProblemKey(problem, this.#problemAction === "client" ? null : this.#problemAction);
    if (!key) return problemBox(labelFieldErrors(problem, this.#host.fields() ?? [], this.#host.locale()), t);
    return h("div", { class: "alert alert-error", role: "alert", "data-testid": "problem", "data-code": problem.code ?? "" }, h("p", null, t(k(key))));
  }

  async #openChat(id: string): Promise<void> {
    this.#open = id;
    this.#unread.delete(id);
    this.#messages = [];
    this.#draft = "";
    this.#transferTo = "";
    this.#transferQueue = "";
    this.#inviteUser = "";
    this.#invalid = null;
    this.#invalidFor = null;
    this.#clients = null;
    this.#newClient = null;
    this.#record = null;
    const { conversation, messages } = await this.#api.transcript(id);
    if (this.#open !== id) return;
    this.#openedChat = conversation;
    this.#messages = mergeMessages([], messages);
    const record: ChatRecord = { contactId: chatContactId(conversation), contact: null, notes: null, noteDraft: "", categoryDraft: "", failed: false, invalid: null, saved: null };
    this.#record = record;
    // CHAT-4: who the customer may be, by the e-mail (else the phone) they gave.
    const { email, phone } = conversation.customer ?? {};
    const by = email ? { email } : phone ? { phone } : null;
    const [clients] = await Promise.all([by ? this.#desk.findClients(by).catch(() => []) : Promise.resolve([]), this.#loadRecord(record, true)]);
    if (this.#open === id) this.#clients = clients;
  }

  /** Reads the open chat's contact record and note versions (a draft typed is kept). */
  async #loadRecord(record: ChatRecord, first: boolean): Promise<void> {
    try {
      const [contact, notes] = await Promise.all([this.#desk.contact(record.contactId), this.#desk.notes(record.contactId)]);
      if (this.#record !== record) return;
      const before = record.notes?.find((note) => note.version === latestVersion(record.notes ?? []))?.text ?? "";
      const latest = notes.find((note) => note.version === latestVersion(notes))?.text ?? "";
      if (first || !record.noteDraft || record.noteDraft === before) record.noteDraft = latest;
      if (first || !record.categoryDraft) record.categoryDraft = contact.categoryId ?? "";
      record.contact = contact;
      record.notes = notes;
      record.failed = false;
    } catch {
      record.failed = true;
    }
    if (!first) this.#host.rerender();
  }

  /** Uložit poznámku of the open chat: a new version of its note. */
  #saveNote(): void {
    const record = this.#record;
    if (!record) return;
    const { t } = this.#host;
    const text = record.noteDraft.trim();
    record.saved = null;
    if (!text) {
      record.invalid = t(k("desk.note.empty"));
      this.#host.rerender("desk-chat-note");
      return;
    }
    record.invalid = null;
    void this.#run(async () => {
      const result = await saveNoteVersion(this.#desk, record.contactId, text, record.notes ?? []);
      record.notes = result.notes;
      if (!result.saved) {
        // Someone saved a newer version meanwhile: shown, the text typed kept.
        record.invalid = t(k("desk.note.conflict"));
        return;
      }
      record.saved = t(k("desk.note.saved"), { version: result.version });
      this.#host.contactsChanged();
    }, "desk-chat-note");
  }

  /** Uložit kategorii of the open chat. */
  #saveCategory(): void {
    const record = this.#record;
    if (!record) return;
    const { t } = this.#host;
    const categoryId = record.categoryDraft.trim();
    record.saved = null;
    if (!categoryId) {
      record.invalid = t(k("desk.category.contactNeeded"));
      this.#host.rerender("desk-chat-category");
      return;
    }
    record.invalid = null;
    void this.#run(async () => {
      record.contact = await this.#desk.setCategory(record.contactId, categoryId);
      record.saved = t(k("desk.category.contactSaved"));
      this.#host.contactsChanged();
    }, "desk-chat-category");
  }

  /** Přiřadit: the open chat's contact is the client's (CHAT-4). */
  #assign(client: Client): void {
    const record = this.#record;
    if (!record) return;
    const { t } = this.#host;
    record.saved = null;
    record.invalid = null;
    void this.#run(
      async () => {
        record.contact = await this.#desk.setClient(record.contactId, client.clientId);
        record.saved = t(k("desk.client.picked"), { name: clientName(client) });
        this.#host.contactsChanged();
      },
      "desk-chat-client",
      "client",
    );
  }

  /** Zadat klienta ručně: the new client's form, prefilled from the customer; the focus to its first field. */
  #startNewClient(): void {
    const fields = this.#host.fields() ?? [];
    const customer = this.#openedChat?.customer ?? {};
    this.#newClient = knownClientValues(fields, customer);
    this.#invalid = null;
    this.#invalidFor = null;
    if (this.#problemAction === "client") this.#problem = null;
    this.#host.rerender(firstNewFieldTestId(fields, NEW_CLIENT) ?? `${NEW_CLIENT}-cancel`);
  }

  /** Zrušit: the form closes (what was typed is dropped), the focus back to Zadat klienta ručně. */
  #cancelNewClient(): void {
    this.#newClient = null;
    this.#invalid = null;
    this.#invalidFor = null;
    if (this.#problemAction === "client") this.#problem = null;
    this.#host.rerender(NEW_CLIENT_BUTTON);
  }

  /**
   * Založit klienta: the required fields checked here, the client created (POST /api/clients,
   * as for a call) and assigned to the open chat's contact (as Přiřadit). A refusal shows at the
   * form, the values typed kept. Once created the client is among the chat's clients, so a
   * failed assignment can be done again with its Přiřadit (and no second client is created).
   */
  #createClient(): void {
    const record = this.#record;
    const values = this.#newClient;
    if (!record || !values) return;
    const { t } = this.#host;
    const fields = this.#host.fields() ?? [];
    record.saved = null;
    record.invalid = null;
    const missing = missingRequired(fields, values);
    if (missing.length) {
      if (this.#problemAction === "client") this.#problem = null;
      this.#invalid = t(k("desk.client.required"), { fields: fieldLabels(fields, missing, this.#host.locale()) });
      this.#invalidFor = NEW_CLIENT;
      this.#host.rerender(`${NEW_CLIENT}-${missing[0]}`);
      return;
    }
    void this.#run(
      async () => {
        const created = await this.#desk.createClient(clientFieldsToCreate(values));
        this.#newClient = null;
        if (this.#record === record && !this.#clients?.some((client) => client.clientId === created.clientId)) this.#clients = [...(this.#clients ?? []), created];
        try {
          record.contact = await this.#desk.setClient(record.contactId, created.clientId);
        } catch (error) {
          // Created, not assigned: said at the client box, the focus to the client's Přiřadit.
          this.#problem = asProblem(error);
          return `desk-chat-assign-${created.clientId}`;
        }
        record.saved = t(k("desk.client.created"), { name: clientName(created) });
        this.#host.contactsChanged();
        return "desk-chat-client";
      },
      `${NEW_CLIENT}-save`,
      "client",
    );
  }

  #accept(id: string): void {
    void this.#run(
      async () => {
        // Its `assigned` push may come before the answer: the agent's own, not given to them.
        this.#arrivals.taking(id);
        try {
          await this.#api.act(id, "accept");
        } catch (error) {
          this.#arrivals.notTaken(id);
          throw error;
        }
        await this.#openChat(id);
        this.#chats = await this.#api.chats();
        this.#host.contactsChanged();
      },
      "desk-chat-input",
      "accept",
    );
  }

  #send(): void {
    const id = this.#open;
    const text = this.#draft.trim();
    if (!id || !text) return;
    const { t } = this.#host;
    if (this.#current()?.channel === "sms") {
      const count = countSms(text);
      if (count.tooLong) {
        // The backend would refuse it (422): said here, the text kept for shortening.
        const locale = this.#host.locale();
        this.#invalid = t(k("desk.sms.tooLong"), { max: formatCount(SMS_MAX_CHARS, locale), count: formatCount(count.characters, locale) });
        this.#invalidFor = null;
        this.#host.rerender("desk-chat-input");
        return;
      }
    }
    const key = `desk-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    void this.#run(
      async () => {
        const stored = await this.#api.send(id, text, key);
        this.#arrivals.seen(id);
        this.#draft = "";
        this.#messages = mergeMessages(this.#messages, [stored]);
        // Whatever came meanwhile (a push may have been missed).
        const { messages } = await this.#api.transcript(id, Math.max(0, lastSeq(this.#messages) - 1));
        this.#messages = mergeMessages(this.#messages, messages);
      },
      "desk-chat-input",
      "send",
    );
  }

  /** The open chat's summary (from the lists, else as the transcript read it). */
  #current(): DeskChat | null {
    const id = this.#open;
    if (!id) return null;
    return this.#chats?.held.find((chat) => chat.conversationId === id) ?? (this.#openedChat?.conversationId === id ? this.#openedChat : null);
  }

  /** Stáhnout: reads the attachment's link and opens it in a new tab (also offered as a link). */
  #download(message: ChatMessage, index: number): void {
    const key = `${message.conversationId}/${message.seq}/${index}`;
    void this.#run(async () => {
      const link = await this.#api.attachment(message.conversationId, message.seq, index);
      const url = safeUrl(link.url);
      if (!url) throw { problem: { status: 0 } };
      this.#links.set(key, { url, name: link.name, until: Date.now() + LINK_SHOWN_MS });
      window.open(url, "_blank", "noopener,noreferrer");
    }, `desk-chat-attachment-${message.seq}-${index}`);
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

  /** A chat no longer the agent's (transferred, ended): closed and out of the held list at once. */
  #drop(id: string): void {
    if (this.#open === id) this.#close();
    if (this.#chats) this.#chats = { ...this.#chats, held: this.#chats.held.filter((chat) => chat.conversationId !== id) };
    this.#host.contactsChanged();
  }

  /** Předat: to the colleague or the queue chosen (a choice is needed first). */
  #transfer(to: "agent" | "queue"): void {
    const id = this.#open;
    if (!id) return;
    const { t } = this.#host;
    const value = (to === "agent" ? this.#transferTo : this.#transferQueue).trim();
    if (!value) {
      const control = to === "agent" ? "desk-chat-transfer-user" : "desk-chat-transfer-queue";
      this.#problem = null;
      this.#invalid = t(k(to === "agent" ? "desk.chats.chooseColleague" : "desk.chats.chooseQueue"));
      this.#invalidFor = control;
      this.#host.rerender(control);
      return;
    }
    const done =
      to === "agent"
        ? t(k("desk.chats.transferred"), { name: colleagueName(this.#host.directory(), value) })
        : t(k("desk.chats.transferredQueue"), { queue: this.#host.queues().find((queue) => queue.queueId === value)?.name ?? value });
    void this.#run(
      async () => {
        await this.#api.transfer(id, to === "agent" ? { username: value } : { queueId: value });
        this.#transferTo = "";
        this.#transferQueue = "";
        this.#drop(id);
        // The chat and its controls go with this render: the focus moves in the same one.
        this.#host.flash(done, "desk-chats-mine");
        this.#chats = await this.#api.chats();
        // The chat and its controls are gone: the focus goes to the agent's chats.
        return "desk-chats-mine";
      },
      to === "agent" ? "desk-chat-transfer" : "desk-chat-transfer-to-queue",
      "transfer",
    );
  }

  /** Přizvat vedoucího: the supervisor chosen joins the open chat. */
  #invite(): void {
    const id = this.#open;
    if (!id) return;
    const { t } = this.#host;
    const username = this.#inviteUser.trim();
    if (!username) {
      this.#problem = null;
      this.#invalid = t(k("desk.chats.chooseSupervisor"));
      this.#invalidFor = "desk-chat-invite-user";
      this.#host.rerender("desk-chat-invite-user");
      return;
    }
    void this.#run(
      async () => {
        const changed = await this.#api.invite(id, username);
        this.#inviteUser = "";
        this.#updated(changed);
        this.#host.flash(t(k("desk.chats.invited"), { name: colleagueName(this.#host.directory(), username) }));
        const directory = this.#host.directory();
        const more = directory ? inviteCandidates(directory, this.#host.username, changed.invited).length > 0 : true;
        return more ? "desk-chat-invite-user" : "desk-chat-invited";
      },
      "desk-chat-invite",
      "invite",
    );
  }

  /** A held chat as an action answered it (e.g. its invited supervisors). */
  #updated(chat: DeskChat | null | undefined): void {
    if (!chat?.conversationId) return;
    const id = chat.conversationId;
    if (this.#openedChat?.conversationId === id) this.#openedChat = { ...this.#openedChat, ...chat };
    const chats = this.#chats;
    if (chats) this.#chats = { ...chats, held: chats.held.map((held) => (held.conversationId === id ? { ...held, ...chat } : held)) };
  }

  #end(): void {
    const id = this.#open;
    if (!id) return;
    void this.#run(
      async () => {
        await this.#api.act(id, "end");
        this.#drop(id);
        this.#chats = await this.#api.chats();
        return "desk-chats-mine";
      },
      undefined,
      "end",
    );
  }

  /** Whether the problem belongs to the open chat's client box (Přiřadit, a new client). */
  #problemAtClient(): boolean {
    return this.#open !== null && this.#problemAction === "client";
  }

  /** Whether the problem belongs to the open chat's Předat / Přizvat controls. */
  #problemAtChat(): boolean {
    return this.#open !== null && (this.#problemAction === "transfer" || this.#problemAction === "invite");
  }

  /** A colleague as an option: the name and the live presence ("Petr Svoboda — Volný"). */
  #colleagueOption(colleague: ColleagueChoice): { value: string; label: string } {
    const { t } = this.#host;
    return { value: colleague.username, label: t(k("desk.chats.colleague"), { name: colleague.name, presence: t(k(panelPresence(colleague.presence).key)) }) };
  }

  /**
   * A labelled choice with its button: a select of `options` (after "— vyberte —"), a typed
   * user name when `options` is null (no directory), or `none` when there is nothing to choose.
   */
  #choice(spec: {
    id: string;
    label: string;
    value: string;
    set: (value: string) => void;
    options: { value: string; label: string }[] | null;
    none: string;
    action: string;
    actionId: string;
    run: () => void;
  }): HTMLElement {
    const { t } = this.#host;
    if (spec.options && spec.options.length === 0) return h("p", { class: "muted", "data-testid": `${spec.id}-none` }, spec.none);
    // Nothing chosen when the button was pressed: said at the choice.
    const invalid = this.#invalid && this.#invalidFor === spec.id ? this.#invalid : null;
    const attrs = { id: spec.id, "data-testid": spec.id, ...(invalid ? { "aria-invalid": "true", "aria-describedby": `${spec.id}-error` } : {}) };
    let control: HTMLElement;
    if (spec.options) {
      control = select(spec.value, [{ value: "", label: t(k("desk.chats.choose")) }, ...spec.options], spec.set, attrs);
    } else {
      control = textInput(spec.value, spec.set, { ...attrs, autocomplete: "off", spellcheck: "false" });
      control.addEventListener("keydown", (event) => {
        if ((event as KeyboardEvent).key === "Enter") {
          event.preventDefault();
          spec.run();
        }
      });
    }
    return h(
      "div",
      { class: "row desk-chat-choice" },
      h("div", { class: "field" }, h("label", { for: spec.id }, spec.label), control),
      button(spec.action, spec.run, { class: "secondary", "data-testid": spec.actionId, disabled: this.#busy }),
      invalid ? h("p", { class: "field-error", id: `${spec.id}-error`, role: "alert", "data-testid": "desk-chat-invalid" }, invalid) : null,
    );
  }

  /** Předat: to a colleague (with their presence, free ones first) or to one of the agent's queues. */
  #transferBox(): HTMLElement {
    const { t } = this.#host;
    const directory = this.#host.directory();
    const queues = this.#host.queues();
    return h(
      "fieldset",
      { class: "desk-chat-fieldset", "data-testid": "desk-chat-transfer-box" },
      h("legend", null, t(k("desk.chats.transferTitle"))),
      this.#choice({
        id: "desk-chat-transfer-user",
        label: t(k(directory ? "desk.chats.toColleague" : "desk.chats.toColleagueTyped")),
        value: this.#transferTo,
        set: (value) => (this.#transferTo = value),
        options: directory ? transferColleagues(directory, this.#host.username).map((colleague) => this.#colleagueOption(colleague)) : null,
        none: t(k("desk.chats.noColleague")),
        action: t(k("desk.chats.transfer")),
        actionId: "desk-chat-transfer",
        run: () => this.#transfer("agent"),
      }),
      this.#choice({
        id: "desk-chat-transfer-queue",
        label: t(k("desk.chats.toQueue")),
        value: this.#transferQueue,
        set: (value) => (this.#transferQueue = value),
        options: queues.map((queue) => ({ value: queue.queueId, label: queue.openNow ? queue.name : t(k("desk.chats.queueClosed"), { queue: queue.name }) })),
        none: t(k("desk.chats.noQueue")),
        action: t(k("desk.chats.transferQueue")),
        actionId: "desk-chat-transfer-to-queue",
        run: () => this.#transfer("queue"),
      }),
    );
  }

  /** Přizvat vedoucího: who is in the chat besides the agent, and a supervisor to invite. */
  #inviteBox(chat: DeskChat | null): HTMLElement {
    const { t } = this.#host;
    const directory = this.#host.directory();
    const invited = chat?.invited ?? [];
    return h(
      "fieldset",
      { class: "desk-chat-fieldset", "data-testid": "desk-chat-invite-box" },
      h("legend", null, t(k("desk.chats.inviteTitle"))),
      invited.length
        ? h("p", { "data-testid": "desk-chat-invited", tabindex: -1 }, t(k("desk.chats.inChat"), { names: invited.map((username) => colleagueName(directory, username)).join(", ") }))
        : null,
      this.#choice({
        id: "desk-chat-invite-user",
        label: t(k(directory ? "desk.chats.supervisor" : "desk.chats.supervisorTyped")),
        value: this.#inviteUser,
        set: (value) => (this.#inviteUser = value),
        options: directory ? inviteCandidates(directory, this.#host.username, invited).map((colleague) => this.#colleagueOption(colleague)) : null,
        none: t(k("desk.chats.noSupervisor")),
        action: t(k("desk.chats.invite")),
        actionId: "desk-chat-invite",
        run: () => this.#invite(),
      }),
    );
  }

  /** The chat's channel badge, who it is with, the number or address, the e-mail's subject. */
  #heading(chat: DeskChat): { who: string; details: HTMLElement[] } {
    const { t } = this.#host;
    const heading = chatHeading(chat, { customer: t(k("desk.chats.customer")), messengerUser: t(k("desk.chats.messengerUser")) });
    const details: HTMLElement[] = [];
    if (heading.contact) details.push(h("span", { class: "muted", "data-testid": "desk-chat-contact" }, heading.contact));
    if (chat.channel === "email") {
      details.push(
        h("span", { class: "desk-chat-subject", "data-testid": "desk-chat-subject" }, heading.subject ? t(k("desk.chats.subject"), { subject: heading.subject }) : t(k("desk.chats.noSubject"))),
      );
    }
    return { who: heading.who, details };
  }

  render(): HTMLElement {
    const { t } = this.#host;
    const chats = this.#chats;
    const waiting = chats?.waiting ?? [];
    const held = chats?.held ?? [];
    const waitingList = waiting.length
      ? h(
          "ul",
          { class: "plain desk-chat-list", "data-testid": "desk-chats-waiting" },
          ...waiting.map((chat) => {
            const { who, details } = this.#heading(chat);
            return h(
              "li",
              { "data-id": chat.conversationId, "data-channel": chat.channel },
              channelBadge(t, chat.channel),
              " ",
              h("strong", null, who),
              ...details.flatMap((detail) => [" ", detail]),
              " ",
              h("span", { class: "muted" }, `${chat.queueId ?? ""} · ${when(chat.updatedAt)}`),
              " ",
              button(t(k("desk.chats.accept")), () => this.#accept(chat.conversationId), {
                class: "small",
                "data-testid": `desk-chat-accept-${chat.conversationId}`,
                disabled: this.#busy || held.length >= (chats?.chatLimit ?? 0),
              }),
            );
          }),
        )
      : h("p", { class: "muted", "data-testid": "desk-chats-none-waiting" }, t(k("desk.chats.noneWaiting")));
    const heldList = held.length
      ? h(
          "ul",
          { class: "plain desk-chat-list", "data-testid": "desk-chats-held" },
          ...held.map((chat) => {
            const { who, details } = this.#heading(chat);
            return h(
              "li",
              { "data-id": chat.conversationId, "data-channel": chat.channel, class: chat.conversationId === this.#open ? "selected" : "" },
              channelBadge(t, chat.channel),
              " ",
              button(
                who,
                () => {
                  this.#arrivals.seen(chat.conversationId);
                  void this.#run(() => this.#openChat(chat.conversationId), "desk-chat-input");
                },
                {
                  class: "link",
                  "data-testid": `desk-chat-open-${chat.conversationId}`,
                  "aria-current": chat.conversationId === this.#open ? "true" : "false",
                },
              ),
              ...details.flatMap((detail) => [" ", detail]),
              this.#arrivals.isNew(chat.conversationId)
                ? h("span", { class: "badge", "data-testid": `desk-chat-new-${chat.conversationId}` }, t(k("desk.chats.assignedNew")))
                : null,
              this.#unread.has(chat.conversationId) ? h("span", { class: "badge", "data-testid": `desk-chat-unread-${chat.conversationId}` }, t(k("desk.chats.unread"))) : null,
            );
          }),
        )
      : h("p", { class: "muted" }, t(k("desk.chats.noneHeld")));
    const composing = this.#composer.channel;
    const newButton = (channel: OutboundChannel, key: string) =>
      button(t(k(key)), () => this.#compose(channel), {
        class: "secondary small",
        "data-testid": `desk-chats-new-${channel}`,
        "aria-expanded": composing === channel ? "true" : "false",
      });
    return panel(
      "desk-chats",
      t(k("desk.chats.title")),
      // A refused Předat or Přizvat shows at its controls in the open chat.
      this.#problem && !this.#problemAtChat() && !this.#problemAtClient() ? this.#problemBox(this.#problem) : null,
      h(
        "div",
        { class: "row desk-chats-new", role: "group", "aria-label": t(k("desk.chats.new")) },
        newButton("sms", "desk.chats.newSms"),
        newButton("email", "desk.chats.newEmail"),
      ),
      this.#composer.render(),
      h("h3", null, t(k("desk.chats.waiting"))),
      waitingList,
      h("h3", { tabindex: -1, "data-testid": "desk-chats-mine" }, t(k("desk.chats.mine"), { count: held.length, limit: chats?.chatLimit ?? 0 })),
      heldList,
      this.#open ? this.#conversation() : null,
    );
  }

  /** The client the open chat's contact is assigned to (null: none yet). */
  #assigned(): HTMLElement | null {
    const { t } = this.#host;
    const contact = this.#record?.contact;
    if (!contact?.clientId) return null;
    const client = this.#clients?.find((entry) => entry.clientId === contact.clientId);
    const name = client ? clientName(client) : contact.clientName || contact.clientId;
    return h("p", { "data-testid": "desk-chat-client", "data-client-id": contact.clientId, tabindex: -1 }, t(k("desk.chats.assigned"), { name }));
  }

  /**
   * The clients matching the customer's contact (CHAT-4) with their ICIS links (CHAT-5), each
   * with Přiřadit (once the contact record is read) unless the contact is already theirs; then
   * Zadat klienta ručně (or its form) and what Přiřadit or the new client met.
   */
  #clientsBox(): HTMLElement | null {
    const { t } = this.#host;
    const clients = this.#clients;
    if (clients === null) return null;
    const contact = this.#openedChat?.customer?.email ?? this.#openedChat?.customer?.phone ?? "";
    const assigned = this.#assigned();
    // Přiřadit's or the new client's refusal: in the form while it is open, else here.
    const problem = this.#problem && this.#problemAtClient() && !this.#newClient ? this.#problemBox(this.#problem) : null;
    if (clients.length === 0) {
      return h(
        "div",
        null,
        assigned,
        h("p", { class: "muted", "data-testid": "desk-chat-clients-none" }, contact ? t(k("desk.chats.noClient"), { contact }) : t(k("desk.chats.noContact"))),
        problem,
        this.#newClientBox(),
      );
    }
    const record = this.#record?.contact ?? null;
    return h(
      "div",
      { "data-testid": "desk-chat-clients" },
      assigned,
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
            record ? " " : null,
            !record
              ? null
              : record.clientId === client.clientId
                ? h("span", { class: "badge", "data-testid": `desk-chat-assigned-${client.clientId}` }, t(k("desk.chats.assignedBadge")))
                : button(t(k("desk.chats.assign")), () => this.#assign(client), {
                    class: "small secondary",
                    "data-testid": `desk-chat-assign-${client.clientId}`,
                    "aria-label": t(k("desk.chats.assignName"), { name: clientName(client) }),
                    disabled: this.#busy,
                  }),
          ),
        ),
      ),
      problem,
      this.#newClientBox(),
    );
  }

  /** Zadat klienta ručně, or its form (the call's, desk-client) prefilled from the customer. */
  #newClientBox(): HTMLElement | null {
    const { t } = this.#host;
    if (!this.#record) return null;
    const values = this.#newClient;
    if (!values) {
      return h(
        "div",
        { class: "actions" },
        button(t(k("desk.client.new")), () => this.#startNewClient(), { class: "secondary small", "data-testid": NEW_CLIENT_BUTTON }),
      );
    }
    const invalid = this.#invalid && this.#invalidFor === NEW_CLIENT ? this.#invalid : null;
    const prefilled = Object.keys(values).length > 0;
    return h(
      "div",
      { class: "desk-chat-new-client" },
      newClientForm({
        t,
        locale: this.#host.locale(),
        fields: this.#host.fields() ?? [],
        values,
        prefix: NEW_CLIENT,
        level: 4,
        before: [
          prefilled ? h("p", { class: "muted", "data-testid": `${NEW_CLIENT}-prefilled` }, t(k("desk.chats.newClientPrefilled"))) : null,
          invalid ? h("div", { class: "alert alert-error", role: "alert", "data-testid": "desk-chat-invalid" }, h("p", null, invalid)) : null,
          this.#problem && this.#problemAtClient() ? this.#problemBox(this.#problem) : null,
        ],
        create: () => this.#createClient(),
        cancel: () => this.#cancelNewClient(),
      }),
    );
  }

  /** Poznámka and Kategorie of the open chat's contact record (the forms of a call's, desk-notes). */
  #recordBox(): HTMLElement | null {
    const record = this.#record;
    if (!record) return null;
    const { t } = this.#host;
    const box: NotesBox = {
      prefix: "desk-chat",
      level: 5,
      notes: record.notes,
      draft: record.noteDraft,
      setDraft: (text) => (record.noteDraft = text),
      categoryId: record.contact?.categoryId ?? null,
      categoryDraft: record.categoryDraft,
      setCategoryDraft: (value) => (record.categoryDraft = value),
      categories: this.#host.categories(),
      categoryLabel: t(k("desk.category.contactLabel")),
      saveNote: () => this.#saveNote(),
      saveCategory: () => this.#saveCategory(),
    };
    return h(
      "section",
      { class: "desk-chat-record", "aria-labelledby": "desk-chat-record-title", "data-testid": "desk-chat-record", "data-contact-id": record.contactId },
      h("h4", { id: "desk-chat-record-title" }, t(k("desk.chats.record"))),
      h("div", { "aria-live": "polite" }, statusLine(record.saved, "desk-chat-record-saved")),
      record.invalid ? h("div", { class: "alert alert-error", role: "alert", "data-testid": "desk-chat-record-invalid" }, h("p", null, record.invalid)) : null,
      record.failed
        ? h(
            "p",
            { class: "muted", "data-testid": "desk-chat-record-failed" },
            t(k("desk.chats.recordFailed")),
            " ",
            button(t(k("desk.chats.recordRetry")), () => void this.#run(() => this.#loadRecord(record, true), "desk-chat-note"), { class: "small secondary", "data-testid": "desk-chat-record-retry" }),
          )
        : null,
      record.failed ? null : noteForm(t, box),
      record.failed ? null : categoryForm(t, box),
    );
  }

  /** The reply box (Enter sends, Shift+Enter makes a new line): a line for a web chat, an area for SMS, e-mail and Messenger; an SMS one counts characters and parts. */
  #replyBox(channel: ChatChannel | undefined): { input: HTMLElement; counter: HTMLElement | null } {
    const { t } = this.#host;
    const counter = channel === "sms" ? smsCounter(t, this.#host.locale(), "desk-chat-sms-counter", this.#draft) : null;
    const typed = (value: string) => {
      this.#typed(value);
      counter?.update(value);
    };
    const attrs = {
      id: "desk-chat-input",
      "data-testid": "desk-chat-input",
      placeholder: t(k("desk.chats.reply")),
      maxlength: 4000,
      ...(counter ? { "aria-describedby": "desk-chat-sms-counter" } : {}),
      ...(this.#invalid ? { "aria-invalid": "true" } : {}),
    };
    let input: HTMLInputElement | HTMLTextAreaElement;
    if (!channel || channel === "web") {
      input = textInput(this.#draft, typed, attrs);
    } else {
      input = h("textarea", { ...attrs, rows: 3, on: { input: (event) => typed((event.target as HTMLTextAreaElement).value) } });
      input.value = this.#draft;
    }
    input.addEventListener("keydown", (event) => {
      const key = event as KeyboardEvent;
      if (key.key === "Enter" && !key.shiftKey) {
        event.preventDefault();
        this.#send();
      }
    });
    return { input, counter: counter?.element ?? null };
  }

  /** A message's attachments: name, size and Stáhnout (and the link once read). */
  #attachments(message: ChatMessage, attachments: readonly ChatAttachment[]): HTMLElement {
    const { t } = this.#host;
    const locale = this.#host.locale();
    const now = Date.now();
    return h(
      "ul",
      { class: "plain desk-chat-attachments", "data-testid": "desk-chat-attachments", "aria-label": t(k("desk.chats.attachments")) },
      ...attachments.map((attachment, i) => {
        const index = i + 1;
        const link = this.#links.get(`${message.conversationId}/${message.seq}/${index}`);
        return h(
          "li",
          { "data-testid": "desk-chat-attachment", "data-index": index },
          h("span", { class: "desk-chat-attachment-name" }, attachment.name),
          " ",
          h("span", { class: "muted", "data-testid": "desk-chat-attachment-size" }, `(${formatSize(attachment.size, locale)})`),
          " ",
          button(t(k("desk.chats.download")), () => this.#download(message, index), {
            class: "secondary small",
            "data-testid": `desk-chat-attachment-${message.seq}-${index}`,
            "aria-label": t(k("desk.chats.downloadName"), { name: attachment.name }),
          }),
          link && link.until > now
            ? h(
                "a",
                { href: link.url, target: "_blank", rel: "noopener noreferrer", "data-testid": `desk-chat-attachment-link-${message.seq}-${index}` },
                t(k("desk.chats.downloadLink"), { name: link.name }),
              )
            : null,
        );
      }),
    );
  }

  #conversation(): HTMLElement {
    const { t } = this.#host;
    const sender = (message: ChatMessage) =>
      message.from === "agent" ? (message.author ?? t(k("desk.chats.from.agent"))) : t(k(`desk.chats.from.${message.from}`));
    const typing = this.#typingUntil > Date.now();
    const chat = this.#current();
    const heading = chat ? this.#heading(chat) : null;
    const reply = this.#replyBox(chat?.channel);
    return h(
      "div",
      { class: "desk-chat", "data-testid": "desk-chat", "data-id": this.#open ?? "", "data-channel": chat?.channel ?? "" },
      chat && heading
        ? h(
            "div",
            { class: "desk-chat-header", "data-testid": "desk-chat-header" },
            h("h3", { id: "desk-chat-title" }, channelBadge(t, chat.channel), " ", heading.who),
            heading.details.length ? h("p", null, ...heading.details.flatMap((detail, i) => (i ? [" · ", detail] : [detail]))) : null,
          )
        : null,
      h(
        "ol",
        { class: "plain desk-chat-transcript", "data-testid": "desk-chat-transcript", "aria-live": "polite", ...(chat ? { "aria-labelledby": "desk-chat-title" } : {}) },
        ...this.#messages.map((message) =>
          h(
            "li",
            { "data-from": message.from, "data-seq": message.seq },
            h("span", { class: "muted" }, `${sender(message)} · ${when(message.at)}`),
            h("p", null, message.text),
            message.attachments?.length ? this.#attachments(message, message.attachments) : null,
          ),
        ),
      ),
      typing ? h("p", { class: "muted", "data-testid": "desk-chat-typing" }, t(k("desk.chats.typing"))) : null,
      this.#clientsBox(),
      this.#invalid && !this.#invalidFor ? h("div", { class: "alert alert-error", role: "alert", "data-testid": "desk-chat-invalid" }, h("p", null, this.#invalid)) : null,
      h(
        "div",
        { class: "row desk-chat-reply" },
        h("label", { for: "desk-chat-input", class: "visually-hidden" }, t(k("desk.chats.reply"))),
        reply.input,
        button(t(k("desk.chats.send")), () => this.#send(), { "data-testid": "desk-chat-send", disabled: this.#busy }),
        reply.counter,
      ),
      this.#problem && this.#problemAtChat() ? this.#problemBox(this.#problem) : null,
      this.#transferBox(),
      this.#inviteBox(chat),
      h("div", { class: "row" }, button(t(k("desk.chats.end")), () => this.#end(), { class: "secondary", "data-testid": "desk-chat-end", disabled: this.#busy })),
      this.#recordBox(),
    );
  }
}

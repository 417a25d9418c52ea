// The agent desk APIs for the mock server (in memory), per the desk contract (issue 6):
//   GET  /api/desk, PUT /api/desk/presence, PUT /api/desk/queues/{queueId}
//   PUT  /api/desk/phone {phone: desk|mobile}  (DESK-2: 202, the switch follows ~100 ms later
//        as a push without a desk, so the page reads GET /api/desk, whose `phone.using` and
//        `device` then name the phone; 409 no-mobile, phone-busy. While on the mobile, `answer`
//        answers 409 answer-on-mobile: the mobile answers, see the hook mobile-answer)
//   POST /api/desk/calls/{relayId}/{callId}/{answer|hangup|hold|retrieve|consult|transfer|
//        blind-transfer|conference|send-digits}, POST /api/desk/dial
//   GET  /api/desk/directory, PUT /api/desk/favourites
//   GET  /api/desk/history?from&to&q&cursor, GET /api/desk/recent
//   GET  /api/desk/stats                (DESK-6: seeded figures plus the queue calls an agent
//                                       answered here, counted when the call leaves their desk)
//   GET  /api/desk/categories          (NOT in the contract: the agent-readable category list
//                                       the desk asks for first; {items} like the admin API)
//   GET  /api/client-fields, GET/POST /api/clients, GET/PUT /api/clients/{id},
//   GET  /api/clients/{id}/contacts
//   GET  /api/contacts/{id}, GET/POST /api/contacts/{id}/notes,
//   PUT  /api/contacts/{id}/category|client|data
//   GET  /api/desk/mail-templates      (OMNI-2: the active e-mail templates the admin stored at
//                                       /api/admin/mail-templates, mock-admin.mjs, by name)
//   GET  /api/desk/chats, GET/POST /api/desk/chats/{id}/messages, POST …/{id}/accept|typing|
//        transfer|invite|end (transfer: {username} to another agent under the chat limit, or
//        {queueId} back to a queue, waiting; invite: {username} of a supervisor, who joins
//        `invited`), POST /api/desk/chats/sms|email (a conversation the agent opens: 201, 200
//        for a repeated clientMessageId, 422 for a bad number/address/subject/text),
//        GET /api/desk/chats/{id}/messages/{seq}/attachments/{index} → a "presigned" link to
//        /mock-attachments/{key} (served without a token, Content-Disposition: attachment)
// The PBX is imitated: a command answers 202 and its effect follows ~100 ms later as
// WebSocket pushes ({"type":"desk"} to the agent, {"type":"presence"} to everyone,
// {"type":"contact"} when a contact record changes). Test hooks (mock only):
//   GET  /api/mock/desk                              200 {mock:true} (tells the mock from the stack)
//   POST /api/mock/desk/offer {username, number, queueId?, attributes?, recordLateMs?}  offers an
//        inbound call (its contact record not found for the first recordLateMs)
//   POST /api/mock/desk/mobile-answer {username}   the agent answers the call ringing at their
//        mobile on the mobile itself (DESK-2; as pbx-sim's POST /devices/29NN/answer): 409 when
//        they are not on the mobile or nothing rings
//   POST /api/mock/desk/push  {message}              sends a push to every socket
//   POST /api/mock/desk/drop-sockets                 closes every WebSocket (the app reconnects)
//   POST /api/mock/desk/clients/{id}/touch           another user changes the client (version+1)
//   PUT  /api/mock/desk/presence {username, presence}  sets another agent's panel presence
//   POST /api/mock/desk/chat {customer, text, queueId?, channel?, subject?, social?, attachments?:
//        [{name, contentType, size}]}            a customer starts a conversation (waiting)
//   POST /api/mock/desk/chat-message {conversationId, text}  the customer writes
//   POST /api/mock/desk/chat-assign {conversationId, username}  Linka's automatic distribution
//        (chat setting `distribution: automatic`) gives a waiting chat to the agent: 200, 409
//        chat-taken when it is not waiting, 409 chat-limit when the agent holds the most allowed
//   Chat pushes carry what the stack's carry (ChatEffects::status): {type:"chat",
//   conversationId, status, queueId?, agent?}; an automatic assignment's is as an accept's.
//   GET  /api/mock/desk/outbox                   the SMS and e-mails sent from the desk
// Every conversation is a contact record `chat:<conversationId>` (channel chat|sms|email|social),
// kept up to date as it changes (taken, transferred, ended): notes, category and client through
// /api/contacts/… as for calls, in the history of the agents who held it.
// Seeded: an SMS and an e-mail (with an attachment) waiting in kkc-obecne.

const ROLES = ["agent", "supervisor", "admin"];
const ACTIONS = ["answer", "hangup", "hold", "retrieve", "consult", "transfer", "blind-transfer", "conference", "send-digits"];
const WRAP_UP_MS = 30_000;
const PBX_DELAY_MS = 100;
const PAGE = 20;

const iso = (ms = Date.now()) => new Date(ms).toISOString();
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const fold = (text) => String(text ?? "").normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();

const QUEUES = [
  { queueId: "kkc-obecne", name: "Klientská linka", waiting: 3, openNow: true },
  { queueId: "kkc-vip", name: "VIP linka", waiting: 1, openNow: true, locked: true },
  { queueId: "as-asistence", name: "Asistenční služba", waiting: 0, openNow: false },
];
const BREAK_CODES = [
  { code: "prestavka", name: "Přestávka", kind: "private" },
  { code: "obed", name: "Oběd", kind: "private" },
  { code: "skoleni", name: "Školení", kind: "work" },
];
const CATEGORIES = [
  { categoryId: "dotaz", name: "Dotaz", parentId: null, active: true },
  { categoryId: "dotaz-platby", name: "Platby pojistného", parentId: "dotaz", active: true },
  { categoryId: "stiznost", name: "Stížnost", parentId: null, active: true },
  { categoryId: "zmena-udaju", name: "Změna údajů", parentId: null, active: true },
  { categoryId: "stare", name: "Stará kategorie", parentId: null, active: false },
];
// The statistics (GET /api/desk/stats): hours per period and, per queue, seeded calls an hour
// [offered, answered, answered within the service level, abandoned, mean talk seconds].
const SERVICE_LEVEL_SECONDS = 20;
const STATS_PERIODS = [
  ["24h", 24],
  ["7d", 168],
  ["14d", 336],
  ["30d", 720],
];
const STATS_RATES = {
  "kkc-obecne": [2.5, 2.3, 1.9, 0.15, 190],
  "kkc-vip": [0.6, 0.58, 0.55, 0.01, 260],
  "as-asistence": [0.9, 0.8, 0.6, 0.08, 150],
  other: [1.5, 1.35, 1.1, 0.1, 170], // queues no mock agent is a member of (in `all` only)
};
const MINE_PER_HOUR = 0.3; // seeded own answered calls an hour (within SL: 85 %, 200 s each)

const label = (cs, en) => ({ cs, en });
const FIELDS = [
  { key: "firstName", label: label("Jméno", "First name"), type: "text", required: false, editable: true, inCard: true },
  { key: "lastName", label: label("Příjmení", "Last name"), type: "text", required: true, editable: true, inCard: true },
  { key: "birthDate", label: label("Datum narození", "Date of birth"), type: "date", required: false, editable: true, inCard: true },
  { key: "insuranceNumber", label: label("Číslo pojištěnce", "Insurance number"), type: "text", required: false, editable: false, inCard: true },
  { key: "phone", label: label("Telefon", "Phone"), type: "phone", required: false, editable: true, inCard: true },
  { key: "mobile", label: label("Mobil", "Mobile"), type: "phone", required: false, editable: true, inCard: true },
  { key: "email", label: label("E-mail", "E-mail"), type: "email", required: false, editable: true, inCard: true },
  { key: "street", label: label("Ulice", "Street"), type: "text", required: false, editable: true, inCard: true },
  { key: "city", label: label("Obec", "City"), type: "text", required: false, editable: true, inCard: true },
  { key: "postalCode", label: label("PSČ", "Postal code"), type: "text", required: false, editable: true, inCard: true },
  { key: "company", label: label("Firma", "Company"), type: "text", required: false, editable: true, inCard: false },
  { key: "ico", label: label("IČO", "Company ID"), type: "text", required: false, editable: true, inCard: false },
  { key: "preferredLanguage", label: label("Preferovaný jazyk", "Preferred language"), type: "select", options: ["cs", "en", "de"], required: false, editable: true, inCard: false },
  { key: "contractNumber", label: label("Číslo smlouvy", "Contract number"), type: "text", required: false, editable: true, inCard: false },
  { key: "note", label: label("Poznámka ke klientovi", "Note on the client"), type: "textarea", required: false, editable: true, inCard: true },
].map((field, order) => ({ ...field, order: order + 1 }));

export function createDeskApi({ send, problem, readBody, users, push, dropSockets, mailTemplates = () => [] }) {
  const desks = new Map(); // username → desk state
  const clients = new Map();
  const contacts = new Map(); // contactId → record (note = latest version)
  /** Contact id → until when its record is not found yet (offer `recordLateMs`). */
  const hiddenUntil = new Map();
  const notes = new Map(); // contactId → versions
  const favourites = new Map(); // username → ids
  const panelPresence = new Map(); // username → presence for agents without a desk here
  const handled = []; // {username, queueId, at, waitSeconds, talkSeconds}: queue calls answered here
  const handledContacts = new Set(); // contactIds counted for their queue (once each)
  let sequence = 0;
  let clientSequence = 10000000;
  for (const [username, presence] of [["agent02", "free"], ["agent03", "busy"], ["agent04", "break"], ["agent05", "ringing"], ["agent06", "wrapUp"], ["supervisor", "free"]]) {
    panelPresence.set(username, presence);
  }

  // ---- seed ----
  function seedClient(fields, extra = {}) {
    const clientId = String(++clientSequence);
    const icisId = extra.icis === false ? null : clientId;
    const client = {
      clientId,
      icisId,
      icisUrl: icisId ? `https://icis.example.cz/klient/${icisId}` : null,
      version: 1,
      status: extra.status ?? "standard",
      fields,
      updatedAt: iso(Date.now() - 86_400_000),
      updatedBy: "icis-sync",
    };
    clients.set(clientId, client);
    return client;
  }
  seedClient({ firstName: "Jan", lastName: "Dvořák", birthDate: "1950-08-25", insuranceNumber: "5008251234", phone: "+420601555777", email: "jan.dvorak@example.cz", street: "Lipová 12", city: "Brno", postalCode: "60200", preferredLanguage: "cs" });
  seedClient({ firstName: "Marie", lastName: "Dvořáková", birthDate: "1953-02-11", insuranceNumber: "5352111234", phone: "+420601555777", mobile: "+420777888999", city: "Brno" }, { status: "vip" });
  seedClient({ firstName: "Karel", lastName: "Malý", phone: "+420602111222", city: "Praha" }, { icis: false });

  function seedContact(fields, noteVersions = []) {
    const contactId = `ct-${++sequence}`;
    const record = {
      contactId,
      channel: "voice",
      direction: "inbound",
      number: "+420602111222",
      dialled: "4000",
      queueId: "kkc-obecne",
      agents: ["agent01"],
      startedAt: iso(Date.now() - 3 * 86_400_000),
      answeredAt: null,
      endedAt: null,
      durationSeconds: null,
      outcome: null,
      clientId: null,
      clientName: null,
      categoryId: null,
      note: null,
      data: {},
      attributes: {},
      ...fields,
    };
    contacts.set(contactId, record);
    notes.set(contactId, noteVersions.map((text, index) => ({ version: index + 1, text, at: record.startedAt, by: record.agents[0] })));
    record.note = notes.get(contactId).at(-1) ?? null;
    return record;
  }
  const karel = [...clients.values()].find((client) => client.fields.lastName === "Malý");
  seedContact(
    { startedAt: iso(Date.now() - 3 * 86_400_000), answeredAt: iso(Date.now() - 3 * 86_400_000 + 10_000), endedAt: iso(Date.now() - 3 * 86_400_000 + 190_000), durationSeconds: 180, outcome: "handled", clientId: karel.clientId, clientName: "Karel Malý", categoryId: "zmena-udaju" },
    ["Klient žádal o změnu adresy, předáno na pobočku."],
  );
  seedContact(
    { number: "+420603999888", startedAt: iso(Date.now() - 2 * 86_400_000), answeredAt: iso(Date.now() - 2 * 86_400_000 + 5_000), endedAt: iso(Date.now() - 2 * 86_400_000 + 65_000), durationSeconds: 60, outcome: "handled", categoryId: "dotaz-platby" },
    ["Dotaz na splatnost pojistného."],
  );

  // ---- helpers ----
  function deskOf(username) {
    let desk = desks.get(username);
    if (!desk) {
      const user = users.get(username);
      desk = {
        username,
        displayName: user?.name ?? username,
        /** The phone calls ring on (DESK-2): "desk" or "mobile"; `phone` and `device` follow from it. */
        using: "desk",
        presence: { state: "loggedOn", breakCode: null, since: iso() },
        wrapUp: null,
        queues: QUEUES.map((queue) => ({ ...queue, loggedIn: queue.queueId !== "as-asistence", locked: queue.locked === true })),
        breakCodes: BREAK_CODES,
        calls: [],
        wrapTimer: null,
      };
      desks.set(username, desk);
    }
    return desk;
  }
  /** The desk phone and the mobile of a user as the administrator set them (DESK-2). */
  function phonesOf(username) {
    const user = users.get(username);
    const mobile = user?.mobile;
    return {
      desk: user?.agentNumber ?? "2100",
      mobile: mobile && typeof mobile.device === "string" && typeof mobile.number === "string" ? { device: mobile.device, number: mobile.number } : null,
    };
  }
  /** GET /api/desk's `phone`: on the mobile only while the user still has one. */
  function phoneView(desk) {
    const { desk: deskPhone, mobile } = phonesOf(desk.username);
    return { using: desk.using === "mobile" && mobile ? "mobile" : "desk", desk: deskPhone, mobile };
  }
  /** The extension the agent is at: the desk phone's, or the mobile extension. */
  function deviceOf(desk) {
    const phone = phoneView(desk);
    return phone.using === "mobile" ? phone.mobile.device : phone.desk;
  }
  const deskView = (desk) => {
    const { wrapTimer, using, ...view } = desk;
    const phone = phoneView(desk);
    return structuredClone({ ...view, device: deviceOf(desk), phone });
  };

  function presenceOf(username) {
    const desk = desks.get(username);
    if (!desk) return panelPresence.get(username) ?? (users.get(username)?.agentNumber ? "loggedOut" : "loggedOut");
    if (desk.calls.some((call) => call.state === "ringing")) return "ringing";
    if (desk.calls.length) return "busy";
    switch (desk.presence.state) {
      case "ready":
        return "free";
      case "notReady":
        return "break";
      case "workingAfterCall":
        return "wrapUp";
      case "busy":
        return "busy";
      case "loggedOn":
        return "free";
      default:
        return "loggedOut";
    }
  }

  const lastPresence = new Map();
  function pushDesk(username, reason, withDesk = true) {
    const desk = deskOf(username);
    push(username, { type: "desk", username, reason, ...(withDesk ? { desk: deskView(desk) } : {}) });
    const presence = presenceOf(username);
    if (lastPresence.get(username) !== presence) {
      lastPresence.set(username, presence);
      push(null, { type: "presence", username, presence });
    }
  }
  const later = (run) => setTimeout(run, PBX_DELAY_MS);

  function setState(desk, state, breakCode = null) {
    desk.presence = { state, breakCode, since: iso() };
    if (state !== "workingAfterCall") {
      desk.wrapUp = null;
      if (desk.wrapTimer) clearTimeout(desk.wrapTimer);
      desk.wrapTimer = null;
    }
  }

  function startWrapUp(desk) {
    const until = Date.now() + WRAP_UP_MS;
    setState(desk, "workingAfterCall");
    desk.wrapUp = { from: iso(), until: iso(until), extendableUntil: iso(until + 60_000) };
    scheduleWrapEnd(desk, WRAP_UP_MS);
  }

  function scheduleWrapEnd(desk, ms) {
    if (desk.wrapTimer) clearTimeout(desk.wrapTimer);
    desk.wrapTimer = setTimeout(() => {
      if (desk.presence.state === "workingAfterCall") {
        setState(desk, "ready");
        pushDesk(desk.username, "presence", false);
      }
    }, ms);
  }

  function newCall(desk, fields) {
    const callId = String(++sequence);
    const call = { callKey: `relay-1/${callId}`, contactId: null, state: "ringing", direction: "inbound", remote: "", remoteName: null, queueId: null, since: iso(), attributes: {}, ...fields };
    desk.calls.push(call);
    return call;
  }

  function newContact(fields) {
    const contactId = `ct-${++sequence}`;
    const record = {
      contactId,
      channel: "voice",
      direction: "inbound",
      number: "",
      dialled: null,
      queueId: null,
      agents: [],
      startedAt: iso(),
      answeredAt: null,
      endedAt: null,
      durationSeconds: null,
      outcome: null,
      clientId: null,
      clientName: null,
      categoryId: null,
      note: null,
      data: {},
      attributes: {},
      ...fields,
    };
    contacts.set(contactId, record);
    notes.set(contactId, []);
    return record;
  }

  function endContactIfFree(contactId, outcome) {
    const record = contacts.get(contactId);
    if (!record || record.endedAt) return;
    const still = [...desks.values()].some((desk) => desk.calls.some((call) => call.contactId === contactId));
    if (still) return;
    record.endedAt = iso();
    record.durationSeconds = record.answeredAt ? Math.round((Date.now() - Date.parse(record.answeredAt)) / 1000) : 0;
    record.outcome = outcome ?? (record.answeredAt ? "handled" : "lost");
    push(null, { type: "contact", contactId });
  }

  /** An answered queue call leaves `username`'s desk (hung up or transferred): it counts for the statistics. */
  function countHandled(username, call, record) {
    if (!record?.answeredAt || !call.queueId || call.direction === "internal") return;
    const at = Date.now();
    handled.push({
      username,
      queueId: handledContacts.has(record.contactId) ? null : call.queueId,
      at,
      waitSeconds: Math.max(0, (Date.parse(record.answeredAt) - Date.parse(record.startedAt)) / 1000),
      talkSeconds: Math.max(0, (at - Date.parse(record.answeredAt)) / 1000),
    });
    handledContacts.add(record.contactId);
  }

  function statsOf(me) {
    const now = Date.now();
    const summary = ([offered, answered, inSl, abandoned, talk]) => ({
      offered,
      answered,
      lost: offered - answered,
      abandoned,
      answeredInSl: inSl,
      serviceLevel: offered ? Math.round((1000 * inSl) / offered) / 10 : null,
      averageTalkSeconds: answered ? Math.round(talk / answered) : null,
    });
    const seeded = (rates, hours) => {
      const [offered, answered, inSl, abandoned, talk] = rates.map((rate) => rate * hours);
      return [Math.round(offered), Math.round(answered), Math.round(inSl), Math.round(abandoned), Math.round(answered) * (talk / hours)];
    };
    const add = (a, b) => a.map((value, index) => value + b[index]);
    const myQueueIds = deskOf(me).queues.map((queue) => queue.queueId);
    const periods = STATS_PERIODS.map(([period, hours]) => {
      const hourStart = new Date(now);
      hourStart.setUTCMinutes(0, 0, 0);
      const from = hourStart.getTime() - (hours - 1) * 3_600_000;
      const recent = handled.filter((entry) => entry.at >= from);
      const live = (entries) => entries.reduce((sum, entry) => add(sum, [1, 1, entry.waitSeconds <= SERVICE_LEVEL_SECONDS ? 1 : 0, 0, entry.talkSeconds]), [0, 0, 0, 0, 0]);
      const queue = (queueId) => add(seeded(STATS_RATES[queueId] ?? STATS_RATES.other, hours), live(recent.filter((entry) => entry.queueId === queueId)));
      const mySum = myQueueIds.map(queue).reduce(add, [0, 0, 0, 0, 0]);
      const allSum = [...QUEUES.map((entry) => entry.queueId), "other"].map(queue).reduce(add, [0, 0, 0, 0, 0]);
      const ownSeed = Math.round(MINE_PER_HOUR * hours);
      const own = live(recent.filter((entry) => entry.username === me));
      return {
        period,
        from: iso(from),
        to: iso(now),
        all: summary(allSum),
        myQueues: summary(mySum),
        queues: deskOf(me)
          .queues.map((entry) => ({ queueId: entry.queueId, name: entry.name, ...summary(queue(entry.queueId)) }))
          .sort((a, b) => a.name.localeCompare(b.name, "cs")),
        // The agent's own: answered only (offered and lost are 0, so no service level).
        mine: { ...summary([0, ownSeed + own[1], Math.round(ownSeed * 0.85) + own[2], 0, ownSeed * 200 + own[4]]), lost: 0 },
      };
    });
    return { serviceLevelSeconds: SERVICE_LEVEL_SECONDS, periods };
  }

  function nameOfClient(client) {
    return [client.fields.firstName, client.fields.lastName].filter(Boolean).join(" ") || client.clientId;
  }

  function canSee(record, me, supervising) {
    return supervising || record.agents.includes(me);
  }

  async function json(req, res) {
    const text = await readBody(req);
    if (!text.trim()) return {};
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
      problem(res, 415, "unsupported-media-type", "Send application/json.");
      return undefined;
    }
    try {
      const body = JSON.parse(text);
      if (!isObject(body)) throw new Error("not an object");
      return body;
    } catch {
      problem(res, 400, "bad-request", "The body is not a JSON object.");
      return undefined;
    }
  }

  function page(list, url) {
    const start = Math.max(0, Number(url.searchParams.get("cursor") ?? 0) || 0);
    const slice = list.slice(start, start + PAGE);
    return { contacts: slice, next: start + PAGE < list.length ? String(start + PAGE) : null };
  }

  const newestFirst = (a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt);

  // ---- call control ----
  function targetDesk(target) {
    if (target?.kind === "agent" && users.has(target.username)) return deskOf(target.username);
    return null;
  }

  /** A ringing call is answered (from the desk, or on the mobile itself). */
  function answered(me, desk, call) {
    const record = contacts.get(call.contactId);
    call.state = "connected";
    call.since = iso();
    if (record && !record.answeredAt) record.answeredAt = iso();
    if (record && !record.agents.includes(me)) record.agents.push(me);
    setState(desk, "busy");
    pushDesk(me, "calls");
  }

  function callAction(res, me, desk, call, action, body) {
    const meUser = users.get(me);
    const respond = () => send(res, 202, { commandId: `cmd-${++sequence}` });
    const record = contacts.get(call.contactId);
    switch (action) {
      case "answer":
        // DESK-2: a call ringing on the mobile is answered on the mobile.
        if (phoneView(desk).using === "mobile") return problem(res, 409, "answer-on-mobile", "You take calls on your mobile phone: answer the call there.");
        if (call.state !== "ringing") return problem(res, 409, "conflict", "The call is not ringing.");
        respond();
        return later(() => answered(me, desk, call));
      case "hold":
      case "retrieve":
        if ((action === "hold") !== (call.state === "connected")) return problem(res, 409, "conflict", `Cannot ${action} a ${call.state} call.`);
        respond();
        return later(() => {
          call.state = action === "hold" ? "held" : "connected";
          pushDesk(me, "calls");
        });
      case "send-digits":
        if (typeof body.digits !== "string" || !/^[0-9*#A-D]{1,32}$/.test(body.digits)) {
          return problem(res, 422, "validation-failed", "Bad digits.", { errors: [{ field: "digits", message: "0-9, *, #, A-D" }] });
        }
        return respond();
      case "hangup": {
        respond();
        return later(() => {
          desk.calls = desk.calls.filter((other) => other !== call);
          // The other end of an internal consultation hangs up too.
          if (call.peer) {
            const peerDesk = deskOf(call.peer.username);
            peerDesk.calls = peerDesk.calls.filter((other) => other.callKey !== call.peer.callKey);
            if (!peerDesk.calls.length && peerDesk.presence.state === "busy") setState(peerDesk, "ready");
            pushDesk(call.peer.username, "calls");
          }
          countHandled(me, call, record);
          if (!desk.calls.length) {
            if (record?.answeredAt && call.direction !== "internal") startWrapUp(desk);
            else if (desk.presence.state === "busy") setState(desk, "ready");
          }
          if (call.contactId) endContactIfFree(call.contactId);
          pushDesk(me, "calls");
        });
      }
      case "consult": {
        if (call.state !== "connected" && call.state !== "held") return problem(res, 409, "conflict", "No connected call to consult from.");
        const target = body.target;
        if (!isObject(target) || !["agent", "queue", "number", "line"].includes(target.kind)) {
          return problem(res, 422, "validation-failed", "A target is required.", { errors: [{ field: "target", message: "required" }] });
        }
        const other = targetDesk(target);
        if (target.kind === "agent" && !other) return problem(res, 404, "not-found", "No such agent.");
        respond();
        return later(() => {
          call.state = "held";
          const remote = other ? deviceOf(other) : (target.number ?? target.lineId ?? target.queueId ?? "");
          const consultContact = newContact({ direction: "internal", number: remote, agents: [me], answeredAt: iso() });
          const mine = newCall(desk, { direction: "internal", state: "connected", remote, remoteName: other ? other.displayName : null, contactId: consultContact.contactId });
          if (other) {
            const theirs = newCall(other, { direction: "internal", state: "connected", remote: deviceOf(desk), remoteName: meUser?.name ?? me, contactId: consultContact.contactId });
            consultContact.agents.push(other.username);
            mine.peer = { username: other.username, callKey: theirs.callKey };
            theirs.peer = { username: me, callKey: mine.callKey };
            pushDesk(other.username, "calls");
          }
          pushDesk(me, "calls");
        });
      }
      case "transfer":
      case "conference": {
        const consultation =
          desk.calls.find((other) => other !== call && typeof body.consultCallId === "string" && other.callKey.endsWith(`/${body.consultCallId}`)) ??
          desk.calls.find((other) => other !== call && other.state !== "held");
        if (!consultation) return problem(res, 409, "conflict", "No consultation call to transfer to.");
        respond();
        return later(() => {
          if (action === "conference") {
            call.state = "connected";
            call.attributes = { ...call.attributes, konference: consultation.remoteName ?? consultation.remote };
            return pushDesk(me, "calls");
          }
          desk.calls = desk.calls.filter((other) => other !== call && other !== consultation);
          countHandled(me, call, record);
          const peer = consultation.peer;
          if (peer) {
            const peerDesk = deskOf(peer.username);
            const theirs = peerDesk.calls.find((other) => other.callKey === peer.callKey);
            if (theirs) {
              // The consultation leg becomes the customer's call at the other agent.
              Object.assign(theirs, { direction: call.direction, remote: call.remote, remoteName: call.remoteName, queueId: call.queueId, contactId: call.contactId, attributes: call.attributes, state: "connected", since: iso() });
              delete theirs.peer;
            }
            if (record && !record.agents.includes(peer.username)) record.agents.push(peer.username);
            setState(peerDesk, "busy");
            pushDesk(peer.username, "calls");
          }
          const consultRecord = contacts.get(consultation.contactId);
          if (consultRecord) endContactIfFree(consultRecord.contactId, "handled");
          if (!desk.calls.length) startWrapUp(desk);
          pushDesk(me, "calls");
          if (record) push(null, { type: "contact", contactId: record.contactId });
        });
      }
      case "blind-transfer": {
        const target = body.target;
        if (!isObject(target) || !["agent", "queue", "number", "line"].includes(target.kind)) {
          return problem(res, 422, "validation-failed", "A target is required.", { errors: [{ field: "target", message: "required" }] });
        }
        const other = targetDesk(target);
        if (target.kind === "agent" && !other) return problem(res, 404, "not-found", "No such agent.");
        respond();
        return later(() => {
          desk.calls = desk.calls.filter((entry) => entry !== call);
          countHandled(me, call, record);
          if (other) {
            newCall(other, { direction: call.direction, state: "ringing", remote: call.remote, remoteName: call.remoteName, queueId: call.queueId, contactId: call.contactId, attributes: call.attributes });
            pushDesk(other.username, "calls");
          } else if (call.contactId) {
            const rec = contacts.get(call.contactId);
            if (rec && !rec.endedAt) Object.assign(rec, { endedAt: iso(), outcome: "transferred", durationSeconds: rec.answeredAt ? Math.round((Date.now() - Date.parse(rec.answeredAt)) / 1000) : 0 });
          }
          if (!desk.calls.length) startWrapUp(desk);
          pushDesk(me, "calls");
        });
      }
    }
    return problem(res, 404, "not-found", "Unknown action.");
  }

  // ---- request handling ----
  // Chats (issue 7): conversations waiting in a queue or held by an agent, as /api/desk/chats
  // answers them; the customer's side is the mock hooks `chat` and `chat-message`.
  const conversations = new Map();
  let chatSeq = 0;
  const CHAT_LIMIT = 3;
  function chatMessage(chat, from, text, author) {
    const message = { conversationId: chat.conversationId, seq: chat.messages.length + 1, messageId: `m-${++chatSeq}`, from, text, at: iso(), ...(author ? { author } : {}) };
    chat.messages.push(message);
    chat.updatedAt = message.at;
    return message;
  }
  /** The `chat` push of a changed conversation, as the stack words it (queueId and agent when it has them). */
  function chatPush(chat) {
    return { type: "chat", conversationId: chat.conversationId, status: chat.status, ...(chat.queueId ? { queueId: chat.queueId } : {}), ...(chat.agent ? { agent: chat.agent } : {}) };
  }
  function chatView(chat) {
    const { messages, startedBy, ...rest } = chat;
    return { ...rest, contactId: `chat:${chat.conversationId}`, lastSeq: messages.length };
  }
  /** The conversation's contact record, created or brought up to date (as apply_conversation does). */
  function syncRecord(chat) {
    const contactId = `chat:${chat.conversationId}`;
    let record = contacts.get(contactId);
    if (!record) {
      record = { contactId, channel: "chat", direction: "inbound", number: null, dialled: null, queueId: null, agents: [], startedAt: chat.createdAt, answeredAt: null, endedAt: null, durationSeconds: null, outcome: null, clientId: null, clientName: null, categoryId: null, note: null, data: {}, attributes: {} };
      contacts.set(contactId, record);
      notes.set(contactId, []);
    }
    const customer = chat.customer ?? {};
    record.channel = { web: "chat", sms: "sms", email: "email", social: "social" }[chat.channel] ?? "chat";
    record.direction = chat.startedBy ? "outbound" : "inbound";
    record.number =
      chat.channel === "sms" ? (customer.phone ?? null) : chat.channel === "email" ? (customer.email ?? null) : chat.channel === "social" ? (chat.social?.userId ?? null) : (customer.email ?? customer.phone ?? null);
    if (chat.queueId) record.queueId = chat.queueId;
    for (const agent of [chat.agent, ...(chat.invited ?? [])]) if (agent && !record.agents.includes(agent)) record.agents.push(agent);
    if (!record.answeredAt && chat.agent) record.answeredAt = iso();
    record.clientName ??= customer.name ?? null;
    if (chat.status === "ended" && !record.endedAt) {
      record.endedAt = iso();
      record.outcome = record.agents.length ? "handled" : "lost";
      record.durationSeconds = record.answeredAt ? Math.round((Date.parse(record.endedAt) - Date.parse(record.answeredAt)) / 1000) : null;
    }
    return record;
  }
  const outbox = []; // {channel, conversationId, seq, to, subject?, text}
  const attachmentFiles = new Map(); // key → {name, contentType, size}
  const byClientToken = new Map(); // `${username} ${clientMessageId}` → conversationId
  const MAX_SMS = 1600;
  /** Like normalize_czech_phone: spaces dropped, +420/00420 optional, 9 digits of a Czech number. */
  const czechPhone = (input) => {
    const compact = String(input ?? "").replace(/\s+/g, "");
    const national = compact.replace(/^(\+420|00420)/, "");
    return /^[2-7]\d{8}$/.test(national) ? `+420${national}` : null;
  };
  const chars = (text) => [...String(text ?? "")].length;
  function newConversation(fields) {
    const conversationId = `chat-${++chatSeq}`;
    const chat = { conversationId, channel: "web", status: "queued", customer: {}, createdAt: iso(), updatedAt: iso(), messages: [], ...fields };
    conversations.set(conversationId, chat);
    syncRecord(chat);
    return chat;
  }
  function withAttachments(message, list) {
    if (!Array.isArray(list) || !list.length) return message;
    message.attachments = list.map((file, index) => {
      const key = `mail/${message.conversationId}/${message.seq}/${index + 1}`;
      const attachment = { name: String(file.name ?? `priloha-${index + 1}`), contentType: String(file.contentType ?? "application/octet-stream"), size: Number(file.size ?? 0), key };
      attachmentFiles.set(key, attachment);
      return attachment;
    });
    return message;
  }
  /** Delivers an agent's message to the customer (the outbox), or a system message when refused. */
  function deliver(chat, message) {
    if (chat.channel === "web") return;
    const to = chat.channel === "sms" ? chat.customer.phone : chat.channel === "email" ? chat.customer.email : chat.social?.userId;
    outbox.push({ channel: chat.channel, conversationId: chat.conversationId, seq: message.seq, to, ...(chat.subject ? { subject: chat.subject } : {}), text: message.text });
  }
  // Seed: an SMS and an e-mail with an attachment, waiting in the general queue.
  {
    const sms = newConversation({ channel: "sms", customer: { phone: "+420777888999" }, queueId: "kkc-obecne" });
    chatMessage(sms, "customer", "Dobrý den, kdy mi přijde nová kartička?");
    const mail = newConversation({ channel: "email", customer: { name: "Jan Dvořák", email: "jan.dvorak@example.cz" }, subject: "Změna adresy", queueId: "kkc-obecne" });
    withAttachments(chatMessage(mail, "customer", "Dobrý den,\nposílám potvrzení o změně trvalého pobytu.\nJan Dvořák"), [{ name: "potvrzeni.pdf", contentType: "application/pdf", size: 12_500 }]);
  }

  async function openConversation(req, res, me, channel) {
    const body = await json(req, res);
    if (!body) return;
    const errors = [];
    const text = typeof body.text === "string" ? body.text : "";
    if (!text.trim()) errors.push({ field: "text", message: "must not be empty" });
    else if (chars(text) > 4000) errors.push({ field: "text", message: "must be at most 4000 characters" });
    if (typeof body.clientMessageId !== "string" || !body.clientMessageId) errors.push({ field: "clientMessageId", message: "must not be empty" });
    if (body.name !== undefined && (typeof body.name !== "string" || !body.name.trim() || chars(body.name) > 100)) errors.push({ field: "name", message: "must be 1 to 100 characters" });
    const customer = typeof body.name === "string" && body.name.trim() ? { name: body.name.trim() } : {};
    let subject;
    if (channel === "sms") {
      const phone = czechPhone(body.to);
      if (phone) customer.phone = phone;
      else errors.push({ field: "to", message: "must be a phone number" });
      if (chars(text) > MAX_SMS) errors.push({ field: "text", message: `an SMS must be at most ${MAX_SMS} characters` });
      if (body.subject !== undefined) errors.push({ field: "subject", message: "an SMS has no subject" });
    } else {
      const to = String(body.to ?? "").trim().toLowerCase();
      if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(to)) customer.email = to;
      else errors.push({ field: "to", message: "must be an e-mail address" });
      subject = typeof body.subject === "string" ? body.subject.trim() : "";
      if (!subject || chars(subject) > 200 || /[\u0000-\u001f]/.test(subject)) errors.push({ field: "subject", message: "must be 1 to 200 characters on one line" });
    }
    if (errors.length) return problem(res, 422, "validation-failed", "The message is not valid.", { errors });
    const token = `${me} ${body.clientMessageId}`;
    const known = conversations.get(byClientToken.get(token) ?? "");
    if (known) return send(res, 200, { conversation: chatView(known), message: known.messages[0] });
    const chat = newConversation({ channel, status: "assigned", agent: me, startedBy: me, customer, ...(subject ? { subject } : {}) });
    byClientToken.set(token, chat.conversationId);
    const message = chatMessage(chat, "agent", text.trim(), me);
    message.clientMessageId = body.clientMessageId;
    if (subject) message.subject = subject;
    deliver(chat, message);
    push(me, chatPush(chat));
    return send(res, 201, { conversation: chatView(chat), message });
  }

  async function handleChats(req, res, url, me, id, action, seq, sub, index) {
    const method = req.method;
    if ((id === "sms" || id === "email") && !action) {
      if (method !== "POST") return problem(res, 405, "method-not-allowed", "POST.");
      return openConversation(req, res, me, id);
    }
    if (!id && method === "GET") {
      const all = [...conversations.values()];
      return send(res, 200, {
        held: all.filter((chat) => chat.status === "assigned" && chat.agent === me).map(chatView),
        waiting: all.filter((chat) => chat.status === "queued").map(chatView),
        chatLimit: CHAT_LIMIT,
      });
    }
    const chat = id ? conversations.get(id) : null;
    if (!chat) return problem(res, 404, "conversation-not-found", "No such conversation.");
    if (action === "messages" && seq && sub === "attachments" && index && method === "GET") {
      if (chat.agent !== me && chat.status !== "queued") return problem(res, 403, "not-your-chat", "The chat is another agent's.");
      const attachment = chat.messages.find((m) => String(m.seq) === seq)?.attachments?.[Number(index) - 1];
      if (!attachment) return problem(res, 404, "attachment-not-found", "The message has no such attachment.");
      const origin = `http://${req.headers.host ?? "127.0.0.1"}`;
      const url = `${origin}/mock-attachments/${attachment.key.split("/").map(encodeURIComponent).join("/")}?X-Amz-Expires=300&X-Amz-Signature=mock`;
      return send(res, 200, { url, name: attachment.name, contentType: attachment.contentType, size: attachment.size });
    }
    if (action === "messages" && method === "GET") {
      const after = Number(url.searchParams.get("after") ?? "0");
      return send(res, 200, { conversation: chatView(chat), messages: chat.messages.filter((m) => m.seq > after) });
    }
    if (method !== "POST") return problem(res, 405, "method-not-allowed", "POST.");
    if (action === "accept") {
      if (chat.status !== "queued") return problem(res, 409, "chat-taken", "Somebody took it.");
      Object.assign(chat, { status: "assigned", agent: me });
      syncRecord(chat);
      push(null, chatPush(chat));
      return send(res, 200, chatView(chat));
    }
    if (chat.agent !== me) return problem(res, 403, "not-your-chat", "Another agent's chat.");
    if (action === "typing") return send(res, 204, null);
    if (action === "messages") {
      const body = await json(req, res);
      if (!body) return;
      if (typeof body.text !== "string" || !body.text.trim()) return problem(res, 422, "validation-failed", "text.", { errors: [{ field: "text", message: "must not be empty" }] });
      if (chat.channel === "sms" && chars(body.text.trim()) > MAX_SMS) {
        return problem(res, 422, "validation-failed", "text.", { errors: [{ field: "text", message: `an SMS must be at most ${MAX_SMS} characters` }] });
      }
      const message = chatMessage(chat, "agent", body.text.trim(), me);
      deliver(chat, message);
      push(me, { type: "chat-message", message });
      return send(res, 201, message);
    }
    if (action === "transfer") {
      const body = await json(req, res);
      if (!body) return;
      const hasUser = typeof body.username === "string";
      const hasQueue = typeof body.queueId === "string";
      if (hasUser === hasQueue) return problem(res, 422, "validation-failed", "username or queueId.", { errors: [{ field: "username", message: "give either username or queueId" }] });
      if (hasUser) {
        const roles = users.get(body.username)?.roles ?? [];
        if (!roles.some((role) => role === "agent" || role === "supervisor") || body.username === me) {
          return problem(res, 422, "validation-failed", "username.", { errors: [{ field: "username", message: "must be another active agent" }] });
        }
        const held = [...conversations.values()].filter((other) => other.status === "assigned" && other.agent === body.username).length;
        if (held >= CHAT_LIMIT) return problem(res, 409, "chat-limit", `${held} chats are held already, the most allowed.`);
      } else if (!QUEUES.some((queue) => queue.queueId === body.queueId)) {
        return problem(res, 422, "validation-failed", "queueId.", { errors: [{ field: "queueId", message: `there is no queue ${body.queueId}` }] });
      }
      chatMessage(chat, "system", "Předáváme vás kolegovi.");
      if (hasUser) {
        chat.agent = body.username;
      } else {
        // Back to a queue: waiting there for whoever takes it.
        delete chat.agent;
        Object.assign(chat, { status: "queued", queueId: body.queueId });
      }
      syncRecord(chat);
      push(null, chatPush(chat));
      return send(res, 200, chatView(chat));
    }
    if (action === "invite") {
      const body = await json(req, res);
      if (!body) return;
      if (chat.status === "ended") return problem(res, 409, "conversation-ended", "The conversation has ended.");
      const roles = users.get(body.username)?.roles ?? [];
      if (typeof body.username !== "string" || !roles.some((role) => role === "supervisor" || role === "admin")) {
        return problem(res, 422, "validation-failed", "username.", { errors: [{ field: "username", message: "must be an active supervisor" }] });
      }
      chat.invited = [...new Set([...(chat.invited ?? []), body.username])];
      chat.updatedAt = iso();
      syncRecord(chat);
      push(null, chatPush(chat));
      return send(res, 200, chatView(chat));
    }
    if (action === "end") {
      chatMessage(chat, "system", "Konverzace byla ukončena.");
      Object.assign(chat, { status: "ended" });
      syncRecord(chat);
      push(null, chatPush(chat));
      return send(res, 200, chatView(chat));
    }
    return problem(res, 404, "not-found", "Not found.");
  }

  async function handleDesk(req, res, url, me, parts, supervising) {
    const method = req.method;
    const desk = deskOf(me);
    const [, second, third, fourth, fifth, ...rest] = parts; // desk, …
    if (second === "chats") return handleChats(req, res, url, me, third, fourth, fifth, rest[0], rest[1]);
    if (!second && method === "GET") return send(res, 200, deskView(desk));
    if (second === "presence" && !third && method === "PUT") {
      const body = await json(req, res);
      if (!body) return;
      if (body.state !== "ready" && body.state !== "notReady") {
        return problem(res, 422, "validation-failed", "state must be ready or notReady.", { errors: [{ field: "state", message: "one of ready, notReady" }] });
      }
      if (body.state === "notReady" && body.breakCode != null && !BREAK_CODES.some((code) => code.code === body.breakCode)) {
        return problem(res, 422, "validation-failed", "Unknown break code.", { errors: [{ field: "breakCode", message: "unknown" }] });
      }
      send(res, 202, { requested: body.state });
      // The PBX confirms; this push carries no desk, so the page reads GET /api/desk.
      return later(() => {
        if (desk.calls.length === 0) setState(desk, body.state, body.state === "notReady" ? (body.breakCode ?? null) : null);
        pushDesk(me, "presence", false);
      });
    }
    if (second === "phone" && !third && method === "PUT") {
      const body = await json(req, res);
      if (!body) return;
      if ((body.phone !== "desk" && body.phone !== "mobile") || Object.keys(body).some((key) => key !== "phone")) {
        return problem(res, 400, "invalid-body", 'The body must be {"phone": "desk" | "mobile"}.');
      }
      if (body.phone === "mobile" && !phonesOf(me).mobile) return problem(res, 409, "no-mobile", "you have no mobile phone set up; ask an administrator");
      if (desk.calls.length) return problem(res, 409, "phone-busy", "finish the calls at your phone first");
      send(res, 202, { commandId: `cmd-${++sequence}`, requested: "phone" });
      // The PBX logs the agent off one device and on at the other, ready or on the same break as
      // before (else just logged on); its events come as a push without a desk → the page reads.
      return later(() => {
        const moved = phoneView(desk).using !== body.phone;
        desk.using = body.phone;
        const keeps = desk.presence.state === "ready" || desk.presence.state === "notReady";
        if (desk.presence.state === "loggedOff" || (moved && !keeps)) setState(desk, "loggedOn");
        pushDesk(me, "presence", false);
      });
    }
    if (second === "wrap-up" && (third === "extend" || third === "end") && !fourth && method === "POST") {
      if (!desk.wrapUp) return problem(res, 409, "not-in-wrap-up", "You are not in a wrap-up.");
      if (third === "end") {
        setState(desk, "ready");
        later(() => pushDesk(me, "presence", false));
        return send(res, 200, { wrapUp: null });
      }
      const body = await json(req, res);
      if (!body) return;
      if (!Number.isInteger(body.seconds) || body.seconds < 1 || body.seconds > 3600) {
        return problem(res, 422, "validation-failed", "seconds must be 1 to 3600.", { errors: [{ field: "seconds", message: "must be between 1 and 3600" }] });
      }
      const limit = desk.wrapUp.extendableUntil ? Date.parse(desk.wrapUp.extendableUntil) : null;
      const current = Date.parse(desk.wrapUp.until);
      if (limit === null || current >= limit) return problem(res, 409, "wrap-up-at-limit", "The wrap-up already lasts as long as the queue allows.");
      const until = Math.min(current + body.seconds * 1000, limit);
      desk.wrapUp = { ...desk.wrapUp, until: iso(until), extendableUntil: until < limit ? desk.wrapUp.extendableUntil : null };
      scheduleWrapEnd(desk, until - Date.now());
      return send(res, 200, { wrapUp: desk.wrapUp });
    }
    if (second === "queues" && third && !fourth && method === "PUT") {
      const queue = desk.queues.find((entry) => entry.queueId === third);
      if (!queue) return problem(res, 404, "not-found", "You are not a member of this queue.");
      const body = await json(req, res);
      if (!body) return;
      if (typeof body.loggedIn !== "boolean") return problem(res, 422, "validation-failed", "loggedIn is required.", { errors: [{ field: "loggedIn", message: "boolean required" }] });
      if (queue.locked) return problem(res, 403, "queue-locked", "An administrator locked this membership.");
      queue.loggedIn = body.loggedIn;
      later(() => pushDesk(me, "queues"));
      return send(res, 200, { ...queue });
    }
    if (second === "calls" && third && fourth && fifth && !rest.length && method === "POST") {
      if (!ACTIONS.includes(fifth)) return problem(res, 404, "not-found", "Unknown action.");
      const call = desk.calls.find((entry) => entry.callKey === `${third}/${fourth}`);
      if (!call) return problem(res, 404, "not-found", "No such call on your desk.");
      const body = await json(req, res);
      if (!body) return;
      return callAction(res, me, desk, call, fifth, body);
    }
    if (second === "dial" && !third && method === "POST") {
      const body = await json(req, res);
      if (!body) return;
      if (typeof body.number !== "string" || !/^(\+\d{6,15}|\d{2,8})$/.test(body.number)) {
        return problem(res, 422, "validation-failed", "A number is required.", { errors: [{ field: "number", message: "E.164 or an extension" }] });
      }
      send(res, 202, { commandId: `cmd-${++sequence}` });
      return later(() => {
        const client = body.clientId ? clients.get(body.clientId) : null;
        const record = newContact({ direction: "outbound", number: body.number, agents: [me], clientId: client?.clientId ?? null, clientName: client ? nameOfClient(client) : null });
        const call = newCall(desk, { direction: /^\d+$/.test(body.number) ? "internal" : "outbound", state: "initiated", remote: body.number, contactId: record.contactId });
        setState(desk, "busy");
        pushDesk(me, "calls");
        setTimeout(() => {
          if (!desk.calls.includes(call)) return;
          call.state = "connected";
          record.answeredAt = iso();
          pushDesk(me, "calls");
        }, 300);
      });
    }
    if (second === "directory" && !third && method === "GET") {
      const agents = [...users.values()]
        .filter((user) => (user.roles ?? []).some((role) => role === "agent" || role === "supervisor"))
        .map((user) => ({
          username: user.username,
          displayName: user.name,
          device: desks.has(user.username) ? deviceOf(desks.get(user.username)) : (user.agentNumber ?? "2100"),
          roles: user.roles.filter((role) => role === "agent" || role === "supervisor"),
          groups: user.groups ?? [],
          presence: presenceOf(user.username),
        }));
      return send(res, 200, {
        groups: [
          { groupId: "KKC", name: "Klientské centrum" },
          { groupId: "AS", name: "Asistenční služba" },
          { groupId: "EXT", name: "Externí" },
          { groupId: "linky", name: "Linky" },
        ],
        favourites: favourites.get(me) ?? [],
        agents,
        lines: [
          { lineId: "ext-pojistovna", label: "Pojišťovna — ústředna", groupId: "linky", target: { kind: "external", number: "+420222333444" } },
          { lineId: "as-dispecink", label: "Dispečink asistence", groupId: "linky", target: { kind: "queue", queueId: "as-asistence" } },
        ],
      });
    }
    if (second === "favourites" && !third && method === "PUT") {
      const body = await json(req, res);
      if (!body) return;
      if (!Array.isArray(body.favourites) || body.favourites.some((entry) => typeof entry !== "string") || body.favourites.length > 100) {
        return problem(res, 422, "validation-failed", "favourites must be a list of ids.", { errors: [{ field: "favourites", message: "list of strings" }] });
      }
      favourites.set(me, [...new Set(body.favourites)]);
      return send(res, 200, { favourites: favourites.get(me) });
    }
    if (second === "stats" && !third && method === "GET") return send(res, 200, statsOf(me));
    if (second === "mail-templates" && !third && method === "GET") {
      const items = mailTemplates()
        .filter((template) => template.active !== false)
        .sort((a, b) => a.name.localeCompare(b.name, "cs") || a.templateId.localeCompare(b.templateId));
      return send(res, 200, { items });
    }
    if (second === "categories" && !third && method === "GET") return send(res, 200, { items: CATEGORIES });
    if (second === "recent" && !third && method === "GET") {
      const mine = [...contacts.values()].filter((record) => record.agents.includes(me) && record.direction !== "internal").sort(newestFirst).slice(0, 10);
      return send(res, 200, { contacts: mine, next: null });
    }
    if (second === "history" && !third && method === "GET") {
      const from = url.searchParams.get("from");
      const to = url.searchParams.get("to");
      const q = fold(url.searchParams.get("q") ?? "").trim();
      for (const [name, value] of [["from", from], ["to", to]]) {
        if (value && !Number.isFinite(Date.parse(value))) return problem(res, 400, "bad-request", `${name} is not an RFC 3339 instant.`);
      }
      const list = [...contacts.values()]
        .filter((record) => record.agents.includes(me))
        .filter((record) => !from || Date.parse(record.startedAt) >= Date.parse(from))
        .filter((record) => !to || Date.parse(record.startedAt) < Date.parse(to))
        .filter((record) => !q || (notes.get(record.contactId) ?? []).some((note) => fold(note.text).includes(q)))
        .sort(newestFirst);
      return send(res, 200, page(list, url));
    }
    return problem(res, 404, "not-found", "Not found.");
  }

  async function handleClients(req, res, url, me, parts) {
    const [, clientId, sub, ...rest] = parts;
    const method = req.method;
    if (!clientId) {
      if (method === "GET") {
        const phone = url.searchParams.get("phone");
        const email = url.searchParams.get("email");
        const insurance = url.searchParams.get("insuranceNumber");
        if (!phone && !email && !insurance) return problem(res, 400, "bad-request", "phone, email or insuranceNumber is required.");
        const found = [...clients.values()].filter(
          (client) =>
            (phone && (client.fields.phone === phone || client.fields.mobile === phone)) ||
            (email && fold(client.fields.email) === fold(email)) ||
            (insurance && client.fields.insuranceNumber === insurance),
        );
        return send(res, 200, { clients: found });
      }
      if (method === "POST") {
        const body = await json(req, res);
        if (!body) return;
        const errors = validateFields(body.fields, true);
        if (errors.length) return problem(res, 422, "validation-failed", "The client is not valid.", { errors });
        const client = seedClient({ ...body.fields }, { icis: false });
        Object.assign(client, { updatedAt: iso(), updatedBy: me });
        return send(res, 201, client);
      }
      return problem(res, 405, "method-not-allowed", "GET or POST.");
    }
    const client = clients.get(clientId);
    if (!client) return problem(res, 404, "not-found", "No such client.");
    if (!sub && method === "GET") return send(res, 200, client);
    if (!sub && method === "PUT") {
      const body = await json(req, res);
      if (!body) return;
      if (!Number.isInteger(body.version)) return problem(res, 422, "validation-failed", "version is required.", { errors: [{ field: "version", message: "required" }] });
      if (body.version !== client.version) return problem(res, 409, "conflict", `The client is at version ${client.version}.`);
      const errors = validateFields(body.fields, false);
      if (errors.length) return problem(res, 422, "validation-failed", "The client is not valid.", { errors });
      for (const [key, value] of Object.entries(body.fields)) {
        const field = FIELDS.find((entry) => entry.key === key);
        if (field && !field.editable) return problem(res, 422, "validation-failed", "Not editable.", { errors: [{ field: `fields.${key}`, message: "not editable" }] });
        if (value === "") delete client.fields[key];
        else client.fields[key] = value;
      }
      Object.assign(client, { version: client.version + 1, updatedAt: iso(), updatedBy: me });
      return send(res, 200, client);
    }
    if (sub === "contacts" && !rest.length && method === "GET") {
      const list = [...contacts.values()].filter((record) => record.clientId === clientId).sort(newestFirst);
      return send(res, 200, page(list, url));
    }
    return problem(res, 404, "not-found", "Not found.");
  }

  function validateFields(fields, creating) {
    if (!isObject(fields)) return [{ field: "fields", message: "required" }];
    const errors = [];
    for (const [key, value] of Object.entries(fields)) {
      if (typeof value !== "string") errors.push({ field: `fields.${key}`, message: "must be a string" });
      if (key === "email" && value && !/^[^@\s]+@[^@\s]+$/.test(value)) errors.push({ field: `fields.${key}`, message: "not an e-mail address" });
    }
    for (const field of FIELDS) {
      if (!field.required) continue;
      const value = fields[field.key];
      if ((creating || field.key in fields) && (typeof value !== "string" || !value.trim())) errors.push({ field: `fields.${field.key}`, message: "required" });
    }
    return errors;
  }

  async function handleContacts(req, res, url, me, parts, supervising) {
    const [, contactId, sub, ...rest] = parts;
    const method = req.method;
    const record = (hiddenUntil.get(contactId ?? "") ?? 0) > Date.now() ? undefined : contacts.get(contactId ?? "");
    if (!record || rest.length || !canSee(record, me, supervising)) return problem(res, 404, "not-found", "No such contact.");
    if (!sub && method === "GET") return send(res, 200, record);
    if (sub === "notes" && method === "GET") return send(res, 200, { versions: notes.get(contactId) ?? [] });
    if (sub === "notes" && method === "POST") {
      const body = await json(req, res);
      if (!body) return;
      const text = typeof body.text === "string" ? body.text.trim() : "";
      if (!text || text.length > 4000) return problem(res, 422, "validation-failed", "text is required.", { errors: [{ field: "text", message: "1-4000 characters" }] });
      const versions = notes.get(contactId) ?? [];
      const latest = versions.at(-1)?.version ?? null;
      if ((body.baseVersion ?? null) !== latest) return problem(res, 409, "conflict", `The latest version is ${latest}.`);
      const version = { version: (latest ?? 0) + 1, text, at: iso(), by: me };
      versions.push(version);
      notes.set(contactId, versions);
      record.note = version;
      push(null, { type: "contact", contactId });
      return send(res, 201, version);
    }
    if (method !== "PUT") return problem(res, 405, "method-not-allowed", "Method not allowed.");
    const body = await json(req, res);
    if (!body) return;
    if (sub === "category") {
      const category = CATEGORIES.find((entry) => entry.categoryId === body.categoryId);
      if (!category || !category.active) return problem(res, 422, "validation-failed", "Unknown or inactive category.", { errors: [{ field: "categoryId", message: "unknown or inactive" }] });
      record.categoryId = category.categoryId;
    } else if (sub === "client") {
      const client = clients.get(body.clientId ?? "");
      if (!client) return problem(res, 422, "validation-failed", "Unknown client.", { errors: [{ field: "clientId", message: "unknown" }] });
      record.clientId = client.clientId;
      record.clientName = nameOfClient(client);
    } else if (sub === "data") {
      if (!isObject(body.data) || Object.values(body.data).some((value) => typeof value !== "string")) {
        return problem(res, 422, "validation-failed", "data must map keys to strings.", { errors: [{ field: "data", message: "object of strings" }] });
      }
      record.data = { ...record.data, ...body.data };
    } else {
      return problem(res, 404, "not-found", "Not found.");
    }
    push(null, { type: "contact", contactId });
    return send(res, 200, record);
  }

  async function handleMock(req, res, url, parts) {
    const [, , action, id, sub] = parts; // mock, desk, …
    if (!action && req.method === "GET") return send(res, 200, { mock: true });
    if (action === "outbox" && req.method === "GET") return send(res, 200, { items: outbox });
    if (req.method !== "POST" && req.method !== "PUT") return problem(res, 405, "method-not-allowed", "POST.");
    const body = await json(req, res);
    if (!body) return;
    if (action === "offer") {
      if (!users.has(body.username)) return problem(res, 422, "validation-failed", "Unknown username.");
      const desk = deskOf(body.username);
      const client = [...clients.values()].filter((entry) => entry.fields.phone === body.number || entry.fields.mobile === body.number);
      const record = newContact({ number: body.number, dialled: "4000", queueId: body.queueId ?? "kkc-obecne", agents: [body.username], attributes: body.attributes ?? {} });
      // As on the stack, where the CTI projection writes the record just after the desk hears of
      // the call: not found for the first recordLateMs.
      if (Number.isInteger(body.recordLateMs)) hiddenUntil.set(record.contactId, Date.now() + body.recordLateMs);
      const call = newCall(desk, {
        remote: body.number,
        remoteName: client.length === 1 ? nameOfClient(client[0]) : null,
        queueId: record.queueId,
        contactId: record.contactId,
        attributes: body.attributes ?? {},
      });
      pushDesk(body.username, "calls");
      return send(res, 201, { callKey: call.callKey, contactId: record.contactId });
    }
    if (action === "mobile-answer") {
      if (!users.has(body.username)) return problem(res, 422, "validation-failed", "Unknown username.");
      const desk = deskOf(body.username);
      if (phoneView(desk).using !== "mobile") return problem(res, 409, "not-on-mobile", "The agent takes calls on the desk phone.");
      const call = desk.calls.find((entry) => entry.state === "ringing" && entry.direction !== "outbound");
      if (!call) return problem(res, 409, "nothing-ringing", "No call rings at the mobile.");
      later(() => answered(body.username, desk, call));
      return send(res, 202, { callKey: call.callKey });
    }
    if (action === "chat") {
      const channel = ["web", "sms", "email", "social"].includes(body.channel) ? body.channel : "web";
      const chat = newConversation({
        channel,
        customer: body.customer ?? {},
        queueId: body.queueId ?? "kkc-obecne",
        ...(typeof body.subject === "string" ? { subject: body.subject } : {}),
        ...(channel === "social" ? { social: { network: "messenger", pageId: "page-1", userId: String(body.social?.userId ?? `psid-${chatSeq}`) } } : {}),
      });
      const conversationId = chat.conversationId;
      if (typeof body.text === "string") withAttachments(chatMessage(chat, "customer", body.text), body.attachments);
      if (channel === "web") chatMessage(chat, "system", "Předáváme vás operátorovi.");
      push(null, chatPush(chat));
      return send(res, 201, { conversationId });
    }
    if (action === "chat-assign") {
      // As the chat function carries out a distribution plan: the same conditional take as an accept.
      const chat = conversations.get(body.conversationId);
      if (!chat) return problem(res, 404, "conversation-not-found", "No such conversation.");
      const roles = users.get(body.username)?.roles ?? [];
      if (!roles.includes("agent")) return problem(res, 422, "validation-failed", "username.", { errors: [{ field: "username", message: "must be an active agent" }] });
      if (chat.status !== "queued") return problem(res, 409, "chat-taken", "The chat is not waiting.");
      const held = [...conversations.values()].filter((other) => other.status === "assigned" && other.agent === body.username).length;
      if (held >= CHAT_LIMIT) return problem(res, 409, "chat-limit", `${held} chats are held already, the most allowed.`);
      Object.assign(chat, { status: "assigned", agent: body.username });
      syncRecord(chat);
      push(null, chatPush(chat));
      return send(res, 200, chatView(chat));
    }
    if (action === "chat-message") {
      const chat = conversations.get(body.conversationId);
      if (!chat) return problem(res, 404, "conversation-not-found", "No such conversation.");
      const message = chatMessage(chat, "customer", String(body.text ?? ""));
      if (chat.agent) push(chat.agent, { type: "chat-message", message });
      return send(res, 201, message);
    }
    if (action === "push") {
      push(typeof body.username === "string" ? body.username : null, body.message ?? {});
      return send(res, 202, { pushed: true });
    }
    if (action === "drop-sockets") {
      dropSockets();
      return send(res, 202, { dropped: true });
    }
    if (action === "clients" && id && sub === "touch") {
      const client = clients.get(id);
      if (!client) return problem(res, 404, "not-found", "No such client.");
      Object.assign(client, { version: client.version + 1, updatedAt: iso(), updatedBy: "supervisor", fields: { ...client.fields, ...(isObject(body.fields) ? body.fields : {}) } });
      return send(res, 200, client);
    }
    if (action === "presence") {
      if (typeof body.username !== "string" || typeof body.presence !== "string") return problem(res, 422, "validation-failed", "username and presence.");
      panelPresence.set(body.username, body.presence);
      desks.delete(body.username);
      push(null, { type: "presence", username: body.username, presence: body.presence });
      return send(res, 200, { ok: true });
    }
    return problem(res, 404, "not-found", "Unknown mock hook.");
  }

  return {
    /** GET /mock-attachments/{key}: the "S3 object" behind an attachment link (no token). */
    serveAttachment(req, res, url) {
      const key = url.pathname.replace(/^\/mock-attachments\//, "").split("/").map(decodeURIComponent).join("/");
      const file = attachmentFiles.get(key);
      if (!file || url.searchParams.get("X-Amz-Signature") !== "mock") return send(res, 404, { message: "Not Found" });
      res.writeHead(200, {
        "Content-Type": file.contentType,
        "Content-Disposition": `attachment; filename="${file.name.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
      });
      return res.end(`Mock attachment ${file.name} (${file.size} B)\n`);
    },

    owns(path) {
      return (
        path === "/api/desk" ||
        path.startsWith("/api/desk/") ||
        path === "/api/clients" ||
        path.startsWith("/api/clients/") ||
        path === "/api/client-fields" ||
        path.startsWith("/api/contacts/") ||
        path === "/api/mock/desk" ||
        path.startsWith("/api/mock/desk/")
      );
    },

    async handle(req, res, url, claims) {
      const roles = claims.roles ?? [];
      const me = claims.preferred_username ?? claims.sub;
      const parts = url.pathname.split("/").filter(Boolean).slice(1).map((part) => decodeURIComponent(part));
      if (parts[0] === "mock") return handleMock(req, res, url, parts);
      if (!roles.some((role) => ROLES.includes(role))) return problem(res, 403, "forbidden", "One of the roles agent, supervisor or admin is required.");
      const supervising = roles.includes("supervisor") || roles.includes("admin");
      if (parts[0] === "desk") {
        if (!roles.includes("agent") && !roles.includes("supervisor")) return problem(res, 403, "forbidden", "The desk is for agents and supervisors.");
        return handleDesk(req, res, url, me, parts, supervising);
      }
      if (parts[0] === "client-fields" && parts.length === 1 && req.method === "GET") return send(res, 200, { fields: FIELDS });
      if (parts[0] === "clients") return handleClients(req, res, url, me, parts);
      if (parts[0] === "contacts") return handleContacts(req, res, url, me, parts, supervising);
      return problem(res, 404, "not-found", "Not found.");
    },
  };
}

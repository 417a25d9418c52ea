import { describe, expect, it, vi } from "vitest";
import type { Desk, DeskCall, DeskStats, Directory, StatsSummary } from "../api/desk";
import { splitCallKey } from "../api/desk";
import { pragueLocalToIso } from "../format/date";
import { recordAddress, recordChannel } from "./desk-model";
import {
  answerOnMobile,
  applyDeskPush,
  canSwitchPhone,
  deskAfterRead,
  deskPhone,
  applyPresencePush,
  PushVersions,
  callButtons,
  categoryOptions,
  changedFields,
  clientName,
  consultationOf,
  dayBound,
  coalesce,
  debounce,
  dialNumber,
  dtmfDigits,
  formatCount,
  formatCountdown,
  formatDuration,
  mainCall,
  missingRequired,
  ownPresenceKey,
  panelEntries,
  panelPresence,
  phoneNumber,
  secondsLeft,
  splitFields,
  statsTable,
  toggleFavourite,
} from "./desk-model";

const call = (fields: Partial<DeskCall>): DeskCall => ({
  callKey: "relay-1/1",
  contactId: "c1",
  state: "connected",
  direction: "inbound",
  remote: "+420601555777",
  remoteName: null,
  queueId: "kkc-obecne",
  since: "2026-11-28T10:00:00Z",
  attributes: {},
  ...fields,
});

const directory = (): Directory => ({
  groups: [{ groupId: "KKC", name: "Klientské centrum" }],
  favourites: ["line:ext", "agent03"],
  agents: [
    { username: "agent01", displayName: "Jana Nováková", device: "2001", roles: ["agent"], groups: ["KKC"], presence: "free" },
    { username: "agent02", displayName: "Petr Svoboda", device: "2002", roles: ["agent"], groups: ["KKC"], presence: "free" },
    { username: "agent03", displayName: "Lucie Dvořáková", device: "2003", roles: ["agent"], groups: ["KKC"], presence: "busy" },
    { username: "agent06", displayName: "Martin Kučera", device: "2006", roles: ["agent"], groups: ["AS"], presence: "break" },
  ],
  lines: [{ lineId: "ext", label: "Pojišťovna", groupId: "linky", target: {} }],
});

describe("presence words", () => {
  it("maps every panel presence to its text and colour, an unknown one to logged out", () => {
    expect(panelPresence("free")).toEqual({ key: "desk.presence.free", tone: "ok" });
    expect(panelPresence("busy")).toEqual({ key: "desk.presence.busy", tone: "busy" });
    expect(panelPresence("ringing").tone).toBe("ringing");
    expect(panelPresence("break").key).toBe("desk.presence.break");
    expect(panelPresence("wrapUp").key).toBe("desk.presence.wrapUp");
    expect(panelPresence("chatting")).toEqual({ key: "desk.presence.loggedOut", tone: "off" });
  });

  it("maps the agent's own states, an unknown one to logged off", () => {
    expect(ownPresenceKey("workingAfterCall")).toBe("desk.state.workingAfterCall");
    expect(ownPresenceKey("notReady")).toBe("desk.state.notReady");
    expect(ownPresenceKey("weird")).toBe("desk.state.loggedOff");
  });
});

describe("wrap-up countdown", () => {
  it("counts whole seconds up, never below zero", () => {
    const now = Date.parse("2026-11-28T10:00:00Z");
    expect(secondsLeft("2026-11-28T10:00:42Z", now)).toBe(42);
    expect(secondsLeft("2026-11-28T10:00:41.200Z", now)).toBe(42);
    expect(secondsLeft("2026-11-28T09:59:00Z", now)).toBe(0);
    expect(secondsLeft("soon", now)).toBeNull();
  });

  it("formats as m:ss and h:mm:ss", () => {
    expect(formatCountdown(0)).toBe("0:00");
    expect(formatCountdown(42)).toBe("0:42");
    expect(formatCountdown(125)).toBe("2:05");
    expect(formatCountdown(3725)).toBe("1:02:05");
    expect(formatDuration(null)).toBe("");
    expect(formatDuration(61)).toBe("1:01");
  });

  it("groups thousands the Czech way", () => {
    expect(formatCount(1234, "cs").replace(/\s/g, " ")).toBe("1 234");
    expect(formatCount(1234, "en")).toBe("1,234");
  });
});

describe("statistics", () => {
  const summary = (answered: number, lost: number): StatsSummary => ({
    offered: answered + lost,
    answered,
    lost,
    abandoned: lost,
    answeredInSl: answered,
    serviceLevel: answered + lost ? Math.round((1000 * answered) / (answered + lost)) / 10 : null,
    averageTalkSeconds: answered ? 120 : null,
  });
  const period = (name: "24h" | "7d", queues: { queueId: string; name: string; answered: number }[]) => ({
    period: name,
    from: "2026-11-27T06:00:00Z",
    to: "2026-11-28T06:10:00Z",
    all: summary(10, 2),
    myQueues: summary(6, 1),
    queues: queues.map(({ queueId, name: queueName, answered }) => ({ queueId, name: queueName, ...summary(answered, 0) })),
    mine: summary(3, 0),
  });

  it("lays the periods out as columns and overall, my queues, each queue and mine as rows", () => {
    const stats: DeskStats = {
      serviceLevelSeconds: 20,
      periods: [
        period("24h", [{ queueId: "a", name: "Klientská linka", answered: 4 }, { queueId: "b", name: "VIP linka", answered: 2 }]),
        period("7d", [{ queueId: "a", name: "Klientská linka", answered: 40 }]),
      ],
    };
    const table = statsTable(stats);
    expect(table.periods).toEqual(["24h", "7d"]);
    expect(table.rows.map((row) => [row.id, row.kind, row.name])).toEqual([
      ["all", "all", null],
      ["myQueues", "myQueues", null],
      ["queue-a", "queue", "Klientská linka"],
      ["queue-b", "queue", "VIP linka"],
      ["mine", "mine", null],
    ]);
    expect(table.rows[0]!.cells.map((cell) => cell.answered)).toEqual([10, 10]);
    expect(table.rows[2]!.cells.map((cell) => cell.answered)).toEqual([4, 40]);
    // A queue missing from a period counts zero there.
    expect(table.rows[3]!.cells[1]).toEqual({ offered: 0, answered: 0, lost: 0, abandoned: 0, answeredInSl: 0, serviceLevel: null, averageTalkSeconds: null });
    expect(table.rows[4]!.cells.map((cell) => cell.answered)).toEqual([3, 3]);
  });

  it("leaves out the queue rows when there is one queue (it would repeat my queues) or none", () => {
    const one = statsTable({ serviceLevelSeconds: 20, periods: [period("24h", [{ queueId: "a", name: "Klientská linka", answered: 6 }])] });
    expect(one.rows.map((row) => row.id)).toEqual(["all", "myQueues", "mine"]);
    expect(statsTable({ serviceLevelSeconds: 20, periods: [] })).toEqual({ periods: [], rows: [
      { id: "all", kind: "all", name: null, cells: [] },
      { id: "myQueues", kind: "myQueues", name: null, cells: [] },
      { id: "mine", kind: "mine", name: null, cells: [] },
    ] });
  });
});

describe("call buttons", () => {
  it("offers Přijmout on a ringing inbound call only", () => {
    expect(callButtons(call({ state: "ringing" }), [])).toEqual(["answer", "hangup"]);
    expect(callButtons(call({ state: "ringing", direction: "outbound" }), [])).toEqual(["hangup"]);
  });

  it("on the mobile, says where to answer instead of Přijmout and keeps the rest (DESK-2)", () => {
    const ringing = call({ state: "ringing" });
    expect(callButtons(ringing, [], true)).toEqual(["hangup"]);
    expect(callButtons(call({}), [], true)).toEqual(["hangup", "hold", "consult", "blind-transfer", "dtmf"]);
    expect(answerOnMobile(ringing, true)).toBe(true);
    expect(answerOnMobile(call({ state: "ringing", direction: "internal" }), true)).toBe(true);
    expect(answerOnMobile(ringing, false)).toBe(false);
    expect(answerOnMobile(call({ state: "ringing", direction: "outbound" }), true)).toBe(false);
    expect(answerOnMobile(call({}), true)).toBe(false);
  });

  it("offers hold, consult, blind transfer and tones on a connected call", () => {
    expect(callButtons(call({}), [])).toEqual(["hangup", "hold", "consult", "blind-transfer", "dtmf"]);
  });

  it("offers transfer and conference on a held call with a consultation beside it", () => {
    const held = call({ state: "held" });
    const consultation = call({ callKey: "relay-1/2", direction: "internal", remote: "2002" });
    expect(callButtons(held, [held])).toEqual(["hangup", "retrieve", "blind-transfer"]);
    expect(callButtons(held, [held, consultation])).toEqual(["hangup", "retrieve", "transfer", "conference"]);
    expect(consultationOf(held, [held, consultation])).toBe(consultation);
    expect(consultationOf(consultation, [held, consultation])).toBeNull();
  });

  it("picks the chosen call, else ringing before connected before held", () => {
    const held = call({ callKey: "r/1", state: "held" });
    const ringing = call({ callKey: "r/2", state: "ringing" });
    const connected = call({ callKey: "r/3" });
    expect(mainCall([held, connected, ringing], null)).toBe(ringing);
    expect(mainCall([held, connected], null)).toBe(connected);
    expect(mainCall([held, connected], "r/1")).toBe(held);
    expect(mainCall([held], "gone")).toBe(held);
    expect(mainCall([], null)).toBeNull();
    expect(splitCallKey("relay-1/42")).toEqual({ relayId: "relay-1", callId: "42" });
  });

  it("reads numbers to dial and DTMF digits", () => {
    expect(dialNumber("601 123 456")).toBe("+420601123456");
    expect(dialNumber("00420601123456")).toBe("+420601123456");
    expect(dialNumber("+420 601 123 456")).toBe("+420601123456");
    expect(dialNumber("2002")).toBe("2002");
    expect(dialNumber("abc")).toBeNull();
    expect(dtmfDigits("12 3#*")).toBe("123#*");
    expect(dtmfDigits("12x")).toBeNull();
  });
});

describe("phones (DESK-2)", () => {
  const mobile = { device: "2901", number: "+420601000001" };

  it("reads the phone in use, the desk phone and the mobile", () => {
    const onMobile = deskPhone({ device: "2901", phone: { using: "mobile", desk: "2001", mobile } });
    expect(onMobile).toEqual({ using: "mobile", desk: "2001", mobile });
    expect(phoneNumber(onMobile, "mobile")).toBe("+420 601 000 001");
    expect(phoneNumber(onMobile, "desk")).toBe("2001");
    expect(canSwitchPhone(onMobile)).toBe(true);
  });

  it("reads a desk without phones as at its desk phone, and a mobile in use without a mobile as the desk phone", () => {
    const old = deskPhone({ device: "2001" });
    expect(old).toEqual({ using: "desk", desk: "2001", mobile: null });
    expect(phoneNumber(old, "mobile")).toBeNull();
    expect(canSwitchPhone(old)).toBe(false);
    expect(deskPhone({ device: "2001", phone: { using: "mobile", desk: "2001", mobile: null } }).using).toBe("desk");
    const none = deskPhone({ device: "", phone: { using: "desk", desk: null, mobile } });
    expect(phoneNumber(none, "desk")).toBeNull();
    expect(canSwitchPhone(none)).toBe(false);
  });
});

describe("pushes", () => {
  const desk = { username: "agent01", calls: [] } as unknown as Desk;

  it("takes the desk a desk push carries, else asks for a re-read; ignores others' pushes", () => {
    const fresh = { ...desk, calls: [call({})] };
    expect(applyDeskPush(desk, { type: "desk", username: "agent01", desk: fresh }, "agent01")).toEqual({ desk: fresh, refetch: false });
    expect(applyDeskPush(desk, { type: "desk", username: "agent01", reason: "presence" }, "agent01")).toEqual({ desk, refetch: true });
    expect(applyDeskPush(desk, { type: "desk", username: "agent02" }, "agent01")).toEqual({ desk, refetch: false });
  });

  it("shows the calls a desk push carries at once and still reads the rest again", () => {
    const ringing = call({ state: "ringing" });
    expect(applyDeskPush(desk, { type: "desk", username: "agent01", reason: "calls", calls: [ringing] }, "agent01")).toEqual({ desk: { ...desk, calls: [ringing] }, refetch: true });
    // Before the first read there is no desk to put them in: the read brings them.
    expect(applyDeskPush(null, { type: "desk", username: "agent01", reason: "calls", calls: [ringing] }, "agent01")).toEqual({ desk: null, refetch: true });
  });

  it("keeps pushed calls over a read that was on its way when they came", () => {
    const shown = { ...desk, calls: [call({ state: "ringing" })] };
    const read = { ...desk, presence: { state: "busy" }, calls: [] } as unknown as Desk;
    expect(deskAfterRead(read, shown, true)).toEqual({ ...read, calls: shown.calls });
    expect(deskAfterRead(read, shown, false)).toBe(read);
    expect(deskAfterRead(read, null, true)).toBe(read);
  });

  it("updates one panel row on a presence push and keeps the object when nothing changes", () => {
    const before = directory();
    const after = applyPresencePush(before, { type: "presence", username: "agent02", presence: "busy" });
    expect(after).not.toBe(before);
    expect(after?.agents.find((agent) => agent.username === "agent02")?.presence).toBe("busy");
    expect(before.agents.find((agent) => agent.username === "agent02")?.presence).toBe("free");
    expect(applyPresencePush(before, { type: "presence", username: "agent02", presence: "free" })).toBe(before);
    expect(applyPresencePush(before, { type: "presence", username: "nobody", presence: "busy" })).toBe(before);
  });

  it("re-reads at once and folds a burst into one more read", async () => {
    let release: () => void = () => {};
    let runs = 0;
    const refetch = coalesce(() => {
      runs += 1;
      return new Promise<void>((resolve) => (release = resolve));
    });
    refetch.request();
    expect(runs).toBe(1);
    refetch.request();
    refetch.request();
    expect(runs).toBe(1);
    release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(runs).toBe(2);
    release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(runs).toBe(2);
  });

  it("debounces re-reads into one", () => {
    vi.useFakeTimers();
    const run = vi.fn();
    const refetch = debounce(run, 250);
    refetch.request();
    refetch.request();
    vi.advanceTimersByTime(200);
    refetch.request();
    vi.advanceTimersByTime(249);
    expect(run).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(run).toHaveBeenCalledTimes(1);
    refetch.request();
    refetch.cancel();
    vi.advanceTimersByTime(1000);
    expect(run).toHaveBeenCalledTimes(1);
    vi.useRealTimers();
  });
});

describe("transfer panel", () => {
  it("puts favourites first in their order, leaves me out, then agents before lines by name", () => {
    const ids = panelEntries(directory(), { me: "agent01", group: "", search: "" }).map((entry) => entry.id);
    expect(ids).toEqual(["line:ext", "agent03", "agent06", "agent02"]);
  });

  it("filters by group and by a search without diacritics", () => {
    expect(panelEntries(directory(), { me: "agent01", group: "AS", search: "" }).map((entry) => entry.id)).toEqual(["agent06"]);
    expect(panelEntries(directory(), { me: "agent01", group: "", search: "dvorak" }).map((entry) => entry.id)).toEqual(["agent03"]);
    expect(panelEntries(directory(), { me: "agent01", group: "", search: "2002" }).map((entry) => entry.id)).toEqual(["agent02"]);
  });

  it("toggles a favourite", () => {
    expect(toggleFavourite(["a"], "b")).toEqual(["a", "b"]);
    expect(toggleFavourite(["a", "b"], "a")).toEqual(["b"]);
  });
});

describe("clients and categories", () => {
  const fields = [
    { key: "lastName", label: { cs: "Příjmení", en: "Last name" }, type: "text" as const, required: true, editable: true, inCard: true, order: 2 },
    { key: "firstName", label: { cs: "Jméno", en: "First name" }, type: "text" as const, required: false, editable: true, inCard: true, order: 1 },
    { key: "insuranceNumber", label: { cs: "ČP", en: "Ins." }, type: "text" as const, required: false, editable: false, inCard: true, order: 3 },
    { key: "ico", label: { cs: "IČO", en: "ID" }, type: "text" as const, required: false, editable: true, inCard: false, order: 4 },
  ];

  it("names a client by first and last name, else company, else id", () => {
    expect(clientName({ clientId: "1", fields: { firstName: "Jan", lastName: "Dvořák" } })).toBe("Jan Dvořák");
    expect(clientName({ clientId: "1", fields: { company: "ACME s.r.o." } })).toBe("ACME s.r.o.");
    expect(clientName({ clientId: "1", fields: {} })).toBe("1");
  });

  it("splits card fields from the rest in order and finds changed editable ones", () => {
    const { card, more } = splitFields(fields);
    expect(card.map((field) => field.key)).toEqual(["firstName", "lastName", "insuranceNumber"]);
    expect(more.map((field) => field.key)).toEqual(["ico"]);
    expect(changedFields(fields, { lastName: "A", insuranceNumber: "1" }, { lastName: "B", insuranceNumber: "2", firstName: "" })).toEqual({ lastName: "B" });
    expect(missingRequired(fields, { lastName: "  " })).toEqual(["lastName"]);
  });

  it("lists active categories with their parent", () => {
    expect(
      categoryOptions([
        { categoryId: "dotaz", name: "Dotaz", parentId: null, active: true },
        { categoryId: "platby", name: "Platby", parentId: "dotaz", active: true },
        { categoryId: "stare", name: "Staré", parentId: null, active: false },
      ]),
    ).toEqual([
      { value: "dotaz", label: "Dotaz" },
      { value: "platby", label: "Dotaz › Platby" },
    ]);
  });

  it("turns history days into Prague day bounds", () => {
    expect(dayBound("2026-11-27", false, pragueLocalToIso)).toBe("2026-11-26T23:00:00.000Z");
    expect(dayBound("2026-11-27", true, pragueLocalToIso)).toBe("2026-11-27T23:00:00.000Z");
    expect(dayBound("27. 11.", false, pragueLocalToIso)).toBeUndefined();
  });
});

describe("contact records of conversations", () => {
  it("names a conversation's channel as the chats do, a call's none", () => {
    expect(["voice", "chat", "sms", "email", "social", "fax", ""].map((channel) => recordChannel(channel))).toEqual([null, "web", "sms", "email", "social", null, null]);
    expect(recordChannel(undefined)).toBeNull();
  });

  it("shows a number formatted, an address as it is, nothing for Messenger or no number", () => {
    expect(recordAddress({ channel: "voice", number: "+420601555777" })).toBe("+420 601 555 777");
    expect(recordAddress({ channel: "sms", number: "+420777888999" })).toBe("+420 777 888 999");
    expect(recordAddress({ channel: "email", number: "jan.dvorak@example.cz" })).toBe("jan.dvorak@example.cz");
    expect(recordAddress({ channel: "chat", number: "eva@example.cz" })).toBe("eva@example.cz");
    expect(recordAddress({ channel: "social", number: "psid-123" })).toBe("");
    expect(recordAddress({ channel: "chat", number: null })).toBe("");
    expect(recordAddress({ channel: "voice", number: "2001" })).toBe("2001");
  });
});

describe("push order", () => {
  const push = (device: string, version: number) => ({ type: "desk", username: "agent01", origin: { device, version } });

  it("drops a push not newer than one already applied from the same device", () => {
    const versions = new PushVersions();
    expect(versions.fresh(push("2001", 5))).toBe(true);
    expect(versions.fresh(push("2001", 4))).toBe(false);
    expect(versions.fresh(push("2001", 5))).toBe(false);
    expect(versions.fresh(push("2001", 6))).toBe(true);
    // another device (the mobile, DESK-2) counts on its own
    expect(versions.fresh(push("2901", 1))).toBe(true);
  });

  it("applies pushes without an origin, and everything again once forgotten", () => {
    const versions = new PushVersions();
    expect(versions.fresh({ type: "desk", username: "agent01", reason: "queues" })).toBe(true);
    expect(versions.fresh(push("2001", 9))).toBe(true);
    versions.forget();
    expect(versions.fresh(push("2001", 1))).toBe(true);
  });
});

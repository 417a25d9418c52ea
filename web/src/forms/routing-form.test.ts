import { describe, expect, it } from "vitest";
import type { InboundPlan, PbxDevices, QueueRouting } from "../api/routing";
import { arrayPaths, devicesToForm, formToDevices, formToPlan, move, newRuleForm, planToForm, splitList } from "./plan-form";
import { checkQueueRoutingForm, formToQueueRouting, newQueueRoutingForm, queueRoutingToForm } from "./routing-form";

describe("queue routing form ↔ JSON", () => {
  it("round-trips full settings", () => {
    const routing = {
      wrapUpSeconds: 30,
      maxWaitSeconds: 600,
      maxWaitingCalls: 20,
      whenNobodyLoggedIn: { action: "announce", announcementId: "no-agents", then: "overflow" },
      closedAnnouncement: "closed-kkc",
      lastAgent: { holdSeconds: 20, maxAgeHours: 48 },
    } as const;
    expect(formToQueueRouting(queueRoutingToForm(routing as QueueRouting))).toEqual(routing);
  });

  it("reads the defaults the server answers for a queue without settings, and leaves out what is empty", () => {
    const defaults = { queueId: "kkc", wrapUpSeconds: 0, whenNobodyLoggedIn: { action: "announce", announcementId: "no-agents", then: "overflow" } } as QueueRouting;
    const form = queueRoutingToForm(defaults);
    expect(form).toMatchObject({ wrapUpSeconds: "0", maxWaitSeconds: "", lastAgent: false, nobodyAction: "announce" });
    expect(formToQueueRouting(form)).toEqual({ wrapUpSeconds: 0, whenNobodyLoggedIn: { action: "announce", announcementId: "no-agents", then: "overflow" } });
  });

  it("writes wait/overflow without an announcement", () => {
    const form = newQueueRoutingForm();
    form.nobodyAction = "wait";
    expect(formToQueueRouting(form)["whenNobodyLoggedIn"]).toEqual({ action: "wait" });
    expect(queueRoutingToForm({ wrapUpSeconds: 5, whenNobodyLoggedIn: { action: "overflow" } }).nobodyAction).toBe("overflow");
  });

  it("checks numbers and required fields with the server's paths", () => {
    const form = newQueueRoutingForm();
    form.wrapUpSeconds = "";
    form.maxWaitSeconds = "deset";
    form.announcementId = " ";
    form.lastAgent = true;
    form.holdSeconds = "";
    expect(checkQueueRoutingForm(form).map((e) => e.field)).toEqual(["wrapUpSeconds", "maxWaitSeconds", "whenNobodyLoggedIn.announcementId", "lastAgent.holdSeconds"]);
  });
});

const PLAN = {
  rules: [
    {
      ruleId: "vip",
      when: { dialled: ["5000"], callers: [], clientStatuses: ["VIP"], attributes: {} },
      entry: { kind: "queue", queueId: "kkc-vip" },
      priorityBoost: 2,
    },
    {
      ruleId: "asistence",
      when: { dialled: ["5001"], callers: ["+420585*", "+420601123456"], clientStatuses: [], ivrChoices: ["3"], attributes: { problem: "asistence" } },
      entry: { kind: "ivr", ivrId: "hlavni-linka", node: "hlavni-menu" },
      priorityBoost: 0,
    },
    {
      ruleId: "noc",
      when: { dialled: [], callers: [], clientStatuses: [], ivrChoices: [], attributes: {}, during: { timezone: "Europe/Prague", weekly: {} } },
      entry: { kind: "destination", target: { kind: "external", number: "+420601123456" } },
      priorityBoost: 0,
    },
  ],
  defaultEntry: { kind: "ivr", ivrId: "hlavni-linka" },
  clientPriority: [{ status: "VIP", boost: 5 }],
  recording: { record: true, ownNumbers: ["+420585*"], recordOwnNumbers: false },
} as const;

describe("routing plan form ↔ JSON", () => {
  it("round-trips rules with every kind of entry, conditions, the default entry, priorities and recording", () => {
    expect(formToPlan(planToForm(PLAN as unknown as InboundPlan))).toEqual(PLAN);
  });

  it("keeps an empty IVR path (not yet in an IVR) apart from no IVR condition", () => {
    const form = planToForm(PLAN as unknown as InboundPlan);
    expect(form.rules[0]?.useIvrChoices).toBe(false);
    expect(form.rules[2]?.useIvrChoices).toBe(true);
    expect(form.rules[2]?.ivrChoices).toBe("");
  });

  it("reads an empty plan and writes one without a default entry", () => {
    const form = planToForm({} as InboundPlan);
    expect(form.record).toBe(true);
    expect(formToPlan(form)).toEqual({ rules: [], clientPriority: [], recording: { record: true, ownNumbers: [], recordOwnNumbers: false } });
  });

  it("adds a rule with a queue entry, and reorders rules", () => {
    const form = planToForm(PLAN as unknown as InboundPlan);
    const rule = newRuleForm("novy");
    rule.dialled = "5002,\n 5003";
    rule.entry.queueId = "ext";
    form.rules.push(rule);
    expect(move(form.rules, 3, -1)).toBe(true);
    expect(move(form.rules, 0, -1)).toBe(false);
    const plan = formToPlan(form) as unknown as InboundPlan;
    expect(plan.rules.map((r) => r.ruleId)).toEqual(["vip", "asistence", "novy", "noc"]);
    expect(plan.rules[2]).toEqual({
      ruleId: "novy",
      when: { dialled: ["5002", "5003"], callers: [], clientStatuses: [], attributes: {} },
      entry: { kind: "queue", queueId: "ext" },
      priorityBoost: 0,
    });
  });

  it("splits typed lists on commas, semicolons and lines", () => {
    expect(splitList(" 5000, 5001;5002\n\n ")).toEqual(["5000", "5001", "5002"]);
  });

  it("points serde-style array paths at the form rows", () => {
    expect(
      arrayPaths(
        [
          { field: "rules.2.entry.queueId", message: "x" },
          { field: "/clientPriority/0/boost", message: "x" },
          { field: "rules[1].ruleId", message: "x" },
          { field: "recording.ownNumbers", message: "x" },
        ],
        ["rules", "clientPriority"],
      ).map((e) => e.field),
    ).toEqual(["rules[2].entry.queueId", "clientPriority[0].boost", "rules[1].ruleId", "recording.ownNumbers"]);
  });
});

describe("PBX devices form ↔ JSON", () => {
  it("round-trips the device maps and the default announcement", () => {
    const devices: PbxDevices = { queues: { "kkc-obecne": "5100", "as-asistence": "5101" }, ivrs: { "hlavni-linka": "5000" }, announcements: { closed: "5900" }, defaultAnnouncement: "5999" };
    expect(formToDevices(devicesToForm(devices))).toEqual(devices);
    const empty = devicesToForm({ queues: {}, ivrs: {}, announcements: {} });
    expect(formToDevices(empty)).toEqual({ queues: {}, ivrs: {}, announcements: {} });
  });
});

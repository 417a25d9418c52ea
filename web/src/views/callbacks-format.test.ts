import { describe, expect, it } from "vitest";
import { translate } from "../i18n";
import { cs as csMessages } from "../i18n/cs";
import { en as enMessages } from "../i18n/en";
import {
  attemptOutcomeLabel,
  attributesLabel,
  callbackProblemKey,
  callbackProblemText,
  callbackSourceLabel,
  callbackStatusLabel,
  callbackWhenLabel,
  displayPhone,
  formatDuration,
  queueIdsOf,
  slotLabel,
  voicemailStatusLabel,
} from "./callbacks-format";

const cs = (key: Parameters<typeof translate>[1], params?: Parameters<typeof translate>[2]) => translate("cs", key, params);
const en = (key: Parameters<typeof translate>[1], params?: Parameters<typeof translate>[2]) => translate("en", key, params);

describe("displayPhone", () => {
  it.each([
    ["+420601123456", "+420 601 123 456"],
    ["601123456", "+420 601 123 456"],
    ["601 123 456", "+420 601 123 456"],
    ["00420601123456", "+420 601 123 456"],
    ["420601123456", "+420 601 123 456"],
    ["+420 601-123-456", "+420 601 123 456"],
  ])("formats the Czech number %s", (input, expected) => {
    expect(displayPhone(input)).toBe(expected);
  });

  it("leaves foreign and short numbers as they are", () => {
    expect(displayPhone("+4930123456")).toBe("+4930123456");
    expect(displayPhone(" 2001 ")).toBe("2001");
    expect(displayPhone(undefined)).toBe("");
  });
});

describe("status and source labels", () => {
  it.each([
    ["pending", undefined, "čeká"],
    ["scheduled", undefined, "naplánováno"],
    ["inProgress", "agent01", "volá se — agent01"],
    ["done", "agent01", "vyřízeno"],
    ["failed", undefined, "nezdařilo se"],
    ["cancelled", undefined, "zrušeno"],
  ])("callback status %s (agent %s) is %s", (status, agent, label) => {
    expect(callbackStatusLabel(status, agent, cs)).toBe(label);
  });

  it("shows an unknown status as it is and has English labels", () => {
    expect(callbackStatusLabel("weird", undefined, cs)).toBe("weird");
    expect(callbackStatusLabel("inProgress", "agent02", en)).toBe("being called — agent02");
  });

  it("names the sources and the attempt outcomes", () => {
    expect(callbackSourceLabel("ivr", cs)).toBe("IVR");
    expect(callbackSourceLabel("agent", cs)).toBe("operátor");
    expect(callbackSourceLabel("missedCall", cs)).toBe("zmeškaný hovor");
    expect(callbackSourceLabel("other", cs)).toBe("other");
    expect(attemptOutcomeLabel("noAnswer", cs)).toBe("nedovoláno");
    expect(attemptOutcomeLabel("wrongNumber", cs)).toBe("špatné číslo");
    expect(attemptOutcomeLabel("busy", en)).toBe("busy");
  });

  it("labels voicemail states and IVR attributes", () => {
    expect(voicemailStatusLabel("new", undefined, cs)).toBe("nový");
    expect(voicemailStatusLabel("assigned", "agent01", cs)).toBe("přiřazen — agent01");
    expect(voicemailStatusLabel("done", "agent01", cs)).toBe("vyřízen");
    expect(attributesLabel({ problem: "platby", insuranceNumber: "8001011234", lang: "cs" }, cs)).toBe(
      "Problém: platby; Číslo pojištěnce: 8001011234; lang: cs",
    );
    expect(attributesLabel(undefined, cs)).toBe("");
  });
});

describe("durations and times", () => {
  it.each([
    [0, "0:00"],
    [999, "0:01"],
    [65_400, "1:05"],
    [600_000, "10:00"],
    [-5, "0:00"],
  ])("%i ms is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("shows a time window in Europe/Prague, the day once", () => {
    expect(slotLabel({ start: "2026-11-27T08:00:00Z", end: "2026-11-27T08:30:00Z" })).toBe("27. 11. 2026 9:00–9:30");
    expect(slotLabel({ start: "2026-11-27T22:30:00Z", end: "2026-11-27T23:30:00Z" })).toBe("27. 11. 2026 23:30 – 28. 11. 2026 0:30");
  });

  it("shows the requested window, else when the callback is due", () => {
    expect(callbackWhenLabel({ dueAt: "2026-07-01T12:05:00Z" })).toBe("1. 7. 2026 14:05");
    expect(callbackWhenLabel({ dueAt: "2026-07-01T12:05:00Z", requestedSlot: { start: "2026-07-02T06:00:00Z", end: "2026-07-02T06:15:00Z" } })).toBe(
      "2. 7. 2026 8:00–8:15",
    );
  });
});

describe("problems of the callback and voicemail APIs", () => {
  const codes = [
    "callback-claimed",
    "callback-closed",
    "callback-not-due",
    "callback-not-claimed",
    "agent-has-claim",
    "callback-changed",
    "no-device",
    "voicemail-assigned",
    "voicemail-done",
    "voicemail-not-assigned",
    "voicemail-changed",
    "assign-not-allowed",
  ];

  it.each(codes)("has a Czech and an English sentence for %s", (code) => {
    const key = callbackProblemKey(code);
    expect(key).not.toBeNull();
    expect(csMessages).toHaveProperty(key!);
    expect(enMessages).toHaveProperty(key!);
    const text = callbackProblemText({ status: 409, code, detail: "server words" }, cs);
    expect(text).not.toBe("server words");
    expect(text).toMatch(/\.$/);
  });

  it("words the claimed and no-device codes clearly", () => {
    expect(callbackProblemText({ status: 409, code: "callback-claimed" }, cs)).toBe("Toto zpětné volání už vyřizuje jiný operátor.");
    expect(callbackProblemText({ status: 409, code: "no-device" }, cs)).toMatch(/nejste přihlášeni na žádném telefonu/);
  });

  it("falls back to the server's detail for an unknown 409 code", () => {
    expect(callbackProblemText({ status: 409, code: "something-new", detail: "Something new happened." }, cs)).toBe("Something new happened.");
  });

  it("uses the app's general message otherwise", () => {
    expect(callbackProblemText({ status: 403, code: "forbidden" }, cs)).toBe("K této akci nemáte oprávnění.");
    expect(callbackProblemText({ status: 0, code: "network" }, cs)).toBe(translate("cs", "error.network"));
    expect(callbackProblemText({ status: 409 }, cs)).toBe(translate("cs", "error.conflict"));
  });
});

describe("queue filter", () => {
  it("lists each queue of the list once, sorted, keeping those seen before", () => {
    expect(queueIdsOf([{ queueId: "kkc" }, { queueId: "as" }, { queueId: "kkc" }], ["ext", ""])).toEqual(["as", "ext", "kkc"]);
    expect(queueIdsOf([])).toEqual([]);
  });
});

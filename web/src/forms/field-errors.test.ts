import { describe, expect, it } from "vitest";
import { toProblem } from "../api/problem";
import { translate } from "../i18n";
// The IVR messages come with the routing pages' texts.
import "../i18n/routing";
import { ancestors, assignFieldErrors, fieldErrorMessage, normalizeField } from "./field-errors";

const cs = (error: { field: string; message: string }) => {
  const { key, params } = fieldErrorMessage(error);
  return translate("cs", key, params);
};

describe("problem → field errors", () => {
  it("normalises JSON pointers and `$.` paths to dotted paths with [index]", () => {
    expect(normalizeField("/schedule/weekly/monday/0/start")).toBe("schedule.weekly.monday[0].start");
    expect(normalizeField("$.overflow.number")).toBe("overflow.number");
    expect(normalizeField("schedule.exceptions[2].intervals[0].end")).toBe("schedule.exceptions[2].intervals[0].end");
  });

  it("lists the ancestors of a path, nearest first", () => {
    expect(ancestors("schedule.weekly.monday[1].end")).toEqual(["schedule.weekly.monday[1]", "schedule.weekly.monday", "schedule.weekly", "schedule"]);
    expect(ancestors("name")).toEqual([]);
  });

  it("puts each error on its field, or the nearest shown ancestor, else in the rest", () => {
    const problem = toProblem(422, {
      code: "validation-failed",
      errors: [
        { field: "overflow.number", message: "must be an E.164 number such as +420601123456" },
        { field: "schedule.weekly.monday[1]", message: "overlaps schedule.weekly.monday[0]" },
        { field: "schedule.weekly.monday[1].end", message: "must be after start" },
        { field: "/schedule/weekly/tuesday/0/start", message: "must be whole minutes (HH:MM)" },
        { field: "roles[3]", message: "unknown role" },
        { field: "mystery", message: "is not a known field" },
      ],
    });
    const known = [
      "overflow.number",
      "schedule.weekly.monday[1]",
      "schedule.weekly.monday[1].end",
      "schedule.weekly.tuesday[0].start",
      "roles",
    ];
    const { byField, rest } = assignFieldErrors(problem.errors ?? [], known);
    expect(byField.get("overflow.number")?.map((e) => e.message)).toEqual(["must be an E.164 number such as +420601123456"]);
    expect(byField.get("schedule.weekly.monday[1]")?.length).toBe(1);
    expect(byField.get("schedule.weekly.monday[1].end")?.length).toBe(1);
    expect(byField.get("schedule.weekly.tuesday[0].start")?.[0]?.field).toBe("schedule.weekly.tuesday[0].start");
    expect(byField.get("roles")?.[0]?.field).toBe("roles[3]");
    expect(rest).toEqual([{ field: "mystery", message: "is not a known field" }]);
  });

  it.each([
    ["overflow.number", "must be an E.164 number such as +420601123456", "Zadejte telefonní číslo v mezinárodním tvaru, např. +420601123456."],
    ["schedule.weekly.monday[0].start", "must be whole minutes (HH:MM)", "Zadejte čas ve tvaru HH:MM."],
    ["schedule.weekly.monday[0].end", "must be after start", "Konec musí být později než začátek."],
    ["schedule.weekly.monday[1]", "overlaps schedule.weekly.monday[0]", "Interval se překrývá s jiným intervalem téhož dne."],
    ["schedule.weekly.monday", "at most 4 intervals per day", "Na jeden den lze zadat nejvýše 4 intervaly."],
    ["schedule.exceptions[1].date", "duplicate date", "Tato hodnota je zadána vícekrát."],
    ["overflow.extension", "must be 1 to 8 digits", "Zadejte 1 až 8 číslic."],
    // The agent's mobile (shared/src/users.rs, DESK-2).
    ["mobile.number", "must be a Czech mobile number, e.g. +420601123456", "Zadejte české číslo mobilu, např. 601 123 456 nebo +420601123456."],
    ["mobile.device", "must be the PBX mobile extension: a string of 3 to 6 digits", "Zadejte 3 až 6 číslic."],
    ["mobile.device", "must differ from agentNumber (the desk phone)", "Mobilní pobočka se musí lišit od klapky operátora (pevné linky)."],
    ["mobile.number", "give both the mobile device and number, or neither", "Vyplňte mobilní pobočku i číslo mobilu, nebo obě pole nechte prázdná."],
    ["overflow.queueId", "required", "Vyplňte tento údaj."],
    ["displayName", "is required", "Vyplňte tento údaj."],
    ["displayName", "must be a string of 1 to 100 characters", "Zadejte 1 až 100 znaků."],
    ["agentNumber", "must be a string of 3 to 6 digits", "Zadejte 3 až 6 číslic."],
    ["email", "must be an e-mail address", "Zadejte platnou e-mailovou adresu."],
    ["priority", "must be an integer from 1 to 10", "Zadejte celé číslo od 1 do 10."],
    ["username", "must be an existing user", "Takový uživatel neexistuje."],
    ["username", "must match ^[a-z0-9][a-z0-9._-]{1,63}$", "Hodnota nemá správný tvar."],
    ["urlTemplate", "must be https", "Zadejte adresu začínající https:// a obsahující {clientId}."],
    ["from", "must be an RFC 3339 date-time", "Zadejte datum a čas."],
    ["to", "must be at most 31 days after from", "Rozsah může být nejvýše 31 dní."],
    ["active", "must be true or false", "Zvolte ano, nebo ne."],
    ["queueId", "must be 1 to 40 lowercase letters, digits or '-', starting with a letter or digit", "Použijte 1 až 40 malých písmen bez diakritiky, číslic nebo pomlček."],
    ["priority", "must be between 1 and 10", "Zadejte celé číslo od 1 do 10."],
    ["username", "is not a user", "Takový uživatel neexistuje."],
    ["group", "must be a group code such as KKC, AS or EXT", "Zadejte kód skupiny, např. KKC, AS nebo EXT."],
    ["name", "must be at most 100 characters", "Zadejte nejvýše 100 znaků."],
    ["name", "missing field `name`", "Vyplňte tento údaj."],
    ["overflow.queueId", "must be another queue than this one", "Přepad nemůže vést do téže fronty."],
    ["overflow.queueId", "does not exist", "Taková položka neexistuje."],
    ["nodes.hlavni-menu.options.7", "refers to node `neexistuje`, which does not exist", "Uzel „neexistuje“ neexistuje."],
    ["nodes.x", "is not reachable from entryNode", "K uzlu nevede cesta od úvodního uzlu."],
    ["nodes.x", "is in (or leads only into) a loop without exit: no path reaches a transfer, voicemail, callback or hangup", "Z uzlu nevede cesta k přepojení, hlasové schránce, zpětnému volání ani zavěšení."],
    ["nodes.m.options.x", "must be one key: 0 to 9, * or #", "Zadejte jednu klávesu: 0 až 9, * nebo #."],
    ["nodes.c.maxDigits", "must be between minDigits and 32", "Zadejte číslo od nejmenšího počtu číslic do 32."],
    ["nodes.c.minDigits", "must be at most 9 for this validation", "Pro zvolenou kontrolu nejvýše 9."],
    ["nodes.c.timeoutSeconds", "must be between 1 and 60", "Zadejte celé číslo od 1 do 60."],
    ["nodes.t.number", "must be an extension (1 to 8 digits) or an E.164 number such as +420601123456", "Zadejte klapku (1 až 8 číslic) nebo číslo v mezinárodním tvaru, např. +420601123456."],
    ["nodes.s.name", "must be an attribute name such as problem or campaign", "Zadejte název atributu: malé písmeno a dál písmena nebo číslice (např. problem)."],
    ["queues.kkc", "must be a PBX device: 1 to 20 digits, '*', '#' or '+'", "Zadejte zařízení ústředny: 1 až 20 číslic, *, # nebo +."],
    ["rules[0].when.callers[1]", "must be a number of 1 to 20 digits, optionally starting with '+' and ending in '*' (a prefix)", "Zadejte číslo o 1 až 20 číslicích (může začínat +); * na konci znamená „začíná na“."],
    ["rules[1].ruleId", "must be unique within the plan", "Tato hodnota je zadána vícekrát."],
    ["subject", "has an unknown placeholder {{name}}; allowed: {{jmeno}}, {{agent}}, {{datum}}", "Neznámá proměnná {{name}}. Povolené jsou {{jmeno}}, {{agent}} a {{datum}}."],
    ["body", "has a '{{' without '}}'", "Proměnná není uzavřena: ke každému {{ patří }}."],
    ["smsQueueId", "there is no queue email-sms", "Taková fronta neexistuje."],
    ["chatsPerAgent", "must be between 1 and 10", "Zadejte celé číslo od 1 do 10."],
    ["x", "something nobody expected", "Neplatná hodnota."],
  ])("shows %s: %s in Czech", (field, message, czech) => {
    expect(cs({ field, message })).toBe(czech);
  });

  it("has an English text for the same errors", () => {
    const { key, params } = fieldErrorMessage({ field: "overflow.number", message: "must be an E.164 number such as +420601123456" });
    expect(translate("en", key, params)).toBe("Enter a phone number in international form, e.g. +420601123456.");
  });
});

import { describe, expect, it } from "vitest";
import { czechDay, fillMailTemplate, fillTemplate, offeredTemplates, type MailTemplate } from "./mail-template-fill";

const values = { customerName: null, agentName: "Petra Nováková", date: "28. 11. 2026" };

describe("fillTemplate", () => {
  it("replaces every placeholder and tidies a missing name, as the server's reference does", () => {
    expect(fillTemplate("Dobrý den {{jmeno}}, dne {{datum}} — {{agent}}", values)).toBe("Dobrý den, dne 28. 11. 2026 — Petra Nováková");
    expect(fillTemplate("Dobrý den {{jmeno}},", { ...values, customerName: "Jano" })).toBe("Dobrý den Jano,");
  });

  it("fills a placeholder used more than once and keeps the line breaks", () => {
    expect(fillTemplate("{{agent}}\n\n{{agent}} ({{datum}})", values)).toBe("Petra Nováková\n\nPetra Nováková (28. 11. 2026)");
  });

  it("takes an empty or blank name as unknown", () => {
    expect(fillTemplate("Dobrý den {{jmeno}},", { ...values, customerName: "  " })).toBe("Dobrý den,");
    expect(fillTemplate("Dobrý den {{jmeno}},", { ...values, customerName: "" })).toBe("Dobrý den,");
  });

  it("leaves text without placeholders alone, except a space before a comma", () => {
    expect(fillTemplate("Děkujeme za dotaz.", values)).toBe("Děkujeme za dotaz.");
    expect(fillTemplate("Ano , jistě", values)).toBe("Ano, jistě");
  });
});

describe("fillMailTemplate", () => {
  it("fills the subject and the body", () => {
    const template = { subject: "Změna adresy ze dne {{datum}}", body: "Dobrý den {{jmeno}},\n\nadresu jsme změnili.\n\n{{agent}}" };
    expect(fillMailTemplate(template, { ...values, customerName: "Jan Dvořák" })).toEqual({
      subject: "Změna adresy ze dne 28. 11. 2026",
      text: "Dobrý den Jan Dvořák,\n\nadresu jsme změnili.\n\nPetra Nováková",
    });
  });
});

describe("czechDay", () => {
  it("writes the day without leading zeros, as it is in Prague", () => {
    expect(czechDay(new Date("2026-11-28T10:00:00Z"))).toBe("28. 11. 2026");
    expect(czechDay(new Date("2026-03-05T10:00:00Z"))).toBe("5. 3. 2026");
    // 23:30 UTC on 31 December is already 1 January in Prague.
    expect(czechDay(new Date("2026-12-31T23:30:00Z"))).toBe("1. 1. 2027");
    expect(czechDay(new Date("2026-12-31T23:30:00Z"), "UTC")).toBe("31. 12. 2026");
  });
});

describe("offeredTemplates", () => {
  it("offers the active templates by name, each once", () => {
    const list: MailTemplate[] = [
      { templateId: "b", name: "Žádost", subject: "s", body: "b" },
      { templateId: "a", name: "Čekání", subject: "s", body: "b", active: true },
      { templateId: "c", name: "Adresa", subject: "s", body: "b", active: false },
      { templateId: "d", name: "Cena", subject: "s", body: "b" },
      { templateId: "d", name: "Cena", subject: "s", body: "b" },
    ];
    expect(offeredTemplates(list).map((template) => template.templateId)).toEqual(["d", "a", "b"]);
  });
});

import { describe, expect, it } from "vitest";
import { pragueLocalToIso, toPragueLocalInput } from "./date";
import { formatPhone } from "./phone";

describe("formatPhone", () => {
  it("groups a Czech number in threes and leaves others as they are", () => {
    expect(formatPhone("+420601123456")).toBe("+420 601 123 456");
    expect(formatPhone("+4930123456")).toBe("+4930123456");
    expect(formatPhone("2001")).toBe("2001");
  });
});

describe("Prague wall clock ↔ instant (datetime-local)", () => {
  it("converts in winter (CET) and summer (CEST)", () => {
    expect(pragueLocalToIso("2026-11-27T14:05")).toBe("2026-11-27T13:05:00.000Z");
    expect(pragueLocalToIso("2026-07-01T00:30")).toBe("2026-06-30T22:30:00.000Z");
    expect(toPragueLocalInput(Date.parse("2026-11-27T13:05:00Z"))).toBe("2026-11-27T14:05");
    expect(toPragueLocalInput(Date.parse("2026-06-30T22:30:00Z"))).toBe("2026-07-01T00:30");
  });

  it("refuses what it cannot read", () => {
    expect(pragueLocalToIso("27. 11. 2026")).toBeNull();
  });
});

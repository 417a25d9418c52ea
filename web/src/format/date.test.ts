import { describe, expect, it } from "vitest";
import { formatDateTime } from "./date";

describe("formatDateTime (d. M. yyyy H:mm, Europe/Prague)", () => {
  it("shows a winter instant in CET (UTC+1)", () => {
    expect(formatDateTime("2026-11-27T13:05:00Z")).toBe("27. 11. 2026 14:05");
  });

  it("shows a summer instant in CEST (UTC+2)", () => {
    expect(formatDateTime("2026-07-06T06:30:00Z")).toBe("6. 7. 2026 8:30");
  });

  it("writes single-digit days, months and hours without a leading zero, minutes with one", () => {
    expect(formatDateTime(new Date("2026-01-01T23:07:00Z"))).toBe("2. 1. 2026 0:07");
  });

  it("follows the switch to summer time on the last Sunday of March", () => {
    expect(formatDateTime("2026-03-29T00:59:00Z")).toBe("29. 3. 2026 1:59");
    expect(formatDateTime("2026-03-29T01:00:00Z")).toBe("29. 3. 2026 3:00");
  });

  it("accepts epoch milliseconds", () => {
    expect(formatDateTime(Date.UTC(2026, 4, 8, 10, 0))).toBe("8. 5. 2026 12:00");
  });

  it("returns null for something that is not a date", () => {
    expect(formatDateTime("not a date")).toBeNull();
  });
});

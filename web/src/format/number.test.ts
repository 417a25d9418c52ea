import { describe, expect, it } from "vitest";
import { formatPercent, formatSize } from "./number";

describe("formatPercent", () => {
  it("shows at most one decimal, the Czech way with a comma and a no-break space", () => {
    expect(formatPercent(85.7, "cs")).toBe("85,7\u00a0%");
    expect(formatPercent(100, "cs")).toBe("100\u00a0%");
    expect(formatPercent(0, "cs")).toBe("0\u00a0%");
    expect(formatPercent(33.35, "cs")).toMatch(/^33,[34]\u00a0%$/);
    expect(formatPercent(85.7, "en")).toBe("85.7%");
  });

  it("shows a dash when there is no value", () => {
    expect(formatPercent(null, "cs")).toBe("—");
    expect(formatPercent(undefined, "en")).toBe("—");
    expect(formatPercent(Number.NaN, "cs")).toBe("—");
  });
});

describe("formatSize", () => {
  it("shows bytes, kB, MB in decimal units with at most one decimal, the Czech way", () => {
    expect(formatSize(0, "cs")).toBe("0\u00a0B");
    expect(formatSize(999, "cs")).toBe("999\u00a0B");
    expect(formatSize(12_500, "cs")).toBe("12,5\u00a0kB");
    expect(formatSize(12_549, "cs")).toBe("12,5\u00a0kB");
    expect(formatSize(1_000, "cs")).toBe("1\u00a0kB");
    expect(formatSize(999_960, "cs")).toBe("1\u00a0MB");
    expect(formatSize(2_400_000, "cs")).toBe("2,4\u00a0MB");
    expect(formatSize(3_000_000_000, "cs")).toBe("3\u00a0GB");
    expect(formatSize(12_500, "en")).toBe("12.5\u00a0kB");
    expect(formatSize(Number.NaN, "cs")).toBe("—");
  });
});

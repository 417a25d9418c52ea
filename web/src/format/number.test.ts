import { describe, expect, it } from "vitest";
import { formatPercent } from "./number";

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

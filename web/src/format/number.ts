// Numbers in the UI. Czech: a decimal comma and a no-break space before the per cent sign
// (`85,7 %`); English: `85.7%`.

/** A per cent (0–100) with at most one decimal; a dash when unknown (e.g. nothing to count). */
export function formatPercent(value: number | null | undefined, locale: "cs" | "en"): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  const number = new Intl.NumberFormat(locale === "cs" ? "cs-CZ" : "en-GB", { maximumFractionDigits: 1 }).format(value);
  return locale === "cs" ? `${number}\u00a0%` : `${number}%`;
}

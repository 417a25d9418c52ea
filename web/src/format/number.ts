// Numbers in the UI. Czech: a decimal comma and a no-break space before the per cent sign
// (`85,7 %`); English: `85.7%`.

/** A per cent (0–100) with at most one decimal; a dash when unknown (e.g. nothing to count). */
export function formatPercent(value: number | null | undefined, locale: "cs" | "en"): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  const number = new Intl.NumberFormat(locale === "cs" ? "cs-CZ" : "en-GB", { maximumFractionDigits: 1 }).format(value);
  return locale === "cs" ? `${number}\u00a0%` : `${number}%`;
}

/**
 * A file size in decimal units (1 kB = 1000 B) with at most one decimal: `12,5 kB` in Czech
 * (no-break space before the unit), `12.5 kB` in English; bytes as a whole number.
 */
export function formatSize(bytes: number, locale: "cs" | "en"): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  const units = ["B", "kB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  // 999 950 B is 1 MB, not "1000 kB".
  if (unit > 0 && unit < units.length - 1 && Math.round(value * 10) / 10 >= 1000) {
    value /= 1000;
    unit += 1;
  }
  const number = new Intl.NumberFormat(locale === "cs" ? "cs-CZ" : "en-GB", { maximumFractionDigits: unit === 0 ? 0 : 1 }).format(value);
  return `${number}\u00a0${units[unit]}`;
}

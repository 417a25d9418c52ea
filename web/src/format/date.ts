// Dates in the UI follow the Czech convention `d. M. yyyy H:mm` (27. 11. 2026 14:05)
// in Europe/Prague, whatever the browser's own time zone or language is.

export const APP_TIME_ZONE = "Europe/Prague";

const dateTimeFormat = new Intl.DateTimeFormat("cs-CZ", {
  timeZone: APP_TIME_ZONE,
  day: "numeric",
  month: "numeric",
  year: "numeric",
  hour: "numeric",
  minute: "2-digit",
  hourCycle: "h23",
});

/**
 * Formats an instant as `d. M. yyyy H:mm` in Europe/Prague. The string is assembled from
 * `formatToParts`, so ICU versions that put a comma or a narrow space between the parts do
 * not change it. Returns null for an unparsable input.
 */
export function formatDateTime(value: Date | string | number): string | null {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) {
    return null;
  }
  const parts: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const part of dateTimeFormat.formatToParts(date)) {
    parts[part.type] = part.value;
  }
  const { day, month, year, hour, minute } = parts;
  if (!day || !month || !year || hour === undefined || minute === undefined) {
    return null;
  }
  return `${Number(day)}. ${Number(month)}. ${year} ${Number(hour)}:${minute}`;
}

const partsFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: APP_TIME_ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

function pragueParts(date: Date): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of partsFormat.formatToParts(date)) {
    if (part.type !== "literal") out[part.type] = Number(part.value);
  }
  return out;
}

/** `yyyy-MM-ddTHH:mm` (an `<input type="datetime-local">` value) of an instant in Europe/Prague. */
export function toPragueLocalInput(value: Date | number): string {
  const p = pragueParts(value instanceof Date ? value : new Date(value));
  const two = (n: number | undefined) => String(n ?? 0).padStart(2, "0");
  return `${p["year"]}-${two(p["month"])}-${two(p["day"])}T${two(p["hour"])}:${two(p["minute"])}`;
}

/**
 * The instant (RFC 3339, UTC) of a Europe/Prague wall-clock `yyyy-MM-ddTHH:mm[:ss]`, whatever
 * the browser's time zone. Null when it cannot be read.
 */
export function pragueLocalToIso(local: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local.trim());
  if (!match) {
    return null;
  }
  const [, y, mo, d, hh, mm, ss] = match.map(Number) as number[];
  const wall = Date.UTC(y!, mo! - 1, d!, hh!, mm!, Number.isNaN(ss) ? 0 : (ss ?? 0));
  // Two rounds find the offset also next to a daylight-saving change.
  let guess = wall;
  for (let i = 0; i < 2; i++) {
    const p = pragueParts(new Date(guess));
    const seen = Date.UTC(p["year"]!, p["month"]! - 1, p["day"]!, p["hour"]!, p["minute"]!, p["second"]!);
    guess += wall - seen;
  }
  return new Date(guess).toISOString();
}

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

// How long an SMS is and into how many parts it is split (pure; the desk's SMS counter).
//
// A text made only of GSM 03.38 characters goes as GSM-7: 160 septets in a single SMS, 153 per
// part once it is split (the rest of each part is the concatenation header); the characters of
// the extension table (^ { } \ [ ~ ] | € and the form feed) take two septets (escape + code).
// Any other character (most Czech diacritics: č ř ž ě š ů …, emoji) switches the whole text to
// UCS-2: 70 UTF-16 units single, 67 per part (a character outside the BMP takes two units).
// A part never splits one character (an escape pair, a surrogate pair). The backend's limit on
// an SMS (MAX_SMS_CHARS) counts characters (code points), as `characters` does here.

/** The longest SMS text the backend sends, in characters. */
export const SMS_MAX_CHARS = 1600;

const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION = "^{}\\[~]|€\f";

const BASIC = new Set(GSM_BASIC);
const EXTENSION = new Set(GSM_EXTENSION);

export type SmsEncoding = "gsm7" | "ucs2";

export interface SmsCount {
  /** Characters (code points), what the 1600 limit counts. */
  characters: number;
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 units (UCS-2). */
  units: number;
  /** SMS parts; 0 for an empty text. */
  parts: number;
  /** Units one part holds: 160/70 for a single SMS, 153/67 per part of a split one. */
  perPart: number;
  /** Units still free in the last part. */
  remaining: number;
  /** Over SMS_MAX_CHARS (the backend refuses it). */
  tooLong: boolean;
}

const LIMITS: Record<SmsEncoding, { single: number; part: number }> = {
  gsm7: { single: 160, part: 153 },
  ucs2: { single: 70, part: 67 },
};

/** Whether every character of `text` is in the GSM 03.38 alphabet (basic or extension table). */
export function isGsm7(text: string): boolean {
  for (const char of text) if (!BASIC.has(char) && !EXTENSION.has(char)) return false;
  return true;
}

/** What one character costs: septets in GSM-7, UTF-16 units in UCS-2. */
function cost(char: string, encoding: SmsEncoding): number {
  if (encoding === "ucs2") return char.length;
  return EXTENSION.has(char) ? 2 : 1;
}

export function countSms(text: string, max = SMS_MAX_CHARS): SmsCount {
  const chars = [...text];
  const encoding: SmsEncoding = isGsm7(text) ? "gsm7" : "ucs2";
  const limit = LIMITS[encoding];
  const costs = chars.map((char) => cost(char, encoding));
  const units = costs.reduce((sum, each) => sum + each, 0);
  const base = { characters: chars.length, encoding, units, tooLong: chars.length > max };
  if (units <= limit.single) {
    return { ...base, parts: units === 0 ? 0 : 1, perPart: limit.single, remaining: limit.single - units };
  }
  // Split: fill each part, never cutting a character in two.
  let parts = 1;
  let used = 0;
  for (const each of costs) {
    if (used + each > limit.part) {
      parts += 1;
      used = 0;
    }
    used += each;
  }
  return { ...base, parts, perPart: limit.part, remaining: limit.part - used };
}

import { cs, type MessageKey, type Messages } from "./cs";
import { en } from "./en";

export type { MessageKey } from "./cs";

export const LOCALES = ["cs", "en"] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = "cs";
export const LOCALE_STORAGE_KEY = "linka.locale";

const dictionaries: Record<Locale, Record<string, string>> = { cs: { ...cs }, en: { ...en } satisfies Messages };

/** Adds the texts a lazily loaded page brings along (e.g. i18n/routing.ts). */
export function registerMessages(messages: Readonly<Record<Locale, Readonly<Record<string, string>>>>): void {
  for (const locale of LOCALES) Object.assign(dictionaries[locale], messages[locale]);
}

export type Params = Readonly<Record<string, string | number>>;

export function isLocale(value: unknown): value is Locale {
  return typeof value === "string" && (LOCALES as readonly string[]).includes(value);
}

/** Looks a message up and fills `{name}` placeholders; a missing placeholder stays visible. */
export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  // A key of a page whose texts are not loaded yet shows as itself.
  const template = dictionaries[locale][key] ?? key;
  if (!params) {
    return template;
  }
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}

/** Holds the current language: persisted in localStorage and mirrored in `<html lang>`. */
export class I18n {
  #locale: Locale;
  readonly #listeners = new Set<(locale: Locale) => void>();

  constructor(
    private readonly storage: Pick<Storage, "getItem" | "setItem"> | null,
    private readonly root: { lang: string } | null,
  ) {
    const stored = safeGet(storage, LOCALE_STORAGE_KEY);
    this.#locale = isLocale(stored) ? stored : DEFAULT_LOCALE;
    if (root) {
      root.lang = this.#locale;
    }
  }

  get locale(): Locale {
    return this.#locale;
  }

  t = (key: MessageKey, params?: Params): string => translate(this.#locale, key, params);

  setLocale(locale: Locale): void {
    if (locale === this.#locale) {
      return;
    }
    this.#locale = locale;
    try {
      this.storage?.setItem(LOCALE_STORAGE_KEY, locale);
    } catch {
      // Storage can be full or disabled; the choice then lasts for this page only.
    }
    if (this.root) {
      this.root.lang = locale;
    }
    for (const listener of this.#listeners) {
      listener(locale);
    }
  }

  onChange(listener: (locale: Locale) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function safeGet(storage: Pick<Storage, "getItem"> | null, key: string): string | null {
  try {
    return storage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

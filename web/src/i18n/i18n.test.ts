import { describe, expect, it, vi } from "vitest";
import { cs } from "./cs";
import { en } from "./en";
import { I18n, LOCALE_STORAGE_KEY, registerMessages, translate } from "./index";
import { routingCs } from "./routing-cs";
import { routingEn } from "./routing-en";
import { deskCs } from "./desk-cs";
import { deskEn } from "./desk-en";
import { TARGET_KINDS, WEEKDAYS } from "../api/admin";
import { KNOWN_GROUPS, USER_ROLES } from "../views/admin-user-form";

function memoryStorage(initial: Record<string, string> = {}) {
  const map = new Map(Object.entries(initial));
  return {
    getItem: (key: string) => map.get(key) ?? null,
    setItem: (key: string, value: string) => void map.set(key, value),
    map,
  };
}

describe("translate", () => {
  it("looks a key up in the Czech and in the English dictionary", () => {
    expect(translate("cs", "nav.overview")).toBe("Přehled");
    expect(translate("cs", "nav.admin")).toBe("Administrace");
    expect(translate("cs", "live.state.open")).toBe("Připojeno");
    expect(translate("en", "nav.overview")).toBe("Overview");
    expect(translate("en", "live.state.closed")).toBe("Disconnected");
  });

  it("fills placeholders and leaves unknown ones visible", () => {
    expect(translate("cs", "overview.welcome", { name: "Jana Nováková" })).toBe("Vítejte, Jana Nováková.");
    expect(translate("en", "error.generic", { status: 502 })).toBe("Something went wrong (error 502).");
    expect(translate("cs", "overview.welcome")).toBe("Vítejte, {name}.");
  });

  it("has the same keys in both dictionaries, none empty", () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(cs).sort());
    for (const [key, value] of Object.entries(en)) {
      expect(value, key).not.toBe("");
    }
  });
});

describe("texts of lazily loaded pages", () => {
  it("has the same routing keys in both languages, none shared with the app's own", () => {
    expect(Object.keys(routingEn).sort()).toEqual(Object.keys(routingCs).sort());
    for (const key of Object.keys(routingCs)) expect(key in cs, key).toBe(false);
    for (const [key, value] of Object.entries(routingEn)) expect(value, key).not.toBe("");
  });

  it("has the same desk keys in both languages, none shared with the app's own, none empty", () => {
    expect(Object.keys(deskEn).sort()).toEqual(Object.keys(deskCs).sort());
    for (const key of Object.keys(deskCs)) expect(key in cs || key in routingCs, key).toBe(false);
    for (const [key, value] of Object.entries(deskEn)) expect(value, key).not.toBe("");
    registerMessages({ cs: deskCs, en: deskEn });
    expect(translate("cs", "desk.presence.wrapUp")).toBe("Dohra");
    expect(translate("en", "desk.call.blind")).toBe("Blind transfer");
  });

  it("shows a key until its page's texts are registered, then the text", () => {
    registerMessages({ cs: {}, en: {} });
    expect(translate("cs", "admin.nav.ivrs")).toBe("Stromy IVR");
    registerMessages({ cs: routingCs, en: routingEn });
    expect(translate("cs", "ivr.check")).toBe("Zkontrolovat");
    expect(translate("en", "ivr.check")).toBe("Check");
    expect(translate("cs", "ivr.checkProblems", { count: 2 })).toBe("Kontrola našla problémy (2); jsou vyznačeny u uzlů a polí.");
  });
});

describe("admin texts", () => {
  it("has every generated key of the admin pages in both languages, and they differ where words do", () => {
    const keys = [
      ...TARGET_KINDS.map((kind) => `target.kind.${kind}`),
      ...TARGET_KINDS.map((kind) => `target.value.${kind}`),
      ...WEEKDAYS.map((day) => `day.${day}`),
      ...USER_ROLES.map((role) => `role.${role}`),
      ...KNOWN_GROUPS.map((group) => `group.${group}`),
      ...["success", "denied", "failed"].map((outcome) => `audit.outcome.${outcome}`),
    ];
    for (const key of keys) {
      expect(cs, key).toHaveProperty([key]);
      expect(en, key).toHaveProperty([key]);
    }
    expect(translate("cs", "queues.open")).toBe("Otevřeno");
    expect(translate("en", "queues.open")).toBe("Open");
    expect(translate("cs", "admin.nav.transferPanel")).toBe("Přepojovací panel");
    expect(translate("cs", "target.kind.external")).toBe("externí číslo");
    expect(translate("en", "day.monday")).toBe("Monday");
  });

  it("keeps the same placeholders in both languages", () => {
    const placeholders = (text: string) => [...text.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(cs) as (keyof typeof cs)[]) {
      expect(placeholders(en[key]), key).toEqual(placeholders(cs[key]));
    }
  });
});

describe("I18n", () => {
  it("starts in Czech when nothing is stored and sets <html lang>", () => {
    const root = { lang: "" };
    const i18n = new I18n(memoryStorage(), root);
    expect(i18n.locale).toBe("cs");
    expect(root.lang).toBe("cs");
    expect(i18n.t("login.button")).toBe("Přihlásit se");
  });

  it("persists a switch to English, updates lang and tells listeners", () => {
    const storage = memoryStorage();
    const root = { lang: "cs" };
    const i18n = new I18n(storage, root);
    const listener = vi.fn();
    i18n.onChange(listener);

    i18n.setLocale("en");

    expect(i18n.t("login.button")).toBe("Sign in");
    expect(root.lang).toBe("en");
    expect(storage.map.get(LOCALE_STORAGE_KEY)).toBe("en");
    expect(listener).toHaveBeenCalledWith("en");
    expect(new I18n(storage, { lang: "" }).locale).toBe("en");
  });

  it("ignores an unknown stored language", () => {
    expect(new I18n(memoryStorage({ [LOCALE_STORAGE_KEY]: "de" }), null).locale).toBe("cs");
  });
});

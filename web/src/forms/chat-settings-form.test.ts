import { describe, expect, it } from "vitest";
import { readChatSettings } from "../api/admin";
import { cs } from "../i18n/cs";
import { en } from "../i18n/en";
import { translate } from "../i18n";
import { assignFieldErrors, fieldErrorMessage } from "./field-errors";
import { chatSettingsToForm, checkChatSettingsForm, distributionChoices, formToChatSettings, queueChoices } from "./chat-settings-form";

const DEFAULTS = { webQueueId: null, smsQueueId: null, emailQueueId: null, socialQueueId: null, chatsPerAgent: null, distribution: null };

describe("chat settings form ↔ JSON", () => {
  it("when nothing is stored, should show empty fields and agents taking chats, and send the empty fields as null", () => {
    const form = chatSettingsToForm(readChatSettings(DEFAULTS));
    expect(form).toEqual({ webQueueId: "", smsQueueId: "", emailQueueId: "", socialQueueId: "", chatsPerAgent: "", distribution: "agentsTake" });
    expect(formToChatSettings(form)).toEqual({ ...DEFAULTS, distribution: "agentsTake" });
  });

  it("when settings are stored, should round-trip them with the limit as a number", () => {
    const stored = { webQueueId: "chat", smsQueueId: "sms", emailQueueId: null, socialQueueId: "social", chatsPerAgent: 5, distribution: "automatic" };
    const form = chatSettingsToForm(readChatSettings(stored));
    expect(form.chatsPerAgent).toBe("5");
    expect(form.distribution).toBe("automatic");
    expect(formToChatSettings(form)).toEqual(stored);
    expect(formToChatSettings({ ...form, distribution: "agentsTake" })).toEqual({ ...stored, distribution: "agentsTake" });
  });

  it("when the answer is partial or odd, should read the missing and mistyped fields as the defaults", () => {
    expect(readChatSettings({ smsQueueId: "sms", chatsPerAgent: "5", emailQueueId: "" })).toEqual({ ...DEFAULTS, smsQueueId: "sms" });
    expect(readChatSettings(null)).toEqual(DEFAULTS);
    expect(readChatSettings({ distribution: true }).distribution).toBeNull();
    expect(readChatSettings({ distribution: "" }).distribution).toBeNull();
    expect(chatSettingsToForm(readChatSettings({ distribution: 1 })).distribution).toBe("agentsTake");
  });

  it("when fields are typed with spaces, should trim them and send empty ones as null", () => {
    const body = formToChatSettings({ webQueueId: " chat ", smsQueueId: "  ", emailQueueId: "", socialQueueId: "", chatsPerAgent: " 11 ", distribution: "automatic" });
    expect(body).toEqual({ ...DEFAULTS, webQueueId: "chat", chatsPerAgent: 11, distribution: "automatic" });
  });

  it("when the limit is not a whole number, should stop it at its field and leave the range to the server", () => {
    const form = chatSettingsToForm(readChatSettings(DEFAULTS));
    for (const typed of ["2.5", "-1", "tři"]) {
      form.chatsPerAgent = typed;
      expect(checkChatSettingsForm(form)).toEqual([{ field: "chatsPerAgent", message: "must be a whole number" }]);
    }
    for (const typed of ["", "3", "0", "11"]) {
      form.chatsPerAgent = typed;
      expect(checkChatSettingsForm(form)).toEqual([]);
    }
  });
});

describe("Přidělování chatů", () => {
  it("when a known way is chosen, should offer the two ways, agents taking first", () => {
    expect(distributionChoices("agentsTake")).toEqual([
      { value: "agentsTake", known: "agentsTake" },
      { value: "automatic", known: "automatic" },
    ]);
    expect(distributionChoices("automatic").map((choice) => choice.value)).toEqual(["agentsTake", "automatic"]);
  });

  it("when the stored way is unknown to the app, should offer it too and send it back unchanged", () => {
    const form = chatSettingsToForm(readChatSettings({ ...DEFAULTS, distribution: "roundRobin" }));
    expect(form.distribution).toBe("roundRobin");
    expect(distributionChoices(form.distribution).at(-1)).toEqual({ value: "roundRobin", known: null });
    expect(formToChatSettings(form)).toEqual({ ...DEFAULTS, distribution: "roundRobin" });
    expect(checkChatSettingsForm(form)).toEqual([]);
  });

  it("when the server refuses the way (422), should put the error at the distribution field in the app's words", () => {
    // As shared/src/chat/settings.rs answers an unknown variant.
    const refused = { field: "distribution", message: "unknown variant `roundRobin`, expected `agentsTake` or `automatic`" };
    const { byField, rest } = assignFieldErrors([refused], ["webQueueId", "smsQueueId", "emailQueueId", "socialQueueId", "chatsPerAgent", "distribution"]);
    expect(rest).toEqual([]);
    expect(byField.get("distribution")).toEqual([refused]);
    const { key, params } = fieldErrorMessage(refused);
    expect(translate("cs", key, params)).toBe("Taková položka neexistuje.");
    expect(translate("en", key, params)).not.toBe(key);
  });

  it("when the choices are labelled, should have their texts in Czech and in English", () => {
    for (const key of ["chatSettings.distribution", "chatSettings.distribution.agentsTake", "chatSettings.distribution.automatic", "chatSettings.distribution.unknown", "chatSettings.distributionHint"] as const) {
      expect(cs[key], key).toBeTruthy();
      expect(en[key], key).toBeTruthy();
    }
    expect(cs["chatSettings.distribution.agentsTake"]).toBe("Operátoři si chaty berou sami z fronty");
    expect(cs["chatSettings.distribution.automatic"]).toBe("Automaticky operátorovi podle dovedností a vytížení");
  });
});

describe("queue choices of a channel", () => {
  const queues = [
    { queueId: "sms", name: "Zprávy SMS" },
    { queueId: "chat", name: "Chat" },
    { queueId: "bez-nazvu", name: "" },
  ];

  it("when the queues are listed, should offer the default first and then the queues by name", () => {
    expect(queueChoices(queues, "")).toEqual([
      { value: "", label: null, missing: false },
      { value: "bez-nazvu", label: "bez-nazvu", missing: false },
      { value: "chat", label: "Chat (chat)", missing: false },
      { value: "sms", label: "Zprávy SMS (sms)", missing: false },
    ]);
  });

  it("when the stored queue is not in the list, should still offer it, marked as missing", () => {
    const choices = queueChoices(queues, "smazana");
    expect(choices.at(-1)).toEqual({ value: "smazana", label: null, missing: true });
    expect(queueChoices([], "sms").map((choice) => choice.value)).toEqual(["", "sms"]);
    expect(queueChoices(queues, "sms").filter((choice) => choice.missing)).toEqual([]);
  });
});

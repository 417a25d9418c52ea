import { describe, expect, it } from "vitest";
import { readChatSettings } from "../api/admin";
import { chatSettingsToForm, checkChatSettingsForm, formToChatSettings, queueChoices } from "./chat-settings-form";

const DEFAULTS = { webQueueId: null, smsQueueId: null, emailQueueId: null, socialQueueId: null, chatsPerAgent: null };

describe("chat settings form ↔ JSON", () => {
  it("when nothing is stored, should show empty fields and send every field as null", () => {
    const form = chatSettingsToForm(readChatSettings(DEFAULTS));
    expect(form).toEqual({ webQueueId: "", smsQueueId: "", emailQueueId: "", socialQueueId: "", chatsPerAgent: "" });
    expect(formToChatSettings(form)).toEqual(DEFAULTS);
  });

  it("when settings are stored, should round-trip them with the limit as a number", () => {
    const stored = { webQueueId: "chat", smsQueueId: "sms", emailQueueId: null, socialQueueId: "social", chatsPerAgent: 5 };
    const form = chatSettingsToForm(readChatSettings(stored));
    expect(form.chatsPerAgent).toBe("5");
    expect(formToChatSettings(form)).toEqual(stored);
  });

  it("when the answer is partial or odd, should read the missing and mistyped fields as the defaults", () => {
    expect(readChatSettings({ smsQueueId: "sms", chatsPerAgent: "5", emailQueueId: "" })).toEqual({ ...DEFAULTS, smsQueueId: "sms" });
    expect(readChatSettings(null)).toEqual(DEFAULTS);
  });

  it("when fields are typed with spaces, should trim them and send empty ones as null", () => {
    const body = formToChatSettings({ webQueueId: " chat ", smsQueueId: "  ", emailQueueId: "", socialQueueId: "", chatsPerAgent: " 11 " });
    expect(body).toEqual({ ...DEFAULTS, webQueueId: "chat", chatsPerAgent: 11 });
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

// The call panel of the desk: each current call (number, queue, IVR attributes, state) with
// its buttons (Přijmout, Zavěsit, Podržet/Obnovit, Konzultace, Přepojit, Předat naslepo,
// Konference, Tónová volba; on the mobile "Přijměte hovor na mobilu" instead of Přijmout), and
// the dial field with its keypad (Vytočit).

import type { DeskCall } from "../api/desk";
import { formatPhone } from "../format/phone";
import { h } from "../ui/dom";
import { button, textInput } from "./form";
import { answerOnMobile, callButtons, consultationOf, deskPhone, dialNumber, dtmfDigits, mainCall, type CallButton } from "./desk-model";
import { k, known, panel, when, type DeskHost } from "./desk-common";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

const BUTTON_KEYS: Record<CallButton, string> = {
  answer: "desk.call.answer",
  hangup: "desk.call.hangup",
  hold: "desk.call.hold",
  retrieve: "desk.call.retrieve",
  consult: "desk.call.consult",
  transfer: "desk.call.transfer",
  "blind-transfer": "desk.call.blind",
  conference: "desk.call.conference",
  dtmf: "desk.call.dtmf",
};

export function callsPanel(host: DeskHost): HTMLElement {
  const { t, s } = host;
  const calls = s.desk?.calls ?? [];
  const main = mainCall(calls, s.chosenCall);
  return panel(
    "desk-calls",
    t(k("desk.calls.title")),
    calls.length === 0 ? h("p", { class: "muted", "data-testid": "desk-no-call" }, t(k("desk.calls.none"))) : null,
    ...calls.map((call) => callCard(host, call, calls, call.callKey === main?.callKey)),
    s.choosing ? h("p", { class: "alert alert-info", role: "status", "data-testid": "desk-choosing" }, t(k(s.choosing === "consult" ? "desk.choose.consult" : "desk.choose.blind")), " ", button(t(k("desk.choose.cancel")), () => { s.choosing = null; host.rerender(); }, { class: "small secondary", "data-testid": "desk-choose-cancel" })) : null,
    dialForm(host),
  );
}

function callCard(host: DeskHost, call: DeskCall, calls: readonly DeskCall[], current: boolean): HTMLElement {
  const { t, s } = host;
  const id = cssId(call.callKey);
  const titleId = `desk-call-${id}-title`;
  const number = call.remote ? formatPhone(call.remote) : t(k("desk.call.unknown"));
  const attributes = Object.entries(call.attributes ?? {});
  const queue = call.queueId ? (s.desk?.queues.find((entry) => entry.queueId === call.queueId)?.name ?? call.queueId) : null;
  const partner = consultationOf(call, calls);
  // DESK-2: on the mobile a ringing call is answered there; the desk says so instead of Přijmout.
  const onMobile = s.desk ? deskPhone(s.desk).using === "mobile" : false;
  const buttons = callButtons(call, calls, onMobile).map((name) => {
    const label = t(k(BUTTON_KEYS[name]));
    const attrs: Record<string, string> = {
      class: name === "answer" ? "" : name === "hangup" ? "danger" : "secondary",
      "data-testid": `desk-call-${name}`,
      "aria-describedby": titleId,
    };
    const run = (): void => {
      switch (name) {
        case "consult":
        case "blind-transfer":
          host.chooseCall(call.callKey);
          s.choosing = name === "consult" ? "consult" : "blind";
          host.rerender("desk-panel-search");
          return;
        case "dtmf":
          s.dtmfOpen = !s.dtmfOpen;
          host.rerender(s.dtmfOpen ? "desk-dtmf-input" : "desk-call-dtmf");
          return;
        case "transfer":
        case "conference":
          host.callAction(call, name, partner ? { consultCallId: callIdOf(partner) } : {});
          return;
        default:
          host.callAction(call, name);
      }
    };
    if (name === "dtmf") attrs["aria-expanded"] = s.dtmfOpen ? "true" : "false";
    return button(label, run, attrs);
  });
  return h(
    "article",
    { class: `desk-call${current ? " current" : ""}`, "data-testid": `desk-call`, "data-call-key": call.callKey, "data-state": call.state, "aria-labelledby": titleId },
    h(
      "h3",
      { id: titleId },
      h("span", { "data-testid": "desk-call-number" }, number),
      call.remoteName ? h("span", { class: "muted" }, ` — ${call.remoteName}`) : null,
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", null, t(k("desk.call.state"))),
      h("dd", { "data-testid": "desk-call-state" }, known(t, `desk.callState.${call.state}`, call.state)),
      h("dt", null, t(k("desk.call.direction"))),
      h("dd", null, known(t, `desk.direction.${call.direction}`, call.direction)),
      queue ? h("dt", null, t(k("desk.call.queue"))) : null,
      queue ? h("dd", { "data-testid": "desk-call-queue" }, queue) : null,
      h("dt", null, t(k("desk.call.since"))),
      h("dd", null, when(call.since)),
      attributes.length ? h("dt", null, t(k("desk.call.attributes"))) : null,
      attributes.length ? h("dd", { "data-testid": "desk-call-attributes" }, h("ul", { class: "plain" }, ...attributes.map(([key, value]) => h("li", null, `${key}: ${value}`)))) : null,
    ),
    answerOnMobile(call, onMobile)
      ? h("p", { class: "alert alert-info desk-on-mobile", role: "status", "aria-live": "polite", "data-testid": "desk-call-on-mobile" }, t(k("desk.call.onMobile")))
      : null,
    h("div", { class: "actions", role: "group", "aria-label": t(k("desk.call.controls"), { number }) }, ...buttons.flatMap((b, i) => (i ? [" ", b] : [b]))),
    s.dtmfOpen && call.state === "connected" ? dtmfForm(host, call) : null,
  );
}

function dtmfForm(host: DeskHost, call: DeskCall): HTMLElement {
  const { t, s } = host;
  const input = textInput(s.dtmf, (value) => (s.dtmf = value), { id: "desk-dtmf-input", "data-testid": "desk-dtmf-input", inputmode: "tel", autocomplete: "off", maxlength: 32 });
  return h(
    "form",
    {
      class: "desk-keypad-form",
      "data-testid": "desk-dtmf",
      novalidate: true,
      on: {
        submit: (event) => {
          event.preventDefault();
          const digits = dtmfDigits(s.dtmf);
          if (!digits) {
            s.message = null;
            s.invalid = t(k("desk.dtmf.bad"));
            host.rerender("desk-dtmf-input");
            return;
          }
          host.callAction(call, "send-digits", { digits });
          s.dtmf = "";
        },
      },
    },
    h("label", { for: "desk-dtmf-input" }, t(k("desk.dtmf.label"))),
    " ",
    input,
    keypad(host, "dtmf", (key) => {
      s.dtmf += key;
      input.value = s.dtmf;
    }),
    h("button", { type: "submit", "data-testid": "desk-dtmf-send" }, t(k("desk.dtmf.send"))),
  );
}

function keypad(host: DeskHost, prefix: string, press: (key: string) => void): HTMLElement {
  const { t } = host;
  return h(
    "div",
    { class: "desk-keypad", role: "group", "aria-label": t(k("desk.keypad")) },
    ...KEYS.map((key) =>
      button(key, () => press(key), {
        class: "secondary small",
        "data-testid": `desk-${prefix}-key-${key === "*" ? "star" : key === "#" ? "hash" : key}`,
        "aria-label": t(k("desk.keypad.key"), { key }),
      }),
    ),
  );
}

function dialForm(host: DeskHost): HTMLElement {
  const { t, s } = host;
  const input = textInput(s.dial, (value) => (s.dial = value), { type: "tel", id: "desk-dial-number", "data-testid": "desk-dial-number", autocomplete: "off", maxlength: 32 });
  return h(
    "form",
    {
      class: "desk-dial",
      "data-testid": "desk-dial",
      novalidate: true,
      "aria-labelledby": "desk-dial-title",
      on: {
        submit: (event) => {
          event.preventDefault();
          const number = dialNumber(s.dial);
          if (!number) {
            s.message = null;
            s.invalid = t(k("desk.dial.bad"));
            host.rerender("desk-dial-number");
            return;
          }
          host.dial(number, s.client?.clientId ?? null);
        },
      },
    },
    h("h3", { id: "desk-dial-title" }, t(k("desk.dial.title"))),
    h("label", { for: "desk-dial-number" }, t(k("desk.dial.number"))),
    " ",
    input,
    " ",
    h("button", { type: "submit", "data-testid": "desk-dial-go" }, t(k("desk.dial.go"))),
    h(
      "details",
      { class: "desk-keypad-details" },
      h("summary", null, t(k("desk.keypad"))),
      keypad(host, "dial", (key) => {
        s.dial += key;
        input.value = s.dial;
      }),
    ),
  );
}

/** The call id part of a call key (`relay-1/42` → `42`). */
export function callIdOf(call: DeskCall): string {
  const slash = call.callKey.indexOf("/");
  return slash < 0 ? call.callKey : call.callKey.slice(slash + 1);
}

function cssId(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, "-");
}

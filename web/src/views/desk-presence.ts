// The presence bar (Připraven / Nepřipraven with a break, the wrap-up countdown "Dohra", the
// phone calls ring on: pevná linka or mobil) and the agent's queues (log in/out, locked
// memberships, calls waiting) of the desk page.

import { h } from "../ui/dom";
import { button, select } from "./form";
import { canSwitchPhone, deskPhone, formatCount, formatCountdown, ownPresenceKey, phoneNumber, secondsLeft } from "./desk-model";
import { k, panel, when, type DeskHost } from "./desk-common";

/** One press of "extend the wrap-up" adds this much (the queue's limit applies). */
export const WRAP_UP_STEP_SECONDS = 30;

export function presenceBar(host: DeskHost): HTMLElement | null {
  const { t, s } = host;
  const desk = s.desk;
  if (!desk) return null;
  const state = desk.presence.state;
  const breakName = desk.presence.breakCode ? (desk.breakCodes.find((code) => code.code === desk.presence.breakCode)?.name ?? desk.presence.breakCode) : null;
  const stateText = breakName && state === "notReady" ? `${t(k(ownPresenceKey(state)))} — ${breakName}` : t(k(ownPresenceKey(state)));
  const breakOptions = [{ value: "", label: t(k("desk.break.none")) }, ...desk.breakCodes.map((code) => ({ value: code.code, label: `${code.name} (${t(k(code.kind === "work" ? "desk.break.work" : "desk.break.private"))})` }))];
  if (!s.breakCode && desk.presence.breakCode) s.breakCode = desk.presence.breakCode;
  const wrap = desk.wrapUp;
  const left = wrap ? secondsLeft(wrap.until, Date.now()) : null;
  return h(
    "div",
    { class: "desk-presence", role: "group", "aria-label": t(k("desk.presence.label")), "data-testid": "desk-presence" },
    h(
      "p",
      { class: "desk-state" },
      h("span", { class: `dot tone-${stateTone(state)}`, "aria-hidden": "true" }),
      " ",
      h("strong", { "data-testid": "desk-state", "data-state": state }, stateText),
      h("span", { class: "muted" }, ` · ${t(k("desk.since"), { at: when(desk.presence.since) })}`),
      s.requested ? h("span", { class: "muted", "data-testid": "desk-requested" }, ` · ${t(k("desk.requested"))}`) : null,
    ),
    phoneLine(host),
    wrap
      ? h(
          "p",
          { class: "desk-wrapup", "data-testid": "desk-wrapup" },
          `${t(k("desk.wrapUp"))}: `,
          h("span", { "data-testid": "desk-wrapup-left", "data-until": wrap.until, role: "timer", "aria-live": "off" }, formatCountdown(left ?? 0)),
          h("span", { class: "muted" }, ` (${t(k("desk.wrapUpUntil"), { at: when(wrap.until) })})`),
          " ",
          wrap.extendableUntil
            ? button(t(k("desk.wrapUpExtend"), { seconds: WRAP_UP_STEP_SECONDS }), () => host.wrapUp(WRAP_UP_STEP_SECONDS), {
                class: "secondary small",
                "data-testid": "desk-wrapup-extend",
                title: t(k("desk.wrapUpExtendableUntil"), { at: when(wrap.extendableUntil) }),
              })
            : null,
          " ",
          button(t(k("desk.wrapUpEnd")), () => host.wrapUp(null), { class: "secondary small", "data-testid": "desk-wrapup-end" }),
        )
      : null,
    h(
      "div",
      { class: "row" },
      button(t(k("desk.ready")), () => host.presence("ready"), {
        "data-testid": "desk-ready",
        "aria-pressed": state === "ready" ? "true" : "false",
        ...(state === "ready" ? { class: "secondary" } : {}),
      }),
      " ",
      h("label", { for: "desk-break" }, t(k("desk.breakLabel"))),
      select(s.breakCode, breakOptions, (value) => (s.breakCode = value), { id: "desk-break", "data-testid": "desk-break" }),
      " ",
      button(t(k("desk.notReady")), () => host.presence("notReady", s.breakCode || undefined), {
        class: "secondary",
        "data-testid": "desk-not-ready",
        "aria-pressed": state === "notReady" ? "true" : "false",
      }),
    ),
  );
}

/**
 * Telefon (DESK-2): the phone the calls ring on — "Pevná linka 2001" or "Mobil +420 601 000 001"
 * — and, for an agent with both, the button that moves them to the other one. Switching waits
 * for the PBX (until a desk read shows the new phone) and is not possible during a call.
 */
function phoneLine(host: DeskHost): HTMLElement | null {
  const { t, s } = host;
  const desk = s.desk;
  if (!desk) return null;
  const phone = deskPhone(desk);
  const name = (kind: "desk" | "mobile"): string => t(k(kind === "mobile" ? "desk.phone.mobile" : "desk.phone.desk"), { number: phoneNumber(phone, kind) ?? "" });
  const current = phoneNumber(phone, phone.using) === null ? t(k("desk.phone.none")) : name(phone.using);
  const other = phone.using === "mobile" ? "desk" : "mobile";
  const pending = s.phoneRequested;
  const inCall = desk.calls.length > 0;
  const switchable = canSwitchPhone(phone);
  const hintId = "desk-phone-hint";
  return h(
    "div",
    {
      class: "row desk-phone",
      role: "group",
      "aria-labelledby": "desk-phone-label",
      "data-testid": "desk-phone",
      "data-using": phone.using,
      ...(pending ? { "data-pending": pending } : {}),
    },
    h("span", { id: "desk-phone-label" }, t(k("desk.phone.label"))),
    h("strong", { "data-testid": "desk-phone-current" }, current),
    switchable
      ? button(
          t(k(other === "mobile" ? "desk.phone.toMobile" : "desk.phone.toDesk"), { number: phoneNumber(phone, other) ?? "" }),
          () => {
            if (!pending) host.phone(other);
          },
          {
            class: "secondary small",
            "data-testid": "desk-phone-switch",
            "data-to": other,
            // Disabled during a call (the PBX would refuse); while the PBX switches it stays
            // focusable (aria-disabled) so that the focus is not lost.
            ...(inCall ? { disabled: true, "aria-describedby": hintId } : {}),
            ...(pending ? { "aria-disabled": "true" } : {}),
          },
        )
      : null,
    pending ? h("span", { class: "muted", "data-testid": "desk-phone-pending" }, t(k(pending === "mobile" ? "desk.phone.pendingMobile" : "desk.phone.pendingDesk"))) : null,
    switchable && inCall ? h("small", { id: hintId, class: "muted", "data-testid": "desk-phone-hint" }, t(k("desk.phone.inCall"))) : null,
  );
}

function stateTone(state: string): string {
  switch (state) {
    case "ready":
      return "ok";
    case "busy":
      return "busy";
    case "workingAfterCall":
      return "wrap";
    case "notReady":
      return "break";
    default:
      return "off";
  }
}

/** Updates the wrap-up countdown in place (called every second; no re-render). */
export function tickCountdown(root: ParentNode, now: number): void {
  for (const element of root.querySelectorAll<HTMLElement>("[data-testid=desk-wrapup-left]")) {
    const left = secondsLeft(element.dataset["until"] ?? "", now);
    const text = formatCountdown(left ?? 0);
    if (element.textContent !== text) element.textContent = text;
  }
}

export function queuesPanel(host: DeskHost): HTMLElement | null {
  const { t, s, locale } = host;
  const desk = s.desk;
  if (!desk) return null;
  const rows = desk.queues.map((queue) => {
    const lockedId = `desk-q-locked-${queue.queueId}`;
    const toggle = button(
      t(k(queue.loggedIn ? "desk.queue.logOut" : "desk.queue.logIn")),
      () => host.queue(queue.queueId, !queue.loggedIn),
      {
        class: "small secondary",
        "data-testid": `desk-queue-toggle-${queue.queueId}`,
        "aria-label": t(k(queue.loggedIn ? "desk.queue.logOutOf" : "desk.queue.logInTo"), { queue: queue.name }),
        ...(queue.locked ? { disabled: true, "aria-describedby": lockedId } : {}),
      },
    );
    return h(
      "tr",
      { "data-testid": `desk-queue-${queue.queueId}`, "data-logged-in": queue.loggedIn ? "true" : "false" },
      h("th", { scope: "row" }, queue.name, queue.openNow ? null : h("span", { class: "muted" }, ` (${t(k("desk.queue.closed"))})`)),
      h("td", { "data-testid": `desk-queue-state-${queue.queueId}` }, t(k(queue.loggedIn ? "desk.queue.in" : "desk.queue.out"))),
      h("td", { "data-testid": `desk-queue-waiting-${queue.queueId}` }, formatCount(queue.waiting, locale)),
      h("td", null, toggle, queue.locked ? h("small", { id: lockedId, class: "muted desk-hint", "data-testid": `desk-queue-locked-${queue.queueId}` }, ` ${t(k("desk.queue.locked"))}`) : null),
    );
  });
  return panel(
    "desk-queues",
    t(k("desk.queues.title")),
    desk.queues.length === 0
      ? h("p", { class: "muted" }, t(k("desk.queues.none")))
      : h(
          "table",
          { class: "data" },
          h("caption", { class: "visually-hidden" }, t(k("desk.queues.title"))),
          h(
            "thead",
            null,
            h("tr", null, ...["desk.queues.col.queue", "desk.queues.col.state", "desk.queues.col.waiting", "desk.queues.col.action"].map((key) => h("th", { scope: "col" }, t(k(key))))),
          ),
          h("tbody", null, ...rows),
        ),
  );
}

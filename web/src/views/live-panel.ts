import { formatDateTime } from "../format/date";
import type { LiveConnection, LiveSnapshot } from "../live/live";
import type { Translate } from "../roles";
import { h } from "../ui/dom";

/** The live panel: connection state, ping, and the notices received over the WebSocket. */
export function renderLivePanel(
  snapshot: LiveSnapshot,
  live: LiveConnection,
  t: Translate,
  now: number = Date.now(),
): HTMLElement[] {
  const stateText = t(`live.state.${snapshot.state}`);
  const reconnectSeconds =
    snapshot.state === "closed" && snapshot.reconnectAt !== null
      ? Math.max(0, Math.ceil((snapshot.reconnectAt - now) / 1000))
      : null;
  return [
    h("h2", null, t("live.title")),
    h(
      "p",
      { class: "live-status" },
      h(
        "span",
        { class: `badge badge-${snapshot.state}`, "data-testid": "live-state", "data-state": snapshot.state, role: "status" },
        stateText,
      ),
      reconnectSeconds !== null ? h("span", { class: "muted" }, ` ${t("live.reconnectIn", { seconds: reconnectSeconds })}`) : null,
    ),
    h(
      "p",
      { class: "live-ping" },
      h(
        "button",
        {
          type: "button",
          class: "secondary small",
          "data-testid": "live-ping",
          disabled: snapshot.state !== "open",
          on: { click: () => live.ping() },
        },
        t("live.ping"),
      ),
      " ",
      snapshot.pongMissing
        ? h("span", { class: "muted", "data-testid": "live-pong" }, t("live.pongMissing"))
        : snapshot.lastPong
          ? h("span", { class: "muted", "data-testid": "live-pong", "data-at": snapshot.lastPong.at }, t("live.pong", { ms: snapshot.lastPong.rttMs }))
          : null,
    ),
    snapshot.broadcasts.length === 0
      ? h("p", { class: "muted" }, t("live.empty"))
      : h(
          "ul",
          { class: "notices", "data-testid": "live-broadcasts", "aria-live": "polite" },
          ...snapshot.broadcasts.map((broadcast) =>
            h(
              "li",
              { class: `notice notice-${broadcast.severity}`, "data-id": broadcast.id, "data-severity": broadcast.severity },
              h("p", { class: "notice-text" }, broadcast.text),
              h(
                "p",
                { class: "notice-meta muted" },
                t("live.sentBy", {
                  sentBy: broadcast.sentBy,
                  sentAt: formatDateTime(broadcast.sentAt) ?? broadcast.sentAt,
                }),
              ),
            ),
          ),
        ),
  ];
}

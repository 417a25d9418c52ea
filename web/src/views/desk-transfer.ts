// Přepojovací panel (DESK-9): agents, supervisors and lines with their live presence (colour
// and text), groups, favourites on top (star toggle), a search, and per row Konzultace /
// Předat naslepo while a call is connected, else Vytočit; an external number too.

import type { DirectoryLine, Target } from "../api/desk";
import { formatPhone } from "../format/phone";
import { h } from "../ui/dom";
import { button, select, textInput } from "./form";
import { dialNumber, mainCall, panelEntries, panelPresence, type PanelEntry } from "./desk-model";
import { k, panel, type DeskHost } from "./desk-common";

export function transferPanel(host: DeskHost): HTMLElement {
  const { t, s, me } = host;
  const directory = s.directory;
  if (!directory) return panel("desk-transfer", t(k("desk.transfer.title")), h("p", { class: "muted" }, t(k("app.loading"))));
  const call = mainCall(s.desk?.calls ?? [], s.chosenCall);
  const active = call && (call.state === "connected" || call.state === "held") ? call : null;
  const entries = panelEntries(directory, { me: me.username, group: s.panelGroup, search: s.panelSearch });
  const groups = [{ value: "", label: t(k("desk.transfer.allGroups")) }, ...directory.groups.map((group) => ({ value: group.groupId, label: group.name }))];
  const knownGroups = new Set(directory.groups.map((group) => group.groupId));
  for (const agent of directory.agents) for (const group of agent.groups) if (!knownGroups.has(group)) {
    knownGroups.add(group);
    groups.push({ value: group, label: group });
  }
  return panel(
    "desk-transfer",
    t(k("desk.transfer.title")),
    h(
      "div",
      { class: "row" },
      h("div", { class: "field" }, h("label", { for: "desk-panel-group" }, t(k("desk.transfer.group"))), select(s.panelGroup, groups, (value) => {
        s.panelGroup = value;
        host.rerender("desk-panel-group");
      }, { id: "desk-panel-group", "data-testid": "desk-panel-group" })),
      h(
        "div",
        { class: "field" },
        h("label", { for: "desk-panel-search" }, t(k("desk.transfer.search"))),
        h("input", {
          type: "search",
          id: "desk-panel-search",
          "data-testid": "desk-panel-search",
          autocomplete: "off",
          value: s.panelSearch,
          on: {
            input: (event) => {
              s.panelSearch = (event.target as HTMLInputElement).value;
              host.rerender("desk-panel-search");
            },
          },
        }),
      ),
    ),
    entries.length === 0
      ? h("p", { class: "muted" }, t(k("desk.transfer.empty")))
      : h("ul", { class: "plain desk-directory", "data-testid": "desk-directory", "aria-label": t(k("desk.transfer.list")) }, ...entries.map((entry) => row(host, entry, !!active, directory.lines))),
    numberForm(host, !!active),
  );
}

function row(host: DeskHost, entry: PanelEntry, active: boolean, lines: readonly DirectoryLine[]): HTMLElement {
  const { t, s } = host;
  const nameId = `desk-dir-${entry.id.replace(/[^A-Za-z0-9_-]+/g, "-")}`;
  const presence = entry.agent ? panelPresence(entry.agent.presence) : null;
  const target: Target = entry.kind === "agent" ? { kind: "agent", username: entry.id } : { kind: "line", lineId: entry.lineId ?? "" };
  const actions: HTMLElement[] = [];
  if (active) {
    actions.push(
      button(t(k("desk.call.consult")), () => host.target(target, "consult"), {
        class: `small${s.choosing === "consult" ? "" : " secondary"}`,
        "data-testid": `desk-consult-${entry.id}`,
        "aria-describedby": nameId,
      }),
      button(t(k("desk.call.blind")), () => host.target(target, "blind"), {
        class: `small${s.choosing === "blind" ? "" : " secondary"}`,
        "data-testid": `desk-blind-${entry.id}`,
        "aria-describedby": nameId,
      }),
    );
  } else if (entry.agent?.device) {
    const device = entry.agent.device;
    actions.push(button(t(k("desk.dial.go")), () => host.dial(device), { class: "small secondary", "data-testid": `desk-dial-${entry.id}`, "aria-describedby": nameId }));
  } else if (entry.kind === "line") {
    const line = lines.find((candidate) => candidate.lineId === entry.lineId);
    const number = lineNumber(line);
    if (number) actions.push(button(t(k("desk.dial.go")), () => host.dial(number), { class: "small secondary", "data-testid": `desk-dial-${entry.id}`, "aria-describedby": nameId }));
  }
  return h(
    "li",
    { class: "desk-dir-row", "data-testid": `desk-dir-${entry.id}`, "data-presence": entry.agent?.presence ?? "", "data-favourite": entry.favourite ? "true" : "false" },
    h(
      "button",
      {
        type: "button",
        class: `star${entry.favourite ? " on" : ""}`,
        "aria-pressed": entry.favourite ? "true" : "false",
        "aria-label": t(k("desk.transfer.favourite"), { name: entry.label }),
        "data-testid": `desk-fav-${entry.id}`,
        on: { click: () => host.favourite(entry.id) },
      },
      entry.favourite ? "★" : "☆",
    ),
    " ",
    h("span", { id: nameId, class: "desk-dir-name" }, entry.label, entry.detail ? h("span", { class: "muted" }, ` (${entry.detail})`) : null, entry.kind === "line" ? h("span", { class: "muted" }, ` · ${t(k("desk.transfer.line"))}`) : null),
    " ",
    presence
      ? h("span", { class: `presence tone-${presence.tone}`, "data-testid": `desk-presence-${entry.id}` }, h("span", { class: `dot tone-${presence.tone}`, "aria-hidden": "true" }), " ", t(k(presence.key)))
      : null,
    " ",
    ...actions.flatMap((action, index) => (index ? [" ", action] : [action])),
  );
}

function lineNumber(line: DirectoryLine | undefined): string | null {
  const target = line?.target ?? {};
  for (const key of ["number", "extension", "device"]) {
    const value = target[key];
    if (typeof value === "string" && value) return value;
  }
  return null;
}

function numberForm(host: DeskHost, active: boolean): HTMLElement | null {
  const { t, s } = host;
  if (!active) return null;
  const check = (): string | null => {
    const number = dialNumber(s.panelNumber);
    if (!number) {
      s.invalid = t(k("desk.dial.bad"));
      host.rerender("desk-panel-number");
    }
    return number;
  };
  return h(
    "div",
    { class: "row", role: "group", "aria-label": t(k("desk.transfer.numberGroup")) },
    h(
      "div",
      { class: "field" },
      h("label", { for: "desk-panel-number" }, t(k("desk.transfer.number"))),
      textInput(s.panelNumber, (value) => (s.panelNumber = value), { type: "tel", id: "desk-panel-number", "data-testid": "desk-panel-number", autocomplete: "off" }),
    ),
    button(t(k("desk.call.consult")), () => {
      const number = check();
      if (number) host.target({ kind: "number", number }, "consult");
    }, { class: "small secondary", "data-testid": "desk-consult-number" }),
    " ",
    button(t(k("desk.call.blind")), () => {
      const number = check();
      if (number) host.target({ kind: "number", number }, "blind");
    }, { class: "small secondary", "data-testid": "desk-blind-number" }),
    s.panelNumber && dialNumber(s.panelNumber) ? h("span", { class: "muted" }, ` ${formatPhone(dialNumber(s.panelNumber) ?? "")}`) : null,
  );
}

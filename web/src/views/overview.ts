import { formatDateTime } from "../format/date";
import { roleLabels } from "../roles";
import { h } from "../ui/dom";
import type { View, ViewContext } from "./view";

export class OverviewView implements View {
  render({ t, me, session }: ViewContext): HTMLElement {
    const none = t("overview.none");
    const row = (label: string, value: string, testId: string) => [
      h("dt", null, label),
      h("dd", { "data-testid": testId }, value || none),
    ];
    return h(
      "section",
      { class: "page", "aria-labelledby": "page-title" },
      h("h1", { id: "page-title" }, t("overview.title")),
      h("p", { class: "lead" }, t("overview.welcome", { name: me.name })),
      h(
        "dl",
        { class: "facts" },
        ...row(t("overview.username"), me.username, "overview-username"),
        ...row(t("overview.roles"), roleLabels(me.roles, t), "overview-roles"),
        ...row(t("overview.groups"), me.groups.join(", "), "overview-groups"),
        ...(me.agentNumber ? row(t("overview.agentNumber"), me.agentNumber, "overview-agent-number") : []),
        ...row(t("overview.sessionUntil"), formatDateTime(session.expiresAt) ?? "", "overview-session-until"),
      ),
    );
  }
}

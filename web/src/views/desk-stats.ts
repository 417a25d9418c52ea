// Statistiky (DESK-6): handled and lost calls and the service level over 24 h, 7, 14 and 30
// days — overall, in the agent's queues (together and, with two or more, each) and the agent's
// own handled calls — from GET /api/desk/stats. The page reads them with the desk, again when
// a call has ended, and on Obnovit; when they cannot be read the rest of the desk is unaffected.

import type { StatsSummary } from "../api/desk";
import { formatPercent } from "../format/number";
import { h } from "../ui/dom";
import { k, panel, when, type DeskHost } from "./desk-common";
import { formatCount, statsTable, type StatsRow } from "./desk-model";
import { button } from "./form";

export function statsPanel(host: DeskHost): HTMLElement {
  const { t, s } = host;
  const refresh = button(t(k("desk.stats.refresh")), () => host.refreshStats(), {
    class: "small secondary",
    "data-testid": "desk-stats-refresh",
    "aria-label": t(k("desk.stats.refreshLabel")),
  });
  const stats = s.stats;
  let body: HTMLElement;
  if (stats && stats.periods.length > 0) body = statsBody(host, stats);
  else if (s.statsFailed || stats) body = h("p", { class: "muted", "data-testid": "desk-stats-unavailable" }, t(k("desk.stats.unavailable")));
  else body = h("p", { class: "muted" }, t(k("app.loading")));
  return panel("desk-stats", t(k("desk.stats.title")), body, h("div", { class: "row" }, refresh));
}

function statsBody(host: DeskHost, stats: NonNullable<DeskHost["s"]["stats"]>): HTMLElement {
  const { t } = host;
  const table = statsTable(stats);
  const asOf = stats.periods[0]?.to;
  return h(
    "div",
    null,
    h(
      "table",
      { class: "data desk-stats", "data-testid": "desk-stats-table" },
      h("caption", { class: "visually-hidden" }, t(k("desk.stats.caption"))),
      h(
        "thead",
        null,
        h("tr", null, h("th", { scope: "col" }, t(k("desk.stats.scope"))), ...table.periods.map((period) => h("th", { scope: "col", "data-period": period }, t(k(`desk.stats.period.${period}`))))),
      ),
      h("tbody", null, ...table.rows.map((row) => statsRow(host, row, table.periods))),
    ),
    h("p", { class: "muted desk-hint" }, t(k("desk.stats.legend"), { seconds: stats.serviceLevelSeconds }), asOf ? ` ${t(k("desk.stats.asOf"), { at: when(asOf) })}` : null),
  );
}

function statsRow(host: DeskHost, row: StatsRow, periods: readonly string[]): HTMLElement {
  const { t } = host;
  const label = row.kind === "queue" ? (row.name ?? "") : t(k(`desk.stats.row.${row.kind}`));
  return h(
    "tr",
    { "data-testid": `desk-stats-${row.id}`, ...(row.kind === "queue" ? { class: "desk-stats-queue" } : {}) },
    h("th", { scope: "row" }, label),
    ...row.cells.map((summary, index) => statsCell(host, summary, row.kind === "mine", `desk-stats-${row.id}-${periods[index]}`)),
  );
}

/** `vyřízeno / ztraceno` over the service level; the agent's own: the handled count only. */
function statsCell(host: DeskHost, summary: StatsSummary, own: boolean, testId: string): HTMLElement {
  const { t, locale } = host;
  const answered = formatCount(summary.answered, locale);
  const lost = formatCount(summary.lost, locale);
  const sl = formatPercent(summary.serviceLevel, locale);
  const spoken = own ? t(k("desk.stats.cellMine"), { answered }) : t(k("desk.stats.cell"), { answered, lost, sl });
  return h(
    "td",
    { "data-testid": testId, "data-answered": summary.answered, "data-lost": summary.lost },
    h("span", { "aria-hidden": "true" }, own ? answered : `${answered} / ${lost}`, own ? null : h("br", null), own ? null : h("small", { class: "muted" }, `SL ${sl}`)),
    h("span", { class: "visually-hidden" }, spoken),
  );
}

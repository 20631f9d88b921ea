"""The report's tables of targets and actions (workbook sheets and CSV files), from the
`actions` entry of the report context (`services.actions.report_section`)."""

from __future__ import annotations

from typing import Any

from .tables import Table


def _change(change: dict[str, Any] | None, action: Any) -> dict[str, Any] | None:
    if not change:
        return None
    if action.lens:
        found = ((change.get("lenses") or {}).get(action.dimension) or {}).get(action.lens)
        if found:
            return dict(found)
    return (change.get("dimensions") or {}).get(action.dimension)


def action_tables(context: dict[str, Any]) -> list[Table]:
    """Targets, this cycle's actions and (in a next cycle) the earlier cycle's actions with the
    change in what each addressed; none when the context has no actions entry."""
    section = context.get("actions")
    if not section:
        return []
    titles = context.get("dim_titles", {})
    today = section["today"]
    targets = Table("Targets", ["Dimension", "Lens", "Now", "Target", "Gap"],
                    widths=[36, 18, 8, 8, 8])
    for t in section["targets"]:
        targets.rows.append([titles.get(t.dimension, t.dimension), t.lens or "whole dimension",
                             t.current, t.target, t.gap])
    actions = Table("Actions", ["Title", "Owner", "Due", "Status", "Overdue", "Dimension",
                                "Lens", "What will change", "Teams", "Statements"],
                    widths=[40, 24, 12, 12, 8, 30, 16, 50, 24, 24])
    for a in section["actions"]:
        overdue = a.status.value in ("planned", "in_progress") and a.due < today
        actions.rows.append([a.title, a.owner, a.due.isoformat(), a.status.value,
                             "yes" if overdue else "no", titles.get(a.dimension, a.dimension),
                             a.lens or "", a.description, ", ".join(a.teams),
                             ", ".join(a.statements)])
    out = [targets, actions]
    carried = section.get("carried")
    if carried is not None and carried.previous is not None:
        change = carried.change
        effect = Table("Effect of earlier actions", [
            "Title", "Owner", "Status", "Dimension", "Lens", "Before", "After", "Change",
            "Meaningful", "p"], widths=[40, 24, 12, 30, 16, 8, 8, 8, 10, 8])
        for e in carried.effects:
            c = _change(change, e.action)
            effect.rows.append([
                e.action.title, e.action.owner, e.action.status.value,
                titles.get(e.action.dimension, e.action.dimension), e.action.lens or "",
                *((c.get("previous"), c.get("current"), c.get("change"),
                   "yes" if c.get("significant") else "no", c.get("p_value")) if c
                  else ("", "", "", "not compared", ""))])
        out.append(effect)
    return out

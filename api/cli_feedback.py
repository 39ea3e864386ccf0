"""``credit-graph feedback``: the monthly report of applied measures (Nantong Art. 28).

The same numbers as GraphQL's ``measureReport``, for the credit management department
that receives the report and for operators without an API client.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from api.feedback import MonthlyReport
from api.settings import load_settings

feedback_app = typer.Typer(
    help="What the systems that apply measures reported, and reversals (Nantong Art. 28, "
    "Zhengzhou Art. 24).",
    no_args_is_help=True,
)

_COLUMNS = ("unit", "measure", "applied", "not applied", "reversed", "pending reversal")


def render_table(report: MonthlyReport) -> str:
    rows = [
        (r.unit or "-", r.measure, str(r.applied), str(r.not_applied), str(r.reversed),
         str(r.pending_reversal))
        for r in report.rows
    ]
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(_COLUMNS)]

    def line(cells: tuple[str, ...]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in pairs).rstrip()

    head = (f"measures applied, {report.month} (pending reversal as of "
            f"{report.pending_as_of.isoformat()})")
    if not rows:
        return f"{head}\nno reports"
    return "\n".join([head, line(_COLUMNS), line(tuple("-" * w for w in widths)),
                      *(line(r) for r in rows)])


@feedback_app.command("report")
def report(
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM.")],
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Per unit and measure: reported applied, not applied, reversed in the month, and
    pending reversal at its end."""
    from api.engine import open_store
    from api.feedback import monthly_report
    from schema.catalogue import load_catalogue
    from schema.policy import load_policy
    from schema.workdays import china_today

    settings = load_settings()
    policy, catalogue = load_policy(settings.policy), load_catalogue()
    with open_store(settings) as store:
        result = monthly_report(store, policy=policy, catalogue=catalogue, month=month,
                                today=china_today(), unit=unit)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_table(result))

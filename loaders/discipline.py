"""Providers' submission discipline: red / yellow / green (Nantong Art. 5).

The thresholds are data (``schema/data/provider_warnings.yaml``); the figures come from
the ingestion log and the records, so the report reflects what each provider actually
sent: each submission counts once and each licence or penalty counts once, so loading a
file again, or correcting a record, does not move a provider's light.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.table import Table

from graph.store import GraphStore
from queries.provenance import PROVIDER_DISCIPLINE, PROVIDER_LATENESS
from schema.workdays import CHINA_TIME, china_day, china_time, china_today

WARNINGS_FILE = (
    Path(__file__).resolve().parent.parent / "schema" / "data" / "provider_warnings.yaml"
)


class _Band(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_reject_rate: float = Field(ge=0, le=1)
    max_late_rate: float = Field(ge=0, le=1)
    max_days_since_last: int = Field(ge=1)


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    article: str
    green: _Band
    yellow: _Band


@cache
def thresholds() -> Thresholds:
    from schema.rulefiles import load_model

    return load_model(WARNINGS_FILE, Thresholds)


@dataclass(frozen=True)
class ProviderStanding:
    provider: str
    #: files sent (a file loaded again is the same submission)
    submissions: int
    #: load runs of them, reloads included
    runs: int
    rows_read: int
    rows_rejected: int
    deadline_records: int
    late_records: int
    last_run: str | None
    #: when the provider sent its latest submission, China time: what silence counts from
    last_submission: str | None
    reject_rate: float
    late_rate: float
    light: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _within(band: _Band, reject: float, late: float, days: int | None) -> list[str]:
    problems = []
    if reject > band.max_reject_rate:
        problems.append(f"rejects {reject:.1%} > {band.max_reject_rate:.0%}")
    if late > band.max_late_rate:
        problems.append(f"late {late:.1%} > {band.max_late_rate:.0%}")
    if days is None or days > band.max_days_since_last:
        problems.append(
            f"last submission {days} days ago" if days is not None else "never finished"
        )
    return problems


def _time(value: Any) -> dt.datetime | None:
    return china_time(dt.datetime.fromisoformat(str(value))) if value else None


def _latest(times: list[dt.datetime | None]) -> str | None:
    known = [t for t in times if t is not None]
    return max(known).astimezone(CHINA_TIME).isoformat() if known else None


def standing_row(provider: str, submissions: list[dict[str, Any]]) -> dict[str, Any]:
    """One provider's figures from its submissions (``PROVIDER_DISCIPLINE``: one row
    each). Silence counts from when the provider sent its latest file, not from when the
    platform loaded it: a backlog of old files loaded today is no sign of a provider
    that reports on time. Times are compared as times: they are stored with the offset
    they were given in (UTC by default, Beijing time for a naive ``--submitted-at``)."""
    return {
        "provider": provider,
        "submissions": len(submissions),
        "runs": sum(int(s["runs"]) for s in submissions),
        "rows_read": sum(int(s["rows_read"] or 0) for s in submissions),
        "rows_rejected": sum(int(s["rows_rejected"] or 0) for s in submissions),
        "last_submission": _latest([_time(s["submitted_at"]) for s in submissions]),
        "last_run": _latest([_time(s["last_run"]) for s in submissions]),
    }


def rate(row: dict[str, Any], today: dt.date) -> ProviderStanding:
    t = thresholds()
    read = int(row["rows_read"] or 0)
    rejected = int(row["rows_rejected"] or 0)
    deadline = int(row["deadline_records"] or 0)
    late = int(row["late_records"] or 0)
    reject_rate = rejected / read if read else 0.0
    late_rate = late / deadline if deadline else 0.0
    last = row.get("last_submission")
    days = (today - china_day(dt.datetime.fromisoformat(str(last)))).days if last else None
    green = _within(t.green, reject_rate, late_rate, days)
    yellow = _within(t.yellow, reject_rate, late_rate, days)
    light = "green" if not green else "yellow" if not yellow else "red"
    return ProviderStanding(
        provider=str(row["provider"]),
        submissions=int(row["submissions"]),
        runs=int(row["runs"]),
        rows_read=read,
        rows_rejected=rejected,
        deadline_records=deadline,
        late_records=late,
        last_run=str(row["last_run"]) if row.get("last_run") else None,
        last_submission=str(last) if last else None,
        reject_rate=round(reject_rate, 4),
        late_rate=round(late_rate, 4),
        light=light,
        reasons=tuple(yellow if yellow else green),
    )


def provider_report(store: GraphStore, today: dt.date | None = None) -> list[ProviderStanding]:
    late = {r["provider"]: r for r in store.read(PROVIDER_LATENESS)}
    by_provider: dict[str, list[dict[str, Any]]] = {}
    for sub in store.read(PROVIDER_DISCIPLINE, {"finished": "finished"}):
        by_provider.setdefault(str(sub["provider"]), []).append(sub)
    report = []
    for provider, submissions in sorted(by_provider.items()):
        row = standing_row(provider, submissions)
        counts = late.get(provider, {})
        row["deadline_records"] = counts.get("deadline_records")
        row["late_records"] = counts.get("late_records")
        report.append(rate(row, today or china_today()))
    return report


def render_report(report: list[ProviderStanding]) -> None:
    table = Table(title=f"Providers' submissions ({thresholds().article})")
    for col in ("provider", "light", "files", "runs", "rows", "rejected", "late",
                "last submission", "why"):
        table.add_column(col)
    colours = {"green": "green", "yellow": "yellow", "red": "red"}
    for s in report:
        table.add_row(
            s.provider,
            f"[{colours[s.light]}]{s.light}[/]",
            str(s.submissions),
            str(s.runs),
            f"{s.rows_read:,}",
            f"{s.rows_rejected:,} ({s.reject_rate:.1%})",
            f"{s.late_records:,}/{s.deadline_records:,} ({s.late_rate:.1%})",
            s.last_submission or "-",
            "; ".join(s.reasons) or "-",
        )
    Console().print(table)

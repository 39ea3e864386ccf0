"""``credit-graph analyze``: communities, risk scores and key persons from the command line.

The same analyses as GraphQL's ``communities``, ``riskScores`` and ``keyPersons``, for
analysts with access to the data directory. Whoever runs the command can read the
engine's files, so it sees what an operator sees: every record in force and every person.
ID numbers, though, are masked (first 3 and last 4 characters, as for any caller who may
not see them) unless ``--show-id-numbers`` is given: what these commands print is pasted
into reports, tickets and logs, and the project's rule is that no ID number reaches a log
in clear. Organisations' codes (USCCs) are public and always shown.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.settings import load_settings
from schema.codes import is_external, mask_code
from schema.dates import iso_date
from schema.errors import InvalidInput
from schema.workdays import china_today

if TYPE_CHECKING:  # NetworkX is imported when an analysis runs, not by every command
    from graph.analytics import Analysis

#: ``graph.analytics.subgraph.DEFAULT_HOPS`` / ``MAX_HOPS``, without importing NetworkX.
DEFAULT_HOPS = 1
MAX_HOPS = 3

analyze_app = typer.Typer(
    help="Whole-graph analytics on the dishonest subgraph (docs/analytics.md).",
    no_args_is_help=True,
)

AsOf = Annotated[str | None, typer.Option("--as-of", help="Date YYYY-MM-DD (default today).")]
First = Annotated[int, typer.Option("--first", min=1, help="How many to print.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Hops = Annotated[int, typer.Option("--hops", min=0, max=MAX_HOPS,
                                   help="Roles around the dishonest subjects to read.")]
ShowIds = Annotated[bool, typer.Option(
    "--show-id-numbers",
    help="Print persons' ID numbers in clear. By default they are masked (320*******0136): "
         "the output is often pasted into reports and logs, where no ID number may appear "
         "in clear. USCCs are public and always shown.",
)]


def _run(as_of: str | None, hops: int, use: Callable[[Analysis, dt.date], Any]) -> Any:
    from api.engine import open_store
    from graph.analytics import Analysis, read_dishonest_subgraph
    from schema.policy import load_policy

    try:
        day = iso_date(as_of) if as_of else china_today()
    except ValueError:
        raise InvalidInput(f"--as-of: {as_of!r} is not a date YYYY-MM-DD") from None
    settings = load_settings()
    policy = load_policy(settings.policy)
    with open_store(settings) as store:
        a = Analysis(read_dishonest_subgraph(store, policy=policy, on=day, hops=hops))
        return use(a, day)


def _emit(payload: dict[str, Any], lines: list[str], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        typer.echo("\n".join(lines))


def _shown(a: Analysis, code: str, show_ids: bool) -> str:
    """A subject's code as printed: an organisation's USCC as it is (public), anything else
    (an ID number, an ``ftm:`` id that may carry one) masked unless ``--show-id-numbers``."""
    if show_ids or (code in a.sub.graph and a.sub.kind(code) == "entity"
                    and not is_external(code)):
        return code
    return mask_code(code)


def _label(a: Analysis, code: str, show_ids: bool) -> str:
    name = a.sub.name(code)
    shown = _shown(a, code, show_ids)
    return f"{shown} {name}" if name else shown


@analyze_app.command("communities")
def communities(
    as_of: AsOf = None,
    first: First = 20,
    min_size: Annotated[int, typer.Option("--min-size", min=1, help="Smallest size shown.")] = 3,
    hops: Hops = DEFAULT_HOPS,
    as_json: AsJson = False,
    show_ids: ShowIds = False,
) -> None:
    """Communities of dishonest companies and the persons who join them (Louvain).

    Persons' ID numbers are masked unless --show-id-numbers is given."""

    def use(a: Analysis, day: dt.date) -> None:
        found = a.communities(min_size)[:first]

        def shown(codes: Iterable[str]) -> list[str]:
            return [_shown(a, c, show_ids) for c in codes]

        payload = {"asOf": day.isoformat(), "communities": [
            {"rank": i, "size": c.size, "dishonestCompanies": shown(c.dishonest_companies),
             "bridgingPersons": shown(c.bridging_persons), "members": shown(c.members)}
            for i, c in enumerate(found, start=1)
        ]}
        lines = [f"社区 ({day.isoformat()}): {len(found)}"]
        for i, c in enumerate(found, start=1):
            lines.append(f"#{i}  成员 {c.size}  失信企业 {len(c.dishonest_companies)}  "
                         f"关联自然人 {len(c.bridging_persons)}")
            lines.extend(f"    {_label(a, m, show_ids)}" for m in c.members)
        _emit(payload, lines, as_json)

    _run(as_of, hops, use)


@analyze_app.command("risk")
def risk(
    as_of: AsOf = None, first: First = 50, hops: Hops = DEFAULT_HOPS, as_json: AsJson = False,
    show_ids: ShowIds = False,
) -> None:
    """Risk spread from black-listed subjects (personalised PageRank), highest first.

    Persons' ID numbers are masked unless --show-id-numbers is given."""

    def use(a: Analysis, day: dt.date) -> None:
        top = a.risk().top(first)
        payload = {"asOf": day.isoformat(), "alpha": a.alpha, "scores": [
            {"rank": r.rank, "code": _shown(a, r.code, show_ids), "name": a.sub.name(r.code),
             "kind": a.sub.kind(r.code), "score": r.score, "distance": r.distance,
             "dishonest": r.dishonest, "blacklisted": r.blacklisted}
            for r in top
        ]}
        lines = [f"风险评分 ({day.isoformat()}): {len(top)}"]
        lines.extend(
            f"{r.rank:>4}  {r.score:.4f}  距离 {'-' if r.distance is None else r.distance}"
            f"  {'黑名单 ' if r.blacklisted else ''}{_label(a, r.code, show_ids)}"
            for r in top
        )
        _emit(payload, lines, as_json)

    _run(as_of, hops, use)


@analyze_app.command("key-persons")
def key_persons(
    as_of: AsOf = None,
    first: First = 20,
    min_companies: Annotated[int, typer.Option("--min-companies", min=1,
                                               help="Fewest dishonest companies.")] = 2,
    hops: Hops = DEFAULT_HOPS,
    as_json: AsJson = False,
    show_ids: ShowIds = False,
) -> None:
    """Persons holding office in the most dishonest companies on the date.

    Persons' ID numbers are masked unless --show-id-numbers is given."""

    def use(a: Analysis, day: dt.date) -> None:
        found = a.key_persons(min_companies)[:first]
        payload = {"asOf": day.isoformat(), "persons": [
            {"rank": i, "code": _shown(a, p.code, show_ids), "name": p.name,
             "dishonestCompanies": p.dishonest_companies,
             "blacklistedCompanies": p.blacklisted_companies,
             "offices": [{"company": _shown(a, o.company, show_ids), "type": o.type,
                          "since": o.since,
                          "until": o.until, "blacklisted": o.blacklisted} for o in p.offices]}
            for i, p in enumerate(found, start=1)
        ]}
        lines = [f"关键人员 ({day.isoformat()}): {len(found)}"]
        lines.extend(
            f"{i:>4}  失信企业 {p.dishonest_companies}  黑名单 {p.blacklisted_companies}  "
            f"{_label(a, p.code, show_ids)}"
            for i, p in enumerate(found, start=1)
        )
        _emit(payload, lines, as_json)

    _run(as_of, hops, use)

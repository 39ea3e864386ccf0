"""The in-memory alternative: the province as plain NetworkX graphs, no database.

What a team would keep in a process instead of a graph database, built from the same
interchange file as the service:

- ``g``: a ``MultiDiGraph`` of subjects and records (roles holder -> company keyed by the
  loader's identity, ``CONCERNS`` record -> subject, ``NAMES_RESPONSIBLE`` record ->
  person), on which the check walks the same branches as ``queries/check.py``;
- ``links``: every role as an undirected edge (no date filter, as ``paths`` and
  ``neighborhood`` read them by default), for paths and neighbourhoods;
- ``own``: the shareholdings held today, holder -> company with ratios, for
  ``controlChain``.

The path, neighbourhood and control-chain computations are those of
``bench/explore_networkx.py``; the check's rows go through the same rules as the
service's (``bench/province.py``).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.explore_networkx import nx_control, nx_neighborhood, nx_shortest_paths  # noqa: E402
from bench.province import (  # noqa: E402
    NAMED,
    NEGATIVE,
    OFFICE_ROLES,
    RESPONSIBLE_ROLES,
    Record,
    Role,
    Subject,
    decide,
    in_term,
    read_province,
    traversal_row,
)
from schema.catalogue import Catalogue  # noqa: E402
from schema.policy import Policy  # noqa: E402
from schema.sanctions import SanctionCheck  # noqa: E402

CONCERNS = "CONCERNS"
NAMES_RESPONSIBLE = "NAMES_RESPONSIBLE"
_OFFICE = frozenset(OFFICE_ROLES)
_RESP = frozenset(RESPONSIBLE_ROLES)


@dataclass(frozen=True)
class BuildStats:
    rows: int
    seconds: float
    rss_growth_mib: float
    nodes: int
    edges: int


class NetworkxBaseline:
    def __init__(self) -> None:
        self.g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        self.links: nx.Graph[str] = nx.Graph()
        self.own: nx.DiGraph[str] = nx.DiGraph()

    @classmethod
    def build(cls, src: Path, today: dt.date | None = None,
              progress: Callable[[int], None] | None = None) -> tuple[NetworkxBaseline, BuildStats]:
        before = psutil.Process().memory_info().rss
        started = time.perf_counter()
        day = (today or dt.date.today()).isoformat()
        base = cls()
        g, rows = base.g, 0
        held: dict[tuple[str, str, str], float] = {}
        for item in read_province(src):
            rows += 1
            if progress and rows % 5000 == 0:
                progress(5000)
            if isinstance(item, Subject):
                g.add_node(item.code, subject=item)
            elif isinstance(item, Role):
                g.add_edge(item.holder, item.entity, key=(item.type, item.key), role=item)
                base.links.add_edge(item.holder, item.entity)
                if item.type == "SHAREHOLDER_OF" and in_term(item.since, item.until, day):
                    held[(item.holder, item.entity, item.key)] = item.share_ratio or 0.0
            elif isinstance(item, Record):
                node = f"record:{item.uid}"
                if node in g:  # a resubmitted record replaces the earlier one
                    g.remove_node(node)
                g.add_node(node, record=item)
                g.add_edge(node, item.subject, key=CONCERNS)
                for person in item.responsible:
                    g.add_edge(node, person, key=NAMES_RESPONSIBLE)
        for (holder, entity, _), ratio in held.items():
            base.own.add_edge(holder, entity, ratio=ratio)
        stats = BuildStats(rows, time.perf_counter() - started,
                           (psutil.Process().memory_info().rss - before) / 2**20,
                           g.number_of_nodes(), g.number_of_edges())
        return base, stats

    # -- the check ------------------------------------------------------------------------
    def _subject(self, code: str) -> Subject | None:
        data = self.g.nodes.get(code)
        return data.get("subject") if data else None

    def _records_of(self, code: str, day: str) -> Iterator[Record]:
        for node, _, key in self.g.in_edges(code, keys=True):
            if key == CONCERNS:
                rec: Record = self.g.nodes[node]["record"]
                if rec.decided_on <= day:
                    yield rec

    def _naming(self, code: str, day: str) -> Iterator[Record]:
        for node, _, key in self.g.in_edges(code, keys=True):
            if key == NAMES_RESPONSIBLE:
                rec: Record = self.g.nodes[node]["record"]
                if rec.decided_on <= day:
                    yield rec

    def _roles(self, code: str, out: bool, types: frozenset[str]) -> Iterator[tuple[str, Role]]:
        edges: Any = (self.g.out_edges(code, keys=True, data="role") if out
                      else self.g.in_edges(code, keys=True, data="role"))
        for u, v, key, role in edges:
            if isinstance(key, tuple) and key[0] in types:
                yield (v if out else u), role

    def _led_records(self, person: str, day: str) -> Iterator[tuple[Subject, Role, Record]]:
        """Records of companies ``person`` represented or led on the record's act date."""
        for entity, ro in self._roles(person, True, _RESP):
            t = self._subject(entity)
            if t is None or t.kind != "entity":
                continue
            for rec in self._records_of(entity, day):
                if in_term(ro.since, ro.until, rec.act_date):
                    yield t, ro, rec

    def check_rows(self, code: str, on: dt.date) -> list[dict[str, Any]]:
        day = on.isoformat()
        s = self._subject(code)
        if s is None:
            return []
        rows = [traversal_row("exists", None, s, [s.code])]
        rows += [traversal_row("subject", r.props, s, [s.code])
                 for r in self._records_of(code, day)]
        if s.kind == "person":
            for t, ro, rec in self._led_records(code, day):
                rows.append(traversal_row("role", rec.props, t, [s.code, t.code], role=ro.role))
            for rec in self._naming(code, day):
                named = self._subject(rec.subject)
                assert named is not None
                rows.append(traversal_row("named", rec.props, named, [s.code, named.code],
                                          role=NAMED))
            for entity, o in self._roles(code, True, _OFFICE):
                held = self._subject(entity)
                if held is not None and held.kind == "entity" and in_term(o.since, o.until, day):
                    rows.append(traversal_row(
                        "office", None, held, [s.code, held.code], officer=s.code,
                        officer_role=o.role, officer_entity=held.code, officer_since=o.since))
        elif s.kind == "entity":
            for holder, o in self._roles(code, False, _OFFICE):
                p = self._subject(holder)
                if p is None or p.kind != "person" or not in_term(o.since, o.until, day):
                    continue
                office = {"officer": p.code, "officer_role": o.role, "officer_entity": s.code,
                          "officer_since": o.since}
                for rec in self._records_of(p.code, day):
                    if rec.props.get("category") == NEGATIVE:
                        rows.append(traversal_row("officer", rec.props, p, [s.code, p.code],
                                                  **office))
                for t, ro, rec in self._led_records(p.code, day):
                    if rec.props.get("category") == NEGATIVE:
                        rows.append(traversal_row("officer", rec.props, t,
                                                  [s.code, p.code, t.code], role=ro.role,
                                                  **office))
                for rec in self._naming(p.code, day):
                    about = self._subject(rec.subject)
                    if about is not None and rec.props.get("category") == NEGATIVE:
                        rows.append(traversal_row("officer", rec.props, about,
                                                  [s.code, p.code, about.code], role=NAMED,
                                                  **office))
        return rows

    def check(self, code: str, *, day: dt.date, policy: Policy,
              catalogue: Catalogue) -> SanctionCheck:
        return decide(code, self.check_rows(code, day), day=day, policy=policy,
                      catalogue=catalogue)

    # -- the link queries -----------------------------------------------------------------
    def paths(self, a: str, b: str, max_hops: int = 4, first: int = 5) -> list[list[str]]:
        return nx_shortest_paths(self.links, a, b, max_hops, first)

    def path_length(self, a: str, b: str, max_hops: int = 4) -> int | None:
        found = self.paths(a, b, max_hops, 1)
        return len(found[0]) - 1 if found else None

    def neighborhood(self, code: str) -> int:
        return nx_neighborhood(self.links, code)

    def control_chain(self, code: str) -> dict[str, float]:
        return nx_control(self.own, code)

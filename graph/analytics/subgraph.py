"""The dishonest subgraph: what the analytics read from the store into NetworkX.

A subject is *dishonest* on a date when at least one negative record about it is in
force on that date (``schema.record_life.record_state``) and the caller may see that
record; it is *black-listed* when such a record is on the black list. Around these seeds
the subgraph holds every subject within ``hops`` roles (default 1) held on the date, and
every role held on the date between any two subjects it holds (the induced subgraph), as
a ``networkx.MultiDiGraph`` whose edges run in the role's real direction (holder ->
organisation, branch -> head office), keyed by ``(type, since)`` so two terms of one role
stay two edges.

Reads are bounded: the records come one window of decision dates at a time (a month,
``queries/analytics.py``), the roles one batch of ``UNWIND $codes`` at a time, a hub's
roles cut at ``cap`` in the engine (its code is kept in ``capped``). Nothing is read per
node. The same assembly runs on rows from any source: ``bench/analytics.py`` feeds it the
generated file directly to measure the database's share of the cost.

Natural persons: with ``include_persons=False`` no person enters the subgraph, neither as
a seed nor as a neighbour, so nothing computed on it can be reached *through* a person
the caller may not see (the same rule as the investigation walks, ``api/explore.py``).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import networkx as nx

from graph.gc_pause import gc_paused
from graph.record_versions import with_content_on
from graph.store import GraphStore
from queries.analytics import (
    ANALYTICS_LINKS_OF,
    NEGATIVE_RECORDS_CORRECTED,
    NEGATIVE_RECORDS_DECIDED,
    NEGATIVE_RECORDS_SPAN,
)
from schema.models import Category, ListKind
from schema.policy import Policy
from schema.record_life import record_state

__all__ = [
    "DEFAULT_CAP",
    "DEFAULT_HOPS",
    "MAX_HOPS",
    "DishonestSubgraph",
    "LinkRow",
    "RecordVisible",
    "Seed",
    "build_subgraph",
    "read_dishonest_subgraph",
    "seeds_from_rows",
    "store_links_of",
    "store_record_rows",
]

#: One hop: the people and companies directly joined to a dishonest subject, which is
#: who joint punishment reaches (DOMAIN.md section 8). More hops grow the graph by the
#: mean degree each time; risk reaches them anyway through the spreading.
DEFAULT_HOPS = 1
MAX_HOPS = 3
#: Roles of one subject read at most; past it the subject is a hub (a nominee director on
#: thousands of boards) and its code is listed in ``capped``.
DEFAULT_CAP = 5000
#: Subjects per ``UNWIND $codes`` round trip.
DEFAULT_BATCH = 1000

MIN_DATE = "0000-01-01"
MAX_DATE = "9999-12-31"

#: ``visible(record, subject_kind, subject_ended)``: may the caller see this record?
RecordVisible = Callable[[Mapping[str, Any], str, Any], bool]
#: One role as a walk reads it: ``(other code, other kind, other name, type, outgoing,
#: since, until, share_ratio)``; ``outgoing`` when the listed subject is the holder.
LinkRow = tuple[str, str | None, str | None, str, bool, str | None, str | None, float | None]
#: ``links_of(codes)`` -> ``(code, degree, links)`` per code with roles; ``degree`` counts
#: every role that passed the filters, ``links`` may be cut below it.
LinksOf = Callable[[Sequence[str]], Iterable[tuple[str, int, Sequence[LinkRow]]]]


@dataclass(frozen=True)
class Seed:
    """A dishonest subject: its negative records in force, and those on the black list."""

    code: str
    kind: str
    name: str | None
    negative: int
    black: int

    @property
    def blacklisted(self) -> bool:
        return self.black > 0


@dataclass
class DishonestSubgraph:
    """Node attributes: ``kind``, ``name``, ``hop`` (0 for seeds), ``dishonest``,
    ``blacklisted``, ``negative`` and ``black`` (record counts). Edge attributes: ``type``,
    ``since``, ``until`` (ISO strings or None), ``share_ratio``."""

    graph: nx.MultiDiGraph[str]
    on: dt.date
    hops: int
    include_persons: bool
    capped: frozenset[str] = field(default_factory=frozenset)

    def kind(self, code: str) -> str:
        return str(self.graph.nodes[code]["kind"])

    def name(self, code: str) -> str | None:
        name = self.graph.nodes[code].get("name")
        return None if name is None else str(name)

    def is_dishonest(self, code: str) -> bool:
        return code in self.graph and bool(self.graph.nodes[code]["dishonest"])

    def is_blacklisted(self, code: str) -> bool:
        return code in self.graph and bool(self.graph.nodes[code]["blacklisted"])

    @property
    def dishonest(self) -> list[str]:
        return sorted(c for c, d in self.graph.nodes(data=True) if d["dishonest"])

    @property
    def blacklisted(self) -> list[str]:
        return sorted(c for c, d in self.graph.nodes(data=True) if d["blacklisted"])

    @property
    def truncated(self) -> bool:
        return bool(self.capped)


T = TypeVar("T")


def _ahead(calls: Iterable[Callable[[], T]], depth: int = 1) -> Iterator[T]:
    """The results of ``calls`` in order, each started ``depth`` calls before it is needed.

    The engine is another process: while Python turns one batch of rows into seeds or
    edges, the engine already computes the next one on the other core. The gain is
    modest because Python's side (parsing the replies) is most of the work: on the
    1,000,000-entity province the read took 33 s this way and 35-37 s one batch at a
    time."""
    pending: deque[Future[T]] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="analytics-read") as pool:
        try:
            for call in calls:
                pending.append(pool.submit(call))
                if len(pending) > depth:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


# -- seeds ------------------------------------------------------------------------------------
def seeds_from_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    policy: Policy,
    on: dt.date,
    visible: RecordVisible | None = None,
    include_persons: bool = True,
) -> dict[str, Seed]:
    """Seeds from rows carrying ``code``, ``subject_kind``, ``subject_name``,
    ``subject_ended`` and ``record`` (already in its content on ``on``)."""
    negative: dict[str, int] = {}
    black: dict[str, int] = {}
    about: dict[str, tuple[str, str | None]] = {}
    for row in rows:
        rec = row.get("record")
        if not rec or rec.get("category") != Category.NEGATIVE.value:
            continue
        kind = str(row["subject_kind"])
        if kind == "person" and not include_persons:
            continue
        ended = row.get("subject_ended")
        state = record_state(rec, subject_kind=kind, subject_ended=ended, policy=policy, on=on)
        if not state.in_force:
            continue
        if visible is not None and not visible(rec, kind, ended):
            continue
        code = str(row["code"])
        about[code] = (kind, row.get("subject_name"))
        negative[code] = negative.get(code, 0) + 1
        if rec.get("list") == ListKind.BLACK.value:
            black[code] = black.get(code, 0) + 1
    return {
        code: Seed(code, kind, name, negative[code], black.get(code, 0))
        for code, (kind, name) in sorted(about.items())
    }


def _months(first: dt.date, last: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    """Windows of one calendar month, ``(first day, last day)`` both inclusive, from
    ``first``'s month to ``last`` itself. Inclusive, not ``[start, next month)``: the month
    after December 9999 has no ``date``, and an analysis as of 9999-12-31 is a date the
    API accepts."""
    start = first.replace(day=1)
    while start <= last:
        if (start.year, start.month) == (dt.MAXYEAR, 12):
            yield start, last
            return
        nxt = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        yield start, min(nxt - dt.timedelta(days=1), last)
        start = nxt


def store_record_rows(store: GraphStore, on: dt.date) -> Iterator[dict[str, Any]]:
    """The candidate records decided by ``on``, a month of decisions per read, each in
    the content that stood on ``on`` (a provider's later change does not count yet).

    The windows stop at the last decision in the graph: past it every window is empty,
    and a date far ahead (``9998-01-01``) would otherwise cost one read per month until
    then, some 96,000, for the answer the last decision's month already gives.

    A record whose decision date a correction moved past ``on`` is in no window up to
    ``on``, though the content that stood on ``on`` may count: when ``on`` is before the
    last decision, one more read brings those records from their versions
    (``NEGATIVE_RECORDS_CORRECTED``), as the check counts them."""
    found = store.read(NEGATIVE_RECORDS_SPAN, {"category": Category.NEGATIVE.value})
    first = found[0]["first"] if found else None
    last = found[0]["last"] if found else None
    if not first or not last:
        return
    start = dt.date.fromisoformat(str(first)[:10])
    end = min(on, dt.date.fromisoformat(str(last)[:10]))
    seen: set[str] = set()
    windows = list(_months(start, end))

    def reader(lo: dt.date, hi: dt.date) -> Callable[[], list[dict[str, Any]]]:
        return lambda: store.read(
            NEGATIVE_RECORDS_DECIDED,
            {"from": lo.isoformat(), "last": hi.isoformat(),
             "category": Category.NEGATIVE.value},
        )

    for (lo, hi), rows in zip(windows, _ahead(reader(lo, hi) for lo, hi in windows),
                              strict=True):
        # FalkorDB's string range index returns records past the window's upper bound
        # (graph/dialect.py): keep each record once, in the window it belongs to.
        low, high = lo.isoformat(), hi.isoformat()
        mine = []
        for r in rows:
            uid = r["record"]["uid"]
            if uid in seen or not low <= str(r["record"]["decided_on"])[:10] <= high:
                continue
            seen.add(uid)
            mine.append(r)
        yield from with_content_on(store, mine, on)
    if end < dt.date.fromisoformat(str(last)[:10]):
        later = store.read(
            NEGATIVE_RECORDS_CORRECTED,
            {"on": on.isoformat(), "last": end.isoformat(),
             "category": Category.NEGATIVE.value},
        )
        mine = [r for r in later if r["record"]["uid"] not in seen
                and str(r["record"]["decided_on"])[:10] > end.isoformat()]
        yield from with_content_on(store, mine, on)


# -- links --------------------------------------------------------------------------------------
def store_links_of(
    store: GraphStore, on: dt.date, *, include_persons: bool, cap: int = DEFAULT_CAP
) -> LinksOf:
    """Roles held on ``on`` of a batch of subjects, from the store."""
    params = {
        "on": on.isoformat(),
        "min_date": MIN_DATE,
        "max_date": MAX_DATE,
        "persons": include_persons,
        "cap": cap,
    }

    def links_of(codes: Sequence[str]) -> Iterator[tuple[str, int, Sequence[LinkRow]]]:
        for row in store.read(ANALYTICS_LINKS_OF, {**params, "codes": list(codes)}):
            yield row["code"], int(row["degree"]), [tuple(x) for x in row["links"]]

    return links_of


def _batches(codes: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(codes), size):
        yield codes[i : i + size]


def _reader(
    links_of: LinksOf, chunk: Sequence[str]
) -> Callable[[], list[tuple[str, int, Sequence[LinkRow]]]]:
    return lambda: list(links_of(chunk))


def _share(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def build_subgraph(
    seeds: Mapping[str, Seed],
    links_of: LinksOf,
    *,
    on: dt.date,
    hops: int = DEFAULT_HOPS,
    include_persons: bool = True,
    batch: int = DEFAULT_BATCH,
) -> DishonestSubgraph:
    """The seeds, their ``hops``-neighbourhood by roles held on ``on``, and every role
    among them. The outer ring's roles are read as well, and only those that stay inside
    the subgraph are kept: that is what makes it induced."""
    if not 0 <= hops <= MAX_HOPS:
        raise ValueError(f"hops must be between 0 and {MAX_HOPS}")
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for s in seeds.values():
        g.add_node(s.code, kind=s.kind, name=s.name, hop=0, dishonest=True,
                   blacklisted=s.blacklisted, negative=s.negative, black=s.black)
    capped: set[str] = set()
    ring = sorted(seeds)
    for level in range(1, hops + 2):
        outer = level == hops + 1
        nxt: set[str] = set()
        calls = (_reader(links_of, chunk) for chunk in _batches(ring, batch))
        for rows in _ahead(calls):
            for code, degree, links in rows:
                if degree > len(links):
                    capped.add(code)
                for link in links:
                    other, kind, name = link[0], link[1], link[2]
                    if other not in g:
                        if outer:
                            continue  # leaves the subgraph
                        g.add_node(other, kind=kind or "entity", name=name, hop=level,
                                   dishonest=False, blacklisted=False, negative=0, black=0)
                        nxt.add(other)
                    _add_edge(g, code, link)
        if outer:
            break
        ring = sorted(nxt)
    return DishonestSubgraph(g, on, hops, include_persons, frozenset(capped))


def _add_edge(g: nx.MultiDiGraph[str], code: str, link: LinkRow) -> None:
    other, _kind, _name, rel_type, outgoing, since, until, share = link
    holder, entity = (code, other) if outgoing else (other, code)
    # Seen from both ends when both were expanded: the key makes the second a no-op.
    g.add_edge(holder, entity, key=(rel_type, since or ""), type=rel_type, since=since,
               until=until, share_ratio=_share(share))


def read_dishonest_subgraph(
    store: GraphStore,
    *,
    policy: Policy,
    on: dt.date,
    visible: RecordVisible | None = None,
    include_persons: bool = True,
    hops: int = DEFAULT_HOPS,
    cap: int = DEFAULT_CAP,
    batch: int = DEFAULT_BATCH,
) -> DishonestSubgraph:
    """The dishonest subgraph on ``on`` as the caller behind ``visible`` may see it."""
    with gc_paused():
        seeds = seeds_from_rows(
            store_record_rows(store, on), policy=policy, on=on, visible=visible,
            include_persons=include_persons,
        )
        return build_subgraph(
            seeds, store_links_of(store, on, include_persons=include_persons, cap=cap),
            on=on, hops=hops, include_persons=include_persons, batch=batch,
        )

"""Investigation reads behind ``paths``, ``neighborhood`` and ``controlChain``.

All three walk the graph from Python, one level per round trip: every subject of a level
goes to the engine in one ``UNWIND $codes`` query (``queries/explore.py``), so the cost
of a request follows the subjects it actually reaches, never a variable-length pattern's
fan-out. ``bench/explore_latency.py`` measured the choice on a 20k-entity graph against a
single variable-length ``MATCH`` (figures in its docstring): a few ms slower on a graph
without hubs, bounded (tens of ms instead of seconds) once hubs are in.

Natural persons. Every function takes ``include_persons``; when it is False (the public,
Wuhan Art. 19: natural persons' information is never public), no person appears in any
answer and nothing is found *through* one:

- a person asked for by code is reported exactly like an unknown code (``NotFound``), so
  the answer does not even confirm that the ID number is in the graph;
- the walks drop persons in the engine (``$persons``), so a path or a neighbourhood that
  would need one is simply not there;
- ``control_chain`` cannot drop them: a person's stake is part of who owns the company.
  Their holdings are added up into one anonymous ``Controller`` (``undisclosed=True``,
  no code, no name) whose chains show the organisations the stake runs through. That
  tells the public how much of a company natural persons hold, as the registry does,
  without saying who or how many; its ``controlling`` / ``beneficial_owner`` flags are
  always False, because a sum over several people says nothing about any one of them.

Codes in the answers are raw; the GraphQL layer masks ID numbers for callers who may
see persons but not their numbers (``schema.access.shown_code``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from api.checks import check_key
from graph.store import GraphStore
from queries.explore import (
    LINK_TYPES,
    LINKS_AMONG,
    LINKS_OF,
    LINKS_OF_TO,
    SHAREHOLDERS_OF,
    SUBJECTS_BRIEF,
)
from queries.roles import REL_TYPES
from schema.codes import is_external, mask_code
from schema.errors import InvalidInput, LimitExceeded, NotFound
from schema.record_view import as_date
from schema.workdays import china_today

__all__ = [
    "BENEFICIAL_OWNER_SHARE",
    "CONTROLLING_SHARE",
    "ControlStep",
    "Controller",
    "GraphEdge",
    "GraphNode",
    "GraphPath",
    "Subgraph",
    "control_chain",
    "find_paths",
    "neighborhood",
]

# -- bounds (the GraphQL arguments' names, as a caller sees them in an error) -------------
MAX_PATH_HOPS = 6
MAX_PATHS = 20
MAX_NEIGHBORHOOD_HOPS = 3
MAX_NEIGHBORHOOD_LIMIT = 5000
#: Shareholding levels followed above a company before a chain is cut.
MAX_OWNERSHIP_LEVELS = 10

#: Links of one subject a path search reads. A subject with more (a holding company of
#: thousands) is a hub: only this many of its links are followed, in engine order, so a
#: path that needs one of the others from that side can be missed (the other end of the
#: search may still reach it). Bounded work at hubs is what keeps a path query fast.
PATH_DEGREE_CAP = 200
#: Subjects a path search may expand before it gives up (``LimitExceeded``), unless it
#: has already found paths, which are then returned.
PATH_SEARCH_BUDGET = 20_000
#: Steps of the in-memory enumeration of simple paths; past it, the paths found so far
#: (a correct prefix of the order) are returned.
PATH_ENUMERATION_BUDGET = 200_000
#: Ownership chains one company may have before the answer is refused as unreadable.
MAX_CHAINS = 10_000

#: A controlling holder has an effective share above one half: the Company Law (2023)
#: Art. 265(2) defines the controlling shareholder (控股股东) by a contribution or holding
#: "超过百分之五十" of the capital; here it is applied to the effective, look-through share.
CONTROLLING_SHARE = 0.5
#: A natural person with an effective share of 25% or more is a beneficial owner
#: (受益所有人): PBOC 银发〔2017〕235号 and its follow-up 银发〔2018〕164号 set the 25%
#: look-through rule for customer due diligence; the PBOC/SAMR Measures on Beneficial
#: Owner Information (2024 Order No. 3) Art. 6(1) say "25%以上", which includes 25% (Civil
#: Code Art. 1259), hence ``>=``. The concept is about natural persons, so organisations
#: never carry the flag, whatever their share.
BENEFICIAL_OWNER_SHARE = 0.25
#: Shares are products of decimals; they are compared and reported at this precision so
#: that 0.01 * 0.07 reads 0.0007 (not 0.0007000000000000001) and rounding error never
#: moves a stake that sits exactly on a threshold across it.
SHARE_DIGITS = 9

# Open ends of a term, as ISO strings sorting before / after every real date.
MIN_DATE = "0000-01-01"
MAX_DATE = "9999-12-31"


# -- what the functions return --------------------------------------------------------------
@dataclass(frozen=True)
class GraphNode:
    code: str
    name: str | None
    kind: str  # entity, person, or external (an FtM id)


@dataclass(frozen=True)
class GraphEdge:
    """One role, with its real direction: ``from_code`` holds the role in ``to_code``."""

    type: str
    from_code: str
    to_code: str
    since: dt.date | None
    until: dt.date | None
    share_ratio: float | None = None


@dataclass(frozen=True)
class GraphPath:
    """A simple path: distinct subjects, and for each hop every role joining the two.

    Two subjects may be joined by several roles (a legal representative who is also a
    shareholder): the path is the sequence of subjects, and ``edges`` lists every role of
    every hop in order, so ``len(edges) >= len(nodes) - 1``.
    """

    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]

    @property
    def length(self) -> int:
        return len(self.nodes) - 1


@dataclass(frozen=True)
class Subgraph:
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    truncated: bool


@dataclass(frozen=True)
class ControlStep:
    """``holder_code`` holds ``share_ratio`` of ``entity_code``.

    ``holder_code`` is None for natural persons the caller may not see (the anonymous
    aggregate); ``share_ratio`` is None when the provider gave no ratio.
    """

    holder_code: str | None
    entity_code: str
    share_ratio: float | None


@dataclass(frozen=True)
class Controller:
    """An ultimate owner of a company and every chain its stake reaches the company by.

    ``effective_share`` is None when a chain has a shareholding without a ratio: the
    chain is kept (the link is real), its share is unknown, so is the sum.
    ``known_share`` sums the chains whose ratios are all known; it is a lower bound, and
    the two flags are decided on it, so a True flag is certain and a False one may only
    mean "not known". ``ultimate`` is False when the holder does have shareholders but
    the chain stopped at it: every one of them is already on the chain (a closed
    cross-holding) or the chain reached ``MAX_OWNERSHIP_LEVELS``. ``undisclosed`` marks
    the one aggregate of natural persons a caller who may not see them gets instead of
    them (no code, no name, flags always False).
    """

    code: str | None
    name: str | None
    kind: str
    effective_share: float | None
    known_share: float
    chains: tuple[tuple[ControlStep, ...], ...]
    controlling: bool
    beneficial_owner: bool
    ultimate: bool = True
    undisclosed: bool = False


# -- validation ------------------------------------------------------------------------------
def _bounded(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be an integer")
    if not low <= value <= high:
        raise LimitExceeded(f"{name} must be between {low} and {high}, not {value}")
    return value


def _link_types(types: Iterable[str] | None) -> list[str]:
    """Relationship types to follow; role names (``shareholder``) are accepted too."""
    if types is None:
        return list(LINK_TYPES)
    if isinstance(types, str):
        types = [types]
    out: list[str] = []
    for t in types:
        name = REL_TYPES.get(t, t) if isinstance(t, str) else t
        if name not in LINK_TYPES:
            raise InvalidInput(f"types: {t!r} is not one of {', '.join(LINK_TYPES)}")
        if name not in out:
            out.append(name)
    if not out:
        raise InvalidInput("types: give at least one relationship type, or none at all")
    return out


def _node(row: Mapping[str, Any]) -> GraphNode:
    code = str(row["code"])
    kind = row.get("kind") or (
        "person" if row.get("person") else "external" if is_external(code) else "entity"
    )
    return GraphNode(code=code, name=row.get("name"), kind=str(kind))


def _subjects(
    store: GraphStore, codes: Sequence[str], include_persons: bool
) -> dict[str, GraphNode]:
    """The subjects asked for by the caller; a hidden person is as unknown as a typo."""
    rows = store.read(SUBJECTS_BRIEF, {"codes": list(dict.fromkeys(codes))})
    found = {r["code"]: _node(r) for r in rows if include_persons or not r.get("person")}
    for code in codes:
        if code not in found:
            raise NotFound(f"no subject with code {mask_code(code)}")
    return found


def _describe(store: GraphStore, codes: Iterable[str]) -> dict[str, GraphNode]:
    """Names and kinds of subjects a walk reached (they exist: the walk read them)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = store.read(SUBJECTS_BRIEF, {"codes": wanted})
    return {r["code"]: _node(r) for r in rows}


# -- the level-by-level walk ------------------------------------------------------------
@dataclass
class _Walk:
    """The part of the graph read so far: for each subject, its links by neighbour.

    Only subjects passed to ``expand`` have all their links here (up to ``cap``); the
    others appear as the far end of those links.
    """

    store: GraphStore
    types: list[str]
    as_of: dt.date | None
    persons: bool
    cap: int
    adjacency: dict[str, dict[str, set[GraphEdge]]] = field(default_factory=dict)
    expanded: set[str] = field(default_factory=set)
    capped: set[str] = field(default_factory=set)
    _sorted: dict[str, list[str]] = field(default_factory=dict)

    def _params(self) -> dict[str, Any]:
        day = self.as_of.isoformat() if self.as_of else None
        return {
            "types": self.types,
            "min_date": MIN_DATE,
            "max_date": MAX_DATE,
            # A role whose term covers the day; without a day, every role.
            "latest_start": day or MAX_DATE,
            "earliest_end": day or MIN_DATE,
        }

    def _add(self, edge: GraphEdge) -> None:
        self.adjacency.setdefault(edge.from_code, {}).setdefault(edge.to_code, set()).add(edge)
        self.adjacency.setdefault(edge.to_code, {}).setdefault(edge.from_code, set()).add(edge)
        self._sorted.pop(edge.from_code, None)
        self._sorted.pop(edge.to_code, None)

    def expand(self, codes: Iterable[str]) -> None:
        todo = sorted(set(codes) - self.expanded)
        if not todo:
            return
        params = {**self._params(), "codes": todo, "persons": self.persons, "cap": self.cap}
        for row in self.store.read(LINKS_OF, params):
            code = row["code"]
            if row["degree"] > len(row["links"]):
                self.capped.add(code)
            for other, rel_type, outgoing, since, until, share in row["links"]:
                holder, entity = (code, other) if outgoing else (other, code)
                self._add(
                    GraphEdge(rel_type, holder, entity, as_date(since), as_date(until), share)
                )
        for code in todo:
            self.expanded.add(code)
            self.adjacency.setdefault(code, {})

    def link_hubs_to(self, hubs: Iterable[str], others: Iterable[str]) -> None:
        """Read the links between capped subjects and ``others``, wherever the cap fell."""
        hub_list, other_list = sorted(set(hubs)), sorted(set(others))
        if not hub_list or not other_list:
            return
        params = {**self._params(), "codes": hub_list, "others": other_list,
                  "persons": self.persons}
        for row in self.store.read(LINKS_OF_TO, params):
            holder, entity = (
                (row["code"], row["other"]) if row["outgoing"] else (row["other"], row["code"])
            )
            self._add(GraphEdge(row["type"], holder, entity, as_date(row["since"]),
                                as_date(row["until"]), row["share_ratio"]))

    def link_among(self, codes: Sequence[str]) -> None:
        """Read the links whose two ends are both in ``codes`` (subjects not expanded)."""
        if not codes:
            return
        params = {**self._params(), "codes": sorted(codes)}
        for row in self.store.read(LINKS_AMONG, params):
            self._add(
                GraphEdge(
                    row["type"],
                    row["code"],
                    row["other"],
                    as_date(row["since"]),
                    as_date(row["until"]),
                    row["share_ratio"],
                )
            )

    def neighbours(self, code: str) -> list[str]:
        """In code order, which is what makes every answer deterministic; cached, since
        the path enumeration asks for the same subjects over and over."""
        out = self._sorted.get(code)
        if out is None:
            out = self._sorted[code] = sorted(self.adjacency.get(code, {}))
        return out


def edge_order(e: GraphEdge) -> tuple[str, str, str, dt.date, dt.date]:
    """One order for every edge list served, so an export lists edges as the API does."""
    return (e.from_code, e.to_code, e.type, e.since or dt.date.min, e.until or dt.date.max)


# -- paths ---------------------------------------------------------------------------------
def find_paths(
    store: GraphStore,
    from_code: str,
    to_code: str,
    *,
    max_hops: int = 4,
    first: int = 5,
    types: Iterable[str] | None = None,
    as_of: dt.date | None = None,
    include_persons: bool = True,
) -> list[GraphPath]:
    """The ``first`` shortest simple paths of at most ``max_hops`` roles between two subjects.

    Ordered by length, then by the codes of the subjects along the path (so the same
    graph always gives the same answer). ``first`` counts every path returned, the
    shortest included. Roles are followed in either direction and reported in their own.

    The search is bidirectional breadth-first: each round expands the side whose
    frontier is smaller, one query for the whole frontier. Once the two sides have gone
    ``d`` and ``e`` levels deep, every simple path of length <= d + e lies in what was
    read (its subjects within ``d`` of one end are expanded from that end, the others
    from the other end), so the paths are enumerated from memory as soon as enough of
    them are certain, and the search stops; no round goes past ``max_hops`` in total.
    """
    _bounded("maxHops", max_hops, 1, MAX_PATH_HOPS)
    _bounded("first", first, 1, MAX_PATHS)
    a, b = check_key(from_code, "fromCode"), check_key(to_code, "toCode")
    if a == b:
        raise InvalidInput("fromCode and toCode are the same subject")
    link_types = _link_types(types)
    ends = _subjects(store, [a, b], include_persons)
    walk = _Walk(store, link_types, as_of, include_persons, PATH_DEGREE_CAP)

    depth = {a: {a: 0}, b: {b: 0}}  # per side: subject -> distance from that end
    frontier = {a: [a], b: [b]}
    levels = {a: 0, b: 0}
    spent = 0
    found: list[list[str]] = []
    hubs_linked: frozenset[str] = frozenset()
    reached: frozenset[str] = frozenset()
    while True:
        reach = levels[a] + levels[b]
        exhausted = not frontier[a] or not frontier[b]
        if exhausted:
            # One side's component is read entirely: every path is in memory.
            reach = max_hops
        if reach > 0:
            found = _simple_paths(walk, a, b, reach, first)
            if len(found) >= first or reach >= max_hops:
                break
        side = a if len(frontier[a]) <= len(frontier[b]) else b
        if spent + len(frontier[side]) > PATH_SEARCH_BUDGET:
            if found:
                break
            raise LimitExceeded(
                f"paths: the search reached more than {PATH_SEARCH_BUDGET} subjects within "
                f"{reach} hops without finding a path; lower maxHops or filter by types or asOf"
            )
        spent += len(frontier[side])
        walk.expand(frontier[side])
        seen = depth[side]
        level = levels[side] + 1
        nxt = sorted({n for c in frontier[side] for n in walk.neighbours(c) if n not in seen})
        for n in nxt:
            seen[n] = level
        frontier[side] = nxt
        levels[side] = level
        hubs_linked, reached = _link_hubs(walk, hubs_linked, reached, depth[a].keys() | depth[b])

    if not found and walk.capped:
        raise LimitExceeded(
            f"paths: no path found among the links read, but {len(walk.capped)} subject(s) "
            f"on the way have more than {PATH_DEGREE_CAP} links and only that many of each "
            "were followed, so a path may exist; filter by types or asOf"
        )
    names = _describe(store, {c for p in found for c in p} - set(ends))
    names.update(ends)
    return [_as_path(walk, p, names) for p in found]


def _link_hubs(
    walk: _Walk, hubs_linked: frozenset[str], reached: frozenset[str], now_reached: set[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """Complete what the degree cap left out between hubs and the subjects reached.

    A hub's links are cut at ``PATH_DEGREE_CAP`` in engine order, so a link from a hub to
    a subject the search has reached could be in no list read (two hubs linked directly
    were reported as not connected). Each round reads the links of new hubs to every
    subject reached, and of earlier hubs to the subjects reached since: each pair is
    asked once, in at most two queries a round, and only when there are hubs.
    """
    new_hubs = walk.capped - hubs_linked
    walk.link_hubs_to(new_hubs, now_reached)
    walk.link_hubs_to(hubs_linked, now_reached - reached)
    return frozenset(walk.capped), frozenset(now_reached)


def _as_path(walk: _Walk, codes: list[str], names: Mapping[str, GraphNode]) -> GraphPath:
    edges: list[GraphEdge] = []
    for u, v in pairwise(codes):
        edges.extend(sorted(walk.adjacency[u][v], key=edge_order))
    return GraphPath(
        nodes=tuple(names.get(c, GraphNode(c, None, "entity")) for c in codes),
        edges=tuple(edges),
    )


def _distances(walk: _Walk, start: str, limit: int) -> dict[str, int]:
    dist = {start: 0}
    level = [start]
    for d in range(1, limit + 1):
        nxt = [n for c in level for n in walk.adjacency.get(c, {}) if n not in dist]
        for n in nxt:
            dist[n] = d
        level = list(dict.fromkeys(nxt))
        if not level:
            break
    return dist


@dataclass
class _Steps:
    left: int


def _simple_paths(walk: _Walk, a: str, b: str, max_len: int, want: int) -> list[list[str]]:
    """Up to ``want`` simple a-b paths of length <= ``max_len`` in the part read so far.

    Lengths are taken in turn; within one, a depth-first search over neighbours in code
    order yields the paths in lexicographic order of their codes, so the first ``want``
    found are the answer. ``to_b`` (distances to ``b`` in memory) prunes every prefix
    that can no longer reach ``b`` in time. Past ``PATH_ENUMERATION_BUDGET`` steps the
    paths found so far are returned: a prefix of the order, never a wrong order.
    """
    to_b = _distances(walk, b, max_len)
    if a not in to_b:
        return []
    out: list[list[str]] = []
    steps = _Steps(PATH_ENUMERATION_BUDGET)
    for length in range(to_b[a], max_len + 1):
        for path in _paths_of_length(walk, a, b, length, to_b, steps):
            out.append(path)
            if len(out) >= want:
                return out
        if steps.left <= 0:
            break
    return out


def _paths_of_length(
    walk: _Walk, a: str, b: str, length: int, to_b: Mapping[str, int], steps: _Steps
) -> Iterator[list[str]]:
    path = [a]
    on_path = {a}
    stack: list[Iterator[str]] = [iter(walk.neighbours(a))]
    while stack:
        steps.left -= 1
        if steps.left < 0:
            return
        nxt = next(stack[-1], None)
        if nxt is None:
            stack.pop()
            on_path.discard(path.pop())
            continue
        hops = len(path)  # the length of the path once nxt is appended
        if nxt in on_path or hops + to_b.get(nxt, length + 1) > length:
            continue
        if nxt == b:
            if hops == length:
                yield [*path, b]
            continue
        path.append(nxt)
        on_path.add(nxt)
        stack.append(iter(walk.neighbours(nxt)))


# -- neighbourhood -------------------------------------------------------------------------
def neighborhood(
    store: GraphStore,
    code: str,
    *,
    hops: int = 1,
    limit: int = 500,
    include_persons: bool = True,
    types: Iterable[str] | None = None,
    as_of: dt.date | None = None,
) -> Subgraph:
    """The subjects within ``hops`` roles of one, and every role among them.

    Nearer subjects come first: a level is taken whole while it fits, and when ``limit``
    subjects (the centre included) would be exceeded, the rest of that level is cut in
    code order and ``truncated`` is True. ``truncated`` is also True when a hub had more
    links than ``limit`` (only ``limit`` were read, in engine order), since some of its
    neighbours or roles may then be missing. The roles are those of the induced
    subgraph: between any two subjects shown, including two on the outer ring.
    """
    _bounded("hops", hops, 1, MAX_NEIGHBORHOOD_HOPS)
    _bounded("limit", limit, 1, MAX_NEIGHBORHOOD_LIMIT)
    centre = check_key(code)
    link_types = _link_types(types)
    found = _subjects(store, [centre], include_persons)
    walk = _Walk(store, link_types, as_of, include_persons, limit)

    kept: dict[str, int] = {centre: 0}
    ring = [centre]
    truncated = False
    for level in range(1, hops + 1):
        walk.expand(ring)
        candidates = sorted({n for c in ring for n in walk.neighbours(c) if n not in kept})
        room = limit - len(kept)
        if len(candidates) > room:
            truncated = True
            candidates = candidates[:room]
        for n in candidates:
            kept[n] = level
        ring = candidates
        if not ring:
            break
    walk.link_among(ring)
    truncated = truncated or bool(walk.capped)

    names = _describe(store, set(kept) - {centre})
    names.update(found)
    nodes = sorted(kept, key=lambda c: (kept[c], c))
    edges = {
        e
        for c in kept
        for other, links in walk.adjacency.get(c, {}).items()
        if other in kept
        for e in links
    }
    return Subgraph(
        nodes=tuple(names.get(c, GraphNode(c, None, "entity")) for c in nodes),
        edges=tuple(sorted(edges, key=edge_order)),
        truncated=truncated,
    )


# -- control chain -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Holding:
    holder: str
    share: float | None
    since: str


@dataclass(frozen=True)
class _Holder:
    code: str
    name: str | None
    kind: str
    person: bool


@dataclass(frozen=True)
class _Chain:
    steps: tuple[ControlStep, ...]  # from the controller down to the company
    share: float | None
    ultimate: bool


def control_chain(
    store: GraphStore,
    code: str,
    *,
    as_of: dt.date | None = None,
    include_persons: bool = True,
) -> list[Controller]:
    """The ultimate owners of a company, each with its effective share and its chains.

    Ownership is followed up ``SHAREHOLDER_OF`` for at most ``MAX_OWNERSHIP_LEVELS``
    levels, counting only the holdings held on ``as_of`` (default today). An ultimate
    owner is a holder with no shareholder of its own: always a person, and an
    organisation without a shareholding in the graph on that day.

    Why the effective share is the sum over simple chains of the product of the ratios.
    Ownership composes by multiplication (holding x of A, which holds y of C, is holding
    x*y of C through A) and adds up over the distinct routes the stake takes, because
    each route carries a different block of C's shares. A chain never visits a company
    twice: going round a cross-holding again (A holds B, B holds A) would count A's
    same block of C a second time. So with cross-holdings the part of the capital that
    circulates in the loop - the companies' stake in themselves - is attributed to
    nobody: every owner's share is a lower bound of its "integrated" share (the Leontief
    sum over all walks, which redistributes that part), the shares never add up to more
    than 1 and never double count. A loop with no way out (A and B only hold each
    other) ends its chains at the company that closes it, reported with
    ``ultimate=False``; a chain cut at the level limit is reported the same way.

    Two holdings of the same holder in the same company on the same day (two terms
    recorded, neither closed) are one stake: the later ``since`` is taken as the
    current statement of it, never both.
    """
    company = check_key(code)
    subject = _subjects(store, [company], include_persons)[company]
    if subject.kind == "person":
        return []  # nobody holds shares in a natural person
    day = (as_of or china_today()).isoformat()

    holdings: dict[str, list[_Holding]] = {}
    holders: dict[str, _Holder] = {}
    level = [company]
    read: set[str] = set()
    for _ in range(MAX_OWNERSHIP_LEVELS):
        read.update(level)
        params = {"codes": level, "as_of": day, "min_date": MIN_DATE, "max_date": MAX_DATE}
        latest: dict[tuple[str, str], _Holding] = {}
        for row in store.read(SHAREHOLDERS_OF, params):
            holder = row["holder"]
            holders[holder] = _Holder(
                holder, row.get("name"), _node(row | {"code": holder}).kind, bool(row["person"])
            )
            h = _Holding(holder, row["share_ratio"], row.get("since") or MIN_DATE)
            key = (row["entity"], holder)
            old = latest.get(key)
            if old is None or (h.since, h.share or 0.0) > (old.since, old.share or 0.0):
                latest[key] = h
        for (entity, _holder), h in sorted(latest.items()):
            holdings.setdefault(entity, []).append(h)
        for c in level:
            holdings.setdefault(c, [])
        level = sorted(
            {
                h.holder
                for c in level
                for h in holdings[c]
                if not holders[h.holder].person and h.holder not in read
            }
        )
        if not level:
            break

    chains: dict[str, list[_Chain]] = {}
    for top, chain in _chains(company, holdings, holders, read):
        chains.setdefault(top, []).append(chain)

    visible = [
        _controller(holders[top], cs)
        for top, cs in chains.items()
        if include_persons or not holders[top].person
    ]
    visible.sort(key=_controller_order)
    if not include_persons:
        hidden = [c for top, cs in chains.items() if holders[top].person for c in cs]
        if hidden:
            visible.append(_undisclosed(hidden))
    return visible


def _chains(
    company: str,
    holdings: Mapping[str, list[_Holding]],
    holders: Mapping[str, _Holder],
    read: set[str],
) -> Iterator[tuple[str, _Chain]]:
    """Every simple chain from ``company`` up to a holder where it must stop."""
    count = 0
    # Depth-first; a frame is (entity, steps from it down to the company, codes on chain).
    stack: list[tuple[str, tuple[ControlStep, ...], frozenset[str]]] = [
        (company, (), frozenset({company}))
    ]
    while stack:
        entity, below, on_chain = stack.pop()
        for h in holdings.get(entity, []):
            if h.holder in on_chain:
                continue  # round a cross-holding: that block of shares is counted already
            steps = (ControlStep(h.holder, entity, h.share), *below)
            chain_codes = on_chain | {h.holder}
            above = holdings.get(h.holder, [])
            if holders[h.holder].person or (h.holder in read and not above):
                stop, ultimate = True, True
            elif h.holder not in read or len(steps) >= MAX_OWNERSHIP_LEVELS:
                stop, ultimate = True, False
            elif all(x.holder in chain_codes for x in above):
                stop, ultimate = True, False
            else:
                stop, ultimate = False, False
            if not stop:
                stack.append((h.holder, steps, chain_codes))
                continue
            count += 1
            if count > MAX_CHAINS:
                raise LimitExceeded(
                    f"controlChain: more than {MAX_CHAINS} ownership chains above "
                    f"{mask_code(company)}; the structure is too large to report"
                )
            yield h.holder, _Chain(steps, _product(s.share_ratio for s in steps), ultimate)


def _product(ratios: Iterable[float | None]) -> float | None:
    out = 1.0
    for r in ratios:
        if r is None:
            return None
        out *= r
    return out


def _rounded(x: float) -> float:
    return round(x, SHARE_DIGITS)


def _shares(chains: Sequence[_Chain]) -> tuple[float | None, float]:
    known = _rounded(sum(c.share for c in chains if c.share is not None))
    unknown = any(c.share is None for c in chains)
    return (None if unknown else known), known


def _chain_order(c: _Chain) -> tuple[float, tuple[str, ...]]:
    return (-(c.share or 0.0), tuple(s.entity_code for s in reversed(c.steps)))


def _controller(holder: _Holder, chains: Sequence[_Chain]) -> Controller:
    effective, known = _shares(chains)
    ordered = sorted(chains, key=_chain_order)
    return Controller(
        code=holder.code,
        name=holder.name,
        kind=holder.kind,
        effective_share=effective,
        known_share=known,
        chains=tuple(c.steps for c in ordered),
        controlling=known > CONTROLLING_SHARE,
        beneficial_owner=holder.person and known >= BENEFICIAL_OWNER_SHARE,
        ultimate=all(c.ultimate for c in chains),
    )


def _controller_order(c: Controller) -> tuple[bool, float, str]:
    return (c.effective_share is None, -c.known_share, c.code or "")


def _undisclosed(chains: Sequence[_Chain]) -> Controller:
    """Every person's chain, merged by route with the persons' stakes in it added up.

    Two persons holding the same company become one top step with their ratios summed,
    so the answer does not even tell how many persons there are.
    """
    merged: dict[tuple[str, ...], list[_Chain]] = {}
    for c in chains:
        route = tuple(s.entity_code for s in c.steps)
        merged.setdefault(route, []).append(c)
    out: list[_Chain] = []
    for group in merged.values():
        top = [c.steps[0].share_ratio for c in group]
        top_share = None if any(r is None for r in top) else _rounded(sum(r or 0.0 for r in top))
        first = group[0].steps
        steps = (ControlStep(None, first[0].entity_code, top_share), *first[1:])
        out.append(_Chain(steps, _product(s.share_ratio for s in steps), True))
    effective, known = _shares(out)
    return Controller(
        code=None,
        name=None,
        kind="person",
        effective_share=effective,
        known_share=known,
        chains=tuple(c.steps for c in sorted(out, key=_chain_order)),
        controlling=False,
        beneficial_owner=False,
        ultimate=True,
        undisclosed=True,
    )

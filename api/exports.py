"""Exports of what an analyst is looking at: GraphML, GEXF (Gephi), CSV and JSON files.

Three things can be exported: a neighbourhood (``api.explore.neighborhood``), a path set
(``api.explore.find_paths``, merged into one graph) and the subgraph induced by a set of
subject codes (e.g. a community's members). The first two are read by the same
functions the ``neighborhood`` and ``paths`` fields use, with the same
``include_persons``, and every code is passed through the caller's ``show`` function
(``schema.access.shown_code``): an export never holds a subject, a role or a clear ID
number the caller could not read through GraphQL.

Node ids. Files identify nodes by ``n0``, ``n1``... (the order of the answer) and carry
the code as an attribute. Ids cannot be the codes as shown: two resident ID numbers may
mask to the same ``320***********0358``, and a graph file would silently merge the two
persons. Edges name their ends by node id, and CSV and JSON also by shown code
(``from_code`` / ``to_code``), so a spreadsheet reads without a lookup.

Attribute names are the same in every format: nodes ``code``, ``name``, ``kind``; edges
``type``, ``since``, ``until``, ``share_ratio``. An unknown value is left out of GraphML
and GEXF (they have no null), empty in CSV and ``null`` in JSON. In GEXF ``type`` is the
edge's direction, so the relationship type is written as the edge ``label`` and the
attribute ``relationship`` there. A CSV text cell that starts with ``=``, ``+``, ``-``,
``@``, tab or carriage return is written with a leading ``'`` so a spreadsheet shows it
as text instead of running it as a formula (``_cell``); JSON carries it as stored.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import networkx as nx

from api import explore
from api.checks import check_key
from graph.store import GraphStore
from queries.explore import LINK_TYPES, LINKS_AMONG, SUBJECTS_BRIEF
from schema.codes import is_external, mask_code
from schema.errors import InvalidInput, LimitExceeded, NotFound
from schema.record_view import as_date

__all__ = [
    "MAX_CODES",
    "ExportFile",
    "ExportFormat",
    "ExportRequest",
    "Exported",
    "check_source",
    "export_graph",
    "induced_subgraph",
    "merge_paths",
    "serialise",
]

#: Codes an induced-subgraph export may name (the same bound as ``subjects(codes:)``).
MAX_CODES = 500

BOM = "\ufeff"


class ExportFormat(StrEnum):
    GRAPHML = "GRAPHML"
    GEXF = "GEXF"
    CSV = "CSV"
    JSON = "JSON"


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    content: str


@dataclass(frozen=True)
class ExportRequest:
    """What to export: exactly one of a neighbourhood, a pair of path ends, or codes."""

    neighborhood_of: str | None = None
    hops: int = 1
    limit: int = 500
    path_from: str | None = None
    path_to: str | None = None
    max_hops: int = 4
    first: int = 5
    codes: Sequence[str] | None = None
    as_of: dt.date | None = None


@dataclass(frozen=True)
class Exported:
    """The files, and the raw codes of the subjects in them (for the audit entry)."""

    files: tuple[ExportFile, ...]
    codes: tuple[str, ...]


# -- sources ---------------------------------------------------------------------------
def merge_paths(paths: Sequence[explore.GraphPath]) -> explore.Subgraph:
    """One graph from a path set: every subject and role once, in order of appearance."""
    nodes: dict[str, explore.GraphNode] = {}
    edges: dict[explore.GraphEdge, None] = {}
    for p in paths:
        for n in p.nodes:
            nodes.setdefault(n.code, n)
        for e in p.edges:
            edges.setdefault(e, None)
    return explore.Subgraph(nodes=tuple(nodes.values()), edges=tuple(edges), truncated=False)


def _kind(row: Mapping[str, Any]) -> str:
    if row.get("kind"):
        return str(row["kind"])
    if row.get("person"):
        return "person"
    return "external" if is_external(str(row["code"])) else "entity"


def induced_subgraph(
    store: GraphStore,
    codes: Sequence[str],
    *,
    as_of: dt.date | None = None,
    include_persons: bool = True,
) -> explore.Subgraph:
    """The subjects named and every role between two of them (held on ``as_of``, or ever).

    A code that is unknown, or a person the caller may not see, is ``NotFound`` alike,
    as in ``neighborhood``: the answer never confirms that an ID number is in the graph.
    Nodes keep the order asked.
    """
    if not codes:
        raise InvalidInput("codes: give at least one code")
    if len(codes) > MAX_CODES:
        raise LimitExceeded(f"codes: {len(codes)} codes; at most {MAX_CODES}")
    keys = list(dict.fromkeys(check_key(c, f"codes[{i}]") for i, c in enumerate(codes)))
    rows = store.read(SUBJECTS_BRIEF, {"codes": keys})
    found = {
        str(r["code"]): explore.GraphNode(str(r["code"]), r.get("name"), _kind(r))
        for r in rows
        if include_persons or not r.get("person")
    }
    for key in keys:
        if key not in found:
            raise NotFound(f"no subject with code {mask_code(key)}")
    day = as_of.isoformat() if as_of else None
    params = {
        "codes": keys,
        "types": list(LINK_TYPES),
        "min_date": explore.MIN_DATE,
        "max_date": explore.MAX_DATE,
        "latest_start": day or explore.MAX_DATE,
        "earliest_end": day or explore.MIN_DATE,
    }
    edges = {
        explore.GraphEdge(
            row["type"], row["code"], row["other"], as_date(row["since"]), as_date(row["until"]),
            row["share_ratio"],
        )
        for row in store.read(LINKS_AMONG, params)
    }
    return explore.Subgraph(
        nodes=tuple(found[k] for k in keys),
        edges=tuple(sorted(edges, key=explore.edge_order)),
        truncated=False,
    )


def check_source(req: ExportRequest) -> str:
    """Which source is given (its GraphQL name); ``InvalidInput`` unless exactly one."""
    given = [
        name
        for name, present in (
            ("neighborhoodOf", req.neighborhood_of is not None),
            ("pathFrom/pathTo", req.path_from is not None or req.path_to is not None),
            ("codes", req.codes is not None),
        )
        if present
    ]
    if len(given) != 1:
        raise InvalidInput(
            "source: give exactly one of neighborhoodOf, pathFrom with pathTo, or codes"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if given[0] == "pathFrom/pathTo" and (req.path_from is None or req.path_to is None):
        raise InvalidInput("source: pathFrom and pathTo go together")
    return given[0]


# -- formats -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Table:
    """The graph as rows, node ids assigned and codes shown; every format starts here."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    paths: list[list[str]]
    truncated: bool


def _table(
    g: explore.Subgraph,
    show: Callable[[str], str],
    paths: Sequence[explore.GraphPath] = (),
) -> _Table:
    ids = {n.code: f"n{i}" for i, n in enumerate(g.nodes)}
    nodes = [
        {"id": ids[n.code], "code": show(n.code), "name": n.name, "kind": n.kind} for n in g.nodes
    ]
    edges = [
        {
            "id": f"e{i}",
            "source": ids[e.from_code],
            "target": ids[e.to_code],
            "from_code": show(e.from_code),
            "to_code": show(e.to_code),
            "type": e.type,
            "since": e.since.isoformat() if e.since else None,
            "until": e.until.isoformat() if e.until else None,
            "share_ratio": e.share_ratio,
        }
        for i, e in enumerate(g.edges)
    ]
    return _Table(nodes, edges, [[ids[n.code] for n in p.nodes] for p in paths], g.truncated)


def _present(row: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: row[k] for k in keys if row.get(k) is not None}


#: Characters XML 1.0 cannot hold at all, not even escaped: C0 controls other than tab,
#: line feed and carriage return, and the non-characters U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with every such character replaced by U+FFFD. Why: one of them in a name
    (a record from before the loader refused them, or from another writer) made the
    whole GraphML or GEXF file unreadable to every XML parser."""
    return {k: _NOT_XML.sub("\ufffd", v) if isinstance(v, str) else v for k, v in row.items()}


def _graphml(t: _Table) -> str:
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph(truncated=t.truncated)
    for n in map(_xml_text, t.nodes):
        label = n["name"] or n["code"]
        g.add_node(n["id"], label=label, **_present(n, ("code", "name", "kind")))
    for e in t.edges:
        g.add_edge(
            e["source"], e["target"], key=e["id"],
            **_present(e, ("type", "since", "until", "share_ratio")),
        )
    buf = io.BytesIO()
    nx.write_graphml(g, buf, encoding="utf-8")
    return buf.getvalue().decode("utf-8")


def _gexf(t: _Table) -> str:
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for n in map(_xml_text, t.nodes):
        g.add_node(n["id"], label=n["name"] or n["code"], **_present(n, ("code", "name", "kind")))
    for e in t.edges:
        g.add_edge(
            e["source"], e["target"], id=e["id"], label=e["type"], relationship=e["type"],
            **_present(e, ("since", "until", "share_ratio")),
        )
    buf = io.BytesIO()
    nx.write_gexf(g, buf, encoding="utf-8")
    return buf.getvalue().decode("utf-8")


#: First characters that make Excel, LibreOffice and Google Sheets read a cell as a
#: formula (OWASP, "CSV Injection"); tab and carriage return because a spreadsheet drops
#: them and reads on.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, with a leading ``'`` (which
    spreadsheets read as "text", and do not show). Why: names come from providers; a
    subject named ``=HYPERLINK("http://…?x="&A1,"click")`` ran when the analyst opened
    ``nodes.csv``. Numbers are left alone (a negative share is not text)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """UTF-8 with a byte-order mark: without it Excel reads the Chinese names as GBK.
    Every text cell goes through ``_cell``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else _cell(row[k]) for k in columns})
    return BOM + buf.getvalue()


NODE_COLUMNS = ("id", "code", "name", "kind")
EDGE_COLUMNS = (
    "id", "source", "target", "from_code", "to_code", "type", "since", "until", "share_ratio",
)


def _json(t: _Table) -> str:
    body: dict[str, Any] = {
        "truncated": t.truncated,
        "nodes": t.nodes,
        "edges": [{k: e[k] for k in EDGE_COLUMNS} for e in t.edges],
    }
    if t.paths:
        body["paths"] = [{"nodes": p, "length": len(p) - 1} for p in t.paths]
    return json.dumps(body, ensure_ascii=False, indent=2)


def serialise(
    g: explore.Subgraph,
    fmt: ExportFormat,
    *,
    show: Callable[[str], str],
    stem: str = "graph",
    paths: Sequence[explore.GraphPath] = (),
) -> list[ExportFile]:
    """The files of one format; CSV is two (``nodes.csv``, ``edges.csv``)."""
    t = _table(g, show, paths)
    if fmt is ExportFormat.GRAPHML:
        return [ExportFile(f"{stem}.graphml", "application/graphml+xml", _graphml(t))]
    if fmt is ExportFormat.GEXF:
        return [ExportFile(f"{stem}.gexf", "application/gexf+xml", _gexf(t))]
    if fmt is ExportFormat.CSV:
        media = "text/csv; charset=utf-8"
        return [
            ExportFile("nodes.csv", media, _csv(t.nodes, NODE_COLUMNS)),
            ExportFile("edges.csv", media, _csv(t.edges, EDGE_COLUMNS)),
        ]
    return [ExportFile(f"{stem}.json", "application/json", _json(t))]


def export_graph(
    store: GraphStore,
    req: ExportRequest,
    fmt: ExportFormat,
    *,
    include_persons: bool,
    show: Callable[[str], str],
) -> Exported:
    """Read the source through the investigation functions and write it in ``fmt``.

    Bounds and errors are those of the field the source mirrors (``hops``, ``limit``,
    ``maxHops``, ``first``); ``codes`` at most ``MAX_CODES``.
    """
    source = check_source(req)
    paths: list[explore.GraphPath] = []
    if source == "neighborhoodOf":
        assert req.neighborhood_of is not None
        g = explore.neighborhood(
            store, req.neighborhood_of, hops=req.hops, limit=req.limit, as_of=req.as_of,
            include_persons=include_persons,
        )
        stem = "neighborhood"
    elif source == "codes":
        assert req.codes is not None
        g = induced_subgraph(store, req.codes, as_of=req.as_of, include_persons=include_persons)
        stem = "subgraph"
    else:
        assert req.path_from is not None and req.path_to is not None
        paths = explore.find_paths(
            store, req.path_from, req.path_to, max_hops=req.max_hops, first=req.first,
            as_of=req.as_of, include_persons=include_persons,
        )
        g = merge_paths(paths)
        stem = "paths"
    files = serialise(g, fmt, show=show, stem=stem, paths=paths)
    return Exported(files=tuple(files), codes=tuple(n.code for n in g.nodes))

"""exportGraph over HTTP: every format read back (NetworkX, csv, json) holds exactly what
``neighborhood`` / ``paths`` show the same caller, and nothing more (Wuhan Art. 19)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from api.app import create_app
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.codes import mask_code
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Callers, Client, make_key
from tests.builders import entity, person, person_code, role, uscc_code
from tests.live_server import serve_in_thread

A, B, C, HOLD = uscc_code(821), uscc_code(822), uscc_code(823), uscc_code(824)
P = person_code(811)


def _twin(code: str) -> str:
    """Another person whose masked ID number reads the same as ``code``'s."""
    for days in range(1, 4000):
        other = person_code(811, birth=dt.date(1980, 1, 1) + dt.timedelta(days=days))
        if mask_code(other) == mask_code(code):
            return other
    raise AssertionError("no twin found")


Q = _twin(P)

EXPORT = """query($s: ExportSource!, $f: ExportFormat!) {
  exportGraph(source: $s, format: $f) { filename mediaType content } }"""
HOOD = """query($c: String!) { neighborhood(code: $c, hops: 2) {
  truncated nodes { code name kind } edges { type fromCode toCode since until shareRatio } } }"""
PATHS = """query($a: String!, $b: String!) { paths(fromCode: $a, toCode: $b) {
  nodes { code name kind } edges { type fromCode toCode since until shareRatio } } }"""

Node = tuple[str, str | None, str]
Edge = tuple[str, str, str, str | None, str | None, float | None]



@pytest.fixture
def callers(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[Callers]:
    # A and B share the legal representative P; Q (whose masked number is P's) directs A;
    # HOLD owns parts of A and C.
    rows = [
        entity(A, "甲有限公司"), entity(B, "乙有限公司"), entity(C, "丙有限公司"),
        entity(HOLD, "控股有限公司"),
        person(P, "赵六"), person(Q, "钱七"),
        role(A, P, "legal_representative", "2018-01-01"),
        role(B, P, "legal_representative", "2019-01-01", "2030-12-31"),
        role(A, P, "shareholder", "2018-01-01", share_ratio=0.6),
        role(A, Q, "director", "2020-03-01"),
        role(A, HOLD, "shareholder", "2018-01-01", share_ratio=0.4),
        role(C, HOLD, "shareholder", "2016-05-01", share_ratio=0.3),
    ]
    load_files(store, [write_jsonl(rows)], policy=load_policy("wuhan"), provider="t",
               today=china_today())
    agency = make_key(store, "agency", "regulator", unit="market_regulation")
    operator = make_key(store, "operator", "ops")
    settings = load_settings(data_dir=tmp_path / "data", policy="wuhan")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield Callers.at(url, agency, operator)


# -- reading the files back ------------------------------------------------------------
def _export(client: Client, source: dict[str, Any], fmt: str) -> dict[str, dict[str, Any]]:
    files = client.data(EXPORT, {"s": source, "f": fmt})["exportGraph"]
    return {f["filename"]: f for f in files}


def _from_networkx(g: Any, type_key: str) -> tuple[list[Node], list[Edge]]:
    nodes = sorted((d["code"], d.get("name"), d["kind"]) for _, d in g.nodes(data=True))
    edges = sorted(
        (
            d[type_key], g.nodes[u]["code"], g.nodes[v]["code"],
            d.get("since"), d.get("until"), d.get("share_ratio"),
        )
        for u, v, d in g.edges(data=True)
    )
    return nodes, edges


def _from_csv(nodes_csv: str, edges_csv: str) -> tuple[list[Node], list[Edge]]:
    def rows(text: str) -> list[dict[str, str]]:
        assert text.startswith("\ufeff"), "Excel needs the BOM to read UTF-8"
        return list(csv.DictReader(io.StringIO(text[1:])))

    def opt(v: str) -> str | None:
        return v or None

    nodes = sorted((r["code"], opt(r["name"]), r["kind"]) for r in rows(nodes_csv))
    edges = sorted(
        (
            r["type"], r["from_code"], r["to_code"], opt(r["since"]), opt(r["until"]),
            float(r["share_ratio"]) if r["share_ratio"] else None,
        )
        for r in rows(edges_csv)
    )
    return nodes, edges


def _from_json(text: str) -> tuple[list[Node], list[Edge]]:
    body = json.loads(text)
    nodes = sorted((n["code"], n["name"], n["kind"]) for n in body["nodes"])
    edges = sorted(
        (e["type"], e["from_code"], e["to_code"], e["since"], e["until"], e["share_ratio"])
        for e in body["edges"]
    )
    return nodes, edges


def _read_back(client: Client, source: dict[str, Any]) -> dict[str, tuple[list[Node], list[Edge]]]:
    """Each format's content as (nodes, edges), with the raw text of all of them."""
    graphml = _export(client, source, "GRAPHML")
    gexf = _export(client, source, "GEXF")
    csvs = _export(client, source, "CSV")
    js = _export(client, source, "JSON")
    assert set(csvs) == {"nodes.csv", "edges.csv"}
    (ml,) = graphml.values()
    (gx,) = gexf.values()
    (jn,) = js.values()
    assert ml["mediaType"] == "application/graphml+xml" and ml["filename"].endswith(".graphml")
    assert gx["filename"].endswith(".gexf") and jn["mediaType"] == "application/json"
    return {
        "GRAPHML": _from_networkx(
            nx.read_graphml(io.BytesIO(ml["content"].encode()), force_multigraph=True), "type"
        ),
        "GEXF": _from_networkx(nx.read_gexf(io.BytesIO(gx["content"].encode())), "relationship"),
        "CSV": _from_csv(csvs["nodes.csv"]["content"], csvs["edges.csv"]["content"]),
        "JSON": _from_json(jn["content"]),
    }


def _answer(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]]
) -> tuple[list[Node], list[Edge]]:
    return (
        sorted((n["code"], n["name"], n["kind"]) for n in nodes),
        sorted(
            (e["type"], e["fromCode"], e["toCode"], e["since"], e["until"], e["shareRatio"])
            for e in edges
        ),
    )


def _all_text(client: Client, source: dict[str, Any]) -> str:
    return "".join(
        f["content"]
        for fmt in ("GRAPHML", "GEXF", "CSV", "JSON")
        for f in _export(client, source, fmt).values()
    )


# -- what the files hold ----------------------------------------------------------------
def test_every_format_holds_the_neighbourhood_the_caller_reads(callers: Callers) -> None:
    hood = callers.agency.data(HOOD, {"c": A})["neighborhood"]
    expected = _answer(hood["nodes"], hood["edges"])
    source = {"neighborhoodOf": A, "hops": 2}
    for fmt, got in _read_back(callers.agency, source).items():
        assert got == expected, fmt
    nodes, edges = expected
    # two persons whose masked numbers read alike stay two nodes
    assert [n for n in nodes if n[0] == mask_code(P)] == sorted(
        [(mask_code(P), "赵六", "person"), (mask_code(P), "钱七", "person")]
    )
    assert ("SHAREHOLDER_OF", HOLD, C, "2016-05-01", None, 0.3) in edges
    text = _all_text(callers.agency, source)
    assert P not in text and Q not in text


def test_the_publics_export_has_no_natural_person_under_wuhan(callers: Callers) -> None:
    hood = callers.public.data(HOOD, {"c": A})["neighborhood"]
    expected = _answer(hood["nodes"], hood["edges"])
    source = {"neighborhoodOf": A, "hops": 2}
    for fmt, got in _read_back(callers.public, source).items():
        assert got == expected, fmt
    assert {n[0] for n in expected[0]} == {A, HOLD, C}
    text = _all_text(callers.public, source)
    for hidden in (P, mask_code(P), "赵六", "钱七", "person"):
        assert hidden not in text


def test_a_path_set_is_exported_as_the_paths_show_it(callers: Callers) -> None:
    found = callers.agency.data(PATHS, {"a": A, "b": B})["paths"]
    assert found
    expected = _answer(
        [n for p in found for n in p["nodes"]], [e for p in found for e in p["edges"]]
    )
    nodes = sorted(set(expected[0]))
    edges = sorted(set(expected[1]))
    source = {"pathFrom": A, "pathTo": B}
    for fmt, (got_nodes, got_edges) in _read_back(callers.agency, source).items():
        assert (got_nodes, got_edges) == (nodes, edges), fmt
    body = json.loads(_export(callers.agency, source, "JSON")["paths.json"]["content"])
    assert [p["length"] for p in body["paths"]] == [2]
    # operators read ID numbers in clear, in the files too
    clear = _export(callers.operator, source, "JSON")["paths.json"]["content"]
    assert P in clear
    # the public has no path: it would run through a person
    assert json.loads(_export(callers.public, source, "JSON")["paths.json"]["content"])[
        "nodes"
    ] == []


def test_codes_give_the_subgraph_among_them(callers: Callers) -> None:
    source = {"codes": [A, HOLD, C]}
    for fmt, (nodes, edges) in _read_back(callers.agency, source).items():
        assert [n[0] for n in nodes] == sorted([A, HOLD, C]), fmt
        assert edges == [
            ("SHAREHOLDER_OF", HOLD, A, "2018-01-01", None, 0.4),
            ("SHAREHOLDER_OF", HOLD, C, "2016-05-01", None, 0.3),
        ], fmt
    # asOf: only the roles held that day
    before = _export(callers.agency, {"codes": [A, HOLD, C], "asOf": "2017-01-01"}, "JSON")
    assert [e["to_code"] for e in json.loads(before["subgraph.json"]["content"])["edges"]] == [C]


def test_an_export_is_refused_like_the_fields_it_mirrors(callers: Callers) -> None:
    agency, public = callers.agency, callers.public
    v = {"f": "JSON"}
    assert agency.error_code(EXPORT, {**v, "s": {}}) == "INVALID_INPUT"
    assert agency.error_code(EXPORT, {**v, "s": {"neighborhoodOf": A, "codes": [B]}}) == (
        "INVALID_INPUT"
    )
    assert agency.error_code(EXPORT, {**v, "s": {"pathFrom": A}}) == "INVALID_INPUT"
    too_many = [uscc_code(2000 + i) for i in range(501)]
    assert agency.error_code(EXPORT, {**v, "s": {"codes": too_many}}) == "LIMIT_EXCEEDED"
    assert agency.error_code(EXPORT, {**v, "s": {"neighborhoodOf": A, "hops": 9}}) == (
        "LIMIT_EXCEEDED"
    )
    assert agency.error_code(EXPORT, {**v, "s": {"codes": [A, uscc_code(999)]}}) == "NOT_FOUND"
    assert public.error_code(EXPORT, {**v, "s": {"codes": [A, P]}}) == "FORBIDDEN"
    assert public.error_code(EXPORT, {**v, "s": {"neighborhoodOf": P}}) == "FORBIDDEN"
    no_purpose = Client(agency.url, agency.key, purpose=None)
    assert no_purpose.error_code(EXPORT, {**v, "s": {"neighborhoodOf": A}}) == "PURPOSE_REQUIRED"


def test_an_export_is_audited_with_the_subjects_it_holds(callers: Callers) -> None:
    callers.agency.data(EXPORT, {"s": {"neighborhoodOf": A}, "f": "CSV"})
    log = callers.operator.data("{ auditLog(first: 10) { keyName fields subjects purpose } }")
    entry = next(e for e in log["auditLog"] if e["keyName"] == "regulator")
    assert entry["fields"] == ["query.exportGraph"]
    assert entry["purpose"] == callers.agency.purpose
    assert {A, HOLD, mask_code(P)} <= set(entry["subjects"])


def test_xml_exports_stay_readable_with_a_control_character_in_a_name(
    callers: Callers, store: GraphStore
) -> None:
    """A name stored before the loader refused such characters (or by another writer):
    one of them made the whole GraphML or GEXF file unreadable to any XML parser."""
    store.write_one("MATCH (s:Subject {code: $c}) SET s.name = $n",
                    {"c": A, "n": "甲\x01有限\x0b公司\uffff"})
    source = {"neighborhoodOf": A}
    read = _read_back(callers.operator, source)  # parses all four formats
    names = {n[0]: n[1] for n in read["GRAPHML"][0]}
    assert names[A] == "甲\ufffd有限\ufffd公司\ufffd"
    assert {n[0]: n[1] for n in read["GEXF"][0]}[A] == names[A]
    # CSV and JSON carry the name as stored: their readers take any character
    assert {n[0]: n[1] for n in read["JSON"][0]}[A] == "甲\x01有限\x0b公司\uffff"

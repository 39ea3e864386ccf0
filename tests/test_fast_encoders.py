"""Faster encoders that must write what the slower ones wrote: the FalkorDB parameter
header (the client's text, and the text guard), the row hash, the JSON lines parser."""

from __future__ import annotations

import enum
import hashlib
import json
from typing import Any

import pytest
from falkordb.helpers import stringify_param_value
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.cypher_params import header, literal
from graph.store import GraphStore
from loaders.formats.jsonl_format import parse_line
from loaders.graph_rows import content_hash
from schema.errors import InvalidInput
from tests.hostile_payloads import PAYLOADS, UNSTORABLE

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
_keys = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="`\x00"), min_size=1
)
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)


class _Kind(enum.StrEnum):
    ENTITY = "entity"


@settings(max_examples=300, deadline=None)
@given(_values)
def test_literal_is_the_clients_text(value: Any) -> None:
    """Byte for byte what ``falkordb`` writes, so switching encoders changes no query."""
    assert literal(value) == stringify_param_value(value)


def test_literal_of_loader_values() -> None:
    row = {
        "code": "91320582MA1XXXXX0K",
        "props": {"name": '苏州"诚安"\\投资', "share": 0.35, "ok": True, "kind": _Kind.ENTITY},
        "responsible": ["110101199003077777", "11010119900307001X"],
        "tuple": ("a", 1),
    }
    assert literal(row) == stringify_param_value(row)
    assert header({"rows": [row], "now": "2026-11-22"}) == (
        f'CYPHER `rows`={stringify_param_value([row])} `now`="2026-11-22" '
    )


@pytest.mark.parametrize("bad", UNSTORABLE)
def test_unstorable_text_anywhere_is_refused(bad: str) -> None:
    problem = "NUL character" if "\x00" in bad else "lone surrogate"
    for params in (
        {"code": bad},
        {"rows": [{"props": {"name": bad}}]},
        {"rows": [{bad: 1}]},
        {"codes": ["ok", "好", bad]},
    ):
        with pytest.raises(InvalidInput, match=problem):
            header(params)


def test_bad_map_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        header({"rows": [{"": 1}]})
    with pytest.raises(ValueError, match="backtick"):
        header({"rows": [{"a`b": 1}]})


def test_injections_round_trip_through_the_engine(store: GraphStore) -> None:
    """Every hostile string comes back from the engine exactly as sent."""
    rows = store.read("UNWIND $values AS v RETURN v AS v", {"values": list(PAYLOADS)})
    assert [r["v"] for r in rows] == list(PAYLOADS)
    written = store.write_one(
        "UNWIND $rows AS row RETURN row.name AS name, row.list AS list",
        {"rows": [{"name": s, "list": [s, "中文"]} for s in PAYLOADS]},
    )
    assert [r["name"] for r in written] == list(PAYLOADS)
    assert all(r["list"][0] == s for r, s in zip(written, PAYLOADS, strict=True))


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(), _json_values, max_size=8))
def test_content_hash_is_jsons_text(props: dict[str, Any]) -> None:
    """Row hashes are stored in graphs already loaded: the faster encoder must give the
    very hash ``json`` gave, or every reload would count as a change."""
    blob = json.dumps(props, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert content_hash(props) == hashlib.sha256(blob.encode()).hexdigest()[:32]


@settings(max_examples=400, deadline=None)
@given(_json_values)
def test_jsonl_lines_parse_as_json_parses_them(value: Any) -> None:
    line = json.dumps({"type": "x", "v": value}).encode()
    parsed = parse_line(line, 2)
    expected = json.loads(line)
    assert json.dumps(parsed) == json.dumps(expected)  # NaN-safe comparison


def test_a_prepared_statement_writes_what_write_one_writes(store: GraphStore) -> None:
    """The loader encodes batches on its own thread (``GraphStore.prepared``); what the
    engine then stores must not depend on which way a batch went."""
    rows = [{"code": f"C{i}", "name": s} for i, s in enumerate(PAYLOADS[:6])]
    query = (
        "UNWIND $rows AS row CREATE (n:Probe {code: row.code, name: row.name}) "
        "RETURN count(n) AS made"
    )
    first = store.write([store.prepared(query, {"rows": rows})])[0]
    again = store.write_one(query, {"rows": [{**r, "code": "W" + r["code"]} for r in rows]})
    assert first == again == [{"made": 6}]
    got = store.read("MATCH (n:Probe) RETURN n.code AS code, n.name AS name ORDER BY code")
    assert [(g["code"], g["name"]) for g in got if g["code"].startswith("C")] == [
        (r["code"], r["name"]) for r in rows
    ]
    assert [g["name"] for g in got if g["code"].startswith("W")] == [r["name"] for r in rows]
    with pytest.raises(InvalidInput):  # FalkorDB refuses it preparing, Neo4j writing
        store.write([store.prepared(query, {"rows": [{"code": "x", "name": UNSTORABLE[0]}]})])

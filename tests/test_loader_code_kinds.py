"""One code, one subject: rows that would give a code a second kind are rejected.

About one resident ID number in thirty also passes as a USCC, and an ``ftm:`` id names
whatever schema its export gave it. Before the check, an entity row and a person row
with such a code (in one file, or one in the graph and one in a file) reached the
engine, whose unique code refused the whole batch: the load stopped with a stack trace
and every valid row of that batch unwritten.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.errors import KeyTaken
from schema.policy import load_policy
from tests.builders import (
    codes_of_both_kinds,
    entity,
    person,
    person_code,
    record,
    role,
    uscc_code,
)

NANTONG = load_policy("nantong")
TODAY = dt.date(2026, 11, 21)
A, B = uscc_code(1), uscc_code(2)


def _code_of_both_kinds(nth: int = 0) -> str:
    return codes_of_both_kinds(nth + 1)[nth]


def _kinds(store: GraphStore, code: str) -> list[dict[str, object]]:
    return store.read(
        "MATCH (s:Subject {code: $c}) RETURN s.kind AS kind, s:Entity AS entity, "
        "s:Person AS person, s.name AS name",
        {"c": code},
    )


def _rejects(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_a_code_given_two_kinds_in_one_file_keeps_the_first(
    store: GraphStore, write_jsonl, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    both = _code_of_both_kinds()
    p1 = person_code(1)
    rows = [
        entity(A, "南通甲建设有限公司"),
        entity(both, "北京某某科技有限公司"),
        person(p1, "李四"),
        person(both, "张三"),  # the same code as a person: refused
        entity(B, "南通乙商贸有限公司"),
        role(A, p1, "legal_representative", "2015-01-01"),
        role(both, p1, "director", "2016-01-01"),
        record("R1", both, "2025-06-01", severity="serious", list="black", responsible=[p1]),
    ]
    rejects = tmp_path / "rejects.jsonl"
    summary = load_files(
        store, [write_jsonl(rows)], policy=NANTONG, provider="p", rejects_to=rejects,
        today=TODAY,
    )
    assert summary.exit_code == 1, summary.as_dict()
    assert dict(summary.rejected) == {"code_conflict": 1}
    assert summary.loaded == 7
    [rejected] = _rejects(rejects)
    assert rejected["line"] == 4 and rejected["name"] == "张三"
    assert "already names an organisation in this file" in str(rejected["reason"])
    assert both not in str(rejected["reason"])  # an ID number: masked in the reason
    assert _kinds(store, both) == [
        {"kind": "entity", "entity": True, "person": False, "name": "北京某某科技有限公司"}
    ]
    # Every valid row of the file landed, the ones after the refused row too.
    assert store.read("MATCH (s:Subject) RETURN count(s) AS n")[0]["n"] == 4
    assert store.read("MATCH ()-[r:DIRECTOR_OF]->(:Entity {code: $c}) RETURN count(r) AS n",
                      {"c": both})[0]["n"] == 1
    assert store.read("MATCH (:Record)-[:CONCERNS]->(s {code: $c}) RETURN count(s) AS n",
                      {"c": both})[0]["n"] == 1


def test_a_code_the_graph_gives_the_other_kind_is_rejected_in_a_later_file(
    store: GraphStore, write_jsonl, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    both = _code_of_both_kinds()
    first = load_files(
        store,
        [write_jsonl([entity(A, "南通甲建设有限公司"), person(both, "张三"),
                      role(A, both, "legal_representative", "2015-01-01")])],
        policy=NANTONG, provider="p", today=TODAY,
    )
    assert first.exit_code == 0, first.as_dict()
    rejects = tmp_path / "rejects.jsonl"
    second = load_files(
        store,
        [write_jsonl([entity(B, "南通乙商贸有限公司"), entity(both, "北京某某科技有限公司"),
                      role(B, both, "legal_representative", "2020-01-01")])],
        policy=NANTONG, provider="q", rejects_to=rejects, today=TODAY,
    )
    assert dict(second.rejected) == {"code_conflict": 1}, second.as_dict()
    [rejected] = _rejects(rejects)
    assert rejected["line"] == 2
    assert "already names a person in the graph" in str(rejected["reason"])
    # The person stays a person, and still holds offices: the second file's role names
    # it as the natural person it is.
    assert _kinds(store, both) == [
        {"kind": "person", "entity": False, "person": True, "name": "张三"}
    ]
    assert store.read(
        "MATCH (:Person {code: $c})-[r:LEGAL_REPRESENTATIVE_OF]->(e) RETURN e.code AS e "
        "ORDER BY e",
        {"c": both},
    ) == [{"e": e} for e in sorted([A, B])]


def test_an_ftm_id_given_another_schema_later_is_rejected(
    store: GraphStore, write_jsonl, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """An export may call one id a LegalEntity (an organisation here) and, in a later
    version, a Person; the node keeps the kind it has."""
    ext = "ftm:NK-ab12cd34"
    assert load_files(
        store, [write_jsonl([entity(ext, "某某境外公司")])],
        policy=NANTONG, provider="os", today=TODAY,
    ).exit_code == 0
    rejects = tmp_path / "rejects.jsonl"
    later = load_files(
        store, [write_jsonl([person(ext, "某某"), person(person_code(7), "王五")])],
        policy=NANTONG, provider="os", rejects_to=rejects, today=TODAY,
    )
    assert dict(later.rejected) == {"code_conflict": 1} and later.loaded == 1
    [rejected] = _rejects(rejects)
    assert rejected["reason"] == (
        f"code: {ext} already names an organisation in the graph; one code names one subject"
    )
    assert _kinds(store, ext) == [
        {"kind": "entity", "entity": True, "person": False, "name": "某某境外公司"}
    ]


def test_a_conflict_the_check_cannot_see_stops_the_load_with_advice(
    store: GraphStore, write_jsonl, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """What a race leaves (another process writing the code meanwhile), played here by a
    node the check cannot see, because it has no ``kind`` yet: the engine's refusal is
    a clean error saying what is safe, and the same load run again finishes the job."""
    both = _code_of_both_kinds()
    store.write_one("CREATE (:Subject:Person {code: $c, name: $n})", {"c": both, "n": "张三"})
    path = write_jsonl([entity(A, "南通甲建设有限公司"), entity(both, "北京某某科技有限公司")])
    with pytest.raises(KeyTaken) as info:
        load_files(store, [path], policy=NANTONG, provider="p", today=TODAY)
    message = info.value.message
    assert "unique key" in message and "run the same load again" in message
    assert str(path) in message and both not in message
    # The other process finishes its write; the same load is run again.
    store.write_one("MATCH (s:Subject {code: $c}) SET s.kind = 'person'", {"c": both})
    again = load_files(
        store, [path], policy=NANTONG, provider="p", rejects_to=tmp_path / "r.jsonl",
        today=TODAY,
    )
    assert dict(again.rejected) == {"code_conflict": 1}
    assert store.read("MATCH (e:Entity) RETURN e.code AS c") == [{"c": A}]


def test_an_organisation_whose_code_passes_as_an_id_number_can_be_a_branch(
    store: GraphStore, write_jsonl
) -> None:  # type: ignore[no-untyped-def]
    """The row's own check took the holder for a person by its form alone and refused
    the branch; the kind is now the one the file or the graph gives it."""
    both = _code_of_both_kinds()
    p1 = person_code(1)
    summary = load_files(
        store,
        [write_jsonl([entity(A, "南通甲建设有限公司"), entity(both, "南通甲建设有限公司北京分公司"),
                      person(p1, "李四"), role(A, both, "branch"),
                      role(A, p1, "legal_representative", "2015-01-01")])],
        policy=NANTONG, provider="p", today=TODAY,
    )
    assert summary.exit_code == 0, summary.as_dict()
    assert store.read(
        "MATCH (b:Entity)-[:BRANCH_OF]->(e:Entity) RETURN b.code AS b, e.code AS e"
    ) == [{"b": both, "e": A}]
    # And a person whose code passes as a USCC still cannot be a branch, by the graph.
    bad = load_files(
        store, [write_jsonl([person(_code_of_both_kinds(1), "王五"),
                             role(A, _code_of_both_kinds(1), "branch")])],
        policy=NANTONG, provider="p", today=TODAY,
    )
    assert dict(bad.rejected) == {"unknown_reference": 1}


def test_a_code_whose_form_fixes_its_kind_is_still_judged_by_its_row(
    store: GraphStore, write_jsonl, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Only codes of open kind wait for the graph: an organisation named as a director,
    or a plain ID number as a branch, is refused by the row's own check, graph unread."""
    p1 = person_code(1)
    rejects = tmp_path / "rejects.jsonl"
    summary = load_files(
        store,
        [write_jsonl([entity(A, "南通甲建设有限公司"), entity(B, "南通乙商贸有限公司"),
                      person(p1, "李四"), role(A, B, "director", "2015-01-01"),
                      role(A, p1, "branch")])],
        policy=NANTONG, provider="p", rejects_to=rejects, today=TODAY,
    )
    assert dict(summary.rejected) == {"invalid": 2}, summary.as_dict()
    reasons = {r["line"]: str(r["reason"]) for r in _rejects(rejects)}
    assert "director must be a natural person (ID number)" in reasons[4]
    assert "a branch must be an organisation (USCC)" in reasons[5]

"""The minimal JSONL loader: every valid row lands, every bad one is reported, twice = once."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.policy import load_policy
from tests.builders import entity, person, person_code, record, role, uscc_code

NANTONG = load_policy("nantong")
TODAY = dt.date(2026, 11, 21)

A, B = uscc_code(1), uscc_code(2)
P1, P2 = person_code(1), person_code(2)


def good_rows() -> list[dict[str, object]]:
    return [
        entity(A, "南通甲建设有限公司", established="2010-05-01"),
        entity(B, "南通乙商贸有限公司"),
        person(P1, "李四"),
        person(P2, "王五"),
        role(A, P1, "legal_representative", "2015-01-01", "2024-12-31"),
        role(A, P2, "legal_representative", "2025-01-01"),
        role(A, B, "shareholder", "2015-01-01", share_ratio=0.4),
        role(A, B, "branch"),
        record("R1", A, "2025-06-01", severity="serious", list="black", responsible=[P2]),
    ]


def _snapshot(store: GraphStore) -> tuple[int, int, list[dict[str, object]]]:
    """Everything but the ingestion log, which gains one entry per load run."""
    nodes = store.read("MATCH (n) WHERE NOT n:IngestionLog RETURN count(n) AS n")[0]["n"]
    rels = store.read("MATCH (a)-[r]->(b) WHERE NOT a:IngestionLog RETURN count(r) AS n")[0]["n"]
    props = store.read(
        "MATCH (n) WHERE NOT n:IngestionLog "
        "RETURN properties(n) AS p ORDER BY coalesce(n.code, n.uid, n.id)"
    )
    return nodes, rels, props


def test_valid_file_lands_with_provenance(store: GraphStore, write_jsonl) -> None:  # type: ignore[no-untyped-def]
    path = write_jsonl(good_rows())
    summary = load_files(
        store, [path], policy=NANTONG, provider="nt-amr", channel="api", today=TODAY
    )
    assert summary.exit_code == 0, summary.as_dict()
    assert summary.read == 9 and summary.rejected_total == 0
    rows = store.read(
        "MATCH (r:Record {uid: $uid})-[:CONCERNS]->(s) "
        "OPTIONAL MATCH (r)-[:NAMES_RESPONSIBLE]->(p) "
        "RETURN s.code AS s, collect(p.code) AS resp, r.src AS src, r.src_line AS line, "
        "r.status AS st",
        {"uid": "nt-amr:R1"},
    )
    assert rows[0]["s"] == A and rows[0]["resp"] == [P2] and rows[0]["line"] == 9
    assert rows[0]["st"] == "active"
    sub = store.read(
        "MATCH (l:IngestionLog)-[:OF_SUBMISSION]->(s:Submission {id: $id}) "
        "RETURN properties(s) AS s, properties(l) AS p",
        {"id": rows[0]["src"]},
    )
    assert sub[0]["s"]["provider"] == "nt-amr" and sub[0]["s"]["file"] == str(path)
    assert sub[0]["p"]["status"] == "finished"
    assert json.loads(sub[0]["p"]["rows_by_type"]) == {
        "entity": 2,
        "person": 2,
        "role": 4,
        "record": 1,
    }
    assert json.loads(sub[0]["p"]["records_by_category"]) == {"negative": 1}
    assert sub[0]["p"]["provider"] == "nt-amr" and sub[0]["p"]["channel"] == "api"
    assert sub[0]["p"]["file"] == str(path) and sub[0]["p"]["rows_loaded"] == 9


def test_loading_twice_changes_nothing(store: GraphStore, write_jsonl) -> None:  # type: ignore[no-untyped-def]
    path = write_jsonl(good_rows())
    load_files(store, [path], policy=NANTONG, provider="p", today=TODAY)
    before = _snapshot(store)
    again = load_files(store, [path], policy=NANTONG, provider="p", today=TODAY)
    assert again.loaded == 0 and again.unchanged == 9
    assert _snapshot(store) == before
    assert store.read("MATCH (s:Submission) RETURN count(s) AS n")[0]["n"] == 1
    assert store.read("MATCH (l:IngestionLog) RETURN count(l) AS n")[0]["n"] == 2


def _not_json(token: str) -> None:
    raise AssertionError(f"{token} is not JSON")


def test_bad_rows_rejected_with_reasons_and_good_rows_land(
    store: GraphStore, write_jsonl, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bad_id = P1[:-1] + ("0" if P1[-1] != "0" else "1")
    minor = person_code(9, birth=dt.date(2012, 1, 1))
    rows = [
        *good_rows(),
        person(bad_id, "坏号"),  # checksum
        {
            "type": "person",
            "code": person_code(3),
            "name": "赵六",
            "宗教信仰": "某教",
        },  # prohibited
        {"type": "entity", "code": uscc_code(4), "name": "丙", "colour": "red"},  # unknown column
        record("R2", A, "2025-13-01"),  # bad date
        record("R3", uscc_code(99), "2025-01-01"),  # unknown subject
        person(minor, "未成年"),  # under age
        {"type": "thing"},
        # JSON's Infinity (also what 1e999 parses to): it used to stop the whole load
        # with an engine syntax error; it is a value no amount can have.
        entity(uscc_code(5), "丁", registered_capital=float("inf")),
    ]
    path = write_jsonl(rows)
    rejects_path = tmp_path / "rejects.jsonl"
    summary = load_files(
        store, [path], policy=NANTONG, provider="p", rejects_to=rejects_path, today=TODAY
    )
    assert summary.exit_code == 1
    assert summary.loaded == 9
    assert dict(summary.rejected) == {
        "bad_code": 1,
        "prohibited_field": 1,
        "unknown_column": 1,
        "bad_date": 1,
        "unknown_reference": 1,
        "under_age": 1,
        "unknown_type": 1,
        "bad_value": 1,
    }
    # Strict JSON throughout (a provider's tools may not read Infinity): see line 17.
    rejected = [
        json.loads(x, parse_constant=_not_json)
        for x in rejects_path.read_text(encoding="utf-8").splitlines()
    ]
    by_line = {r["line"]: r for r in rejected}
    assert "checksum" in by_line[10]["reason"] and by_line[10]["code"] == bad_id
    assert "宗教信仰" in by_line[11]["reason"] and "宗教信仰" not in by_line[11]
    assert "某教" not in rejects_path.read_text(encoding="utf-8")
    assert "colour" in by_line[12]["reason"]
    assert "decided_on" in by_line[13]["reason"]
    assert "subject" in by_line[14]["reason"]
    assert "minimum age 18" in by_line[15]["reason"]
    assert by_line[17]["reason"] == "registered_capital: Input should be a finite number"
    assert by_line[17]["registered_capital"] == "Infinity"
    # Masked in reasons even when the file itself is the provider's own data.
    assert bad_id not in by_line[10]["reason"] and minor not in by_line[15]["reason"]
    assert store.read("MATCH (p:Person) RETURN count(p) AS n")[0]["n"] == 2


def test_withdraw_ends_effect_and_keeps_the_record(store: GraphStore, write_jsonl) -> None:  # type: ignore[no-untyped-def]
    load_files(store, [write_jsonl(good_rows())], policy=NANTONG, provider="p", today=TODAY)
    w = write_jsonl(
        [
            {"type": "record", "id": "R1", "action": "withdraw"},
            {"type": "record", "id": "NOPE", "action": "withdraw"},
        ]
    )
    summary = load_files(store, [w], policy=NANTONG, provider="p", today=TODAY)
    assert summary.loaded == 1 and dict(summary.rejected) == {"unknown_reference": 1}
    rows = store.read(
        "MATCH (r:Record {uid: $u}) RETURN r.status AS s, r.title AS t", {"u": "p:R1"}
    )
    assert rows == [{"s": "withdrawn", "t": "记录 R1"}]


def test_changed_record_relinks_responsible_persons(store: GraphStore, write_jsonl) -> None:  # type: ignore[no-untyped-def]
    load_files(store, [write_jsonl(good_rows())], policy=NANTONG, provider="p", today=TODAY)
    changed = record("R1", A, "2025-06-01", severity="serious", list="black", responsible=[P1])
    summary = load_files(store, [write_jsonl([changed])], policy=NANTONG, provider="p", today=TODAY)
    assert summary.loaded == 1
    rows = store.read(
        "MATCH (:Record {uid: $u})-[:NAMES_RESPONSIBLE]->(p) RETURN p.code AS c", {"u": "p:R1"}
    )
    assert rows == [{"c": P1}]


def test_missing_file_is_exit_2(store: GraphStore, tmp_path: Path) -> None:
    summary = load_files(store, [tmp_path / "nope.jsonl"], policy=NANTONG)
    assert summary.exit_code == 2 and summary.unreadable


@pytest.mark.parametrize("line", [b"{not json\n", b"\xff\xfe garbage\n"])
def test_unparseable_lines_are_rejected_not_fatal(
    store: GraphStore, tmp_path: Path, line: bytes
) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(line + json.dumps(entity(A, "甲")).encode() + b"\n")
    summary = load_files(store, [path], policy=NANTONG, today=TODAY)
    assert summary.loaded == 1 and summary.rejected_total == 1 and summary.exit_code == 1

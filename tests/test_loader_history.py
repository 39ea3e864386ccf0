"""History, lateness and providers' discipline, through real loads into the real engine."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph.store import GraphStore
from loaders.discipline import provider_report
from loaders.pipeline import load_files
from queries.records import RECORD_HISTORY
from schema.policy import load_policy
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.snapshot import graph_snapshot

NANTONG = load_policy("nantong")
CO = uscc_code(61)
P = person_code(62)
Write = Callable[..., Path]


def _load(store: GraphStore, path: Path, provider: str = "p", **kw: Any) -> Any:
    return load_files(
        store, [path], policy=NANTONG, provider=provider, today=dt.date(2026, 11, 21), **kw
    )


def test_changed_record_keeps_previous_version_and_withdraw_keeps_history(
    store: GraphStore, write_jsonl: Write
) -> None:
    first = write_jsonl(
        [
            entity(CO, "甲公司"),
            person(P, "张三"),
            record("R1", CO, "2025-06-01", severity="general", title="旧标题"),
        ]
    )
    _load(store, first)
    second = write_jsonl(
        [record("R1", CO, "2025-06-01", severity="serious", title="新标题", responsible=[P])]
    )
    summary = _load(store, second)
    assert summary.loaded == 1
    third = write_jsonl([{"type": "record", "id": "R1", "action": "withdraw"}])
    assert _load(store, third).loaded == 1
    assert _load(store, third).loaded == 0  # withdrawing twice changes nothing

    h = store.read(RECORD_HISTORY, {"uid": "p:R1"})[0]
    assert h["record"]["status"] == "withdrawn" and h["record"]["title"] == "新标题"
    assert h["record"]["version"] == 2 and h["record"]["severity"] == "serious"
    [old] = h["versions"]
    assert old["title"] == "旧标题" and old["severity"] == "general" and old["version"] == 1
    # Who sent the old version, from which file and line, and which submission replaced it.
    sources = {
        s["id"]: s["file"]
        for s in store.read("MATCH (s:Submission) RETURN s.id AS id, s.file AS file")
    }
    assert sources[old["src"]] == str(first) and old["src_line"] == 3
    assert sources[old["superseded_by"]] == str(second) and old["superseded_at"]
    [event] = h["events"]
    assert event["kind"] == "withdrawn" and event["actor"] == "p"
    assert sources[event["src"]] == str(third) and event["from_status"] == "active"


def test_licences_and_penalties_after_seven_working_days_are_late(
    store: GraphStore, write_jsonl: Write
) -> None:
    rows = [
        entity(CO, "甲公司"),
        # Decided Mon 2026-11-09; submitted Fri 2026-11-20: 9 working days later -> late.
        record("L1", CO, "2026-11-09", category="basic", kind="license"),
        # Decided Wed 2026-11-11: 7 working days by Fri 2026-11-20 -> on time.
        record("L2", CO, "2026-11-11", category="basic", kind="license"),
        record("P1", CO, "2026-10-09", severity="general"),  # a penalty, weeks late
        record("C1", CO, "2026-01-05", category="positive", kind="commendation"),  # no deadline
    ]
    summary = _load(
        store, write_jsonl(rows), submitted_at=dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    )
    assert summary.late_records == 2 and summary.deadline_records == 3
    got = {
        r["id"]: (r["late"], r["days"])
        for r in store.read(
            "MATCH (r:Record) RETURN r.id AS id, r.late AS late, r.late_working_days AS days"
        )
    }
    assert got["L1"] == (True, 9) and got["L2"] == (False, 7)
    assert got["P1"][0] is True and got["C1"] == (None, None)


def test_provider_report_lights(store: GraphStore, write_jsonl: Write, tmp_path: Path) -> None:
    good = write_jsonl([entity(uscc_code(70 + i), f"好{i}公司") for i in range(60)])
    _load(store, good, provider="tidy-bureau")
    sloppy_rows: list[dict[str, Any]] = [
        entity(uscc_code(200 + i), f"乱{i}公司") for i in range(10)
    ]
    sloppy_rows += [{"type": "entity", "code": "BAD", "name": "x"}] * 5
    _load(
        store, write_jsonl(sloppy_rows), provider="sloppy-bureau", rejects_to=tmp_path / "r.jsonl"
    )
    report = {s.provider: s for s in provider_report(store, today=dt.date.today())}
    assert report["tidy-bureau"].light == "green" and report["tidy-bureau"].rows_read == 60
    sloppy = report["sloppy-bureau"]
    assert sloppy.light == "red" and sloppy.rows_rejected == 5
    assert any("rejects" in r for r in sloppy.reasons)
    # Long silence turns a tidy provider yellow, then red.
    later = {
        s.provider: s for s in provider_report(store, today=dt.date.today() + dt.timedelta(days=40))
    }
    assert later["tidy-bureau"].light == "yellow"


def test_every_rejection_reason_lands_in_the_rejects_file(
    store: GraphStore, write_jsonl: Write, tmp_path: Path
) -> None:
    good = [entity(CO, "甲公司"), person(P, "张三")]
    bad: list[tuple[str, dict[str, Any]]] = [
        ("missing_field", {"type": "entity", "code": uscc_code(81)}),
        ("bad_value", {"type": "entity", "code": uscc_code(82), "name": "x", "org_type": "bank"}),
        (
            "invalid",
            {
                "type": "role",
                "entity": CO,
                "holder": P,
                "role": "director",
                "since": "2020-01-01",
                "until": "2019-01-01",
            },
        ),
        (
            "unknown_reference",
            {"type": "role", "entity": uscc_code(83), "holder": P, "role": "director"},
        ),
        ("unknown_reference", record("R9", CO, "2025-01-01", responsible=[person_code(84)])),
    ]
    rows: list[dict[str, Any]] = []
    for i, (_, row) in enumerate(bad):  # bad rows sit between good ones
        rows.append(good[i % 2] if i < 2 else record(f"G{i}", CO, "2025-01-01"))
        rows.append(row)
    path = write_jsonl(rows)
    summary = _load(store, path, rejects_to=tmp_path / "rejects.jsonl")
    expected: dict[str, int] = {}
    for category, _ in bad:
        expected[category] = expected.get(category, 0) + 1
    assert dict(summary.rejected) == expected
    assert summary.loaded == len(rows) - len(bad)
    lines = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text("utf-8").splitlines()]
    assert sorted(x["line"] for x in lines) == [2, 4, 6, 8, 10]
    by_line = {x["line"]: x for x in lines}
    assert "name" in by_line[2]["reason"] and "org_type" in by_line[4]["reason"]
    assert "until is before since" in by_line[6]["reason"]
    assert "no organisation" in by_line[8]["reason"] and "responsible" in by_line[10]["reason"]
    assert person_code(84) not in by_line[10]["reason"]  # masked
    assert by_line[4]["org_type"] == "bank"  # the row comes back as sent, to be fixed


def test_file_order_decides_the_last_content_whichever_pass_writes_a_row(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Roles and records whose subjects came earlier in the file are written at once; the
    others wait for the second pass. A later row of the same record must still win."""
    co2 = uscc_code(63)
    rows = [
        entity(CO, "甲公司"),
        # R1 names co2, which comes later: it waits for the second pass ...
        record("R1", co2, "2025-06-01", severity="general", title="第一版"),
        entity(co2, "乙公司"),
        # ... and so must this later R1, though every subject it names is known by now.
        record("R1", co2, "2025-06-01", severity="serious", title="第二版"),
        # R2 is written at once, withdrawn, then sent again: it ends active (revived).
        record("R2", CO, "2025-07-01", severity="general", title="撤回后重报"),
        {"type": "record", "id": "R2", "action": "withdraw"},
        record("R2", CO, "2025-07-01", severity="general", title="重报的新内容"),
    ]
    summary = _load(store, write_jsonl(rows))
    assert summary.rejected_total == 0, summary.rejected
    r1 = store.read(RECORD_HISTORY, {"uid": "p:R1"})[0]
    assert r1["record"]["title"] == "第二版" and r1["record"]["severity"] == "serious"
    assert [v["title"] for v in r1["versions"]] == ["第一版"]
    r2 = store.read(RECORD_HISTORY, {"uid": "p:R2"})[0]
    assert r2["record"]["title"] == "重报的新内容" and r2["record"]["status"] == "active"
    assert [e["kind"] for e in r2["events"]] == ["withdrawn"]


def test_a_withdrawal_loaded_again_within_a_second_does_not_fail(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Withdrawal events were named by file, line and the second of the run: a file that
    withdraws and re-sends a record, loaded twice within a second, broke on the second
    run with a unique-constraint error on the event. Loaded again, such a file now
    changes nothing at all: no second event, no new version, the record stays active."""
    rows = [
        entity(CO, "甲公司"),
        record("R3", CO, "2025-07-01", severity="general"),
        {"type": "record", "id": "R3", "action": "withdraw"},
        record("R3", CO, "2025-07-01", severity="serious"),
    ]
    path = write_jsonl(rows)
    runs = [_load(store, path) for _ in range(6)]  # some of them within one second
    assert all(r.rejected_total == 0 for r in runs)
    assert runs[0].loaded == 4 and all(r.loaded == 0 and r.unchanged == 4 for r in runs[1:])
    h = store.read(RECORD_HISTORY, {"uid": "p:R3"})[0]
    assert [e["kind"] for e in h["events"]] == ["withdrawn"]
    assert h["record"]["status"] == "active" and h["record"]["severity"] == "serious"
    assert [v["severity"] for v in h["versions"]] == ["general"]


def test_a_file_naming_things_twice_changes_nothing_when_loaded_again(
    store: GraphStore, write_jsonl: Write
) -> None:
    """The later row of a subject, role or record in a file is its content; loading the
    file again must not replay the earlier rows (records gained two versions a reload)."""
    rows = [
        entity(CO, "甲公司"),
        person(P, "张三"),
        entity(CO, "甲公司（更名）"),
        role(CO, P, "director", "2020-01-01", position="董事"),
        role(CO, P, "director", "2020-01-01", position="董事长"),
        record("R5", CO, "2025-07-01", severity="general", title="一"),
        record("R5", CO, "2025-07-01", severity="serious", title="二"),
        record("R6", CO, "2025-08-01", severity="general", title="原报"),
        {"type": "record", "id": "R6", "action": "withdraw"},
        record("R6", CO, "2025-08-01", severity="general", title="重报"),
    ]
    path = write_jsonl(rows)
    first = _load(store, path)
    assert first.rejected_total == 0 and first.loaded == len(rows)
    before = graph_snapshot(store)
    for _ in range(2):
        again = _load(store, path)
        assert (again.loaded, again.unchanged) == (0, len(rows))
        assert graph_snapshot(store) == before
    assert store.read("MATCH (e:Entity {code: $c}) RETURN e.name AS n", {"c": CO}) == [
        {"n": "甲公司（更名）"}
    ]
    [director] = store.read("MATCH (:Person)-[r:DIRECTOR_OF]->(:Entity) RETURN r.position AS p")
    assert director["p"] == "董事长"
    r5 = store.read(RECORD_HISTORY, {"uid": "p:R5"})[0]
    assert r5["record"]["title"] == "二" and [v["title"] for v in r5["versions"]] == ["一"]
    r6 = store.read(RECORD_HISTORY, {"uid": "p:R6"})[0]
    assert r6["record"]["title"] == "重报" and r6["record"]["status"] == "active"
    assert [e["kind"] for e in r6["events"]] == ["withdrawn"]

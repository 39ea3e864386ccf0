"""History, lateness and providers' discipline, through real loads into the real engine."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.checks import check_sanctions
from graph.store import GraphStore
from loaders.discipline import provider_report
from loaders.pipeline import load_files, submission_id
from queries.provenance import MERGE_SUBMISSION
from queries.records import RECORD_HISTORY
from schema.catalogue import load_catalogue
from schema.policy import load_policy
from schema.workdays import china_today
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.snapshot import graph_snapshot

NANTONG = load_policy("nantong")
CATALOGUE = load_catalogue()
CO = uscc_code(61)
P = person_code(62)
Write = Callable[..., Path]


def _load(store: GraphStore, path: Path, provider: str = "p", **kw: Any) -> Any:
    return load_files(
        store, [path], policy=NANTONG, provider=provider, today=dt.date(2026, 11, 21), **kw
    )


def _on(day: str) -> dt.datetime:
    """A submission time in the morning of ``day``, Beijing time."""
    return dt.datetime.fromisoformat(f"{day}T10:00:00+08:00")


def _measures(store: GraphStore, code: str, day: str) -> set[str]:
    result = check_sanctions(
        store, code, policy=NANTONG, catalogue=CATALOGUE, as_of=dt.date.fromisoformat(day)
    )
    return {m.measure for m in result.measures}


def _record(store: GraphStore, uid: str = "p:R1") -> dict[str, Any]:
    return dict(store.read(RECORD_HISTORY, {"uid": uid})[0]["record"])


def _lateness(store: GraphStore, uid: str = "p:R1") -> tuple[Any, Any, Any]:
    r = _record(store, uid)
    return r.get("late"), r.get("late_working_days"), r.get("late_approximate")


WITHDRAW_R1 = {"type": "record", "id": "R1", "action": "withdraw"}
#: A serious penalty decided Mon 2025-03-03: sent Wed 2025-03-05, 2 working days later.
R1 = record("R1", CO, "2025-03-03", severity="serious", act_ended_on="2022-06-01")
R1_GENERAL = {**R1, "severity": "general"}
SERIOUS = {"KEY_SUPERVISION", "NO_PUBLIC_PROCUREMENT", "NO_FISCAL_FUNDS"}


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
    report = {s.provider: s for s in provider_report(store, today=china_today())}
    assert report["tidy-bureau"].light == "green" and report["tidy-bureau"].rows_read == 60
    sloppy = report["sloppy-bureau"]
    assert sloppy.light == "red" and sloppy.rows_rejected == 5
    assert any("rejects" in r for r in sloppy.reasons)
    # Long silence turns a tidy provider yellow, then red.
    later = {
        s.provider: s for s in provider_report(store, today=china_today() + dt.timedelta(days=40))
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


def test_a_withdrawn_record_sent_again_unchanged_is_active_again(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Yangjiang Art. 11: withdrawn information is submitted again. A row identical to the
    stored content was skipped as unchanged whatever the record's status, so the record
    stayed withdrawn (loaded 0, unchanged 1) and grounded nothing."""
    _load(store, write_jsonl([entity(CO, "甲公司"), R1]), submitted_at=_on("2025-03-05"))
    _load(store, write_jsonl([WITHDRAW_R1]), submitted_at=_on("2025-04-01"))
    assert not _measures(store, CO, "2025-04-15")
    again = write_jsonl([R1])
    revived = _load(store, again, submitted_at=_on("2025-05-01"))
    assert (revived.loaded, revived.unchanged) == (1, 0)
    assert _record(store)["status"] == "active"
    assert SERIOUS <= _measures(store, CO, "2025-06-01")
    assert not _measures(store, CO, "2025-04-15")  # withdrawn then: the past stays as it was
    h = store.read(RECORD_HISTORY, {"uid": "p:R1"})[0]
    assert h["record"]["version"] == 1 and h["versions"] == []  # same content: no new version
    # Sent once more, it changes nothing.
    assert _load(store, again, submitted_at=_on("2025-05-02")).loaded == 0


def test_a_record_withdrawn_and_sent_again_unchanged_in_one_file_ends_active(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Within one file the later row is the content: a record sent, withdrawn and sent
    again identical ends active; loaded again, the file changes nothing."""
    rows = [entity(CO, "甲公司"), R1, WITHDRAW_R1, R1]
    path = write_jsonl(rows)
    first = _load(store, path, submitted_at=_on("2025-03-05"))
    assert first.rejected_total == 0 and first.loaded == len(rows)
    assert _record(store)["status"] == "active"
    assert SERIOUS <= _measures(store, CO, "2025-06-01")
    before = graph_snapshot(store)
    again = _load(store, path, submitted_at=_on("2025-03-06"))
    assert (again.loaded, again.unchanged) == (0, len(rows))
    assert graph_snapshot(store) == before


def test_licences_decided_outside_the_calendar_table_still_load(
    store: GraphStore, write_jsonl: Write, tmp_path: Path
) -> None:
    """A licence decided before 1990 stopped the whole load with a traceback (its lateness
    could not be counted): nothing was loaded and the run stayed ``started``. Its
    working days now count Monday to Friday, flagged approximate; the other rows land."""
    rows = [
        entity(CO, "甲公司"),
        record("L0", CO, "1985-06-03", category="basic", kind="license"),
        R1,
    ]
    summary = _load(store, write_jsonl(rows), submitted_at=_on("2025-03-05"))
    assert summary.rejected_total == 0 and summary.loaded == 3
    late, days, approximate = _lateness(store, "p:L0")
    assert late is True and approximate is True and days > 10_000
    assert _lateness(store) == (False, 2, False)
    [log] = store.read("MATCH (l:IngestionLog) RETURN l.status AS s")
    assert log["s"] == "finished"


def test_a_submission_stored_with_a_future_time_no_longer_decides_lateness(
    store: GraphStore, write_jsonl: Write
) -> None:
    """A load with --submitted-at 2125-01-01 crashed after storing its Submission with that
    time, and every later load of the file counted to 2125 and crashed again, even with a
    correct --submitted-at. A first arrival in the future is not believed."""
    path = write_jsonl([entity(CO, "甲公司"), R1])
    content = hashlib.sha256(path.read_bytes()).hexdigest()
    store.write_one(  # what the crashed load left behind
        MERGE_SUBMISSION,
        {
            "id": submission_id("p", content),
            "props": {"provider": "p", "file": str(path), "content_sha256": content,
                      "submitted_at": "2125-01-01T00:00:00+08:00"},
        },
    )
    summary = _load(store, path, submitted_at=_on("2025-03-05"))
    assert summary.rejected_total == 0 and summary.loaded == 2
    assert _lateness(store) == (False, 2, False)


def test_a_correction_keeps_the_lateness_of_the_records_first_arrival(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Zhengzhou Art. 12 counts from the decision to when the platform first had it. A
    correction sent weeks later flagged an on-time record late (21 working days) and
    counted it a second time: the provider turned red with 2 late of 3."""
    _load(store, write_jsonl([entity(CO, "甲公司"), R1]), submitted_at=_on("2025-03-05"))
    corrected = _load(store, write_jsonl([R1_GENERAL]), submitted_at=_on("2025-04-01"))
    assert corrected.loaded == 1 and corrected.late_records == 0
    assert _record(store)["severity"] == "general"
    assert _lateness(store) == (False, 2, False)
    [standing] = provider_report(store, today=dt.date(2025, 4, 1))  # silence: none yet
    assert (standing.deadline_records, standing.late_records) == (1, 0)
    assert standing.light == "green"
    # A correction that moves the decision date counts again, still to the first
    # arrival: decided Thu 2025-02-20, first sent Wed 2025-03-05: 9 working days.
    moved = write_jsonl([{**R1_GENERAL, "decided_on": "2025-02-20"}])
    _load(store, moved, submitted_at=_on("2025-06-03"))
    assert _lateness(store) == (True, 9, False)
    [standing] = provider_report(store)
    assert (standing.deadline_records, standing.late_records) == (1, 1)
    assert _load(store, moved, submitted_at=_on("2025-06-04")).loaded == 0
    assert _lateness(store) == (True, 9, False)


def test_loading_a_file_again_does_not_change_the_providers_standing(
    store: GraphStore, write_jsonl: Write, tmp_path: Path
) -> None:
    """A reload changes nothing but the ingestion log, so not the light either: loading
    one on-time file 12 more times turned a red provider (3 late of 11) yellow, and
    diluted its rejects the same way."""
    co2 = uscc_code(64)
    at = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    late = [record(f"L{i}", CO, "2026-10-09", severity="general") for i in range(3)]
    on_time = [record(f"T{i}", CO, "2026-11-18", severity="general") for i in range(7)]
    bad = {"type": "entity", "code": "BAD", "name": "x"}
    _load(store, write_jsonl([entity(CO, "甲公司"), *late, *on_time, bad]), submitted_at=at,
          rejects_to=tmp_path / "r.jsonl")
    tidy = write_jsonl([entity(co2, "乙公司"), record("N1", co2, "2026-11-19", severity="general")])
    _load(store, tidy, submitted_at=at)
    [before] = provider_report(store)
    assert (before.late_records, before.deadline_records) == (3, 11)
    assert before.light == "red"
    for _ in range(12):
        _load(store, tidy, submitted_at=at)
    [after] = provider_report(store)
    assert after.light == "red" and after.runs == before.runs + 12
    assert (after.late_records, after.deadline_records) == (3, 11)
    assert (after.rows_read, after.rows_rejected) == (before.rows_read, before.rows_rejected)
    assert after.last_submission == before.last_submission  # no new submission since


def test_silence_counts_from_when_the_provider_sent_its_files_not_from_the_load(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Nantong Art. 5 rates how providers report. A backlog of files the bureau sent in
    the summer, loaded by the platform today, showed it green ("last submission 0 days
    ago"); and the report counted load runs, so a file read twice looked like two."""
    first = write_jsonl([entity(uscc_code(81), "夏一公司")])
    second = write_jsonl([entity(uscc_code(82), "夏二公司")])
    today = dt.date(2026, 11, 21)
    _load(store, first, provider="summer-bureau", submitted_at=_on("2026-08-03"))
    _load(store, second, provider="summer-bureau", submitted_at=_on("2026-09-01"))
    _load(store, second, provider="summer-bureau")  # read again today: the same file
    [standing] = provider_report(store, today=today)
    assert (standing.submissions, standing.runs) == (2, 3)
    assert standing.last_submission == "2026-09-01T10:00:00+08:00"
    assert standing.light == "red" and "last submission 81 days ago" in standing.reasons
    # A new file the provider sends today turns the light green again.
    _load(store, write_jsonl([entity(uscc_code(83), "冬公司")]), provider="summer-bureau",
          submitted_at=_on("2026-11-20"))
    [standing] = provider_report(store, today=today)
    assert standing.submissions == 3 and standing.light == "green", standing.reasons


def test_lateness_counts_the_submissions_day_in_china_time(
    store: GraphStore, write_jsonl: Write
) -> None:
    """The same instant, written in UTC or in Beijing time, is one day: 07:30 on
    2025-10-14 in Beijing. Taken in UTC it was still the 13th, 7 working days after a
    penalty of Fri 2025-09-26 (on time) instead of 8 (late)."""
    path = write_jsonl([entity(CO, "甲公司"), record("X1", CO, "2025-09-26", severity="general")])
    for provider, at in (
        ("utc", "2025-10-13T23:30:00+00:00"),
        ("beijing", "2025-10-14T07:30:00+08:00"),
    ):
        summary = _load(store, path, provider, submitted_at=dt.datetime.fromisoformat(at))
        assert summary.late_records == 1, provider
        assert _lateness(store, f"{provider}:X1") == (True, 8, False)
        assert _record(store, f"{provider}:X1")["content_since"] == "2025-10-14"


def test_sending_an_earlier_file_again_does_not_back_date_the_new_version(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Sending the first file again to undo a correction made a third version that took
    effect on the first file's day (2025-03-05), before the correction it undid
    (2025-04-01): the check for a day in between answered differently after the fact."""
    base = write_jsonl([entity(CO, "甲公司"), R1])
    _load(store, base, submitted_at=_on("2025-03-05"))
    _load(store, write_jsonl([R1_GENERAL]), submitted_at=_on("2025-04-01"))
    between = _measures(store, CO, "2025-04-15")
    assert between == {"KEY_SUPERVISION"}  # a general record: key supervision only
    undone = _load(store, base, submitted_at=_on("2025-05-01"))
    assert undone.loaded == 1
    r = _record(store)
    assert (r["version"], r["severity"], r["content_since"]) == (3, "serious", "2025-05-01")
    assert _measures(store, CO, "2025-04-15") == between
    assert SERIOUS <= _measures(store, CO, "2025-05-02")
    assert _lateness(store) == (False, 2, False)  # still counted from the first arrival
    # Sent with a time before the version it supersedes, a change takes effect no earlier.
    _load(store, write_jsonl([R1_GENERAL, entity(CO, "甲公司")]),
          submitted_at=_on("2025-03-10"))
    assert _record(store)["content_since"] == "2025-05-01"
    assert _measures(store, CO, "2025-04-15") == between

"""The audit log of API requests: real SQLite files, real anchor, real processes.

Tampering is done the way someone with file access would do it: through a raw
``sqlite3`` connection on the log, or by rewriting the anchor file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.audit import (
    DB_NAME,
    GENESIS,
    HEAD_NAME,
    KEY_NAME,
    AuditEntry,
    AuditLog,
    AuditRecord,
)
from api.cli_audit import audit_app
from schema.errors import AuditUnavailable
from tests.builders import person_code, uscc_code

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)
ENTITY_A = uscc_code(101)
ENTITY_B = uscc_code(102)
PERSON_P = person_code(7)
PERSON_Q = person_code(8, birth=dt.date(1988, 2, 29))


def rec(
    subjects: list[str],
    *,
    key: str = "ops-zhang",
    role: str = "operator",
    operation: str = "Lookup",
    fields: list[str] | None = None,
    purpose: str | None = "信用核查",
    client: str | None = "10.0.0.7",
    results: int = 1,
    outcome: str = "ok",
) -> AuditRecord:
    return AuditRecord(
        key_name=key,
        key_role=role,
        operation=operation,
        fields=fields if fields is not None else ["subject"],
        subjects=subjects,
        purpose=purpose,
        client=client,
        results=results,
        outcome=outcome,
    )


def filled(directory: Path, n: int) -> AuditLog:
    log = AuditLog(directory)
    for i in range(n):
        subjects = [ENTITY_A] if i % 2 == 0 else [ENTITY_B, PERSON_P]
        log.append(rec(subjects, results=i), at=T0 + dt.timedelta(minutes=i))
    return log


def raw(directory: Path) -> sqlite3.Connection:
    return sqlite3.connect(directory / DB_NAME, isolation_level=None)


def rows(directory: Path) -> dict[int, tuple[Any, ...]]:
    with contextlib.closing(raw(directory)) as c:
        return {r[0]: tuple(r) for r in c.execute("SELECT * FROM entries ORDER BY seq")}


def verify_of(directory: Path) -> tuple[bool, int | None, str]:
    log = AuditLog(directory)
    try:
        r = log.verify()
    finally:
        log.close()
    return r.ok, r.first_broken, r.reason or ""


# -- round trip and chain ------------------------------------------------------------


def test_entries_round_trip_newest_first_with_every_field(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit")
    beijing = dt.timezone(dt.timedelta(hours=8))
    first = log.append(
        rec([ENTITY_A], fields=["subject", "records"], results=3),
        at=dt.datetime(2025, 3, 1, 16, 30, tzinfo=beijing),
    )
    second = log.append(
        AuditRecord(
            key_name="bank-42",
            key_role="institution",
            operation="CheckPerson",
            fields=["check"],
            subjects=[PERSON_P, ENTITY_B],
            purpose=None,
            client=None,
            results=0,
            outcome="error:NOT_FOUND",
        )
    )
    got = log.query()
    assert got == [second, first]

    assert first.seq == 1 and second.seq == 2
    assert first.at == dt.datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    assert first.at.utcoffset() == dt.timedelta(0)
    assert (first.key_name, first.key_role, first.operation) == ("ops-zhang", "operator", "Lookup")
    assert first.fields == ["subject", "records"]
    assert first.subjects == [ENTITY_A]  # a USCC is public: kept in clear
    assert (first.purpose, first.client, first.results, first.outcome) == (
        "信用核查", "10.0.0.7", 3, "ok",
    )
    assert second.subjects == [PERSON_P[:3] + "*" * 11 + PERSON_P[-4:], ENTITY_B]
    assert (second.purpose, second.client, second.outcome) == (None, None, "error:NOT_FOUND")
    assert abs(second.at - dt.datetime.now(UTC)) < dt.timedelta(minutes=1)

    log.close()
    reopened = AuditLog(tmp_path / "audit")
    assert reopened.query() == [second, first]
    reopened.close()


def test_chain_links_and_hashes_follow_the_documented_formula(tmp_path: Path) -> None:
    """An auditor can recompute every hash from the table alone."""
    log = filled(tmp_path, 6)
    result = log.verify()
    assert (result.ok, result.entries, result.first_broken, result.reason) == (True, 6, None, None)
    log.close()

    prev = GENESIS
    with contextlib.closing(raw(tmp_path)) as c:
        c.row_factory = sqlite3.Row
        for row in c.execute("SELECT * FROM entries ORDER BY seq"):
            body = {k: row[k] for k in row.keys() if k != "hash"}
            body["fields"] = json.loads(body["fields"])
            body["subjects"] = json.loads(body["subjects"])
            canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            assert row["prev_hash"] == prev
            assert row["hash"] == hashlib.sha256((prev + canonical).encode()).hexdigest()
            prev = row["hash"]
    head = json.loads((tmp_path / HEAD_NAME).read_text())
    assert head == {"seq": 6, "hash": prev}


def test_an_empty_or_absent_log_verifies_and_queries_empty_without_making_files(
    tmp_path: Path,
) -> None:
    log = AuditLog(tmp_path / "audit")
    assert log.query() == []
    assert log.query(subject_code=ENTITY_A) == []
    assert log.verify().ok and log.verify().entries == 0
    log.close()
    assert not (tmp_path / "audit").exists()


# -- tampering ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("purpose", "日常监管"),
        ("key_name", "someone-else"),
        ("results", 99),
        ("subjects", "[]"),
        ("at", "2024-01-01T00:00:00.000000+00:00"),
        ("outcome", "ok "),
        ("prev_hash", "f" * 64),
        ("hash", "0" * 64),
    ],
)
def test_an_edited_field_is_reported_at_its_entry(
    tmp_path: Path, column: str, value: object
) -> None:
    filled(tmp_path, 8).close()
    with contextlib.closing(raw(tmp_path)) as c:
        c.execute(f"UPDATE entries SET {column} = ? WHERE seq = 5", (value,))
    ok, first, reason = verify_of(tmp_path)
    assert not ok and first == 5
    expected = "prev_hash does not match entry 4" if column == "prev_hash" else "hash mismatch"
    assert expected in reason


def test_a_deleted_middle_entry_is_reported_as_a_seq_gap(tmp_path: Path) -> None:
    filled(tmp_path, 8).close()
    with contextlib.closing(raw(tmp_path)) as c:
        c.execute("DELETE FROM entries WHERE seq = 4")
    assert verify_of(tmp_path) == (False, 4, "seq gap: entry 4 is missing")


def test_swapped_entries_are_reported_as_reordered(tmp_path: Path) -> None:
    filled(tmp_path, 8).close()
    with contextlib.closing(raw(tmp_path)) as c:
        cols = "at, key_name, key_role, operation, fields, subjects, purpose, client, " \
               "results, outcome, prev_hash, hash"
        three = c.execute(f"SELECT {cols} FROM entries WHERE seq = 3").fetchone()
        six = c.execute(f"SELECT {cols} FROM entries WHERE seq = 6").fetchone()
        sets = ", ".join(f"{k.strip()} = ?" for k in cols.split(","))
        c.execute(f"UPDATE entries SET {sets} WHERE seq = 3", six)
        c.execute(f"UPDATE entries SET {sets} WHERE seq = 6", three)
    ok, first, reason = verify_of(tmp_path)
    assert (ok, first) == (False, 3)
    assert reason.startswith("reordered: entry 3 follows entry 5")


def test_cut_off_newest_entries_are_reported_as_truncated(tmp_path: Path) -> None:
    filled(tmp_path, 8).close()
    with contextlib.closing(raw(tmp_path)) as c:
        c.execute("DELETE FROM entries WHERE seq >= 6")
    ok, first, reason = verify_of(tmp_path)
    assert (ok, first) == (False, 6)
    assert "entries 6..8 are missing" in reason and "(truncated)" in reason


def test_a_truncation_stays_reported_after_later_appends(tmp_path: Path) -> None:
    """Otherwise the next request's entry would silently re-anchor the shortened log."""
    filled(tmp_path, 8).close()
    with contextlib.closing(raw(tmp_path)) as c:
        c.execute("DELETE FROM entries WHERE seq >= 6")
    log = AuditLog(tmp_path)
    for _ in range(3):
        log.append(rec([ENTITY_A]))
    r = log.verify()
    log.close()
    assert (r.ok, r.first_broken) == (False, 6)
    assert "the anchor said entry 8" in (r.reason or "")
    assert "truncated" in (r.reason or "")


@pytest.mark.parametrize(
    ("edit", "first", "reason"),
    [
        (lambda h: {**h, "seq": h["seq"] + 2}, 9, "entries 9..10 are missing"),
        (lambda h: {**h, "hash": "a" * 64}, 8, "the anchor does not match entry 8"),
        (lambda h: {**h, "seq": 5}, 5, "the anchor does not match entry 5"),
        (None, None, "the anchor file audit.head is missing"),
        ("garbage", None, "the anchor file audit.head is unreadable"),
    ],
    ids=["seq-raised", "hash-changed", "seq-lowered", "deleted", "garbage"],
)
def test_an_edited_anchor_is_reported(
    tmp_path: Path, edit: Any, first: int | None, reason: str
) -> None:
    filled(tmp_path, 8).close()
    head_path = tmp_path / HEAD_NAME
    if edit is None:
        head_path.unlink()
    elif edit == "garbage":
        head_path.write_text("seq=8\n")
    else:
        head_path.write_text(json.dumps(edit(json.loads(head_path.read_text()))))
    ok, got_first, got_reason = verify_of(tmp_path)
    assert (ok, got_first) == (False, first)
    assert reason in got_reason


def test_an_anchor_lowered_consistently_leaves_the_later_entries_uncovered(
    tmp_path: Path,
) -> None:
    filled(tmp_path, 8).close()
    five = rows(tmp_path)[5]
    (tmp_path / HEAD_NAME).write_text(json.dumps({"seq": 5, "hash": five[-1]}))
    ok, first, reason = verify_of(tmp_path)
    assert (ok, first) == (False, 6)
    assert "not covered by the anchor" in reason


EDITABLE: dict[str, st.SearchStrategy[Any]] = {
    "at": st.text(max_size=30),
    "key_name": st.text(max_size=10),
    "key_role": st.sampled_from(["operator", "institution", "subject", "public"]),
    "operation": st.text(max_size=10),
    "fields": st.sampled_from(['["subject"]', '["check"]', "[]", "not json"]),
    "subjects": st.sampled_from(["[]", json.dumps([ENTITY_A]), json.dumps([ENTITY_B])]),
    "purpose": st.none() | st.text(max_size=10) | st.binary(min_size=1, max_size=4),
    "client": st.none() | st.sampled_from(["10.0.0.7", "10.0.0.8"]),
    "results": st.integers(-5, 20),
    "outcome": st.sampled_from(["ok", "error", "partial:X"]),
    "prev_hash": st.sampled_from([GENESIS, "e" * 64]),
    "hash": st.sampled_from([GENESIS, "e" * 64]),
}
#: Every column but seq, in table order.
CONTENT = list(EDITABLE)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, tuple[Any, ...]]]:
    d = tmp_path_factory.mktemp("pristine")
    filled(d, 12).close()
    return d, rows(d)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_tampering_is_always_detected_at_the_first_changed_entry(
    pristine: tuple[Path, dict[int, tuple[Any, ...]]], tmp_path: Path, data: st.DataObject
) -> None:
    source, original = pristine
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    for f in source.iterdir():
        shutil.copy2(f, work / f.name)
    ops = data.draw(st.lists(
        st.tuples(
            st.sampled_from(["edit", "delete", "swap", "truncate"]),
            st.integers(0, 99),
            st.integers(0, 99),
            st.sampled_from(CONTENT),
        ),
        min_size=1,
        max_size=4,
    ))
    with contextlib.closing(raw(work)) as c:
        for kind, i, j, column in ops:
            seqs = [r[0] for r in c.execute("SELECT seq FROM entries ORDER BY seq")]
            if not seqs:
                break
            a, b = seqs[i % len(seqs)], seqs[j % len(seqs)]
            if kind == "edit":
                value = data.draw(EDITABLE[column], label=f"{column} of {a}")
                c.execute(f"UPDATE entries SET {column} = ? WHERE seq = ?", (value, a))
            elif kind == "delete":
                c.execute("DELETE FROM entries WHERE seq = ?", (a,))
            elif kind == "swap":
                ra = c.execute("SELECT * FROM entries WHERE seq = ?", (a,)).fetchone()
                rb = c.execute("SELECT * FROM entries WHERE seq = ?", (b,)).fetchone()
                sets = ", ".join(f"{k} = ?" for k in CONTENT)
                c.execute(f"UPDATE entries SET {sets} WHERE seq = ?", (*rb[1:], a))
                c.execute(f"UPDATE entries SET {sets} WHERE seq = ?", (*ra[1:], b))
            else:
                c.execute("DELETE FROM entries WHERE seq > ?", (seqs[-1] - 1 - j % 4,))
    now = rows(work)
    changed = [s for s in original if now.get(s) != original[s]]
    assume(changed)
    ok, first, reason = verify_of(work)
    assert not ok, ops
    assert first == changed[0], (ops, reason)


# -- personal data and subject queries --------------------------------------------------


def test_id_numbers_never_reach_the_files_in_clear(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.append(rec([PERSON_P, ENTITY_A], purpose=f"核查 {PERSON_Q} 的关联人"))
    log.append(rec([PERSON_Q.lower()], key=f"key-of-{PERSON_P}"))
    # Glued to letters or an underscore, as a purpose or a key name is often typed.
    log.append(rec([ENTITY_A], purpose=f"ID{PERSON_P}核查", key=f"bank_{PERSON_Q}"))

    def everything() -> bytes:
        return b"".join(f.read_bytes() for f in sorted(tmp_path.iterdir()) if f.is_file())

    for clear in (PERSON_P, PERSON_Q):
        assert clear.encode() not in everything()  # while open: data still in the WAL
    log.close()
    blob = everything()
    for clear in (PERSON_P, PERSON_Q):
        assert clear.encode() not in blob  # after the checkpoint into the main file
        assert (clear[:3] + "*" * 11 + clear[-4:]).encode() in blob
    assert ENTITY_A.encode() in blob
    assert (tmp_path / KEY_NAME).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / DB_NAME).stat().st_mode & 0o077 == 0


def test_a_subject_sees_exactly_the_entries_that_touched_it(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    touched: dict[str, list[int]] = {ENTITY_A: [], ENTITY_B: [], PERSON_P: [], PERSON_Q: []}
    plan = [[ENTITY_A], [PERSON_P], [ENTITY_B, PERSON_P], [], [PERSON_Q, PERSON_P], [ENTITY_A]]
    for i, subjects in enumerate(plan * 3):
        key = "ops-zhang" if i % 2 == 0 else "bank-42"
        e = log.append(rec(subjects, key=key))
        for s in subjects:
            touched[s].append(e.seq)

    for code, seqs in touched.items():
        got = log.query(subject_code=code, first=100)
        assert [e.seq for e in got] == sorted(seqs, reverse=True)
    # the code as a caller may type it
    assert [e.seq for e in log.query(subject_code=f"  {ENTITY_B.lower()} ", first=100)] == sorted(
        touched[ENTITY_B], reverse=True
    )
    assert log.query(subject_code=uscc_code(999)) == []
    assert log.query(subject_code=person_code(9)) == []

    # paging: newest first, then before the last seen
    page1 = log.query(subject_code=PERSON_P, first=4)
    page2 = log.query(subject_code=PERSON_P, first=4, before_seq=page1[-1].seq)
    assert [e.seq for e in page1 + page2] == sorted(touched[PERSON_P], reverse=True)[:8]

    by_key = log.query(key_name="bank-42", first=100)
    assert by_key and all(e.key_name == "bank-42" for e in by_key)
    assert [e.seq for e in by_key] == [s for s in range(18, 0, -1) if s % 2 == 0]
    both = log.query(subject_code=PERSON_P, key_name="ops-zhang", first=100)
    assert [e.seq for e in both] == [s for s in sorted(touched[PERSON_P], reverse=True) if s % 2]
    log.close()


def test_queries_on_a_large_log_use_indexes_not_scans(tmp_path: Path) -> None:
    """Five years of entries: every query the service makes must be an index range."""
    import api.audit as audit

    filled(tmp_path, 3).close()
    with contextlib.closing(raw(tmp_path)) as c:
        for sql, params in [
            (audit._NEWEST_OF_SUBJECT, ("d", 10, "k", "k", 5)),
            (audit._NEWEST_OF_KEY, ("k", 10, 5)),
            (audit._NEWEST, (10, 5)),
        ]:
            plan = " | ".join(r[3] for r in c.execute("EXPLAIN QUERY PLAN " + sql, params))
            assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan


# -- concurrency and failures -------------------------------------------------------------


def _append_many(directory: str, key: str, n: int, barrier: Any) -> None:
    log = AuditLog(Path(directory))
    barrier.wait()
    for i in range(n):
        log.append(rec([ENTITY_A, PERSON_P], key=key, results=i))
    log.close()


def test_two_processes_appending_together_make_one_valid_chain(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_append_many, args=(str(tmp_path), f"worker-{i}", 200, barrier))
        for i in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=180)
    assert [p.exitcode for p in procs] == [0, 0]

    log = AuditLog(tmp_path)
    r = log.verify()
    assert (r.ok, r.entries) == (True, 400)
    for i in range(2):
        mine = log.query(key_name=f"worker-{i}", first=500)
        assert sorted(e.results for e in mine) == list(range(200))
    assert len(log.query(subject_code=PERSON_P, first=500)) == 400
    log.close()


def test_threads_sharing_one_log_make_one_valid_chain(tmp_path: Path) -> None:
    """The service appends from a thread pool through one AuditLog."""
    log = AuditLog(tmp_path)

    def work(i: int) -> list[int]:
        return [log.append(rec([ENTITY_A], key=f"thread-{i}")).seq for _ in range(50)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        seqs = [s for batch in pool.map(work, range(8)) for s in batch]
    assert sorted(seqs) == list(range(1, 401))
    r = log.verify()
    assert (r.ok, r.entries) == (True, 400)
    log.close()


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """chmod does not stop root; the immutable attribute does."""
    if os.geteuid() != 0:
        path.chmod(0o500)
        try:
            yield
        finally:
            path.chmod(0o700)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root and chattr +i is not available here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_log_that_cannot_be_created_refuses_the_append(tmp_path: Path) -> None:
    parent = tmp_path / "readonly"
    parent.mkdir()
    with unwritable(parent):
        log = AuditLog(parent / "audit")
        with pytest.raises(AuditUnavailable):
            log.append(rec([ENTITY_A]))
        log.close()


def test_an_unwritable_log_refuses_the_append_and_leaves_the_log_intact(
    tmp_path: Path,
) -> None:
    log = filled(tmp_path, 2)
    # The anchor is overwritten in place: a directory that only refuses new files does
    # not stop an append whose files exist (and it is then rightly written).
    with unwritable(tmp_path / HEAD_NAME):
        with pytest.raises(AuditUnavailable) as err:
            log.append(rec([ENTITY_A]))
        assert err.value.code == "AUDIT_UNAVAILABLE"
    r = log.verify()
    assert (r.ok, r.entries) == (True, 2)
    assert log.append(rec([ENTITY_A])).seq == 3  # recovers once the directory is writable
    assert log.verify().ok
    log.close()


def test_a_corrupt_log_file_refuses_the_append_and_fails_verification(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not a database, it was overwritten\n" * 200)
    log = AuditLog(tmp_path)
    with pytest.raises(AuditUnavailable):
        log.append(rec([ENTITY_A]))
    with pytest.raises(AuditUnavailable):
        log.query()
    r = log.verify()
    assert not r.ok and "cannot be read" in (r.reason or "")
    log.close()


def test_a_locked_log_refuses_the_append_after_the_busy_timeout(tmp_path: Path) -> None:
    filled(tmp_path, 1).close()
    log = AuditLog(tmp_path, busy_timeout_s=0.1)
    with contextlib.closing(raw(tmp_path)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(AuditUnavailable, match="locked"):
            log.append(rec([ENTITY_A]))
        holder.execute("ROLLBACK")
    assert log.append(rec([ENTITY_A])).seq == 2
    assert log.verify().ok
    log.close()


def test_a_naive_time_is_refused_rather_than_guessed(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    with pytest.raises(AuditUnavailable, match="timezone"):
        log.append(rec([ENTITY_A]), at=dt.datetime(2025, 1, 1, 12, 0))
    assert log.query() == []
    log.close()


# -- CLI ---------------------------------------------------------------------------------


def cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(audit_app, name="audit")
    return app


def run(data_dir: Path, *args: str) -> Any:
    env: dict[str, str | None] = {
        "CREDIT_GRAPH_DATA_DIR": str(data_dir),
        "CREDIT_GRAPH_AUDIT_DIR": None,
    }
    return CliRunner().invoke(cli(), ["audit", *args], env=env)


def test_cli_verify_reports_ok_and_then_the_first_broken_entry(tmp_path: Path) -> None:
    res = run(tmp_path, "verify")
    assert (res.exit_code, res.output.strip()) == (0, "ok: 0 entries")

    filled(tmp_path / "audit", 5).close()
    res = run(tmp_path, "verify")
    assert (res.exit_code, res.output.strip()) == (0, "ok: 5 entries")

    with contextlib.closing(raw(tmp_path / "audit")) as c:
        c.execute("UPDATE entries SET purpose = 'nothing to see' WHERE seq = 2")
    res = run(tmp_path, "verify")
    assert res.exit_code == 1
    assert res.output.strip().startswith("broken at entry 2: hash mismatch")


def test_cli_show_filters_by_subject_and_prints_json(tmp_path: Path) -> None:
    filled(tmp_path / "audit", 5).close()
    res = run(tmp_path, "show", "--subject", PERSON_P, "--json")
    assert res.exit_code == 0, res.output
    shown = json.loads(res.output)
    assert [e["seq"] for e in shown] == [4, 2]
    assert all(PERSON_P not in json.dumps(e) for e in shown)
    assert shown[0]["subjects"] == [ENTITY_B, PERSON_P[:3] + "*" * 11 + PERSON_P[-4:]]

    res = run(tmp_path, "show", "--key", "ops-zhang", "--first", "2")
    assert res.exit_code == 0
    lines = res.output.strip().splitlines()
    assert len(lines) == 2 and lines[0].split()[0] == "5" and "ops-zhang (operator)" in lines[0]
    assert PERSON_P not in res.output

    res = run(tmp_path, "show", "--key", "nobody")
    assert (res.exit_code, res.output.strip()) == (0, "no entries")


def test_entry_dicts_are_json_ready() -> None:
    e = AuditEntry(1, T0, "k", "operator", "Q", ["f"], ["s"], None, None, 0, "ok", GENESIS, "h")
    assert json.loads(json.dumps(e.as_dict()))["at"] == "2025-03-01T08:00:00.123456+00:00"


def test_try_append_writes_when_free_and_steps_aside_for_another_writer(tmp_path: Path) -> None:
    """The service writes an entry on its event loop only when no one else is writing;
    when another process holds the write lock it gets None, nothing written, and hands
    the entry to a thread that waits (``api/graphql_router.py``)."""
    log = filled(tmp_path, 2)
    first = log.try_append(rec([ENTITY_A], operation="Inline"))
    assert first is not None and first.seq == 3
    lock_path = tmp_path / "audit.write.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)"
        ), str(lock_path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert log.try_append(rec([ENTITY_B], operation="Blocked")) is None
        assert max(rows(tmp_path)) == 3  # nothing written
    finally:
        holder.kill()
        holder.wait()
    again = log.try_append(rec([ENTITY_B], operation="After"))
    assert again is not None and again.seq == 4
    log.close()
    assert verify_of(tmp_path) == (True, None, "")
    assert [r[4] for r in rows(tmp_path).values()][-2:] == ["Inline", "After"]

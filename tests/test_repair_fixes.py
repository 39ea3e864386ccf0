"""Four defects of credit repair, revocation and deletion found by a tester (2026-11-22).

1. Parallel steps on one record or one repair: at most one open repair per record and one
   decision (or one stop) per repair, however many arrive at once; the others are told
   CONFLICT or the refusal they would get one after the other.
2. A repair already in effect cannot be stopped by a backdated ``cancelRepair``.
3. A backdated ``requestRepair`` cannot slip under a revocation recorded since.
4. Deadlines for any date (``add_working_days`` before 1990, after 2100) and a deletion
   not dated before the record's decision.

Records go through the real loader into the real embedded engine; the procedures are the
ones the GraphQL mutations call (and one test goes over real HTTP); the check answers
for exact dates. Dates are in the autumn of 2026; "today" is Sunday 22 November 2026.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api import repairs as rep
from api.app import create_app
from api.checks import check_sanctions
from api.record_procedures import Actor, load_record
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from queries import life
from schema.access import AccessRules, Caller, CallerRole, load_limited_sharing
from schema.catalogue import load_catalogue
from schema.errors import CreditGraphError, InvalidInput
from schema.policy import load_policy
from schema.record_life import Standing
from schema.workdays import add_working_days, china_today, working_days_after
from tests.api_client import Client, make_key
from tests.builders import entity, record, uscc_code
from tests.live_server import serve_in_thread

CATALOGUE = load_catalogue()
CO = uscc_code(811)
TODAY = dt.date(2026, 11, 22)
D = dt.date.fromisoformat

OPERATOR = Actor(Caller(CallerRole.OPERATOR, key_name="ops"), TODAY)
SELF = Actor(Caller(CallerRole.SUBJECT, key_name="co-self", subject_code=CO), TODAY)
PROVIDER = Actor(Caller(CallerRole.PROVIDER, key_name="feed", unit="t"), TODAY)

Write = Callable[[list[dict[str, Any]]], Path]

#: What the losers of a race may be told: CONFLICT (send it again), or the refusal they
#: would get after the winner (the repair is already decided, a repair is open).
LOSING_CODES = {"CONFLICT", "INVALID_INPUT"}


def rules(policy: str) -> AccessRules:
    return AccessRules(load_policy(policy), load_limited_sharing())


def load(store: GraphStore, write_jsonl: Write, *rows: dict[str, Any],
         today: dt.date = TODAY) -> None:
    summary = load_files(store, [write_jsonl([entity(CO, "南通宏达建设工程有限公司"), *rows])],
                         policy=load_policy("nantong"), provider="t", today=today)
    assert summary.rejected_total == 0, summary.as_dict()


def tax_record(store: GraphStore, write_jsonl: Write) -> None:
    """R0: CO's only record, a serious tax-arrears record of March 2025 whose act was
    corrected on 1 June 2025 (so a year clean has passed by the autumn of 2026)."""
    load(store, write_jsonl, record("R0", CO, "2025-03-03", kind="tax_arrears",
                                    severity="serious"))


def ask(store: GraphStore, r: AccessRules, on: str) -> rep.RepairView:
    return rep.request_repair(store, r, SELF, record_uid="t:R0", reason="已整改",
                              corrected_on=D("2025-06-01"), commitment=True, on=D(on))


def restricted(store: GraphStore, day: str) -> bool:
    return check_sanctions(store, CO, policy=load_policy("nantong"), catalogue=CATALOGUE,
                           as_of=D(day)).restricted


def standing(store: GraphStore, uid: str, day: str, policy: str = "nantong") -> Standing:
    return load_record(store, uid).state(load_policy(policy), D(day)).standing


def events(store: GraphStore, uid: str, kind: str) -> list[dict[str, Any]]:
    rows = store.read(life.EVENTS_OF_RECORD, {"uid": uid})
    return [dict(r["event"]) for r in rows if r["event"]["kind"] == kind]


def race(n: int, step: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``step`` on ``n`` threads released together; what won and what was refused."""
    barrier = threading.Barrier(n)

    def one() -> Any:
        barrier.wait(timeout=30)
        return step()

    won: list[Any] = []
    lost: list[BaseException] = []
    with ThreadPoolExecutor(n) as pool:
        for future in [pool.submit(one) for _ in range(n)]:
            error = future.exception(timeout=120)
            if error is None:
                won.append(future.result())
            else:
                lost.append(error)
    return won, lost


def assert_lost_properly(lost: list[BaseException]) -> None:
    for error in lost:
        assert isinstance(error, CreditGraphError), repr(error)
        assert error.code in LOSING_CODES, (error.code, error.message)


# -- 1. parallel steps ----------------------------------------------------------------------


def test_parallel_requests_open_one_repair(store: GraphStore, write_jsonl: Write) -> None:
    tax_record(store, write_jsonl)
    r = rules("nantong")
    won, lost = race(8, lambda: ask(store, r, "2026-11-16"))
    assert len(won) == 1, f"{len(won)} repairs opened at once"
    assert_lost_properly(lost)
    assert [v.id for v in rep.repairs_of(store, "t:R0", TODAY)] == [won[0].id]
    assert len(events(store, "t:R0", "repair_requested")) == 1


def test_parallel_approvals_decide_once_and_a_stop_leaves_no_repair(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Six approvals of one request at once: one decision, one publicity, one ``repaired``
    entry; stopping it during the publicity leaves the record in force for good."""
    tax_record(store, write_jsonl)
    r = rules("nantong")
    asked = ask(store, r, "2026-11-16")
    won, lost = race(6, lambda: rep.decide_repair(
        store, r, PROVIDER, repair_id=asked.id, approve=True, note="同意", on=D("2026-11-18")))
    assert len(won) == 1, f"{len(won)} decisions of one repair"
    assert_lost_properly(lost)
    assert won[0].props["effective_on"] == "2026-11-26"
    assert len(events(store, "t:R0", "repaired")) == 1
    stopped = rep.cancel_repair(store, r, OPERATOR, repair_id=asked.id,
                                reason="公示期间收到有效异议", on=D("2026-11-20"))
    assert stopped.props["status"] == "cancelled"
    [cancelled] = events(store, "t:R0", "repair_cancelled")
    assert cancelled["to_status"] == "active"
    for day in ("2026-11-26", "2026-12-31"):
        assert standing(store, "t:R0", day) is Standing.IN_FORCE
        assert restricted(store, day)


def test_parallel_stops_stop_once(store: GraphStore, write_jsonl: Write) -> None:
    tax_record(store, write_jsonl)
    r = rules("nantong")
    asked = ask(store, r, "2026-11-16")
    rep.decide_repair(store, r, PROVIDER, repair_id=asked.id, approve=True, note="同意",
                      on=D("2026-11-18"))
    won, lost = race(6, lambda: rep.cancel_repair(
        store, r, OPERATOR, repair_id=asked.id, reason="公示期间收到有效异议",
        on=D("2026-11-20")))
    assert len(won) == 1, f"{len(won)} stops of one repair"
    assert_lost_properly(lost)
    assert len(events(store, "t:R0", "repair_cancelled")) == 1
    assert standing(store, "t:R0", "2026-11-30") is Standing.IN_FORCE


def test_parallel_requests_over_http_one_wins_the_rest_are_told_why(
    store: GraphStore, write_jsonl: Write, tmp_path: Path
) -> None:
    """The same race through the API a subject uses: one repair, and each other request
    answered with a code (never INTERNAL)."""
    today = china_today()  # the service's day
    load(store, write_jsonl,
         record("R0", CO, (today - dt.timedelta(days=700)).isoformat(), kind="tax_arrears",
                severity="serious"),
         today=today - dt.timedelta(days=100))
    key = make_key(store, "subject", "co-self", subject=CO)
    settings_ = load_settings(data_dir=tmp_path / "data", policy="nantong")
    query = """mutation($c: Date) { requestRepair(recordId: "t:R0", reason: "已整改",
                 correctedOn: $c, commitment: true) { id } }"""
    corrected = (today - dt.timedelta(days=500)).isoformat()
    with serve_in_thread(create_app(settings_, store=store)) as url:
        client = Client(url, key)
        won, lost = race(5, lambda: client.post(query, {"c": corrected}).json())
        answers = won + lost
        ids = [a["data"]["requestRepair"]["id"] for a in answers
               if (a.get("data") or {}).get("requestRepair")]
        codes = [a["errors"][0]["extensions"]["code"] for a in answers if a.get("errors")]
        assert len(ids) == 1, answers
        assert len(codes) == 4 and set(codes) <= LOSING_CODES, codes
        repairs = client.data('query { record(recordId: "t:R0") { repairs { id } } }')
        assert [p["id"] for p in repairs["record"]["repairs"]] == ids


# -- 2. a repair in effect cannot be stopped on a backdated day --------------------------------


def test_backdated_stop_cannot_undo_a_repair_already_in_effect(
    store: GraphStore, write_jsonl: Write
) -> None:
    tax_record(store, write_jsonl)
    r = rules("nantong")
    asked = ask(store, r, "2026-10-20")
    decided = rep.decide_repair(store, r, PROVIDER, repair_id=asked.id, approve=True,
                                note="同意", on=D("2026-11-02"))
    assert decided.props["publicity_ends"] == "2026-11-09"
    assert decided.props["effective_on"] == "2026-11-10"
    assert restricted(store, "2026-11-05") and not restricted(store, "2026-11-15")
    with pytest.raises(InvalidInput, match="publicity"):
        rep.cancel_repair(store, r, OPERATOR, repair_id=asked.id, reason="迟到的异议",
                          on=D("2026-11-05"))
    assert not restricted(store, "2026-11-15")
    assert standing(store, "t:R0", "2026-11-15") is Standing.REPAIRED
    assert events(store, "t:R0", "repair_cancelled") == []
    [view] = rep.repairs_of(store, "t:R0", TODAY)
    assert view.props["status"] == rep.APPROVED


# -- 3. a backdated request cannot slip under a revocation ------------------------------------


def test_backdated_request_is_judged_after_a_revocation_recorded_since(
    store: GraphStore, write_jsonl: Write
) -> None:
    tax_record(store, write_jsonl)
    r = rules("nantong")
    rep.revoke_record(store, r, OPERATOR, record_uid="t:R0", reason="行政复议撤销",
                      notice_on=D("2026-11-20"))
    with pytest.raises(rep.ProcedureNotAvailable, match="revoked"):
        ask(store, r, "2026-11-10")
    assert rep.repairs_of(store, "t:R0", TODAY) == []
    with pytest.raises(InvalidInput, match="decision"):
        ask(store, r, "2025-03-02")  # before the record's decision


# -- 4. deadlines for any date, deletions not before the decision -----------------------------


def _first_day_with(start: dt.date, n: int) -> dt.date:
    """The deadline by brute force: n working days counted after ``start``."""
    day = start
    while working_days_after(start, day).days < n:
        day += dt.timedelta(days=1)
    return day


@pytest.mark.parametrize(("start", "n", "due"), [
    (dt.date(1985, 6, 3), 3, dt.date(1985, 6, 6)),  # Mon -> Thu, Mon-Fri before the table
    (dt.date(1900, 1, 1), 2, dt.date(1900, 1, 3)),
    (dt.date(1, 1, 1), 2, dt.date(1, 1, 3)),  # a Monday
    (dt.date(1989, 12, 29), 2, dt.date(1990, 1, 2)),  # Fri, across the table's start
    (dt.date(2100, 12, 30), 5, dt.date(2101, 1, 6)),  # Thu, across the table's end
    (dt.date(2125, 3, 2), 1, dt.date(2125, 3, 5)),  # Fri -> Mon, all after the table
])
def test_deadlines_outside_the_table_count_monday_to_friday(
    start: dt.date, n: int, due: dt.date
) -> None:
    day, approximate = add_working_days(start, n)
    assert (day, approximate) == (due, True)
    assert day == _first_day_with(start, n)


def test_deadlines_at_the_ends_of_the_calendar_do_not_crash() -> None:
    assert add_working_days(dt.date.max, 0) == (dt.date.max, True)
    day, approximate = add_working_days(dt.date(9999, 12, 30), 5)
    assert day == dt.date.max and approximate  # no later day can be written


@settings(max_examples=300, deadline=None)
@given(st.dates(dt.date(1, 1, 1), dt.date(9999, 1, 1)), st.integers(0, 40))
def test_a_deadline_is_the_first_day_with_that_many_working_days(
    start: dt.date, n: int
) -> None:
    day, _ = add_working_days(start, n)
    assert working_days_after(start, day).days == n
    assert day == start or working_days_after(start, day - dt.timedelta(days=1)).days == n - 1


def test_deletion_is_not_dated_before_the_decision_nor_under_a_later_change(
    store: GraphStore, write_jsonl: Write
) -> None:
    load(store, write_jsonl,
         record("C1", CO, "2026-01-05", category="positive", kind="commendation"),
         record("C2", CO, "2026-01-05", category="positive", kind="donation"))
    r = rules("wuhan")
    for on in ("1900-01-01", "1989-12-29", "0001-01-01", "2026-01-04"):
        with pytest.raises(InvalidInput, match="decision"):
            rep.delete_positive_record(store, r, SELF, record_uid="t:C1", on=D(on))
    assert standing(store, "t:C1", "2026-11-20", "wuhan") is Standing.IN_FORCE
    done = rep.delete_positive_record(store, r, SELF, record_uid="t:C1", on=D("2026-01-05"))
    assert done.due == D("2026-01-07")  # Wuhan Art. 29: 2 working days
    # A deletion dated before a revocation recorded since is judged after it.
    rep.revoke_record(store, r, OPERATOR, record_uid="t:C2", reason="撤销",
                      notice_on=D("2026-11-20"))
    with pytest.raises(InvalidInput, match="revoked"):
        rep.delete_positive_record(store, r, SELF, record_uid="t:C2", on=D("2026-11-10"))
    assert standing(store, "t:C2", "2026-11-15", "wuhan") is Standing.IN_FORCE

"""Objection defects found on the demo data (fix F5), driven through the real procedures.

Records are loaded through the real loader into the real embedded engine; the procedures
run through the services the GraphQL mutations call, or over HTTP against the real app;
what is asserted is what a user notices: the refusal and its message, the record's
content and status on a date, the check's verdict, the overdue list.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api import objections as obj
from api.app import create_app
from api.checks import check_sanctions
from api.record_procedures import Actor, load_record
from api.settings import load_settings
from graph.record_versions import with_content_on
from graph.store import GraphStore
from loaders.pipeline import load_files
from queries import life
from schema.access import AccessRules, Caller, CallerRole, load_limited_sharing
from schema.catalogue import load_catalogue
from schema.errors import CreditGraphError, InvalidInput
from schema.models import ListKind, Severity
from schema.policy import load_policy
from schema.record_life import Standing
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, record, uscc_code
from tests.live_server import serve_in_thread

CATALOGUE = load_catalogue()
CO = uscc_code(811)
TODAY = dt.date(2026, 11, 22)
D = dt.date.fromisoformat

OPERATOR = Actor(Caller(CallerRole.OPERATOR, key_name="ops"), TODAY)
SELF = Actor(Caller(CallerRole.SUBJECT, key_name="co-self", subject_code=CO), TODAY)

Write = Callable[[list[dict[str, Any]]], Path]


def rules(policy: str) -> AccessRules:
    return AccessRules(load_policy(policy), load_limited_sharing())


def load(store: GraphStore, write_jsonl: Write, rows: list[dict[str, Any]],
         day: dt.date = TODAY) -> None:
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"),
                         provider="t", today=day,
                         submitted_at=dt.datetime.combine(day, dt.time(9), dt.UTC))
    assert summary.rejected_total == 0, summary.as_dict()


def content(store: GraphStore, uid: str, day: str) -> dict[str, Any]:
    """The record as ``record(recordId:, asOf:)`` shows it."""
    rec = load_record(store, uid)
    [row] = with_content_on(store, [{"record": dict(rec.props)}], D(day))
    return dict(row["record"])


def events(store: GraphStore, uid: str) -> list[dict[str, Any]]:
    return [r["event"] for r in store.read(life.EVENTS_OF_RECORD, {"uid": uid})]


def resolve(
    store: GraphStore, policy: str, oid: str, correction: obj.Correction, on: str
) -> obj.ObjectionView:
    return obj.resolve_objection(
        store, rules(policy), OPERATOR, objection_id=oid, outcome=obj.Outcome.CORRECTED,
        note="更正", correction=correction, on=D(on),
    )


# -- 1. a correction is validated as the record it makes -----------------------------------


def _one_pending(store: GraphStore, uid: str, policy: str = "nantong") -> str:
    filed = obj.file_objection(store, rules(policy), SELF, record_uid=uid, reason="记录有误",
                               on=D("2026-11-20"))
    return filed.id


def _nothing_changed(store: GraphStore, uid: str, oid: str, before: dict[str, Any]) -> None:
    after = load_record(store, uid).props
    for key in ("version", "list", "severity", "valid_until", "decided_on", "content_since"):
        assert after.get(key) == before.get(key), key
    [view] = obj.objections_of(store, load_policy("nantong"), uid)
    assert view.id == oid and view.props["status"] == "pending"
    assert "corrected" not in [e["kind"] for e in events(store, uid)]


def test_a_red_list_correction_of_a_negative_record_is_refused(
    store: GraphStore, write_jsonl: Write
) -> None:
    load(store, write_jsonl, [entity(CO, "甲公司"),
                              record("N1", CO, "2026-06-01", severity="general")])
    oid = _one_pending(store, "t:N1")
    before = dict(load_record(store, "t:N1").props)
    with pytest.raises(InvalidInput) as refused:
        resolve(store, "nantong", oid, obj.Correction(list_kind=ListKind.RED), "2026-11-22")
    message = str(refused.value)
    assert message.startswith("correction.list:"), message
    assert "a negative record cannot put a subject on the red list" in message
    _nothing_changed(store, "t:N1", oid, before)
    verdict = check_sanctions(store, CO, policy=load_policy("nantong"), catalogue=CATALOGUE,
                              as_of=D("2026-11-23"))
    assert {m.measure for m in verdict.measures} == {"KEY_SUPERVISION"}
    assert verdict.incentives == []


def test_black_list_severity_and_an_early_end_on_a_positive_record_are_refused(
    store: GraphStore, write_jsonl: Write
) -> None:
    load(store, write_jsonl, [entity(CO, "甲公司"),
                              record("P1", CO, "2026-04-20", category="positive",
                                     kind="commendation")])
    oid = _one_pending(store, "t:P1")
    before = dict(load_record(store, "t:P1").props)
    bad = obj.Correction(list_kind=ListKind.BLACK, severity=Severity.SERIOUS,
                         valid_until=D("2020-01-01"))
    with pytest.raises(InvalidInput) as refused:
        resolve(store, "nantong", oid, bad, "2026-11-22")
    message = str(refused.value)
    # Each of the three breaks a rule on its own: all three are named.
    assert message.startswith("correction.list, correction.severity, correction.validUntil:")
    assert "severity is only for negative records" in message
    _nothing_changed(store, "t:P1", oid, before)
    with pytest.raises(InvalidInput, match=r"correction\.validUntil: valid_until is before "
                                           r"decided_on"):
        resolve(store, "nantong", oid, obj.Correction(valid_until=D("2020-01-01")), "2026-11-22")
    _nothing_changed(store, "t:P1", oid, before)


def test_a_decision_date_in_the_future_is_refused_and_the_subject_can_still_object(
    store: GraphStore, write_jsonl: Write
) -> None:
    load(store, write_jsonl, [entity(CO, "甲公司"),
                              record("N2", CO, "2026-06-01", severity="general")])
    oid = _one_pending(store, "t:N2")
    before = dict(load_record(store, "t:N2").props)
    for field, correction in (
        ("decidedOn", obj.Correction(decided_on=D("2031-01-01"))),
        ("actEndedOn", obj.Correction(act_ended_on=D("2026-12-01"))),
    ):
        with pytest.raises(InvalidInput, match=rf"^correction\.{field}: .*after today"):
            resolve(store, "nantong", oid, correction, "2026-11-22")
        _nothing_changed(store, "t:N2", oid, before)
    rec = load_record(store, "t:N2")
    assert rec.state(load_policy("nantong"), TODAY).standing is Standing.IN_FORCE
    # A correction the loader would take is still made.
    done = resolve(store, "nantong", oid, obj.Correction(decided_on=D("2026-05-20")), "2026-11-22")
    assert done.props["status"] == "resolved"
    assert content(store, "t:N2", "2026-11-22")["decided_on"] == "2026-05-20"
    again = obj.file_objection(store, rules("nantong"), SELF, record_uid="t:N2",
                               reason="仍有误", on=D("2026-11-22"))
    assert again.props["status"] == "pending"


# -- 2. parallel filings leave exactly one objection ---------------------------------------


def _file_at_once(
    store: GraphStore, r: AccessRules, uid: str, n: int
) -> list[obj.ObjectionView | CreditGraphError]:
    """``n`` threads file an objection on ``uid`` at the same moment."""
    barrier = threading.Barrier(n)
    outcomes: list[obj.ObjectionView | CreditGraphError] = []
    lock = threading.Lock()

    def file() -> None:
        barrier.wait()
        got: obj.ObjectionView | CreditGraphError
        try:
            got = obj.file_objection(store, r, SELF, record_uid=uid, reason="并发提出",
                                     on=D("2026-11-02"))
        except CreditGraphError as refused:
            got = refused
        with lock:
            outcomes.append(got)

    threads = [threading.Thread(target=file) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_parallel_filings_leave_one_pending_objection_that_can_be_resolved(
    store: GraphStore, write_jsonl: Write
) -> None:
    uids = [f"t:Q{i}" for i in range(4)]
    load(store, write_jsonl, [entity(CO, "甲公司"), *(
        record(uid.split(":")[1], CO, "2026-06-01", severity="general") for uid in uids)])
    r = rules("wuhan")
    winners: dict[str, str] = {}
    for uid in uids:
        outcomes = _file_at_once(store, r, uid, 4)
        won = [o for o in outcomes if isinstance(o, obj.ObjectionView)]
        lost = [o for o in outcomes if not isinstance(o, obj.ObjectionView)]
        assert len(won) == 1 and len(lost) == 3, outcomes
        for e in lost:  # told to send it again, or that one is pending by now
            assert isinstance(e, obj.ConcurrentChange | InvalidInput), e
        views = obj.objections_of(store, load_policy("wuhan"), uid)
        assert [(v.id, v.props["status"]) for v in views] == [(won[0].id, "pending")], uid
        winners[uid] = won[0].id
    late = obj.overdue_objections(store, load_policy("wuhan"), TODAY)
    assert sorted(v.id for v, _ in late) == sorted(winners.values())
    for uid, oid in winners.items():
        obj.forward_objection(store, r, OPERATOR, objection_id=oid, on=D("2026-11-03"))
        done = obj.resolve_objection(store, r, OPERATOR, objection_id=oid,
                                     outcome=obj.Outcome.CONFIRMED, note="核实无误",
                                     on=D("2026-11-04"))
        assert done.props["status"] == "resolved"
        assert not load_record(store, uid).state(load_policy("wuhan"), TODAY).objection_pending
    assert obj.overdue_objections(store, load_policy("wuhan"), TODAY) == []


# -- 3. overdue on a past date stays overdue -----------------------------------------------


def test_overdue_on_a_past_day_stays_listed_after_the_late_step_and_the_resolution(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Wuhan: filed Wednesday 18 November, compared within 2 working days (due Friday
    20 November), forwarded only on Sunday 22 November."""
    load(store, write_jsonl, [entity(CO, "甲公司"),
                              record("W1", CO, "2026-06-01", severity="general")])
    r, policy = rules("wuhan"), load_policy("wuhan")
    filed = obj.file_objection(store, r, SELF, record_uid="t:W1", reason="记录有误",
                               on=D("2026-11-18"))

    def overdue(day: str) -> list[tuple[str, list[str]]]:
        return [(v.id, [s.name for s in steps])
                for v, steps in obj.overdue_objections(store, policy, D(day))]

    expected = [(filed.id, ["first_step"])]
    assert overdue("2026-11-20") == [] and overdue("2026-11-21") == expected
    obj.forward_objection(store, r, OPERATOR, objection_id=filed.id, on=TODAY)
    assert overdue("2026-11-21") == expected
    assert overdue("2026-11-22") == []  # done today: not overdue today
    first = obj.get_objection(store, policy, filed.id).steps[0]
    assert first.late and first.overdue_on(D("2026-11-21"))
    assert not first.overdue_on(D("2026-11-22"))
    obj.resolve_objection(store, r, OPERATOR, objection_id=filed.id,
                          outcome=obj.Outcome.CONFIRMED, note="核实无误", on=TODAY)
    assert overdue("2026-11-21") == expected
    assert overdue("2026-11-17") == []  # not filed yet
    assert overdue("2026-11-22") == []


# -- 4. a backdated correction does not reach under later content --------------------------


def test_a_correction_dated_before_the_current_content_is_refused(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Zhengzhou: loaded 21 November, its title changed by a reload on 22 November."""
    row = record("Z1", CO, "2026-06-01", severity="general")
    load(store, write_jsonl, [entity(CO, "甲公司"), row], day=D("2026-11-21"))
    load(store, write_jsonl, [{**row, "title": "更新后的标题"}], day=TODAY)
    old_title, old_authority = row["title"], row["authority"]
    oid = obj.file_objection(store, rules("zhengzhou"), SELF, record_uid="t:Z1",
                             reason="机关有误", on=D("2026-11-21")).id
    with pytest.raises(InvalidInput) as refused:
        resolve(store, "zhengzhou", oid, obj.Correction(authority="X"), "2026-11-21")
    message = str(refused.value)
    assert message.startswith("on: 2026-11-21 is before 2026-11-22"), message
    then = content(store, "t:Z1", "2026-11-21")
    assert (then["title"], then["authority"]) == (old_title, old_authority)
    [view] = obj.objections_of(store, load_policy("zhengzhou"), "t:Z1")
    assert view.props["status"] == "pending"
    # Dated on the day the current content arrived, the correction is taken.
    resolve(store, "zhengzhou", oid, obj.Correction(authority="X"), "2026-11-22")
    then = content(store, "t:Z1", "2026-11-21")
    now = content(store, "t:Z1", "2026-11-22")
    assert (then["title"], then["authority"]) == (old_title, old_authority)
    assert (now["title"], now["authority"]) == ("更新后的标题", "X")


# -- 5. the resolution's reason says "corrected" once --------------------------------------


def test_the_resolution_event_reads_corrected_once(
    store: GraphStore, write_jsonl: Write
) -> None:
    load(store, write_jsonl, [entity(CO, "甲公司"),
                              record("T1", CO, "2026-06-01", severity="general"),
                              record("T2", CO, "2026-06-01", severity="general")])
    oid = _one_pending(store, "t:T1")
    resolve(store, "nantong", oid, obj.Correction(title="更正后的标题"), "2026-11-22")
    oid2 = _one_pending(store, "t:T2")
    obj.resolve_objection(store, rules("nantong"), OPERATOR, objection_id=oid2,
                          outcome=obj.Outcome.DELETED, note=None, on=TODAY)
    reasons = {uid: [e["reason"] for e in events(store, uid) if e["kind"] == "objection_resolved"]
               for uid in ("t:T1", "t:T2")}
    assert reasons == {"t:T1": ["corrected: title"], "t:T2": ["deleted"]}


# -- over HTTP: what the tester saw --------------------------------------------------------


HTTP_TODAY = china_today()


@pytest.fixture
def clients(store: GraphStore, tmp_path: Path, write_jsonl: Write) -> Iterator[dict[str, Client]]:
    decided = (HTTP_TODAY - dt.timedelta(days=200)).isoformat()
    rows = [entity(CO, "甲公司"), record("N1", CO, decided, severity="general"),
            record("T1", CO, decided, severity="general")]
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"),
                         provider="court", today=HTTP_TODAY - dt.timedelta(days=100))
    assert summary.rejected_total == 0
    keys = {"operator": make_key(store, "operator", "ops"),
            "co": make_key(store, "subject", "co-self", subject=CO)}
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield {name: Client(url, key) for name, key in keys.items()}


FILE = 'mutation($id: String!) { fileObjection(recordId: $id, reason: "记录有误") { id } }'
RESOLVE = """mutation($o: String!, $c: RecordCorrectionInput!) {
  resolveObjection(objectionId: $o, outcome: CORRECTED, correction: $c) { status effect } }"""
CHECK = """query($code: String!) { checkSanctions(code: $code) {
  measures { measure } incentives { measure } } }"""
RECORD = """query($id: String!) { record(recordId: $id) {
  list objections { id status }
  history { events { kind reason } } } }"""


def test_over_http_a_red_list_correction_is_refused_with_its_rule(
    clients: dict[str, Client]
) -> None:
    oid = clients["co"].data(FILE, {"id": "court:N1"})["fileObjection"]["id"]
    answer = clients["operator"].post(RESOLVE, {"o": oid, "c": {"list": "red"}}).json()
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["message"].startswith("correction.list: a negative record cannot put a "
                                       "subject on the red list"), error["message"]
    found = clients["operator"].data(CHECK, {"code": CO})["checkSanctions"]
    assert {m["measure"] for m in found["measures"]} == {"KEY_SUPERVISION"}
    assert found["incentives"] == []
    rec = clients["operator"].data(RECORD, {"id": "court:N1"})["record"]
    assert rec["list"] is None and rec["objections"] == [{"id": oid, "status": "pending"}]


def test_over_http_the_history_says_corrected_once(clients: dict[str, Client]) -> None:
    oid = clients["co"].data(FILE, {"id": "court:T1"})["fileObjection"]["id"]
    done = clients["operator"].data(RESOLVE, {"o": oid, "c": {"title": "新标题"}})
    assert done["resolveObjection"] == {"status": "resolved", "effect": "corrected: title"}
    events_ = clients["operator"].data(RECORD, {"id": "court:T1"})["record"]["history"]["events"]
    assert [e["reason"] for e in events_ if e["kind"] == "objection_resolved"] == [
        "corrected: title"]

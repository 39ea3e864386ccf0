"""A record's life under each policy, at the edges of every rule (issue 5).

Records are loaded through the real loader into the real engine; procedures run through
the services the GraphQL mutations call; the check answers for exact dates. Dates are in
2026, whose official calendar has the National Day holiday (1-7 October) and adjusted
working weekends (Sunday 20 September, Saturday 10 October).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from api import objections as obj
from api import repairs as rep
from api.checks import check_sanctions
from api.record_procedures import Actor, load_record
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.access import AccessRules, Caller, CallerRole, load_limited_sharing
from schema.catalogue import load_catalogue
from schema.errors import Forbidden, InvalidInput, NotFound
from schema.objection_steps import objection_steps
from schema.policy import load_policy
from schema.record_life import Standing
from schema.sanctions import SanctionCheck
from tests.builders import entity, person, person_code, record, role, uscc_code

CATALOGUE = load_catalogue()
CO, CO2 = uscc_code(801), uscc_code(802)
REP = person_code(803)
TODAY = dt.date(2026, 11, 21)
D = dt.date.fromisoformat

OPERATOR = Actor(Caller(CallerRole.OPERATOR, key_name="ops"), TODAY)
SELF = Actor(Caller(CallerRole.SUBJECT, key_name="co-self", subject_code=CO), TODAY)
PROVIDER = Actor(Caller(CallerRole.PROVIDER, key_name="feed", unit="t"), TODAY)
OTHER_PROVIDER = Actor(Caller(CallerRole.PROVIDER, key_name="other", unit="x"), TODAY)

Write = Callable[[list[dict[str, Any]]], Path]


def rules(policy: str) -> AccessRules:
    return AccessRules(load_policy(policy), load_limited_sharing())


def load(store: GraphStore, write_jsonl: Write, rows: list[dict[str, Any]]) -> None:
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"),
                         provider="t", today=TODAY,
                         submitted_at=dt.datetime.combine(TODAY, dt.time(9), dt.UTC))
    assert summary.rejected_total == 0, summary.as_dict()


def check(store: GraphStore, code: str, day: str, policy: str) -> SanctionCheck:
    return check_sanctions(store, code, policy=load_policy(policy), catalogue=CATALOGUE,
                           as_of=D(day))


def world(store: GraphStore, write_jsonl: Write, *extra: dict[str, Any]) -> None:
    """CO has a serious black-list record naming REP, its legal representative since 2016;
    REP is also a manager of CO2 today, which the record bars him from."""
    load(store, write_jsonl, [
        entity(CO, "南通宏达建设工程有限公司"), entity(CO2, "南通远景贸易有限公司"),
        person(REP, "周建国"),
        role(CO, REP, "legal_representative", "2016-04-01"),
        role(CO2, REP, "manager", "2020-01-01"),
        record("R1", CO, "2026-06-01", severity="serious", list="black"),
        *extra,
    ])


# -- disclosure periods ------------------------------------------------------------------


LAST_DAY = {
    "wuhan": "2025-03-10",  # Art. 20: 5 years from the record's formation
    "huancui": "2024-12-31",  # Art. 19(3): 5 years from the end of the act
    "nantong": "2023-03-10",  # Art. 30: serious, 3 years from the determination
    "zhengzhou": "2025-03-10",  # Art. 20 by analogy: 5 years from the decision
    "yangjiang": "2024-12-31",  # Art. 18 -> 5 years from the end of the act
}


@pytest.mark.parametrize("policy", sorted(LAST_DAY))
def test_last_day_disclosed_and_first_day_archived(
    store: GraphStore, write_jsonl: Write, policy: str
) -> None:
    load(store, write_jsonl, [
        entity(CO, "甲公司"),
        record("OLD", CO, "2020-03-10", act_ended_on="2019-12-31", severity="serious"),
    ])
    last = D(LAST_DAY[policy])
    first_off = last + dt.timedelta(days=1)
    assert check(store, CO, last.isoformat(), policy).restricted
    assert not check(store, CO, first_off.isoformat(), policy).restricted
    rec = load_record(store, "t:OLD")
    assert rec is not None
    assert rec.state(load_policy(policy), last).standing is Standing.IN_FORCE
    archived = rec.state(load_policy(policy), first_off)
    assert archived.standing is Standing.ARCHIVED and archived.disclosed_until == last


# -- objections --------------------------------------------------------------------------


def _objection_until_reply(
    store: GraphStore, policy: str, reply_on: dt.date | None
) -> obj.ObjectionView:
    r = rules(policy)
    filed = obj.file_objection(store, r, SELF, record_uid="t:R1", reason="处罚对象错误",
                               on=D("2026-09-28"))
    fwd = obj.forward_objection(store, r, OPERATOR, objection_id=filed.id, on=D("2026-09-30"))
    if reply_on is not None:
        fwd = obj.reply_to_objection(store, r, PROVIDER, objection_id=filed.id,
                                     verdict=obj.Verdict.CORRECT, note="核实无误", on=reply_on)
    return fwd


def test_provider_deadline_counts_working_days_across_national_day() -> None:
    """Forwarded on Wednesday 30 September: the holiday (1-7 October) does not count, the
    adjusted working Saturday (10 October) does."""
    steps = {s.name: s for s in objection_steps(
        {"filed_on": "2026-09-28", "forwarded_on": "2026-09-30"}, load_policy("wuhan"))}
    assert steps["first_step"].due == D("2026-09-30")  # 2 working days: Tue 29, Wed 30
    assert steps["provider_verification"].due == D("2026-10-20")  # 10: 8,9,10,12-16,19,20
    steps = {s.name: s for s in objection_steps(
        {"filed_on": "2026-09-28", "forwarded_on": "2026-09-30"}, load_policy("huancui"))}
    assert steps["provider_verification"].due == D("2026-10-27")  # 15 working days
    # Filed on Saturday 19 September: Sunday 20 is an adjusted working day.
    steps = {s.name: s for s in objection_steps({"filed_on": "2026-09-19"},
                                                load_policy("zhengzhou"))}
    assert steps["first_step"].due == D("2026-09-22")  # 3: Sun 20, Mon 21, Tue 22


# Filed Monday 28 September, forwarded Wednesday 30 September, the provider's reply on
# Tuesday 20 October: each step's due day counted across the National Day holiday, with
# the adjusted working Saturday 10 October counted.
DUE = {
    "wuhan": {"first_step": "2026-09-30", "provider_verification": "2026-10-20",
              "afterwards": "2026-10-27"},  # Art. 31: 2, 10, 5
    "huancui": {"first_step": "2026-10-08", "provider_verification": "2026-10-27",
                "afterwards": None},  # Art. 29: 3, 15, promptly
    "nantong": {"first_step": "2026-10-16", "provider_verification": "2026-10-13",
                "afterwards": "2026-10-23"},  # Art. 32: 10, 5, 3
    "zhengzhou": {"first_step": "2026-10-08", "provider_verification": "2026-10-27",
                  "afterwards": "2026-10-22"},  # Art. 23: 3, 15, 2
    "yangjiang": {"first_step": "2026-10-08", "second_step": "2026-10-12",
                  "provider_verification": "2026-10-20",
                  "afterwards": "2026-10-23"},  # Art. 24-27: 3, 3, 10, 3
}


@pytest.mark.parametrize("policy", sorted(DUE))
def test_each_policys_objection_deadlines(policy: str) -> None:
    steps = objection_steps({"filed_on": "2026-09-28", "forwarded_on": "2026-09-30",
                             "replied_on": "2026-10-20"}, load_policy(policy))
    got = {s.name: s.due.isoformat() if s.due else None for s in steps}
    assert got == DUE[policy]
    assert not any(s.approximate for s in steps)


def test_yangjiang_complex_case_gets_twenty_working_days() -> None:
    steps = objection_steps({"filed_on": "2026-09-28", "forwarded_on": "2026-09-30",
                             "complex": True}, load_policy("yangjiang"))
    provider = next(s for s in steps if s.name == "provider_verification")
    assert provider.working_days == 20 and provider.due == D("2026-11-03")


def test_wuhan_reply_on_the_last_working_day_keeps_the_record(
    store: GraphStore, write_jsonl: Write
) -> None:
    world(store, write_jsonl)
    view = _objection_until_reply(store, "wuhan", D("2026-10-20"))
    step = next(s for s in view.steps if s.name == "provider_verification")
    assert step.due == D("2026-10-20") and not step.late
    assert check(store, CO, "2026-10-21", "wuhan").restricted
    assert check(store, REP, "2026-10-21", "wuhan").restricted
    rec = load_record(store, "t:R1")
    assert rec is not None
    state = rec.state(load_policy("wuhan"), D("2026-10-21"))
    assert state.objection_pending and state.marked  # Art. 32: marked while pending


def test_wuhan_reply_a_day_late_stops_disclosure_for_good(
    store: GraphStore, write_jsonl: Write
) -> None:
    world(store, write_jsonl)
    view = _objection_until_reply(store, "wuhan", D("2026-10-21"))
    step = next(s for s in view.steps if s.name == "provider_verification")
    assert step.late
    assert check(store, CO, "2026-10-20", "wuhan").restricted  # still in time that day
    assert not check(store, CO, "2026-10-21", "wuhan").restricted  # Art. 31: 不再披露
    obj.resolve_objection(store, rules("wuhan"), OPERATOR, objection_id=view.id,
                          outcome=obj.Outcome.CONFIRMED, note="核实无误", on=D("2026-10-22"))
    assert not check(store, CO, "2026-11-01", "wuhan").restricted  # a late reply does not restore
    rec = load_record(store, "t:R1")
    assert rec is not None
    assert rec.state(load_policy("wuhan"), D("2026-11-01")).standing is Standing.WITHHELD
    # Under Nantong the same objection changes nothing (Art. 33: still applied).
    assert check(store, CO, "2026-10-21", "nantong").restricted


def test_huancui_suspends_while_the_provider_is_late_and_resumes_on_its_reply(
    store: GraphStore, write_jsonl: Write
) -> None:
    world(store, write_jsonl)
    view = _objection_until_reply(store, "huancui", None)
    assert check(store, CO, "2026-10-27", "huancui").restricted  # the due day itself
    assert not check(store, CO, "2026-10-28", "huancui").restricted  # 中止查询
    obj.reply_to_objection(store, rules("huancui"), PROVIDER, objection_id=view.id,
                           verdict=obj.Verdict.CORRECT, note=None, on=D("2026-10-30"))
    assert not check(store, CO, "2026-10-29", "huancui").restricted
    assert check(store, CO, "2026-10-30", "huancui").restricted


def test_pending_objection_under_each_policy(store: GraphStore, write_jsonl: Write) -> None:
    """No reply at all, asked a month after the provider's deadline."""
    world(store, write_jsonl)
    _objection_until_reply(store, "nantong", None)
    day = "2026-11-20"
    applied = {p: check(store, CO, day, p).restricted
               for p in ("wuhan", "huancui", "nantong", "zhengzhou", "yangjiang")}
    assert applied == {"wuhan": False, "huancui": False, "nantong": True, "zhengzhou": True,
                       "yangjiang": True}
    rec = load_record(store, "t:R1")
    assert rec is not None
    marked = {p: rec.state(load_policy(p), D(day)).marked for p in applied}
    assert marked == {"wuhan": True, "huancui": True, "nantong": True, "zhengzhou": False,
                      "yangjiang": False}


def test_overdue_steps_are_listed(store: GraphStore, write_jsonl: Write) -> None:
    world(store, write_jsonl)
    view = _objection_until_reply(store, "huancui", None)
    late = obj.overdue_objections(store, load_policy("huancui"), D("2026-10-28"))
    assert [(v.id, [s.name for s in steps]) for v, steps in late] == [
        (view.id, ["provider_verification"])
    ]
    assert obj.overdue_objections(store, load_policy("huancui"), D("2026-10-27")) == []


def test_unverifiable_is_deleted_only_where_the_policy_says(
    store: GraphStore, write_jsonl: Write
) -> None:
    world(store, write_jsonl)
    view = _objection_until_reply(store, "wuhan", D("2026-10-12"))
    done = obj.resolve_objection(store, rules("nantong"), OPERATOR, objection_id=view.id,
                                 outcome=obj.Outcome.UNVERIFIABLE, note="无法核实",
                                 on=D("2026-10-13"))
    assert "kept" in str(done.props["effect"])
    assert check(store, CO, "2026-10-14", "nantong").restricted
    # Wuhan Art. 32 deletes unverifiable information and records why.
    world(store, write_jsonl, record("R2", CO2, "2026-06-01", severity="serious"))
    r = rules("wuhan")
    other = obj.file_objection(store, r, OPERATOR, record_uid="t:R2", reason="代为提出",
                               on=D("2026-10-12"))
    done = obj.resolve_objection(store, r, OPERATOR, objection_id=other.id,
                                 outcome=obj.Outcome.UNVERIFIABLE, note="无法核实",
                                 on=D("2026-10-13"))
    assert done.props["effect"] == "deleted"
    rec = load_record(store, "t:R2")
    assert rec is not None
    assert rec.state(load_policy("wuhan"), D("2026-10-13")).standing is Standing.DELETED
    assert rec.state(load_policy("wuhan"), D("2026-10-12")).standing is Standing.IN_FORCE


def test_correction_makes_a_new_version_and_the_past_keeps_the_old(
    store: GraphStore, write_jsonl: Write
) -> None:
    world(store, write_jsonl)
    view = _objection_until_reply(store, "nantong", D("2026-10-12"))
    obj.resolve_objection(
        store, rules("nantong"), OPERATOR, objection_id=view.id, outcome=obj.Outcome.CORRECTED,
        note="应为一般失信", correction=obj.Correction(severity=obj.Severity.GENERAL,
                                                    clear_list=True),
        on=D("2026-10-14"),
    )
    before = check(store, CO, "2026-10-13", "nantong")
    after = check(store, CO, "2026-10-14", "nantong")
    assert "NO_PUBLIC_PROCUREMENT" in {m.measure for m in before.measures}
    assert {m.measure for m in after.measures} == {"KEY_SUPERVISION"}
    assert check(store, REP, "2026-10-13", "nantong").restricted
    assert not check(store, REP, "2026-10-14", "nantong").restricted


def test_only_the_concerned_may_object_and_only_the_provider_replies(
    store: GraphStore, write_jsonl: Write
) -> None:
    world(store, write_jsonl)
    r = rules("nantong")
    stranger = Actor(Caller(CallerRole.SUBJECT, key_name="x", subject_code=CO2), TODAY)
    with pytest.raises(Forbidden):
        obj.file_objection(store, r, stranger, record_uid="t:R1", reason="我不服")
    named = Actor(Caller(CallerRole.SUBJECT, key_name="rep", subject_code=REP), TODAY)
    with pytest.raises(Forbidden):  # REP is not named in R1's `responsible`
        obj.file_objection(store, r, named, record_uid="t:R1", reason="我不服")
    view = obj.file_objection(store, r, SELF, record_uid="t:R1", reason="错误", on=D("2026-11-02"))
    with pytest.raises(InvalidInput, match="still pending"):
        obj.file_objection(store, r, SELF, record_uid="t:R1", reason="再次")
    with pytest.raises(InvalidInput, match="not forwarded"):
        obj.reply_to_objection(store, r, PROVIDER, objection_id=view.id,
                               verdict=obj.Verdict.CORRECT, note=None)
    obj.forward_objection(store, r, OPERATOR, objection_id=view.id, on=D("2026-11-03"))
    with pytest.raises(Forbidden):
        obj.reply_to_objection(store, r, OTHER_PROVIDER, objection_id=view.id,
                               verdict=obj.Verdict.CORRECT, note=None)
    with pytest.raises(InvalidInput, match="future"):
        obj.reply_to_objection(store, r, PROVIDER, objection_id=view.id,
                               verdict=obj.Verdict.CORRECT, note=None, on=D("2026-12-01"))


# -- revocation --------------------------------------------------------------------------


def test_revoked_record_frees_its_responsible_persons_and_their_conflicts(
    store: GraphStore, write_jsonl: Write
) -> None:
    world(store, write_jsonl)
    assert "NO_OFFICE" in {m.measure for m in check(store, REP, "2026-11-01", "nantong").measures}
    assert check(store, CO2, "2026-11-01", "nantong").conflicts
    with pytest.raises(Forbidden):  # another provider sees the public record, may not revoke it
        rep.revoke_record(store, rules("huancui"), OTHER_PROVIDER, record_uid="t:R1",
                          reason="x")
    done = rep.revoke_record(store, rules("huancui"), PROVIDER, record_uid="t:R1",
                             reason="行政复议撤销", notice_on=D("2026-11-02"))
    assert done.platform_due == D("2026-11-05")  # Huancui Art. 30: 3 working days
    for policy in ("nantong", "huancui"):
        assert not check(store, CO, "2026-11-02", policy).restricted
        assert not check(store, REP, "2026-11-02", policy).restricted
    assert not check(store, CO2, "2026-11-02", "nantong").conflicts
    # The past is not rewritten: on the day before the notice the measures stood.
    assert check(store, REP, "2026-11-01", "nantong").restricted
    assert check(store, CO2, "2026-11-01", "nantong").conflicts
    with pytest.raises(NotFound):  # revoked, it is no longer disclosed to anyone else
        rep.revoke_record(store, rules("huancui"), OTHER_PROVIDER, record_uid="t:R1",
                          reason="x")
    # Huancui Art. 30: the centre deletes the record of a revoked act. It is kept, for
    # operators, deleted from the notice's day, with the notice as the reason.
    rec = load_record(store, "t:R1")
    assert rec.state(load_policy("huancui"), D("2026-11-01")).standing is Standing.IN_FORCE
    assert rec.state(load_policy("huancui"), D("2026-11-02")).standing is Standing.DELETED
    [event] = [e for e in store.read(
        "MATCH (e:Event)-[:CHANGED]->(:Record {uid: 't:R1'}) RETURN properties(e) AS e"
    ) if e["e"]["kind"] == "revoked"]
    assert event["e"]["to_status"] == "deleted"
    assert event["e"]["reason"] == "行政复议撤销 (Art. 30)"


def test_a_revoked_acts_record_stays_revoked_where_no_regulation_deletes_it(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Only Huancui deletes (Art. 30); under Nantong, which has no such procedure, the
    record stays, revoked, and grounds nothing from the notice."""
    world(store, write_jsonl)
    rep.revoke_record(store, rules("nantong"), PROVIDER, record_uid="t:R1",
                      reason="行政复议撤销", notice_on=D("2026-11-02"))
    rec = load_record(store, "t:R1")
    assert rec.state(load_policy("nantong"), D("2026-11-02")).standing is Standing.REVOKED
    assert not check(store, CO, "2026-11-02", "nantong").restricted


# -- repair ------------------------------------------------------------------------------


def _nantong_repair_approved(
    store: GraphStore, write_jsonl: Write, note: str | None = None
) -> tuple[AccessRules, rep.RepairView, rep.RepairView]:
    """R0, a serious tax-arrears record, whose repair its subject asks for on Monday 16
    November 2026 and its provider approves on Wednesday 18: the rules, the request and
    the decision."""
    world(store, write_jsonl, record("R0", CO, "2025-03-03", kind="tax_arrears",
                                     severity="serious"))
    r = rules("nantong")
    asked = rep.request_repair(store, r, SELF, record_uid="t:R0", reason="已整改",
                               corrected_on=D("2025-06-01"), commitment=True, on=D("2026-11-16"))
    decided = rep.decide_repair(store, r, PROVIDER, repair_id=asked.id, approve=True,
                                note=note, on=D("2026-11-18"))
    return r, asked, decided


def test_nantong_repair_takes_effect_after_publicity_across_a_weekend(
    store: GraphStore, write_jsonl: Write
) -> None:
    _r, _asked, decided = _nantong_repair_approved(store, write_jsonl, note="同意修复")
    # Approved Wednesday 18 November: publicity Thu 19, Fri 20, Mon 23, Tue 24, Wed 25.
    assert decided.props["publicity_ends"] == "2026-11-25"
    assert decided.props["effective_on"] == "2026-11-26"
    basis = {m.basis_record_id for m in check(store, CO, "2026-11-25", "nantong").measures}
    assert "t:R0" in basis
    basis = {m.basis_record_id for m in check(store, CO, "2026-11-26", "nantong").measures}
    assert "t:R0" not in basis and "t:R1" in basis
    rec = load_record(store, "t:R0")
    assert rec is not None
    assert rec.state(load_policy("nantong"), D("2026-11-26")).standing is Standing.REPAIRED


def test_nantong_repair_stopped_during_publicity_never_takes_effect(
    store: GraphStore, write_jsonl: Write
) -> None:
    r, asked, _decided = _nantong_repair_approved(store, write_jsonl)
    with pytest.raises(Forbidden):
        rep.cancel_repair(store, r, SELF, repair_id=asked.id, reason="x")
    stopped = rep.cancel_repair(store, r, OPERATOR, repair_id=asked.id,
                                reason="公示期间收到有效异议", on=D("2026-11-20"))
    assert stopped.props["status"] == "cancelled"
    basis = {m.basis_record_id for m in check(store, CO, "2026-11-30", "nantong").measures}
    assert "t:R0" in basis
    rec = load_record(store, "t:R0")
    assert rec is not None
    assert rec.state(load_policy("nantong"), D("2026-11-30")).standing is Standing.IN_FORCE


def test_deadlines_past_the_official_calendar_are_flagged_approximate() -> None:
    steps = objection_steps({"filed_on": "2090-03-01", "forwarded_on": "2090-03-03"},
                            load_policy("huancui"))
    assert all(s.approximate for s in steps if s.due is not None)
    covered = objection_steps({"filed_on": "2026-03-02"}, load_policy("huancui"))
    assert covered[0].due is not None and not covered[0].approximate


@pytest.mark.parametrize(
    ("corrected_on", "extra", "reason"),
    [
        ("2026-01-10", [], "not before 2027-01-10"),
        ("2025-06-01",
         [record("R9", CO, "2025-09-01", kind="tax_arrears", severity="general")],
         "similar act"),
    ],
)
def test_nantong_repair_conditions(
    store: GraphStore, write_jsonl: Write, corrected_on: str, extra: list[dict[str, Any]],
    reason: str,
) -> None:
    world(store, write_jsonl, record("R0", CO, "2025-03-03", kind="tax_arrears",
                                              severity="serious"), *extra)
    with pytest.raises(rep.ProcedureNotAvailable, match=reason):
        rep.request_repair(store, rules("nantong"), SELF, record_uid="t:R0", reason="已整改",
                           corrected_on=D(corrected_on), commitment=True, on=D("2026-11-16"))
    with pytest.raises(rep.ProcedureNotAvailable, match="commitment"):
        rep.request_repair(store, rules("nantong"), SELF, record_uid="t:R0", reason="已整改",
                           corrected_on=D("2025-06-01"), commitment=False, on=D("2026-11-16"))


def test_huancui_repair_needs_the_certificate_and_wuhan_has_none(
    store: GraphStore, write_jsonl: Write
) -> None:
    world(store, write_jsonl)
    with pytest.raises(rep.ProcedureNotAvailable, match="no credit repair"):
        rep.request_repair(store, rules("wuhan"), SELF, record_uid="t:R1", reason="已整改")
    r = rules("huancui")
    asked = rep.request_repair(store, r, SELF, record_uid="t:R1", reason="已整改",
                               on=D("2026-11-09"))
    with pytest.raises(InvalidInput, match="certificate"):
        rep.decide_repair(store, r, PROVIDER, repair_id=asked.id, approve=True, note=None)
    rep.decide_repair(store, r, PROVIDER, repair_id=asked.id, approve=True, note=None,
                      certificate_no="环信修〔2026〕8号", on=D("2026-11-10"))
    assert check(store, CO, "2026-11-09", "huancui").restricted
    assert not check(store, CO, "2026-11-10", "huancui").restricted


# -- deletion of positive records --------------------------------------------------------


def test_positive_record_deleted_on_request_where_the_policy_allows(
    store: GraphStore, write_jsonl: Write
) -> None:
    world(store, write_jsonl,
          record("C1", CO, "2026-01-05", category="positive", kind="commendation",
                 list="red"),
          record("C2", CO, "2026-01-05", category="positive", kind="donation"))
    with pytest.raises(rep.ProcedureNotAvailable, match="no right"):
        rep.delete_positive_record(store, rules("nantong"), SELF, record_uid="t:C1")
    with pytest.raises(rep.ProcedureNotAvailable, match="only commendation"):
        rep.delete_positive_record(store, rules("wuhan"), SELF, record_uid="t:R1")
    done = rep.delete_positive_record(store, rules("wuhan"), SELF, record_uid="t:C1",
                                      on=D("2026-09-30"))
    assert done.due == D("2026-10-09")  # Wuhan Art. 29: 2 working days after the holiday
    rec = load_record(store, "t:C1")
    assert rec is not None
    assert rec.state(load_policy("wuhan"), D("2026-09-30")).standing is Standing.DELETED
    assert rec.state(load_policy("wuhan"), D("2026-09-29")).standing is Standing.IN_FORCE
    done = rep.delete_positive_record(store, rules("huancui"), SELF, record_uid="t:C2",
                                      on=D("2026-09-30"))
    assert done.due == D("2026-10-13")  # Huancui Art. 33: 5 working days


# -- feedback and reversal ---------------------------------------------------------------


def test_application_reported_before_a_repair_is_listed_for_reversal_after_it(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Zhengzhou Art. 24: once the record stops grounding the measure, the system that
    applied it is told to undo it, from the day the repair takes effect."""
    from api import feedback
    from api.check_ids import issue

    world(store, write_jsonl, record("R0", CO2, "2025-03-03", kind="tax_arrears",
                                     severity="serious"))
    policy = load_policy("nantong")
    secret = b"s" * 32
    bank = Caller(CallerRole.AGENCY, key_name="bank", unit="bank")
    asked_on = D("2026-11-10")
    check_id = issue(secret, CO2, asked_on, policy.name)
    applied = feedback.report_applied(
        store, bank, secret=secret, policy=policy, rules=rules("nantong"), catalogue=CATALOGUE,
        check_id=check_id, code=CO2, measure="FINANCIAL_RESTRICTION", applied=True,
        today=asked_on,
        note="贷款利率上浮",
    )
    assert list(applied.basis) == ["t:R0"]
    r = rules("nantong")
    self_co2 = Actor(Caller(CallerRole.SUBJECT, key_name="co2", subject_code=CO2), TODAY)
    asked = rep.request_repair(store, r, self_co2, record_uid="t:R0", reason="已整改",
                               corrected_on=D("2025-06-01"), commitment=True,
                               on=D("2026-11-16"))
    rep.decide_repair(store, r, PROVIDER, repair_id=asked.id, approve=True, note="同意",
                      on=D("2026-11-18"))

    def pending(day: str) -> list[feedback.PendingReversal]:
        return feedback.pending_reversals(store, policy=policy, catalogue=CATALOGUE,
                                          today=D(day))

    assert pending("2026-11-25") == []  # still in publicity: the measure stands
    [due] = pending("2026-11-26")
    assert due.application.id == applied.id
    assert [(b.ref.uid, b.standing) for b in due.basis] == [("t:R0", Standing.REPAIRED)]
    assert due.other_basis == ()


def test_monthly_report_counts_only_the_month_asked(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Regression: FalkorDB's string range index let ``< '2026-01-01'`` match the whole
    of 2026, so the report for December 2025 counted the next year's applications too."""
    from api import feedback
    from api.check_ids import issue

    world(store, write_jsonl, record("R2", CO, "2025-09-01", severity="serious"))
    policy = load_policy("nantong")
    secret = b"k" * 32
    bank = Caller(CallerRole.AGENCY, key_name="bank", unit="bank")
    for day in ("2025-12-10", "2026-06-15", "2026-11-20"):
        feedback.report_applied(
            store, bank, secret=secret, policy=policy, rules=rules("nantong"),
            catalogue=CATALOGUE, check_id=issue(secret, CO, D(day), policy.name), code=CO,
            measure="NO_PUBLIC_PROCUREMENT", applied=True, today=D(day),
        )

    def applied_in(month: str) -> int:
        report = feedback.monthly_report(store, policy=policy, catalogue=CATALOGUE,
                                         month=month, today=TODAY)
        return sum(r.applied for r in report.rows)

    months = ("2025-11", "2025-12", "2026-01", "2026-06", "2026-07", "2026-11")
    assert [applied_in(m) for m in months] == [0, 1, 0, 1, 0, 1]


# -- defects found on the demo data (fix-proc) -------------------------------------------


def test_wuhan_objection_resolved_before_the_providers_deadline_withholds_nothing(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Wuhan Art. 31 stops disclosure only when the provider misses its deadline on a
    pending objection; once the platform has resolved it no reply is owed."""
    world(store, write_jsonl)
    view = _objection_until_reply(store, "wuhan", None)  # provider due 2026-10-20
    obj.resolve_objection(store, rules("wuhan"), OPERATOR, objection_id=view.id,
                          outcome=obj.Outcome.CONFIRMED, note="核实无误", on=D("2026-10-12"))
    for day in ("2026-10-21", "2026-11-20"):
        assert check(store, CO, day, "wuhan").restricted
        assert check(store, REP, day, "wuhan").restricted
    rec = load_record(store, "t:R1")
    state = rec.state(load_policy("wuhan"), D("2026-11-20"))
    assert state.standing is Standing.IN_FORCE and not state.reasons
    steps = obj.get_objection(store, load_policy("wuhan"), view.id).steps
    provider = next(s for s in steps if s.name == "provider_verification")
    assert not provider.overdue_on(D("2026-11-20"))


def test_nantong_repair_stopped_after_a_revocation_leaves_the_record_revoked(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Stopping a repair undoes the repair only: a record revoked during the publicity
    grounds nothing from then on."""
    r, asked, _decided = _nantong_repair_approved(store, write_jsonl)  # effective 11-26
    rep.revoke_record(store, r, PROVIDER, record_uid="t:R0", reason="行政复议撤销",
                      notice_on=D("2026-11-19"))
    rep.cancel_repair(store, r, OPERATOR, repair_id=asked.id, reason="公示期间收到有效异议",
                      on=D("2026-11-20"))
    for day in ("2026-11-19", "2026-11-26", "2026-12-31"):
        basis = {m.basis_record_id for m in check(store, CO, day, "nantong").measures}
        assert "t:R0" not in basis and "t:R1" in basis
        rec = load_record(store, "t:R0")
        assert rec.state(load_policy("nantong"), D(day)).standing is Standing.REVOKED


def test_huancui_repair_of_a_record_revoked_since_the_request_is_refused(
    store: GraphStore, write_jsonl: Write
) -> None:
    """A revoked record cannot be repaired (Huancui Art. 30-31): approving the request
    afterwards must not turn it into "repaired". Under Huancui a revoked act's record is
    deleted (Art. 30)."""
    world(store, write_jsonl)
    r = rules("huancui")
    asked = rep.request_repair(store, r, SELF, record_uid="t:R1", reason="已整改",
                               on=D("2026-11-10"))
    rep.revoke_record(store, r, PROVIDER, record_uid="t:R1", reason="法院撤销",
                      notice_on=D("2026-11-11"))
    with pytest.raises(rep.ProcedureNotAvailable, match="deleted"):
        rep.decide_repair(store, r, PROVIDER, repair_id=asked.id, approve=True, note=None,
                          certificate_no="环信修〔2026〕9号", on=D("2026-11-12"))
    rec = load_record(store, "t:R1")
    assert rec.state(load_policy("huancui"), D("2026-11-20")).standing is Standing.DELETED
    # Rejecting it is still possible: the request gets an answer.
    done = rep.decide_repair(store, r, PROVIDER, repair_id=asked.id, approve=False,
                             note="已撤销", on=D("2026-11-12"))
    assert done.props["status"] == "rejected"


def test_objection_cannot_be_resolved_before_it_was_forwarded(
    store: GraphStore, write_jsonl: Write
) -> None:
    world(store, write_jsonl)
    r = rules("wuhan")
    view = obj.file_objection(store, r, SELF, record_uid="t:R1", reason="错误",
                              on=D("2026-11-02"))
    obj.forward_objection(store, r, OPERATOR, objection_id=view.id, on=D("2026-11-10"))
    with pytest.raises(InvalidInput, match="2026-11-10"):
        obj.resolve_objection(store, r, OPERATOR, objection_id=view.id,
                              outcome=obj.Outcome.DELETED, note=None, on=D("2026-11-05"))
    rec = load_record(store, "t:R1")
    assert rec.state(load_policy("wuhan"), D("2026-11-06")).standing is Standing.IN_FORCE


def test_filing_and_revocation_dates_are_bounded_by_the_records_life(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Not before the record's decision, and not on a backdated day that slips under a
    deletion recorded since."""
    world(store, write_jsonl)
    r = rules("wuhan")
    with pytest.raises(InvalidInput, match="decision"):
        obj.file_objection(store, r, SELF, record_uid="t:R1", reason="错误", on=D("2026-05-01"))
    with pytest.raises(InvalidInput, match="decision"):
        rep.revoke_record(store, r, PROVIDER, record_uid="t:R1", reason="撤销",
                          notice_on=D("2026-05-01"))
    view = obj.file_objection(store, r, SELF, record_uid="t:R1", reason="错误",
                              on=D("2026-11-02"))
    obj.resolve_objection(store, r, OPERATOR, objection_id=view.id,
                          outcome=obj.Outcome.DELETED, note="确有错误", on=D("2026-11-17"))
    with pytest.raises(InvalidInput):
        obj.file_objection(store, r, SELF, record_uid="t:R1", reason="再次", on=D("2026-11-16"))
    with pytest.raises(InvalidInput, match="deleted"):
        rep.revoke_record(store, r, PROVIDER, record_uid="t:R1", reason="撤销",
                          notice_on=D("2026-11-16"))
    assert obj.objections_of(store, load_policy("wuhan"), "t:R1")[0].id == view.id
    assert len(obj.objections_of(store, load_policy("wuhan"), "t:R1")) == 1
    rec = load_record(store, "t:R1")
    assert rec.state(load_policy("wuhan"), D("2026-11-20")).standing is Standing.DELETED


def test_a_person_named_in_a_company_record_cannot_ask_for_its_repair(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Repair is the subject's procedure; a named person may only object."""
    world(store, write_jsonl, record("R3", CO, "2026-06-01", severity="serious",
                                     responsible=[REP]))
    r = rules("huancui")
    named = Actor(Caller(CallerRole.SUBJECT, key_name="rep", subject_code=REP), TODAY)
    with pytest.raises(Forbidden):
        rep.request_repair(store, r, named, record_uid="t:R3", reason="已整改",
                           on=D("2026-11-10"))
    assert rep.repairs_of(store, "t:R3", TODAY) == []
    obj.file_objection(store, r, named, record_uid="t:R3", reason="我不是负责人",
                       on=D("2026-11-10"))
    asked = rep.request_repair(store, r, SELF, record_uid="t:R3", reason="已整改",
                               on=D("2026-11-10"))
    assert asked.props["requested_by"] == "co-self"

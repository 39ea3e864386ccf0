"""Where the check and the repair procedure disagreed with the regulations' text, through
real loads into the real engine: a continuing act's future end, acts of minors, the
offices NO_OFFICE bars, and what counts as a similar act for a Nantong repair."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from api import repairs as rep
from api.checks import check_sanctions
from api.record_procedures import Actor
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.access import AccessRules, Caller, CallerRole, load_limited_sharing
from schema.catalogue import load_catalogue
from schema.policy import load_policy
from schema.sanctions import SanctionCheck
from tests.builders import entity, person, person_code, record, role, uscc_code

CATALOGUE = load_catalogue()
TODAY = dt.date(2026, 11, 21)
D = dt.date.fromisoformat
Write = Callable[[list[dict[str, Any]]], Path]
CO, CO2 = uscc_code(901), uscc_code(902)
OLD, NEW = person_code(903), person_code(904)
#: born 2008-01-15: 18 from 2026-01-15, so of age (and loadable) on TODAY
YOUNG = person_code(905, birth=dt.date(2008, 1, 15))


def _load(store: GraphStore, write_jsonl: Write, rows: list[dict[str, Any]]) -> None:
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"),
                         provider="t", today=TODAY,
                         submitted_at=dt.datetime.combine(TODAY, dt.time(9), dt.UTC))
    assert summary.rejected_total == 0, summary.as_dict()


def _check(store: GraphStore, code: str, day: str, policy: str = "nantong") -> SanctionCheck:
    return check_sanctions(store, code, policy=load_policy(policy), catalogue=CATALOGUE,
                           as_of=D(day))


def test_a_continuing_act_is_answered_for_by_who_holds_the_role_on_the_day_asked(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Decided 2026-01-10, the act (tax arrears) given as ending 2026-06-30; the legal
    representative changed on 2026-03-01. On 2026-02-01 the act was going on under OLD:
    NEW, who had not yet taken the role, is not responsible for that day."""
    _load(store, write_jsonl, [
        entity(CO, "甲公司"), person(OLD, "旧代表"), person(NEW, "新代表"),
        role(CO, OLD, "legal_representative", "2015-01-01", "2026-02-28"),
        role(CO, NEW, "legal_representative", "2026-03-01"),
        record("R1", CO, "2026-01-10", kind="tax_arrears", severity="serious",
               act_ended_on="2026-06-30"),
    ])
    assert not _check(store, NEW, "2026-02-01").restricted
    old = _check(store, OLD, "2026-02-01")
    assert old.restricted and {m.role for m in old.measures} == {"legal_representative"}
    # once the act has ended, rule 2's act date is its end, under NEW
    assert _check(store, NEW, "2026-07-01").restricted


def test_an_act_committed_under_age_grounds_nothing_on_the_person(
    store: GraphStore, write_jsonl: Write
) -> None:
    """Wuhan Art. 11 covers natural persons aged 18 and over; Nantong Art. 2 those of full
    civil capacity. YOUNG was 16 at two acts and 18 at the third."""
    _load(store, write_jsonl, [
        entity(CO, "甲公司"), person(YOUNG, "少年"),
        record("M1", YOUNG, "2024-06-01", kind="penalty", severity="serious"),
        record("M2", CO, "2024-09-01", kind="penalty", severity="serious", responsible=[YOUNG]),
        record("M3", YOUNG, "2026-06-01", kind="penalty", severity="serious",
               act_ended_on="2026-01-20"),
    ])
    for policy in ("wuhan", "nantong"):
        young = _check(store, YOUNG, "2026-07-01", policy)
        # M1 and M2 are acts of a 16-year-old; M3's act ended when he was 18
        grounds = {m.basis_record_id for m in young.measures}
        assert not grounds & {"t:M1", "t:M2"}, policy
    assert grounds == {"t:M3"}
    assert _check(store, CO, "2026-07-01").restricted  # the company's own record stands


def test_only_the_offices_no_office_bars_are_conflicts(
    store: GraphStore, write_jsonl: Write
) -> None:
    """NO_OFFICE: 限制担任企业法定代表人、负责人或者高级管理人员 (Wuhan Art. 26(6))."""
    _load(store, write_jsonl, [
        entity(CO, "甲公司"), entity(CO2, "乙公司"), person(OLD, "代表"),
        role(CO, OLD, "legal_representative", "2016-01-01"),
        role(CO2, OLD, "director", "2020-01-01"),
        role(CO2, OLD, "supervisor", "2020-01-01"),
        record("R1", CO, "2026-06-01", severity="serious"),
    ])
    assert {(c.entity_code, c.role) for c in _check(store, OLD, "2026-11-01").conflicts} == {
        (CO, "legal_representative")
    }
    assert not _check(store, CO2, "2026-11-01").conflicts
    _load(store, write_jsonl, [role(CO2, OLD, "manager", "2021-01-01")])
    assert (CO2, "manager") in {
        (c.entity_code, c.role) for c in _check(store, OLD, "2026-11-01").conflicts
    }
    assert _check(store, CO2, "2026-11-01").conflicts


SELF = Actor(Caller(CallerRole.SUBJECT, key_name="co-self", subject_code=CO), TODAY)
NANTONG = AccessRules(load_policy("nantong"), load_limited_sharing())


@pytest.mark.parametrize(
    ("later", "withdrawn"),
    [
        ("2025-09-01", True),  # a similar act in the year, but withdrawn by its provider
        ("2026-09-01", False),  # a similar act 15 months after the correction
    ],
)
def test_nantong_repair_is_not_blocked_by_what_is_no_similar_act_in_the_year(
    store: GraphStore, write_jsonl: Write, later: str, withdrawn: bool
) -> None:
    """Art. 34(2): 自纠正之日起, 1 年内未再发生同类失信行为."""
    _load(store, write_jsonl, [
        entity(CO, "甲公司"),
        record("R0", CO, "2024-01-10", kind="penalty", severity="serious"),
        record("R9", CO, later, kind="penalty", severity="general"),
    ])
    if withdrawn:
        _load(store, write_jsonl, [{"type": "record", "id": "R9", "action": "withdraw"}])
    asked = rep.request_repair(store, NANTONG, SELF, record_uid="t:R0", reason="已整改",
                               corrected_on=D("2025-06-01"), commitment=True, on=TODAY)
    assert asked.record_uid == "t:R0"

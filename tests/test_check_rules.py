"""The joint-punishment check, one test (or more) per rule of CONTRACT.md section 4.

Each test builds a small graph through the real loader into the real engine, then asks
the check at exact dates, under every policy whose numbers differ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from api.checks import check_sanctions
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.catalogue import load_catalogue
from schema.errors import InvalidCode, InvalidInput, NotFound
from schema.policy import load_policy
from schema.sanctions import SanctionCheck
from tests.builders import entity, person, person_code, record, role, uscc_code

CATALOGUE = load_catalogue()
ORG_MEASURES = {
    "KEY_SUPERVISION",
    "LICENSING_SCRUTINY",
    "NO_FACILITATION",
    "NO_FISCAL_FUNDS",
    "NO_PUBLIC_PROCUREMENT",
    "NO_HONOURS",
    "FINANCIAL_RESTRICTION",
}
PERSON_MEASURES = {"NO_OFFICE", "NO_HONOURS", "FINANCIAL_RESTRICTION"}


def person_measures(policy: str) -> set[str]:
    """Huancui's regulation has no article barring anyone from office (its Art. 26 lists
    no such measure), so under that profile the catalogue does not apply NO_OFFICE."""
    return PERSON_MEASURES - ({"NO_OFFICE"} if policy == "huancui" else set())


INCENTIVES = {"GREEN_CHANNEL", "FEWER_INSPECTIONS", "FUNDING_PRIORITY", "BIDDING_BONUS"}

CO, CO2, CO3 = uscc_code(11), uscc_code(12), uscc_code(13)
INST = uscc_code(14, prefix="12")
OLD_REP, NEW_REP, NAMED, HEAD, DIRECTOR = (person_code(i) for i in (21, 22, 23, 24, 25))

Loader = Callable[[list[dict[str, Any]]], None]


@pytest.fixture
def load(store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]) -> Loader:
    def _load(rows: list[dict[str, Any]]) -> None:
        summary = load_files(
            store,
            [write_jsonl(rows)],
            policy=load_policy("nantong"),
            provider="t",
            today=dt.date(2026, 11, 21),
            submitted_at=dt.datetime(2026, 11, 21, 9, tzinfo=dt.UTC),
        )
        assert summary.rejected_total == 0, summary.as_dict()

    return _load


def check(
    store: GraphStore, code: str, as_of: str, policy: str = "nantong", measure: str | None = None
) -> SanctionCheck:
    return check_sanctions(
        store,
        code,
        policy=load_policy(policy),
        catalogue=CATALOGUE,
        as_of=dt.date.fromisoformat(as_of),
        measure=measure,
    )


def codes(result: SanctionCheck) -> set[str]:
    return {m.measure for m in result.measures}


def base_rows() -> list[dict[str, Any]]:
    return [
        entity(CO, "南通宏达建设工程有限公司"),
        entity(CO2, "南通顺达商贸有限公司"),
        entity(CO3, "如东海润贸易有限公司"),
        entity(INST, "南通市某事业单位", org_type="institution"),
        person(OLD_REP, "周建国"),
        person(NEW_REP, "吴立新"),
        person(NAMED, "郑海"),
        person(HEAD, "钱文"),
        person(DIRECTOR, "孙丽"),
        role(CO, OLD_REP, "legal_representative", "2016-04-01", "2025-08-31"),
        role(CO, NEW_REP, "legal_representative", "2025-09-01"),
        role(CO2, OLD_REP, "legal_representative", "2020-01-01"),
        role(CO, DIRECTOR, "director", "2019-01-01"),
        role(INST, HEAD, "principal", "2018-01-01", "2025-12-31"),
    ]


# -- Rule 1 -----------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["nantong", "wuhan", "huancui", "zhengzhou", "yangjiang"])
@pytest.mark.parametrize(
    "marks", [{"severity": "serious"}, {"list": "black"}, {"severity": "general", "list": "black"}]
)
def test_rule1_serious_or_black_grounds_org_measures_and_person_measures(
    store: GraphStore, load: Loader, policy: str, marks: dict[str, str]
) -> None:
    load(
        [
            *base_rows(),
            record(
                "R1", CO, "2025-06-20", act_ended_on="2025-03-31", valid_until="2027-12-31", **marks
            ),
        ]
    )
    org = check(store, CO, "2026-01-15", policy)
    assert codes(org) == ORG_MEASURES and org.restricted
    assert all(
        m.via == [CO] and m.basis_record_id == "t:R1" and m.role is None for m in org.measures
    )
    assert all(m.legal_basis for m in org.measures)
    rep = check(store, OLD_REP, "2026-01-15", policy)
    assert codes(rep) == person_measures(policy) and rep.restricted
    assert {tuple(m.via) for m in rep.measures} == {(OLD_REP, CO)}
    assert {m.role for m in rep.measures} == {"legal_representative"}


def test_rule1_market_ban_only_for_serious_kinds(store: GraphStore, load: Loader) -> None:
    load(
        [
            *base_rows(),
            record("R1", CO, "2025-06-20", kind="industry_ban", severity="serious"),
            record("R2", CO2, "2025-06-20", kind="penalty", severity="serious"),
        ]
    )
    assert "MARKET_BAN" in codes(check(store, CO, "2026-01-15"))
    assert "MARKET_BAN" not in codes(check(store, CO2, "2026-01-15"))


# -- Rule 2 -----------------------------------------------------------------------------


def test_rule2_role_holder_on_act_date_is_responsible_not_the_successor(
    store: GraphStore, load: Loader
) -> None:
    # Act ended 2025-03-31 under OLD_REP; NEW_REP took over 2025-09-01, after the act.
    load(
        [
            *base_rows(),
            record(
                "R1", CO, "2025-06-20", act_ended_on="2025-03-31", severity="serious", list="black"
            ),
        ]
    )
    assert codes(check(store, OLD_REP, "2026-01-15")) == PERSON_MEASURES
    successor = check(store, NEW_REP, "2026-01-15")
    assert successor.measures == [] and not successor.restricted
    # The director is not a legal representative or principal and is not named.
    assert check(store, DIRECTOR, "2026-01-15").measures == []


@pytest.mark.parametrize(
    ("act_ended_on", "decided_on", "old_rep", "new_rep"),
    [
        ("2025-08-31", "2025-10-01", True, False),  # last day of OLD_REP's term
        ("2025-09-01", "2025-10-01", False, True),  # first day of NEW_REP's term
        (None, "2025-08-31", True, False),  # no act date: the decision date counts
        (None, "2025-09-01", False, True),
    ],
)
def test_rule2_term_edges(
    store: GraphStore,
    load: Loader,
    act_ended_on: str | None,
    decided_on: str,
    old_rep: bool,
    new_rep: bool,
) -> None:
    extra = {"act_ended_on": act_ended_on} if act_ended_on else {}
    load([*base_rows(), record("R1", CO, decided_on, severity="serious", **extra)])
    assert check(store, OLD_REP, "2026-01-15").restricted is old_rep
    assert check(store, NEW_REP, "2026-01-15").restricted is new_rep


def test_rule2_principal_and_named_persons_are_responsible(store: GraphStore, load: Loader) -> None:
    load(
        [
            *base_rows(),
            record("R1", INST, "2025-05-01", severity="serious"),
            record("R2", CO3, "2025-05-01", severity="serious", responsible=[NAMED]),
            record("R3", CO2, "2025-07-01", list="black", responsible=[NAMED]),
        ]
    )
    head = check(store, HEAD, "2026-01-15")
    assert codes(head) == PERSON_MEASURES and {m.role for m in head.measures} == {"principal"}
    named = check(store, NAMED, "2026-01-15")
    assert codes(named) == PERSON_MEASURES
    assert {m.basis_record_id for m in named.measures} == {"t:R2", "t:R3"}
    assert {tuple(m.via) for m in named.measures} == {(NAMED, CO3), (NAMED, CO2)}
    assert {m.role for m in named.measures} == {"responsible"}


# -- Rule 3 -----------------------------------------------------------------------------

# (policy, record marks, decided_on, act_ended_on, last valid day)
VALIDITY = [
    ("nantong", {"severity": "general"}, "2024-03-10", None, "2025-03-10"),
    ("nantong", {"severity": "serious"}, "2023-05-10", "2023-01-31", "2026-05-10"),
    ("nantong", {"list": "black"}, "2023-05-10", None, "2026-05-10"),
    ("wuhan", {"severity": "serious"}, "2021-05-10", "2021-01-31", "2026-05-10"),
    ("wuhan", {"severity": "general"}, "2021-05-10", None, "2026-05-10"),
    ("huancui", {"severity": "serious"}, "2021-06-01", "2021-03-01", "2026-03-01"),
    ("zhengzhou", {"severity": "serious"}, "2021-05-10", "2021-01-31", "2026-05-10"),
    ("yangjiang", {"severity": "serious"}, "2021-06-01", "2021-03-01", "2026-03-01"),
    ("nantong", {"severity": "serious"}, "2020-02-29", None, "2023-02-28"),
]


@pytest.mark.parametrize(("policy", "marks", "decided", "act_ended", "last_day"), VALIDITY)
def test_rule3_validity_edges(
    store: GraphStore,
    load: Loader,
    policy: str,
    marks: dict[str, str],
    decided: str,
    act_ended: str | None,
    last_day: str,
) -> None:
    extra = {"act_ended_on": act_ended} if act_ended else {}
    load([*base_rows(), record("R1", CO2, decided, **marks, **extra)])
    last = dt.date.fromisoformat(last_day)
    on_last = check(store, CO2, last.isoformat(), policy)
    after = check(store, CO2, (last + dt.timedelta(days=1)).isoformat(), policy)
    before_decision = check(
        store, CO2, (dt.date.fromisoformat(decided) - dt.timedelta(days=1)).isoformat(), policy
    )
    assert on_last.restricted and not after.restricted and not before_decision.restricted
    assert {m.valid_until for m in on_last.measures} == {last}
    assert {m.valid_from for m in on_last.measures} == {dt.date.fromisoformat(decided)}


def test_rule3_policies_differ_on_the_same_record(store: GraphStore, load: Loader) -> None:
    load([*base_rows(), record("R1", CO2, "2022-09-01", severity="serious")])
    assert not check(store, CO2, "2026-11-21", "nantong").restricted  # 3 years: ended 2025-09-01
    assert check(store, CO2, "2026-11-21", "wuhan").restricted  # 5 years: until 2027-09-01


@pytest.mark.parametrize("policy", ["nantong", "wuhan", "huancui", "zhengzhou", "yangjiang"])
def test_rule3_valid_until_overrides_the_policy_period(
    store: GraphStore, load: Loader, policy: str
) -> None:
    load(
        [
            *base_rows(),
            record("R1", CO2, "2025-01-10", severity="serious", valid_until="2026-12-31"),
        ]
    )
    assert check(store, CO2, "2026-12-31", policy).restricted
    assert not check(store, CO2, "2027-01-01", policy).restricted


# -- Rule 4 -----------------------------------------------------------------------------


def test_rule4_withdrawn_record_grounds_nothing(store: GraphStore, load: Loader) -> None:
    load(
        [
            *base_rows(),
            record("R1", CO, "2025-06-20", act_ended_on="2025-03-31", severity="serious"),
        ]
    )
    assert check(store, CO, "2026-01-15").restricted
    load([{"type": "record", "id": "R1", "action": "withdraw"}])  # submitted 2026-11-21
    assert not check(store, CO, "2026-11-21").restricted
    assert not check(store, OLD_REP, "2026-11-21").restricted
    # Withdrawal ends the record's life from that day; the past is not rewritten.
    assert check(store, CO, "2026-11-20").restricted
    assert check(store, OLD_REP, "2026-01-15").restricted


def test_rule2_a_record_corrected_later_is_judged_as_it_stood_on_the_date_asked(
    store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    """The provider corrects R1 on 2026-03-02: the act ended under NEW_REP after all
    (2025-09-15, not 2025-03-31), and the decision is dated 2026-02-20. A check of a day
    before the correction answers what a check on that day answered; after it, the
    corrected content decides."""

    def load_on(rows: list[dict[str, Any]], day: dt.date) -> None:
        summary = load_files(
            store, [write_jsonl(rows)], policy=load_policy("nantong"), provider="t",
            today=day, submitted_at=dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC),
        )
        assert summary.rejected_total == 0 and summary.loaded >= 1, summary.as_dict()

    first = record("R1", CO, "2025-06-20", act_ended_on="2025-03-31", severity="serious")
    load_on([*base_rows(), first], dt.date(2025, 6, 25))
    corrected = {**first, "act_ended_on": "2025-09-15", "decided_on": "2026-02-20"}
    load_on([corrected], dt.date(2026, 3, 2))

    before = "2026-01-15"
    assert codes(check(store, OLD_REP, before)) == PERSON_MEASURES
    assert check(store, NEW_REP, before).measures == []
    assert codes(check(store, CO, before)) >= {"NO_FISCAL_FUNDS", "NO_PUBLIC_PROCUREMENT"}
    # OLD_REP still represents CO2 on that day: barred from office there too
    assert any(c.person_code == OLD_REP for c in check(store, CO2, before).conflicts)

    after = "2026-04-01"
    assert check(store, OLD_REP, after).measures == []
    assert codes(check(store, NEW_REP, after)) == PERSON_MEASURES
    assert codes(check(store, CO, after)) >= {"NO_FISCAL_FUNDS", "NO_PUBLIC_PROCUREMENT"}
    # NEW_REP, barred now, holds office in CO itself: the officer branch sees it too
    assert any(c.person_code == NEW_REP for c in check(store, CO, after).conflicts)


def _end_by_procedure(store: GraphStore, how: str) -> str:
    """End t:R1's effect on 2026-11-02 the way ``how`` says; returns the policy to ask."""
    from api import objections as obj
    from api import repairs as rep
    from api.record_procedures import Actor
    from schema.access import AccessRules, Caller, CallerRole, load_limited_sharing

    ops = Actor(Caller(CallerRole.OPERATOR, key_name="ops"), dt.date(2026, 11, 21))
    day = dt.date(2026, 11, 2)
    policy = "wuhan" if how == "withheld" else "huancui"
    rules = AccessRules(load_policy(policy), load_limited_sharing())
    if how == "revoked":
        rep.revoke_record(store, rules, ops, record_uid="t:R1", reason="撤销", notice_on=day)
    elif how == "repaired":
        asked = rep.request_repair(store, rules, ops, record_uid="t:R1", reason="修复",
                                   on=day - dt.timedelta(days=5))
        rep.decide_repair(store, rules, ops, repair_id=asked.id, approve=True, note=None,
                          certificate_no="修复证明", on=day)
    else:
        filed = obj.file_objection(store, rules, ops, record_uid="t:R1", reason="异议",
                                   on=dt.date(2026, 10, 1))
        if how == "deleted":
            obj.resolve_objection(store, rules, ops, objection_id=filed.id,
                                  outcome=obj.Outcome.DELETED, note="错误", on=day)
        else:  # Wuhan: 10 working days from 16 October end on 30 October; silent after
            obj.forward_objection(store, rules, ops, objection_id=filed.id,
                                  on=dt.date(2026, 10, 16))
    return policy


@pytest.mark.parametrize("how", ["revoked", "repaired", "deleted", "withheld"])
def test_rule4_revoked_repaired_deleted_withheld_ground_nothing(
    store: GraphStore, load: Loader, how: str
) -> None:
    load([*base_rows(), record("R1", CO, "2025-06-20", severity="serious")])
    policy = _end_by_procedure(store, how)
    assert not check(store, CO, "2026-11-02", policy).restricted
    assert not check(store, OLD_REP, "2026-11-02", policy).restricted
    assert check(store, CO, "2026-10-01", policy).restricted  # the past stands


# -- Rule 5 -----------------------------------------------------------------------------


def test_rule5_no_conflict_where_the_policy_has_no_office_bar(
    store: GraphStore, load: Loader
) -> None:
    load([*base_rows(), record("R1", CO, "2025-06-20", act_ended_on="2025-03-31", list="black")])
    assert check(store, OLD_REP, "2026-01-15", "huancui").conflicts == []
    assert check(store, OLD_REP, "2026-01-15", "wuhan").conflicts != []


def test_rule5_barred_person_holding_office_is_a_conflict(store: GraphStore, load: Loader) -> None:
    load([*base_rows(), record("R1", CO, "2025-06-20", act_ended_on="2025-03-31", list="black")])
    rep = check(store, OLD_REP, "2026-01-15")
    assert [(c.entity_code, c.role) for c in rep.conflicts] == [(CO2, "legal_representative")]
    assert rep.conflicts[0].basis_record_ids == ["t:R1"]
    # Seen from the organisation where the barred person still holds office.
    org2 = check(store, CO2, "2026-01-15")
    assert not org2.restricted
    assert [(c.person_code, c.role) for c in org2.conflicts] == [(OLD_REP, "legal_representative")]
    # Before the decision the person is not barred: no conflict.
    assert check(store, OLD_REP, "2025-06-19").conflicts == []


def test_rule5_office_ended_the_day_before_is_no_conflict(store: GraphStore, load: Loader) -> None:
    load(
        [
            *base_rows(),
            role(CO3, NAMED, "manager", "2020-01-01", "2026-01-14"),
            record("R1", CO2, "2025-06-20", severity="serious", responsible=[NAMED]),
        ]
    )
    assert [c.entity_code for c in check(store, NAMED, "2026-01-14").conflicts] == [CO3]
    assert check(store, NAMED, "2026-01-15").conflicts == []
    assert check(store, CO3, "2026-01-15").conflicts == []
    assert [c.person_code for c in check(store, CO3, "2026-01-14").conflicts] == [NAMED]


# -- Rule 6 -----------------------------------------------------------------------------


def test_rule6_general_record_grounds_key_supervision_on_its_subject_only(
    store: GraphStore, load: Loader
) -> None:
    load([*base_rows(), record("R1", CO, "2025-06-20", severity="general")])
    assert codes(check(store, CO, "2026-01-15")) == {"KEY_SUPERVISION"}
    assert check(store, OLD_REP, "2026-01-15").measures == []
    assert check(store, OLD_REP, "2026-01-15").conflicts == []


def test_rule6_red_list_grounds_incentives_unless_black_listed(
    store: GraphStore, load: Loader
) -> None:
    load(
        [
            *base_rows(),
            record("G1", CO3, "2025-01-10", category="positive", kind="commendation", list="red"),
            record("G2", CO2, "2025-01-10", category="positive", kind="commendation", list="red"),
            record("B2", CO2, "2025-06-01", list="black", valid_until="2026-06-30"),
        ]
    )
    red = check(store, CO3, "2026-01-15")
    assert {m.measure for m in red.incentives} == INCENTIVES and not red.restricted
    both = check(store, CO2, "2026-01-15")
    assert both.incentives == [] and both.restricted
    # Once the black-list record has expired, the incentives come back.
    after = check(store, CO2, "2026-07-01")
    assert {m.measure for m in after.incentives} == INCENTIVES and not after.restricted


# -- Inputs -----------------------------------------------------------------------------


def test_measure_filter_and_errors(store: GraphStore, load: Loader) -> None:
    load([*base_rows(), record("R1", CO, "2025-06-20", severity="serious")])
    only = check(store, CO, "2026-01-15", measure="NO_PUBLIC_PROCUREMENT")
    assert codes(only) == {"NO_PUBLIC_PROCUREMENT"} and only.restricted
    assert not check(store, CO, "2026-01-15", measure="NO_OFFICE").restricted
    with pytest.raises(InvalidInput):
        check(store, CO, "2026-01-15", measure="NO_SUCH_MEASURE")
    with pytest.raises(InvalidCode):
        check(store, CO[:-1] + ("0" if CO[-1] != "0" else "1"), "2026-01-15")
    with pytest.raises(NotFound):
        check(store, uscc_code(999), "2026-01-15")

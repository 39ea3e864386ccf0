"""The access rules themselves, over every combination hypothesis can make.

The HTTP tests show the rules applied on real data; this one shows the table of
DOMAIN.md section 5 holds for any record kind, level, status, date and caller.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from schema.access import AccessRules, Caller, CallerRole, load_limited_sharing
from schema.policy import PROFILE_NAMES, load_policy
from tests.builders import person_code, uscc_code

CO, OTHER = uscc_code(1), uscc_code(2)
P = person_code(3)
TODAY = dt.date(2026, 11, 21)
SHARING = load_limited_sharing()

# (caller variant, disclosure level) -> visible, for an organisation's active record in
# force, seen by a caller that is not its subject. The table of DOMAIN.md section 5.
TABLE: dict[tuple[str, str], bool] = {}
for lv in ("public", "authorized", "shared", "limited"):
    TABLE[("public", lv)] = lv == "public"
    TABLE[("agency_listed", lv)] = lv in ("public", "shared", "limited")
    TABLE[("agency_unlisted", lv)] = lv in ("public", "shared")
    TABLE[("agency_granted", lv)] = lv in ("public", "authorized", "shared")
    TABLE[("provider_own", lv)] = True
    TABLE[("provider_other", lv)] = lv == "public"
    TABLE[("operator", lv)] = True
    TABLE[("subject_self", lv)] = True
    TABLE[("subject_other", lv)] = lv == "public"
    TABLE[("subject_other_granted", lv)] = lv in ("public", "authorized")


def _caller(variant: str, kind: str) -> Caller:
    listed = sorted(SHARING.units_for(kind))[0] if SHARING.units_for(kind) else None
    match variant:
        case "public":
            return Caller(CallerRole.PUBLIC)
        case "agency_listed":
            return Caller(CallerRole.AGENCY, "a", unit=listed or "nobody")
        case "agency_unlisted":
            return Caller(CallerRole.AGENCY, "a", unit="unlisted-unit")
        case "agency_granted":
            return Caller(CallerRole.AGENCY, "a", unit="unlisted-unit", grants=frozenset({CO}))
        case "provider_own":
            return Caller(CallerRole.PROVIDER, "p", unit="prov")
        case "provider_other":
            return Caller(CallerRole.PROVIDER, "p", unit="someone-else")
        case "operator":
            return Caller(CallerRole.OPERATOR, "o")
        case "subject_self":
            return Caller(CallerRole.SUBJECT, "s", subject_code=CO)
        case "subject_other":
            return Caller(CallerRole.SUBJECT, "s", subject_code=OTHER)
        case _:
            return Caller(CallerRole.SUBJECT, "s", subject_code=OTHER, grants=frozenset({CO}))


variants = st.sampled_from(sorted({v for v, _ in TABLE}))
levels = st.sampled_from(["public", "authorized", "shared", "limited"])
kinds = st.sampled_from(["penalty", "tax_arrears", "enforcement", "license", "accident"])
policies = st.sampled_from(PROFILE_NAMES)
recent = st.integers(min_value=0, max_value=300).map(lambda d: TODAY - dt.timedelta(days=d))


def _record(level: str, kind: str, decided: dt.date, **kw: object) -> dict[str, object]:
    return {"uid": "prov:1", "provider": "prov", "subject": CO, "category": "negative",
            "severity": "serious", "kind": kind, "decided_on": decided.isoformat(),
            "disclosure": level, "status": "active", **kw}


@settings(max_examples=400, deadline=None)
@given(variant=variants, level=levels, kind=kinds, policy=policies, decided=recent)
def test_the_disclosure_table_holds(
    variant: str, level: str, kind: str, policy: str, decided: dt.date
) -> None:
    rules = AccessRules(load_policy(policy), SHARING)
    caller = _caller(variant, kind)
    seen = rules.can_see_record(caller, _record(level, kind, decided), subject_kind="entity",
                                today=TODAY)
    expected = TABLE[(variant, level)]
    if variant == "agency_listed" and not SHARING.units_for(kind):
        expected = level in ("public", "shared")
    assert seen is expected


@settings(max_examples=200, deadline=None)
@given(variant=variants, level=levels, kind=kinds, policy=policies,
       status=st.sampled_from(["withdrawn", "revoked", "repaired", "deleted", "withheld"]))
def test_records_out_of_disclosure_are_for_operators_only(
    variant: str, level: str, kind: str, policy: str, status: str
) -> None:
    rules = AccessRules(load_policy(policy), SHARING)
    rec = _record(level, kind, TODAY - dt.timedelta(days=10), status=status)
    seen = rules.can_see_record(_caller(variant, kind), rec, subject_kind="entity", today=TODAY)
    assert seen is (variant == "operator")


@settings(max_examples=200, deadline=None)
@given(variant=variants, level=levels, policy=policies)
def test_expired_records_are_archived_from_everyone_but_operators(
    variant: str, level: str, policy: str
) -> None:
    rules = AccessRules(load_policy(policy), SHARING)
    rec = _record(level, "penalty", TODAY - dt.timedelta(days=400),
                  valid_until=(TODAY - dt.timedelta(days=1)).isoformat())
    seen = rules.can_see_record(_caller(variant, "penalty"), rec, subject_kind="entity",
                                today=TODAY)
    assert seen is (variant == "operator")


@settings(max_examples=200, deadline=None)
@given(variant=variants, level=levels, policy=policies)
def test_natural_persons_records_follow_persons_public(
    variant: str, level: str, policy: str
) -> None:
    pol = load_policy(policy)
    rules = AccessRules(pol, SHARING)
    rec = _record(level, "penalty", TODAY - dt.timedelta(days=5), subject=P)
    seen = rules.can_see_record(_caller(variant, "penalty"), rec, subject_kind="person",
                                today=TODAY)
    if variant == "public":
        assert seen is (level == "public" and pol.persons_public.allowed)
    elif variant == "operator":
        assert seen is True


def test_the_sharing_catalogue_names_units_for_limited_kinds() -> None:
    assert "tax" in SHARING.units_for("tax_arrears")
    assert SHARING.units_for("no_such_kind") == frozenset()

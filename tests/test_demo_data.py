"""The bundled demo data set: reproducible, valid, complete, and its scenarios hold.

The scenarios are documented in ``loaders/data/DEMO.md``; the facts tested here are the
ones that table relies on. The last test loads the file into a real graph and runs the
joint-punishment check, so the table's outcomes are checked too, not only the data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from stdnum.cn import ric

from graph.store import GraphStore
from loaders.demo_builder import (
    AS_OF,
    DEMO_PATH,
    LAST_DECISION,
    RECORD_IDS,
    SUBJECTS,
    build_rows,
    render,
)
from schema.codes import classify, validate_person_id
from schema.models import Entity, Person, Record, Role

Row = dict[str, Any]
MODELS: dict[str, type[BaseModel]] = {
    "entity": Entity,
    "person": Person,
    "role": Role,
    "record": Record,
}
DEMO_MD = DEMO_PATH.parent / "DEMO.md"
DATE_FIELDS = ("established", "terminated", "since", "until", "decided_on", "act_ended_on",
               "valid_until")
OFFICE = {"legal_representative", "principal", "director", "supervisor", "manager"}


def code(key: str) -> str:
    return SUBJECTS[key].code


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return build_rows()


def of(rows: list[Row], kind: str) -> list[Row]:
    return [r for r in rows if r["type"] == kind]


def roles(rows: list[Row], entity: str | None = None, holder: str | None = None,
          role: str | None = None) -> list[Row]:
    return [r for r in of(rows, "role")
            if (entity is None or r["entity"] == entity)
            and (holder is None or r["holder"] == holder)
            and (role is None or r["role"] == role)]


def records_of(rows: list[Row], subject: str) -> list[Row]:
    return [r for r in of(rows, "record") if r["subject"] == subject]


def record(rows: list[Row], key: str) -> Row:
    found = [r for r in of(rows, "record")
             if r["id"] == RECORD_IDS[key] and r.get("action") != "withdraw"]
    assert len(found) == 1, key
    return found[0]


def holds_on(role: Row, day: dt.date) -> bool:
    since = d(role["since"]) if "since" in role else dt.date.min
    until = d(role["until"]) if "until" in role else dt.date.max
    return since <= day <= until


def act_date(rec: Row) -> dt.date:
    return d(rec.get("act_ended_on") or rec["decided_on"])


# ---------------------------------------------------------------- reproducible


def test_builder_is_deterministic(rows: list[Row]) -> None:
    assert build_rows() == rows
    assert render(build_rows()) == render(rows)


def test_committed_file_is_the_builders_output(rows: list[Row]) -> None:
    expected = render(rows).encode("utf-8")
    assert DEMO_PATH.read_bytes() == expected, (
        "loaders/data/demo.jsonl differs from the builder's output: change "
        "loaders/demo_builder.py and run `python -m loaders.demo_builder`, never edit the file"
    )


# ----------------------------------------------------------------------- valid


def test_every_row_validates_with_the_models(rows: list[Row]) -> None:
    failures = []
    for number, row in enumerate(rows, start=1):
        fields = {k: v for k, v in row.items() if k != "type"}
        try:
            MODELS[row["type"]](**fields)
        except ValidationError as e:
            failures.append(f"line {number}: {e}")
    assert failures == []


def test_file_order_and_format(rows: list[Row]) -> None:
    order = {"entity": 0, "person": 1, "role": 2, "record": 3}
    kinds = [order[r["type"]] for r in rows]
    assert kinds == sorted(kinds), "entities, persons, roles, records"
    for row in rows:
        assert next(iter(row)) == "type"
        for key, value in row.items():
            assert value not in (None, "", []), f"empty optional field {key} must be omitted"
        for key in DATE_FIELDS:
            if key in row:
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[key]), row
                dt.date.fromisoformat(row[key])
    for rec in of(rows, "record"):
        assert isinstance(rec.get("responsible", []), list)
    lines = DEMO_PATH.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(rows)


def test_references_resolve(rows: list[Row]) -> None:
    kinds = {r["code"]: r["type"] for r in rows if r["type"] in ("entity", "person")}
    assert len(kinds) == len(of(rows, "entity")) + len(of(rows, "person")), "duplicate codes"
    for role in of(rows, "role"):
        assert kinds.get(role["entity"]) == "entity", role
        assert role["holder"] in kinds, role
        if role["role"] in OFFICE:
            assert kinds[role["holder"]] == "person", role
        if role["role"] == "branch":
            assert kinds[role["holder"]] == "entity", role
    for rec in of(rows, "record"):
        assert rec["subject"] in kinds, rec
        for person in rec.get("responsible", []):
            assert kinds.get(person) == "person", rec


def test_codes_are_real_format(rows: list[Row]) -> None:
    prefixes = {"enterprise": {"91"}, "institution": {"12"}, "social_org": {"51", "52", "53"},
                "other": {"92", "93"}}
    for ent in of(rows, "entity"):
        info = classify(ent["code"])
        assert info.kind == "entity", ent
        assert ent["code"][:2] in prefixes[ent["org_type"]], ent
        assert ent["code"][2:6] == "3206", ent
    later_codes = 0
    for person in of(rows, "person"):
        info = validate_person_id(person["code"])
        assert info.region_code.startswith("3206")
        assert dt.date(1950, 1, 1) <= info.birth_date <= dt.date(2000, 12, 31)
        if info.birth_date.year < 1985 and info.region_code in ("320612", "320685"):
            # issued under a division code younger than the person: stdnum says no, we say yes
            assert not ric.is_valid(person["code"])
            later_codes += 1
    assert later_codes >= 3


def test_sizes_and_coverage(rows: list[Row]) -> None:
    entities, persons = of(rows, "entity"), of(rows, "person")
    recs = of(rows, "record")
    assert 100 <= len(entities) <= 140
    assert 180 <= len(persons) <= 220
    assert {e["org_type"] for e in entities} == {"enterprise", "institution", "social_org",
                                                   "other"}
    assert {e["status"] for e in entities} == {"active", "revoked", "cancelled"}
    assert {r["disclosure"] for r in recs} == {"public", "authorized", "shared", "limited"}
    assert {r["category"] for r in recs} == {"basic", "positive", "negative", "other"}
    assert {r.get("list") for r in recs} == {"red", "black", None}
    assert {r.get("severity") for r in recs if r["category"] == "negative"} == {"general",
                                                                                "serious"}
    assert {r["role"] for r in of(rows, "role")} == OFFICE | {"shareholder", "branch"}
    disclosure = Counter(r["disclosure"] for r in recs)
    assert disclosure["public"] > len(recs) / 2, "most records are public"
    kinds = {r["kind"] for r in recs}
    assert {"license", "penalty", "enforcement", "serious_dishonesty", "commendation",
            "volunteer", "donation", "commitment", "judgment"} <= kinds


def test_records_are_plausible(rows: list[Row]) -> None:
    ids = Counter(r["id"] for r in of(rows, "record") if r.get("action") != "withdraw")
    assert max(ids.values()) == 1, "record ids are unique within the provider"
    for rec in of(rows, "record"):
        assert d(rec["decided_on"]) <= LAST_DECISION, rec
        assert rec.get("document_no") and rec.get("authority") and rec.get("title"), rec
        if rec["category"] == "negative":
            assert rec.get("severity") in ("general", "serious"), rec
            assert "act_ended_on" in rec and act_date(rec) <= d(rec["decided_on"]), rec
        else:
            assert "severity" not in rec and rec.get("list") != "black", rec


def test_roles_are_plausible(rows: list[Row]) -> None:
    people = {p["code"]: validate_person_id(p["code"]) for p in of(rows, "person")}
    entities = {e["code"]: e for e in of(rows, "entity")}
    for role in of(rows, "role"):
        since = d(role["since"])
        assert since >= d(entities[role["entity"]]["established"]), role
        if role["holder"] in people:
            assert people[role["holder"]].age_on(since) >= 18, role
        if "until" in role:
            assert d(role["until"]) >= since
    # shareholders never hold more than the whole company on any day a holding starts
    for ent in entities:
        held = roles(rows, entity=ent, role="shareholder")
        for day in {d(r["since"]) for r in held}:
            total = sum(r["share_ratio"] for r in held if holds_on(r, day))
            assert total <= 1 + 1e-9, (ent, day, total)
    # every company has a legal representative; every branch a principal and a head office
    branches = {r["holder"] for r in roles(rows, role="branch")}
    for ent in entities.values():
        if ent["code"] in branches:
            assert roles(rows, entity=ent["code"], role="principal"), ent
            assert len(roles(rows, holder=ent["code"], role="branch")) == 1
        elif ent["org_type"] == "enterprise":
            assert roles(rows, entity=ent["code"], role="legal_representative"), ent
    assert len(branches) >= 3


# ------------------------------------------------------------------- scenarios


def test_scenario_subjects_are_fixed(rows: list[Row]) -> None:
    names = {r["code"]: r["name"] for r in rows if r["type"] in ("entity", "person")}
    for key, fixed in SUBJECTS.items():
        assert names.get(fixed.code) == fixed.name, key


def test_filler_never_touches_a_scenario_subject(rows: list[Row]) -> None:
    scenario = {f.code for f in SUBJECTS.values()}
    for role in of(rows, "role"):
        touches = {role["entity"], role["holder"]} & scenario
        assert not touches or touches == {role["entity"], role["holder"]}, role
    for rec in of(rows, "record"):
        if rec["subject"] in scenario or set(rec.get("responsible", [])) & scenario:
            assert rec["id"].startswith("demo-s"), rec


def test_s01_change_of_legal_representative(rows: list[Row]) -> None:
    reps = sorted(roles(rows, entity=code("A"), role="legal_representative"),
                  key=lambda r: r["since"])
    assert [(r["holder"], r["since"], r.get("until")) for r in reps] == [
        (code("P1"), "2016-04-01", "2025-08-31"),
        (code("P2"), "2025-09-01", None),
    ]
    assert not roles(rows, entity=code("A"), role="principal")
    rec = record(rows, "A")
    assert rec["subject"] == code("A")
    assert (rec["category"], rec["kind"], rec["severity"], rec["list"]) == (
        "negative", "serious_dishonesty", "serious", "black")
    assert (rec["act_ended_on"], rec["decided_on"]) == ("2025-03-31", "2025-06-20")
    assert holds_on(reps[0], act_date(rec)) and not holds_on(reps[1], act_date(rec))
    assert code("P2") not in rec.get("responsible", [])


def test_s02_barred_person_holds_office_elsewhere(rows: list[Row]) -> None:
    [rep] = roles(rows, entity=code("B"), holder=code("P1"), role="legal_representative")
    assert rep["since"] == "2020-01-01" and "until" not in rep and holds_on(rep, AS_OF)


def test_s03_person_responsible_in_two_companies(rows: list[Row]) -> None:
    for key in ("C", "D"):
        rec = record(rows, key)
        assert rec["subject"] == code(key) and rec["severity"] == "serious"
        assert code("P3") in rec["responsible"]
        # named, not reached through a legal representative or principal role
        assert not [r for r in roles(rows, entity=code(key), holder=code("P3"))
                    if r["role"] in ("legal_representative", "principal")]
    [director] = roles(rows, entity=code("C"), holder=code("P3"), role="director")
    [manager] = roles(rows, entity=code("C"), holder=code("P3"), role="manager")
    assert holds_on(director, AS_OF) and holds_on(manager, AS_OF)
    assert not roles(rows, entity=code("D"), holder=code("P3"))


def test_s04_principal_of_an_organisation(rows: list[Row]) -> None:
    ent = next(e for e in of(rows, "entity") if e["code"] == code("E"))
    assert ent["org_type"] in ("institution", "social_org")
    rec = record(rows, "E")
    assert rec["category"] == "negative" and rec["severity"] == "serious"
    [principal] = roles(rows, entity=code("E"), role="principal")
    assert principal["holder"] == code("P4") and holds_on(principal, act_date(rec))
    assert not roles(rows, entity=code("E"), role="legal_representative")


def test_s05_red_list_company(rows: list[Row]) -> None:
    rec = record(rows, "F")
    assert (rec["category"], rec["list"]) == ("positive", "red")
    assert d(rec["decided_on"]) <= AS_OF <= d(rec["valid_until"])
    assert not [r for r in records_of(rows, code("F")) if r["category"] == "negative"]


def test_s06_red_list_suppressed_by_black_list(rows: list[Row]) -> None:
    red, black = record(rows, "G_RED"), record(rows, "G_BLACK")
    assert red["subject"] == black["subject"] == code("G")
    assert (red["category"], red["list"]) == ("positive", "red")
    assert d(red["decided_on"]) <= AS_OF <= d(red["valid_until"])
    assert (black["category"], black["list"]) == ("negative", "black")
    assert d(black["decided_on"]) <= AS_OF <= d(black["decided_on"]).replace(
        year=d(black["decided_on"]).year + 3)


def test_s07_general_penalty(rows: list[Row]) -> None:
    negatives = [r for r in records_of(rows, code("H")) if r["category"] == "negative"]
    assert negatives == [record(rows, "H")]
    rec = negatives[0]
    assert (rec["severity"], rec["decided_on"]) == ("general", "2026-03-15")
    assert "list" not in rec and "valid_until" not in rec and "responsible" not in rec
    assert not records_of(rows, code("H_LR"))


def test_s08_expired_under_nantong_valid_under_wuhan(rows: list[Row]) -> None:
    rec = record(rows, "I")
    assert (rec["severity"], rec["decided_on"]) == ("serious", "2022-09-01")
    assert "valid_until" not in rec and "list" not in rec
    [rep] = roles(rows, entity=code("I"), role="legal_representative")
    assert rep["holder"] == code("I_LR") and holds_on(rep, act_date(rec)) and holds_on(rep, AS_OF)


def test_s09_record_with_its_own_valid_until(rows: list[Row]) -> None:
    rec = record(rows, "J")
    assert (rec["severity"], rec["decided_on"], rec["valid_until"]) == (
        "serious", "2025-01-10", "2026-12-31")


def test_s10_withdrawn_record(rows: list[Row]) -> None:
    lines = [(i, r) for i, r in enumerate(rows) if r.get("id") == RECORD_IDS["K"]]
    assert len(lines) == 2
    (i, first), (j, second) = lines
    assert i < j and "action" not in first and second["action"] == "withdraw"
    assert {k: v for k, v in second.items() if k != "action"} == first
    assert first["subject"] == code("K") and first["severity"] == "serious"


def test_s11_person_with_a_record_of_their_own(rows: list[Row]) -> None:
    rec = record(rows, "P5")
    assert rec["subject"] == code("P5")
    assert (rec["category"], rec["kind"], rec["list"]) == ("negative", "enforcement", "black")
    [manager] = roles(rows, entity=code("L"), holder=code("P5"), role="manager")
    assert holds_on(manager, AS_OF)


def test_s12_shareholding_chain_and_branch(rows: list[Row]) -> None:
    chain = [("X1", "X2"), ("X2", "X3"), ("X3", "A")]
    for parent, child in chain:
        [held] = roles(rows, entity=code(child), holder=code(parent), role="shareholder")
        assert 0 < held["share_ratio"] <= 1 and holds_on(held, AS_OF)
    [branch] = roles(rows, holder=code("A_BRANCH"), role="branch")
    assert branch["entity"] == code("A")


def test_demo_md_documents_every_scenario(rows: list[Row]) -> None:
    text = DEMO_MD.read_text(encoding="utf-8")
    n = Counter(r["type"] for r in rows)
    counts = (f"{len(rows)} rows: {n['entity']} entities, {n['person']} persons, "
              f"{n['role']} roles, {n['record']} records")
    assert counts in " ".join(text.split()), f"DEMO.md should say: {counts}"
    for key, fixed in SUBJECTS.items():
        assert fixed.code in text, f"{key} {fixed.code} missing from DEMO.md"
        assert fixed.name in text, f"{key} {fixed.name} missing from DEMO.md"
    for rid in RECORD_IDS.values():
        assert rid in text


# --------------------------------------------------------- the check, for real


def test_the_check_shows_every_rule(store: GraphStore) -> None:
    from api.checks import check_sanctions
    from loaders.demo import load_demo
    from schema.catalogue import load_catalogue
    from schema.policy import load_policy

    nantong, wuhan = load_policy("nantong"), load_policy("wuhan")
    summary = load_demo(store, nantong)
    assert summary.exit_code == 0 and summary.rejected_total == 0, summary.as_dict()
    catalogue = load_catalogue()

    def check(key: str, policy: Any = nantong, day: dt.date = AS_OF) -> Any:
        return check_sanctions(store, code(key), policy=policy, catalogue=catalogue, as_of=day)

    def basis(key: str) -> str:
        return f"demo:{RECORD_IDS[key]}"

    def measures(result: Any) -> set[tuple[str, str]]:
        return {(m.measure, m.basis_record_id) for m in result.measures}

    def conflicts(result: Any) -> set[tuple[str, str, str]]:
        return {(c.person_code, c.entity_code, c.role) for c in result.conflicts}

    person_measures = {"NO_OFFICE", "NO_HONOURS", "FINANCIAL_RESTRICTION"}
    # 1. the legal representative on the act date answers; the successor does not
    a = check("A")
    assert a.restricted and {b for _m, b in measures(a)} == {basis("A")}
    assert "KEY_SUPERVISION" in {m for m, _b in measures(a)} and not a.incentives
    p1 = check("P1")
    assert measures(p1) == {(m, basis("A")) for m in person_measures}
    assert {(m.role, tuple(m.via)) for m in p1.measures} == {
        ("legal_representative", (code("P1"), code("A")))}
    assert {m.valid_until for m in p1.measures} == {dt.date(2028, 6, 20)}
    p2 = check("P2")
    assert not p2.restricted and not p2.conflicts
    # 2. ... and is barred from the office he still holds elsewhere
    assert conflicts(p1) == {(code("P1"), code("B"), "legal_representative")}
    b = check("B")
    assert not b.restricted and conflicts(b) == conflicts(p1)
    # 3. named in two companies' records
    p3 = check("P3")
    assert {b for m, b in measures(p3) if m == "NO_OFFICE"} == {basis("C"), basis("D")}
    # rule 5: his manager's seat is a conflict, his seat as director is not
    assert (code("P3"), code("C"), "manager") in conflicts(p3)
    assert (code("P3"), code("C"), "director") not in conflicts(p3)
    # 4. the principal on the act date
    p4 = check("P4")
    assert measures(p4) == {(m, basis("E")) for m in person_measures}
    assert {m.role for m in p4.measures} == {"principal"}
    # 5. / 6. red list; red list suppressed by a black list
    f = check("F")
    assert not f.restricted and {m.measure for m in f.incentives} == {
        "GREEN_CHANNEL", "FEWER_INSPECTIONS", "FUNDING_PRIORITY", "BIDDING_BONUS"}
    g = check("G")
    assert g.restricted and not g.incentives
    assert check("G", day=dt.date(2026, 6, 17)).incentives, "before the black list"
    # 7. a general penalty: key supervision on the company only
    h = check("H")
    assert measures(h) == {("KEY_SUPERVISION", basis("H"))}
    assert {m.valid_until for m in h.measures} == {dt.date(2027, 3, 15)}
    assert not check("H_LR").restricted
    assert not check("H", day=dt.date(2027, 3, 16)).restricted
    # 8. expired under Nantong, valid under Wuhan
    assert not check("I").restricted and not check("I_LR").restricted
    i_wuhan = check("I", wuhan)
    assert i_wuhan.restricted and {m.valid_until for m in i_wuhan.measures} == {
        dt.date(2027, 9, 1)}
    assert ("NO_OFFICE", basis("I")) in measures(check("I_LR", wuhan))
    # 9. the record's own valid_until
    j = check("J")
    assert j.restricted and {m.valid_until for m in j.measures} == {dt.date(2026, 12, 31)}
    assert not check("J", day=dt.date(2027, 1, 1)).restricted
    # 10. withdrawn: nothing
    assert not check("K").restricted and not check("K_LR").restricted
    # 11. a person's own record; the office they hold
    p5 = check("P5")
    assert ("NO_OFFICE", basis("P5")) in measures(p5)
    assert conflicts(p5) == {(code("P5"), code("L"), "manager")}
    lco = check("L")
    assert not lco.restricted and conflicts(lco) == conflicts(p5)
    # Wuhan: 5 years from the decision
    assert {m.valid_until for m in check("A", wuhan).measures} == {dt.date(2030, 6, 20)}
    assert {m.valid_until for m in check("H", wuhan).measures} == {dt.date(2031, 3, 15)}

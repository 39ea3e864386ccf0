"""Policy profiles: the numbers match the regulations, and broken files say where."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from schema.errors import RuleFileError
from schema.models import Category, ListKind, Severity
from schema.policy import (
    POLICY_DIR,
    PROFILE_NAMES,
    Cited,
    Policy,
    RecordFacts,
    add_years,
    load_all_policies,
    load_policy,
    load_policy_file,
)

SEEDS = Path("/work/shared/seeds")
D = dt.date
DECIDED = D(2023, 5, 10)


def facts(
    category: Category = Category.NEGATIVE,
    severity: Severity | None = Severity.GENERAL,
    list_kind: ListKind | None = None,
    *,
    subject_kind: str = "entity",
    kind: str = "penalty",
    decided_on: dt.date = DECIDED,
    act_ended_on: dt.date | None = None,
    valid_until: dt.date | None = None,
    subject_ended_on: dt.date | None = None,
) -> RecordFacts:
    return RecordFacts(
        category=category,
        severity=severity if category is Category.NEGATIVE else None,
        list=list_kind,
        subject_kind=subject_kind,  # type: ignore[arg-type]
        kind=kind,
        decided_on=decided_on,
        act_ended_on=act_ended_on,
        valid_until=valid_until,
        subject_ended_on=subject_ended_on,
    )


def cited_values(model: BaseModel, path: str = "") -> list[tuple[str, BaseModel]]:
    """Every nested model with its path: the leaves a reader checks against the text."""
    out: list[tuple[str, BaseModel]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            if isinstance(item, BaseModel):
                p = f"{path}.{name}" + (f"[{i}]" if i is not None else "")
                out.append((p, item))
                out.extend(cited_values(item, p))
    return out


# --- every profile loads, every value cites its article ----------------------------------


def test_every_profile_loads_under_its_own_name() -> None:
    policies = load_all_policies()
    assert tuple(policies) == PROFILE_NAMES
    for name, policy in policies.items():
        assert policy.name == name
        assert (POLICY_DIR / policy.regulation.seed_file).name == policy.regulation.seed_file


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_value_cites_an_article(name: str) -> None:
    policy = load_policy(name)
    containers = {"regulation", "objection"}
    values = cited_values(policy)
    assert len(values) > 20
    for path, value in values:
        if path.lstrip(".") in containers:
            continue
        assert isinstance(value, Cited), f"{name}{path} carries no article"
        assert re.search(r"Art\. \d+", value.article), f"{name}{path}: {value.article!r}"
        if value.silent:
            assert value.note, f"{name}{path} is a fallback without a note"


def _zh_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")


def _cited_numbers(article: str) -> set[int]:
    numbers: set[int] = set()
    for start, end in re.findall(r"Art\. (\d+)(?:-(\d+))?", article):
        numbers.add(int(start))
        if end:
            numbers.add(int(end))
    return numbers


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_cited_articles_exist_in_the_regulation(name: str) -> None:
    policy = load_policy(name)
    seed = SEEDS / policy.regulation.seed_file
    if not seed.exists():
        pytest.skip(f"seed text {seed} not available")
    text = re.sub(r"\s+", "", seed.read_text(encoding="utf-8"))
    for path, value in cited_values(policy):
        if isinstance(value, Cited):
            for n in _cited_numbers(value.article):
                assert f"第{_zh_number(n)}条" in text, f"{name}{path}: Art. {n} not in {seed.name}"


# --- spot checks against the regulations ---------------------------------------------------


def test_minimum_ages() -> None:
    policies = load_all_policies()
    assert {n: p.min_age for n, p in policies.items()} == dict.fromkeys(PROFILE_NAMES, 18)
    assert policies["wuhan"].minimum_age.article == "Art. 11"
    assert policies["nantong"].minimum_age.article == "Art. 2"
    assert not policies["wuhan"].minimum_age.silent
    for name in ("huancui", "zhengzhou", "yangjiang"):
        assert policies[name].minimum_age.silent, f"{name} says nothing about age"


def test_nantong_general_one_year_serious_three_years_from_determination() -> None:
    nt = load_policy("nantong")
    assert nt.validity_end(facts(severity=Severity.GENERAL)) == D(2024, 5, 10)
    assert nt.validity_end(facts(severity=Severity.SERIOUS)) == D(2026, 5, 10)
    # determination date, not the end of the act
    assert nt.validity_end(facts(severity=Severity.SERIOUS, act_ended_on=D(2022, 1, 1))) == D(
        2026, 5, 10
    )
    rule = nt.period_rule(facts(severity=Severity.SERIOUS))
    assert rule is not None and rule.article == "Art. 30"


def test_nantong_black_list_counts_as_serious_even_without_severity() -> None:
    nt = load_policy("nantong")
    assert nt.validity_end(facts(severity=Severity.SERIOUS, list_kind=ListKind.BLACK)) == D(
        2026, 5, 10
    )
    assert nt.validity_end(facts(severity=None, list_kind=ListKind.BLACK)) == D(2026, 5, 10)


def test_wuhan_five_years_from_formation_for_dishonest_and_adverse_other() -> None:
    wh = load_policy("wuhan")
    assert wh.validity_end(facts(severity=Severity.GENERAL)) == D(2028, 5, 10)
    assert wh.validity_end(facts(severity=Severity.SERIOUS, act_ended_on=D(2020, 1, 1))) == D(
        2028, 5, 10
    )
    judgment = facts(Category.OTHER, None, kind="judgment")
    assert wh.validity_end(judgment) == D(2028, 5, 10)
    assert wh.validity_end(facts(Category.OTHER, None, kind="commitment")) is None
    assert wh.validity_end(facts(Category.POSITIVE, None, kind="commendation")) is None


def test_huancui_dishonest_five_years_from_the_end_of_the_act() -> None:
    hc = load_policy("huancui")
    f = facts(severity=Severity.SERIOUS, act_ended_on=D(2019, 3, 1), decided_on=D(2019, 6, 1))
    assert hc.validity_end(f) == D(2024, 3, 1)
    # no act end given: the decision date is the fallback
    assert hc.validity_end(facts(decided_on=D(2019, 6, 1))) == D(2024, 6, 1)


def test_huancui_basic_information_until_three_years_after_the_organisation_ends() -> None:
    hc = load_policy("huancui")
    basic = facts(Category.BASIC, None, kind="license", subject_ended_on=D(2020, 1, 15))
    assert hc.validity_end(basic) == D(2023, 1, 15)
    assert hc.validity_end(facts(Category.BASIC, None, kind="license")) is None
    person = facts(Category.BASIC, None, kind="license", subject_kind="person")
    assert hc.validity_end(person) is None


def test_huancui_good_information_runs_to_its_own_validity() -> None:
    hc = load_policy("huancui")
    assert hc.validity_end(facts(Category.POSITIVE, None, kind="commendation")) is None
    good = facts(Category.POSITIVE, None, kind="commendation", valid_until=D(2025, 12, 31))
    assert hc.validity_end(good) == D(2025, 12, 31)


def test_zhengzhou_persons_bad_records_five_years() -> None:
    zz = load_policy("zhengzhou")
    assert zz.validity_end(facts(subject_kind="person")) == D(2028, 5, 10)
    rule = zz.period_rule(facts(subject_kind="person"))
    assert rule is not None and rule.article == "Art. 20" and not rule.silent
    entity_rule = zz.period_rule(facts(subject_kind="entity"))
    assert entity_rule is not None and entity_rule.silent  # analogy, flagged as such


def test_yangjiang_negative_falls_back_to_five_years_from_act_end() -> None:
    yj = load_policy("yangjiang")
    f = facts(act_ended_on=D(2018, 7, 1), decided_on=D(2018, 9, 1))
    assert yj.validity_end(f) == D(2023, 7, 1)
    assert yj.archive.article == "Art. 18"


# --- validity_end at the edges -------------------------------------------------------------


def test_leap_day_start_ends_on_the_last_day_of_february() -> None:
    nt = load_policy("nantong")
    assert nt.validity_end(facts(decided_on=D(2020, 2, 29))) == D(2021, 2, 28)
    assert nt.validity_end(facts(severity=Severity.SERIOUS, decided_on=D(2020, 2, 29))) == D(
        2023, 2, 28
    )
    assert add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)
    assert add_years(D(2023, 12, 31), 1) == D(2024, 12, 31)


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_valid_until_overrides_the_period(name: str) -> None:
    policy = load_policy(name)
    shorter = facts(severity=Severity.SERIOUS, valid_until=D(2023, 6, 1))
    longer = facts(severity=Severity.SERIOUS, valid_until=D(2040, 1, 1))
    assert policy.validity_end(shorter) == D(2023, 6, 1)
    assert policy.validity_end(longer) == D(2040, 1, 1)


# --- objections, deletion, levels, submission ----------------------------------------------


def test_objection_pending_follows_each_regulation() -> None:
    """What each rule does to a record is tested on the graph in test_record_life.py."""
    p = load_all_policies()
    for name in ("nantong", "zhengzhou"):  # Nantong Art. 32, Zhengzhou Art. 24
        assert p[name].objection.while_pending.rule == "applied"
    assert p["huancui"].objection.while_pending.rule == "suspended"
    assert p["wuhan"].objection.while_pending.rule == "stop_when_provider_overdue"


def test_objection_deadlines() -> None:
    p = load_all_policies()
    got = {
        n: (
            pol.objection.first_step.working_days,
            pol.objection.provider_verification.working_days,
            pol.objection.afterwards.working_days,
        )
        for n, pol in p.items()
    }
    assert got == {
        "wuhan": (2, 10, 5),
        "huancui": (3, 15, None),
        "nantong": (10, 5, 3),
        "zhengzhou": (3, 15, 2),
        "yangjiang": (3, 10, 3),
    }
    assert p["yangjiang"].objection.provider_verification.complex_working_days == 20
    assert p["wuhan"].objection.unverifiable.action == "delete_and_record_reason"


def test_positive_deletion_days() -> None:
    p = load_all_policies()
    assert p["wuhan"].positive_deletion.working_days == 2
    assert p["wuhan"].positive_deletion.article == "Art. 29"
    assert p["huancui"].positive_deletion.working_days == 5
    assert p["huancui"].positive_deletion.article == "Art. 33"
    for name in ("nantong", "zhengzhou", "yangjiang"):
        assert not p[name].positive_deletion.available
        assert p[name].positive_deletion.working_days is None


def test_revocation_and_repair() -> None:
    p = load_all_policies()
    assert p["huancui"].revocation.action == "delete"
    assert p["huancui"].revocation.platform_working_days == 3
    assert p["huancui"].repair.platform_working_days == 3
    assert p["huancui"].repair.effect == "removed_from_query"
    nt = p["nantong"].repair
    assert (nt.years_without_recurrence, nt.publicity_working_days, nt.effect) == (1, 5, "archived")
    assert nt.commitment_required
    for name in ("wuhan", "zhengzhou", "yangjiang"):
        assert not p[name].repair.available


def test_disclosure_levels() -> None:
    p = load_all_policies()
    assert "limited" in p["zhengzhou"].levels
    for name in ("wuhan", "huancui", "nantong", "yangjiang"):
        assert "limited" not in p[name].levels
    assert not p["wuhan"].persons_public.allowed
    c_class = p["zhengzhou"].disclosure_level("limited")
    assert c_class is not None and "C类" in c_class.name_zh


def test_zhengzhou_licences_and_penalties_within_seven_working_days() -> None:
    sub = load_policy("zhengzhou").submission
    assert sub.working_days == 7
    assert set(sub.applies_to) == {"license", "penalty"}
    assert sub.article == "Art. 12(2)"


# --- prohibited fields -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "key"),
    [
        ("宗教信仰", "religion"),
        ("religion", "religion"),
        ("Religious Belief", "religion"),
        ("Blood Type", "blood_type"),
        ("blood-type", "blood_type"),
        ("BLOOD_TYPE", "blood_type"),
        ("bloodtype", "blood_type"),
        ("血型", "blood_type"),
        ("fingerprint", "fingerprints"),
        ("指纹", "fingerprints"),
        ("基因", "genes"),
        ("medical history", "medical_history"),
        ("病史", "medical_history"),
    ],
)
def test_prohibited_spellings_are_recognised(column: str, key: str) -> None:
    field = load_policy("wuhan").prohibited_field(column)
    assert field is not None and field.key == key
    assert field.article == "Art. 15"


@pytest.mark.parametrize(
    "column",
    ["name", "address", "code", "tax_arrears", "social_insurance", "blood", "type", "race"],
)
def test_innocent_columns_pass(column: str) -> None:
    assert load_policy("wuhan").prohibited_field(column) is None


def test_nantong_does_not_prohibit_fingerprints() -> None:
    nt = load_policy("nantong")
    assert nt.prohibited_field("fingerprint") is None  # Art. 14 omits them
    assert nt.prohibited_field("血型") is not None


def test_zhengzhou_income_allowed_with_written_consent_religion_never() -> None:
    zz = load_policy("zhengzhou")
    income = zz.prohibited_field("Income")
    assert income is not None and income.unless_consent and income.article == "Art. 9(3)"
    for column in ("存款", "tax amount", "不动产", "commercial-insurance", "有价证券"):
        pf = zz.prohibited_field(column)
        assert pf is not None and pf.unless_consent, column
    religion = zz.prohibited_field("宗教信仰")
    assert religion is not None and not religion.unless_consent
    assert zz.prohibited_field("种族") is not None
    assert zz.prohibited_field("家庭出身") is not None
    assert load_policy("wuhan").prohibited_field("income") is None


# --- loading and errors --------------------------------------------------------------------


def test_unknown_policy_names_the_valid_ones() -> None:
    with pytest.raises(RuleFileError) as e:
        load_policy("beijing")
    assert e.value.line is None
    for name in PROFILE_NAMES:
        assert name in str(e.value)


def test_load_policy_is_cached_and_immutable() -> None:
    a = load_policy("nantong")
    assert a is load_policy("nantong")
    with pytest.raises(Exception, match="frozen"):
        a.name = "x"  # type: ignore[misc]


def _break(tmp_path: Path, name: str, old: str, new: str) -> tuple[Path, int]:
    """Copy a shipped profile with one edit; return the copy and the edit's line."""
    text = (POLICY_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    idx = text.index(old)
    line = text.count("\n", 0, idx) + 1
    path = tmp_path / f"{name}.yaml"
    path.write_text(text[:idx] + new + text[idx + len(old) :], encoding="utf-8")
    return path, line


def _line_of(path: Path, fragment: str) -> int:
    """First line containing ``fragment`` (or equal to it, stripped, when it ends in '$')."""
    exact = fragment.endswith("$")
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if (line.strip() == fragment[:-1]) if exact else (fragment in line):
            return i
    raise AssertionError(fragment)


@pytest.mark.parametrize(
    ("old", "new", "offset", "reason"),
    [
        ("    years: 3\n", '    years: "five"\n', 0, "valid integer (got 'five')"),
        ("    years: 3\n", '    years: "3"\n', 0, "valid integer"),
        ("    starts: decided_on\n", "    starts: decision\n", 0, "starts"),
        ('  article: "Art. 2"\n', '  article: ""\n', 0, "cite an article"),
        ('  article: "Art. 2"\n', '  article: "see above"\n', 0, "cite an article"),
        ("    rule: applied\n", "    rule: sometimes\n", 0, "while_pending.rule"),
        ("    severity: serious\n", "    severity: grave\n", 0, "severity"),
        ("    list: black\n", "    list: black\n    lists: black\n", 1, "unknown field"),
        ("  - level: shared\n", "  - level: public\n", 0, "duplicate level"),
        ("    aliases: [blood_group", "    aliases: [religion, blood_group", 0,
         "already an alias of 'religion'"),
    ],
)
def test_broken_profile_reports_file_and_line(
    tmp_path: Path, old: str, new: str, offset: int, reason: str
) -> None:
    path, line = _break(tmp_path, "nantong", old, new)
    with pytest.raises(RuleFileError) as e:
        load_policy_file(path)
    assert f"{path}:{line + offset}:" in str(e.value)
    assert e.value.line == line + offset and e.value.path == str(path)
    assert reason in str(e.value)


def test_missing_article_points_at_its_block(tmp_path: Path) -> None:
    path, _ = _break(tmp_path, "nantong", '  article: "Art. 2"\n', "")
    with pytest.raises(RuleFileError) as e:
        load_policy_file(path)
    assert f"{path}:{_line_of(path, 'minimum_age:')}:" in str(e.value)
    assert "minimum_age.article" in str(e.value) and "missing" in str(e.value)


def test_fallback_without_note_is_rejected(tmp_path: Path) -> None:
    text = (POLICY_DIR / "zhengzhou.yaml").read_text(encoding="utf-8")
    start = text.index("minimum_age:")
    note = text.index("  note: >-\n", start)
    end = text.index("\n\n", note)
    path = tmp_path / "zhengzhou.yaml"
    path.write_text(text[:note] + text[end + 1 :], encoding="utf-8")
    with pytest.raises(RuleFileError) as e:
        load_policy_file(path)
    assert "minimum_age.note" in str(e.value)
    assert e.value.line == _line_of(path, "minimum_age:")


def test_yaml_syntax_error_and_duplicate_key_report_their_line(tmp_path: Path) -> None:
    path, line = _break(tmp_path, "wuhan", "name: wuhan\n", "name: [wuhan\n")
    with pytest.raises(RuleFileError) as e:
        load_policy_file(path)
    assert str(path) in str(e.value) and e.value.line is not None and e.value.line >= line

    path, _ = _break(tmp_path, "wuhan", "minimum_age:\n", "minimum_age:\n  years: 16\n")
    with pytest.raises(RuleFileError) as e:
        load_policy_file(path)
    assert e.value.line == _line_of(path, "years: 16") + 1  # the second `years`
    assert "duplicate key" in str(e.value)


def test_shadowed_period_rule_is_rejected(tmp_path: Path) -> None:
    rule = "  - category: negative\n    years: 1\n"
    path, _ = _break(
        tmp_path, "nantong", rule, "  - category: negative\n    years: 2\n    starts: decided_on\n"
        "    article: \"Art. 30\"\n" + rule
    )
    with pytest.raises(RuleFileError) as e:
        load_policy_file(path)
    assert "never used" in str(e.value)
    assert e.value.line == _line_of(path, "years: 1$") - 1
    assert "disclosure_periods[3]" in str(e.value)


def test_shipped_policy_object_is_what_the_loader_returns(tmp_path: Path) -> None:
    copy = tmp_path / "huancui.yaml"
    copy.write_text((POLICY_DIR / "huancui.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_policy_file(copy) == load_policy("huancui")
    assert isinstance(load_policy_file(copy), Policy)

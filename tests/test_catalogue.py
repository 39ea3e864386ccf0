"""Measures catalogue: which record grounds what on whom, and broken files say where."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from schema.catalogue import (
    CATALOGUE_PATH,
    CONTRACT_CODES,
    Catalogue,
    load_catalogue,
)
from schema.errors import InvalidInput, RuleFileError
from schema.models import Category, ListKind, Severity
from schema.policy import PROFILE_NAMES, RecordFacts, load_policy

SEEDS = Path("/work/shared/seeds")
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
INCENTIVES = {"GREEN_CHANNEL", "FEWER_INSPECTIONS", "FUNDING_PRIORITY", "BIDDING_BONUS"}


def facts(
    category: Category = Category.NEGATIVE,
    severity: Severity | None = Severity.SERIOUS,
    list_kind: ListKind | None = None,
    kind: str = "penalty",
) -> RecordFacts:
    return RecordFacts(
        category=category,
        severity=severity,
        list=list_kind,
        subject_kind="entity",
        kind=kind,
        decided_on=dt.date(2024, 1, 10),
        act_ended_on=None,
        valid_until=None,
        subject_ended_on=None,
    )


def grounded(f: RecordFacts, policy: str | None = None) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"subject": set(), "responsible": set()}
    for target, measure in load_catalogue().groundings_for(f, policy=policy):
        out[target].add(measure.code)
    return out


# --- the shipped catalogue -----------------------------------------------------------------


def test_catalogue_defines_the_contract_codes_with_kinds() -> None:
    cat = load_catalogue()
    assert cat.codes == CONTRACT_CODES
    assert {c for c in cat.codes if cat.measure(c).kind == "incentive"} == INCENTIVES
    assert cat.order[0] == "KEY_SUPERVISION"
    assert len(cat.order) == len(set(cat.order))
    with pytest.raises(InvalidInput, match="NOPE"):
        cat.measure("NOPE")


def test_every_measure_has_a_basis_or_a_reason_in_every_profile() -> None:
    cat = load_catalogue()
    for code in cat.order:
        m = cat.measure(code)
        assert set(m.legal_basis) == set(PROFILE_NAMES), code
        for name in PROFILE_NAMES:
            text = m.basis_for(name)
            assert text.strip(), (code, name)
            if m.legal_basis[name] is None:
                assert "no article" in text and m.basis_notes[name] in text
            else:
                assert re.search(r"Art\. \d+", text), (code, name)
    assert cat.measure("NO_OFFICE").basis_for("wuhan") == "武汉 Art. 26(6)"
    assert cat.measure("FINANCIAL_RESTRICTION").basis_for("nantong") == "南通 Art. 26 para. 2"
    assert cat.measure("GREEN_CHANNEL").basis_for("wuhan") == "武汉 Art. 25(1)"
    assert "no legal basis recorded" in cat.measure("NO_OFFICE").basis_for("beijing")


def _zh_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_cited_articles_exist_in_each_regulation(name: str) -> None:
    seed = SEEDS / load_policy(name).regulation.seed_file
    if not seed.exists():
        pytest.skip(f"seed text {seed} not available")
    text = re.sub(r"\s+", "", seed.read_text(encoding="utf-8"))
    cat = load_catalogue()
    for code in cat.order:
        basis = cat.measure(code).legal_basis[name]
        for start, end in re.findall(r"Art\. (\d+)(?:-(\d+))?", basis or ""):
            for n in (int(start), int(end or start)):
                assert f"第{_zh_number(n)}条" in text, f"{code}/{name}: Art. {n} not in {seed.name}"


# --- groundings (CONTRACT.md section 4, rules 1 and 6) ---------------------------------------


def test_serious_record_grounds_organisation_measures_and_person_measures() -> None:
    got = grounded(facts(severity=Severity.SERIOUS))
    assert got == {"subject": ORG_MEASURES, "responsible": PERSON_MEASURES}


def test_black_list_grounds_the_serious_measures_even_if_marked_general() -> None:
    got = grounded(facts(severity=Severity.GENERAL, list_kind=ListKind.BLACK))
    assert got == {"subject": ORG_MEASURES, "responsible": PERSON_MEASURES}


@pytest.mark.parametrize("kind", ["industry_ban", "serious_dishonesty"])
def test_market_ban_only_for_serious_bans(kind: str) -> None:
    assert "MARKET_BAN" in grounded(facts(severity=Severity.SERIOUS, kind=kind))["subject"]
    black = facts(severity=None, list_kind=ListKind.BLACK, kind=kind)
    assert "MARKET_BAN" in grounded(black)["subject"]
    assert "MARKET_BAN" not in grounded(facts(severity=Severity.GENERAL, kind=kind))["subject"]
    assert "MARKET_BAN" not in grounded(facts(severity=Severity.SERIOUS))["subject"]


def test_general_record_grounds_key_supervision_on_its_subject_only() -> None:
    result = load_catalogue().groundings_for(facts(severity=Severity.GENERAL))
    assert [(t, m.code) for t, m in result] == [("subject", "KEY_SUPERVISION")]


def test_red_list_grounds_the_four_incentives_and_no_measure() -> None:
    red = facts(Category.POSITIVE, None, ListKind.RED, kind="commendation")
    got = load_catalogue().groundings_for(red)
    assert {m.code for _, m in got} == INCENTIVES
    assert {t for t, _ in got} == {"subject"}
    assert all(m.kind == "incentive" for _, m in got)


@pytest.mark.parametrize(
    "f",
    [
        facts(Category.POSITIVE, None, kind="commendation"),
        facts(Category.BASIC, None, kind="license"),
        facts(Category.OTHER, None, kind="commitment"),
    ],
)
def test_records_that_ground_nothing(f: RecordFacts) -> None:
    assert load_catalogue().groundings_for(f) == []


def test_groundings_are_deduplicated_in_catalogue_order() -> None:
    cat = load_catalogue()
    result = cat.groundings_for(facts(severity=Severity.SERIOUS, list_kind=ListKind.BLACK))
    pairs = [(t, m.code) for t, m in result]
    assert len(pairs) == len(set(pairs))
    positions = [cat.order.index(code) for _, code in pairs]
    assert positions == sorted(positions)


def test_a_profile_without_a_basis_drops_the_measure_when_asked() -> None:
    f = facts(severity=Severity.SERIOUS)
    assert "NO_OFFICE" not in grounded(f, policy="huancui")["responsible"]
    assert "NO_OFFICE" in grounded(f, policy="wuhan")["responsible"]


def test_default_catalogue_is_cached() -> None:
    assert load_catalogue() is load_catalogue()
    assert isinstance(load_catalogue(CATALOGUE_PATH), Catalogue)


# --- broken catalogues -----------------------------------------------------------------------


def _break(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    text = CATALOGUE_PATH.read_text(encoding="utf-8")
    assert old in text, old
    idx = text.index(old)
    path = tmp_path / "measures.yaml"
    path.write_text(text[:idx] + new + text[idx + len(old) :], encoding="utf-8")
    return path, text.count("\n", 0, idx) + 1


@pytest.mark.parametrize(
    ("old", "new", "offset", "reason"),
    [
        # an unknown code in a grounding: the line of that list
        ("    measures: [NO_OFFICE,", "    measures: [NO_OFICE,", 0,
         "unknown measure code NO_OFICE"),
        # a profile's basis that cites nothing
        ('      nantong: "南通 Art. 26 para. 2"\n', '      nantong: "see the rules"\n', 0,
         "cites no article"),
        # a null basis without a reason
        ('      wuhan: "武汉 Art. 26(6)"\n', "      wuhan: null\n", 0, "basis_notes.wuhan"),
        # a profile left out
        ('      yangjiang: "阳江 Art. 19 (表彰评优)"\n', "", -5, "no entry for yangjiang"),
        # a profile that does not exist
        ('      wuhan: "武汉 Art. 25(1)"\n', '      wuhan: "武汉 Art. 25(1)"\n      wuhn: "x"\n', 1,
         "unknown profile 'wuhn'"),
        # an incentive on a dishonesty record
        ("    measures: [KEY_SUPERVISION]\n", "    measures: [KEY_SUPERVISION, BIDDING_BONUS]\n",
         0, "BIDDING_BONUS is an incentive"),
        # a punitive measure on a red-list record
        ("    measures: [GREEN_CHANNEL,", "    measures: [MARKET_BAN, GREEN_CHANNEL,", 0,
         "cannot rest on a red-list record"),
        # a duplicate code
        ("  - code: BIDDING_BONUS\n", "  - code: FUNDING_PRIORITY\n", 0, "duplicate measure code"),
        # a wrong kind
        ("    kind: incentive\n", "    kind: reward\n", 0, "kind"),
        # a condition that matches everything
        ("      - {lists: [red]}\n", "      - {}\n", 0, "matches every record"),
        # a wrong target
        ("    target: responsible\n", "    target: managers\n", 0, "target"),
    ],
)
def test_broken_catalogue_reports_file_and_line(
    tmp_path: Path, old: str, new: str, offset: int, reason: str
) -> None:
    path, line = _break(tmp_path, old, new)
    with pytest.raises(RuleFileError) as e:
        load_catalogue(path)
    assert f"{path}:{line + offset}:" in str(e.value), str(e.value)
    assert e.value.line == line + offset
    assert reason in str(e.value)


def test_dropped_contract_code_is_reported(tmp_path: Path) -> None:
    text = CATALOGUE_PATH.read_text(encoding="utf-8")
    start = text.index("  - code: BIDDING_BONUS\n")
    end = text.index("\ngroundings:")
    path = tmp_path / "measures.yaml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(RuleFileError) as e:
        load_catalogue(path)
    assert "BIDDING_BONUS" in str(e.value)
    assert str(path) in str(e.value)

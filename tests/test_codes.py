"""Subject codes: real-format codes pass, every single typo is caught, messages say why."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from schema.codes import (
    USCC_ALPHABET,
    classify,
    kind_is_open,
    mask_code,
    mask_id_number,
    uscc_check_char,
    validate_person_id,
    validate_uscc,
)
from schema.errors import InvalidCode


def _with_check_uscc(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17 + "0")


def _with_check_id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


# Real-format codes: python-stdnum's published examples, and numbers built the way
# issuers build them (authority, type, division, organisation code; region, birth, order).
VALID_USCC = [
    "91110000600037341L",
    _with_check_uscc("91320602MA1MXXCQ3"),
    _with_check_uscc("12100000400000624"),
    _with_check_uscc("51320600MJ5602177"),
]
VALID_IDS = [
    "360426199101010071",
    _with_check_id("11010519491231002"),
    _with_check_id("32060219800101123"),
]


uscc_bodies = st.builds(
    lambda auth, typ, region, org: auth + typ + region + org,
    st.sampled_from("159"),
    st.sampled_from("123"),
    st.sampled_from(["320602", "320681", "420102", "410105", "441702"]),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)

id_bodies = st.builds(
    lambda region, birth, seq: region + birth.strftime("%Y%m%d") + f"{seq:03d}",
    st.sampled_from(["320602", "420102", "371002", "410105", "441702", "110105"]),
    st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2006, 12, 31)),
    st.integers(min_value=0, max_value=999),
)


@pytest.mark.parametrize("code", VALID_USCC)
def test_real_uscc_accepted(code: str) -> None:
    info = validate_uscc(code)
    assert info.code == code
    assert info.region_code == code[2:8]


@pytest.mark.parametrize("code", VALID_IDS)
def test_real_id_numbers_accepted(code: str) -> None:
    info = validate_person_id(code)
    assert info.birth_date == dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    assert info.sex == ("male" if int(code[16]) % 2 else "female")


def test_region_dated_after_birth_is_not_a_reason_to_reject() -> None:
    # 320612 (Tongzhou district) exists only since 2009; a person born in 1960 got this
    # number when re-registered. stdnum's full validate() rejects it; we must not.
    code = _with_check_id("32061219600101123")
    with pytest.raises(ValidationError):
        ric.validate(code)
    info = validate_person_id(code)
    assert info.birth_date == dt.date(1960, 1, 1)
    assert info.region_code == "320612"


@settings(max_examples=150)
@given(uscc_bodies)
def test_generated_uscc_valid_and_every_substitution_rejected(body: str) -> None:
    code = _with_check_uscc(body)
    assert validate_uscc(code).code == code
    for i, original in enumerate(code):
        for c in USCC_ALPHABET:
            if c == original:
                continue
            typo = code[:i] + c + code[i + 1 :]
            with pytest.raises(InvalidCode):
                validate_uscc(typo)


@settings(max_examples=150)
@given(uscc_bodies)
def test_uscc_adjacent_transpositions_rejected(body: str) -> None:
    code = _with_check_uscc(body)
    for i in range(len(code) - 1):
        if code[i] == code[i + 1]:
            continue
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        with pytest.raises(InvalidCode):
            validate_uscc(swapped)


@settings(max_examples=150)
@given(id_bodies)
def test_generated_id_valid_and_every_substitution_rejected(body: str) -> None:
    code = _with_check_id(body)
    assert validate_person_id(code).code == code
    for i, original in enumerate(code):
        for c in "0123456789X":
            if c == original or (c == "X" and i != 17):
                continue
            typo = code[:i] + c + code[i + 1 :]
            with pytest.raises(InvalidCode):
                validate_person_id(typo)


@settings(max_examples=150)
@given(id_bodies)
def test_id_adjacent_transpositions_rejected(body: str) -> None:
    code = _with_check_id(body)
    for i in range(len(code) - 1):
        if code[i] == code[i + 1]:
            continue
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        with pytest.raises(InvalidCode):
            validate_person_id(swapped)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("9111000060003734", "length 16"),
        ("91110000600037341I", "character 'I'"),
        ("H1110000600037341L", "registration authority"),
        ("91110000600037341M", "checksum"),
    ],
)
def test_uscc_errors_name_field_reason_and_value(value: str, reason: str) -> None:
    with pytest.raises(InvalidCode) as e:
        validate_uscc(value, field="entity")
    assert str(e.value).startswith("entity: ")
    assert reason in str(e.value)
    assert value in str(e.value)  # USCCs are public: shown in clear


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("36042619910101007", "length 17"),
        ("3604261991010100A1", "only the digits"),
        ("360426199101010072", "checksum"),
        (_with_check_id("36042619910230007"), "impossible birth date"),
        (_with_check_id("36042630000101007"), "impossible birth date"),
    ],
)
def test_id_errors_are_masked(value: str, reason: str) -> None:
    with pytest.raises(InvalidCode) as e:
        validate_person_id(value, field="holder")
    message = str(e.value)
    assert message.startswith("holder: ") and reason in message
    assert value not in message
    assert value[6:14] not in message  # the birth date never shows
    assert mask_id_number(value) in message


def test_classify_tells_kinds_apart() -> None:
    assert classify(VALID_USCC[0]).kind == "entity"
    assert classify(VALID_IDS[0]).kind == "person"
    with pytest.raises(InvalidCode):
        classify("hello")


@settings(max_examples=300)
@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_fast_uscc_check_char_is_stdnums(body: str) -> None:
    assert uscc_check_char(body) == uscc.calc_check_digit(body + "0")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A[1-6][0-9]{5}19[5-9][0-9](0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}\Z"))
def test_a_code_is_of_open_kind_exactly_when_it_passes_as_both(body: str) -> None:
    """The loader checks a subject's kind against the graph only for these codes, so
    none that could be both may be missed; and few others, since each costs a read."""
    code = _with_check_id(body)
    try:
        validate_uscc(code)
        also_uscc = True
    except InvalidCode:
        also_uscc = False
    assert kind_is_open(code) is also_uscc


def test_codes_whose_form_fixes_their_kind_are_not_open() -> None:
    entity_code = _with_check_uscc("91320602MA1N2P3Q4")
    assert not kind_is_open(entity_code)
    all_digit_uscc = _with_check_uscc("91320602000000001")  # not a date: never an ID
    assert not kind_is_open(all_digit_uscc)
    assert kind_is_open("ftm:NK-ab12")


def test_masking_keeps_an_ftm_id_as_it_is() -> None:
    """FtM ids are case-sensitive: a reason naming ``FTM:NK-AB12`` named nothing."""
    assert mask_code("ftm:NK-ab12") == "ftm:NK-ab12"
    code = _with_check_id("11010119820507722")
    assert mask_code(code) == mask_id_number(code)

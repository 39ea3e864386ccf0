"""relatedParties over HTTP: the companies an analyst finds behind a company's people,
owners and address, as of a date, and only what the caller may see (Wuhan Art. 19)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.related import HUB_CAP
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.codes import mask_code
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Callers, Client, make_key
from tests.builders import entity, person, person_code, role, uscc_code
from tests.live_server import serve_in_thread

A = uscc_code(901)  # the company asked about
SAME_REP = uscc_code(902)  # P is its legal representative too
SAME_ADDRESS = uscc_code(903)  # A's address, typed in full-width characters
NEAR_ADDRESS = uscc_code(904)  # a different number on the same road
PAST_REP = uscc_code(905)  # P was its legal representative until 2020
SAME_OWNER = uscc_code(906)  # HOLD owns part of it and of A; at A's address too
P_DIRECTS = uscc_code(907)  # P is one of its directors
HOLD = uscc_code(908)
P = person_code(911)
NOMINEE = person_code(912)  # a director of A who sits in hundreds of companies
NOMINEE_COMPANIES = [uscc_code(1000 + i) for i in range(HUB_CAP + 5)]

ADDRESS = "江苏省南通市崇川区工农路12号A座 1201室"
ADDRESS_WIDE = "江苏省南通市崇川区工农路１２号Ａ座　　1201室"

RELATED = """query($c: String!, $asOf: Date, $past: Boolean, $first: Int) {
  relatedParties(code: $c, asOf: $asOf, includePast: $past, first: $first) {
    code name kind truncated
    links { kind via viaName viaKind address truncated
            here { type since until shareRatio } there { type since until shareRatio } } } }"""



@pytest.fixture
def callers(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[Callers]:
    rows: list[dict[str, Any]] = [
        entity(A, "甲贸易有限公司", address=ADDRESS),
        entity(SAME_REP, "乙贸易有限公司", address="江苏省南通市港闸区永兴路8号"),
        entity(SAME_ADDRESS, "丙咨询有限公司", address=ADDRESS_WIDE),
        entity(NEAR_ADDRESS, "丁科技有限公司", address="江苏省南通市崇川区工农路123号A座 1201室"),
        entity(PAST_REP, "戊商贸有限公司"),
        entity(SAME_OWNER, "己实业有限公司", address=ADDRESS.replace(" ", "   ")),
        entity(P_DIRECTS, "庚投资有限公司"),
        entity(HOLD, "控股集团有限公司"),
        person(P, "赵六"),
        person(NOMINEE, "孙八"),
        role(A, P, "legal_representative", "2018-01-01"),
        role(SAME_REP, P, "legal_representative", "2019-01-01"),
        role(PAST_REP, P, "legal_representative", "2016-01-01", "2020-12-31"),
        role(P_DIRECTS, P, "director", "2021-05-01"),
        role(A, HOLD, "shareholder", "2018-01-01", share_ratio=0.4),
        role(SAME_OWNER, HOLD, "shareholder", "2017-03-01", share_ratio=0.55),
        role(A, NOMINEE, "director", "2018-01-01"),
    ]
    for i, code in enumerate(NOMINEE_COMPANIES):
        rows.append(entity(code, f"壳公司{i:03d}有限公司"))
        rows.append(role(code, NOMINEE, "supervisor", "2020-01-01"))
    load_files(store, [write_jsonl(rows)], policy=load_policy("wuhan"), provider="t",
               today=china_today())
    agency = make_key(store, "agency", "regulator", unit="market_regulation")
    operator = make_key(store, "operator", "ops")
    settings = load_settings(data_dir=tmp_path / "data", policy="wuhan")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield Callers.at(url, agency, operator)


def _related(client: Client, **variables: Any) -> dict[str, dict[str, Any]]:
    found = client.data(RELATED, {"c": A, **variables})["relatedParties"]
    return {p["code"]: p for p in found}


def _kinds(party: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(link["kind"], link["via"]) for link in party["links"]}


def test_a_company_sharing_the_legal_representative_is_found(callers: Callers) -> None:
    found = _related(callers.operator)
    assert _kinds(found[SAME_REP]) == {("LEGAL_REPRESENTATIVE", P)}
    link = found[SAME_REP]["links"][0]
    assert link["viaName"] == "赵六" and link["viaKind"] == "person"
    assert link["here"] == {"type": "LEGAL_REPRESENTATIVE_OF", "since": "2018-01-01",
                            "until": None, "shareRatio": None}
    assert link["there"]["since"] == "2019-01-01"
    # the same person as a director elsewhere is an executive link
    assert _kinds(found[P_DIRECTS]) == {("EXECUTIVE", P)}
    assert found[P_DIRECTS]["links"][0]["there"]["type"] == "DIRECTOR_OF"
    # a shared corporate shareholder, with both ratios
    owner = found[SAME_OWNER]["links"][0]  # links in kind order: SHAREHOLDER, ADDRESS
    assert (owner["kind"], owner["via"]) == ("SHAREHOLDER", HOLD)
    assert (owner["here"]["shareRatio"], owner["there"]["shareRatio"]) == (0.4, 0.55)


def test_an_address_typed_in_full_width_characters_is_the_same_address(
    callers: Callers,
) -> None:
    found = _related(callers.operator)
    assert _kinds(found[SAME_ADDRESS]) == {("ADDRESS", None)}
    assert found[SAME_ADDRESS]["links"][0]["address"] == "江苏省南通市崇川区工农路12号A座 1201室"
    assert NEAR_ADDRESS not in found


def test_a_role_that_ended_before_as_of_does_not_count(callers: Callers) -> None:
    assert PAST_REP not in _related(callers.operator)  # today
    assert PAST_REP not in _related(callers.operator, asOf="2021-01-01")
    then = _related(callers.operator, asOf="2020-06-30")
    assert _kinds(then[PAST_REP]) == {("LEGAL_REPRESENTATIVE", P)}
    assert P_DIRECTS not in then  # P became its director in 2021
    ever = _related(callers.operator, past=True)
    assert ever[PAST_REP]["links"][0]["there"]["until"] == "2020-12-31"


def test_the_public_never_learns_of_the_person_under_wuhan(callers: Callers) -> None:
    r = callers.public.post(RELATED, {"c": A})
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    found = {p["code"]: p for p in r.json()["data"]["relatedParties"]}
    # only what does not run through a natural person
    assert set(found) == {SAME_ADDRESS, SAME_OWNER}
    for text in (P, mask_code(P), "赵六", NOMINEE, mask_code(NOMINEE), "孙八"):
        assert text not in r.text
    # an agency sees the person, with the ID number masked
    agency = callers.agency.post(RELATED, {"c": A})
    seen = {p["code"]: p for p in agency.json()["data"]["relatedParties"]}
    assert _kinds(seen[SAME_REP]) == {("LEGAL_REPRESENTATIVE", mask_code(P))}
    assert P not in agency.text
    assert callers.public.error_code(RELATED, {"c": P}) == "FORBIDDEN"


def test_a_hub_person_is_followed_to_a_bounded_number_of_companies(callers: Callers) -> None:
    brief = """query($c: String!) { relatedParties(code: $c, first: 300) {
      code truncated links { kind via } } }"""
    listed = callers.operator.data(brief, {"c": A})["relatedParties"]
    found = {p["code"]: p for p in listed}
    through_hub = [p for p in found.values() if ("EXECUTIVE", NOMINEE) in _kinds(p)]
    assert len(through_hub) == HUB_CAP
    assert all(p["truncated"] for p in through_hub)
    assert not found[SAME_REP]["truncated"]
    # most links first: owner and address shared
    assert listed[0]["code"] == SAME_OWNER
    assert _kinds(listed[0]) == {("SHAREHOLDER", HOLD), ("ADDRESS", None)}


def test_bad_arguments_are_refused(callers: Callers) -> None:
    op = callers.operator
    both = {"c": A, "asOf": "2020-01-01", "past": True}
    assert op.error_code(RELATED, both) == "INVALID_INPUT"
    assert op.error_code(RELATED, {"c": A, "first": 501}) == "LIMIT_EXCEEDED"
    assert op.error_code(RELATED, {"c": P}) == "INVALID_INPUT"  # a person, not a company
    assert op.error_code(RELATED, {"c": uscc_code(999)}) == "NOT_FOUND"

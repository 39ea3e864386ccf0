"""checkSanctions over real HTTP through the real app, on the real engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.policy import load_policy
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

CO, CO2 = uscc_code(31), uscc_code(32)
REP = person_code(41)

QUERY = """
query Check($code: String!, $asOf: Date, $measure: String) {
  checkSanctions(code: $code, asOf: $asOf, measure: $measure) {
    checkId code asOf policy restricted subjectKind subjectName
    measures { measure name basisRecordId via role validFrom validUntil legalBasis }
    incentives { measure }
    conflicts { personCode entityCode role since basisRecordIds }
  }
}
"""


@pytest.fixture
def base_url(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[str]:
    rows = [
        entity(CO, "南通宏达建设工程有限公司"),
        entity(CO2, "南通顺达商贸有限公司"),
        person(REP, "周建国"),
        role(CO, REP, "legal_representative", "2016-04-01", "2025-08-31"),
        role(CO2, REP, "legal_representative", "2020-01-01"),
        record("R1", CO, "2025-06-20", act_ended_on="2025-03-31", severity="serious", list="black"),
    ]
    load_files(
        store,
        [write_jsonl(rows)],
        policy=load_policy("nantong"),
        provider="t",
        today=dt.date(2026, 11, 21),
    )
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    AGENCY[0] = make_key(store, "agency", "procurement")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield url


#: An agency key (joint-sanction systems are agencies); made per test in ``base_url``.
AGENCY: list[str] = [""]


def post(url: str, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    return Client(url, AGENCY[0], purpose="bidding eligibility").post(query, variables)


def post_public(url: str, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
    )


def test_check_answers_with_the_contract_fields(base_url: str) -> None:
    r = post(base_url, QUERY, {"code": REP, "asOf": "2026-01-15"})
    assert r.status_code == 200
    body = r.json()
    assert "errors" not in body, body
    c = body["data"]["checkSanctions"]
    assert c["restricted"] is True and c["policy"] == "nantong" and c["asOf"] == "2026-01-15"
    assert {m["measure"] for m in c["measures"]} == {
        "NO_OFFICE",
        "NO_HONOURS",
        "FINANCIAL_RESTRICTION",
    }
    m = c["measures"][0]
    assert m["via"] == [REP, CO] and m["role"] == "legal_representative"
    assert m["basisRecordId"] == "t:R1" and m["validFrom"] == "2025-06-20"
    assert m["validUntil"] == "2028-06-20" and m["legalBasis"]
    assert [(x["entityCode"], x["role"]) for x in c["conflicts"]] == [(CO2, "legal_representative")]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"code": CO[:-1] + ("0" if CO[-1] != "0" else "1")}, "INVALID_CODE"),
        ({"code": uscc_code(777)}, "NOT_FOUND"),
        ({"code": CO, "measure": "NOPE"}, "INVALID_INPUT"),
    ],
)
def test_bad_requests_get_coded_graphql_errors(
    base_url: str, variables: dict[str, Any], code: str
) -> None:
    r = post(base_url, QUERY, variables)
    assert r.status_code == 200
    errors = r.json()["errors"]
    assert errors[0]["extensions"]["code"] == code
    assert "Traceback" not in r.text


def test_malformed_documents_never_500(base_url: str) -> None:
    for doc in ["{ checkSanctions(code: ", "{ nope }", "query { checkSanctions { restricted } }"]:
        r = post(base_url, doc)
        assert r.status_code in (200, 400), r.text
        assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_id_numbers_in_invalid_code_errors_are_masked(base_url: str) -> None:
    bad = REP[:-1] + ("0" if REP[-1] != "0" else "1")
    r = post(base_url, QUERY, {"code": bad})
    assert r.json()["errors"][0]["extensions"]["code"] == "INVALID_CODE"
    assert bad not in r.text


def test_healthz_reports_the_engine(base_url: str) -> None:
    r = httpx.get(f"{base_url}/healthz", timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_other_persons_id_numbers_are_masked_for_an_agency(base_url: str) -> None:
    # Checking the company that REP still leads shows the conflict, not REP's ID number.
    r = post(base_url, QUERY, {"code": CO2, "asOf": "2026-01-15"})
    conflict = r.json()["data"]["checkSanctions"]["conflicts"][0]
    assert REP not in r.text
    assert conflict["personCode"] == REP[:3] + "*" * 11 + REP[-4:]


def test_the_public_sees_persons_masked_where_the_policy_makes_them_public(
    base_url: str,
) -> None:
    # Nantong Art. 19: the catalogue may make persons' records public; numbers stay masked.
    r = post_public(base_url, QUERY, {"code": CO2, "asOf": "2026-01-15"})
    conflict = r.json()["data"]["checkSanctions"]["conflicts"][0]
    assert conflict["personCode"] == REP[:3] + "*" * 11 + REP[-4:]
    assert REP not in r.text


def test_a_measure_is_listed_once_per_record_whatever_the_grounds(
    base_url: str, store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    """REP leads CO2 as legal representative and as principal, and CO2's record also names
    REP as responsible; REP's own record names REP too. Each record grounds each measure
    once, explained by the strongest ground: the subject's own record needs no role, then
    legal representative, principal and named, in the order of rule 2 (Nantong Art. 29)."""
    rows = [
        role(CO2, REP, "principal", "2020-01-01"),
        record("R2", CO2, "2025-09-01", severity="serious", responsible=[REP]),
        record("R3", REP, "2025-10-01", kind="enforcement", severity="serious",
               responsible=[REP]),
    ]
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"),
                         provider="t", today=dt.date(2026, 11, 21))
    assert summary.rejected_total == 0
    r = post(base_url, QUERY, {"code": REP, "asOf": "2026-01-15"})
    measures = r.json()["data"]["checkSanctions"]["measures"]
    pairs = [(m["measure"], m["basisRecordId"]) for m in measures]
    assert len(pairs) == len(set(pairs)), pairs
    person_measures = {"NO_OFFICE", "NO_HONOURS", "FINANCIAL_RESTRICTION"}
    on_r2 = {m["measure"]: (m["role"], m["via"]) for m in measures
             if m["basisRecordId"] == "t:R2"}
    assert on_r2 == dict.fromkeys(person_measures, ("legal_representative", [REP, CO2]))
    on_r3 = {m["measure"]: (m["role"], m["via"]) for m in measures
             if m["basisRecordId"] == "t:R3"}
    assert person_measures <= set(on_r3)
    assert all(ground == (None, [REP]) for ground in on_r3.values()), on_r3

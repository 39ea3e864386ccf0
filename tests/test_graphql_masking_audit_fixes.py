"""ID numbers masked wherever an answer can carry one, and audit entries that name every
subject a request asked about or read, over real HTTP on the real engine.

- an ``ftm:`` id carrying an ID number was shown in clear in ``Subject.code`` and in
  ``searchSubjects``;
- the free-text notes of a measure application were shown in clear to other keys;
- a subject reading its audit log saw the other subjects of the same request;
- ``controlChain``, ``paths`` and ``exportGraph`` did not name the subjects asked about,
  and subjects read through nested fields (``people { holder { companies } }``) were not
  named at all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.settings import Settings, load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.codes import mask_code
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

TODAY = china_today()
RECENT = (TODAY - dt.timedelta(days=60)).isoformat()

CO = uscc_code(901)  # P1 its legal representative, P2 a director
CO2 = uscc_code(902)  # unrelated to CO
CO3 = uscc_code(903)  # P1 a director here too
P1 = person_code(904)  # a black-list record of its own
P2 = person_code(905)
FTM_ID = "ftm:cn-ric-320602197001011230"
FTM_SHOWN = "ftm:cn-ric-320***********1230"
FTM_NAME = "王某某"

PROFILE = "query($c: String!) { subject(code: $c) { code records { subjectCode } } }"
SEARCH = "query($t: String!) { searchSubjects(text: $t) { code } }"
CHECK = "query($c: String!) { checkSanctions(code: $c) { checkId measures { measure } } }"
REPORT = """
mutation($checkId: String!, $code: String!, $measure: String!, $note: String) {
  reportMeasureApplied(checkId: $checkId, code: $code, measure: $measure, applied: true,
                       note: $note) { id code note trail { note } }
}
"""
PENDING = """
{ pendingReversals { application { id code note reversalNote trail { by note } } } }
"""
REVERSE = """
mutation($id: String!, $note: String) {
  reportMeasureReversed(applicationId: $id, note: $note) {
    code note reversalNote trail { by action note }
  }
}
"""
AUDIT = "query($c: String) { auditLog(subjectCode: $c) { fields subjects purpose } }"


@dataclass
class World:
    store: GraphStore
    settings: Settings
    url: str
    clients: dict[str, Client]
    write_jsonl: Callable[[list[dict[str, Any]]], Path]

    def __getitem__(self, name: str) -> Client:
        return self.clients[name]

    def audit(self, name: str, code: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self[name].data(AUDIT, {"c": code})["auditLog"]
        return out

    def touched_by(self, fields: str, name: str, code: str | None = None) -> list[list[str]]:
        """The ``subjects`` of the entries ``name`` reads about ``code`` that ran ``fields``."""
        return [e["subjects"] for e in self.audit(name, code) if e["fields"] == [fields]]


@pytest.fixture
def world(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[World]:
    rows = [
        entity(CO, "南通审计修复测试有限公司"),
        entity(CO2, "南通无关贸易有限公司"),
        entity(CO3, "南通另一家有限公司"),
        person(P1, "周建国"),
        person(P2, "钱其琛"),
        role(CO, P1, "legal_representative", "2016-04-01"),
        role(CO, P2, "director", "2018-01-01"),
        role(CO3, P1, "director", "2019-01-01"),
        record("BLK_P1", P1, RECENT, severity="serious", list="black", disclosure="public"),
    ]
    policy = load_policy("nantong")
    summary = load_files(store, [write_jsonl(rows)], policy=policy, provider="t", today=TODAY)
    assert summary.rejected_total == 0, summary.as_dict()
    ftm = tmp_path / "f.ftm.json"
    ftm.write_text(json.dumps({
        "id": FTM_ID.removeprefix("ftm:"), "schema": "LegalEntity",
        "properties": {"name": [FTM_NAME]},
    }, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = load_files(store, [ftm], policy=policy, provider="os", fmt="ftm", today=TODAY)
    assert summary.rejected_total == 0, summary.as_dict()
    # A record on the FtM subject, so that records.subjectCode shows how it is masked.
    summary = load_files(
        store, [write_jsonl([record("FTM_R", FTM_ID, RECENT, disclosure="public")])],
        policy=policy, provider="t", today=TODAY,
    )
    assert summary.rejected_total == 0, summary.as_dict()
    keys = {
        "operator": make_key(store, "operator", "ops"),
        "agency_a": make_key(store, "agency", "procurement-platform", unit="finance"),
        "agency_b": make_key(store, "agency", "funds-platform", unit="finance"),
        "p1": make_key(store, "subject", "p1-self", subject=P1),
        "p2": make_key(store, "subject", "p2-self", subject=P2),
        "co": make_key(store, "subject", "co-self", subject=CO),
        "co2": make_key(store, "subject", "co2-self", subject=CO2),
    }
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        clients = {name: Client(url, key, purpose="测试: 联合惩戒核查")
                   for name, key in keys.items()}
        clients["public"] = Client(url, None, purpose=None)
        yield World(store, settings, url, clients, write_jsonl)


# --------------------------------------------------------------------------- 1. ftm ids


def test_an_ftm_id_carrying_an_id_number_is_masked_in_subject_and_search(
    world: World, tmp_path: Path
) -> None:
    for caller in ("public", "agency_a", "co"):
        subject = world[caller].data(PROFILE, {"c": FTM_ID})["subject"]
        assert subject == {"code": FTM_SHOWN, "records": [{"subjectCode": FTM_SHOWN}]}, caller
        found = [s["code"] for s in world[caller].data(SEARCH, {"t": FTM_NAME})["searchSubjects"]]
        assert found == [FTM_SHOWN], caller
    # Operators see ID numbers in clear, the FtM id as it is spelt.
    assert world["operator"].data(PROFILE, {"c": FTM_ID})["subject"]["code"] == FTM_ID
    operator_found = world["operator"].data(SEARCH, {"t": FTM_NAME})["searchSubjects"]
    assert [s["code"] for s in operator_found] == [FTM_ID]

    # Wuhan: the public may not see persons; this FtM id is an organisation's.
    wuhan = load_settings(data_dir=tmp_path / "wuhan", policy="wuhan")
    with serve_in_thread(create_app(wuhan, store=world.store)) as url:
        public = Client(url, None, purpose=None)
        assert public.data(PROFILE, {"c": FTM_ID})["subject"]["code"] == FTM_SHOWN
        found = [s["code"] for s in public.data(SEARCH, {"t": FTM_NAME})["searchSubjects"]]
        assert found == [FTM_SHOWN]


# --------------------------------------------------------------------------- 2. notes


def _report_on_p1(world: World, note: str) -> str:
    check = world["agency_a"].data(CHECK, {"c": P1})["checkSanctions"]
    measure = check["measures"][0]["measure"]
    app = world["agency_a"].data(REPORT, {
        "checkId": check["checkId"], "code": P1, "measure": measure, "note": note,
    })["reportMeasureApplied"]
    return str(app["id"])


def _withdraw(world: World, rid: str) -> None:
    row = {"type": "record", "id": rid, "action": "withdraw"}
    summary = load_files(world.store, [world.write_jsonl([row])],
                         policy=load_policy("nantong"), provider="t", today=TODAY)
    assert summary.rejected_total == 0


def test_measure_application_notes_are_masked_for_other_keys(world: World) -> None:
    app_id = _report_on_p1(world, f"loan for {P1}")
    _withdraw(world, "BLK_P1")

    r = world["agency_b"].post(PENDING)
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    assert P1 not in r.text
    [pending] = r.json()["data"]["pendingReversals"]
    shown = mask_code(P1)
    assert pending["application"]["code"] == shown
    assert pending["application"]["note"] == f"loan for {shown}"
    assert [t["note"] for t in pending["application"]["trail"]] == [f"loan for {shown}"]

    # The key that wrote the note reads it as written; so do operators.
    [own] = world["agency_a"].data(PENDING)["pendingReversals"]
    assert own["application"]["note"] == f"loan for {P1}"
    [ops] = world["operator"].data(PENDING)["pendingReversals"]
    assert ops["application"]["note"] == f"loan for {P1}"

    # An operator reverses it with a note naming another person; the reporting key,
    # which did not write that note, reads it masked.
    done = world["operator"].data(REVERSE, {"id": app_id, "note": f"撤销 {P2} 核实"})
    assert done["reportMeasureReversed"]["reversalNote"] == f"撤销 {P2} 核实"
    again = world["agency_a"].data(REVERSE, {"id": app_id, "note": None})
    app = again["reportMeasureReversed"]
    assert app["reversalNote"] == f"撤销 {mask_code(P2)} 核实"
    assert [t["note"] for t in app["trail"]] == [f"loan for {P1}", f"撤销 {mask_code(P2)} 核实"]


# --------------------------------------------------------------------------- 3. own log


def test_a_subject_sees_only_itself_among_the_subjects_of_its_audit_entries(
    world: World,
) -> None:
    purpose = f"批量核查 供应商 91320612MA1X2RFQ1L 法人ID{P2}"
    batch = Client(world.url, world["agency_a"].key, purpose=purpose)
    batch.data("query($c: [String!]!) { checkSanctionsBatch(codes: $c) { code } }",
               {"c": [P1, CO, P2]})
    [mine] = [e for e in world.audit("p1") if e["fields"] == ["query.checkSanctionsBatch"]]
    assert mine["subjects"] == [mask_code(P1)]
    # Who, when and why: the purpose stays, with any ID number in it masked.
    assert mine["purpose"] == f"批量核查 供应商 91320612MA1X2RFQ1L 法人ID{mask_code(P2)}"
    # Operators still read every subject of the entry.
    [full] = world.touched_by("query.checkSanctionsBatch", "operator", P1)
    assert full == [mask_code(P1), CO, mask_code(P2)]


# --------------------------------------------------------------------------- 4. touches


def test_the_subjects_asked_about_are_in_their_own_audit_log_when_nothing_is_found(
    world: World,
) -> None:
    agency = world["agency_a"]
    assert agency.data("query($c: String!) { controlChain(code: $c) { code } }",
                       {"c": CO2})["controlChain"] == []
    assert agency.data("query($a: String!, $b: String!) { paths(fromCode: $a, toCode: $b) "
                       "{ length } }", {"a": CO, "b": CO2})["paths"] == []
    export = agency.data(
        "query($a: String!, $b: String!) { exportGraph(source: {pathFrom: $a, pathTo: $b}, "
        "format: JSON) { filename } }", {"a": CO, "b": CO2},
    )
    assert export["exportGraph"]
    assert world.touched_by("query.controlChain", "co2") == [[CO2]]
    for name, code in (("co", CO), ("co2", CO2)):
        assert world.touched_by("query.paths", name) == [[code]]
        assert world.touched_by("query.exportGraph", name) == [[code]]
    assert world.touched_by("query.paths", "operator", CO) == [[CO, CO2]]


def test_subjects_read_through_nested_fields_are_touched(world: World) -> None:
    nested = """query($c: String!) { subject(code: $c) { ... on Entity { people {
      holderCode holderName holder { code name ... on Person { companies { entityCode } } }
    } } } }"""
    people = world["agency_a"].data(nested, {"c": CO})["subject"]["people"]
    assert {p["holderName"] for p in people} == {"周建国", "钱其琛"}
    # Each person whose name and companies were read sees the lookup.
    for name, code in (("p1", P1), ("p2", P2)):
        assert world.touched_by("query.subject", name) == [[mask_code(code)]]
    # CO3 was read as P1's company; CO2 was not read at all.
    [subjects] = world.touched_by("query.subject", "operator", CO)
    assert set(subjects) == {CO, mask_code(P1), mask_code(P2), CO3}
    assert world.touched_by("query.subject", "co2") == []


def test_persons_named_responsible_on_a_record_read_are_touched(world: World) -> None:
    summary = load_files(
        world.store,
        [world.write_jsonl([record("CO_R", CO, RECENT, disclosure="public", responsible=[P2])])],
        policy=load_policy("nantong"), provider="t", today=TODAY,
    )
    assert summary.rejected_total == 0, summary.as_dict()
    q = "query($c: String!) { subject(code: $c) { records { responsible } } }"
    records = world["agency_a"].data(q, {"c": CO})["subject"]["records"]
    assert records == [{"responsible": [mask_code(P2)]}]
    assert world.touched_by("query.subject", "p2") == [[mask_code(P2)]]
    assert world.touched_by("query.subject", "p1") == []


def test_an_ftm_company_carrying_an_id_number_is_masked_in_its_control_chain(
    store: GraphStore, tmp_path: Path
) -> None:
    """controlChain's steps name the companies held: an ``ftm:`` one is masked too."""
    owner = "ftm:co-owner-1"
    lines = [
        {"id": FTM_ID.removeprefix("ftm:"), "schema": "Company",
         "properties": {"name": [FTM_NAME]}},
        {"id": owner.removeprefix("ftm:"), "schema": "Company",
         "properties": {"name": ["离岸控股有限公司"]}},
        {"id": "own-1", "schema": "Ownership",
         "properties": {"owner": [owner.removeprefix("ftm:")],
                        "asset": [FTM_ID.removeprefix("ftm:")], "percentage": ["60"]}},
    ]
    ftm = tmp_path / "chain.ftm.json"
    ftm.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", "utf-8")
    summary = load_files(store, [ftm], policy=load_policy("nantong"), provider="os",
                         fmt="ftm", today=TODAY)
    assert summary.rejected_total == 0, summary.as_dict()
    query = ("query($c: String!) { controlChain(code: $c) { code chains "
             "{ holderCode entityCode } } }")
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        agency = Client(url, make_key(store, "agency", "chain-agency", unit="finance"),
                        purpose="测试")
        [chain] = agency.data(query, {"c": FTM_ID})["controlChain"]
        steps = [s for c in chain["chains"] for s in c]
        assert chain["code"] == owner and steps
        assert {s["entityCode"] for s in steps} == {FTM_SHOWN}
        assert FTM_ID not in json.dumps(chain)

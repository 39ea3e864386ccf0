"""The record procedures over real HTTP, with real keys, on the real engine (Nantong).

An objection goes from the subject to the platform, the provider and back; the caller's
view of the record (its mark, its status on a date, its history) follows each step, and
every refusal comes back as a GraphQL error with its code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

CO = uscc_code(901)
REP = person_code(902)
TODAY = china_today()
DECIDED = (TODAY - dt.timedelta(days=200)).isoformat()
FILED = TODAY - dt.timedelta(days=40)

RECORD = """
query($id: String!, $asOf: Date) {
  record(recordId: $id, asOf: $asOf) {
    uid severity list status marked objectionPending asOf
    objections { id status steps { name dueOn doneOn overdue } }
  }
}
"""
HISTORY = """
query($id: String!) {
  record(recordId: $id) {
    history { events { kind actor on reason toStatus } versions { version severity list } }
  }
}
"""
CHECK = """
query($code: String!) { checkSanctions(code: $code) { restricted measures { measure } } }
"""
FILE = """
mutation($id: String!, $on: Date) {
  fileObjection(recordId: $id, reason: "该处罚已被撤销", on: $on) {
    id status filedOn steps { name workingDays dueOn calendarApproximate }
  }
}
"""


@pytest.fixture
def clients(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[dict[str, Client]]:
    rows = [
        entity(CO, "南通宏达建设工程有限公司"),
        person(REP, "周建国"),
        role(CO, REP, "legal_representative", "2016-04-01"),
        record("R1", CO, DECIDED, severity="serious", list="black"),
        record("C1", CO, DECIDED, category="positive", kind="commendation"),
    ]
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"),
                         provider="court", today=TODAY - dt.timedelta(days=100))
    assert summary.rejected_total == 0
    keys = {
        "operator": make_key(store, "operator", "ops"),
        "court": make_key(store, "provider", "court-feed", unit="court"),
        "other": make_key(store, "provider", "other-feed", unit="tax"),
        "co": make_key(store, "subject", "co-self", subject=CO),
        "agency": make_key(store, "agency", "bank", unit="bank"),
    }
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        out = {name: Client(url, key) for name, key in keys.items()}
        out["public"] = Client(url, None, purpose=None)
        yield out


def test_objection_from_filing_to_correction(clients: dict[str, Client]) -> None:
    filed = clients["co"].data(FILE, {"id": "court:R1", "on": FILED.isoformat()})["fileObjection"]
    oid = filed["id"]
    assert filed["status"] == "pending" and filed["filedOn"] == FILED.isoformat()
    first = filed["steps"][0]
    assert first["name"] == "first_step" and first["workingDays"] == 10  # Nantong Art. 32

    # Everyone sees the mark (Nantong Art. 32: marked, still disclosed and applied); only
    # the subject, the provider and operators see the objection itself.
    public = clients["public"].data(RECORD, {"id": "court:R1"})["record"]
    assert public["marked"] and public["status"] == "in_force" and public["objections"] == []
    own = clients["co"].data(RECORD, {"id": "court:R1"})["record"]
    assert [o["id"] for o in own["objections"]] == [oid]
    assert clients["public"].data(CHECK, {"code": CO})["checkSanctions"]["restricted"]

    # Only the platform forwards; only the record's provider answers.
    fwd = "mutation($o: String!, $on: Date) { forwardObjection(objectionId: $o, on: $on) " \
          "{ providerDue } }"
    assert clients["co"].error_code(fwd, {"o": oid}) == "FORBIDDEN"
    due = clients["operator"].data(
        fwd, {"o": oid, "on": (FILED + dt.timedelta(days=3)).isoformat()}
    )["forwardObjection"]["providerDue"]
    assert due is not None
    reply = "mutation($o: String!) { replyToObjection(objectionId: $o, verdict: WRONG, " \
            "note: \"确有错误\") { repliedOn verdict } }"
    assert clients["other"].error_code(reply, {"o": oid}) == "FORBIDDEN"
    assert clients["court"].data(reply, {"o": oid})["replyToObjection"]["verdict"] == "WRONG"

    resolved = clients["operator"].data(
        """mutation($o: String!) {
             resolveObjection(objectionId: $o, outcome: CORRECTED, note: "改为一般失信",
                              correction: {severity: "general", clearList: true}) {
               status outcome effect } }""",
        {"o": oid},
    )["resolveObjection"]
    assert resolved["status"] == "resolved" and resolved["outcome"] == "CORRECTED"
    assert "severity" in resolved["effect"]

    now = clients["co"].data(RECORD, {"id": "court:R1"})["record"]
    assert now["severity"] == "general" and now["list"] is None and not now["marked"]
    before = clients["co"].data(
        RECORD, {"id": "court:R1", "asOf": (TODAY - dt.timedelta(days=1)).isoformat()}
    )["record"]
    assert before["severity"] == "serious" and before["list"] == "black" and before["marked"]
    measures = clients["public"].data(CHECK, {"code": CO})["checkSanctions"]["measures"]
    assert {m["measure"] for m in measures} == {"KEY_SUPERVISION"}  # general: Rule 6

    history = clients["co"].data(HISTORY, {"id": "court:R1"})["record"]["history"]
    kinds = [e["kind"] for e in history["events"]]
    assert kinds[:2] == ["objection_filed", "objection_forwarded"]
    assert {"objection_replied", "corrected", "objection_resolved"} <= set(kinds)
    assert [(v["version"], v["severity"], v["list"]) for v in history["versions"]] == [
        (1, "serious", "black")
    ]
    assert clients["public"].error_code(HISTORY, {"id": "court:R1"}) == "FORBIDDEN"


def test_overdue_objections_are_for_operators(clients: dict[str, Client]) -> None:
    long_ago = TODAY - dt.timedelta(days=60)
    oid = clients["co"].data(FILE, {"id": "court:R1", "on": long_ago.isoformat()})[
        "fileObjection"]["id"]
    q = "query { overdueObjections { id overdue steps { name overdue } } }"
    [late] = clients["operator"].data(q)["overdueObjections"]
    assert late["id"] == oid and late["overdue"]
    assert [s["name"] for s in late["steps"] if s["overdue"]] == ["first_step"]
    assert clients["agency"].error_code(q) == "FORBIDDEN"


def test_refusals_carry_codes(clients: dict[str, Client]) -> None:
    assert clients["public"].error_code(FILE, {"id": "court:R1"}) == "FORBIDDEN"
    assert clients["co"].error_code(FILE, {"id": "court:NOPE"}) == "NOT_FOUND"
    future = (TODAY + dt.timedelta(days=3)).isoformat()
    assert clients["co"].error_code(FILE, {"id": "court:R1", "on": future}) == "INVALID_INPUT"
    repair = """mutation($c: Date) { requestRepair(recordId: "court:R1", reason: "已整改",
                 correctedOn: $c, commitment: true) { id } }"""
    corrected = (TODAY - dt.timedelta(days=30)).isoformat()
    assert clients["co"].error_code(repair, {"c": corrected}) == "PROCEDURE_NOT_AVAILABLE"
    delete = 'mutation { deletePositiveRecord(recordId: "court:C1") { effectiveOn } }'
    assert clients["co"].error_code(delete) == "PROCEDURE_NOT_AVAILABLE"  # not in Nantong
    revoke = 'mutation { revokeRecord(recordId: "court:R1", reason: "复议撤销") ' \
             '{ effectiveOn dueOn } }'
    assert clients["co"].error_code(revoke) == "FORBIDDEN"
    done = clients["court"].data(revoke)["revokeRecord"]
    assert done["effectiveOn"] == TODAY.isoformat()
    assert not clients["public"].data(CHECK, {"code": CO})["checkSanctions"]["restricted"]
    # Revoked, the record is hidden from everyone but operators, and cannot be probed.
    assert clients["public"].error_code(RECORD, {"id": "court:R1"}) == "NOT_FOUND"
    assert clients["operator"].data(RECORD, {"id": "court:R1"})["record"]["status"] == "revoked"


def test_id_numbers_typed_into_a_reason_are_masked_for_the_provider(
    clients: dict[str, Client],
) -> None:
    """The reason is free text: an ID number in it must not reach a provider in clear
    when the objection's subjectCode next to it is masked. Operators see it as typed."""
    file = """mutation($id: String!, $reason: String!) {
      fileObjection(recordId: $id, reason: $reason) { id } }"""
    reason = f"法定代表人{REP}已变更"
    clients["co"].data(file, {"id": "court:R1", "reason": reason})
    query = """query($id: String!) { record(recordId: $id) {
      objections { reason } history { events { kind reason } } } }"""

    def shown(client: str) -> list[str]:
        rec = clients[client].data(query, {"id": "court:R1"})["record"]
        return [o["reason"] for o in rec["objections"]] + [
            e["reason"] for e in rec["history"]["events"] if e["kind"] == "objection_filed"
        ]

    for text in shown("court"):
        assert REP not in text and REP[-4:] in text and "法定代表人" in text
    assert shown("operator") == [reason, reason]


def test_id_numbers_typed_into_a_repair_reason_are_masked_for_the_provider(
    store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    """As for an objection's reason: a repair's reason and note are free text, shown
    next to a masked subjectCode; an ID number typed into them was shown in clear."""
    from api import repairs as rep
    from api.graphql_life import RepairType
    from api.record_procedures import Actor
    from schema.access import AccessRules, Caller, CallerRole, load_limited_sharing

    rows = [entity(CO), person(REP), record("R1", CO, DECIDED, severity="serious")]
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("huancui"),
                         provider="court", today=TODAY - dt.timedelta(days=100))
    assert summary.rejected_total == 0
    operator = Caller(CallerRole.OPERATOR, key_name="ops")
    rules = AccessRules(load_policy("huancui"), load_limited_sharing())
    reason = f"法定代表人{REP}已整改"
    view = rep.request_repair(store, rules, Actor(operator, TODAY), record_uid="court:R1",
                              reason=reason, on=TODAY - dt.timedelta(days=5))
    provider = Caller(CallerRole.PROVIDER, key_name="court-feed", unit="court")
    shown = RepairType.of(view, provider).reason
    assert REP not in shown and REP[-4:] in shown and "法定代表人" in shown
    assert RepairType.of(view, operator).reason == reason

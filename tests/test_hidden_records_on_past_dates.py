"""A past date is answered as it stood then (issue 5: the past is not rewritten), except
for a record deleted since, after an objection found it wrong: that one is seen by
operators only, whatever the date asked. Over real HTTP through the real app on the real
engine."""

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
from tests.builders import entity, record, uscc_code
from tests.live_server import serve_in_thread

CO = uscc_code(951)
TODAY = china_today()
#: Nantong: a general record is disclosed for 1 year from its decision
OLD = (TODAY - dt.timedelta(days=500)).isoformat()
PAST = (TODAY - dt.timedelta(days=450)).isoformat()
RECENT = (TODAY - dt.timedelta(days=60)).isoformat()
WEEK_AGO = (TODAY - dt.timedelta(days=7)).isoformat()

RECORD = "query($id: String!, $d: Date) { record(recordId: $id, asOf: $d) { uid } }"
RECORDS = "query($c: String!, $d: Date) { subject(code: $c) { records(asOf: $d) { uid } } }"
CHECK = """query($c: String!, $d: Date) { checkSanctions(code: $c, asOf: $d) {
  measures { basisRecordId } } }"""


@pytest.fixture
def clients(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[dict[str, Client]]:
    nantong = load_policy("nantong")
    first = [
        entity(CO, "南通宏达建设工程有限公司"),
        record("ARCHIVED", CO, OLD, severity="general"),  # disclosed until a year after
        record("WITHDRAWN", CO, RECENT, severity="general"),
        record("STANDING", CO, RECENT, severity="general"),
        record("DELETED", CO, RECENT, severity="serious"),
    ]
    at = dt.datetime.combine(TODAY - dt.timedelta(days=30), dt.time(9), dt.UTC)
    assert load_files(store, [write_jsonl(first)], policy=nantong, provider="t",
                      submitted_at=at).rejected_total == 0
    withdraw = [{"type": "record", "id": "WITHDRAWN", "action": "withdraw"}]
    at = dt.datetime.combine(TODAY - dt.timedelta(days=3), dt.time(9), dt.UTC)
    assert load_files(store, [write_jsonl(withdraw)], policy=nantong, provider="t",
                      submitted_at=at).rejected_total == 0
    keys = {"operator": make_key(store, "operator", "ops"),
            "tax": make_key(store, "agency", "tax-bureau", unit="tax")}
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        out = {name: Client(url, key) for name, key in keys.items()}
        out["public"] = Client(url, None, purpose=None)
        ops = out["operator"]
        oid = ops.data('mutation { fileObjection(recordId: "t:DELETED", reason: "无此处罚") '
                       "{ id } }")["fileObjection"]["id"]
        resolved = ops.data(
            'mutation($o: String!) { resolveObjection(objectionId: $o, outcome: DELETED, '
            'note: "核实有误") { outcome } }', {"o": oid})["resolveObjection"]
        assert resolved["outcome"] == "DELETED"
        yield out


@pytest.mark.parametrize("caller", ["public", "tax"])
def test_a_deleted_record_is_not_served_for_a_past_date(
    clients: dict[str, Client], caller: str
) -> None:
    c = clients[caller]
    r = c.post(RECORD, {"id": "t:DELETED", "d": WEEK_AGO}).json()
    assert r["data"] is None and r["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    shown = {x["uid"] for x in c.data(RECORDS, {"c": CO, "d": WEEK_AGO})["subject"]["records"]}
    assert "t:DELETED" not in shown
    basis = {m["basisRecordId"] for m in
             c.data(CHECK, {"c": CO, "d": WEEK_AGO})["checkSanctions"]["measures"]}
    assert "t:DELETED" not in basis and "t:STANDING" in basis
    # withdrawn and archived records stood then, and are answered so
    assert shown == {"t:STANDING", "t:WITHDRAWN"}
    assert c.data(RECORD, {"id": "t:ARCHIVED", "d": PAST})["record"]["uid"] == "t:ARCHIVED"


def test_operators_still_read_the_deleted_record(clients: dict[str, Client]) -> None:
    ops = clients["operator"]
    assert ops.data(RECORD, {"id": "t:DELETED", "d": WEEK_AGO})["record"]["uid"] == "t:DELETED"
    basis = {m["basisRecordId"] for m in
             ops.data(CHECK, {"c": CO, "d": WEEK_AGO})["checkSanctions"]["measures"]}
    assert "t:DELETED" in basis

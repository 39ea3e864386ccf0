"""The service as an integrating system sees it: a real GraphQL client (``gql``) over
real HTTP to a real uvicorn server, asking one check and a batch with a bad code in it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXTransport

from api.app import create_app
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

TODAY = china_today()
DAY = (TODAY - dt.timedelta(days=30)).isoformat()
CLEAN, DIRTY, OTHER = uscc_code(601), uscc_code(602), uscc_code(603)
REP = person_code(604)

BATCH_TEXT = """
query Batch($codes: [String!]!) {
  checkSanctionsBatch(codes: $codes) { code restricted measures { measure basisRecordId } }
}
"""


@pytest.fixture
def client(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[Client]:
    rows = [
        entity(CLEAN, "南通清白商贸有限公司"),
        entity(DIRTY, "南通失信建设有限公司"),
        entity(OTHER, "南通其他有限公司"),
        person(REP, "王五"),
        role(DIRTY, REP, "legal_representative", "2015-01-01"),
        record("B1", DIRTY, DAY, severity="serious", list="black"),
    ]
    load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"), provider="t",
               today=TODAY)
    key = make_key(store, "agency", "procurement-platform")
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        transport = HTTPXTransport(
            url=f"{url}/graphql",
            headers={"Authorization": f"Bearer {key}", "X-Purpose": "tender 2026-117 screening"},
            timeout=60,
        )
        with Client(transport=transport, fetch_schema_from_transport=False) as session:
            yield session  # type: ignore[misc]


def test_a_single_check_through_a_graphql_client(client: Client) -> None:
    q = gql("query($c: String!) { checkSanctions(code: $c) { code restricted "
            "measures { measure via } } }")
    q.variable_values = {"c": REP}
    result = client.execute(q)
    check = result["checkSanctions"]
    assert check["restricted"] is True
    assert {m["measure"] for m in check["measures"]} == {
        "NO_OFFICE", "NO_HONOURS", "FINANCIAL_RESTRICTION"
    }


def _batch(codes: list[str]) -> Any:
    request = gql(BATCH_TEXT)
    request.variable_values = {"codes": codes}
    return request


def test_a_batch_keeps_order_and_isolates_a_bad_code(client: Client) -> None:
    bad = CLEAN[:-1] + ("0" if CLEAN[-1] != "0" else "1")
    unknown = uscc_code(699)
    codes = [DIRTY, bad, CLEAN, unknown, REP, OTHER]
    with pytest.raises(TransportQueryError) as info:
        client.execute(_batch(codes))
    data = info.value.data
    assert data is not None
    items = data["checkSanctionsBatch"]
    assert [i["code"] if i else None for i in items] == [DIRTY, None, CLEAN, None, REP, OTHER]
    assert [i["restricted"] if i else None for i in items] == [
        True, None, False, None, True, False
    ]
    errors = {tuple(e["path"]): e["extensions"]["code"] for e in info.value.errors or []}
    assert errors == {
        ("checkSanctionsBatch", 1): "INVALID_CODE",
        ("checkSanctionsBatch", 3): "NOT_FOUND",
    }


def test_a_batch_over_the_limit_is_refused_whole(client: Client) -> None:
    with pytest.raises(TransportQueryError) as info:
        client.execute(_batch([CLEAN] * 1001))
    assert info.value.errors and info.value.errors[0]["extensions"]["code"] == "LIMIT_EXCEEDED"


def test_a_full_batch_of_1000_answers_in_order(client: Client) -> None:
    codes = [DIRTY, CLEAN, OTHER, REP] * 250
    items = client.execute(_batch(codes))["checkSanctionsBatch"]
    assert [i["code"] for i in items] == codes
    assert [i["restricted"] for i in items] == [True, False, False, True] * 250

"""Graph nodes carry an opaque id and their risk, over real HTTP to the real app.

Two persons whose masked ID numbers read alike (``320***********500X``) are two subjects:
a caller who sees codes masked (the public where persons are public, agencies) must be
able to tell them apart in ``neighborhood`` and ``paths``, and see each one's risk (what
its key may read of that person's records) without the ID number reaching it anywhere.
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
from schema.codes import mask_code
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Callers, Client, make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

CO, OTHER = uscc_code(901), uscc_code(902)
# Same region, same last four characters: both are shown as 320***********500X.
P_OLD = person_code(500, birth=dt.date(1960, 1, 1))
P_YOUNG = person_code(500, birth=dt.date(1979, 1, 1))

NODE = "code name kind id risk"
EDGE = "type fromCode toCode fromId toId"
HOOD = f"""query($c: String!) {{ neighborhood(code: $c) {{
  truncated nodes {{ {NODE} }} edges {{ {EDGE} }} }} }}"""
PATHS = f"""query($a: String!, $b: String!) {{ paths(fromCode: $a, toCode: $b, maxHops: 4) {{
  length nodes {{ {NODE} }} edges {{ {EDGE} }} }} }}"""



@pytest.fixture
def callers(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[Callers]:
    # CO: P_OLD is its legal representative, P_YOUNG a supervisor; P_YOUNG also sits on
    # OTHER's board, so a path CO → P_YOUNG → OTHER exists. P_OLD is on the black list
    # (public record); P_YOUNG has a negative record shared with agencies only.
    assert P_OLD != P_YOUNG and mask_code(P_OLD) == mask_code(P_YOUNG)
    rows = [
        entity(CO, "甲有限公司"), entity(OTHER, "乙有限公司"),
        person(P_OLD, "钱一"), person(P_YOUNG, "钱二"),
        role(CO, P_OLD, "legal_representative", "2018-01-01"),
        role(CO, P_YOUNG, "supervisor", "2019-01-01"),
        role(OTHER, P_YOUNG, "director", "2020-01-01"),
        record("nid-black", P_OLD, "2026-02-26", kind="enforcement", severity="serious",
               list="black", act_ended_on="2025-12-15", disclosure="public"),
        record("nid-shared", P_YOUNG, "2026-03-01", disclosure="shared"),
    ]
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"),
                         provider="t", today=china_today())
    assert summary.rejected_total == 0, summary.as_dict()
    agency = make_key(store, "agency", "regulator", unit="market_regulation")
    operator = make_key(store, "operator", "ops")
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield Callers.at(url, agency, operator)


def _no_id_number(text: str) -> None:
    """Neither number, nor the part of it the mask hides, is anywhere in the answer."""
    for code in (P_OLD, P_YOUNG):
        assert code not in text
        assert code[3:-4] not in text


def _persons(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in nodes if n["kind"] == "person"]


@pytest.mark.parametrize("who", ["public", "agency"])
def test_two_persons_masked_alike_are_two_nodes_with_their_own_edges(
    callers: Callers, who: str
) -> None:
    client: Client = getattr(callers, who)
    r = client.post(HOOD, {"c": CO})
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    _no_id_number(r.text)
    g = r.json()["data"]["neighborhood"]
    persons = _persons(g["nodes"])
    assert sorted(p["name"] for p in persons) == ["钱一", "钱二"]
    assert {p["code"] for p in persons} == {mask_code(P_OLD)}
    ids = {n["id"] for n in g["nodes"]}
    assert len(ids) == len(g["nodes"]) == 3
    by_id = {n["id"]: n for n in g["nodes"]}
    roles = {(by_id[e["fromId"]]["name"], e["type"], by_id[e["toId"]]["name"])
             for e in g["edges"]}
    assert roles == {("钱一", "LEGAL_REPRESENTATIVE_OF", "甲有限公司"),
                     ("钱二", "SUPERVISOR_OF", "甲有限公司")}
    # The id names the subject, not the answer: the same in the next answer and in paths.
    again = client.data(HOOD, {"c": CO})["neighborhood"]
    assert {n["name"]: n["id"] for n in again["nodes"]} == {n["name"]: n["id"] for n in g["nodes"]}
    r = client.post(PATHS, {"a": CO, "b": OTHER})
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    _no_id_number(r.text)
    [path] = r.json()["data"]["paths"]
    assert [n["name"] for n in path["nodes"]] == ["甲有限公司", "钱二", "乙有限公司"]
    young = {n["name"]: n["id"] for n in g["nodes"]}["钱二"]
    assert path["nodes"][1]["id"] == young
    assert {e["fromId"] for e in path["edges"]} == {young}


def test_the_operator_gets_the_same_ids_with_the_codes_in_clear(callers: Callers) -> None:
    public = callers.public.data(HOOD, {"c": CO})["neighborhood"]["nodes"]
    clear = callers.operator.data(HOOD, {"c": CO})["neighborhood"]["nodes"]
    assert {n["code"] for n in _persons(clear)} == {P_OLD, P_YOUNG}
    assert {n["name"]: n["id"] for n in clear} == {n["name"]: n["id"] for n in public}
    for n in clear:
        assert n["code"] not in n["id"]


def test_a_masked_node_carries_the_risk_its_caller_may_read(callers: Callers) -> None:
    def risks(client: Client) -> dict[str, str]:
        r = client.post(HOOD, {"c": CO})
        assert r.status_code == 200 and "errors" not in r.json(), r.text
        if client is not callers.operator:
            _no_id_number(r.text)
        return {n["name"]: n["risk"] for n in r.json()["data"]["neighborhood"]["nodes"]}

    # The black-list record is public: everyone sees it on the masked node.
    # The shared record is read by agencies (and operators), not by the public.
    assert risks(callers.public) == {"甲有限公司": "none", "钱一": "black", "钱二": "none"}
    assert risks(callers.agency) == {"甲有限公司": "none", "钱一": "black", "钱二": "negative"}
    assert risks(callers.operator) == {"甲有限公司": "none", "钱一": "black", "钱二": "negative"}
    # The same through paths.
    [path] = callers.public.data(PATHS, {"a": CO, "b": OTHER})["paths"]
    assert [n["risk"] for n in path["nodes"]] == ["none", "none", "none"]
    [path] = callers.agency.data(PATHS, {"a": CO, "b": OTHER})["paths"]
    assert [n["risk"] for n in path["nodes"]] == ["none", "negative", "none"]

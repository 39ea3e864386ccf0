"""A provider withdraws a role it entered in error (``"action": "withdraw"`` on a role
row), through real loads into the real engine: from the day of the withdrawal the role
no longer makes its holder answer for the organisation, nor shows among the roles in
force; the check of an earlier day still sees it as it stood then."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.checks import check_sanctions
from graph.store import GraphStore
from loaders.pipeline import LoadSummary, load_files
from queries.profile import ROLES_HELD
from schema.catalogue import load_catalogue
from schema.policy import load_policy
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.snapshot import graph_snapshot

NANTONG = load_policy("nantong")
CATALOGUE = load_catalogue()
CO = uscc_code(71)
OTHER = uscc_code(72)
P = person_code(73)
Write = Callable[..., Path]

#: P was legal representative of CO when CO's serious act ended (2022-06-01).
LR = role(CO, P, "legal_representative", "2020-01-01")
WITHDRAW_LR = {**LR, "action": "withdraw"}
BASE = [
    entity(CO, "甲公司"),
    entity(OTHER, "乙公司"),
    person(P, "张三"),
    LR,
    role(OTHER, P, "manager", "2021-01-01"),
    record("R1", CO, "2025-03-03", severity="serious", act_ended_on="2022-06-01"),
]


def _load(store: GraphStore, path: Path, day: str, **kw: Any) -> LoadSummary:
    return load_files(
        store, [path], policy=NANTONG, provider="p", today=dt.date(2026, 11, 21),
        submitted_at=dt.datetime.fromisoformat(f"{day}T10:00:00+08:00"), **kw,
    )


def _check(store: GraphStore, code: str, day: str) -> tuple[set[str], set[str]]:
    """The measures on ``code`` on ``day``, and the organisations of its conflicts."""
    result = check_sanctions(
        store, code, policy=NANTONG, catalogue=CATALOGUE, as_of=dt.date.fromisoformat(day)
    )
    return {m.measure for m in result.measures}, {c.entity_code for c in result.conflicts}


def _roles_in_force(store: GraphStore) -> list[tuple[str, str]]:
    rows = store.read(ROLES_HELD, {"codes": [P]})
    return sorted((r["type"], r["other"]) for r in rows)


def test_a_withdrawn_role_stops_counting_from_its_withdrawal_and_keeps_who_withdrew_it(
    store: GraphStore, write_jsonl: Write
) -> None:
    _load(store, write_jsonl(BASE), "2026-01-10")
    measures, conflicts = _check(store, P, "2026-02-01")
    assert measures  # through the role on the act's day
    assert conflicts == {CO, OTHER}  # the offices P holds while restricted

    summary = _load(store, write_jsonl([WITHDRAW_LR]), "2026-03-02")
    assert summary.rows_by_type["withdraw_role"] == 1 and not summary.rejected

    assert _check(store, P, "2026-03-05") == (set(), set())
    assert _check(store, P, "2026-02-01")[0] == measures  # the day asked, as it stood
    assert _roles_in_force(store) == [("MANAGER_OF", OTHER)]
    kept = store.read(
        "MATCH (:Person {code: $p})-[w:WITHDRAWN_ROLE]->(e:Entity) "
        "RETURN e.code AS entity, properties(w) AS w",
        {"p": P},
    )
    assert [k["entity"] for k in kept] == [CO]
    w = kept[0]["w"]
    assert (w["role"], w["since"], w["withdrawn_on"], w["withdrawn_by"]) == (
        "legal_representative", "2020-01-01", "2026-03-02", "p"
    )
    assert w["withdrawn_line"] == 1 and w["withdrawn_src"] != w["src"]


def test_a_withdrawn_office_no_longer_bars_its_organisation(
    store: GraphStore, write_jsonl: Write
) -> None:
    _load(store, write_jsonl(BASE), "2026-01-10")
    assert _check(store, OTHER, "2026-02-01")[1] == {OTHER}  # its restricted director
    manager = {**role(OTHER, P, "manager", "2021-01-01"), "action": "withdraw"}
    _load(store, write_jsonl([manager]), "2026-03-02")
    assert _check(store, OTHER, "2026-03-05")[1] == set()
    assert _check(store, P, "2026-03-05")[1] == {CO}  # the office in OTHER is gone
    assert _check(store, OTHER, "2026-02-01")[1] == {OTHER}


def test_a_role_withdrawn_and_sent_again_counts_again_from_its_revival(
    store: GraphStore, write_jsonl: Write
) -> None:
    _load(store, write_jsonl(BASE), "2026-01-10")
    _load(store, write_jsonl([WITHDRAW_LR]), "2026-03-02")
    summary = _load(store, write_jsonl([LR]), "2026-05-04")
    assert summary.loaded == 1
    assert _check(store, P, "2026-04-01")[0] == set()  # between withdrawal and revival
    assert _check(store, P, "2026-05-05")[0]
    assert _check(store, P, "2026-02-01")[0]
    assert ("LEGAL_REPRESENTATIVE_OF", CO) in _roles_in_force(store)


def test_a_file_that_sends_and_withdraws_a_role_changes_nothing_when_loaded_again(
    store: GraphStore, write_jsonl: Write
) -> None:
    path = write_jsonl([*BASE, WITHDRAW_LR])
    _load(store, path, "2026-01-10")
    assert _roles_in_force(store) == [("MANAGER_OF", OTHER)]
    before = graph_snapshot(store)
    again = _load(store, path, "2026-01-12")
    assert graph_snapshot(store) == before
    assert again.loaded == 0 and not again.rejected


def test_a_file_that_withdraws_and_sends_a_role_again_ends_with_it_in_force(
    store: GraphStore, write_jsonl: Write
) -> None:
    _load(store, write_jsonl(BASE), "2026-01-10")
    path = write_jsonl([WITHDRAW_LR, LR])
    _load(store, path, "2026-03-02")
    assert ("LEGAL_REPRESENTATIVE_OF", CO) in _roles_in_force(store)
    before = graph_snapshot(store)
    _load(store, path, "2026-03-03")
    assert graph_snapshot(store) == before


def test_withdrawing_a_role_that_does_not_exist_is_rejected_with_its_reason(
    store: GraphStore, write_jsonl: Write, tmp_path: Path
) -> None:
    wrong_since = {**WITHDRAW_LR, "since": "2021-01-01"}
    path = write_jsonl([*BASE, wrong_since, record("R2", CO, "2025-04-01")])
    summary = _load(store, path, "2026-01-10", rejects_to=tmp_path / "rejects.jsonl")
    assert dict(summary.rejected) == {"unknown_reference": 1}
    assert summary.loaded == len(BASE) + 1  # every valid row still lands
    (line,) = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert line["line"] == len(BASE) + 1 and line["action"] == "withdraw"
    assert "no legal_representative" in line["reason"] and "since 2021-01-01" in line["reason"]
    assert P not in line["reason"]  # the ID number is masked
    assert ("LEGAL_REPRESENTATIVE_OF", CO) in _roles_in_force(store)


def test_a_role_withdrawal_in_csv(store: GraphStore, tmp_path: Path) -> None:
    """The CSV role sheet takes the same ``action`` column."""
    subjects = tmp_path / "subjects.jsonl"
    subjects.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in BASE), "utf-8")
    _load(store, subjects, "2026-01-10")
    sheet = tmp_path / "role.csv"
    sheet.write_text(f"entity,holder,role,since,action\n{CO},{P},legal_representative,"
                     "2020-01-01,withdraw\n", "utf-8")
    summary = _load(store, sheet, "2026-03-02")
    assert summary.rows_by_type["withdraw_role"] == 1
    assert _roles_in_force(store) == [("MANAGER_OF", OTHER)]

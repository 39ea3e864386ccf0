"""Lists and analytics on past dates after a provider corrected a record.

A provider sends a record again with changed content; the previous content is kept as a
version and every answer for a date before the change is computed on the content that
stood on that date (``graph.record_versions``, docs/api.md "the past is not rewritten").
These tests load real files through the real loader, reload a changed record with a
later ``today`` (as ``tests/test_loader_history.py`` does), and ask the lists, the check
and the analytics, through the service functions and GraphQL over HTTP, whether they
agree on a past date:

1. ``listMembers`` keeps a subject on a past date when the content that stood then put
   it on the list, although the record's current content no longer does (its list
   removed, or its decision date moved past the date asked);
2. the analytics count a negative record whose decision date a correction moved past the
   date asked, as the check does;
3. ``listEntries`` shows a correction that takes a record off a list as an exit on the
   day the new content took effect, with a reason, also when asked for a date before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.checks import check_sanctions
from api.lists import list_entries, list_members
from api.settings import load_settings
from graph.analytics import Analysis, read_dishonest_subgraph
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.catalogue import load_catalogue
from schema.policy import load_policy
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

D = dt.date.fromisoformat
NANTONG = load_policy("nantong")
CATALOGUE = load_catalogue()

CO_BLACK, CO_RED, CO_NEG, CO_OTHER = (uscc_code(n) for n in (1701, 1702, 1703, 1704))
REP = person_code(1711)
#: The day the corrections arrive.
FIXED = "2026-11-22"

Loader = Callable[..., None]


@pytest.fixture
def load(store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]) -> Loader:
    def _load(rows: list[dict[str, Any]], today: str) -> None:
        summary = load_files(
            store, [write_jsonl(rows)], policy=NANTONG, provider="t", today=D(today),
            submitted_at=dt.datetime.combine(D(today), dt.time(9), dt.UTC),
        )
        assert summary.rejected_total == 0, summary.as_dict()

    return _load


def black(**kw: Any) -> dict[str, Any]:
    """Serious dishonesty decided 2025-11-30: on the black list for 3 years under Nantong
    (Art. 30), so its own content says it leaves on 2028-11-30."""
    return record("B1", CO_BLACK, "2025-11-30", kind="serious_dishonesty", severity="serious",
                  title="严重失信主体认定", **kw)


def red(decided_on: str = "2020-09-18", valid_until: str = "2022-09-17") -> dict[str, Any]:
    return record("G1", CO_RED, decided_on, category="positive", kind="commendation",
                  list="red", valid_until=valid_until)


def general(decided_on: str) -> dict[str, Any]:
    return record("N1", CO_NEG, decided_on, severity="general", disclosure="public")


def base_rows() -> list[dict[str, Any]]:
    return [
        entity(CO_BLACK, "南通宏达建设工程有限公司"),
        entity(CO_RED, "南通诚信商贸有限公司"),
        entity(CO_NEG, "南通顺达商贸有限公司"),
        entity(CO_OTHER, "南通另一有限公司"),
        person(REP, "周建国"),
        role(CO_NEG, REP, "legal_representative", "2020-01-01"),
        # Another member of the black list, not corrected: the page around the subject.
        record("B9", CO_OTHER, "2025-10-01", kind="serious_dishonesty", severity="serious",
               list="black"),
    ]


@pytest.fixture
def corrected(load: Loader) -> None:
    """Loaded on their first arrival, then corrected on 2026-11-22:

    - B1 sent again without ``list`` (the black-list determination corrected away);
    - G1 sent again decided 2026-11-20 (it was 2020-09-18 to 2022-09-17);
    - N1 sent again decided 2026-11-20 (it was 2026-03-24).
    """
    load(base_rows(), today="2020-09-20")
    load([red()], today="2020-09-20")
    load([black(list="black")], today="2025-12-01")
    load([general("2026-03-24")], today="2026-03-25")
    load([black(), red("2026-11-20", "2028-11-19"), general("2026-11-20")], today=FIXED)


def members(store: GraphStore, kind: str, on: str, first: int = 100) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page = list_members(store, kind, policy=NANTONG, on=D(on), first=first, after=after)
        seen += [m.code for m in page.members]
        if not page.has_more:
            return seen
        after = page.end_cursor


# --------------------------------------------------------------------------- 1: members


def test_members_on_a_past_date_keep_a_subject_whose_list_a_correction_removed(
    store: GraphStore, corrected: None
) -> None:
    day = "2026-11-01"
    [e] = list_entries(store, CO_BLACK, policy=NANTONG, on=D(day))
    assert e.on_list and e.list_kind.value == "black"
    check = check_sanctions(store, CO_BLACK, policy=NANTONG, catalogue=CATALOGUE, as_of=D(day))
    assert check.restricted
    # The list agrees with the entry and the check, on one page and page by page.
    assert members(store, "black", day) == sorted([CO_BLACK, CO_OTHER])
    assert members(store, "black", day, first=1) == sorted([CO_BLACK, CO_OTHER])
    # From the day the corrected content took effect, it is off the list.
    assert members(store, "black", FIXED) == [CO_OTHER]


def test_members_on_a_past_date_keep_a_subject_whose_decision_a_correction_moved(
    store: GraphStore, corrected: None
) -> None:
    day = "2021-06-01"
    [e] = list_entries(store, CO_RED, policy=NANTONG, on=D(day))
    assert e.on_list and e.entered_on == D("2020-09-18")
    check = check_sanctions(store, CO_RED, policy=NANTONG, catalogue=CATALOGUE, as_of=D(day))
    assert check.incentives
    assert members(store, "red", day) == [CO_RED]
    # Under the corrected content it is back on the list from the day that took effect.
    assert members(store, "red", "2026-11-21") == []
    assert members(store, "red", FIXED) == [CO_RED]


# --------------------------------------------------------------------------- 2: analytics


def test_analytics_count_a_record_whose_decision_a_correction_moved_past_the_date(
    store: GraphStore, corrected: None
) -> None:
    day = D("2026-06-01")
    check = check_sanctions(store, CO_NEG, policy=NANTONG, catalogue=CATALOGUE, as_of=day)
    assert check.restricted
    assert any(m.measure == "KEY_SUPERVISION" and m.basis_record_id.endswith("N1")
               for m in check.measures)

    sub = read_dishonest_subgraph(store, policy=NANTONG, on=day)
    assert sub.is_dishonest(CO_NEG) and sub.graph.nodes[CO_NEG]["negative"] == 1
    found = Analysis(sub).communities(min_size=1)
    assert any(CO_NEG in c.members for c in found)
    # The black-listed subject of that date is there too, from its earlier content.
    assert sub.is_blacklisted(CO_BLACK)
    # Before the first decision of N1's earlier content there is nothing about it.
    assert not read_dishonest_subgraph(
        store, policy=NANTONG, on=D("2026-03-23")).is_dishonest(CO_NEG)


# --------------------------------------------------------------------------- 3: entries


def test_a_correction_that_removes_the_list_is_an_exit_with_a_reason(
    store: GraphStore, corrected: None
) -> None:
    [today] = list_entries(store, CO_BLACK, policy=NANTONG, on=D(FIXED))
    assert today.list_kind.value == "black" and today.record_uid == "t:B1"
    assert not today.on_list
    assert today.entered_on == D("2025-11-30") and today.exit_on == D(FIXED)
    assert "correct" in (today.exit_reason or "") and FIXED in (today.exit_reason or "")
    assert "correct" in today.reason
    assert [(p.entered_on, p.exit_on) for p in today.periods] == [(D("2025-11-30"), D(FIXED))]

    # Asked for the day before, it was on the list; the exit is the one known now.
    [before] = list_entries(store, CO_BLACK, policy=NANTONG, on=D("2026-11-21"))
    assert before.on_list and before.exit_on == D(FIXED)
    assert "correct" in (before.exit_reason or "")
    [member] = [m for m in list_members(store, "black", policy=NANTONG,
                                        on=D("2026-11-21")).members if m.code == CO_BLACK]
    assert [e.exit_on for e in member.entries] == [D(FIXED)]


# --------------------------------------------------------------------------- GraphQL

ENTRIES = """
query Entries($code: String!, $asOf: Date) {
  listEntries(code: $code, asOf: $asOf) {
    list recordUid enteredOn exitOn onList standing reason exitReason
    periods { enteredOn exitOn }
  }
}
"""
MEMBERS = """
query Members($list: String!, $asOf: Date, $first: Int, $after: String) {
  listMembers(list: $list, asOf: $asOf, first: $first, after: $after) {
    hasMore endCursor members { code entries { recordUid exitOn } }
  }
}
"""
PROFILE_LISTS = """
query Profile($code: String!, $asOf: Date) {
  subject(code: $code) { code lists(asOf: $asOf) { list recordUid onList exitOn } }
}
"""
CHECK = """
query Check($code: String!, $asOf: Date) {
  checkSanctions(code: $code, asOf: $asOf) { restricted measures { measure basisRecordId } }
}
"""
ONE_RISK = """query($c: String!, $d: Date) { riskScore(code: $c, asOf: $d) { code dishonest } }"""
COMMUNITIES = """query($d: Date) { communities(asOf: $d, minSize: 1) { members { code } } }"""


@dataclass
class World:
    public: Client
    operator: Client


@pytest.fixture
def world(store: GraphStore, corrected: None, tmp_path: Path) -> Iterator[World]:
    operator = make_key(store, "operator", "ops")
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield World(Client(url, None, purpose=None), Client(url, operator))


def http_members(client: Client, kind: str, as_of: str) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page = client.data(MEMBERS, {"list": kind, "asOf": as_of, "first": 1,
                                     "after": after})["listMembers"]
        seen += [m["code"] for m in page["members"]]
        if not page["hasMore"]:
            return seen
        after = page["endCursor"]


def test_graphql_lists_agree_with_the_check_on_past_dates(world: World) -> None:
    public = world.public
    day = "2026-11-01"
    check = public.data(CHECK, {"code": CO_BLACK, "asOf": day})["checkSanctions"]
    assert check["restricted"] is True
    [e] = public.data(ENTRIES, {"code": CO_BLACK, "asOf": day})["listEntries"]
    assert e["onList"] is True and e["exitOn"] == FIXED
    assert http_members(public, "black", day) == sorted([CO_BLACK, CO_OTHER])

    past = "2021-06-01"
    assert public.data(CHECK, {"code": CO_RED, "asOf": past})["checkSanctions"]
    [r] = public.data(ENTRIES, {"code": CO_RED, "asOf": past})["listEntries"]
    assert r["onList"] is True
    assert http_members(public, "red", past) == [CO_RED]


def test_graphql_operator_sees_the_exit_a_correction_made(world: World) -> None:
    [e] = world.operator.data(ENTRIES, {"code": CO_BLACK})["listEntries"]
    assert (e["list"], e["onList"], e["exitOn"]) == ("black", False, FIXED)
    assert FIXED in e["exitReason"] and "correct" in e["exitReason"]
    profile = world.operator.data(PROFILE_LISTS, {"code": CO_BLACK})["subject"]["lists"]
    assert [(x["recordUid"], x["onList"], x["exitOn"]) for x in profile] == [
        ("t:B1", False, FIXED)
    ]
    [before] = world.operator.data(
        ENTRIES, {"code": CO_BLACK, "asOf": "2026-11-21"})["listEntries"]
    assert before["onList"] is True and before["exitOn"] == FIXED
    # The public sees entries on the list that day only (docs/api.md).
    assert world.public.data(ENTRIES, {"code": CO_BLACK})["listEntries"] == []
    assert world.public.data(PROFILE_LISTS, {"code": CO_BLACK})["subject"]["lists"] == []


def test_graphql_risk_and_communities_agree_with_the_check_on_a_past_date(
    world: World,
) -> None:
    day = "2026-06-01"
    check = world.operator.data(CHECK, {"code": CO_NEG, "asOf": day})["checkSanctions"]
    assert check["restricted"] is True
    assert "KEY_SUPERVISION" in {m["measure"] for m in check["measures"]}
    one = world.operator.data(ONE_RISK, {"c": CO_NEG, "d": day})["riskScore"]
    assert one["dishonest"] is True
    found = world.operator.data(COMMUNITIES, {"d": day})["communities"]
    assert CO_NEG in {m["code"] for c in found for m in c["members"]}


# --------------------------------------------------------------------------- more


def test_members_pages_merge_both_scans_across_batches(
    store: GraphStore, load: Loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subjects whose past content was on the list interleave, by code, with those whose
    current content is; batches of two make every page cross both scans' batches."""
    import api.lists as lists_module

    monkeypatch.setattr(lists_module, "SCAN_BATCH", 2)
    codes = [uscc_code(1800 + i) for i in range(9)]
    rows = [entity(c) for c in codes]
    recs = [record(f"M{i}", c, "2025-11-30", kind="serious_dishonesty", severity="serious",
                   list="black") for i, c in enumerate(codes)]
    load(rows + recs, today="2025-12-01")
    # Every other record corrected off the list on 2026-11-22.
    load([{k: v for k, v in r.items() if k != "list"} for r in recs[::2]], today=FIXED)

    assert members(store, "black", "2026-11-01", first=2) == sorted(codes)
    assert members(store, "black", "2026-11-01", first=500) == sorted(codes)
    assert members(store, "black", FIXED, first=2) == sorted(codes[1::2])


def test_a_correction_that_moves_a_record_to_the_other_list(
    store: GraphStore, load: Loader
) -> None:
    load([entity(CO_BLACK), black(list="black")], today="2025-12-01")
    # Found to be a commendation after all: a positive record, on the red list.
    load([record("B1", CO_BLACK, "2025-11-30", category="positive", kind="commendation",
                 list="red")], today=FIXED)

    found = {e.list_kind.value: e for e in list_entries(store, CO_BLACK, policy=NANTONG,
                                                        on=D(FIXED))}
    assert found["red"].on_list and found["red"].exit_on is None
    left = found["black"]
    assert not left.on_list and left.exit_on == D(FIXED)
    assert "red list" in (left.exit_reason or "")
    assert members(store, "black", "2026-11-21") == [CO_BLACK]
    assert members(store, "red", "2026-11-21") == []
    assert members(store, "black", FIXED) == []
    assert members(store, "red", FIXED) == [CO_BLACK]

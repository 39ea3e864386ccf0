"""Red and black lists (issue 5, item 6): who is on a list on a date, from when, until when.

The service tests load real submissions through the loader into the real engine and ask
``api.lists`` at exact dates under the policies whose periods differ (Nantong Art. 30:
serious dishonesty 3 years; Wuhan Art. 20: 5 years). The GraphQL tests ask the same over
real HTTP as the public, an agency and an operator, under Nantong (persons may be public)
and Wuhan (they may not).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.checks import check_sanctions
from api.lists import ListEntry, list_entries, list_entry, list_members
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.catalogue import load_catalogue
from schema.codes import mask_code
from schema.policy import load_policy
from schema.record_life import ObjectionWindow, Standing, windows_json
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, record, uscc_code
from tests.live_server import serve_in_thread

D = dt.date.fromisoformat
INCENTIVES = {"GREEN_CHANNEL", "FEWER_INSPECTIONS", "FUNDING_PRIORITY", "BIDDING_BONUS"}

CO, CO2, CO_RED, CO_SHARED = uscc_code(601), uscc_code(602), uscc_code(603), uscc_code(604)
REP = person_code(611)

Loader = Callable[..., None]


@pytest.fixture
def load(store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]) -> Loader:
    def _load(rows: list[dict[str, Any]], today: str = "2023-04-01") -> None:
        # The submission's date is the day a withdrawal or a revival takes effect.
        summary = load_files(
            store, [write_jsonl(rows)], policy=load_policy("nantong"), provider="t",
            today=D(today), submitted_at=dt.datetime.combine(D(today), dt.time(9), dt.UTC),
        )
        assert summary.rejected_total == 0, summary.as_dict()

    return _load


def entry(store: GraphStore, code: str, on: str, policy: str = "nantong") -> ListEntry:
    found = list_entries(store, code, policy=load_policy(policy), on=D(on))
    assert len(found) == 1, found
    return found[0]


def members(store: GraphStore, kind: str, on: str, policy: str = "nantong") -> list[str]:
    page = list_members(store, kind, policy=load_policy(policy), on=D(on), first=100)
    assert not page.has_more
    return [m.code for m in page.members]


def black_record(rid: str = "B1", subject: str = CO, **kw: Any) -> dict[str, Any]:
    return record(rid, subject, "2023-03-15", kind="serious_dishonesty", severity="serious",
                  list="black", **kw)


# --------------------------------------------------------------------------- service


def test_a_subject_enters_the_list_on_the_decision_date(store: GraphStore, load: Loader) -> None:
    load([entity(CO, "南通宏达建设工程有限公司"), black_record()])

    before = entry(store, CO, "2023-03-14")
    assert (before.on_list, before.standing) == (False, Standing.NOT_YET)
    assert members(store, "black", "2023-03-14") == []

    on_the_day = entry(store, CO, "2023-03-15")
    assert on_the_day.on_list and on_the_day.entered_on == D("2023-03-15")
    assert on_the_day.list_kind.value == "black" and on_the_day.record_uid == "t:B1"
    assert members(store, "black", "2023-03-15") == [CO]
    assert members(store, "red", "2023-03-15") == []


@pytest.mark.parametrize(
    ("policy", "last_day", "first_day_off", "article"),
    [
        # Nantong Art. 30: serious dishonesty is disclosed 3 years from its determination.
        ("nantong", "2026-03-15", "2026-03-16", "Art. 30"),
        # Wuhan Art. 20: 5 years from when the record was formed.
        ("wuhan", "2028-03-15", "2028-03-16", "Art. 20"),
    ],
)
def test_a_subject_leaves_the_list_when_the_disclosure_period_ends(
    store: GraphStore, load: Loader, policy: str, last_day: str, first_day_off: str,
    article: str,
) -> None:
    load([entity(CO), black_record()])

    last = entry(store, CO, last_day, policy)
    assert last.on_list and last.exit_on == D(first_day_off)
    assert members(store, "black", last_day, policy) == [CO]

    off = entry(store, CO, first_day_off, policy)
    assert (off.on_list, off.standing) == (False, Standing.ARCHIVED)
    assert article in off.reason and article in (off.exit_reason or "")
    assert [(p.entered_on, p.exit_on) for p in off.periods] == [
        (D("2023-03-15"), D(first_day_off))
    ]
    assert members(store, "black", first_day_off, policy) == []


def test_a_red_list_record_gives_incentives_and_membership(
    store: GraphStore, load: Loader
) -> None:
    load([
        entity(CO_RED, "南通诚信商贸有限公司"),
        record("G1", CO_RED, "2022-05-01", category="positive", kind="commendation",
               list="red"),
    ])
    check = check_sanctions(store, CO_RED, policy=load_policy("nantong"),
                            catalogue=load_catalogue(), as_of=D("2024-01-01"))
    assert {m.measure for m in check.incentives} == INCENTIVES and not check.restricted

    red = entry(store, CO_RED, "2024-01-01")
    # Nantong sets no period for positive information (Art. 8): no exit is known.
    assert red.on_list and red.list_kind.value == "red" and red.exit_on is None
    assert members(store, "red", "2024-01-01") == [CO_RED]
    assert members(store, "black", "2024-01-01") == []


def test_a_withdrawn_record_leaves_the_list_on_the_day_it_is_withdrawn(
    store: GraphStore, load: Loader
) -> None:
    load([entity(CO), black_record()])
    load([{"type": "record", "id": "B1", "action": "withdraw"}], today="2024-06-03")

    day_before = entry(store, CO, "2024-06-02")
    assert day_before.on_list and day_before.exit_on == D("2024-06-03")
    assert members(store, "black", "2024-06-02") == [CO]

    withdrawn = entry(store, CO, "2024-06-03")
    assert (withdrawn.on_list, withdrawn.standing) == (False, Standing.WITHDRAWN)
    assert withdrawn.reason == "withdrawn on 2024-06-03"
    assert members(store, "black", "2024-06-03") == []


def test_a_resubmitted_record_comes_back_for_a_second_period(
    store: GraphStore, load: Loader
) -> None:
    """A changed resubmission revives a withdrawn record (queries/records.py): the first
    exit stays where it was and the return is a period of its own."""
    load([entity(CO), black_record()])
    load([{"type": "record", "id": "B1", "action": "withdraw"}], today="2024-06-03")
    load([black_record(title="更正后的决定")], today="2024-09-02")

    back = entry(store, CO, "2024-09-02")
    assert back.on_list and back.exit_on == D("2024-06-03")
    assert [(p.entered_on, p.exit_on) for p in back.periods] == [
        (D("2023-03-15"), D("2024-06-03")),
        (D("2024-09-02"), D("2026-03-16")),
    ]
    assert members(store, "black", "2024-07-01") == []
    assert members(store, "black", "2024-09-02") == [CO]


@pytest.mark.parametrize(
    ("policy", "periods", "standing_while_late"),
    [
        # Wuhan Art. 31: the provider missed its deadline, so disclosure stops for good.
        ("wuhan", [("2024-01-10", "2024-03-19")], Standing.WITHHELD),
        # Huancui Art. 29: query suspended until the provider replies, then back on.
        ("huancui", [("2024-01-10", "2024-03-19"), ("2024-04-02", "2030-01-01")],
         Standing.SUSPENDED),
        # Nantong Art. 32: marked, still published and applied.
        ("nantong", [("2024-01-10", "2030-01-01")], Standing.IN_FORCE),
    ],
)
def test_an_objection_the_provider_answers_late_follows_the_policy(
    policy: str, periods: list[tuple[str, str]], standing_while_late: Standing
) -> None:
    """Objection steps come from the procedures (``api/procedures.py``); the record's life
    is what the list reads, so the record is built here as the procedures store it."""
    late = ObjectionWindow("o1", filed_on=D("2024-03-01"), forwarded_on=D("2024-03-04"),
                           provider_due=D("2024-03-18"), replied_on=D("2024-04-02"))
    rec = {"uid": "t:O1", "subject": CO, "category": "negative", "kind": "penalty",
           "list": "black", "decided_on": "2024-01-10", "valid_until": "2029-12-31",
           "objections": windows_json([late])}
    e = list_entry(rec, subject_kind="entity", subject_ended=None, policy=load_policy(policy),
                   on=D("2024-03-25"))
    assert e is not None
    assert [(p.entered_on.isoformat(), p.exit_on and p.exit_on.isoformat())
            for p in e.periods] == periods
    assert e.standing is standing_while_late
    assert e.on_list is (standing_while_late is Standing.IN_FORCE)
    if e.on_list:
        assert "marked" in e.reason
    else:
        assert e.exit_on == D("2024-03-19") and "objection o1" in (e.exit_reason or "")


def test_pages_of_members_follow_the_cursor_without_gaps(
    store: GraphStore, load: Loader
) -> None:
    codes = [uscc_code(700 + i) for i in range(7)]
    load([
        *(entity(c) for c in codes),
        *(black_record(f"B{i}", c) for i, c in enumerate(codes)),
        black_record("B0bis", codes[0]),  # two entries for one member, on one page
    ])
    seen: list[str] = []
    after = None
    while True:
        page = list_members(store, "black", policy=load_policy("nantong"), on=D("2024-01-01"),
                            first=3, after=after)
        seen += [m.code for m in page.members]
        if not page.has_more:
            break
        after = page.end_cursor
    assert seen == sorted(codes)
    first = list_members(store, "black", policy=load_policy("nantong"), on=D("2024-01-01"),
                         first=1)
    assert [e.record_uid for e in first.members[0].entries] == ["t:B0", "t:B0bis"]


# --------------------------------------------------------------------------- GraphQL

ENTRIES = """
query Entries($code: String!, $asOf: Date) {
  listEntries(code: $code, asOf: $asOf) {
    list recordUid subjectCode enteredOn exitOn onList standing reason
    periods { enteredOn exitOn }
  }
}
"""

MEMBERS = """
query Members($list: String!, $asOf: Date, $first: Int, $after: String) {
  listMembers(list: $list, asOf: $asOf, first: $first, after: $after) {
    list asOf hasMore endCursor
    members { code name kind enteredOn entries { recordUid exitOn } }
  }
}
"""

PROFILE_LISTS = """
query Profile($code: String!, $asOf: Date) {
  subject(code: $code) { code lists(asOf: $asOf) { list recordUid onList exitOn } }
}
"""


@dataclass
class World:
    store: GraphStore
    data_dir: Path
    keys: dict[str, str]
    url: str

    def client(self, who: str, url: str | None = None) -> Client:
        if who == "public":
            return Client(url or self.url, None, purpose=None)
        return Client(url or self.url, self.keys[who])


@pytest.fixture
def world(store: GraphStore, load: Loader, tmp_path: Path) -> Iterator[World]:
    load([
        entity(CO, "南通宏达建设工程有限公司"),
        entity(CO2, "南通顺达商贸有限公司"),
        entity(CO_SHARED, "如东海润贸易有限公司"),
        person(REP, "周建国"),
        black_record("B1", CO),  # off the list from 2026-03-16 under Nantong
        record("B2", CO2, "2024-06-01", list="black"),
        record("B3", REP, "2024-02-01", kind="enforcement", list="black"),
        record("S1", CO_SHARED, "2024-01-10", list="black", disclosure="shared"),
    ])
    keys = {
        "agency": make_key(store, "agency", "tax-bureau", unit="tax"),
        "operator": make_key(store, "operator", "ops"),
    }
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield World(store, tmp_path / "data", keys, url)


def member_codes(client: Client, as_of: str, kind: str = "black") -> list[str]:
    page = client.data(MEMBERS, {"list": kind, "asOf": as_of})["listMembers"]
    assert page["list"] == kind and page["asOf"] == as_of and page["hasMore"] is False
    return [m["code"] for m in page["members"]]


def test_members_on_two_dates_differ(world: World) -> None:
    public = world.client("public")
    # Persons are not excluded from publication under Nantong (Art. 19): masked number.
    assert member_codes(public, "2024-03-01") == [mask_code(REP), CO]
    assert member_codes(public, "2026-04-01") == [mask_code(REP), CO2]
    assert member_codes(public, "2027-02-02") == [CO2]

    entries = public.data(ENTRIES, {"code": CO, "asOf": "2026-04-01"})
    # Off the list on that date: the public no longer sees the record at all.
    assert entries["listEntries"] == []
    operator = world.client("operator").data(ENTRIES, {"code": CO, "asOf": "2026-04-01"})
    [e] = operator["listEntries"]
    assert (e["onList"], e["standing"], e["exitOn"]) == (False, "archived", "2026-03-16")
    assert e["periods"] == [{"enteredOn": "2023-03-15", "exitOn": "2026-03-16"}]


def test_a_shared_black_list_record_is_for_agencies_only(world: World) -> None:
    public, agency = world.client("public"), world.client("agency")
    assert CO_SHARED not in member_codes(public, "2024-03-01")
    assert public.data(ENTRIES, {"code": CO_SHARED, "asOf": "2024-03-01"})["listEntries"] == []

    assert CO_SHARED in member_codes(agency, "2024-03-01")
    [e] = agency.data(ENTRIES, {"code": CO_SHARED, "asOf": "2024-03-01"})["listEntries"]
    assert (e["recordUid"], e["onList"], e["enteredOn"]) == ("t:S1", True, "2024-01-10")
    profile = agency.data(PROFILE_LISTS, {"code": CO_SHARED, "asOf": "2024-03-01"})
    assert [x["recordUid"] for x in profile["subject"]["lists"]] == ["t:S1"]
    assert public.data(PROFILE_LISTS, {"code": CO_SHARED, "asOf": "2024-03-01"})[
        "subject"]["lists"] == []


def test_a_cursor_naming_a_hidden_record_is_refused_like_a_bad_one(world: World) -> None:
    public = world.client("public")
    hidden = base64.urlsafe_b64encode(b"lm1:t:S1").decode()
    unknown = base64.urlsafe_b64encode(b"lm1:t:NOPE").decode()
    for cursor in (hidden, unknown, "not a cursor"):
        r = public.post(MEMBERS, {"list": "black", "asOf": "2024-03-01", "after": cursor})
        assert r.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    messages = {
        public.post(MEMBERS, {"list": "black", "asOf": "2024-03-01", "after": c}).json()[
            "errors"][0]["message"]
        for c in (hidden, unknown)
    }
    assert len(messages) == 1


def test_pages_over_http_hand_on_with_the_cursor(world: World) -> None:
    operator = world.client("operator")
    seen, after = [], None
    while True:
        page = operator.data(
            MEMBERS, {"list": "black", "asOf": "2024-07-01", "first": 1, "after": after}
        )["listMembers"]
        seen += [m["code"] for m in page["members"]]
        if not page["hasMore"]:
            break
        after = page["endCursor"]
    assert seen == sorted([CO, CO2, CO_SHARED, REP])


def test_only_red_or_black_is_a_list(world: World) -> None:
    public = world.client("public")
    assert public.error_code(MEMBERS, {"list": "grey"}) == "INVALID_INPUT"
    assert public.error_code(MEMBERS, {"list": "black", "first": 0}) == "INVALID_INPUT"
    assert public.error_code(MEMBERS, {"list": "black", "first": 501}) == "LIMIT_EXCEEDED"


def test_where_persons_are_not_public_the_public_sees_none_on_a_list(world: World) -> None:
    """Wuhan Art. 19: natural persons' information is disclosed only by sharing or query;
    Nantong publishes them (the first test above), with the number masked."""
    settings = load_settings(data_dir=world.data_dir, policy="wuhan")
    with serve_in_thread(create_app(settings, store=world.store)) as url:
        public, agency = world.client("public", url), world.client("agency", url)
        r = public.post(MEMBERS, {"list": "black", "asOf": "2024-03-01"})
        assert [m["code"] for m in r.json()["data"]["listMembers"]["members"]] == [CO]
        assert REP not in r.text and mask_code(REP) not in r.text
        assert public.error_code(ENTRIES, {"code": REP, "asOf": "2024-03-01"}) == "FORBIDDEN"

        assert member_codes(agency, "2024-03-01") == [mask_code(REP), CO, CO_SHARED]
        [e] = agency.data(ENTRIES, {"code": REP, "asOf": "2024-03-01"})["listEntries"]
        assert e["subjectCode"] == mask_code(REP) and e["onList"] is True
        # Wuhan Art. 20: five years, so the organisation's record is still in force.
        assert member_codes(agency, "2026-04-01") == [mask_code(REP), CO, CO2, CO_SHARED]

"""Who may read what, over real HTTP through the real app on the real engine.

One organisation has a record at each disclosure level; every kind of caller asks for
its profile, its check and its legal representative's check, and sees exactly what
DOMAIN.md section 5 allows: hidden records do not appear anywhere, not even as the basis
of a measure, and ID numbers are masked for everyone but the person and operators.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.keys import revoke_key
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.codes import mask_code
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import (
    codes_of_both_kinds,
    entity,
    person,
    person_code,
    record,
    role,
    uscc_code,
)
from tests.live_server import serve_in_thread

CO = uscc_code(501)
REP = person_code(502)
TODAY = china_today()
DAY = (TODAY - dt.timedelta(days=60)).isoformat()

PUB, AUTH, SHARED, LIM, OWN = "t:PUB", "t:AUTH", "t:SHARED", "t:LIM", "t:RP"
ALL_CO = {PUB, AUTH, SHARED, LIM}

PROFILE = """
query Profile($code: String!) {
  subject(code: $code) {
    code name kind
    records { uid disclosure responsible }
    ... on Entity { people { holderCode holderName role current } }
  }
}
"""

CHECK = """
query Check($code: String!) {
  checkSanctions(code: $code) {
    code restricted
    measures { measure basisRecordId via role }
    conflicts { personCode basisRecordIds }
  }
}
"""


@dataclass
class World:
    url: str
    data_dir: Path
    clients: dict[str, Client]

    def __getitem__(self, caller: str) -> Client:
        return self.clients[caller]


@pytest.fixture
def world(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[World]:
    rows = [
        entity(CO, "南通宏达建设工程有限公司"),
        person(REP, "周建国"),
        role(CO, REP, "legal_representative", "2016-04-01"),
        record("PUB", CO, DAY, severity="serious", list="black", disclosure="public",
               responsible=[REP]),
        record("AUTH", CO, DAY, severity="general", disclosure="authorized"),
        record("SHARED", CO, DAY, kind="enforcement", severity="serious", disclosure="shared"),
        record("LIM", CO, DAY, kind="tax_arrears", severity="serious", disclosure="limited"),
        record("RP", REP, DAY, severity="serious", disclosure="public"),
    ]
    summary = load_files(
        store, [write_jsonl(rows)], policy=load_policy("nantong"), provider="t", today=TODAY
    )
    assert summary.rejected_total == 0
    keys = {
        "operator": make_key(store, "operator", "ops"),
        "tax": make_key(store, "agency", "tax-bureau", unit="tax"),
        "env": make_key(store, "agency", "env-bureau", unit="environment"),
        "provider_t": make_key(store, "provider", "court-feed", unit="t"),
        "provider_other": make_key(store, "provider", "other-feed", unit="other"),
        "subject_co": make_key(store, "subject", "co-self", subject=CO),
        "subject_rep": make_key(store, "subject", "rep-self", subject=REP),
        "bank": make_key(store, "agency", "bank", unit="bank"),
    }
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        clients = {name: Client(url, key) for name, key in keys.items()}
        clients["public"] = Client(url, None, purpose=None)
        granted = clients["subject_co"].data(
            "mutation($until: Date!) { grantAuthorization(grantee: \"bank\", until: $until) "
            "{ grantee subjectCode until } }",
            {"until": (TODAY + dt.timedelta(days=30)).isoformat()},
        )["grantAuthorization"]
        assert granted["grantee"] == "bank" and granted["subjectCode"] == CO
        yield World(url, tmp_path / "data", clients)


VISIBLE_CO = {
    "public": {PUB},
    "tax": {PUB, SHARED, LIM},
    "env": {PUB, SHARED},
    "provider_t": ALL_CO,
    "provider_other": {PUB},
    "operator": ALL_CO,
    "subject_co": ALL_CO,
    "subject_rep": {PUB},
    "bank": {PUB, AUTH, SHARED},
}


@pytest.mark.parametrize("caller", sorted(VISIBLE_CO))
def test_each_caller_sees_the_records_its_role_allows(
    world: World, caller: str
) -> None:
    subject = world[caller].data(PROFILE, {"code": CO})["subject"]
    assert {r["uid"] for r in subject["records"]} == VISIBLE_CO[caller]


@pytest.mark.parametrize("caller", sorted(VISIBLE_CO))
def test_check_explanations_never_show_a_hidden_record(
    world: World, caller: str
) -> None:
    check = world[caller].data(CHECK, {"code": CO})["checkSanctions"]
    basis = {m["basisRecordId"] for m in check["measures"]}
    # Every visible negative record grounds at least KEY_SUPERVISION on CO.
    assert basis == VISIBLE_CO[caller]
    assert check["restricted"] is True


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ("tax", {PUB, SHARED, LIM, OWN}),
        ("env", {PUB, SHARED, OWN}),
        ("operator", {PUB, SHARED, LIM, OWN}),
        # The person reads every record that grounds a measure on them (Zhengzhou Art. 18).
        ("subject_rep", {PUB, SHARED, LIM, OWN}),
        ("provider_other", {PUB, OWN}),
    ],
)
def test_a_persons_check_follows_the_same_rules(
    world: World, caller: str, expected: set[str]
) -> None:
    check = world[caller].data(CHECK, {"code": REP})["checkSanctions"]
    assert {m["basisRecordId"] for m in check["measures"]} == expected


def test_where_persons_are_not_public_the_public_sees_none(
    world: World, store: GraphStore
) -> None:
    """Wuhan Art. 19: natural persons' information is never public; Nantong lets the
    catalogue make it public, so the same data answers differently under each."""
    settings = load_settings(data_dir=world.data_dir, policy="wuhan")
    with serve_in_thread(create_app(settings, store=store)) as url:
        public = Client(url, None, purpose=None)
        assert public.error_code(CHECK, {"code": REP}) == "FORBIDDEN"
        assert public.error_code(PROFILE, {"code": REP}) == "FORBIDDEN"
        subject = public.data(PROFILE, {"code": CO})["subject"]
        assert subject["people"] == []
        assert all(r["responsible"] == [] for r in subject["records"])
        r = public.post(CHECK, {"code": CO})
        assert r.json()["data"]["checkSanctions"]["conflicts"] == []
        assert REP not in r.text and mask_code(REP) not in r.text
        agency = Client(url, world["tax"].key)
        assert agency.data(PROFILE, {"code": REP})["subject"]["name"] == "周建国"
    # Under Nantong the public reads a person's public records, with the number masked.
    profile = world["public"].data(PROFILE, {"code": REP})["subject"]
    assert profile["code"] == mask_code(REP)
    assert {r["uid"] for r in profile["records"]} == {OWN}


@pytest.mark.parametrize(
    ("caller", "clear"),
    [("operator", True), ("subject_rep", True), ("tax", False), ("subject_co", False),
     ("bank", False), ("public", False)],
)
def test_id_numbers_are_clear_only_for_the_person_and_operators(
    world: World, caller: str, clear: bool
) -> None:
    r = world[caller].post(PROFILE, {"code": CO})
    subject = r.json()["data"]["subject"]
    shown = REP if clear else mask_code(REP)
    assert [p["holderCode"] for p in subject["people"]] == [shown]
    pub = next(x for x in subject["records"] if x["uid"] == PUB)
    assert pub["responsible"] == [shown]
    assert (REP in r.text) is clear


def test_a_key_without_purpose_reads_nothing(world: World) -> None:
    c = world["tax"]
    r = Client(c.url, c.key, purpose=None).post(PROFILE, {"code": CO})
    body = r.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "PURPOSE_REQUIRED"


@pytest.mark.parametrize("header", ["Bearer cg_not-a-key", "Basic abc", "Bearer"])
def test_a_bad_key_is_refused_not_downgraded(world: World, header: str) -> None:
    c = Client(world.url, None, headers={"Authorization": header})
    r = c.post(PROFILE, {"code": CO})
    assert r.status_code == 200
    assert r.json()["data"] is None
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_expired_and_revoked_keys_stop_working(store: GraphStore, world: World) -> None:
    from api.keys import revoke_key

    expired = make_key(store, "agency", "old-bureau", expires=TODAY - dt.timedelta(days=1))
    assert Client(world.url, expired).error_code(CHECK, {"code": CO}) == "UNAUTHENTICATED"
    fresh = make_key(store, "agency", "short-lived")
    assert Client(world.url, fresh).data(CHECK, {"code": CO})["checkSanctions"]
    revoke_key(store, "short-lived")
    # Resolved keys are cached for a short while; a new app instance sees the revocation.
    settings = load_settings(data_dir=world.data_dir, policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        assert Client(url, fresh).error_code(CHECK, {"code": CO}) == "UNAUTHENTICATED"


def test_grants_expire_and_only_the_subject_grants(world: World) -> None:
    until = (TODAY + dt.timedelta(days=10)).isoformat()
    q = ("mutation($until: Date!, $s: String) { grantAuthorization(grantee: \"env-bureau\", "
         "until: $until, subjectCode: $s) { id } }")
    assert world["tax"].error_code(q, {"until": until}) == "FORBIDDEN"
    assert world["subject_rep"].error_code(q, {"until": until, "s": CO}) == "FORBIDDEN"
    past = (TODAY - dt.timedelta(days=1)).isoformat()
    assert world["subject_co"].error_code(q, {"until": past}) == "INVALID_INPUT"
    # An operator grants on the subject's behalf; env now reads the authorised record.
    world["operator"].data(q, {"until": until, "s": CO})
    subject = world["env"].data(PROFILE, {"code": CO})["subject"]
    assert AUTH in {r["uid"] for r in subject["records"]}


GRANTS = "{ grants { id grantee until withdrawnAt withdrawnBy } }"
WITHDRAW = "mutation($id: String!) { withdrawAuthorization(id: $id) { grantee withdrawnAt } }"


def test_the_subject_withdraws_a_grant_and_the_grantee_reads_no_more(
    world: World, store: GraphStore
) -> None:
    def bank_sees_auth() -> bool:
        subject = world["bank"].data(PROFILE, {"code": CO})["subject"]
        return AUTH in {r["uid"] for r in subject["records"]}

    assert bank_sees_auth()
    (grant,) = world["subject_co"].data(GRANTS)["grants"]
    assert grant["grantee"] == "bank" and grant["withdrawnAt"] is None
    # Nobody else may end it; another subject is told there is no such grant.
    assert world["subject_rep"].error_code(WITHDRAW, {"id": grant["id"]}) == "NOT_FOUND"
    assert world["tax"].error_code(WITHDRAW, {"id": grant["id"]}) == "FORBIDDEN"
    assert bank_sees_auth()
    done = world["subject_co"].data(WITHDRAW, {"id": grant["id"]})["withdrawAuthorization"]
    assert done["grantee"] == "bank" and done["withdrawnAt"]
    assert not bank_sees_auth()
    # Kept, marked; withdrawing again changes nothing.
    again = world["subject_co"].data(WITHDRAW, {"id": grant["id"]})["withdrawAuthorization"]
    assert again["withdrawnAt"] == done["withdrawnAt"]
    (kept,) = world["subject_co"].data(GRANTS)["grants"]
    assert (kept["withdrawnAt"], kept["withdrawnBy"]) == (done["withdrawnAt"], "co-self")


def test_a_grant_to_a_revoked_key_is_refused(world: World, store: GraphStore) -> None:
    revoke_key(store, "env-bureau")
    q = ("mutation($until: Date!) { grantAuthorization(grantee: \"env-bureau\", "
         "until: $until) { id } }")
    until = (TODAY + dt.timedelta(days=10)).isoformat()
    assert world["subject_co"].error_code(q, {"until": until}) == "NOT_FOUND"
    assert len(world["subject_co"].data(GRANTS)["grants"]) == 1  # only the bank's


SEARCH = "query($t: String!) { searchSubjects(text: $t) { code name kind } }"


def test_search_finds_by_name_and_pinyin_within_what_the_caller_may_see(
    world: World, store: GraphStore
) -> None:
    hits = world["tax"].data(SEARCH, {"t": "hongda"})["searchSubjects"]
    assert hits[0]["code"] == CO and hits[0]["name"] == "南通宏达建设工程有限公司"
    people = world["tax"].data(SEARCH, {"t": "周建国"})["searchSubjects"]
    assert [(p["code"], p["kind"]) for p in people] == [(mask_code(REP), "person")]
    settings = load_settings(data_dir=world.data_dir, policy="wuhan")
    with serve_in_thread(create_app(settings, store=store)) as url:
        public = Client(url, None, purpose=None)
        assert public.data(SEARCH, {"t": "周建国"})["searchSubjects"] == []
        assert public.data(SEARCH, {"t": "宏达"})["searchSubjects"][0]["code"] == CO


def test_the_public_may_check_an_organisation_whose_code_passes_as_an_id_number(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    """The public was refused such an organisation (its code taken for a person's by its
    checksum alone). It is now let through when the graph has an organisation with that
    code; a person with such a code, and a code the graph does not have, are refused
    alike, so the answer still says nothing about a person."""
    org_code, person_with_it, nobody = codes_of_both_kinds(3)
    rows = [
        entity(org_code, "北京某某科技有限公司"),
        person(person_with_it, "张三"),
        record("ORG", org_code, DAY, severity="serious", list="black", disclosure="public"),
    ]
    summary = load_files(
        store, [write_jsonl(rows)], policy=load_policy("wuhan"), provider="t", today=TODAY
    )
    assert summary.rejected_total == 0, summary.as_dict()
    settings = load_settings(data_dir=tmp_path / "data", policy="wuhan")
    with serve_in_thread(create_app(settings, store=store)) as url:
        public = Client(url, None, purpose=None)
        check = public.data(CHECK, {"code": org_code})["checkSanctions"]
        assert check["restricted"] is True
        assert {m["basisRecordId"] for m in check["measures"]} == {"t:ORG"}
        assert public.data(PROFILE, {"code": org_code})["subject"]["kind"] == "entity"
        for code in (person_with_it, nobody):
            assert public.error_code(CHECK, {"code": code}) == "FORBIDDEN"
            assert public.error_code(PROFILE, {"code": code}) == "FORBIDDEN"


def test_ftm_subjects_follow_the_same_rules_as_coded_ones(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    """An ``ftm:`` id does not say its kind. Where persons are not public, the public read
    the name of an FtM person through riskScore and learnt from the check that one
    existed; an FtM id embedding an ID number was shown in clear; and an operator could
    not ask the audit log who looked an FtM subject up."""
    org, person_id, nobody = "ftm:co-wuhan", "ftm:cn-ric-320681199009090046", "ftm:nobody"
    rows = [entity(org, "Some Holding Ltd"), person(person_id, "Ivan Petrov")]
    summary = load_files(
        store, [write_jsonl(rows)], policy=load_policy("wuhan"), provider="t", today=TODAY
    )
    assert summary.rejected_total == 0, summary.as_dict()
    settings = load_settings(data_dir=tmp_path / "data", policy="wuhan")
    risk = "query($c: String!) { riskScore(code: $c) { code name kind } }"
    audit = "query($c: String) { auditLog(subjectCode: $c) { subjects fields } }"
    with serve_in_thread(create_app(settings, store=store)) as url:
        public = Client(url, None, purpose=None)
        for code in (person_id, nobody):  # a person and an unknown id: refused alike
            for query in (CHECK, PROFILE, risk):
                assert public.error_code(query, {"code": code, "c": code}) == "FORBIDDEN"
        assert public.data(CHECK, {"code": org})["checkSanctions"]["restricted"] is False
        assert public.data(risk, {"c": org})["riskScore"]["kind"] == "entity"

        agency = Client(url, make_key(store, "agency", "bank", unit="finance"))
        shown = agency.data(PROFILE, {"code": person_id})["subject"]["code"]
        assert shown == "ftm:cn-ric-320***********0046"
        operator = Client(url, make_key(store, "operator", "ops"))
        assert operator.data(PROFILE, {"code": person_id})["subject"]["code"] == person_id
        entries = operator.data(audit, {"c": person_id})["auditLog"]
        assert entries and all(e["subjects"] == ["ftm:cn-ric-320***********0046"]
                               for e in entries)

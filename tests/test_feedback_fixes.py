"""Feedback defects: a measure whose record was deleted after the check, and monthly
reports that a later change rewrote.

1. A system that applied a measure its check really returned can report it even if an
   objection has since deleted the record it rested on (Wuhan Art. 32), and is then told
   to undo it (Zhengzhou Art. 24); a check made after the deletion gives no such measure,
   and its id cannot report one, so a deleted (hidden) record is never revealed.
2. The monthly report of a past month (Nantong Art. 28) stays what was known at its end;
   a change of the ``applied`` flag counts in the month it was made; a reversed
   application cannot be turned into one that was not applied.

Over real HTTP against the real app and the real embedded engine, except the monthly
report across months, which drives ``api.feedback`` with the days given explicitly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api import feedback
from api.app import create_app
from api.check_ids import issue, load_secret
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.access import AccessRules, Caller, CallerRole, load_limited_sharing
from schema.catalogue import load_catalogue
from schema.codes import mask_code
from schema.errors import InvalidInput
from schema.policy import load_policy
from schema.record_life import Standing
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

TODAY = china_today()
MONTH = TODAY.strftime("%Y-%m")
YESTERDAY = TODAY - dt.timedelta(days=1)
D = dt.date.fromisoformat

CO = uscc_code(851)  # R: a serious black-list record, deleted on an objection
REP = person_code(852)  # CO's legal representative: R reaches him
CO_HID = uscc_code(853)  # H: authorized, which the agency may not read; deleted too
CO_CLEAN = uscc_code(854)  # no record at all
CO_KEPT = uscc_code(855)  # K: a public record that stays

R, H, K = "t:R", "t:H", "t:K"

CHECK = """
query Check($code: String!, $asOf: Date) {
  checkSanctions(code: $code, asOf: $asOf) { checkId asOf measures { measure basisRecordId } }
}
"""

REPORT = """
mutation Report($checkId: String!, $code: String!, $measure: String!, $applied: Boolean!,
                $note: String) {
  reportMeasureApplied(checkId: $checkId, code: $code, measure: $measure, applied: $applied,
                       note: $note) {
    id checkId code measure asOf reporter unit applied basis reversed
    trail { by action applied }
  }
}
"""

PENDING = """
query Pending($unit: String) {
  pendingReversals(unit: $unit) {
    application { id code measure unit reporter basis }
    basis { recordId standing }
    otherBasis
  }
}
"""

REVERSE = """
mutation Reverse($id: String!) {
  reportMeasureReversed(applicationId: $id) { id applied reversed }
}
"""

MONTH_REPORT = """
query Month($month: String!) {
  measureReport(month: $month) {
    rows { unit measure applied notApplied reversed pendingReversal }
  }
}
"""

FILE = """
mutation($id: String!) { fileObjection(recordId: $id, reason: "该信息与事实不符") { id } }
"""

RESOLVE = """
mutation($o: String!) {
  resolveObjection(objectionId: $o, outcome: DELETED, note: "经核查有误, 予以删除") {
    status effect
  }
}
"""


@dataclass
class World:
    store: GraphStore
    data_dir: Path
    clients: dict[str, Client]

    def __getitem__(self, caller: str) -> Client:
        return self.clients[caller]

    def check(self, caller: str, code: str, as_of: dt.date | None = None) -> dict[str, Any]:
        variables = {"code": code, "asOf": as_of.isoformat() if as_of else None}
        out: dict[str, Any] = self[caller].data(CHECK, variables)["checkSanctions"]
        return out

    def report_vars(self, check_id: str, code: str, measure: str,
                    applied: bool = True) -> dict[str, Any]:
        return {"checkId": check_id, "code": code, "measure": measure, "applied": applied}

    def report(self, caller: str, check_id: str, code: str, measure: str,
               applied: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = self[caller].data(
            REPORT, self.report_vars(check_id, code, measure, applied))["reportMeasureApplied"]
        return out

    def refusal(self, caller: str, check_id: str, code: str, measure: str) -> tuple[str, str]:
        """The error code and message, the check id in it replaced."""
        r = self[caller].post(REPORT, self.report_vars(check_id, code, measure))
        error = r.json()["errors"][0]
        return error["extensions"]["code"], error["message"].replace(check_id, "<id>")

    def delete(self, record_id: str) -> None:
        """An objection upheld: the platform deletes the record (Wuhan Art. 32)."""
        oid = self["operator"].data(FILE, {"id": record_id})["fileObjection"]["id"]
        done = self["operator"].data(RESOLVE, {"o": oid})["resolveObjection"]
        assert done["status"] == "resolved" and done["effect"] == "deleted"

    def pending(self, caller: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self[caller].data(PENDING)["pendingReversals"]
        return out

    def month(self, caller: str = "operator") -> dict[tuple[str, str], dict[str, int]]:
        rows = self[caller].data(MONTH_REPORT, {"month": MONTH})["measureReport"]["rows"]
        return {(r["unit"], r["measure"]): {k: r[k] for k in (
            "applied", "notApplied", "reversed", "pendingReversal")} for r in rows}


@pytest.fixture
def world(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[World]:
    recent = (TODAY - dt.timedelta(days=60)).isoformat()
    rows = [
        entity(CO, "武汉宏达建设工程有限公司"),
        entity(CO_HID, "武汉瑞丰贸易有限公司"),
        entity(CO_CLEAN, "武汉清源科技有限公司"),
        entity(CO_KEPT, "武汉永兴物流有限公司"),
        person(REP, "周建国"),
        role(CO, REP, "legal_representative", "2016-04-01"),
        record("R", CO, recent, severity="serious", list="black", disclosure="public"),
        record("H", CO_HID, recent, severity="serious", disclosure="authorized"),
        record("K", CO_KEPT, recent, severity="serious", list="black", disclosure="public"),
    ]
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("wuhan"),
                         provider="t", today=TODAY)
    assert summary.rejected_total == 0
    keys = {
        "operator": make_key(store, "operator", "ops"),
        "finance": make_key(store, "agency", "procurement-platform", unit="finance"),
        "finance2": make_key(store, "agency", "funds-platform", unit="finance"),
    }
    data_dir = tmp_path / "data"
    settings = load_settings(data_dir=data_dir, policy="wuhan")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield World(store, data_dir, {name: Client(url, key) for name, key in keys.items()})


def _measures(check: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m["measure"], m["basisRecordId"]) for m in check["measures"]}


def _v1_check_id(world: World, code: str, as_of: dt.date) -> str:
    """An id as the service issued them before ids carried their issue time."""
    nonce = "3f9c0a7e21b4"
    message = f"{code}|{as_of.isoformat()}|wuhan|{nonce}".encode()
    mac = hmac.new(load_secret(world.data_dir), message, hashlib.sha256).hexdigest()[:24]
    return f"{as_of:%Y%m%d}.{nonce}.{mac}"


# --------------------------------------------------------------------------- defect 1


def test_a_measure_applied_before_its_record_was_deleted_is_reported_and_pending(
    world: World,
) -> None:
    """The tester's Wuhan case: check, objection upheld and record deleted, then the
    report of the measure the check returned; it is accepted on the check's answer and
    is at once among the applications to undo."""
    check = world.check("finance", CO)
    assert ("NO_PUBLIC_PROCUREMENT", R) in _measures(check)

    world.delete(R)
    assert world.check("finance", CO)["measures"] == []  # gone from every new check

    app = world.report("finance", check["checkId"], CO, "NO_PUBLIC_PROCUREMENT")
    assert app["applied"] is True and app["basis"] == [R] and app["asOf"] == TODAY.isoformat()

    [item] = world.pending("finance")
    assert item["application"]["id"] == app["id"]
    assert item["basis"] == [{"recordId": R, "standing": "deleted"}]
    assert item["otherBasis"] == []
    assert world.month()[("finance", "NO_PUBLIC_PROCUREMENT")] == {
        "applied": 1, "notApplied": 0, "reversed": 0, "pendingReversal": 1}

    # Undone and reported: it leaves the list.
    world["finance"].data(REVERSE, {"id": app["id"]})
    assert world.pending("finance") == []


def test_an_id_number_reported_on_a_deleted_basis_is_shown_only_to_its_reporter(
    world: World,
) -> None:
    """R reaches REP, CO's legal representative: reported on his ID number, the
    application is shown with it to the key that sent it and masked to the other key of
    the unit; the refusal of a measure the check did not give names no ID number."""
    check = world.check("finance", REP)
    grounded = {m for m, basis in _measures(check) if basis == R}
    assert grounded
    measure = sorted(grounded)[0]
    world.delete(R)

    assert "MARKET_BAN" not in grounded
    code, message = world.refusal("finance", check["checkId"], REP, "MARKET_BAN")
    assert code == "INVALID_INPUT" and REP not in message

    app = world.report("finance", check["checkId"], REP, measure)
    assert app["code"] == REP and app["basis"] == [R]
    [mine] = world.pending("finance")
    assert mine["application"]["code"] == REP and mine["basis"][0]["standing"] == "deleted"
    [theirs] = world.pending("finance2")
    assert theirs["application"]["code"] == mask_code(REP)
    assert REP not in str(theirs)


def test_a_check_made_after_the_deletion_cannot_report_its_measures(world: World) -> None:
    """A check made after the deletion, even as of a day before it, returns no measure:
    a report naming one is refused exactly as for a subject without records, so it tells
    the key nothing about the deleted record. The same holds for a record the key could
    never read (authorized), and for ids issued before they carried their time, which are
    judged as a check made now."""
    clean = world.check("finance", CO_CLEAN, as_of=YESTERDAY)
    expected = world.refusal("finance", clean["checkId"], CO_CLEAN, "NO_PUBLIC_PROCUREMENT")
    assert expected[0] == "INVALID_INPUT" and "did not apply" in expected[1]

    hidden_before = world.check("finance", CO_HID)
    assert hidden_before["measures"] == []  # H is authorized: not the agency's to read
    world.delete(R)
    world.delete(H)

    after = world.check("finance", CO, as_of=YESTERDAY)
    assert after["measures"] == []  # deleted records ground nothing, whatever the date
    assert world.refusal("finance", after["checkId"], CO, "NO_PUBLIC_PROCUREMENT") == expected
    clean_today = world.check("finance", CO_CLEAN)["checkId"]
    assert world.refusal("finance", hidden_before["checkId"], CO_HID,
                         "KEY_SUPERVISION") == world.refusal(
        "finance", clean_today, CO_CLEAN, "KEY_SUPERVISION")
    old_style = _v1_check_id(world, CO, YESTERDAY)
    assert world.refusal("finance", old_style, CO, "NO_PUBLIC_PROCUREMENT") == expected
    assert world.pending("operator") == [] and world.month() == {}

    # An old-style id still reports a measure that stands.
    kept = world.report("finance", _v1_check_id(world, CO_KEPT, TODAY), CO_KEPT,
                        "NO_PUBLIC_PROCUREMENT")
    assert kept["basis"] == [K]


# --------------------------------------------------------------------------- defect 2


def test_a_reversed_application_cannot_become_not_applied(world: World) -> None:
    check = world.check("finance", CO_KEPT)
    app = world.report("finance", check["checkId"], CO_KEPT, "NO_PUBLIC_PROCUREMENT")
    done = world["finance"].data(REVERSE, {"id": app["id"]})["reportMeasureReversed"]
    assert done["reversed"] is True

    r = world["finance"].post(REPORT, world.report_vars(
        check["checkId"], CO_KEPT, "NO_PUBLIC_PROCUREMENT", applied=False))
    error = r.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert "reversed" in error["message"] and app["id"] in error["message"]

    again = world.report("finance", check["checkId"], CO_KEPT, "NO_PUBLIC_PROCUREMENT")
    assert again["applied"] is True and again["reversed"] is True
    assert [t["action"] for t in again["trail"]] == ["reported", "reversed"]
    assert world.month()[("finance", "NO_PUBLIC_PROCUREMENT")] == {
        "applied": 1, "notApplied": 0, "reversed": 1, "pendingReversal": 0}


NT_CO = uscc_code(861)
OCT = D("2026-10-12")
NOV = D("2026-11-05")
NOW = D("2026-11-22")


def test_a_past_months_report_stays_what_was_known_at_its_end(
    store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    """Nantong Art. 28. In October a bank reported NO_PUBLIC_PROCUREMENT applied and
    NO_FISCAL_FUNDS not applied, both on a serious record whose three years ended that
    month; on 5 November it changed both flags. October's report does not move; the
    changes count in November, each once, by the flag they set."""
    policy = load_policy("nantong")
    summary = load_files(store, [write_jsonl([
        entity(NT_CO, "南通宏达建设工程有限公司"),
        record("OLD", NT_CO, "2023-10-15", severity="serious", list="black"),
    ])], policy=policy, provider="t", today=OCT)
    assert summary.rejected_total == 0
    rules = AccessRules(policy, load_limited_sharing())
    catalogue = load_catalogue()
    secret = b"m" * 32
    bank = Caller(CallerRole.AGENCY, key_name="bank", unit="bank")

    def report(check_id: str, measure: str, applied: bool, day: dt.date) -> feedback.Application:
        return feedback.report_applied(
            store, bank, secret=secret, policy=policy, rules=rules, catalogue=catalogue,
            check_id=check_id, code=NT_CO, measure=measure, applied=applied, today=day,
            now=f"{day.isoformat()}T02:00:00+00:00",
        )

    def month(m: str) -> dict[str, dict[str, int]]:
        rep = feedback.monthly_report(store, policy=policy, catalogue=catalogue, month=m,
                                      today=NOW)
        return {r.measure: {"applied": r.applied, "notApplied": r.not_applied,
                            "reversed": r.reversed, "pending": r.pending_reversal}
                for r in rep.rows}

    c1, c2 = (issue(secret, NT_CO, OCT, policy.name) for _ in range(2))
    report(c1, "NO_PUBLIC_PROCUREMENT", True, OCT)
    report(c2, "NO_FISCAL_FUNDS", False, OCT)
    october = {
        "NO_PUBLIC_PROCUREMENT": {"applied": 1, "notApplied": 0, "reversed": 0, "pending": 1},
        "NO_FISCAL_FUNDS": {"applied": 0, "notApplied": 1, "reversed": 0, "pending": 0},
    }
    assert month("2026-10") == october

    flipped = report(c1, "NO_PUBLIC_PROCUREMENT", False, NOV)
    assert flipped.applied is False
    report(c2, "NO_FISCAL_FUNDS", True, NOV)

    assert month("2026-10") == october
    assert month("2026-11") == {
        "NO_PUBLIC_PROCUREMENT": {"applied": 0, "notApplied": 1, "reversed": 0, "pending": 0},
        "NO_FISCAL_FUNDS": {"applied": 1, "notApplied": 0, "reversed": 0, "pending": 1},
    }
    # Changed back within November: counted once, by the flag at the month's end.
    report(c2, "NO_FISCAL_FUNDS", False, D("2026-11-06"))
    report(c2, "NO_FISCAL_FUNDS", True, D("2026-11-07"))
    assert month("2026-11")["NO_FISCAL_FUNDS"] == {
        "applied": 1, "notApplied": 0, "reversed": 0, "pending": 1}
    assert month("2026-10") == october

    # Today's list follows the flags as they are now.
    pending = feedback.pending_reversals(store, policy=policy, catalogue=catalogue, today=NOW)
    assert [p.application.measure for p in pending] == ["NO_FISCAL_FUNDS"]

    # A reversed application keeps its flag (here through the service, not GraphQL).
    [open_app] = pending
    feedback.report_reversed(store, bank, open_app.application.id, today=NOW)
    with pytest.raises(InvalidInput, match="reversed"):
        report(c2, "NO_FISCAL_FUNDS", False, NOW)


NT_CO2 = uscc_code(862)


def test_a_deletion_dated_back_into_a_past_month_does_not_rewrite_its_report(
    store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    """Applied in October on a record in force all month; in November an objection is
    upheld and the record deleted with effect from 28 October. October's report, made
    at its end, had nothing pending; it still has not. November's has it pending."""
    from api import objections as obj
    from api.record_procedures import Actor

    policy = load_policy("nantong")
    summary = load_files(store, [write_jsonl([
        entity(NT_CO2, "南通远景贸易有限公司"),
        record("R5", NT_CO2, "2026-06-01", severity="serious", list="black"),
    ])], policy=policy, provider="t", today=OCT)
    assert summary.rejected_total == 0
    rules = AccessRules(policy, load_limited_sharing())
    catalogue = load_catalogue()
    secret = b"n" * 32
    bank = Caller(CallerRole.AGENCY, key_name="bank", unit="bank")
    feedback.report_applied(
        store, bank, secret=secret, policy=policy, rules=rules, catalogue=catalogue,
        check_id=issue(secret, NT_CO2, OCT, policy.name), code=NT_CO2,
        measure="NO_PUBLIC_PROCUREMENT", applied=True, today=OCT,
    )

    def pending_in(m: str) -> int:
        rep = feedback.monthly_report(store, policy=policy, catalogue=catalogue, month=m,
                                      today=NOW)
        return sum(r.pending_reversal for r in rep.rows)

    assert (pending_in("2026-10"), pending_in("2026-11")) == (0, 0)
    operator = Actor(Caller(CallerRole.OPERATOR, key_name="ops"), NOW)
    filed = obj.file_objection(store, rules, operator, record_uid="t:R5",
                               reason="与事实不符", on=D("2026-10-20"))
    obj.resolve_objection(store, rules, operator, objection_id=filed.id,
                          outcome=obj.Outcome.DELETED, note="核实有误", on=D("2026-10-28"))
    assert (pending_in("2026-10"), pending_in("2026-11")) == (0, 1)
    [due] = feedback.pending_reversals(store, policy=policy, catalogue=catalogue, today=NOW)
    assert [b.standing for b in due.basis] == [Standing.DELETED]

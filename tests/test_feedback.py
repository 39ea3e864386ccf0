"""Feedback from the systems that apply measures, and reversal, over real HTTP.

Systems run a check, apply a measure and report it with the check's signed id (Nantong
Art. 28); when the records that grounded it stop grounding it (withdrawn, expired), the
application appears in ``pendingReversals`` until the system reports it undid it
(Zhengzhou Art. 24). Everything goes through the real app, real keys and the real
engine; the monthly report is read through GraphQL and the CLI.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.check_ids import load_secret
from api.settings import load_settings
from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.codes import mask_code
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

TODAY = china_today()
MONTH = TODAY.strftime("%Y-%m")

CO_A = uscc_code(801)  # a black-list record, withdrawn by its provider during the test
CO_B = uscc_code(802)  # a general record now expired, and a newer one
CO_C = uscc_code(803)  # a public and a limited record grounding the same measures
REP = person_code(804)

BLK_A, OLD_B, NEW_B, PUB_C, LIM_C = "t:BLK_A", "t:OLD_B", "t:NEW_B", "t:PUB_C", "t:LIM_C"
OLD_B_DECIDED = TODAY - dt.timedelta(days=400)  # general: disclosed one year (Nantong Art. 30)
PAST = OLD_B_DECIDED + dt.timedelta(days=30)  # OLD_B was in force then, NEW_B not yet

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
    id checkId code measure asOf reporter unit applied note basis reversed
    trail { by action applied note }
  }
}
"""

PENDING = """
query Pending($unit: String) {
  pendingReversals(unit: $unit) {
    application { id code measure unit reporter asOf }
    basis { recordId standing reason since }
    otherBasis
  }
}
"""

REVERSE = """
mutation Reverse($id: String!, $note: String) {
  reportMeasureReversed(applicationId: $id, note: $note) {
    id reversed reversedBy reversalNote trail { action by note }
  }
}
"""

MONTH_REPORT = """
query Month($month: String!, $unit: String) {
  measureReport(month: $month, unit: $unit) {
    month pendingAsOf
    rows { unit measure applied notApplied reversed pendingReversal }
  }
}
"""


@dataclass
class World:
    store: GraphStore
    url: str
    data_dir: Path
    clients: dict[str, Client]
    write_jsonl: Callable[[list[dict[str, Any]]], Path]

    def __getitem__(self, caller: str) -> Client:
        return self.clients[caller]

    def check_id(self, caller: str, code: str, as_of: dt.date | None = None) -> str:
        variables = {"code": code, "asOf": as_of.isoformat() if as_of else None}
        check = self[caller].data(CHECK, variables)["checkSanctions"]
        return str(check["checkId"])

    def report(self, caller: str, code: str, measure: str, *, applied: bool = True,
               as_of: dt.date | None = None, check_id: str | None = None,
               note: str | None = None) -> dict[str, Any]:
        variables = {"checkId": check_id or self.check_id(caller, code, as_of), "code": code,
                     "measure": measure, "applied": applied, "note": note}
        out: dict[str, Any] = self[caller].data(REPORT, variables)["reportMeasureApplied"]
        return out

    def pending(self, caller: str, unit: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self[caller].data(PENDING, {"unit": unit})["pendingReversals"]
        return out

    def withdraw(self, rid: str) -> None:
        row = {"type": "record", "id": rid, "action": "withdraw"}
        summary = load_files(self.store, [self.write_jsonl([row])], policy=load_policy("nantong"),
                             provider="t", today=TODAY)
        assert summary.rejected_total == 0


@pytest.fixture
def world(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[World]:
    recent = (TODAY - dt.timedelta(days=60)).isoformat()
    rows = [
        entity(CO_A, "南通宏达建设工程有限公司"),
        entity(CO_B, "南通永兴物流有限公司"),
        entity(CO_C, "南通海润化工有限公司"),
        person(REP, "周建国"),
        role(CO_A, REP, "legal_representative", "2016-04-01"),
        record("BLK_A", CO_A, recent, severity="serious", list="black", disclosure="public"),
        record("OLD_B", CO_B, OLD_B_DECIDED.isoformat(), severity="general",
               disclosure="public"),
        record("NEW_B", CO_B, (TODAY - dt.timedelta(days=30)).isoformat(), severity="general",
               disclosure="public"),
        record("PUB_C", CO_C, recent, severity="serious", disclosure="public"),
        record("LIM_C", CO_C, recent, kind="tax_arrears", severity="serious",
               disclosure="limited"),
    ]
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"),
                         provider="t", today=TODAY)
    assert summary.rejected_total == 0
    keys = {
        "operator": make_key(store, "operator", "ops"),
        "finance": make_key(store, "agency", "procurement-platform", unit="finance"),
        "finance2": make_key(store, "agency", "funds-platform", unit="finance"),
        "env": make_key(store, "agency", "env-bureau", unit="environment"),
        "provider": make_key(store, "provider", "court-feed", unit="t"),
        "subject": make_key(store, "subject", "a-self", subject=CO_A),
    }
    data_dir = tmp_path / "data"
    settings = load_settings(data_dir=data_dir, policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        clients = {name: Client(url, key) for name, key in keys.items()}
        clients["public"] = Client(url, None, purpose=None)
        yield World(store, url, data_dir, clients, write_jsonl)


# --------------------------------------------------------------------------- check ids


def test_check_id_is_signed_for_its_code_and_refused_otherwise(world: World) -> None:
    check_id = world.check_id("finance", CO_A)
    assert check_id.startswith(TODAY.strftime("%Y%m%d") + ".")
    app = world.report("finance", CO_A, "NO_PUBLIC_PROCUREMENT", check_id=check_id)
    assert app["checkId"] == check_id and app["asOf"] == TODAY.isoformat()
    assert app["basis"] == [BLK_A] and app["unit"] == "finance"

    variables = {"checkId": check_id, "code": CO_A, "measure": "NO_PUBLIC_PROCUREMENT",
                 "applied": True}
    # The id of CO_A's check does not prove a check of CO_C, which has the same measure.
    assert world["finance"].error_code(REPORT, {**variables, "code": CO_C}) == "INVALID_INPUT"
    forged = check_id[:-1] + ("0" if check_id[-1] != "0" else "1")
    assert world["finance"].error_code(REPORT, {**variables, "checkId": forged}) == "INVALID_INPUT"
    other_day = (TODAY - dt.timedelta(days=1)).strftime("%Y%m%d") + check_id[8:]
    assert world["finance"].error_code(
        REPORT, {**variables, "checkId": other_day}) == "INVALID_INPUT"
    r = world["finance"].post(REPORT, {**variables, "checkId": "not-a-check-id"})
    assert "not a check id" in r.json()["errors"][0]["message"]


def test_check_ids_outlive_a_restart_and_the_secret_stays_private(
    world: World, store: GraphStore
) -> None:
    check_id = world.check_id("finance", CO_A)
    secret = world.data_dir / "check-id.key"
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_bytes()) == 32
    settings = load_settings(data_dir=world.data_dir, policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        again = Client(url, world["finance"].key)
        variables = {"checkId": check_id, "code": CO_A, "measure": "KEY_SUPERVISION",
                     "applied": True}
        assert again.data(REPORT, variables)["reportMeasureApplied"]["basis"] == [BLK_A]


def test_a_new_check_id_secret_is_announced_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A second host meant to share the first one's secret but given none makes its own;
    its ids are then refused elsewhere. The log line is how an operator finds out."""
    with caplog.at_level(logging.WARNING, logger="credit_graph.api"):
        first = load_secret(tmp_path)
        again = load_secret(tmp_path)
    assert first == again
    made = [r.getMessage() for r in caplog.records if "new check-id secret" in r.getMessage()]
    assert made == [
        f"made a new check-id secret {tmp_path / 'check-id.key'}: every instance answering "
        "checks for this graph must use this same file"
    ]


def test_a_measure_the_check_did_not_ground_is_refused(world: World) -> None:
    check_id = world.check_id("finance", CO_A)
    variables = {"checkId": check_id, "code": CO_A, "measure": "MARKET_BAN", "applied": True}
    r = world["finance"].post(REPORT, variables)
    error = r.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert "MARKET_BAN did not apply" in error["message"]
    # an incentive is not a measure of this check either, nor an unknown code
    for measure in ("GREEN_CHANNEL", "NO_SUCH_MEASURE"):
        assert world["finance"].error_code(REPORT, {**variables, "measure": measure}) == (
            "INVALID_INPUT")


def test_only_systems_that_apply_measures_report_them(world: World) -> None:
    check_id = world.check_id("operator", CO_A)
    variables = {"checkId": check_id, "code": CO_A, "measure": "KEY_SUPERVISION",
                 "applied": True}
    assert world["public"].error_code(REPORT, variables) == "FORBIDDEN"
    assert world["subject"].error_code(REPORT, variables) == "FORBIDDEN"
    assert world["public"].error_code(PENDING) == "FORBIDDEN"
    assert world["subject"].error_code(MONTH_REPORT, {"month": MONTH}) == "FORBIDDEN"
    # a provider key is a system that may apply measures too
    assert world.report("provider", CO_A, "KEY_SUPERVISION", check_id=check_id)["applied"]


def test_reporting_again_is_idempotent_and_a_changed_flag_is_kept(world: World) -> None:
    check_id = world.check_id("finance", CO_A)
    first = world.report("finance", CO_A, "NO_FISCAL_FUNDS", check_id=check_id, note="项目 7")
    again = world.report("finance", CO_A, "NO_FISCAL_FUNDS", check_id=check_id, note="again")
    assert again == first
    assert [t["action"] for t in first["trail"]] == ["reported"]
    assert first["trail"][0]["by"] == "procurement-platform"

    changed = world.report("finance", CO_A, "NO_FISCAL_FUNDS", check_id=check_id,
                           applied=False, note="申请已撤回, 未实施")
    assert changed["id"] == first["id"] and changed["applied"] is False
    assert [(t["action"], t["applied"]) for t in changed["trail"]] == [
        ("reported", True), ("applied_changed", False)]
    assert changed["trail"][1]["note"] == "申请已撤回, 未实施"
    # another key reporting the same check is another application
    other = world.report("finance2", CO_A, "NO_FISCAL_FUNDS", check_id=check_id)
    assert other["id"] != first["id"] and other["reporter"] == "funds-platform"


# --------------------------------------------------------------------------- reversal


def test_withdrawn_basis_puts_the_application_up_for_reversal_until_reversed(
    world: World,
) -> None:
    app = world.report("finance", CO_A, "NO_PUBLIC_PROCUREMENT")
    assert world.pending("finance") == []

    world.withdraw("BLK_A")
    # The measure is gone from the check at once ...
    measures = world["finance"].data(CHECK, {"code": CO_A})["checkSanctions"]["measures"]
    assert measures == []
    # ... and the system that applied it is told to undo it, and why.
    [item] = world.pending("finance")
    assert item["application"]["id"] == app["id"]
    assert item["application"]["code"] == CO_A
    assert item["basis"] == [{"recordId": BLK_A, "standing": "withdrawn",
                              "reason": item["basis"][0]["reason"],
                              "since": TODAY.isoformat()}]
    assert item["basis"][0]["reason"].startswith(f"withdrawn on {TODAY.isoformat()}")
    assert item["otherBasis"] == []

    # Another key may not mark it reversed; the key that reported it may.
    assert world["finance2"].error_code(REVERSE, {"id": app["id"]}) == "FORBIDDEN"
    done = world["finance"].data(REVERSE, {"id": app["id"], "note": "已恢复投标资格"})[
        "reportMeasureReversed"]
    assert done["reversed"] is True and done["reversedBy"] == "procurement-platform"
    assert [t["action"] for t in done["trail"]] == ["reported", "reversed"]
    assert done["trail"][1]["note"] == "已恢复投标资格"
    assert world.pending("finance") == []
    assert world.pending("operator") == []
    # Reporting it again changes nothing.
    again = world["finance"].data(REVERSE, {"id": app["id"]})["reportMeasureReversed"]
    assert again == done


def test_expired_basis_with_a_newer_ground_lists_it_in_other_basis(world: World) -> None:
    # A check as of a past date, when only OLD_B was in force.
    app = world.report("finance", CO_B, "KEY_SUPERVISION", as_of=PAST)
    assert app["asOf"] == PAST.isoformat() and app["basis"] == [OLD_B]

    [item] = world.pending("finance")
    assert item["application"]["id"] == app["id"]
    [basis] = item["basis"]
    assert basis["recordId"] == OLD_B and basis["standing"] == "archived"
    # One year from its decision (Nantong Art. 30), archived from the day after.
    ended = dt.date.fromisoformat(basis["reason"].removeprefix("disclosure period ended "))
    assert OLD_B_DECIDED + dt.timedelta(days=364) <= ended <= OLD_B_DECIDED + dt.timedelta(days=366)
    assert basis["since"] == (ended + dt.timedelta(days=1)).isoformat()
    # KEY_SUPERVISION still stands on CO_B, on NEW_B: the system keeps it on that ground.
    assert item["otherBasis"] == [NEW_B]


def test_a_grounded_measure_is_not_pending(world: World) -> None:
    world.report("finance", CO_C, "NO_PUBLIC_PROCUREMENT")
    world.report("finance", CO_A, "NO_PUBLIC_PROCUREMENT", applied=False)
    assert world.pending("operator") == []
    world.withdraw("BLK_A")
    # Reported as not applied: nothing to undo.
    assert world.pending("operator") == []


def test_each_agency_sees_its_own_units_applications(world: World) -> None:
    fin = world.report("finance", CO_A, "NO_PUBLIC_PROCUREMENT")
    fin2 = world.report("finance2", CO_A, "NO_FISCAL_FUNDS")
    env = world.report("env", CO_A, "KEY_SUPERVISION")
    world.withdraw("BLK_A")

    def ids(items: list[dict[str, Any]]) -> set[str]:
        return {i["application"]["id"] for i in items}

    assert ids(world.pending("finance")) == {fin["id"], fin2["id"]}
    assert ids(world.pending("finance2")) == {fin["id"], fin2["id"]}
    assert ids(world.pending("env")) == {env["id"]}
    assert ids(world.pending("operator")) == {fin["id"], fin2["id"], env["id"]}
    assert ids(world.pending("operator", unit="environment")) == {env["id"]}
    assert world["env"].error_code(PENDING, {"unit": "finance"}) == "FORBIDDEN"
    # Only the key that reported an application (or an operator) reverses it.
    assert world["env"].error_code(REVERSE, {"id": fin["id"]}) == "FORBIDDEN"
    done = world["operator"].data(REVERSE, {"id": fin2["id"], "note": "代为登记"})
    assert done["reportMeasureReversed"]["reversedBy"] == "ops"
    assert ids(world.pending("finance")) == {fin["id"]}


def test_a_record_hidden_from_the_reporter_is_not_shown_as_its_basis(world: World) -> None:
    # Both records ground the measure; the environment bureau may not read LIM_C.
    seen = world["env"].data(CHECK, {"code": CO_C})["checkSanctions"]["measures"]
    assert {m["basisRecordId"] for m in seen} == {PUB_C}
    app = world.report("env", CO_C, "NO_PUBLIC_PROCUREMENT")
    assert app["basis"] == [PUB_C]
    full = world.report("operator", CO_C, "NO_PUBLIC_PROCUREMENT")
    assert full["basis"] == [LIM_C, PUB_C]


def test_a_measure_grounded_only_on_records_hidden_from_the_reporter_is_refused(
    world: World,
) -> None:
    """The report is judged on the check the reporter received: a measure grounded only on
    a record hidden from it is refused exactly as for a subject without any record, so
    the answer does not reveal the record, and no measure its check never gave is kept."""
    co_auth, co_lim, co_clean = uscc_code(805), uscc_code(806), uscc_code(807)
    recent = (TODAY - dt.timedelta(days=60)).isoformat()
    rows = [
        entity(co_auth, "南通瑞丰贸易有限公司"),
        entity(co_lim, "南通安泰建材有限公司"),
        entity(co_clean, "南通清源科技有限公司"),
        # read by the subject and the keys it authorised only
        record("AUTH_D", co_auth, recent, severity="serious", disclosure="authorized"),
        # limited to the courts and public security: not the environment bureau
        record("LIM_E", co_lim, recent, kind="judgment", severity="serious",
               disclosure="limited"),
    ]
    summary = load_files(world.store, [world.write_jsonl(rows)],
                         policy=load_policy("nantong"), provider="t", today=TODAY)
    assert summary.rejected_total == 0

    def refusal(code: str) -> tuple[str, str]:
        check = world["env"].data(CHECK, {"code": code})["checkSanctions"]
        assert check["measures"] == []  # what the bureau's own check answered
        variables = {"checkId": check["checkId"], "code": code,
                     "measure": "KEY_SUPERVISION", "applied": True}
        error = world["env"].post(REPORT, variables).json()["errors"][0]
        return error["extensions"]["code"], error["message"].replace(check["checkId"], "<id>")

    answers = {code: refusal(code) for code in (co_auth, co_lim, co_clean)}
    assert answers[co_auth] == answers[co_lim] == answers[co_clean]
    assert answers[co_clean][0] == "INVALID_INPUT"
    assert "KEY_SUPERVISION did not apply" in answers[co_clean][1]
    assert world.pending("operator") == []
    assert world["operator"].data(MONTH_REPORT, {"month": MONTH})["measureReport"][
        "rows"] == []
    # The records do ground the measure: a key that may read them reports it.
    assert world.report("operator", co_auth, "KEY_SUPERVISION")["basis"] == ["t:AUTH_D"]
    assert world.report("operator", co_lim, "KEY_SUPERVISION")["basis"] == ["t:LIM_E"]


def test_person_codes_are_shown_to_the_reporting_key_and_masked_for_others(
    world: World,
) -> None:
    app = world.report("finance", REP, "NO_OFFICE")
    assert app["code"] == REP and app["basis"] == [BLK_A]
    world.withdraw("BLK_A")
    [mine] = world.pending("finance")
    assert mine["application"]["code"] == REP
    [seen_by_other_key] = world.pending("finance2")
    assert seen_by_other_key["application"]["code"] == mask_code(REP)
    [seen_by_operator] = world.pending("operator")
    assert seen_by_operator["application"]["code"] == REP


# --------------------------------------------------------------------------- monthly report


def _rows(report: dict[str, Any]) -> dict[tuple[str | None, str], dict[str, int]]:
    return {
        (r["unit"], r["measure"]): {k: r[k] for k in
                                    ("applied", "notApplied", "reversed", "pendingReversal")}
        for r in report["rows"]
    }


def _month_fixture(world: World) -> None:
    """finance: 2 applied (1 reversed, 1 pending), 1 not applied; environment: 1 applied
    and still grounded."""
    reversed_app = world.report("finance", CO_A, "NO_PUBLIC_PROCUREMENT")
    world.report("finance", CO_A, "NO_FISCAL_FUNDS")
    world.report("finance", CO_C, "NO_FISCAL_FUNDS", applied=False)
    world.report("env", CO_C, "KEY_SUPERVISION")
    world.withdraw("BLK_A")
    world["finance"].data(REVERSE, {"id": reversed_app["id"]})


def test_monthly_report_counts_per_unit_and_measure(world: World) -> None:
    _month_fixture(world)
    report = world["operator"].data(MONTH_REPORT, {"month": MONTH})["measureReport"]
    assert report["month"] == MONTH and report["pendingAsOf"] == TODAY.isoformat()
    assert _rows(report) == {
        ("finance", "NO_PUBLIC_PROCUREMENT"): {"applied": 1, "notApplied": 0, "reversed": 1,
                                              "pendingReversal": 0},
        ("finance", "NO_FISCAL_FUNDS"): {"applied": 1, "notApplied": 1, "reversed": 0,
                                        "pendingReversal": 1},
        ("environment", "KEY_SUPERVISION"): {"applied": 1, "notApplied": 0, "reversed": 0,
                                            "pendingReversal": 0},
    }
    own = world["env"].data(MONTH_REPORT, {"month": MONTH})["measureReport"]
    assert set(_rows(own)) == {("environment", "KEY_SUPERVISION")}
    assert world["env"].error_code(MONTH_REPORT, {"month": MONTH, "unit": "finance"}) == (
        "FORBIDDEN")
    previous = (TODAY.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    assert world["operator"].data(MONTH_REPORT, {"month": previous})["measureReport"][
        "rows"] == []
    assert world["operator"].error_code(MONTH_REPORT, {"month": "2026-13"}) == "INVALID_INPUT"


CLI = [sys.executable, "-m", "api.cli"]


def _cli_env(world: World, engine: EmbeddedEngine) -> dict[str, str]:
    assert isinstance(world.store, FalkorStore)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    return env | {
        "CREDIT_GRAPH_FALKORDB_URL": f"unix://{engine.socket_path}",
        "CREDIT_GRAPH_FALKORDB_GRAPH": world.store.graph_name,
        "CREDIT_GRAPH_DATA_DIR": str(world.data_dir),
        "CREDIT_GRAPH_POLICY": "nantong",
    }


def test_cli_prints_the_monthly_report_and_signed_check_ids(
    world: World, engine: EmbeddedEngine
) -> None:
    if not isinstance(world.store, FalkorStore):
        pytest.skip("the CLI run reaches the graph through the embedded engine's socket")
    _month_fixture(world)
    env = _cli_env(world, engine)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True,
                              timeout=120)

    as_json = run("feedback", "report", "--month", MONTH, "--json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["month"] == MONTH
    assert {(r["unit"], r["measure"]): r["pendingReversal"] for r in report["rows"]} == {
        ("finance", "NO_PUBLIC_PROCUREMENT"): 0,
        ("finance", "NO_FISCAL_FUNDS"): 1,
        ("environment", "KEY_SUPERVISION"): 0,
    }
    table = run("feedback", "report", "--month", MONTH)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[1].split() == ["unit", "measure", "applied", "not", "applied", "reversed",
                                "pending", "reversal"]
    assert ["finance", "NO_FISCAL_FUNDS", "1", "1", "0", "1"] in [ln.split() for ln in lines]
    bad = run("feedback", "report", "--month", "13/2026")
    assert bad.returncode == 2 and "INVALID_INPUT" in bad.stderr

    # The command-line check signs its id with the service's secret: a system that ran
    # it can report the measure to the service.
    checked = run("check", CO_C)
    assert checked.returncode == 0, checked.stderr
    check_id = json.loads(checked.stdout)["checkId"]
    app = world.report("finance", CO_C, "NO_PUBLIC_PROCUREMENT", check_id=check_id)
    assert app["basis"] == [LIM_C, PUB_C]

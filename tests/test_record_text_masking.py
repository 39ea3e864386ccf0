"""ID numbers a provider typed into a record's text are masked like every other one.

A title such as "对周建国(身份证号 3206...)的行政处罚决定" was shown in clear to every
caller, public ones included, in ``record``, ``subject.records``, ``listEntries`` and a
record's history of versions, although ``subjectCode`` and ``responsible`` mask the same
number. Over real HTTP on the real engine.
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
from schema.codes import mask_id_number
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

TODAY = china_today()
DECIDED = (TODAY - dt.timedelta(days=40)).isoformat()
CO = uscc_code(951)
REP = person_code(952)
TITLE = f"对周建国(身份证号{REP})的行政处罚决定"
DOC_NO = f"通市监罚〔2026〕{REP}号"

TEXT = "uid title documentNo authority"
RECORD = f'query {{ record(recordId: "t:R1") {{ {TEXT} }} }}'
PROFILE = f'query($c: String!) {{ subject(code: $c) {{ records {{ {TEXT} }} }} }}'
ENTRIES = 'query($c: String!) { listEntries(code: $c) { title documentNo authority } }'
VERSIONS = 'query { record(recordId: "t:R1") { history { versions { version title } } } }'


@pytest.fixture
def clients(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[dict[str, Client]]:
    policy = load_policy("nantong")
    first = record("R1", CO, DECIDED, severity="serious", list="black", disclosure="public",
                   title=TITLE, document_no=DOC_NO, authority=f"南通市场监管局 经办 {REP}")
    rows = [entity(CO, "南通文字脱敏测试有限公司"), person(REP, "周建国"),
            role(CO, REP, "legal_representative", "2018-01-01"), first]
    summary = load_files(store, [write_jsonl(rows)], policy=policy, provider="t", today=TODAY)
    assert summary.rejected_total == 0, summary.as_dict()
    # A correction, so the record has a version whose title is the old one.
    again = load_files(store, [write_jsonl([{**first, "title": TITLE + "(更正)"}])],
                       policy=policy, provider="t", today=TODAY)
    assert again.loaded == 1, again.as_dict()
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    keys = {
        "agency": make_key(store, "agency", "bank", unit="bank"),
        "provider": make_key(store, "provider", "court", unit="t"),
        "operator": make_key(store, "operator", "ops"),
        "rep": make_key(store, "subject", "rep", subject=REP),
    }
    with serve_in_thread(create_app(settings, store=store)) as url:
        out = {name: Client(url, key) for name, key in keys.items()}
        out["public"] = Client(url, None, purpose=None)
        yield out


def _texts(answer: Any) -> str:
    return repr(answer)


def test_an_id_number_in_a_records_text_is_masked_for_whoever_may_not_see_it(
    clients: dict[str, Client],
) -> None:
    masked = mask_id_number(REP)
    for who in ("public", "agency"):
        c = clients[who]
        answers = [
            c.data(RECORD)["record"],
            c.data(PROFILE, {"c": CO})["subject"]["records"],
            c.data(ENTRIES, {"c": CO})["listEntries"],
        ]
        for answer in answers:
            assert REP not in _texts(answer), (who, answer)
            assert masked in _texts(answer), (who, answer)
        rec = answers[0]
        assert rec["title"] == TITLE.replace(REP, masked) + "(更正)"
        assert rec["documentNo"] == DOC_NO.replace(REP, masked)
        assert rec["authority"] == f"南通市场监管局 经办 {masked}"
    # The history is for the subject, the provider and operators; the provider who typed
    # the title does not read the person's number in it either.
    versions = clients["provider"].data(VERSIONS)["record"]["history"]["versions"]
    assert [v["title"] for v in versions if v["version"] == 1] == [TITLE.replace(REP, masked)]
    # The platform's operators and the person the number belongs to read it in clear.
    for who in ("operator", "rep"):
        rec = clients[who].data(RECORD)["record"]
        assert rec["title"] == TITLE + "(更正)" and rec["documentNo"] == DOC_NO, who

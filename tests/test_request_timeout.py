"""A request answered TIMEOUT stops its work (api/request_work.py): the batch behind it
stops reading the engine, and its key's fair-share turn is held until its threads end."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from strawberry.types import ExecutionResult

from api.app import create_app
from api.fair_share import FairShare
from api.request_work import in_thread, opened
from api.settings import load_settings
from graph.store import DelegatingStore, GraphStore, Params, Row
from loaders.pipeline import load_files
from schema.errors import RequestTimeout
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, role, uscc_code
from tests.live_server import serve_in_thread

BATCH = """query($codes: [String!]!) {
  a: checkSanctionsBatch(codes: $codes) { code restricted }
  b: checkSanctionsBatch(codes: $codes) { code restricted } }"""


class CountingStore(DelegatingStore):
    """The real store, counting the reads that reach it."""

    def __init__(self, inner: GraphStore) -> None:
        super().__init__(inner)
        self.reads = 0
        self._lock = threading.Lock()

    def read(self, query: str, params: Params | None = None) -> list[Row]:
        with self._lock:
            self.reads += 1
        return self.inner.read(query, params)


def _settled(store: CountingStore, quiet_s: float = 0.5, within_s: float = 60.0) -> int:
    """The read count once no read has been made for ``quiet_s``."""
    deadline = time.monotonic() + within_s
    last = store.reads
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        if store.reads == last:
            return last
        last = store.reads
    raise AssertionError("the engine was still being read after a minute")


def _batch_reads(counting: CountingStore, tmp_path: Path, key: str, codes: list[str],
                 timeout_s: float) -> tuple[dict[str, Any], int]:
    settings = load_settings(data_dir=tmp_path / f"data-{timeout_s}", policy="nantong",
                             request_timeout_s=timeout_s)
    with serve_in_thread(create_app(settings, store=counting)) as url:
        _settled(counting)
        before = counting.reads
        body = Client(url, key).post(BATCH, {"codes": codes}).json()
        after = _settled(counting)
    return body, after - before


def test_a_timed_out_batch_stops_reading_the_engine(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    companies = [uscc_code(1200 + i) for i in range(40)]
    rows: list[dict[str, Any]] = [entity(c, f"公司{i}号有限公司") for i, c in enumerate(companies)]
    for i, c in enumerate(companies):
        p = person_code(1300 + i)
        rows += [person(p, f"法人{i}"), role(c, p, "legal_representative", "2018-01-01")]
    load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"), provider="t",
               today=china_today())
    key = make_key(store, "operator", "night-recheck")
    codes = (companies * 25)[:1000]
    counting = CountingStore(store)

    full, full_reads = _batch_reads(counting, tmp_path, key, codes, timeout_s=600)
    assert "errors" not in full and len(full["data"]["a"]) == 1000
    assert full_reads >= 2000  # at least one read per check

    stopped, stopped_reads = _batch_reads(counting, tmp_path, key, codes, timeout_s=0.3)
    assert stopped["data"] is None
    assert stopped["errors"][0]["extensions"]["code"] == "TIMEOUT"
    # Before, both batches ran to their end in abandoned threads: every read was made.
    assert stopped_reads < full_reads / 2, (stopped_reads, full_reads)


HEAVY = "{ communities { size } }"


async def _answered() -> ExecutionResult:
    return ExecutionResult(data={"ok": True}, errors=None)


def test_the_turn_stays_taken_until_a_timed_out_requests_thread_ends() -> None:
    share = FairShare(per_key=1, wait_s=0.0, fields=["communities"], share=1.0, burst_s=100.0,
                      idle_s=0.0)
    release = threading.Event()
    entered = threading.Event()

    def blocking() -> str:
        entered.set()
        release.wait(30)
        return "done"

    async def work() -> ExecutionResult:
        await in_thread(blocking)
        return ExecutionResult(data={"late": True}, errors=None)

    async def scenario() -> tuple[int, ExecutionResult, int, ExecutionResult]:
        with opened() as request:
            try:
                await asyncio.wait_for(share.run("k", HEAVY, None, work()), timeout=0.2)
            except TimeoutError:
                request.cancel()
        assert entered.is_set()
        held = share.running("k")
        # The key's next heavy request is refused: its last one is still at work.
        refused = await share.run("k", HEAVY, None, _answered())
        release.set()
        for _ in range(300):
            if share.running("k") == 0:
                break
            await asyncio.sleep(0.01)
        after = share.running("k")
        served = await share.run("k", HEAVY, None, _answered())
        return held, refused, after, served

    held, refused, after, served = asyncio.run(scenario())
    assert held == 1
    assert refused.errors and refused.errors[0].extensions == {"code": "LIMIT_EXCEEDED"}
    assert after == 0
    assert served.data == {"ok": True}


def test_work_asked_for_after_the_timeout_never_starts() -> None:
    started = threading.Event()

    async def scenario() -> BaseException | None:
        with opened() as request:
            request.cancel()
            try:
                await in_thread(started.set)
            except RequestTimeout as e:
                return e
        return None

    error = asyncio.run(scenario())
    assert isinstance(error, RequestTimeout)
    assert not started.is_set()

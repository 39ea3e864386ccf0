"""The service's "today" is China's calendar day, whatever the host's time zone: every
period of the regulations counts China's days, and instances serving one graph may run
in different zones. Before, a host behind China (UTC, from 00:00 to 08:00 Beijing time)
answered for yesterday; one ahead filed objections on tomorrow's date."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from api.app import create_app
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.policy import load_policy
from tests.api_client import Client, make_key
from tests.builders import entity, uscc_code
from tests.live_server import serve_in_thread

CO = uscc_code(9601)
CHINA = ZoneInfo("Asia/Shanghai")


def _china_today() -> dt.date:
    return dt.datetime.now(CHINA).date()


def _zone_on_another_day() -> str:
    """A zone whose local date differs from China's right now (one of the two always
    does: UTC-11 is behind China before 19:00 Beijing time, UTC+14 ahead after 18:00)."""
    for zone in ("Pacific/Pago_Pago", "Pacific/Kiritimati"):
        if dt.datetime.now(ZoneInfo(zone)).date() != _china_today():
            return zone
    raise AssertionError("no zone on another day")


@pytest.fixture
def host_elsewhere() -> Iterator[str]:
    zone = _zone_on_another_day()
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        assert dt.date.today() != _china_today()  # the host's own day is another one
        yield zone
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_the_service_answers_for_chinas_today_on_a_host_in_another_zone(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path],
    host_elsewhere: str,
) -> None:
    load_files(store, [write_jsonl([entity(CO, "南通时区测试有限公司")])],
               policy=load_policy("nantong"), provider="t", today=_china_today())
    key = make_key(store, "operator", "ops")
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        before = _china_today()
        answered = Client(url, key).data(
            "query($c: String!) { checkSanctions(code: $c) { asOf } }", {"c": CO}
        )["checkSanctions"]["asOf"]
        after = _china_today()
    assert answered in {before.isoformat(), after.isoformat()}, (answered, host_elsewhere)


def test_a_version_superseded_in_the_utc_evening_stands_for_chinas_day_before() -> None:
    """``superseded_at`` is stored in UTC. A correction made at 18:00 UTC on 22 November
    was made on 23 November in China, so on China's 22 November the record read as it
    was before: taking the UTC date showed the corrected content a day early (a record
    asked for as of yesterday evening came back already corrected)."""
    from schema.record_life import content_on

    old = {"uid": "t:R", "version": 1, "severity": "serious",
           "superseded_at": "2026-11-22T18:00:00.000000+00:00"}
    now = {"uid": "t:R", "version": 2, "severity": "general", "content_since": "2026-11-23"}
    assert content_on(now, [old], dt.date(2026, 11, 22))["severity"] == "serious"
    assert content_on(now, [old], dt.date(2026, 11, 23))["severity"] == "general"

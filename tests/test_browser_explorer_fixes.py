"""The explorer's defects a tester found, in a real browser (Debian's headless Chromium).

The real app on the real embedded engine, with the demo data (``loaders/data/DEMO.md``)
and a few more subjects loaded through the real loader: two persons whose masked ID
numbers read alike, a company with a very long name, and FollowTheMoney subjects
without a USCC (``ftm:`` codes). What a user would notice is asserted: nodes drawn,
their colour, a result that opens, an error shown with the old answer gone, a page
that does not scroll sideways.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.settings import load_settings
from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from loaders.demo import DEMO_SUBMITTED_AT
from loaders.pipeline import load_files
from schema.codes import mask_code
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import make_key
from tests.browser_pages import Watch, watched_page
from tests.builders import entity, person, person_code, role, uscc_code
from tests.live_server import serve_in_thread

ARTIFACTS = Path(__file__).parent / "artifacts"
DEMO = Path(__file__).resolve().parent.parent / "loaders" / "data" / "demo.jsonl"
NANTONG = load_policy("nantong")

# Demo subjects (loaders/data/DEMO.md).
A = "91320602MA1MQ7HD42"  # 南通宏达建设工程有限公司: black list, restricted
A_BAD = "91320602MA1MQ7HD43"  # the same with a wrong check character
X1_NAME = "南通宏达控股集团有限公司"
JIAYUAN = "91320611MA1Q2JYD86"  # 南通嘉源电子科技有限公司; its manager 缪志强 is on the black list
P5 = "32068419800719257X"
P5_NAME = "缪志强"
CHECK_DAY = "2026-11-21"

# Added subjects.
CO = uscc_code(951)
CO_NAME = "碰撞测试有限公司"
P_OLD = person_code(500, birth=dt.date(1960, 1, 1))  # both shown as 320***********500X
P_YOUNG = person_code(500, birth=dt.date(1979, 1, 1))
LONG = uscc_code(952)
LONG_NAME = "超长名称" + "W" * 300
FTM_1, FTM_2 = "ftm:co-ftm-1", "ftm:co-ftm-2"
FTM_1_NAME, FTM_2_NAME = "开放制裁测试甲公司", "开放制裁测试乙公司"


@dataclass
class Site:
    url: str
    agency_key: str


@pytest.fixture(scope="module")
def site(engine: EmbeddedEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    store = FalkorStore.from_socket(str(engine.socket_path),
                                    graph_name=f"webfix_{uuid.uuid4().hex[:10]}")
    store.bootstrap()
    tmp = tmp_path_factory.mktemp("webfix-load")
    try:
        summary = load_files(store, [DEMO], policy=NANTONG, provider="demo",
                             today=china_today(), rejects_to=tmp / "demo.rejects.jsonl",
                             submitted_at=DEMO_SUBMITTED_AT)
        assert summary.rejected_total == 0, summary.as_dict()
        assert mask_code(P_OLD) == mask_code(P_YOUNG) and P_OLD != P_YOUNG
        extra = tmp / "extra.jsonl"
        rows = [
            entity(CO, CO_NAME), person(P_OLD, "钱一"), person(P_YOUNG, "钱二"),
            role(CO, P_OLD, "legal_representative", "2018-01-01"),
            role(CO, P_YOUNG, "supervisor", "2019-01-01"),
            entity(LONG, LONG_NAME),
        ]
        extra.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                         encoding="utf-8")
        summary = load_files(store, [extra], policy=NANTONG, provider="t",
                             today=china_today(), rejects_to=tmp / "extra.rejects.jsonl")
        assert summary.rejected_total == 0, summary.as_dict()

        def ftm(eid: str, schema: str, **props: Any) -> dict[str, Any]:
            return {"id": eid, "schema": schema,
                    "properties": {k: [v] for k, v in props.items()}}

        ftm_file = tmp / "f.ftm.json"
        entities = [
            ftm("co-ftm-1", "Company", name=FTM_1_NAME),
            ftm("co-ftm-2", "Company", name=FTM_2_NAME),
            ftm("co-ftm-holder", "Company", name="开放制裁测试控股公司"),
            ftm("own-1", "Ownership", owner="co-ftm-holder", asset="co-ftm-1"),
            ftm("own-2", "Ownership", owner="co-ftm-holder", asset="co-ftm-2"),
        ]
        ftm_file.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entities),
                            encoding="utf-8")
        summary = load_files(store, [ftm_file], policy=NANTONG, provider="os", fmt="ftm",
                             today=china_today(), rejects_to=tmp / "ftm.rejects.jsonl")
        assert summary.rejected_total == 0, summary.as_dict()
        agency = make_key(store, "agency", "web-fixes-agency", unit="market_regulation")
        settings = load_settings(data_dir=tmp_path_factory.mktemp("webfix-data"),
                                 policy="nantong")
        ARTIFACTS.mkdir(exist_ok=True)
        with serve_in_thread(create_app(settings, store=store)) as url:
            yield Site(url, agency)
    finally:
        store.drop_all()
        store.close()


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, Watch]]:
    yield from watched_page(browser)


@pytest.fixture
def narrow_page(browser: Any) -> Iterator[tuple[Any, Watch]]:
    yield from watched_page(browser, width=1400)


def open_page(pg: Any, site: Site) -> None:
    pg.goto(site.url + "/")
    pg.wait_for_selector("body[data-ready='true']")


def use_key(pg: Any, key: str, role: str) -> None:
    pg.click("#key-panel summary")
    pg.fill("#api-key", key)
    pg.fill("#purpose", "联合惩戒核查：浏览器测试")
    pg.click("#key-form button[type='submit']")
    pg.wait_for_function("r => document.getElementById('whoami').dataset.role === r", arg=role)
    pg.click("#key-panel summary")


def search(pg: Any, text: str) -> None:
    pg.fill("#search", text)
    pg.press("#search", "Enter")


def open_result(pg: Any, text: str, code: str) -> None:
    """Searches, opens the result for `code`, waits for its profile and its graph."""
    search(pg, text)
    pg.locator(f"#results button[data-code='{code}']").click()
    pg.wait_for_selector(f"#profile-body [data-code='{code}']")
    pg.wait_for_function(
        "c => [...window.creditGraph.expanded].some("
        "id => window.creditGraph.cy.getElementById(id).data('code') === c)", arg=code)


def nodes(pg: Any) -> list[dict[str, Any]]:
    return list(pg.evaluate(
        "window.creditGraph.cy.nodes().map(n => ({id: n.id(), code: n.data('code'),"
        " name: n.data('name'), kind: n.data('kind'), risk: n.data('risk'),"
        " colour: n.style('background-color')}))"))


def roles_drawn(pg: Any) -> set[tuple[str, str, str]]:
    """(holder's name, label, organisation's name) of every edge on the canvas."""
    return {(e[0], e[1], e[2]) for e in pg.evaluate(
        "window.creditGraph.cy.edges().map(e => [e.source().data('name'), e.data('label'),"
        " e.target().data('name')])")}


# -- 1. two persons whose masked numbers read alike ------------------------------------


@pytest.mark.parametrize("who", ["public", "agency"])
def test_two_persons_masked_alike_are_two_nodes(
    page: tuple[Any, Watch], site: Site, who: str
) -> None:
    pg, watch = page
    open_page(pg, site)
    if who == "agency":
        use_key(pg, site.agency_key, "agency")
    open_result(pg, CO_NAME, CO)
    persons = [n for n in nodes(pg) if n["kind"] == "person"]
    assert sorted(n["name"] for n in persons) == ["钱一", "钱二"]
    assert {n["code"] for n in persons} == {mask_code(P_OLD)}
    # Each one's own role, drawn from it, and nothing else.
    drawn = roles_drawn(pg)
    assert ("钱一", "法定代表人 2018-01-01–至今", CO_NAME) in drawn
    assert ("钱二", "监事 2019-01-01–至今", CO_NAME) in drawn
    assert len(drawn) == 2
    # The list of subjects in the graph names both; no ID number reached the page.
    pg.click(".node-list summary")
    listed = pg.inner_text("#graph-nodes")
    assert "钱一" in listed and "钱二" in listed
    html = pg.content() + json.dumps(nodes(pg))
    assert P_OLD not in html and P_YOUNG not in html
    pg.screenshot(path=str(ARTIFACTS / f"fix-1-masked-alike-{who}.png"), full_page=True)
    assert watch.errors == []


# -- 2. a masked person's black-list status ---------------------------------------------


def test_a_masked_persons_public_black_list_entry_is_drawn(
    page: tuple[Any, Watch], site: Site
) -> None:
    pg, watch = page
    open_page(pg, site)
    open_result(pg, JIAYUAN, JIAYUAN)
    pg.wait_for_function(
        "n => window.creditGraph.cy.nodes().some(x => x.data('name') === n"
        " && !['pending'].includes(x.data('risk')))", arg=P5_NAME)
    [p5] = [n for n in nodes(pg) if n["name"] == P5_NAME]
    assert p5["code"] == mask_code(P5)
    assert p5["risk"] == "black"
    assert p5["colour"] == "rgb(192,38,45)"  # the black list's red, not the grey of unknown
    pg.click(".node-list summary")
    listed = pg.locator("#graph-nodes button", has_text=P5_NAME).inner_text()
    assert "黑名单" in listed
    assert P5 not in pg.content()
    assert watch.errors == []


# -- 3. a person's full ID number typed into the search box ------------------------------


def test_a_full_id_number_typed_opens_the_person(page: tuple[Any, Watch], site: Site) -> None:
    pg, watch = page
    open_page(pg, site)
    search(pg, P5.lower())
    result = pg.locator("#results button.result")
    result.first.wait_for()
    assert result.count() == 1
    assert result.first.is_enabled()
    result.first.click()
    pg.wait_for_selector("#profile-body .profile-head")
    head = pg.inner_text("#profile-body .profile-head")
    assert P5_NAME in head
    assert "在失信黑名单上" in head
    # The profile's check asks about that person, not about the masked code.
    pg.click("#profile-body .profile-head button:has-text('联合惩戒核查')")
    pg.wait_for_selector("#check-result .check")
    assert P5_NAME in pg.inner_text("#check-result")
    assert pg.locator("#error").is_hidden()
    assert watch.errors == []


# -- 4. ftm: subjects -------------------------------------------------------------------


def test_an_ftm_subject_can_be_checked_and_used_in_the_path_finder(
    page: tuple[Any, Watch], site: Site
) -> None:
    pg, watch = page
    open_page(pg, site)
    pg.fill("#check-code", FTM_1)
    pg.click("#check-form button[type='submit']")
    pg.wait_for_selector("#check-result .check")
    assert FTM_1_NAME in pg.inner_text("#check-result")
    assert pg.locator("#error").is_hidden()

    pg.fill("#path-from", FTM_1)
    pg.fill("#path-to", FTM_2)
    pg.click("#paths-form button[type='submit']")
    path = pg.locator("#path-results li.path").first
    path.wait_for()
    text = path.inner_text()
    assert FTM_1_NAME in text and "开放制裁测试控股公司" in text and FTM_2_NAME in text
    assert pg.locator("#error").is_hidden()
    assert {FTM_1_NAME, FTM_2_NAME} <= {n["name"] for n in nodes(pg)}
    assert watch.errors == []


# -- 5. a failed action leaves no old answer on screen ------------------------------------


def test_a_failed_check_path_search_or_search_clears_the_old_answer(
    page: tuple[Any, Watch], site: Site
) -> None:
    pg, _ = page
    open_page(pg, site)

    pg.fill("#check-code", A)
    pg.fill("#check-asof", CHECK_DAY)
    pg.click("#check-form button[type='submit']")
    pg.wait_for_selector("#check-result .check[data-restricted='true']")
    assert "受限" in pg.inner_text("#check-result")
    pg.fill("#check-code", A_BAD)
    pg.click("#check-form button[type='submit']")
    pg.wait_for_selector("#error[data-code='INVALID_CODE']")
    assert pg.locator("#error").is_visible()
    assert "受限" not in pg.inner_text("#check-result")
    assert pg.locator("#check-result .check").count() == 0

    pg.fill("#path-from", X1_NAME)
    pg.fill("#path-to", A)
    pg.click("#paths-form button[type='submit']")
    pg.locator("#path-results li.path").first.wait_for()
    assert pg.locator("#export-paths").is_enabled()
    pg.fill("#path-to", A_BAD)
    pg.click("#paths-form button[type='submit']")
    pg.wait_for_selector("#error[data-code='INVALID_CODE']")
    assert pg.locator("#path-results li.path").count() == 0
    assert pg.locator("#export-paths").is_disabled()

    search(pg, "宏达")
    pg.locator("#results button.result").first.wait_for()
    search(pg, "宏" * 101)
    pg.wait_for_selector("#error:not([hidden])")
    assert pg.locator("#results button.result").count() == 0
    assert "宏达" not in pg.inner_text("#results")


# -- 6. a long name without break points ---------------------------------------------------


def test_a_long_name_stays_inside_its_panels(narrow_page: tuple[Any, Watch], site: Site) -> None:
    pg, watch = narrow_page
    open_page(pg, site)
    search(pg, "超长名称")
    pg.locator(f"#results button[data-code='{LONG}']").wait_for()
    assert pg.evaluate("document.documentElement.scrollWidth") <= 1400
    pg.locator(f"#results button[data-code='{LONG}']").click()
    pg.wait_for_selector(f"#profile-body [data-code='{LONG}']")
    pg.wait_for_function("c => window.creditGraph.expanded.has(c)", arg=LONG)
    # The node's panel, as a click on it shows it.
    pg.click(".node-list summary")
    pg.locator(f"#graph-nodes button[data-code='{LONG}']").click()
    pg.wait_for_selector("#node-panel:not([hidden])")
    pg.screenshot(path=str(ARTIFACTS / "fix-6-long-name.png"), full_page=True)
    assert pg.evaluate("document.documentElement.scrollWidth") <= 1400
    for inner, outer in (("#profile-body .profile-head h3", "#profile"),
                         ("#node-panel", "section.center"),
                         (f"#results button[data-code='{LONG}'] .name", "#results")):
        right = pg.evaluate(
            "([i, o]) => [document.querySelector(i).getBoundingClientRect().right,"
            " (document.querySelector(o) || document.querySelector(i).parentElement)"
            ".getBoundingClientRect().right]", [inner, outer])
        assert right[0] <= right[1] + 1, (inner, right)
    assert watch.errors == []

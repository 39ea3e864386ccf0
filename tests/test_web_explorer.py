"""The web explorer in a real browser (issue 6, items 4 and 5).

Debian's headless Chromium (``/usr/bin/chromium``, installed by ``make test``) drives the
page served by the real app, on the real engine, with the demo data loaded through the
real loader (``loaders/data/DEMO.md`` says who is who). Each step of the walk saves a
screenshot under ``tests/artifacts/``.

What a user would notice is asserted: the names, records, lists and roles on the
profile; subjects appearing in the graph after a click; the path's subjects; the check's
verdict, measures and the highlighted ``via`` subjects; a downloaded file that parses.
The page must stay on its own origin: every request it makes goes to the app, and the
Content-Security-Policy refuses anything else (a refusal would fail the test).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from api.app import create_app
from api.settings import load_settings
from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from loaders.demo import DEMO_SUBMITTED_AT
from loaders.pipeline import load_files
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import make_key
from tests.browser_pages import Watch, watched_page
from tests.live_server import serve_in_thread

ARTIFACTS = Path(__file__).parent / "artifacts"
DEMO = Path(__file__).resolve().parent.parent / "loaders" / "data" / "demo.jsonl"

# Scenario subjects of loaders/data/DEMO.md.
A = "91320602MA1MQ7HD42"  # 南通宏达建设工程有限公司: black list (scenario 1)
A_NAME = "南通宏达建设工程有限公司"
P1 = "320602196805120358"  # 顾建国, its legal representative 2016-04-01 … 2025-08-31
P1_NAME = "顾建国"
B_NAME = "南通瑞丰纺织品有限公司"  # P1 is its legal representative (scenario 2)
X1_NAME = "南通宏达控股集团有限公司"  # holds X2, which holds X3, which holds A (scenario 12)
X2 = "91320602MA1MX2TY7J"
X3 = "91320602MA1N7HDQXB"
X1 = "91320600251287907L"
CHECK_DAY = "2026-11-21"


@dataclass
class Site:
    url: str
    operator_key: str
    artifacts: Path


@pytest.fixture(scope="module")
def demo_store(
    engine: EmbeddedEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FalkorStore, str]]:
    """The demo data in its own graph of the session's engine, and an operator key."""
    store = FalkorStore.from_socket(str(engine.socket_path),
                                    graph_name=f"web_{uuid.uuid4().hex[:10]}")
    store.bootstrap()
    try:
        rejects = tmp_path_factory.mktemp("web-load") / "demo.rejects.jsonl"
        summary = load_files(store, [DEMO], policy=load_policy("nantong"), provider="demo",
                             today=china_today(), rejects_to=rejects,
                             submitted_at=DEMO_SUBMITTED_AT)
        assert summary.rejected_total == 0, summary.as_dict()
        yield store, make_key(store, "operator", "web-explorer-test")
    finally:
        store.drop_all()
        store.close()


def _serve(
    demo_store: tuple[FalkorStore, str], tmp_path_factory: pytest.TempPathFactory, policy: str
) -> Iterator[Site]:
    store, key = demo_store
    settings = load_settings(data_dir=tmp_path_factory.mktemp(f"web-{policy}"), policy=policy)
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield Site(url, key, ARTIFACTS)


@pytest.fixture(scope="module")
def site(
    demo_store: tuple[FalkorStore, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The real app under the default policy (nantong)."""
    yield from _serve(demo_store, tmp_path_factory, "nantong")


@pytest.fixture(scope="module")
def wuhan_site(
    demo_store: tuple[FalkorStore, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The same graph under Wuhan's rules: natural persons are never public (Art. 19)."""
    yield from _serve(demo_store, tmp_path_factory, "wuhan")


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, Watch]]:
    yield from watched_page(browser, accept_downloads=True)


def shot(pg: Any, site: Site, name: str) -> None:
    pg.screenshot(path=str(site.artifacts / f"{name}.png"), full_page=True)


def open_page(pg: Any, site: Site) -> Any:
    response = pg.goto(site.url + "/")
    pg.wait_for_selector("body[data-ready='true']")
    return response


def use_key(pg: Any, key: str, purpose: str = "联合惩戒核查：浏览器测试") -> None:
    pg.click("#key-panel summary")
    pg.fill("#api-key", key)
    pg.fill("#purpose", purpose)
    pg.click("#key-form button[type='submit']")
    pg.wait_for_function("() => document.getElementById('whoami').dataset.role === 'operator'")
    pg.click("#key-panel summary")


def graph_codes(pg: Any) -> set[str]:
    return set(pg.evaluate("window.creditGraph.cy.nodes().map(n => n.id())"))


def click_node(pg: Any, code: str) -> None:
    """Clicks the node where it is drawn on the canvas, as a user would."""
    pos = pg.evaluate(
        """code => { const cy = window.creditGraph.cy;
                     const box = cy.container().getBoundingClientRect();
                     const p = cy.getElementById(code).renderedPosition();
                     return {x: box.left + p.x, y: box.top + p.y}; }""",
        code,
    )
    pg.mouse.click(pos["x"], pos["y"])


def test_the_investigation_walk(page: tuple[Any, Watch], site: Site) -> None:
    pg, watch = page

    # The page, and nothing but the page's own files, with a self-only policy.
    response = open_page(pg, site)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert pg.inner_text("h1") == "信用信息关联图谱"
    shot(pg, site, "01-start")

    use_key(pg, site.operator_key)

    # 1. Search by pinyin finds the company.
    pg.fill("#search", "nantonghongdajianshe")
    pg.press("#search", "Enter")
    result = pg.locator(f"#results button[data-code='{A}']")
    result.wait_for()
    assert A_NAME in result.inner_text()
    shot(pg, site, "02-search")

    # 2. Its profile: the black-list record, the list entry, the legal representatives
    # with their terms.
    result.click()
    pg.wait_for_selector(f"#profile-body [data-code='{A}']")
    profile = pg.locator("#profile-body")
    assert A_NAME in profile.locator(".profile-head").inner_text()
    record = profile.locator("tr.rec[data-uid='demo:demo-s01-a-wage-arrears']")
    assert "黑名单" in record.inner_text()
    assert "有效" in record.inner_text()
    assert "公开" in record.inner_text()
    lists = profile.locator("[data-part='lists']").inner_text()
    assert "黑名单" in lists and "2025-06-20" in lists and "在名单上" in lists
    people = profile.locator("[data-part='people']").inner_text()
    assert P1_NAME in people and "2016-04-01 – 2025-08-31" in people
    assert "陆文杰" in people
    assert "在失信黑名单上" in profile.locator(".profile-head").inner_text()
    pg.wait_for_function("a => window.creditGraph.expanded.has(a)", arg=A)
    around_a = graph_codes(pg)
    assert {A, P1, X3} <= around_a
    # The company on the black list is drawn as such; its role edges carry their dates.
    pg.wait_for_function("a => window.creditGraph.cy.getElementById(a).data('risk') === 'black'",
                         arg=A)
    edge_labels = pg.evaluate("window.creditGraph.cy.edges().map(e => e.data('label'))")
    assert any("法定代表人" in lab and "2016-04-01–2025-08-31" in lab for lab in edge_labels)
    shot(pg, site, "03-profile")

    # 3. Clicking the former legal representative expands the graph to the other company
    # he represents.
    assert B_NAME not in pg.evaluate("window.creditGraph.cy.nodes().map(n => n.data('name'))")
    click_node(pg, P1)
    pg.wait_for_function("p => window.creditGraph.expanded.has(p)", arg=P1)
    names = pg.evaluate("window.creditGraph.cy.nodes().map(n => n.data('name'))")
    assert B_NAME in names
    assert len(graph_codes(pg)) > len(around_a)
    assert P1_NAME in pg.inner_text("#node-panel")
    assert "个主体" in pg.inner_text("#graph-status")
    shot(pg, site, "04-expand")

    # 4. The path from the holding group (typed by name) down the shareholding chain.
    pg.fill("#path-from", X1_NAME)
    pg.fill("#path-to", A)
    pg.click("#paths-form button[type='submit']")
    paths = pg.locator("#path-results li.path")
    paths.first.wait_for()
    assert "3 步" in paths.first.inner_text()
    # Several 3-hop paths exist (through shared people too); the ownership chain is one.
    chain = paths.filter(has_text="（3 步）").filter(has_text="南通宏达投资发展有限公司")
    assert chain.count() == 1
    text = chain.inner_text()
    assert text.index(X1_NAME) < text.index("南通宏达投资发展有限公司") < text.index(A_NAME)
    assert "股东" in text
    chain.locator("button").click()
    highlighted = set(pg.evaluate("window.creditGraph.cy.nodes('.hl').map(n => n.id())"))
    assert highlighted == {X1, X2, X3, A}
    shot(pg, site, "05-path")

    # 5. The check of the former legal representative: restricted through A's record,
    # explained, with the via subjects highlighted on the graph, and the conflict at B.
    pg.fill("#check-code", P1)
    pg.fill("#check-asof", CHECK_DAY)
    pg.click("#check-form button[type='submit']")
    pg.wait_for_selector("#check-result .check[data-restricted='true']")
    check = pg.inner_text("#check-result")
    assert "受限" in check
    assert "demo:demo-s01-a-wage-arrears" in check
    assert "法定代表人" in check
    assert f"{P1_NAME} → {A_NAME}" in check
    assert "2028-06-20" in check
    assert "任职冲突" in check and B_NAME in check
    pg.wait_for_function(
        "([a, p]) => { const cy = window.creditGraph.cy;"
        " return cy.getElementById(a).hasClass('hl') && cy.getElementById(p).hasClass('hl'); }",
        arg=[A, P1],
    )
    via_edge = pg.evaluate(
        "([a, p]) => { const cy = window.creditGraph.cy;"
        " return cy.getElementById(p).edgesWith(cy.getElementById(a)).filter('.hl').length; }",
        [A, P1],
    )
    assert via_edge >= 1
    shot(pg, site, "06-check")

    # 6. Export A's network as GraphML: a download, which NetworkX reads back.
    pg.locator(f"#results button[data-code='{A}']").click()
    pg.wait_for_selector(f"#profile-body [data-code='{A}']")
    pg.select_option("#export-format", "GRAPHML")
    with pg.expect_download() as dl:
        pg.click("#export-neighborhood")
    saved = site.artifacts / "export-neighborhood.graphml"
    dl.value.save_as(saved)
    g = nx.read_graphml(saved)
    assert A in set(g.nodes) | {d.get("code") for _, d in g.nodes(data=True)}
    assert g.number_of_edges() > 0
    pg.wait_for_selector("#export-status:has-text('.graphml')")

    # ... and the paths as JSON.
    pg.select_option("#export-format", "JSON")
    with pg.expect_download() as dl:
        pg.click("#export-paths")
    body = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert X1 in json.dumps(body, ensure_ascii=False)
    shot(pg, site, "07-export")

    assert watch.foreign(site.url) == []
    assert watch.errors == []


def test_without_a_key_the_page_is_the_public_view(
    page: tuple[Any, Watch], wuhan_site: Site
) -> None:
    pg, watch = page
    site = wuhan_site
    open_page(pg, site)
    assert pg.inner_text("#whoami") == "公众"

    # The company is public; its people are not shown to the public, so none is in the
    # graph and the profile's roles list no natural person.
    pg.fill("#search", "宏达建设")
    pg.press("#search", "Enter")
    pg.locator(f"#results button[data-code='{A}']").click()
    pg.wait_for_selector(f"#profile-body [data-code='{A}']")
    pg.wait_for_function("a => window.creditGraph.expanded.has(a)", arg=A)
    kinds = set(pg.evaluate("window.creditGraph.cy.nodes().map(n => n.data('kind'))"))
    assert kinds == {"entity"}
    assert P1_NAME not in pg.inner_text("#profile-body")

    # A person's name finds nothing; a person's code is refused like any forbidden read.
    pg.fill("#search", P1_NAME)
    pg.press("#search", "Enter")
    pg.wait_for_selector("#results li.hint")
    pg.fill("#check-code", P1)
    pg.click("#check-form button[type='submit']")
    pg.wait_for_selector("#error[data-code='FORBIDDEN']")
    assert "无权查看" in pg.inner_text("#error")
    shot(pg, site, "08-public")
    assert watch.foreign(site.url) == []


def test_english_interface(page: tuple[Any, Watch], site: Site) -> None:
    pg, _ = page
    open_page(pg, site)
    pg.click("#lang")
    assert pg.inner_text("h1") == "Credit information link explorer"
    assert pg.get_attribute("#search", "placeholder").startswith("Name, pinyin")
    pg.fill("#check-code", A)
    pg.fill("#check-asof", CHECK_DAY)
    pg.click("#check-form button[type='submit']")
    pg.wait_for_selector("#check-result .check[data-restricted='true']")
    text = pg.inner_text("#check-result")
    assert "Restricted" in text and "Market ban" in text
    shot(pg, site, "09-english")
    # The choice is remembered for the next visit.
    pg.reload()
    pg.wait_for_selector("body[data-ready='true']")
    assert pg.inner_text("#lang") == "中文"


def test_assets_are_served_with_the_same_policy(site: Site) -> None:
    import httpx

    for path in ("/", "/web/js/main.js", "/web/vendor/cytoscape.esm.min.js", "/web/app.css"):
        r = httpx.get(site.url + path, timeout=30)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"].startswith("default-src 'self'")
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "javascript" in httpx.get(site.url + "/web/js/main.js").headers["content-type"]
    # The GraphQL endpoint and health are where they were.
    assert httpx.get(site.url + "/healthz", timeout=30).json()["status"] == "ok"



def test_without_its_files_the_service_still_starts_and_says_why(tmp_path: Path) -> None:
    import httpx
    from fastapi import FastAPI

    from api.web import mount_explorer

    app = FastAPI()
    mount_explorer(app, tmp_path / "web")
    with serve_in_thread(app) as url:
        r = httpx.get(url + "/", timeout=30)
    assert r.status_code == 503
    assert "web explorer is not installed" in r.text

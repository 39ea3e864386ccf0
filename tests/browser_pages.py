"""A page of the headless Chromium (the ``browser`` fixture of ``tests/conftest.py``)
that records what it did besides what the test asked: its requests and console errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TIMEOUT_MS = 30_000


@dataclass
class Watch:
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def foreign(self, base_url: str) -> list[str]:
        """Requests to anywhere but the site itself (the explorer loads nothing else)."""
        return [u for u in self.requests
                if not (u.startswith(base_url + "/") or u.startswith(("blob:", "data:")))]


def watched_page(browser: Any, width: int = 1600, **context: Any) -> Iterator[tuple[Any, Watch]]:
    """For a fixture to ``yield from``: a page in a fresh context, closed afterwards."""
    ctx = browser.new_context(viewport={"width": width, "height": 1000}, locale="zh-CN",
                              **context)
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    watch = Watch()
    pg.on("request", lambda r: watch.requests.append(r.url))
    pg.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: watch.errors.append(str(e)))
    try:
        yield pg, watch
    finally:
        ctx.close()

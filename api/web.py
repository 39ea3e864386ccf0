"""The web explorer: ``GET /`` and the files under ``web/``, served by the app itself.

Everything the page needs (its scripts, styles and the vendored graph library) is a file
in ``web/``, so the explorer works on a machine with no internet connection. The
Content-Security-Policy below allows only this origin: a page that tried to load
anything from a CDN would be refused by the browser, which makes the promise checkable
(``tests/test_web_explorer.py`` watches for refusals and outside requests).

The headers go on the page and on its assets only. GraphiQL at ``/graphql`` (outside
production) loads its own assets and keeps Strawberry's defaults.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, PlainTextResponse
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "WEB_DIR", "mount_explorer"]

log = logging.getLogger("credit_graph.api")

#: The checkout's ``web/`` folder; the service runs from its checkout (``pip install -e``).
WEB_DIR = Path(__file__).resolve().parent.parent / "web"

#: Self only. No 'unsafe-inline' and no 'unsafe-eval': the page has no inline script or
#: style and the vendored Cytoscape needs neither (its one injected <style> is pre-empted
#: by an element with the id it looks for, see web/index.html). Downloads are made from
#: blob: URLs by an <a download> click, which no directive governs.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class _WithSecurityHeaders:
    """Adds the headers to every response of the wrapped ASGI app (a plain ASGI wrapper,
    so it costs nothing on ``/graphql``, which it never sees)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in SECURITY_HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = [*kept, *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _IndexPage:
    """``web/index.html`` with ``no-cache``: a new release's page is fetched again, and it
    names its assets, so those follow."""

    def __init__(self, index: Path) -> None:
        self.index = index

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = FileResponse(
            self.index, media_type="text/html; charset=utf-8",
            headers={"cache-control": "no-cache"},
        )
        await response(scope, receive, send)


def mount_explorer(app: FastAPI, web_dir: Path = WEB_DIR) -> None:
    """Serve the explorer at ``/`` and its assets at ``/web/``.

    Without ``web/`` (an install that did not keep the checkout) the GraphQL service
    still starts: integrating systems do not need the page. ``/`` then answers 503 and
    says why, and start-up logs it once.
    """
    index = web_dir / "index.html"
    page: ASGIApp
    if index.is_file():
        app.mount("/web", _WithSecurityHeaders(StaticFiles(directory=web_dir)), name="web")
        page = _IndexPage(index)
    else:
        log.error("the web explorer is missing: %s not found; / answers 503", index)
        page = PlainTextResponse(f"the web explorer is not installed ({index} not found)",
                                 status_code=503)
    # A Route around a plain ASGI app (not a request handler), so the headers wrap it too.
    app.router.routes.append(
        Route("/", _WithSecurityHeaders(page), methods=["GET", "HEAD"], include_in_schema=False)
    )

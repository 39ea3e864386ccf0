"""Run the joint-punishment check: validate the code, one traversal, the rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from graph.store import GraphStore
from queries.check import CHECK_TRAVERSAL
from queries.records import VERSIONS_OF
from schema.catalogue import Catalogue
from schema.codes import classify, is_external, validate_external
from schema.policy import Policy
from schema.record_life import content_on, needs_history
from schema.sanctions import SanctionCheck, evaluate

# Open ends of dated roles, as ISO strings that sort before / after every real date.
MIN_DATE = "0001-01-01"
MAX_DATE = "9999-12-31"


def check_sanctions(
    store: GraphStore,
    code: str,
    *,
    policy: Policy,
    catalogue: Catalogue,
    as_of: dt.date | None = None,
    measure: str | None = None,
    visible: Callable[[Mapping[str, Any]], bool] | None = None,
    check_id: str | None = None,
) -> SanctionCheck:
    key = check_key(code)
    day = as_of or dt.date.today()
    rows = store.read(
        CHECK_TRAVERSAL,
        {
            "code": key,
            "as_of": day.isoformat(),
            "min_date": MIN_DATE,
            "max_date": MAX_DATE,
            "named": "responsible",
            "negative": "negative",
        },
    )
    rows = with_content_on(store, rows, day)
    return evaluate(
        key, rows, as_of=day, policy=policy, catalogue=catalogue, measure=measure,
        visible=visible, check_id=check_id,
    )


def with_content_on(
    store: GraphStore, rows: list[dict[str, Any]], day: dt.date
) -> list[dict[str, Any]]:
    """Rows whose record changed after ``day`` get the content that stood on ``day``:
    one extra read, and only when such a record is among them."""
    stale = sorted({
        r["record"]["uid"] for r in rows if r.get("record") and needs_history(r["record"], day)
    })
    if not stale:
        return rows
    versions: dict[str, list[dict[str, Any]]] = {}
    for v in store.read(VERSIONS_OF, {"uids": stale}):
        versions.setdefault(v["uid"], []).append(v["version"])
    out = []
    for r in rows:
        rec = r.get("record")
        if rec and rec["uid"] in versions:
            r = {**r, "record": content_on(rec, versions[rec["uid"]], day)}
        out.append(r)
    return out


def check_key(code: str, field: str = "code") -> str:
    """The normalised code (USCC, ID number or ``ftm:`` id); ``InvalidCode`` for a bad one,
    naming ``field`` and masking ID numbers."""
    if isinstance(code, str) and is_external(code):
        return validate_external(code, field)
    return classify(code, field).code

"""Records as they stood on a date, when a provider or an objection changed them since.

The check, the profile, the lists and the analytics all read records with their current
content and must judge them in the content they had on the date asked; this is the one
place that fetches the earlier versions for that, in one read and only when needed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from graph.store import GraphStore
from queries.records import VERSIONS_OF
from schema.record_life import content_on, needs_history


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

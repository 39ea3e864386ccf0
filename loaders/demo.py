"""The bundled demo data set, loaded by ``serve --demo`` into an empty graph."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from graph.store import GraphStore
from loaders.pipeline import LoadSummary, load_files
from queries.admin import COUNT_SUBJECTS
from schema.policy import Policy

DEMO_FILE = Path(__file__).parent / "data" / "demo.jsonl"
DEMO_PROVIDER = "demo"
#: The demo is a scenario told as of 2026-11-21 (``data/DEMO.md``): it is submitted on
#: that day whenever it is loaded. A withdrawal takes effect on its submission's date, so
#: loaded with today's date the withdrawn record of scenario 10 still stood on the
#: scenario's day, and the demo's outcomes (and its tests) changed with the wall clock.
DEMO_SUBMITTED_AT = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)


def graph_is_empty(store: GraphStore) -> bool:
    return int(store.read(COUNT_SUBJECTS)[0]["n"]) == 0


def load_demo(store: GraphStore, policy: Policy) -> LoadSummary:
    return load_files(store, [DEMO_FILE], policy=policy, provider=DEMO_PROVIDER, channel="demo",
                      submitted_at=DEMO_SUBMITTED_AT)


def load_demo_if_empty(store: GraphStore, policy: Policy) -> LoadSummary | None:
    """Load the demo only into an empty graph, so it never mixes with real data."""
    if not graph_is_empty(store):
        return None
    return load_demo(store, policy)

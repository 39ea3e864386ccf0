"""Latency of ``search_subjects`` on a generated province, per kind of text typed.

    .venv/bin/credit-graph generate --entities 20000 --seed 3 --out /tmp/search20k.jsonl
    .venv/bin/python bench/search_latency.py /tmp/search20k.jsonl [--runs 30] [--subjects-only]

Starts a private embedded engine in a temporary directory, loads the file through the
loader (``--subjects-only``: only its entity and person rows, which is all search reads
and much quicker to load for a growth measurement), then times each kind of query
``--runs`` times after two warm-up runs and prints p50 / p95 in milliseconds, with the
number of candidates the engine returned. The texts are taken from the file itself
(the entity in the middle of it), so every run of the same file searches the same texts.

The name queries scan every subject (``CONTAINS`` uses no index), so their time grows
linearly with the number of subjects; running this on two sizes gives the slope.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api import search as search_api  # noqa: E402
from graph.embedded import EmbeddedEngine  # noqa: E402
from graph.falkor_store import FalkorStore  # noqa: E402
from graph.store import GraphStore, Params, Row  # noqa: E402
from loaders.pipeline import load_files  # noqa: E402
from schema.pinyin import name_pinyin  # noqa: E402
from schema.policy import load_policy  # noqa: E402


class CountingStore:
    """Counts the candidate rows the engine returns to one search."""

    def __init__(self, inner: GraphStore) -> None:
        self.inner, self.rows = inner, 0

    def read(self, query: str, params: Params | None = None) -> list[Row]:
        out = self.inner.read(query, params)
        self.rows += len(out)
        return out


def _subjects(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    entities, persons = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("type") == "entity":
                entities.append(row)
            elif row.get("type") == "person":
                persons.append(row)
    return entities, persons


def _typo(text: str, at: int, char: str) -> str:
    return text[:at] + char + text[at + 1 :]


def cases(path: Path) -> list[tuple[str, str, bool]]:
    """(label, text, include_persons), taken from the middle of the file."""
    entities, persons = _subjects(path)
    e = entities[len(entities) // 2]
    p = persons[len(persons) // 2]
    name, code = e["name"], e["code"]
    py, pyi = name_pinyin(name)
    typo_py = py[:8] + ("a" if py[8] != "a" else "e") + py[9:18]
    return [
        ("exact code", code, False),
        ("code prefix (10)", code[:10], False),
        ("chinese full name", name, False),
        ("chinese 2 chars", name[3:5], False),
        ("chinese 1-char typo", _typo(name, 3, "律"), False),
        ("chinese, no such name", "北极熊猫企鹅", False),
        ("pinyin (18 letters)", py[:18], False),
        ("pinyin (5 letters)", py[:5], False),
        ("pinyin typo", typo_py, False),
        ("initials (5)", pyi[:5], False),
        ("person name, persons on", p["name"], True),
        ("chinese typo, persons on", _typo(name, 3, "律"), True),
    ]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    qs = statistics.quantiles(samples, n=20, method="inclusive")
    return statistics.median(samples), qs[18]


def time_case(store: GraphStore, text: str, persons: bool, runs: int) -> tuple[float, float, int]:
    counting = CountingStore(store)
    run: Callable[[], object] = lambda: search_api.search_subjects(  # noqa: E731
        counting,  # type: ignore[arg-type]
        text,
        include_persons=persons,
    )
    for _ in range(2):
        run()
    counting.rows = 0
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    p50, p95 = _percentiles(samples)
    return p50, p95, counting.rows // runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--subjects-only", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="searchbench-") as tmp:
        source = args.file
        if args.subjects_only:
            source = Path(tmp) / "subjects.jsonl"
            with args.file.open(encoding="utf-8") as src, source.open("w") as dst:
                dst.writelines(
                    line for line in src if '"type":"entity"' in line or '"type":"person"' in line
                )
        engine = EmbeddedEngine(Path(tmp) / "data")
        engine.ensure_running()
        store = FalkorStore.from_socket(str(engine.socket_path), graph_name="searchbench")
        try:
            store.bootstrap()
            started = time.perf_counter()
            summary = load_files(store, [source], policy=load_policy("nantong"), provider="bench")
            loaded_in = time.perf_counter() - started
            entities, persons = _subjects(args.file)
            print(
                f"{source.name}: {summary.loaded} rows loaded in {loaded_in:.1f} s; "
                f"{len(entities)} entities, {len(persons)} persons"
            )
            print(f"{'query':28} {'p50 ms':>8} {'p95 ms':>8} {'cand.':>6}  text")
            for label, text, with_persons in cases(args.file):
                p50, p95, cands = time_case(store, text, with_persons, args.runs)
                print(f"{label:28} {p50:8.1f} {p95:8.1f} {cands:6d}  {text}")
        finally:
            store.close()
            engine.stop(force=True)


if __name__ == "__main__":
    main()

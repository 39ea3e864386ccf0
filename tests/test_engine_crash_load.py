"""The engine killed (SIGKILL) at random points of a load: the load says so in one line,
and the same load run again ends exactly as one clean load, nothing lost or doubled.

CI runs a few trials; the reliability suite runs twenty with
``CREDIT_GRAPH_CRASH_TRIALS=20`` (or ``bench/crash_load_trials.py``, which records them).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.crash_trials import ROOT, CleanLoad, clean_load, run_load_trial, trial_count

SEED = 11
ENTITIES = 400


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CleanLoad, Path]:
    work = tmp_path_factory.mktemp("crash-load")
    path = work / "province.jsonl"
    subprocess.run(
        [sys.executable, "-m", "api.cli", "generate", "--entities", str(ENTITIES),
         "--seed", str(SEED), "--out", str(path)],
        cwd=ROOT, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return path, clean_load(path, work), work


@pytest.mark.timeout(900)
def test_engine_killed_during_load_then_reload_equals_a_clean_load(
    province: tuple[Path, CleanLoad, Path],
) -> None:
    path, clean, work = province
    assert clean.rows == clean.loaded > 2000  # every row of the file is one thing in the graph
    trials = [run_load_trial(i, path, clean, work, seed=SEED) for i in range(trial_count(3))]
    report = {t.trial: t.problems(clean) for t in trials}
    assert all(not p for p in report.values()), report
    # Somewhere the kill really cut a load short, and the loader said what to do next.
    cut = [t for t in trials if t.loader_exit != 0]
    assert cut, [t.as_dict() for t in trials]
    for t in cut:
        assert t.loader_message.startswith("credit-graph: ENGINE_UNAVAILABLE: "), t.as_dict()
        assert "run the same load again" in t.loader_message
        # The count the loader gives is what the engine acknowledged: all of it is kept.
        # It may be less than what is kept (even every row): the engine can have written
        # and synced the last batch and been killed before its reply reached the loader
        # (seen in CI: 3,024 rows kept, 2,660 acknowledged).
        assert t.acknowledged_rows is not None and t.acknowledged_rows <= t.rows_kept


@pytest.mark.timeout(600)
def test_engine_killed_while_the_loader_starts_it_gives_advice_not_a_traceback(
    province: tuple[Path, CleanLoad, Path],
) -> None:
    """Killed during its start-up or the loader's bootstrap, the engine used to leave a
    redis traceback (and, restarted, a graph that did not exist); now the loader says
    what is safe, and the same load run again ends as a clean one."""
    path, clean, work = province
    trials = [
        run_load_trial(100 + i, path, clean, work, seed=SEED, early_kill=delay)
        for i, delay in enumerate((0.0, 0.015, 0.03, 0.06))
    ]
    report = {t.trial: t.problems(clean) for t in trials}
    assert all(not p for p in report.values()), report
    for t in trials:
        if t.loader_exit != 0:
            assert "run the same load again" in t.loader_message, t.as_dict()

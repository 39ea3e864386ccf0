"""What the append-only file promises when the engine is killed (SIGKILL), measured with
a client writing numbered nodes, one acknowledged ``CREATE`` at a time.

* ``appendfsync always`` (the embedded default): the write reaches the file before its
  reply is sent, so no acknowledged write is lost; only the one in flight is in doubt.
* ``appendfsync everysec`` (chosen by hand): the write normally reaches the
  kernel before the reply, but while the previous second's background fsync is still
  running Redis postpones it (up to 2 s) and answers anyway; a kill then loses a tail of
  the newest acknowledged writes, never an older one, never one in the middle.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crash_trials import run_ack_trial, trial_count

SEED = 5


@pytest.mark.timeout(600)
def test_with_fsync_always_no_acknowledged_write_is_lost(tmp_path: Path) -> None:
    trials = [
        run_ack_trial(i, tmp_path / f"ack-{i}", seed=SEED, appendfsync="always")
        for i in range(trial_count(3))
    ]
    assert all(t.acknowledged > 0 for t in trials), [t.as_dict() for t in trials]
    assert [t.lost for t in trials] == [0] * len(trials), [t.as_dict() for t in trials]
    assert [t.duplicated for t in trials] == [0] * len(trials)
    assert [t.unexpected for t in trials] == [0] * len(trials)


@pytest.mark.timeout(600)
def test_with_fsync_everysec_a_kill_loses_at_most_the_newest_writes(tmp_path: Path) -> None:
    trials = [
        run_ack_trial(i, tmp_path / f"ack-{i}", seed=SEED, appendfsync="everysec")
        for i in range(trial_count(3))
    ]
    assert all(t.acknowledged > 0 for t in trials), [t.as_dict() for t in trials]
    for t in trials:
        if t.lost:
            # Exactly the newest writes: everything from the first lost one onwards.
            assert t.lost_from is not None
            assert t.lost == t.acknowledged - t.lost_from + 1, t.as_dict()
            assert not t.in_flight_kept, t.as_dict()
    assert [t.duplicated for t in trials] == [0] * len(trials)
    assert [t.unexpected for t in trials] == [0] * len(trials)

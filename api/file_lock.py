"""An exclusive lock on a file across processes (``serve --workers N`` shares files)."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def flocked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Held for the ``with`` block; ``path`` is created if missing. With ``wait=False``
    the block gets False at once, lock not taken, when another holder has it."""
    with open(path, "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)

"""A progress bar with rows per second for long commands, quiet when not on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

PHASES = {
    "read": "reading and validating",
    "link": "linking roles and records",
    "generate": "generating",
}


@contextmanager
def row_progress() -> Iterator[Callable[[str, int], None]]:
    """Yield ``advance(phase, rows)``; one line per phase with rows and rows/s.

    On a terminal the bar redraws in place; otherwise (CI, pipes) it prints nothing, so
    logs stay readable.
    """
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} rows"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        disable=not sys.stderr.isatty(),
        console=Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def advance(phase: str, rows: int) -> None:
        if phase not in tasks:
            tasks[phase] = progress.add_task(PHASES.get(phase, phase), total=None, rate="")
        task_id = tasks[phase]
        progress.advance(task_id, rows)
        task = progress.tasks[task_id]
        speed = task.speed or 0.0
        progress.update(task_id, rate=f"{speed:,.0f} rows/s" if speed else "")

    with progress:
        yield advance

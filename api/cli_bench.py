"""``credit-graph bench``: the benchmark harness (``bench/harness.py``) from the command line.

``bench/`` is not part of the installed package: the harness generates, loads and serves
a province with the repository's own scripts and writes into its ``docs/``. So the
command finds the repository next to this file and fails with one clear line when run
from an installed copy without it.
"""

from __future__ import annotations

import importlib
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from schema.errors import InvalidInput

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORK = Path(tempfile.gettempdir()) / "credit-graph-bench"

bench_app = typer.Typer(help="Benchmarks against NetworkX and SQLite (docs/performance.md).")


def _harness() -> Any:
    if not (REPO / "bench" / "harness.py").is_file():
        raise InvalidInput(
            "credit-graph bench needs the project's source checkout (bench/harness.py next "
            f"to api/); none found at {REPO}. Run it from a clone with `pip install -e .`."
        )
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    # By name: bench/ is outside the installed packages and the type-checked ones.
    return importlib.import_module("bench.harness")


def _sizes(entities: int | None, sizes: str | None) -> list[int]:
    if (entities is None) == (sizes is None):
        raise InvalidInput("give exactly one of --entities N or --sizes N,N,...")
    if entities is not None:
        return [entities]
    assert sizes is not None
    try:
        out = [int(s.replace("_", "")) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise InvalidInput(f"--sizes: {sizes!r} is not a list of numbers") from None
    if not out or min(out) < 1:
        raise InvalidInput("--sizes: give positive sizes, e.g. 10000,100000,1000000")
    return sorted(set(out))


@bench_app.callback(invoke_without_command=True)
def bench(
    entities: Annotated[
        int | None, typer.Option(min=1, help="One size: organisations in the province.")
    ] = None,
    sizes: Annotated[
        str | None, typer.Option(help="The growth series, e.g. 10000,100000,1000000.")
    ] = None,
    work: Annotated[
        Path, typer.Option(help="Keeps generated files and loaded data dirs, by size and seed.")
    ] = DEFAULT_WORK,
    seed: Annotated[int, typer.Option(help="Generator seed (and sample seed).")] = 7,
    skip_load: Annotated[
        bool, typer.Option("--skip-load", help="Reuse a loaded data dir in --work if present.")
    ] = False,
    quick: Annotated[bool, typer.Option("--quick", help="Fewer samples (smoke runs).")] = False,
    out: Annotated[
        Path, typer.Option(help="The document whose marked section is rewritten.")
    ] = REPO / "docs" / "performance.md",
    results: Annotated[
        Path, typer.Option(help="Where harness-N.json goes; other sizes there are reported too.")
    ] = REPO / "bench" / "results",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port for the HTTP measurements (0: any free).")
    ] = 0,
) -> None:
    """Generate or reuse a province, load it, time every workload of the service and the
    same check and paths in NetworkX and SQLite; write tables and a plot into --out."""
    harness = _harness()
    opts = harness.Options(
        sizes=_sizes(entities, sizes), seed=seed, work=work.resolve(), results=results.resolve(),
        out=out.resolve(), skip_load=skip_load, quick=quick, port=port,
        command="credit-graph bench " + shlex.join(sys.argv[2:]),
    )
    harness.run(opts)

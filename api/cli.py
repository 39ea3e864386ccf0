"""The ``credit-graph`` command (CONTRACT.md section 1).

Every expected failure (bad setting, engine that cannot start, bad code) ends as one
line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from api import log_masking
from api.settings import load_settings
from schema.errors import CreditGraphError, InvalidInput

T = TypeVar("T")

app = typer.Typer(
    help="Public credit knowledge graph and joint-punishment check.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
engine_app = typer.Typer(help="The embedded engine of the configured data directory.")
app.add_typer(engine_app, name="engine")
providers_app = typer.Typer(help="Providers' submission discipline (Nantong Art. 5).")
app.add_typer(providers_app, name="providers")


def _parsed(value: str | None, parse: Callable[[str], T], option: str, what: str) -> T | None:
    """An optional option value parsed, or a one-line ``InvalidInput`` naming the option."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError:
        raise InvalidInput(f"{option}: {value!r} is not {what}") from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    demo: Annotated[
        bool, typer.Option(help="Load the bundled demo data into an empty graph.")
    ] = False,
) -> None:
    """Start the HTTP service (GraphQL, health) on the configured engine."""
    import uvicorn

    from api.app import create_app
    from api.engine import open_store

    settings = load_settings()
    # The engine is opened here rather than in the app's lifespan so that an engine that
    # cannot start ends as one line on stderr, not as a server traceback.
    store = open_store(settings)
    try:
        application = create_app(settings, demo=demo, store=store, close_store=True)
        uvicorn.run(
            application,
            host=host or settings.host,
            port=port or settings.port,
            log_config=None,
            timeout_graceful_shutdown=10,
        )
    finally:
        store.close()


@app.command()
def check(
    code: Annotated[str, typer.Argument(help="USCC or resident ID number.")],
    measure: Annotated[str | None, typer.Option(help="Only this measure code.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date YYYY-MM-DD (default today).")
    ] = None,
) -> None:
    """Print the joint-punishment check of CODE as JSON."""
    from api.checks import check_sanctions
    from api.engine import open_store
    from schema.catalogue import load_catalogue
    from schema.policy import load_policy

    day = _parsed(as_of, dt.date.fromisoformat, "--as-of", "a date YYYY-MM-DD")
    settings = load_settings()
    policy, catalogue = load_policy(settings.policy), load_catalogue()
    with open_store(settings) as store:
        result = check_sanctions(
            store, code, policy=policy, catalogue=catalogue, as_of=day, measure=measure
        )
    typer.echo(json.dumps(result.to_json_dict(), ensure_ascii=False, indent=2))


@app.command()
def load(
    paths: Annotated[list[Path], typer.Argument(help="Submission files (.jsonl, .csv, .xlsx).")],
    provider: Annotated[str, typer.Option(help="Provider unit submitting the files.")] = "unknown",
    channel: Annotated[str, typer.Option(help="Submission channel.")] = "file",
    rejects: Annotated[Path | None, typer.Option(help="Write rejected rows here.")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl, csv, xlsx or ftm (FollowTheMoney).")
    ] = None,
    submitted_at: Annotated[
        str | None,
        typer.Option("--submitted-at", help="When the provider submitted (ISO date/time)."),
    ] = None,
) -> None:
    """Load provider submissions; exit 0 all loaded, 1 some rejected, 2 nothing read."""
    from api.engine import open_store
    from api.progress import row_progress
    from loaders.pipeline import load_files
    from schema.policy import load_policy

    when = _parsed(submitted_at, dt.datetime.fromisoformat, "--submitted-at", "an ISO date")
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    settings = load_settings()
    policy = load_policy(settings.policy)
    with open_store(settings) as store, row_progress() as progress:
        summary = load_files(
            store,
            paths,
            policy=policy,
            provider=provider,
            channel=channel,
            fmt=fmt,
            rejects_to=rejects,
            submitted_at=when,
            progress=progress,
        )
    typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    raise typer.Exit(summary.exit_code)


@app.command()
def generate(
    entities: Annotated[int, typer.Option(min=1, help="How many organisations.")],
    out: Annotated[Path, typer.Option(help="The JSON Lines file to write.")],
    seed: Annotated[int, typer.Option(help="Same seed, same file.")] = 1,
) -> None:
    """Write a synthetic, realistic province in the interchange format."""
    from api.progress import row_progress
    from loaders.generator import generate as run_generate

    with row_progress() as progress:
        stats = run_generate(entities, seed, out, progress=lambda n: progress("generate", n))
    typer.echo(json.dumps(dataclasses.asdict(stats), ensure_ascii=False, indent=2))


@providers_app.command("report")
def providers_report(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Per provider: submissions, rejects and lateness, rated red / yellow / green."""
    from api.engine import open_store
    from loaders.discipline import provider_report, render_report

    settings = load_settings()
    with open_store(settings) as store:
        report = provider_report(store)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in report], ensure_ascii=False, indent=2))
    else:
        render_report(report)


@engine_app.command("status")
def engine_status() -> None:
    """Say whether the embedded engine of the data directory is running."""
    from graph.embedded import EmbeddedEngine

    settings = load_settings()
    engine = EmbeddedEngine(settings.data_dir)
    alive = engine.is_alive()
    typer.echo(
        json.dumps(
            {
                "running": alive,
                "pid": engine.pid,
                "socket": str(engine.socket_path),
                "log": str(engine.log_path),
            }
        )
    )
    raise typer.Exit(0 if alive else 1)


@engine_app.command("stop")
def engine_stop() -> None:
    """Stop the embedded engine of the data directory (e.g. one left by a killed serve)."""
    from graph.embedded import EmbeddedEngine

    settings = load_settings()
    EmbeddedEngine(settings.data_dir).stop(force=True)
    typer.echo("stopped")


def main() -> None:
    log_masking.install()
    try:
        app()
    except CreditGraphError as e:
        typer.echo(f"credit-graph: {e.code}: {e.message}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

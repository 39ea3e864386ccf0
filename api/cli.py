"""The ``credit-graph`` command (CONTRACT.md section 1).

Every expected failure (bad setting, engine that cannot start, bad code) ends as one
line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from api import log_masking
from api.settings import load_settings
from schema.errors import CreditGraphError, InvalidInput

app = typer.Typer(
    help="Public credit knowledge graph and joint-punishment check.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
engine_app = typer.Typer(help="The embedded engine of the configured data directory.")
app.add_typer(engine_app, name="engine")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"credit-graph: {message}", err=True)
    raise typer.Exit(code)


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

    day = None
    if as_of is not None:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            raise InvalidInput(f"--as-of: {as_of!r} is not a date YYYY-MM-DD") from None
    settings = load_settings()
    policy, catalogue = load_policy(settings.policy), load_catalogue()
    with open_store(settings) as store:
        result = check_sanctions(
            store, code, policy=policy, catalogue=catalogue, as_of=day, measure=measure
        )
    typer.echo(json.dumps(result.to_json_dict(), ensure_ascii=False, indent=2))


@app.command()
def load(
    paths: Annotated[list[Path], typer.Argument(help="Submission files (.jsonl).")],
    provider: Annotated[str, typer.Option(help="Provider unit submitting the files.")] = "unknown",
    channel: Annotated[str, typer.Option(help="Submission channel.")] = "file",
    rejects: Annotated[Path | None, typer.Option(help="Write rejected rows here.")] = None,
) -> None:
    """Load provider submissions; exit 0 all loaded, 1 some rejected, 2 nothing read."""
    from api.engine import open_store
    from loaders.pipeline import RejectsWriter, load_files
    from schema.policy import load_policy

    for p in paths:
        if p.suffix.lower() != ".jsonl":
            _fail(f"{p}: only .jsonl is supported by this version of the loader", 2)
    settings = load_settings()
    policy = load_policy(settings.policy)
    rejects_path = rejects or (paths[0].with_name(paths[0].stem + ".rejects.jsonl"))
    with open_store(settings) as store, rejects_path.open("w", encoding="utf-8") as fh:
        summary = load_files(
            store,
            paths,
            policy=policy,
            provider=provider,
            channel=channel,
            rejects=RejectsWriter(fh),
        )
    if not summary.rejected_total:
        rejects_path.unlink(missing_ok=True)
    out = summary.as_dict()
    if summary.rejected_total:
        out["rejects_file"] = str(rejects_path)
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    raise typer.Exit(summary.exit_code)


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

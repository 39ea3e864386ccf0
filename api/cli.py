"""The ``credit-graph`` command (CONTRACT.md section 1).

Every expected failure (bad setting, engine that cannot start, bad code) ends as one
line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TypeVar

import typer

from api import log_masking
from api.cli_analyze import ShowIds, analyze_app
from api.cli_audit import audit_app
from api.cli_bench import bench_app
from api.cli_feedback import feedback_app
from api.file_lock import flocked
from api.settings import check_audit_dir, load_settings
from schema.codes import mask_code
from schema.dates import iso_date
from schema.errors import CreditGraphError, EngineUnavailable, InvalidInput
from schema.workdays import china_today

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
app.add_typer(audit_app, name="audit")
app.add_typer(bench_app, name="bench")
app.add_typer(feedback_app, name="feedback")
app.add_typer(analyze_app, name="analyze")
keys_app = typer.Typer(help="API keys: made once, stored as hashes (DOMAIN.md section 5).")
app.add_typer(keys_app, name="keys")


def _parsed(value: str | None, parse: Callable[[str], T], option: str, what: str) -> T | None:
    """An optional option value parsed, or a one-line ``InvalidInput`` naming the option."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError:
        raise InvalidInput(f"{option}: {value!r} is not {what}") from None


def _fresh_metrics_dir(path: Path) -> None:
    """Several workers share their Prometheus counters through files in one directory
    (``prometheus_client`` multiprocess mode); it must be empty at start and be set
    before the workers import the client."""
    import os
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    demo: Annotated[
        bool, typer.Option(help="Load the bundled demo data into an empty graph.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Worker processes (default 1).")
    ] = None,
) -> None:
    """Start the HTTP service (GraphQL, health, metrics) on the configured engine."""
    import uvicorn

    from api.app import create_app
    from api.engine import open_store

    settings = load_settings()
    # Before the engine: an audit log that cannot be written fails every keyed request
    # while /healthz says ok, so it stops start-up instead.
    check_audit_dir(settings)
    n = workers or settings.workers
    # The engine is opened here rather than in the app's lifespan so that an engine that
    # cannot start ends as one line on stderr, not as a server traceback. With several
    # workers this process keeps the engine; each worker reuses it through its socket.
    store = open_store(settings)
    try:
        if n == 1:
            application = create_app(settings, demo=demo, store=store, close_store=True)
            uvicorn.run(
                application,
                host=host or settings.host,
                port=port or settings.port,
                log_config=None,
                # Every keyed request is in the audit log and every request in /metrics;
                # a line per request on stderr cost 2% of a check's time and logged
                # client addresses a second time.
                access_log=False,
                timeout_graceful_shutdown=10,
            )
        else:
            from loaders.demo import load_demo_if_empty
            from schema.policy import load_policy

            if demo:
                from api.keys import ensure_demo_key

                load_demo_if_empty(store, load_policy(settings.policy))
                typer.echo(f"demo operator key: {ensure_demo_key(store, settings.data_dir)}",
                           err=True)
            _fresh_metrics_dir(settings.data_dir / "metrics")
            from api.server import http_protocol

            uvicorn.run(
                "api.app:app_from_environment",
                factory=True,
                workers=n,
                http=http_protocol(),
                host=host or settings.host,
                port=port or settings.port,
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=10,
            )
    finally:
        store.close()


@app.command()
def check(
    code: Annotated[str, typer.Argument(help="USCC or resident ID number.")],
    measure: Annotated[str | None, typer.Option(help="Only this measure code.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date YYYY-MM-DD (default today in China).")
    ] = None,
    show_ids: ShowIds = False,
) -> None:
    """Print the joint-punishment check of CODE as JSON. Persons' ID numbers met on the
    way (``via``, conflicts) are masked unless --show-id-numbers; CODE is printed as typed."""
    from api.check_ids import issue, load_secret
    from api.checks import check_key, check_sanctions
    from api.engine import open_store
    from schema.catalogue import load_catalogue
    from schema.policy import load_policy

    day = _parsed(as_of, iso_date, "--as-of", "a date YYYY-MM-DD")
    settings = load_settings()
    policy, catalogue = load_policy(settings.policy), load_catalogue()
    key, day = check_key(code), day or china_today()
    # The store first: a data directory the embedded engine cannot use is then reported
    # as every other command reports it (ENGINE_UNAVAILABLE, one line).
    with open_store(settings) as store:
        # Signed like the service's, so a system may report a measure of this check.
        check_id = issue(load_secret(settings.data_dir), key, day, policy.name)
        result = check_sanctions(
            store, key, policy=policy, catalogue=catalogue, as_of=day, measure=measure,
            check_id=check_id,
        )
    answer = result.to_json_dict()
    if not show_ids:
        answer = _masked_check(answer, key)
    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))


def _masked_check(answer: dict[str, Any], checked: str) -> dict[str, Any]:
    """The check as printed: codes other than the one checked through ``mask_code``
    (persons masked, USCCs as they are), since the output lands in tickets and logs."""
    def shown(code: str) -> str:
        return code if code == checked else mask_code(code)

    for measure in [*answer.get("measures", []), *answer.get("incentives", [])]:
        measure["via"] = [shown(c) for c in measure.get("via", [])]
    for conflict in answer.get("conflicts", []):
        conflict["personCode"] = shown(conflict["personCode"])
        conflict["entityCode"] = shown(conflict["entityCode"])
    return answer


@app.command()
def load(
    paths: Annotated[list[Path], typer.Argument(help="Submission files (.jsonl, .csv, .xlsx).")],
    provider: Annotated[str, typer.Option(help="Provider unit submitting the files.")] = "unknown",
    channel: Annotated[str, typer.Option(help="Submission channel.")] = "file",
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Write rejected rows here, in the input's format (.jsonl, .csv or .xlsx like "
            "the input; one format per run). Default: <input>.rejects.<ext> beside the "
            "first file of each format. A file already there is moved aside to "
            "<name>.<time>.stale."
        ),
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl, csv, xlsx or ftm (FollowTheMoney).")
    ] = None,
    submitted_at: Annotated[
        str | None,
        typer.Option(
            "--submitted-at",
            help="When the provider submitted (ISO date/time; without an offset, China time).",
        ),
    ] = None,
) -> None:
    """Load provider submissions; exit 0 all loaded, 1 some rejected, 2 nothing read."""
    from api.engine import open_store
    from api.progress import row_progress
    from loaders.pipeline import SUBMITTED_AT_SKEW, load_files, rejects_problem, stopped_load
    from schema.dates import iso_datetime
    from schema.policy import load_policy
    from schema.workdays import CHINA_TIME, china_time

    when = _parsed(submitted_at, iso_datetime, "--submitted-at",
                   "a time as YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]")
    if when is not None:
        when = china_time(when)
    now = dt.datetime.now(CHINA_TIME)
    if when is not None and when > now + SUBMITTED_AT_SKEW:
        # Refused before anything is written: a submission stored with a future time made
        # every later load of the file count lateness to that time.
        raise InvalidInput(
            f"--submitted-at: {when.isoformat()} is in the future "
            f"(now {now.isoformat(timespec='seconds')}); give when the provider submitted "
            "the file. Nothing was loaded"
        )
    # Before the engine and before any row: the rejects writers open their file at the
    # first rejected row, and a target they cannot write stopped the load half-way.
    refused = rejects_problem(paths, rejects, fmt)
    if refused is not None:
        raise InvalidInput(refused)
    settings = load_settings()
    policy = load_policy(settings.policy)
    with _one_load_at_a_time(settings.data_dir):
        try:
            opened = open_store(settings)
        except EngineUnavailable as e:  # the engine died or never came up: nothing written
            raise stopped_load(e, ", ".join(map(str, paths)), 0) from e
        with opened as store, row_progress() as progress:
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
                limits=settings.load_limits,
                workers=settings.load_workers,
            )
    typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    for problem in summary.rejects_not_written:
        typer.echo(f"credit-graph: rejects not written: {problem}", err=True)
    raise typer.Exit(summary.exit_code)


#: Held by the load running on a data directory (``_one_load_at_a_time``).
LOAD_LOCK = "load.lock"


@contextlib.contextmanager
def _one_load_at_a_time(data_dir: Path) -> Iterator[None]:
    """Loads of one data directory run one after the other. Two at once doubled role
    relationships for good: the engine's MERGE is not atomic across concurrent queries,
    so both created the edge neither found (found by probing: 2 x 2,000 identical role
    rows gave 8,000 edges). The second load says it waits, then runs. A directory that
    cannot hold the lock file is left to the store to report."""
    lock = data_dir / LOAD_LOCK
    with contextlib.ExitStack() as held:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            if not held.enter_context(flocked(lock, wait=False)):
                typer.echo(f"waiting for the load already running on {data_dir} to finish ...",
                           err=True)
                held.enter_context(flocked(lock))
        except OSError:
            pass  # the store reports the directory it cannot use
        yield


@app.command()
def generate(
    entities: Annotated[int, typer.Option(min=1, help="How many organisations.")],
    out: Annotated[Path, typer.Option(help="The JSON Lines file to write.")],
    seed: Annotated[int, typer.Option(help="Same seed, same file.")] = 1,
) -> None:
    """Write a synthetic, realistic province in the interchange format."""
    from api.progress import row_progress
    from loaders.formats import detect_format
    from loaders.generator import generate as run_generate

    # The generator writes JSON Lines only: under another extension ``load`` would read
    # the file as that format and reject every row (``x.csv`` read as CSV).
    try:
        fmt = detect_format(out)
    except ValueError:
        fmt = None
    if fmt != "jsonl" and not out.is_dir():  # a directory: "cannot write" says more
        raise InvalidInput(
            f"--out: {out.name} is not a JSON Lines name; generate writes JSON Lines, "
            "so name the file .jsonl or .ndjson (load reads a file by its extension)"
        )
    # The file is renamed into place only when complete (loaders/generator.py): stopped
    # or failed, --out is left as it was.
    try:
        with _terminate_raises(), row_progress() as progress:
            stats = run_generate(entities, seed, out, progress=lambda n: progress("generate", n))
    except KeyboardInterrupt as e:
        typer.echo(f"credit-graph: generate interrupted; nothing was written to {out}", err=True)
        raise typer.Exit(143 if isinstance(e, _Terminated) else 130) from None
    except OSError as e:
        raise InvalidInput(
            f"--out: cannot write {out}: {e.strerror or type(e).__name__}; nothing was written"
        ) from None
    typer.echo(json.dumps(dataclasses.asdict(stats), ensure_ascii=False, indent=2))


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, like Ctrl-C."""


@contextlib.contextmanager
def _terminate_raises() -> Iterator[None]:
    """Python's default for SIGTERM (``timeout``, ``kill``, systemd) ends the process at
    once, running no ``finally``: a half-written temporary file would stay behind. In
    here SIGTERM raises ``_Terminated`` instead, so clean-up runs as on Ctrl-C."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="subject, agency, provider or operator.")],
    name: Annotated[str, typer.Option(help="A unique name; it appears in the audit log.")],
    subject: Annotated[
        str | None, typer.Option(help="The subject's own code (role subject only).")
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option(help="Agency or provider unit, e.g. tax (default: the name, lowercased)."),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="Last day the key works, YYYY-MM-DD (today or later)."),
    ] = None,
) -> None:
    """Create an API key and print it once; only its hash is kept."""
    from api.engine import open_store
    from api.keys import check_new_expiry, create_key

    day = _parsed(expires, iso_date, "--expires", "a date YYYY-MM-DD")
    check_new_expiry(day, china_today())
    with open_store(load_settings()) as store:
        key, info = create_key(
            store, role=role, name=name, subject=subject, unit=unit, expires=day
        )
    typer.echo(f"key: {key}", err=True)
    typer.echo("This key is shown once and cannot be recovered; store it now.", err=True)
    typer.echo(json.dumps({"key": key, **info.as_dict()}, ensure_ascii=False))


@keys_app.command("list")
def keys_list() -> None:
    """List the keys (names, roles, units, expiry; never the keys)."""
    from api.engine import open_store
    from api.keys import list_keys

    with open_store(load_settings()) as store:
        rows = [k.as_dict() for k in list_keys(store)]
    typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key; services stop accepting it within 30 seconds."""
    from api.engine import open_store
    from api.keys import revoke_key

    with open_store(load_settings()) as store:
        info = revoke_key(store, name)
    typer.echo(json.dumps(info.as_dict(), ensure_ascii=False))


def main() -> None:
    log_masking.install()
    try:
        app()
    except CreditGraphError as e:
        typer.echo(f"credit-graph: {e.code}: {e.message}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

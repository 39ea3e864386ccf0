"""``credit-graph audit``: check the audit log's chain and read it (Wuhan Art. 28).

The log is found where the service writes it (``Settings.audit_path``, by default
``<data_dir>/audit``), so the CLI and the service can never look at different logs.
Failures other than a broken chain (bad setting, unreadable log) are ``CreditGraphError``s
and end as one line through ``api.cli.main``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from api.audit import AuditEntry, AuditLog
from api.settings import load_settings

audit_app = typer.Typer(
    help="The hash-chained audit log of API requests (Wuhan Art. 28, Zhengzhou Art. 19).",
    no_args_is_help=True,
)


def _log() -> AuditLog:
    return AuditLog(load_settings().audit_path)


@audit_app.command("verify")
def verify() -> None:
    """Check every entry's hash and link, and the anchor; exit 1 naming the first break."""
    log = _log()
    try:
        result = log.verify()
    finally:
        log.close()
    if result.ok:
        typer.echo(f"ok: {result.entries} entries")
        return
    where = (
        f"broken at entry {result.first_broken}" if result.first_broken is not None else "broken"
    )
    typer.echo(f"{where}: {result.reason}")
    raise typer.Exit(1)


def _line(e: AuditEntry) -> str:
    subjects = ",".join(e.subjects) or "-"
    return (
        f"{e.seq:>8}  {e.at:%Y-%m-%d %H:%M:%S}Z  {e.key_name} ({e.key_role})  "
        f"{e.operation or '-'} [{','.join(e.fields)}]  subjects={subjects}  "
        f"purpose={e.purpose or '-'}  client={e.client or '-'}  results={e.results}  "
        f"{e.outcome}"
    )


@audit_app.command("show")
def show(
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only entries that touched this code.")
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="Only entries of this key name.")] = None,
    first: Annotated[int, typer.Option("--first", min=1, help="How many, newest first.")] = 50,
    before: Annotated[
        int | None, typer.Option("--before", min=1, help="Only entries before this seq (paging).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """Print entries, newest first (ID numbers are stored and shown masked)."""
    log = _log()
    try:
        entries = log.query(subject_code=subject, key_name=key, first=first, before_seq=before)
    finally:
        log.close()
    if as_json:
        typer.echo(json.dumps([e.as_dict() for e in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        typer.echo("no entries")
    for e in entries:
        typer.echo(_line(e))

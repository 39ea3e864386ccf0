"""Start-up configuration as operators get it wrong: an unreachable Neo4j, a `.env` saved
by the wrong editor or with a broken line, an empty data directory, an audit directory
that cannot be written. Each stops the command with one line naming what to fix, exit 2
(CONTRACT.md section 1), or, for the empty value, means the documented default.

Every command runs as a user runs it: `credit-graph` in its own process, in its own
working directory (where `.env` is read).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.audit import AuditLog, AuditRecord
from api.check_ids import KEY_FILE_NAME
from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from tests.builders import uscc_code
from tests.live_server import CLI, free_port

CO = uscc_code(61)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any ``CREDIT_GRAPH_*`` setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    return env | extra


def run(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line(out: subprocess.CompletedProcess[str], prefix: str) -> str:
    """Exit 2 and a single line on stderr starting with ``prefix``; returns the line."""
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    message = out.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith(f"credit-graph: {prefix}"), message
    return message


def load_subject(env: dict[str, str], cwd: Path, tmp_path: Path) -> None:
    """Put the organisation ``CO`` in the graph, so that ``check CO`` answers."""
    data = tmp_path / "subject.jsonl"
    data.write_text(json.dumps({"type": "entity", "code": CO, "name": "某公司"}) + "\n", "utf-8")
    loaded = run("load", str(data), "--provider", "p", env=env, cwd=cwd)
    assert loaded.returncode == 0, loaded.stderr


@pytest.fixture
def graph(engine: EmbeddedEngine) -> Iterator[dict[str, str]]:
    """Settings for a fresh graph in the session's engine, dropped afterwards."""
    name = f"t_cfg_{uuid.uuid4().hex[:8]}"
    yield {
        "CREDIT_GRAPH_FALKORDB_URL": f"unix://{engine.socket_path}",
        "CREDIT_GRAPH_FALKORDB_GRAPH": name,
    }
    left = FalkorStore.from_socket(str(engine.socket_path), name)
    left.drop_all()
    left.close()


# ------------------------------------------------------------------ unreachable Neo4j


@pytest.mark.parametrize(
    ("command", "uri"),
    [
        ("check", "bolt://127.0.0.1:{port}"),  # connection refused
        ("check", "neo4j://127.0.0.1:{port}"),  # no routing table
        ("check", "neo4j://no-such-host.invalid:7687"),  # DNS failure
        ("serve", "bolt://127.0.0.1:{port}"),
        ("load", "neo4j://127.0.0.1:{port}"),
    ],
)
def test_unreachable_neo4j_stops_the_command_with_one_line(
    command: str, uri: str, tmp_path: Path
) -> None:
    """No Neo4j server is needed: nothing listens on the port, or the name is invalid."""
    uri = uri.format(port=free_port())
    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps({"type": "entity", "code": CO, "name": "某公司"}) + "\n", "utf-8")
    args = {
        "check": ["check", CO],
        "serve": ["serve", "--port", str(free_port())],
        "load": ["load", str(data), "--provider", "p"],
    }[command]
    env = clean_env(
        CREDIT_GRAPH_ENGINE="neo4j",
        CREDIT_GRAPH_NEO4J_URI=uri,
        CREDIT_GRAPH_DATA_DIR=str(tmp_path / "data"),
    )
    out = run(*args, env=env, cwd=tmp_path)
    message = assert_one_line(
        out, f"ENGINE_UNAVAILABLE: CREDIT_GRAPH_NEO4J_URI: cannot use {uri!r}: "
    )
    assert out.stdout == ""
    if command == "load":
        assert "stopped after 0 rows written" in message


# ------------------------------------------------------------------------- .env file


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16"])
def test_env_file_not_in_utf8_stops_startup_naming_the_file(
    encoding: str, tmp_path: Path
) -> None:
    """GB18030 from a Chinese editor, UTF-16 from Notepad: a traceback before."""
    env_file = tmp_path / ".env"
    env_file.write_bytes("# 配置\nCREDIT_GRAPH_POLICY=wuhan\n".encode(encoding))
    env = clean_env(CREDIT_GRAPH_FALKORDB_URL=f"redis://127.0.0.1:{free_port()}")
    message = assert_one_line(run("check", CO, env=env, cwd=tmp_path), "CONFIG_ERROR: ")
    assert f"{env_file}:" in message and "save it as UTF-8" in message


def test_broken_env_line_stops_startup_instead_of_running_on_the_default(
    tmp_path: Path, graph: dict[str, str]
) -> None:
    """An unclosed quote made python-dotenv skip the line with a warning: the check then
    ran under policy nantong, not the wuhan the operator had set."""
    env = clean_env(CREDIT_GRAPH_DATA_DIR=str(tmp_path / "data"), **graph)
    load_subject(env, tmp_path, tmp_path)
    env_file = tmp_path / ".env"
    env_file.write_text("# 武汉\n\nCREDIT_GRAPH_POLICY='wuhan\n", "utf-8")
    out = run("check", CO, "--as-of", "2026-01-15", env=env, cwd=tmp_path)
    message = assert_one_line(out, "CONFIG_ERROR: CREDIT_GRAPH_POLICY: ")
    assert f"{env_file} line 3 cannot be read" in message
    assert "wuhan" not in message  # values are not echoed: the file holds the password
    assert out.stdout == ""

    env_file.write_text("# 武汉\n\nCREDIT_GRAPH_POLICY='wuhan'\n", "utf-8")
    fixed = run("check", CO, "--as-of", "2026-01-15", env=env, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(fixed.stdout)["policy"] == "wuhan"


# ------------------------------------------------------------------ empty data dir


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_empty_data_dir_means_the_default_not_the_working_directory(
    where: str, tmp_path: Path, graph: dict[str, str]
) -> None:
    """``CREDIT_GRAPH_DATA_DIR=`` put the check-id secret (and with the embedded engine
    its files) in whatever directory the command ran from."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = clean_env(HOME=str(home), **graph)
    if where == "environment":
        env["CREDIT_GRAPH_DATA_DIR"] = ""
    else:
        (work / ".env").write_text("CREDIT_GRAPH_DATA_DIR=\n", "utf-8")
    load_subject(env, work, tmp_path)
    out = run("check", CO, env=env, cwd=work)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in work.iterdir()) == ([] if where == "environment" else [".env"])
    assert (home / ".local" / "share" / "credit-graph" / KEY_FILE_NAME).is_file()


def test_empty_audit_dir_means_the_default_audit_log(tmp_path: Path) -> None:
    """``CREDIT_GRAPH_AUDIT_DIR=`` read the audit log from the working directory: the
    entries in ``<data dir>/audit`` were not shown."""
    data, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    with AuditLog(data / "audit") as log:
        log.append(
            AuditRecord(
                key_name="tax-bureau", key_role="agency", operation="Check",
                fields=["checkSanctions"], subjects=[CO], purpose="loan review",
                client="127.0.0.1", results=1, outcome="ok",
            ),
            at=dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC),
        )  # fmt: skip
    env = clean_env(CREDIT_GRAPH_DATA_DIR=str(data), CREDIT_GRAPH_AUDIT_DIR="")
    out = run("audit", "show", "--json", env=env, cwd=work)
    assert out.returncode == 0, out.stderr
    [entry] = json.loads(out.stdout)
    assert entry["key_name"] == "tax-bureau" and entry["purpose"] == "loan review"
    assert list(work.iterdir()) == []


# ------------------------------------------------------------------ audit directory


@pytest.mark.parametrize("unusable", ["under-a-file", "/proc/nope"])
def test_unusable_audit_dir_stops_serve_with_one_line(
    unusable: str, tmp_path: Path, graph: dict[str, str]
) -> None:
    """Before, ``serve`` started and /healthz said ok while every keyed request was
    answered AUDIT_UNAVAILABLE."""
    if unusable == "under-a-file":
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("a file where the audit directory's parent should be")
        audit_dir = blocker / "audit"
    else:
        audit_dir = Path(unusable)
    env = clean_env(
        CREDIT_GRAPH_DATA_DIR=str(tmp_path / "data"),
        CREDIT_GRAPH_AUDIT_DIR=str(audit_dir),
        **graph,
    )
    out = run("serve", "--port", str(free_port()), env=env, cwd=tmp_path)
    message = assert_one_line(out, "CONFIG_ERROR: CREDIT_GRAPH_AUDIT_DIR: ")
    assert f"cannot write the audit log in {audit_dir}" in message

"""Hostile submissions through ``credit-graph load`` as an operator runs it (a subprocess
on real files, a real engine).

Injection strings in names and addresses are stored and read back exactly as sent, with
exactly the nodes the rows describe. Files too big, lines and fields too long, broken
encodings, binary files and JSON nested 10,000 deep each end as a clear rejection: the row
rejected with a specific reason (exit code 1) or the whole file refused in one line (exit
code 2), the valid rows around them loaded, no traceback, and memory bounded by the
limits (loaders/limits.py), not by the file.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from loaders.demo import DEMO_FILE
from tests.hostile_payloads import PAYLOADS, UNSTORABLE

#: Runs the command and reports the process's peak memory on stderr.
_RUN = (
    "import atexit, resource, runpy, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "f'MAXRSS_KB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'))\n"
    "sys.argv = ['credit-graph', *sys.argv[1:]]\n"
    "runpy.run_module('api.cli', run_name='__main__')\n"
)
MB = 1024 * 1024


@dataclass
class Loaded:
    code: int
    summary: dict[str, Any]
    stderr: str
    max_rss_kb: int

    def rejects(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for name in self.summary.get("rejects_files", []):
            path = Path(name)
            if path.suffix == ".jsonl":
                out += [json.loads(line) for line in path.read_text("utf-8").splitlines()]
            elif path.suffix == ".xlsx":
                from openpyxl import load_workbook  # type: ignore[import-untyped, unused-ignore]

                for ws in load_workbook(path, read_only=True).worksheets:
                    values = list(ws.iter_rows(values_only=True))
                    out += [dict(zip(values[0], row, strict=False)) for row in values[1:]]
            else:
                with path.open(encoding="utf-8-sig", newline="") as fh:
                    out += list(csv.DictReader(fh))
        return out


@dataclass
class Cli:
    env: dict[str, str]
    store: FalkorStore

    def load(self, *paths: Path, **limits: int) -> Loaded:
        env = self.env | {f"CREDIT_GRAPH_LOAD_{k.upper()}": str(v) for k, v in limits.items()}
        p = subprocess.run(
            [sys.executable, "-c", _RUN, "load", *map(str, paths), "--provider", "hostile"],
            env=env, capture_output=True, text=True, timeout=300,
        )
        assert "Traceback" not in p.stderr, p.stderr[-3000:]
        rss = [int(line.split()[1]) for line in p.stderr.splitlines()
               if line.startswith("MAXRSS_KB")]
        summary = json.loads(p.stdout) if p.stdout.strip().startswith("{") else {}
        return Loaded(p.returncode, summary, p.stderr, rss[-1] if rss else 0)

    def subjects(self) -> dict[str, dict[str, Any]]:
        rows = self.store.read(
            "MATCH (s:Subject) RETURN s.code AS code, s.name AS name, s.address AS address"
        )
        return {str(r["code"]): r for r in rows}

    def labels(self) -> set[str]:
        rows = self.store.read("MATCH (n) RETURN labels(n) AS l")
        return {":".join(sorted(r["l"])) for r in rows}


@pytest.fixture
def cli(engine: EmbeddedEngine, tmp_path: Path) -> Iterator[Cli]:
    graph = f"t_hostile_{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    env |= {
        "CREDIT_GRAPH_FALKORDB_URL": f"unix://{engine.socket_path}",
        "CREDIT_GRAPH_FALKORDB_GRAPH": graph,
        "CREDIT_GRAPH_DATA_DIR": str(tmp_path / "data"),
    }
    store = FalkorStore.from_socket(str(engine.socket_path), graph)
    try:
        yield Cli(env, store)
    finally:
        store.drop_all()
        store.close()


def _demo(kind: str, n: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in DEMO_FILE.read_text("utf-8").splitlines()]
    return [r for r in rows if r["type"] == kind][:n]


def _jsonl(path: Path, rows: list[dict[str, Any]], *, tail: bytes = b"") -> Path:
    with path.open("wb") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
        fh.write(tail)
    return path


def _reason(loaded: Loaded, fragment: str) -> dict[str, Any]:
    found = [r for r in loaded.rejects() if fragment in str(r.get("reason"))]
    assert found, loaded.rejects()
    return found[0]


# -- injection strings in loaded files --------------------------------------------------

_NAMES = [p for p in PAYLOADS if len(p) <= 500]  # names hold at most 500 characters


def _hostile_subjects() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    entities = _demo("entity", len(PAYLOADS))
    persons = _demo("person", len(_NAMES))
    for i, row in enumerate(entities):
        row["name"] = _NAMES[i % len(_NAMES)]
        row["address"] = PAYLOADS[i]
    for i, row in enumerate(persons):
        row["name"] = _NAMES[i]
    return entities, persons


def test_injection_in_jsonl_is_stored_verbatim(cli: Cli, tmp_path: Path) -> None:
    entities, persons = _hostile_subjects()
    loaded = cli.load(_jsonl(tmp_path / "hostile.jsonl", entities + persons))
    assert loaded.code == 0, loaded
    assert loaded.summary["loaded"] == len(entities) + len(persons)
    stored = cli.subjects()
    assert len(stored) == len(entities) + len(persons)
    for row in entities:
        assert (stored[row["code"]]["name"], stored[row["code"]]["address"]) == (
            row["name"], row["address"])
    for row in persons:
        assert stored[row["code"]]["name"] == row["name"]
    assert cli.labels() == {"Entity:Subject", "Person:Subject", "Submission", "IngestionLog"}


def test_injection_in_csv_is_stored_verbatim(cli: Cli, tmp_path: Path) -> None:
    entities, _ = _hostile_subjects()
    path = tmp_path / "entity.csv"
    columns = ["code", "name", "org_type", "status", "established", "address"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(entities)
    loaded = cli.load(path)
    assert loaded.code == 0, loaded
    stored = cli.subjects()
    assert len(stored) == len(entities)
    for row in entities:
        assert (stored[row["code"]]["name"], stored[row["code"]]["address"]) == (
            row["name"], row["address"])


def test_text_no_engine_can_hold_rejects_only_its_row(cli: Cli, tmp_path: Path) -> None:
    entities = _demo("entity", 3 + len(UNSTORABLE))
    for row, text in zip(entities[3:], UNSTORABLE, strict=True):
        row["name"] = text
    # json.dumps escapes the lone surrogate, as a provider's tool would send it.
    path = tmp_path / "nul.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in entities), "utf-8")
    loaded = cli.load(path)
    assert loaded.code == 1
    assert loaded.summary["loaded"] == 3
    assert loaded.summary["rejected_by_reason"] == {"bad_text": len(UNSTORABLE)}
    rejected = [r for r in loaded.rejects() if "name" in str(r["reason"])]
    assert len(rejected) == len(UNSTORABLE) and all("name" not in r for r in rejected)
    assert len(cli.subjects()) == 3


# -- sizes ------------------------------------------------------------------------------


def test_oversized_file_is_refused_whole(cli: Cli, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "big.jsonl", _demo("entity", 40))
    assert path.stat().st_size > 4000
    loaded = cli.load(path, max_file_bytes=4000)
    assert loaded.code == 2
    [message] = loaded.summary["unreadable"]
    assert "over the limit of 4000 bytes" in message and "\n" not in message
    assert cli.subjects() == {}


def test_row_with_a_10mb_field_is_rejected_for_its_field(cli: Cli, tmp_path: Path) -> None:
    rows = _demo("entity", 3)
    rows[1]["address"] = "地" * (10 * MB // 3)
    path = _jsonl(tmp_path / "field.jsonl", rows)
    loaded = cli.load(path, max_line_bytes=32 * MB)
    assert loaded.code == 1
    assert loaded.summary["rejected_by_reason"] == {"field_too_long": 1}
    assert "address:" in _reason(loaded, "CREDIT_GRAPH_LOAD_MAX_FIELD_CHARS")["reason"]
    assert set(cli.subjects()) == {rows[0]["code"], rows[2]["code"]}
    assert Path(loaded.summary["rejects_files"][0]).stat().st_size < 10_000


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_row_with_a_10mb_field_under_default_limits(cli: Cli, tmp_path: Path, fmt: str) -> None:
    rows = _demo("entity", 3)
    rows[1]["address"] = "A" * (10 * MB)
    if fmt == "jsonl":
        path = _jsonl(tmp_path / "field.jsonl", rows)
    else:
        path = tmp_path / "entity.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, ["code", "name", "address"], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    loaded = cli.load(path)
    assert loaded.code == 1
    assert loaded.summary["rejected_by_reason"] == {"line_too_long": 1}
    assert set(cli.subjects()) == {rows[0]["code"], rows[2]["code"]}


def test_a_line_of_megabytes_without_newline_is_skipped_unread(
    cli: Cli, tmp_path: Path
) -> None:
    rows = _demo("entity", 3)
    tail = b'{"type": "entity", "name": "' + b"x" * (40 * MB)
    path = _jsonl(tmp_path / "endless.jsonl", rows, tail=tail)
    loaded = cli.load(path)
    # The same rows and a cut line of 2 MB: the same work, a twentieth of the bytes.
    small = cli.load(_jsonl(tmp_path / "short.jsonl", rows, tail=tail[: 2 * MB]))
    assert loaded.code == 1
    assert loaded.summary["rejected_by_reason"] == {"line_too_long": 1}
    assert _reason(loaded, "longer than")["line"] == 4
    assert len(cli.subjects()) == 3
    # The 40 MB line is never held: the peak memory is the small load's, give or take.
    assert loaded.max_rss_kb - small.max_rss_kb < 20 * 1024, (loaded.max_rss_kb, small.max_rss_kb)


# -- broken encodings and binary files ------------------------------------------------


def test_invalid_utf8_in_a_jsonl_line_rejects_that_line(cli: Cli, tmp_path: Path) -> None:
    rows = _demo("entity", 2)
    bad = json.dumps(_demo("entity", 3)[2], ensure_ascii=False).encode()
    bad = bad.replace(b'"name": "', b'"name": "\xff\xfe\xc3', 1)
    path = _jsonl(tmp_path / "enc.jsonl", rows, tail=bad + b"\n")
    loaded = cli.load(path)
    assert loaded.code == 1
    assert loaded.summary["rejected_by_reason"] == {"bad_encoding": 1}
    assert len(cli.subjects()) == 2


def test_truncated_gb18030_csv_rejects_the_cut_line(cli: Cli, tmp_path: Path) -> None:
    rows = _demo("entity", 3)
    lines = ["code,name,address"] + [f"{r['code']},{r['name']},{r.get('address', '')}"
                                     for r in rows]
    data = ("\r\n".join(lines) + "\r\n").encode("gb18030")
    cut = "南通".encode("gb18030")[:-1]  # the file ends inside a two-byte character
    path = tmp_path / "entity.csv"
    path.write_bytes(data + rows[0]["code"].encode() + b"," + cut)
    loaded = cli.load(path)
    assert loaded.code == 1
    assert set(loaded.summary["rejected_by_reason"]) <= {"bad_encoding", "bad_code", "invalid"}
    assert "GB18030" in _reason(loaded, "not valid")["reason"]
    stored = cli.subjects()
    assert {stored[r["code"]]["name"] for r in rows} == {r["name"] for r in rows}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx"])
def test_binary_file_is_refused_whole_as_unreadable(cli: Cli, tmp_path: Path, suffix: str) -> None:
    """Nothing in it can be read: exit 2 (CONTRACT.md), one line saying what it is, and no
    rejects file full of noise (it used to be exit 1, every "line" a rejected row)."""
    path = tmp_path / f"entity{suffix}"
    path.write_bytes(random.Random(7).randbytes(256 * 1024))
    loaded = cli.load(path)
    assert loaded.code == 2, loaded
    assert loaded.summary["read"] == 0 and loaded.summary["rejected"] == 0
    [message] = loaded.summary["unreadable"]
    expected = "not an XLSX workbook" if suffix == ".xlsx" else "binary content"
    assert str(path) in message and expected in message, message
    assert loaded.rejects() == []
    assert cli.subjects() == {}


def test_utf16_csv_is_refused_with_what_to_do(cli: Cli, tmp_path: Path) -> None:
    rows = _demo("entity", 2)
    text = "code,name\r\n" + "".join(f"{r['code']},{r['name']}\r\n" for r in rows)
    path = tmp_path / "entity.csv"
    path.write_bytes(text.encode("utf-16"))  # what Excel's "Unicode text" writes
    loaded = cli.load(path)
    assert loaded.code == 2
    [message] = loaded.summary["unreadable"]
    assert "UTF-16" in message and "UTF-8" in message
    assert cli.subjects() == {}


def test_a_stray_control_byte_rejects_its_row_not_the_file(cli: Cli, tmp_path: Path) -> None:
    rows = _demo("entity", 3)
    bad = json.dumps(_demo("entity", 4)[3], ensure_ascii=False).encode()
    bad = bad.replace(b'"name": "', b'"name": "\x00\x01', 1)  # raw, not escaped: not JSON
    path = _jsonl(tmp_path / "stray.jsonl", rows, tail=bad + b"\n")
    loaded = cli.load(path)
    assert loaded.code == 1 and loaded.summary["unreadable"] == []
    assert sum(loaded.summary["rejected_by_reason"].values()) == 1
    assert len(cli.subjects()) == 3


def test_xlsx_zip_bomb_is_refused_before_unpacking(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "entity.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (64 * MB))
    assert path.stat().st_size < MB
    loaded = cli.load(path, max_xlsx_unpacked_bytes=16 * MB)
    assert loaded.code == 2
    [message] = loaded.summary["unreadable"]
    assert "unpacks to" in message and "MAX_XLSX_UNPACKED_BYTES" in message


def test_json_nested_10000_deep_rejects_its_line(cli: Cli, tmp_path: Path) -> None:
    rows = _demo("entity", 2)
    deep = b'{"type": "entity", "name": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n"
    path = _jsonl(tmp_path / "deep.jsonl", rows, tail=deep)
    loaded = cli.load(path)
    assert loaded.code == 1
    assert "nested too deeply" in _reason(loaded, "nested")["reason"]
    assert len(cli.subjects()) == 2

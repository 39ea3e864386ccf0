"""The synthetic province of ``credit-graph generate``: reproducible, valid, loadable, and
carrying the structures the graph features are exercised with (deep ownership chains,
ownership cycles, shell clusters, branches, changes of legal representative)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from stdnum.cn import ric, uscc

from graph.store import GraphStore
from loaders.demo_builder import org_code_check
from loaders.generator import (
    USCC_ALPHABET,
    GenerateStats,
    generate,
    org_code_check_char,
    ric_check_char,
    uscc_check_char,
)
from schema.codes import classify, validate_person_id
from schema.models import Entity, Person, Record, Role

Row = dict[str, Any]
N = 2000
SEED = 7
TODAY = dt.date(2026, 11, 1)
MODELS: dict[str, type[BaseModel]] = {
    "entity": Entity,
    "person": Person,
    "role": Role,
    "record": Record,
}
DATE_FIELDS = (
    "established",
    "terminated",
    "since",
    "until",
    "decided_on",
    "act_ended_on",
    "valid_until",
)
#: CONTRACT.md section 2, the only fields a row may carry.
FIELDS = {
    "entity": {
        "code",
        "name",
        "org_type",
        "status",
        "established",
        "terminated",
        "address",
        "registered_capital",
    },
    "person": {"code", "name"},
    "role": {"entity", "holder", "role", "position", "share_ratio", "since", "until"},
    "record": {
        "id",
        "subject",
        "category",
        "kind",
        "severity",
        "list",
        "title",
        "document_no",
        "authority",
        "decided_on",
        "act_ended_on",
        "valid_until",
        "disclosure",
        "responsible",
        "action",
    },
}
ORG_TYPE_OF_PREFIX = {
    "91": "enterprise",
    "92": "enterprise",
    "93": "enterprise",
    "11": "institution",
    "12": "institution",
    "51": "social_org",
    "52": "social_org",
    "53": "social_org",
    "Y1": "other",
}
HEADS = ("legal_representative", "principal")
ROOT = Path(__file__).resolve().parent.parent


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateStats]:
    path = tmp_path_factory.mktemp("gen") / "province.jsonl"
    return path, generate(N, SEED, path)


@pytest.fixture(scope="module")
def rows(generated: tuple[Path, GenerateStats]) -> list[Row]:
    path, _ = generated
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def of(rows: list[Row], kind: str) -> list[Row]:
    return [r for r in rows if r["type"] == kind]


def shareholdings(rows: list[Row]) -> dict[str, set[str]]:
    """Company -> the companies it holds shares in."""
    entities = {r["code"] for r in of(rows, "entity")}
    owns: dict[str, set[str]] = defaultdict(set)
    for r in of(rows, "role"):
        if r["role"] == "shareholder" and r["holder"] in entities:
            owns[r["holder"]].add(r["entity"])
    return owns


def longest_chain(owns: dict[str, set[str]]) -> int:
    """Edges of the longest simple ownership path (cycles are walked once at most)."""
    best = 0

    def walk(node: str, seen: set[str], depth: int) -> Iterator[int]:
        yield depth
        for nxt in owns.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                yield from walk(nxt, seen, depth + 1)
                seen.discard(nxt)

    for start in owns:
        best = max(best, *walk(start, {start}, 0))
    return best


# ------------------------------------------------------------------ reproducibility


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    generate(300, 11, a)
    generate(300, 11, b)
    generate(300, 12, c)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    # Written beside and renamed into place: nothing else is left there.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl", "b.jsonl", "c.jsonl"]


def test_same_bytes_in_another_process_with_another_hash_seed(tmp_path: Path) -> None:
    # set and dict-of-str order changes with PYTHONHASHSEED; the output must not
    here, there = tmp_path / "here.jsonl", tmp_path / "there.jsonl"
    generate(300, 11, here)
    code = (
        "from pathlib import Path; from loaders.generator import generate; "
        f"generate(300, 11, Path({str(there)!r}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
    assert here.read_bytes() == there.read_bytes()


def test_exact_entity_count_and_progress_adds_up(tmp_path: Path) -> None:
    seen: list[int] = []
    for n in (1, 7, 29, 501):
        seen.clear()
        path = tmp_path / f"n{n}.jsonl"
        stats = generate(n, 3, path, progress=seen.append)
        lines = path.read_text(encoding="utf-8").splitlines()
        assert sum(1 for line in lines if line.startswith('{"type":"entity"')) == n
        assert stats.entities == n
        assert stats.rows == len(lines) == sum(seen)
        assert stats.rows == stats.entities + stats.persons + stats.roles + stats.records


# ------------------------------------------------------------------------ validity


def test_every_row_validates_with_the_models(rows: list[Row]) -> None:
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    for row in rows:
        fields = {k: v for k, v in row.items() if k != "type"}
        assert set(fields) <= FIELDS[row["type"]], row
        assert all(v not in (None, "", []) for v in fields.values()), row
        for f in DATE_FIELDS:
            if f in fields:
                assert iso.match(fields[f]), row
        MODELS[row["type"]].model_validate(fields)


def test_rows_come_in_contract_order(rows: list[Row]) -> None:
    order = [rows[0]["type"]]
    for r in rows:
        if r["type"] != order[-1]:
            order.append(r["type"])
    assert order == ["entity", "person", "role", "record"]


def test_every_reference_is_defined_and_ids_are_unique(rows: list[Row]) -> None:
    kinds: dict[str, str] = {}
    for r in of(rows, "entity") + of(rows, "person"):
        assert r["code"] not in kinds, "a code is defined twice"
        kinds[r["code"]] = r["type"]
        assert classify(r["code"]).kind == r["type"]
    for r in of(rows, "role"):
        assert kinds[r["entity"]] == "entity"
        assert r["holder"] in kinds
        assert r["holder"] != r["entity"]
    records = of(rows, "record")
    for r in records:
        assert r["subject"] in kinds
        assert all(kinds[p] == "person" for p in r.get("responsible", []))
    ids = Counter(r["id"] for r in records)
    assert ids.most_common(1)[0][1] == 1
    # A role is one row: two rows for the same holder, company, role and day would
    # overwrite each other, and every reload of the file would change the graph.
    roles = Counter((r["holder"], r["entity"], r["role"], r["since"]) for r in of(rows, "role"))
    assert roles.most_common(1)[0][1] == 1


def test_no_role_repeats_in_a_province_with_many_shell_clusters(tmp_path: Path) -> None:
    """Shell clusters reuse people; at 10,000 entities the two officers of a cluster
    were once the same person, who then held two shares of one company on one day."""
    path = tmp_path / "p.jsonl"
    stats = generate(10_000, 7, path)
    assert stats.shell_clusters > 10
    seen: Counter[tuple[str, ...]] = Counter()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith('{"type":"role"'):
                r = json.loads(line)
                seen[r["holder"], r["entity"], r["role"], r["since"]] += 1
    assert seen.most_common(1)[0][1] == 1


def test_codes_are_jiangsu_and_match_org_type(rows: list[Row]) -> None:
    for r in of(rows, "entity"):
        assert r["code"][2:4] == "32"
        assert ORG_TYPE_OF_PREFIX[r["code"][:2]] == r["org_type"]
        if r["status"] == "active":
            assert "terminated" not in r
        else:
            assert d(r["terminated"]) >= d(r["established"])
    for r in of(rows, "person"):
        assert r["code"][:2] == "32"


def test_dates_are_plausible(rows: list[Row]) -> None:
    for r in of(rows, "record"):
        decided = d(r["decided_on"])
        assert dt.date(2015, 1, 1) <= decided < TODAY
        if "act_ended_on" in r:
            assert d(r["act_ended_on"]) < decided
        if r["category"] == "negative":
            assert r["severity"] in ("general", "serious")
            assert "act_ended_on" in r
    for r in of(rows, "entity"):
        assert d(r["established"]) < TODAY


def test_the_loader_accepts_every_row(
    store: GraphStore, generated: tuple[Path, GenerateStats]
) -> None:
    from loaders.pipeline import load_files
    from schema.policy import load_policy

    path, _ = generated
    lines = len(path.read_text(encoding="utf-8").splitlines())
    summary = load_files(store, [path], policy=load_policy("nantong"), provider="gen", today=TODAY)
    assert summary.rejected_total == 0, summary.rejected
    assert summary.read == lines
    assert summary.loaded == lines and summary.unchanged == 0
    again = load_files(store, [path], policy=load_policy("nantong"), provider="gen", today=TODAY)
    assert (again.loaded, again.unchanged) == (0, lines)  # the same file twice changes nothing


# ---------------------------------------------------------------------- properties


def test_row_mix_is_about_seven_rows_per_entity(rows: list[Row]) -> None:
    counts = Counter(r["type"] for r in rows)
    assert counts["entity"] == N
    assert 1.2 <= counts["person"] / N <= 1.5
    assert 6.0 <= len(rows) / N <= 8.0


def test_ownership_chains_reach_five_levels_and_no_more(rows: list[Row]) -> None:
    assert longest_chain(shareholdings(rows)) == 5


def test_there_is_an_ownership_cycle_of_three(rows: list[Row]) -> None:
    owns = shareholdings(rows)
    cycles = {
        frozenset((a, b, c))
        for a in owns
        for b in owns[a]
        for c in owns.get(b, ())
        if a in owns.get(c, ()) and len({a, b, c}) == 3
    }
    assert cycles


def test_shell_clusters_share_a_legal_representative_and_an_address(rows: list[Row]) -> None:
    address = {r["code"]: r["address"] for r in of(rows, "entity")}
    led: dict[str, set[str]] = defaultdict(set)
    for r in of(rows, "role"):
        if r["role"] == "legal_representative":
            led[r["holder"]].add(r["entity"])
    clusters = [companies for companies in led.values() if len(companies) >= 5]
    assert clusters
    assert any(len({address[c] for c in companies}) == 1 for companies in clusters)


def test_branches_are_companies_named_after_their_head(rows: list[Row]) -> None:
    name = {r["code"]: r["name"] for r in of(rows, "entity")}
    branches = [r for r in of(rows, "role") if r["role"] == "branch"]
    assert len(branches) >= 5
    for r in branches:
        assert name[r["holder"]].startswith(name[r["entity"]])
        assert name[r["holder"]].endswith("分公司")


def test_heads_change_in_non_overlapping_terms(rows: list[Row]) -> None:
    terms: dict[str, list[tuple[dt.date, dt.date]]] = defaultdict(list)
    far = dt.date(9999, 12, 31)
    for r in of(rows, "role"):
        if r["role"] in HEADS:
            terms[r["entity"]].append((d(r["since"]), d(r["until"]) if "until" in r else far))
    organisations = of(rows, "entity")
    assert set(terms) == {r["code"] for r in organisations}, "every organisation has a head"
    changed = 0
    for spans in terms.values():
        spans.sort()
        changed += len(spans) > 1
        for (_, until), (since, _) in pairwise(spans):
            assert until < since
    assert 0.2 <= changed / len(organisations) <= 0.3


def test_share_ratios_of_current_holders_sum_to_at_most_one(rows: list[Row]) -> None:
    total: dict[str, float] = defaultdict(float)
    for r in of(rows, "role"):
        if r["role"] == "shareholder" and "until" not in r:
            total[r["entity"]] += r["share_ratio"]
    assert total
    assert max(total.values()) <= 1.0 + 1e-9


def test_list_rates_and_every_value_present(rows: list[Row]) -> None:
    entities = of(rows, "entity")
    records = of(rows, "record")
    codes = {r["code"] for r in entities}
    black = {r["subject"] for r in records if r.get("list") == "black" and r["subject"] in codes}
    assert 0.01 <= len(black) / len(entities) <= 0.06
    penalised = {
        r["subject"] for r in records if r["category"] == "negative" and r["severity"] == "general"
    }
    assert 0.05 <= len(penalised & codes) / len(entities) <= 0.2
    assert {r["org_type"] for r in entities} == {"enterprise", "institution", "social_org", "other"}
    assert {r["status"] for r in entities} == {"active", "revoked", "cancelled"}
    assert {r["category"] for r in records} == {"basic", "positive", "negative", "other"}
    assert {r["disclosure"] for r in records} == {"public", "authorized", "shared", "limited"}
    assert {r.get("list", "") for r in records} == {"", "red", "black"}
    assert {r["kind"] for r in records} >= {
        "license",
        "penalty",
        "serious_dishonesty",
        "enforcement",
        "tax_arrears",
        "false_materials",
        "accident",
        "industry_ban",
        "abnormal_operation",
        "commendation",
        "a_grade_taxpayer",
        "volunteer",
        "donation",
        "commitment",
        "judgment",
    }
    serious = [r for r in records if r.get("severity") == "serious"]
    assert any(r.get("responsible") for r in serious)
    persons = {r["code"] for r in of(rows, "person")}
    assert any(r["subject"] in persons and r.get("list") == "black" for r in records)


def test_every_person_is_adult_today_and_when_taking_a_role(rows: list[Row]) -> None:
    births = {}
    for r in of(rows, "person"):
        info = validate_person_id(r["code"], today=TODAY)
        assert dt.date(1945, 1, 1) <= info.birth_date <= dt.date(2004, 12, 31)
        assert info.age_on(TODAY) >= 18
        births[r["code"]] = info
    for r in of(rows, "role"):
        if r["holder"] in births:
            assert births[r["holder"]].age_on(d(r["since"])) >= 18


def test_some_persons_carry_region_codes_younger_than_themselves(rows: list[Row]) -> None:
    # 320213 梁溪区 and 320214 新吴区 (2015), 320613 崇川区 (2020), ...: the project accepts them
    late = {
        "320213": 2015,
        "320214": 2015,
        "320613": 2020,
        "320614": 2020,
        "320685": 2018,
        "320509": 2012,
        "320508": 2012,
        "320812": 2016,
        "320813": 2016,
        "320904": 2015,
    }
    assert any(r["code"][:6] in late and int(r["code"][6:10]) < 1985 for r in of(rows, "person"))


# --------------------------------------------------------------------- check chars


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_uscc_check_char_equals_stdnum(body: str) -> None:
    assert uscc_check_char(body) == uscc.calc_check_digit(body)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_ric_check_char_equals_stdnum(body: str) -> None:
    assert ric_check_char(body) == ric.calc_check_digit(body + "0")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8))
def test_org_code_check_char_equals_the_demo_builder(body: str) -> None:
    assert org_code_check_char(body) == org_code_check(body)


def test_organisation_codes_never_repeat_within_a_code_space() -> None:
    # the codes are a bijection of a per-space counter, not random draws: no set needed
    from loaders.generator import K_COMPANY, K_INSTITUTION, _Generator

    gen = _Generator(1, 5)
    for kind, old in ((K_COMPANY, True), (K_COMPANY, False), (K_INSTITUTION, True)):
        codes = [gen._uscc(kind, 0, old) for _ in range(50_000)]
        assert len(set(codes)) == len(codes)
        assert all(uscc.is_valid(c) for c in codes[:2000])


# ------------------------------------------------------- the command: failures, interruption

CLI = [sys.executable, "-m", "api.cli"]


def assert_one_line(stderr: str, prefix: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "\n" not in stderr.strip() and stderr.startswith(prefix), stderr


@pytest.mark.parametrize("out", ["/proc/x.jsonl", "<a directory>", ""])
def test_generate_to_an_unwritable_out_ends_in_one_line(out: str, tmp_path: Path) -> None:
    target = str(tmp_path) if out == "<a directory>" else out  # "" is the working directory
    done = subprocess.run(
        [*CLI, "generate", "--entities", "5", "--out", target],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert_one_line(done.stderr, "credit-graph: INVALID_INPUT: --out: cannot write ")
    assert done.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["province.csv", "province.xlsx", "province"])
def test_generate_refuses_a_name_load_would_not_read_as_json_lines(
    name: str, tmp_path: Path
) -> None:
    """generate writes JSON Lines; under ``province.csv`` load read the file as CSV and
    rejected every row. The name is refused before anything is generated."""
    done = subprocess.run(
        [*CLI, "generate", "--entities", "5", "--out", name],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert_one_line(done.stderr, f"credit-graph: INVALID_INPUT: --out: {name} is not a JSON Lines")
    assert ".jsonl" in done.stderr
    assert done.stdout == "" and list(tmp_path.iterdir()) == []


def _some_rows_written(directory: Path, more_than: int) -> bool:
    for p in directory.iterdir():
        with contextlib.suppress(FileNotFoundError):  # a file renamed or removed meanwhile
            if p.is_file() and p.stat().st_size > more_than:
                return True
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_generate_leaves_out_as_it_was(sig: signal.Signals, tmp_path: Path) -> None:
    """Stopped half-way (``timeout``, ``kill``, Ctrl-C), generate left tens of thousands of
    valid lines that loaded with exit 0 as if they were the data set."""
    out = tmp_path / "part.jsonl"
    earlier = b"an earlier data set\n"
    if sig == signal.SIGINT:  # a file already there stays as it was
        out.write_bytes(earlier)
    proc = subprocess.Popen(
        [*CLI, "generate", "--entities", "300000", "--seed", "3", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell without job control starts background commands with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not _some_rows_written(tmp_path, len(earlier)):
            assert proc.poll() is None and time.monotonic() < deadline, "nothing written"
            time.sleep(0.05)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 128 + sig
    assert_one_line(stderr, f"credit-graph: generate interrupted; nothing was written to {out}")
    assert stdout == ""
    if sig == signal.SIGINT:
        assert [p.name for p in tmp_path.iterdir()] == [out.name]
        assert out.read_bytes() == earlier
    else:
        assert list(tmp_path.iterdir()) == []


def test_generate_past_the_file_size_limit_leaves_no_partial_file(tmp_path: Path) -> None:
    """"File too large" (a ulimit, a FAT32 stick) gave a traceback and a partial file."""

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    out = tmp_path / "big.jsonl"
    done = subprocess.run(
        [*CLI, "generate", "--entities", "3000", "--out", str(out)],
        capture_output=True, text=True, timeout=120, preexec_fn=limit_file_size,
    )  # fmt: skip
    assert done.returncode == 2
    assert_one_line(done.stderr, f"credit-graph: INVALID_INPUT: --out: cannot write {out}: ")
    assert "File too large" in done.stderr
    assert list(tmp_path.iterdir()) == []

"""Defects found by a tester in ``credit-graph load``, ``analyze`` and ``keys create``,
each checked the way a user meets it: the real command on real files and a real engine.

1. ``--rejects`` in a missing directory, or naming a directory: a traceback after rows
   were read, the valid rows lost, the ingestion log left ``started``.
2. ``--rejects`` of another format than the input (JSON lines in ``r.csv``), one
   ``--rejects`` for inputs of several formats (a second file never asked for), and a
   rejects file of an earlier run left where the next run would write its own.
3. Common spellings of prohibited fields (病历, 民族, 工资...) counted as unknown columns,
   their values copied into the rejects file.
4. ID numbers in clear in rejection reasons (a value longer than a code holding one).
5. ``analyze risk / communities / key-persons`` printing ID numbers in clear.
6. ``keys create --expires`` accepting a day already past.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from loaders.formats import REJECTS_COLUMNS
from loaders.pipeline import load_files
from loaders.rows import MODELS
from schema.codes import mask_id_number, shown_invalid
from schema.policy import PROFILE_NAMES, load_policy
from schema.workdays import china_today
from tests.builders import (
    csv_file,
    entity,
    jsonl_file,
    person,
    person_code,
    record,
    role,
    uscc_code,
)

CLI = [sys.executable, "-m", "api.cli"]
CO_A, CO_B, CO_C = uscc_code(7101), uscc_code(7102), uscc_code(7103)
ADULT = person_code(701, birth=dt.date(1980, 1, 1))
OTHER = person_code(702, birth=dt.date(1975, 3, 10))


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.stdout)
        return found


@dataclass
class Cli:
    env: dict[str, str]
    store: FalkorStore
    cwd: Path

    def __call__(self, *args: str | Path, policy: str | None = None) -> Run:
        env = dict(self.env)
        if policy is not None:
            env["CREDIT_GRAPH_POLICY"] = policy
        p = subprocess.run(
            [*CLI, *map(str, args)], env=env, capture_output=True, text=True, timeout=300,
            cwd=self.cwd,
        )  # fmt: skip
        return Run(p.returncode, p.stdout, p.stderr)

    def codes(self) -> set[str]:
        return {r["c"] for r in self.store.read("MATCH (s:Subject) RETURN s.code AS c")}

    def count(self, label: str) -> int:
        rows = self.store.read(f"MATCH (n:{label}) RETURN count(n) AS n")
        return int(rows[0]["n"]) if rows else 0

    def everything(self) -> str:
        """Every property of every node and relationship, as text to search."""
        nodes = self.store.read("MATCH (n) RETURN properties(n) AS p")
        rels = self.store.read("MATCH ()-[r]->() RETURN properties(r) AS p")
        return json.dumps([*nodes, *rels], ensure_ascii=False, default=str)


@pytest.fixture
def cli(engine: EmbeddedEngine, tmp_path: Path) -> Iterator[Cli]:
    graph = f"t_fix_{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDIT_GRAPH_")}
    env |= {
        "CREDIT_GRAPH_FALKORDB_URL": f"unix://{engine.socket_path}",
        "CREDIT_GRAPH_FALKORDB_GRAPH": graph,
        "CREDIT_GRAPH_DATA_DIR": str(tmp_path / "data"),
    }
    store = FalkorStore.from_socket(str(engine.socket_path), graph)
    store.bootstrap()
    try:
        yield Cli(env, store, tmp_path)
    finally:
        store.drop_all()
        store.close()




def _mixed(path: Path) -> Path:
    """Valid, invalid, valid."""
    rows = [entity(CO_A, "甲有限公司"), entity("123", "坏"), entity(CO_B, "乙有限公司")]
    return jsonl_file(path, rows)


def _one_line_refusal(run: Run, *fragments: str) -> None:
    assert run.code == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    message = run.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith("credit-graph: INVALID_INPUT: --rejects"), message
    for fragment in fragments:
        assert fragment in message, message


# -- 1. a --rejects target that cannot be written ------------------------------------------


@pytest.mark.parametrize("where", ["missing_dir", "a_directory", "under_a_file"])
def test_an_unwritable_rejects_target_is_refused_before_any_row_is_read(
    cli: Cli, tmp_path: Path, where: str
) -> None:
    """It was a FileNotFoundError / IsADirectoryError traceback at the first rejected row,
    exit 1, the valid rows lost and the ingestion log left ``started``."""
    data = _mixed(tmp_path / "mixed.jsonl")
    (tmp_path / "plain.txt").write_text("x", "utf-8")
    (tmp_path / "adir").mkdir()
    target = {
        "missing_dir": tmp_path / "nodir" / "x.jsonl",
        "a_directory": tmp_path / "adir",
        "under_a_file": tmp_path / "plain.txt" / "x.jsonl",
    }[where]
    out = cli("load", data, "--rejects", target)
    said = {"missing_dir": "does not exist", "a_directory": "is a directory",
            "under_a_file": "is not a directory"}[where]
    _one_line_refusal(out, str(target), said, "nothing was loaded")
    # Decided before anything was read or written: no row, no submission, no log entry.
    assert cli.count("Subject") == 0 and cli.count("IngestionLog") == 0
    assert not (tmp_path / "nodir").exists()

    good = cli("load", data, "--rejects", tmp_path / "rejects.jsonl")
    assert good.code == 1, good.stderr
    assert cli.codes() == {CO_A, CO_B}
    logs = cli.store.read("MATCH (l:IngestionLog) RETURN l.status AS s")
    assert logs == [{"s": "finished"}]


def test_a_default_rejects_path_that_cannot_be_written_keeps_the_valid_rows(
    cli: Cli, tmp_path: Path
) -> None:
    """Without --rejects the file goes beside the input; when that cannot be written (a
    directory stands there, a full disk) the valid rows still land, the run finishes and
    the summary says the rejected rows were not written, instead of a traceback."""
    data = _mixed(tmp_path / "mixed.jsonl")
    (tmp_path / "mixed.rejects.jsonl").mkdir()
    out = cli("load", data)
    assert out.code == 1, out.stderr
    assert "Traceback" not in out.stderr
    summary = out.summary
    assert summary["rejected"] == 1 and summary["rejects_files"] == []
    [problem] = summary["rejects_not_written"]
    assert "mixed.rejects.jsonl" in problem
    assert "mixed.rejects.jsonl" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert cli.codes() == {CO_A, CO_B}
    assert cli.store.read("MATCH (l:IngestionLog) RETURN l.status AS s") == [{"s": "finished"}]


def test_the_library_refuses_an_unwritable_rejects_target_too(
    cli: Cli, tmp_path: Path
) -> None:
    summary = load_files(cli.store, [_mixed(tmp_path / "m.jsonl")], policy=load_policy("nantong"),
                         rejects_to=tmp_path / "nodir" / "r.jsonl")
    assert summary.exit_code == 2 and summary.read == 0
    assert "--rejects" in summary.unreadable[0]
    assert cli.count("Subject") == 0


# -- 2. rejects in the input's own format, and stale rejects files --------------------------


def test_a_rejects_name_of_another_format_is_refused(cli: Cli, tmp_path: Path) -> None:
    """r.csv used to receive JSON lines, which no reader of r.csv can load again."""
    data = _mixed(tmp_path / "a.jsonl")
    out = cli("load", data, "--rejects", tmp_path / "r.csv")
    _one_line_refusal(out, ".jsonl")
    assert not (tmp_path / "r.csv").exists() and cli.count("Subject") == 0
    ok = cli("load", data, "--rejects", tmp_path / "r.jsonl")
    assert ok.code == 1 and ok.summary["rejects_files"] == [str(tmp_path / "r.jsonl")]
    [row] = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text("utf-8").splitlines()]
    assert row["code"] == "123" and "length 3" in row["reason"]


def test_one_rejects_file_for_inputs_of_several_formats_is_refused(
    cli: Cli, tmp_path: Path
) -> None:
    """``a.jsonl entity.csv --rejects r.csv`` wrote JSON lines to r.csv and the CSV rows
    to r.rejects.csv, a file nobody asked for. Without --rejects each format's rejects go
    beside its first input, in its own format, and load again."""
    a = jsonl_file(tmp_path / "a.jsonl", [entity(CO_A, "甲有限公司"), entity("123", "坏")])
    e = csv_file(tmp_path / "entity.csv", ["code", "name"], [[CO_B, "乙有限公司"], ["456", "坏二"]])
    for target in ("r.csv", "r.jsonl"):
        out = cli("load", a, e, "--rejects", tmp_path / target)
        _one_line_refusal(out, "jsonl", "csv")
        assert not (tmp_path / target).exists()
        assert not (tmp_path / "r.rejects.csv").exists()
        assert not (tmp_path / "r.rejects.jsonl").exists()
    assert cli.count("Subject") == 0

    out = cli("load", a, e)
    assert out.code == 1, out.stderr
    assert sorted(out.summary["rejects_files"]) == sorted(
        [str(tmp_path / "a.rejects.jsonl"), str(tmp_path / "entity.rejects.csv")]
    )
    json_reject = json.loads((tmp_path / "a.rejects.jsonl").read_text("utf-8"))
    assert json_reject["code"] == "123"
    with (tmp_path / "entity.rejects.csv").open(encoding="utf-8-sig", newline="") as fh:
        [csv_reject] = list(csv.DictReader(fh))
    assert csv_reject["code"] == "456" and csv_reject["type"] == "entity"


def test_a_stale_rejects_file_is_moved_aside_and_named_in_the_summary(
    cli: Cli, tmp_path: Path
) -> None:
    """A run with no rejected row left the previous run's x.rejects.jsonl in place, so its
    old rows could be fixed and sent again as if they were this run's."""
    data = _mixed(tmp_path / "x.jsonl")
    first = cli("load", data)
    assert first.code == 1
    old = tmp_path / "x.rejects.jsonl"
    old_text = old.read_text("utf-8")
    assert '"123"' in old_text

    jsonl_file(data, [entity(CO_A, "甲有限公司"), entity(CO_C, "丙有限公司")])  # fixed
    second = cli("load", data)
    assert second.code == 0, second.stderr
    assert not old.exists()
    moved = second.summary["stale_rejects_moved"]
    assert list(moved) == [str(old)]
    kept = Path(moved[str(old)])
    assert kept.parent == tmp_path and kept.read_text("utf-8") == old_text
    # Its new name is no format's: a glob of *.jsonl, or a load naming it, cannot resend it.
    assert kept.suffix == ".stale"
    again = cli("load", kept)
    assert again.code == 2 and cli.codes() == {CO_A, CO_B, CO_C}

    # The same for a --rejects named explicitly, and the run writes its own afresh.
    explicit = tmp_path / "mine.jsonl"
    explicit.write_text('{"old": "row"}\n', "utf-8")
    bad = _mixed(tmp_path / "y.jsonl")
    third = cli("load", bad, "--rejects", explicit)
    assert third.code == 1
    assert list(third.summary["stale_rejects_moved"]) == [str(explicit)]
    assert '"old"' not in explicit.read_text("utf-8") and '"123"' in explicit.read_text("utf-8")


# -- 3. prohibited fields under their usual spellings ---------------------------------------

#: category -> spellings a provider writes, each to be recognised wherever it is prohibited.
SPELLINGS: dict[str, list[str]] = {
    "medical_history": ["病历", "医疗记录", "病历记录", "疾病信息", "健康信息", "Medical Records",
                        "health_info", "病史信息"],
    "blood_type": ["血型信息", "ABO血型", "ｂｌｏｏｄ＿ｔｙｐｅ", "Blood-Group"],
    "fingerprints": ["指纹数据", "Fingerprint Data", "指纹记录"],
    "genes": ["基因检测", "基因检测信息", "DNA", "genetic_test"],
    "religion": ["宗教", "religion_info", "宗教信仰信息"],
    "race": ["ethnicity", "民族", "种族", "Race", "ethnic_group"],
    "income": ["工资", "薪资", "薪水", "salary", "wage", "月收入信息"],
    "deposits": ["储蓄", "存款信息", "savings"],
    "commercial_insurance": ["保单", "商业保险信息", "insurance_policy"],
    "real_estate": ["房产信息", "房产", "real_estate_info"],
    "securities": ["股票", "有价证券信息"],
    "tax_amount": ["纳税金额", "纳税数额", "tax_paid"],
    "family_background": ["家庭出身", "家庭成分信息"],
}


@pytest.mark.parametrize("policy_name", PROFILE_NAMES)
def test_usual_spellings_of_each_prohibited_category_are_recognised(policy_name: str) -> None:
    policy = load_policy(policy_name)
    prohibited = {pf.key: pf for pf in policy.prohibited_fields}
    missed: list[tuple[str, str, str | None]] = []
    for key, spellings in SPELLINGS.items():
        for spelling in spellings:
            found = policy.prohibited_field(spelling)
            if key in prohibited:
                if found is None or found.key != key:
                    missed.append((spelling, key, found.key if found else None))
                elif found.article != prohibited[key].article:
                    missed.append((spelling, "article", found.article))
            elif found is not None:
                missed.append((spelling, "not prohibited here", found.key))
    assert missed == []


@pytest.mark.parametrize("policy_name", PROFILE_NAMES)
def test_contract_fields_are_never_taken_for_prohibited_ones(policy_name: str) -> None:
    policy = load_policy(policy_name)
    names = {"type", *REJECTS_COLUMNS, "sheet"}
    for model in MODELS.values():
        names |= set(model.model_fields)
    innocent = ["tax_arrears", "social_insurance", "blood", "insurance", "property", "tax",
                "information", "信息", "记录", "数据", "资产", "注册资本", "名称", "地址",
                "出生日期", "birth_date", "record_data", "type_info"]
    taken = {n: pf.key for n in [*names, *innocent] if (pf := policy.prohibited_field(n))}
    assert taken == {}


def test_every_prohibited_field_still_cites_its_article() -> None:
    for name in PROFILE_NAMES:
        for pf in load_policy(name).prohibited_fields:
            assert pf.article.startswith("Art. "), (name, pf.key)


def _rejects_text(summary: dict[str, Any]) -> str:
    return "".join(Path(p).read_text("utf-8-sig") for p in summary["rejects_files"])


def test_a_medical_record_under_its_usual_name_is_rejected_and_its_value_kept_out(
    cli: Cli, tmp_path: Path
) -> None:
    """``病历`` was an unknown column under Nantong, SECRETVAL4 copied into the rejects."""
    data = jsonl_file(tmp_path / "p.jsonl", [
        {"type": "person", "code": ADULT, "name": "顾建国", "病历": "SECRETVAL4"},
        person(OTHER, "王芳"),
    ])
    out = cli("load", data, policy="nantong")
    assert out.code == 1, out.stderr
    assert out.summary["rejected_by_reason"] == {"prohibited_field": 1}
    [reject] = [json.loads(x) for x in _rejects_text(out.summary).splitlines()]
    assert "病历" in reject["reason"] and "Art. 14" in reject["reason"]
    for text in (_rejects_text(out.summary), out.stdout, out.stderr, cli.everything()):
        assert "SECRETVAL4" not in text
    assert cli.codes() == {OTHER}


def test_ethnicity_and_wages_in_a_csv_are_prohibited_under_zhengzhou(
    cli: Cli, tmp_path: Path
) -> None:
    data = csv_file(
        tmp_path / "person.csv",
        ["code", "name", "ethnicity", "民族", "工资"],
        [
            [ADULT, "顾建国", "SECRET-ETH", "", ""],
            [person_code(703), "李明", "", "SECRET-MZ", ""],
            [person_code(704), "赵强", "", "", "SECRET-WAGE"],
            [OTHER, "王芳", "", "", ""],
        ],
    )
    out = cli("load", data, policy="zhengzhou")
    assert out.code == 1, out.stderr
    # A column of the file is a field of every row: the row whose cells are empty is
    # refused too, as a JSON row carrying the key with an empty value is (CONTRACT.md
    # section 2: an unknown column is an error), and the provider fixes the template.
    assert out.summary["rejected_by_reason"] == {"prohibited_field": 4}
    text = _rejects_text(out.summary)
    with Path(out.summary["rejects_files"][0]).open(encoding="utf-8-sig", newline="") as fh:
        reasons = [r["reason"] for r in csv.DictReader(fh)]
    assert "'ethnicity' (Art. 9(1))" in reasons[0]
    assert "'民族' (Art. 9(1))" in reasons[1]
    assert "'工资' (Art. 9(3))" in reasons[2]
    assert "'ethnicity' (Art. 9(1))" in reasons[3] and "'工资' (Art. 9(3))" in reasons[3]
    for secret in ("SECRET-ETH", "SECRET-MZ", "SECRET-WAGE"):
        for where in (text, out.stdout, out.stderr, cli.everything()):
            assert secret not in where
    assert cli.codes() == set()


def test_wages_are_not_prohibited_where_the_regulation_does_not_say_so(
    cli: Cli, tmp_path: Path
) -> None:
    """Nantong Art. 14 does not name income: there 工资 is an unknown column, as before."""
    data = jsonl_file(tmp_path / "p.jsonl", [
        {"type": "person", "code": ADULT, "name": "顾建国", "工资": "8000"},
    ])
    out = cli("load", data, policy="nantong")
    assert out.summary["rejected_by_reason"] == {"unknown_column": 1}


def test_ftm_and_interchange_files_share_one_list_of_spellings() -> None:
    """FtM's ``ethnicity`` was race by a table of the FtM reader's own; the policy now
    says so itself, for every format."""
    from loaders.formats import ftm_format

    assert not hasattr(ftm_format, "_POLICY_FIELDS")
    race = load_policy("zhengzhou").prohibited_field("ethnicity")
    assert race is not None and race.key == "race"


# -- 4. ID numbers in rejection reasons -----------------------------------------------------


def test_shown_invalid_masks_id_numbers_inside_longer_text() -> None:
    value = f"{ADULT}；{OTHER}"
    shown = shown_invalid(value)
    assert ADULT not in shown and OTHER not in shown
    assert mask_id_number(ADULT) in shown and mask_id_number(OTHER) in shown
    assert shown_invalid(f"身份证{ADULT}") == f"身份证{mask_id_number(ADULT)}"
    # A mistyped USCC is still shown as typed, so the provider can spot the typo.
    typo = CO_A[:-1] + ("0" if CO_A[-1] != "0" else "1")
    assert shown_invalid(typo) == typo


def test_rejection_reasons_never_show_an_id_number_in_clear(cli: Cli, tmp_path: Path) -> None:
    data = jsonl_file(tmp_path / "r.jsonl", [
        entity(CO_A, "甲有限公司"),
        person(ADULT, "顾建国"),
        record("R1", f"{ADULT}；{OTHER}", "2025-03-03", severity="general"),
        role(CO_A, f"身份证{ADULT}", "director", "2020-01-01"),
        role(f"{OTHER} {ADULT}", ADULT, "director", "2020-01-01"),
    ])
    out = cli("load", data)
    assert out.code == 1, out.stderr
    rejects = [json.loads(x) for x in _rejects_text(out.summary).splitlines()]
    assert len(rejects) == 3
    for r in rejects:
        assert ADULT not in r["reason"] and OTHER not in r["reason"], r["reason"]
    assert mask_id_number(ADULT) in rejects[0]["reason"]
    assert ADULT not in out.stdout + out.stderr


# -- 5. analyze masks ID numbers unless asked ----------------------------------------------


def _analytics_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        entity(CO_A, "甲有限公司"), entity(CO_B, "乙有限公司"), entity(CO_C, "丙有限公司"),
        person(ADULT, "顾建国"), person(OTHER, "王芳"),
    ]
    for co in (CO_A, CO_B, CO_C):
        rows += [role(co, ADULT, "legal_representative", "2020-01-01"),
                 role(co, OTHER, "supervisor", "2020-01-01")]
    rows += [record("B1", CO_A, "2025-06-01", severity="serious", list="black",
                    disclosure="public"),
             record("N1", CO_B, "2025-06-01", severity="general", disclosure="public"),
             record("N2", CO_C, "2025-06-01", severity="general", disclosure="public")]
    return rows


@pytest.fixture
def analyze(
    engine: EmbeddedEngine, monkeypatch: pytest.MonkeyPatch,
    write_jsonl: Callable[[list[dict[str, Any]]], Path],
) -> Iterator[Callable[..., str]]:
    from api.cli import app

    graph = f"t_fix_analyze_{uuid.uuid4().hex[:8]}"
    store = FalkorStore.from_socket(str(engine.socket_path), graph)
    store.bootstrap()
    load_files(store, [write_jsonl(_analytics_rows())], policy=load_policy("wuhan"),
               provider="t", today=dt.date(2026, 1, 1))
    for k in [k for k in os.environ if k.startswith("CREDIT_GRAPH_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("CREDIT_GRAPH_FALKORDB_URL", f"unix://{engine.socket_path}")
    monkeypatch.setenv("CREDIT_GRAPH_FALKORDB_GRAPH", graph)
    monkeypatch.setenv("CREDIT_GRAPH_POLICY", "wuhan")
    runner = CliRunner()

    def run(*args: str) -> str:
        out = runner.invoke(app, ["analyze", *args, "--as-of", "2026-01-01"])
        assert out.exit_code == 0, out.output
        return out.output

    try:
        yield run
    finally:
        store.drop_all()
        store.close()


@pytest.mark.parametrize("command", [
    ["risk"], ["risk", "--json"], ["communities", "--min-size", "2"],
    ["communities", "--min-size", "2", "--json"], ["key-persons"], ["key-persons", "--json"],
])
def test_analyze_masks_id_numbers_by_default(
    analyze: Callable[..., str], command: list[str]
) -> None:
    output = analyze(*command)
    assert ADULT not in output and OTHER not in output, output
    assert mask_id_number(ADULT) in output
    if command != ["key-persons"]:  # its table names no company
        assert CO_A in output  # organisations' codes are public
    revealed = analyze(*command, "--show-id-numbers")
    assert ADULT in revealed


def test_analyze_help_says_how_id_numbers_are_shown() -> None:
    from api.cli import app

    for command in ("risk", "communities", "key-persons"):
        out = CliRunner().invoke(app, ["analyze", command, "--help"])
        assert "--show-id-numbers" in out.output


# -- 6. keys create --expires in the past ---------------------------------------------------


def test_a_key_expiring_in_the_past_is_refused(cli: Cli) -> None:
    yesterday = (china_today() - dt.timedelta(days=1)).isoformat()
    out = cli("keys", "create", "--role", "operator", "--name", "late-op", "--expires", yesterday)
    assert out.code == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and "key:" not in out.stderr
    message = out.stderr.strip()
    assert "\n" not in message and message.startswith("credit-graph: INVALID_INPUT: --expires")
    assert yesterday in message
    assert json.loads(cli("keys", "list").stdout) == []
    today = china_today().isoformat()
    ok = cli("keys", "create", "--role", "operator", "--name", "today-op", "--expires", today)
    assert ok.code == 0, ok.stderr
    assert json.loads(ok.stdout)["expires"] == today


def test_a_category_is_spelt_the_same_in_every_profile() -> None:
    """Only which categories are prohibited differs between regulations: a spelling
    added to one profile and not the others would let a column through there."""
    spellings: dict[str, set[frozenset[str]]] = {}
    for name in PROFILE_NAMES:
        for pf in load_policy(name).prohibited_fields:
            spellings.setdefault(pf.key, set()).add(frozenset(pf.spellings))
    assert {k: len(v) for k, v in spellings.items() if len(v) > 1} == {}


def test_a_first_generation_id_number_after_a_word_is_masked() -> None:
    old = "320602800101013"  # 15 digits, the pre-1999 form
    assert shown_invalid(f"身份证{old}") == f"身份证{mask_id_number(old)}"

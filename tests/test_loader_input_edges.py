"""What providers' files really hold, found by probing the loader: each test is a case
that once lost a row, kept a value it must not, or named the wrong reason."""

from __future__ import annotations

import csv
import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from graph.store import GraphStore
from loaders.pipeline import LoadSummary, load_files
from schema.policy import load_policy
from schema.workdays import china_today
from tests.builders import entity, person, person_code, record, uscc_code

NANTONG = load_policy("nantong")
CO = uscc_code(301)
P1, P2, P3 = person_code(301), person_code(302), person_code(303)


def _load(store: GraphStore, paths: list[Path], **kw: Any) -> LoadSummary:
    return load_files(
        store, paths, policy=NANTONG, provider="t", today=dt.date(2026, 11, 21), **kw
    )


def _write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """A workbook as a provider's tool writes one: each sheet its rows, header first."""
    wb = openpyxl.Workbook()
    active = wb.active
    assert active is not None
    for n, (title, rows) in enumerate(sheets.items()):
        ws = active if n == 0 else wb.create_sheet(title)
        ws.title = title
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def _names(store: GraphStore) -> dict[str, str]:
    rows = store.read("MATCH (s:Subject) RETURN s.code AS code, s.name AS name")
    return {r["code"]: r["name"] for r in rows}


# -- a rejects file, fixed, loads again -----------------------------------------------


def test_a_fixed_csv_rejects_file_loads_again(store: GraphStore, tmp_path: Path) -> None:
    src = _write_csv(tmp_path / "person.csv", ["code", "name"], [[P1, "张三"], [P2[:-1], "李四"]])
    first = _load(store, [src])
    [rejects] = [Path(p) for p in first.rejects_files]
    with rejects.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["code"] for r in rows] == [P2[:-1]] and "reason" in rows[0]
    rows[0]["code"] = P2  # the provider corrects the code and sends the file back
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    again = _load(store, [fixed])
    assert again.exit_code == 0 and again.loaded == 1, again.as_dict()
    assert _names(store)[P2] == "李四"


def test_a_fixed_jsonl_rejects_file_loads_again(
    store: GraphStore, tmp_path: Path, write_jsonl: Any
) -> None:
    src = write_jsonl([person(P1, "张三"), {**person(P2, "李四"), "name": ""}], "in.jsonl")
    first = _load(store, [src])
    [rejects] = [Path(p) for p in first.rejects_files]
    [row] = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert {"reason", "file", "line"} <= set(row)
    row["name"] = "李四"
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    again = _load(store, [fixed])
    assert again.exit_code == 0 and again.loaded == 1, again.as_dict()
    assert _names(store)[P2] == "李四"


def test_a_fixed_xlsx_rejects_sheet_keeps_the_type_its_workbook_name_gave(
    store: GraphStore, tmp_path: Path
) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None and ws.title == "Sheet"  # Excel's default: the file name tells
    ws.append(["code", "name"])
    ws.append([P1, "张三"])
    ws.append([P2[:-1] + "0" if P2[-1] != "0" else P2[:-1] + "1", "李四"])
    src = tmp_path / "person.xlsx"
    wb.save(src)
    first = _load(store, [src])
    assert first.rejected_total == 1
    [rejects] = [Path(p) for p in first.rejects_files]
    out = openpyxl.load_workbook(rejects)
    sheet = out.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == ["code", "name", "type", "reason", "line"]
    sheet.cell(row=2, column=1, value=P2)
    out.save(rejects)
    again = _load(store, [rejects])
    assert again.exit_code == 0 and again.loaded == 1, again.as_dict()
    # ... and rejected a second time, its sheet gets no second reason or line column
    sheet.cell(row=2, column=1, value="bad")
    out.save(rejects)
    third = _load(store, [rejects], rejects_to=tmp_path / "third.xlsx")
    header = [c.value for c in openpyxl.load_workbook(third.rejects_files[0]).worksheets[0][1]]
    assert header.count("reason") == 1 and header.count("line") == 1


# -- a rejects file never overwrites what is being loaded -----------------------------


def test_rejects_named_as_an_input_is_refused_before_anything_is_read(
    store: GraphStore, tmp_path: Path
) -> None:
    src = _write_csv(
        tmp_path / "person.csv", ["code", "name"], [[P1, "张三"], ["bad", "李四"], [P2, "王五"]]
    )
    before = src.read_bytes()
    summary = _load(store, [src], rejects_to=tmp_path / "." / "person.csv")
    assert summary.exit_code == 2 and "is one of the files to load" in summary.unreadable[0]
    assert src.read_bytes() == before and _names(store) == {}


def test_the_default_rejects_path_steps_around_a_later_input(
    store: GraphStore, tmp_path: Path
) -> None:
    """``load person.csv person.rejects.csv``: last round's fixed rejects sent with new rows."""
    new = _write_csv(tmp_path / "person.csv", ["code", "name"], [[P1, "张三"], ["bad", "李四"]])
    fixed = _write_csv(
        tmp_path / "person.rejects.csv", ["code", "name", "reason", "line"],
        [[P2, "王五", "code: checksum does not match", "3"]],
    )
    summary = _load(store, [new, fixed])
    assert summary.loaded == 2 and summary.rejected_total == 1, summary.as_dict()
    assert _names(store)[P2] == "王五"
    [rejects] = summary.rejects_files
    assert Path(rejects).name == "person.rejects-2.csv"
    assert P2 in fixed.read_text(encoding="utf-8")  # the input is as it was


# -- prohibited values stay out of every rejects file ---------------------------------


@pytest.mark.parametrize(
    "case",
    ["extra_cell", "no_type", "nested", "full_width_name", "too_long_beside"],
)
def test_a_prohibited_value_never_reaches_the_rejects_file(
    store: GraphStore, tmp_path: Path, case: str
) -> None:
    secret = "佛教SECRET"
    if case == "extra_cell":
        path = _write_csv(
            tmp_path / "person.csv", ["code", "name", "宗教信仰"], [[P1, "张三", secret, "x"]]
        )
    elif case == "no_type":
        path = _write_csv(
            tmp_path / "data.csv", ["code", "name", "religion"], [[P1, "张三", secret]]
        )
    else:
        row: dict[str, Any] = person(P1, "张三")
        if case == "nested":
            row["extra"] = {"notes": [{"宗教信仰": secret}]}
        elif case == "full_width_name":
            row["ｒｅｌｉｇｉｏｎ"] = secret
        else:
            row["address"] = "x" * 20_000
            row["religion"] = secret
        path = tmp_path / "in.jsonl"
        path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    summary = _load(store, [path])
    assert summary.rejected == {"prohibited_field": 1}, summary.as_dict()
    [rejects] = [Path(p) for p in summary.rejects_files]
    text = rejects.read_text(encoding="utf-8-sig")
    assert secret not in text
    assert "prohibited field" in text and "Art." in text
    assert P1 in text  # the rest of the row is kept, for the provider to fix


def test_xlsx_row_rejected_at_reading_keeps_no_prohibited_value(
    store: GraphStore, tmp_path: Path
) -> None:
    src = _workbook(tmp_path / "in.xlsx", {"person": [
        ["code", "name", "血型"],
        [320602197506010014, "张三", "AB型"],  # a code typed as a number
    ]})
    summary = _load(store, [src])
    assert summary.rejected == {"prohibited_field": 1}
    values = [c.value for row in openpyxl.load_workbook(summary.rejects_files[0]).worksheets[0]
              for c in row]
    assert "AB型" not in values
    assert any("holds a number" in str(v) for v in values)  # the first reason is kept too


# -- encodings and codes ---------------------------------------------------------------


def test_gb18030_names_that_are_also_valid_utf8_are_read_as_gb18030(
    store: GraphStore, tmp_path: Path
) -> None:
    assert "郑伟".encode("gb18030").decode("utf-8")  # the trap: both decodings work
    one = _write_csv(tmp_path / "person.csv", ["code", "name"], [[P1, "郑伟"]], "gb18030")
    assert _load(store, [one]).exit_code == 0
    two = _write_csv(
        tmp_path / "more_person.csv", ["code", "name"], [[P2, "郑伟"], [P3, "张三"]], "gb18030"
    )
    assert _load(store, [two]).exit_code == 0
    names = _names(store)
    assert (names[P1], names[P2], names[P3]) == ("郑伟", "郑伟", "张三")


def test_utf8_files_stay_utf8(store: GraphStore, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "person.csv", ["code", "name"], [[P1, "郑伟"], [P2, "张三"]])
    assert _load(store, [path]).exit_code == 0
    assert _names(store)[P1] == "郑伟"


def test_an_id_number_with_full_width_digits_is_no_second_person(
    store: GraphStore, write_jsonl: Any
) -> None:
    wide = P1[:-2] + chr(ord(P1[-2]) + 0xFEE0) + P1[-1]  # one digit typed full-width
    summary = _load(store, [write_jsonl([person(P1, "张三"), person(wide, "张三")])])
    assert summary.loaded == 1 and summary.rejected == {"bad_code": 1}
    assert list(_names(store)) == [P1]


def test_reasons_never_show_an_id_number_given_where_a_uscc_belongs(
    store: GraphStore, write_jsonl: Any, tmp_path: Path
) -> None:
    rows = [
        person(P1),
        entity(P2),  # an ID number in an entity row
        {"type": "role", "entity": P3, "holder": P1, "role": "director"},
    ]
    summary = _load(store, [write_jsonl(rows)])
    assert summary.rejected_total == 2
    text = Path(summary.rejects_files[0]).read_text(encoding="utf-8")
    reasons = [json.loads(line)["reason"] for line in text.splitlines()]
    assert all(P2 not in r and P3 not in r for r in reasons), reasons
    assert all("***" in r for r in reasons)


# -- values that only looked right ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "category"),
    [
        ("decided_on", 1748736000, "bad_date"),  # Unix time, read as 2025-06-01 before
        ("act_ended_on", 0, "bad_date"),  # 1970-01-01
        ("decided_on", "20250601", "bad_date"),
        ("decided_on", "2025-06-01T00:00:00", "bad_date"),
        ("decided_on", "2025-06-01", None),
    ],
)
def test_dates_are_yyyy_mm_dd_text(
    store: GraphStore, write_jsonl: Any, field: str, value: Any, category: str | None
) -> None:
    row = {**record("R1", CO, "2025-06-01"), field: value}
    summary = _load(store, [write_jsonl([entity(CO), row])])
    if category is None:
        assert summary.rejected_total == 0
        return
    assert summary.rejected == {category: 1}
    reason = json.loads(Path(summary.rejects_files[0]).read_text(encoding="utf-8"))["reason"]
    assert "YYYY-MM-DD" in reason


def test_a_date_with_blanks_around_it_loads(store: GraphStore, write_jsonl: Any) -> None:
    row = {**record("R1", CO, "2025-06-01"), "decided_on": " 2025-06-01 "}
    assert _load(store, [write_jsonl([entity(CO), row])]).exit_code == 0


@pytest.mark.parametrize(
    ("row", "category"),
    [
        ({**person(P1), "name": ""}, "missing_field"),
        ({**person(P1), "name": "名" * 501}, "bad_value"),
        ({**entity(CO), "registered_capital": True}, "bad_value"),
        ({**entity(CO), "org_type": "company"}, "bad_value"),
        ({"type": "person", "code": P1}, "missing_field"),
        ({"type": "person", "code": P1[:-1], "name": "张三"}, "bad_code"),
    ],
)
def test_each_rejection_counts_under_its_own_category(
    store: GraphStore, write_jsonl: Any, row: dict[str, Any], category: str
) -> None:
    summary = _load(store, [write_jsonl([row])])
    assert summary.rejected == {category: 1}, summary.as_dict()


def test_a_control_character_in_a_name_is_refused_and_kept_out_of_the_rejects_file(
    store: GraphStore, write_jsonl: Any
) -> None:
    rows = [person(P1, "张\u0001三"), entity(CO, "测试\uffff公司"), person(P2, "李四")]
    summary = _load(store, [write_jsonl(rows)])
    assert summary.rejected == {"bad_text": 2} and summary.loaded == 1
    text = Path(summary.rejects_files[0]).read_text(encoding="utf-8")
    assert "U+0001" in text and "U+FFFF" in text
    assert "\\u0001" not in text and "\uffff" not in text  # the values are not kept
    assert list(_names(store)) == [P2]


def test_a_share_of_true_is_no_full_ownership(store: GraphStore, write_jsonl: Any) -> None:
    role = {"type": "role", "entity": CO, "holder": P1, "role": "shareholder", "share_ratio": True}
    summary = _load(store, [write_jsonl([entity(CO), person(P1), role])])
    assert summary.rejected == {"bad_value": 1}
    assert store.read("MATCH ()-[r:SHAREHOLDER]->() RETURN count(r) AS n")[0]["n"] == 0


def test_a_json_key_given_twice_is_refused(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        f'{{"type":"person","code":"{P1}","name":"王五","name":"王六"}}\n'
        f'{{"type": "person", "code": "{P2}", "name": "李四"}}\n',
        encoding="utf-8",
    )
    summary = _load(store, [path])
    assert summary.rejected == {"malformed": 1} and summary.loaded == 1
    assert "'name' twice" in Path(summary.rejects_files[0]).read_text(encoding="utf-8")
    assert list(_names(store)) == [P2]


def test_an_xlsx_record_id_typed_as_a_long_number_is_refused(
    store: GraphStore, tmp_path: Path
) -> None:
    src = _workbook(tmp_path / "in.xlsx", {
        "record": [
            ["id", "subject", "category", "kind", "decided_on", "document_no"],
            [123456789012345678, CO, "negative", "penalty", "2025-06-01", "A1"],
            [12345, CO, "negative", "penalty", "2025-06-01", 20250601],
        ],
        "entity": [["code", "name"], [CO, "测试有限公司"]],
    })
    summary = _load(store, [src])
    assert summary.rejected == {"bad_value": 1} and summary.loaded == 2, summary.as_dict()
    uids = [r["u"] for r in store.read("MATCH (r:Record) RETURN r.uid AS u")]
    assert uids == ["t:12345"]


def test_an_xlsx_formula_without_its_result_is_refused_not_emptied(
    store: GraphStore, tmp_path: Path
) -> None:
    src = _workbook(tmp_path / "in.xlsx", {"entity": [
        ["code", "name", "registered_capital"],
        [CO, "测试有限公司", "=1000*10000"],  # openpyxl stores no computed result
        [uscc_code(302), "另一有限公司", 5000],
    ]})
    summary = _load(store, [src])
    assert summary.rejected == {"bad_value": 1} and summary.loaded == 1, summary.as_dict()
    sheet = openpyxl.load_workbook(summary.rejects_files[0]).worksheets[0]
    assert "formula" in str(sheet["D2"].value)


# -- a file that cannot be read at all -------------------------------------------------


def test_an_empty_csv_and_a_zip_without_a_workbook_are_unreadable(
    store: GraphStore, tmp_path: Path
) -> None:
    empty = tmp_path / "person.csv"
    empty.write_bytes(b"\xef\xbb\xbf\r\n\r\n")
    with zipfile.ZipFile(tmp_path / "entity.xlsx", "w") as z:
        z.writestr("word/document.xml", "<w/>")
    summary = _load(store, [empty, tmp_path / "entity.xlsx"])
    assert summary.exit_code == 2 and summary.read == 0 and len(summary.unreadable) == 2
    assert summary.rejects_files == []


def test_a_decision_dated_after_the_file_arrived_is_refused(
    store: GraphStore, write_jsonl: Any
) -> None:
    """2202 for 2022: it would ground measures from 2202 on, and analyses ran to it."""
    tomorrow = (china_today() + dt.timedelta(days=1)).isoformat()  # time zones
    rows = [entity(CO), record("R1", CO, "2202-06-01"), record("R2", CO, tomorrow)]
    summary = _load(store, [write_jsonl(rows)])
    assert summary.rejected == {"bad_date": 1} and summary.loaded == 2, summary.as_dict()
    reason = json.loads(Path(summary.rejects_files[0]).read_text(encoding="utf-8"))["reason"]
    assert "2202-06-01" in reason and "is after today" in reason

"""CSV and XLSX submissions that used to lose rows or cells without a word.

Each test loads real files through the loader into the real engine and checks what a
provider notices: which rows are in the graph, the rejects file cell by cell, the reason,
and that the rejects file, once fixed, loads.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped, unused-ignore]
import pytest

from graph.store import GraphStore
from loaders.pipeline import LoadSummary, load_files
from schema.policy import load_policy
from tests.builders import person_code, uscc_code

NANTONG = load_policy("nantong")
TODAY = dt.date(2026, 11, 21)
C1, C2, C3, C4 = (uscc_code(n) for n in (301, 302, 303, 304))
P1 = person_code(305)
QUOTE_ADVICE = 'Close the quote, or write a quote inside a cell as ""'


def _load(store: GraphStore, paths: list[Path], rejects: Path) -> LoadSummary:
    return load_files(
        store, paths, policy=NANTONG, provider="t", today=TODAY, rejects_to=rejects, workers=0
    )


def _names(store: GraphStore) -> dict[str, str]:
    rows = store.read("MATCH (s:Subject) RETURN s.code AS code, s.name AS name")
    return {r["code"]: r["name"] for r in rows}


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _write_csv_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _sheet_rows(path: Path, sheet: str) -> list[tuple[Any, ...]]:
    wb = openpyxl.load_workbook(path)
    try:
        return list(wb[sheet].iter_rows(values_only=True))
    finally:
        wb.close()


def _workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


# -- 1. an unbalanced quote ---------------------------------------------------------


def test_an_unbalanced_quote_rejects_its_row_alone(store: GraphStore, tmp_path: Path) -> None:
    """It used to swallow the next rows into one name: one company landed, two vanished."""
    path = tmp_path / "entity.csv"
    path.write_text(
        f'code,name,address\n{C1},"南通宏达,江苏\n{C2},甲公司,南通\n{C3},乙公司,南京\n',
        encoding="utf-8",
    )
    summary = _load(store, [path], tmp_path / "rejects.csv")
    assert (summary.read, summary.loaded, dict(summary.rejected)) == (3, 2, {"malformed": 1})
    assert _names(store) == {C2: "甲公司", C3: "乙公司"}
    assert _csv_rows(tmp_path / "rejects.csv") == [
        ["code", "name", "address", "type", "reason", "line"],
        [
            C1, "南通宏达,江苏", "", "entity",
            'line 2: unbalanced quote: the cell a " opens on this line is not closed before '
            "line 3, which reads as a row of its own; the row is rejected alone and reading "
            f"goes on at line 3. {QUOTE_ADVICE}",
            "2",
        ],
    ]


def test_an_unbalanced_quote_among_thousands_of_rows_loses_none(
    store: GraphStore, tmp_path: Path
) -> None:
    """With the quote at row 11 of 6,000, 2,776 rows vanished and the rejected row was blank."""
    codes = [uscc_code(10_000 + i) for i in range(6000)]
    lines = [f"{code},公司{i},南通市崇川区\n" for i, code in enumerate(codes)]
    lines[10] = f'{codes[10]},"公司10,南通市崇川区\n'
    path = tmp_path / "entity.csv"
    path.write_text("code,name,address\n" + "".join(lines), encoding="utf-8")
    summary = _load(store, [path], tmp_path / "rejects.csv")
    assert (summary.read, summary.loaded, dict(summary.rejected)) == (6000, 5999, {"malformed": 1})
    assert set(_names(store)) == set(codes) - {codes[10]}
    [header, row] = _csv_rows(tmp_path / "rejects.csv")
    assert header == ["code", "name", "address", "type", "reason", "line"]
    assert row[:4] + row[5:] == [codes[10], "公司10,南通市崇川区", "", "entity", "12"]
    assert row[4].startswith("line 12: unbalanced quote:")


def test_an_unbalanced_quote_before_a_row_whose_address_spans_lines(
    store: GraphStore, tmp_path: Path
) -> None:
    """The next row's own quote (its address spans two lines, as Excel writes it) used to
    close the runaway cell, so the two rows became one company with a long name."""
    path = tmp_path / "entity.csv"
    path.write_text(
        f'code,name,address\n{C1},"南通宏达,江苏\n{C2},甲公司,"南通市崇川区\n工农路1号"\n'
        f"{C3},乙公司,南京\n",
        encoding="utf-8",
    )
    summary = _load(store, [path], tmp_path / "rejects.csv")
    assert (summary.loaded, dict(summary.rejected)) == (2, {"malformed": 1})
    got = store.read("MATCH (e:Entity) RETURN e.code AS c, e.name AS n, e.address AS a")
    assert sorted((r["c"], r["n"], r["a"]) for r in got) == sorted(
        [(C2, "甲公司", "南通市崇川区\n工农路1号"), (C3, "乙公司", "南京")]
    )
    [row] = _csv_rows(tmp_path / "rejects.csv")[1:]
    assert row[:4] + row[5:] == [C1, "南通宏达,江苏", "", "entity", "2"]


def test_an_unbalanced_quote_before_rows_that_are_no_rows_loses_none(
    store: GraphStore, tmp_path: Path
) -> None:
    """Rows with a cell too many never read as rows, so nothing ended the runaway cell:
    300 rows became one name too long to keep, and vanished from the rejects file too.
    A row may span at most 254 lines (Excel keeps 253 line breaks in a cell)."""
    codes = [uscc_code(20_000 + i) for i in range(300)]
    path = tmp_path / "entity.csv"
    path.write_text(
        f'code,name,address\n{C1},"甲公司,南通\n'
        + "".join(f"{code},公司{i},南通,多余\n" for i, code in enumerate(codes)),
        encoding="utf-8",
    )
    summary = _load(store, [path], tmp_path / "rejects.csv")
    assert (summary.read, summary.loaded, dict(summary.rejected)) == (301, 0, {"malformed": 301})
    [header, first, *rest] = _csv_rows(tmp_path / "rejects.csv")
    assert header == ["code", "name", "address", "", "type", "reason", "line"]
    assert first[:5] + first[6:] == [C1, "甲公司,南通", "", "", "entity", "2"]
    assert first[5].endswith(
        "not closed within 254 lines (Excel keeps at most 253 line breaks in a cell); the "
        f"row is rejected alone and reading goes on at line 3. {QUOTE_ADVICE}"
    )
    assert rest == [
        [code, f"公司{i}", "南通", "多余", "entity", "row has 4 cells, header has 3", str(i + 3)]
        for i, code in enumerate(codes)
    ]


def test_a_quote_left_open_at_the_end_of_the_file(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "entity.csv"
    path.write_text(f'code,name,address\n{C1},甲公司,南通\n{C2},"乙公司,南京\n', encoding="utf-8")
    summary = _load(store, [path], tmp_path / "rejects.csv")
    assert (summary.loaded, dict(summary.rejected)) == (1, {"malformed": 1})
    assert _names(store) == {C1: "甲公司"}
    assert _csv_rows(tmp_path / "rejects.csv")[1] == [
        C2, "乙公司,南京", "", "entity",
        'line 3: unbalanced quote: the cell a " opens on this line is not closed before the '
        f"end of the file; the row is rejected alone. {QUOTE_ADVICE}",
        "3",
    ]


def test_an_unreadable_row_keeps_its_cells_in_the_rejects_file(
    store: GraphStore, tmp_path: Path
) -> None:
    """csv.Error (a carriage return inside a cell that is not quoted) used to write a blank
    row: the provider could not tell which company it was."""
    path = tmp_path / "entity.csv"
    path.write_bytes(
        f"code,name,address\n{C1},甲\r公司,南通\n{C2},乙公司,南京\n".encode()
    )
    summary = _load(store, [path], tmp_path / "rejects.csv")
    assert (summary.loaded, dict(summary.rejected)) == (1, {"malformed": 1})
    assert _names(store) == {C2: "乙公司"}
    assert _csv_rows(tmp_path / "rejects.csv")[1] == [
        C1, "甲\r公司", "南通", "entity",
        "line 2: new-line character seen in unquoted field - do you need to open the file "
        "in universal-newline mode?",
        "2",
    ]


@pytest.fixture
def csv_default_field_limit() -> Iterator[None]:
    """csv's field limit is process-wide, and importing followthemoney (the FtM format)
    raises it from 131,072 to 30 MiB: pin the default for a test of csv giving up."""
    before = csv.field_size_limit(131_072)
    yield
    csv.field_size_limit(before)


@pytest.mark.usefixtures("csv_default_field_limit")
def test_a_runaway_cell_past_the_field_limit_keeps_the_row_and_the_rest(
    store: GraphStore, tmp_path: Path
) -> None:
    """The next line is no row (one huge cell), so the quote runs on until csv gives up:
    the row that opened it is kept in the rejects file and the rows after it are read."""
    path = tmp_path / "entity.csv"
    path.write_text(
        f'code,name,address\n{C1},"甲公司,南通\n{"长" * 140_000}\n{C2},乙公司,南京\n',
        encoding="utf-8",
    )
    summary = _load(store, [path], tmp_path / "rejects.csv")
    assert (summary.loaded, dict(summary.rejected)) == (1, {"malformed": 2})
    assert _names(store) == {C2: "乙公司"}
    [_, first, second] = _csv_rows(tmp_path / "rejects.csv")
    assert first[:4] + first[5:] == [C1, "甲公司,南通", "", "entity", "2"]
    assert first[4] == (
        'line 2: unbalanced quote: the cell a " opens on this line is not closed before line '
        "3, where field larger than field limit (131072); the row is rejected alone and "
        f"reading goes on at line 3. {QUOTE_ADVICE}"
    )
    assert second[:4] + second[5:] == ["", "", "", "entity", "3"]  # too long to copy
    assert second[4].startswith("line 3: field larger than field limit (131072); code:")


def test_cells_spanning_lines_as_excel_writes_them_still_load(
    store: GraphStore, tmp_path: Path
) -> None:
    """A quoted address over several lines (Alt+Enter in Excel), even a line of it with
    commas, is one cell: only a line that is a row of its own ends a runaway quote."""
    address = "南通市崇川区\n工农路1号,A座,3层\n301室"
    path = _write_csv_rows(
        tmp_path / "entity.csv",
        [["code", "name", "address"], [C1, "甲公司", address], [C2, "乙公司", "南京"]],
    )
    summary = _load(store, [path], tmp_path / "rejects.csv")
    assert (summary.loaded, summary.rejected_total) == (2, 0)
    got = store.read("MATCH (e:Entity {code: $c}) RETURN e.address AS a", {"c": C1})
    assert got == [{"a": address}]


# -- 2. columns named twice, cells past the header ----------------------------------


def test_a_csv_column_named_twice_keeps_both_cells(store: GraphStore, tmp_path: Path) -> None:
    path = tmp_path / "entity.csv"
    path.write_text(f"code,name,name\n{C1},甲,乙\n", encoding="utf-8")
    summary = _load(store, [path], tmp_path / "rejects.csv")
    assert (summary.loaded, dict(summary.rejected)) == (0, {"malformed": 1})
    assert _csv_rows(tmp_path / "rejects.csv") == [
        ["code", "name", "name", "type", "reason", "line"],
        [C1, "甲", "乙", "entity", "the header names column 'name' twice", "2"],
    ]


def test_a_csv_cell_past_the_header_is_kept_and_the_fixed_file_loads(
    store: GraphStore, tmp_path: Path
) -> None:
    path = tmp_path / "entity.csv"
    path.write_text(f"code,name\nBAD,丁\n{C2},丙,EXTRA_CELL_VALUE\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    summary = _load(store, [path], rejects)
    assert (summary.loaded, dict(summary.rejected)) == (0, {"bad_code": 1, "malformed": 1})
    rows = _csv_rows(rejects)
    assert rows[0] == ["code", "name", "", "type", "reason", "line"]
    assert rows[1][:4] == ["BAD", "丁", "", "entity"] and rows[1][5] == "2"
    assert rows[2] == [C2, "丙", "EXTRA_CELL_VALUE", "entity", "row has 3 cells, header has 2", "3"]
    rows[1][0], rows[2][2] = C3, ""  # the provider fixes the code and drops the extra cell
    fixed = _write_csv_rows(tmp_path / "fixed.csv", rows)
    again = _load(store, [fixed], tmp_path / "rejects2.csv")
    assert (again.loaded, again.rejected_total) == (2, 0)
    assert _names(store) == {C3: "丁", C2: "丙"}


def test_xlsx_columns_named_twice_and_cells_past_the_header_are_kept(
    store: GraphStore, tmp_path: Path
) -> None:
    path = _workbook(
        tmp_path / "monthly.xlsx",
        {
            "企业": [["code", "name", "name"], [C1, "甲", "乙"]],
            "自然人": [["code", "name"], [P1, "张三", "EXTRA_CELL_VALUE"]],
        },
    )
    rejects = tmp_path / "rejects.xlsx"
    summary = _load(store, [path], rejects)
    assert (summary.loaded, dict(summary.rejected)) == (0, {"malformed": 2})
    assert _sheet_rows(rejects, "企业") == [
        ("code", "name", "name", "reason", "line"),
        (C1, "甲", "乙", "the header names column 'name' twice", 2),
    ]
    assert _sheet_rows(rejects, "自然人") == [
        ("code", "name", None, "reason", "line"),
        (P1, "张三", "EXTRA_CELL_VALUE", "row has 3 cells, header has 2", 2),
    ]


# -- 3. an unknown column with empty cells ------------------------------------------


def test_an_unknown_csv_column_rejects_its_rows_even_when_empty(
    store: GraphStore, tmp_path: Path
) -> None:
    path = tmp_path / "entity.csv"
    path.write_text(f"code,name,org_type,status,nickname\n{C1},甲,,,\n", encoding="utf-8")
    summary = _load(store, [path], tmp_path / "rejects.csv")
    assert (summary.loaded, dict(summary.rejected)) == (0, {"unknown_column": 1})
    assert _names(store) == {}
    assert _csv_rows(tmp_path / "rejects.csv")[1] == [
        C1, "甲", "", "", "", "entity", "nickname: unknown column", "2"
    ]


def test_an_unknown_xlsx_column_rejects_its_rows_even_when_empty(
    store: GraphStore, tmp_path: Path
) -> None:
    path = _workbook(tmp_path / "m.xlsx", {"企业": [["code", "name", "nickname"], [C1, "甲"]]})
    summary = _load(store, [path], tmp_path / "rejects.xlsx")
    assert (summary.loaded, dict(summary.rejected)) == (0, {"unknown_column": 1})
    assert _sheet_rows(tmp_path / "rejects.xlsx", "企业")[1] == (
        C1, "甲", None, "nickname: unknown column", 2
    )


# -- 4. an XLSX date cell with a time -------------------------------------------------


def test_an_xlsx_date_with_a_time_reloads_from_the_rejects_sheet(
    store: GraphStore, tmp_path: Path
) -> None:
    path = _workbook(
        tmp_path / "m.xlsx",
        {
            "企业": [
                ["code", "name", "established", "registered_capital"],
                [C4, "丁公司", dt.datetime(2011, 5, 6, 13, 30), "100万"],
            ]
        },
    )
    rejects = tmp_path / "rejects.xlsx"
    summary = _load(store, [path], rejects)
    assert dict(summary.rejected) == {"bad_value": 1}
    [header, row] = _sheet_rows(rejects, "企业")
    assert header == ("code", "name", "established", "registered_capital", "reason", "line")
    assert row[:3] == (C4, "丁公司", "2011-05-06")
    wb = openpyxl.load_workbook(rejects)
    wb["企业"].cell(row=2, column=4, value=1_000_000)  # the provider fixes the capital
    wb.save(rejects)
    again = _load(store, [rejects], tmp_path / "rejects2.xlsx")
    assert (again.loaded, again.rejected_total) == (1, 0)
    got = store.read("MATCH (e:Entity {code: $c}) RETURN e.established AS d", {"c": C4})
    assert got == [{"d": "2011-05-06"}]

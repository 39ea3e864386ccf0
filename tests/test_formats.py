"""Submission formats read real files the way providers make them, and write rejects back.

Every test writes its files in ``tmp_path`` and checks what a provider or an operator
would see: the rows that come out, their line numbers, the reasons, the rejects file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped, unused-ignore]
import pytest
from pydantic import BaseModel

from loaders.formats import SourceRow, csv_format, ftm_format, xlsx_format
from schema.models import Entity, Person, Record, Role
from tests.builders import person_code, uscc_code

MODELS: dict[str, type[BaseModel]] = {
    "entity": Entity,
    "person": Person,
    "role": Role,
    "record": Record,
}

C1 = uscc_code(1)
C2 = uscc_code(2)
P1 = person_code(1)
P2 = person_code(2)


def validate(rows: list[SourceRow]) -> list[BaseModel]:
    """The rows' data passes the domain models: the formats produce loadable rows."""
    out = []
    for row in rows:
        assert row.error is None, (row.where, row.error)
        assert row.data is not None
        data = {k: v for k, v in row.data.items() if k != "type"}
        out.append(MODELS[row.data["type"]].model_validate(data))
    return out


def good(rows: list[SourceRow]) -> list[SourceRow]:
    return [r for r in rows if r.error is None]


def errors(rows: list[SourceRow]) -> list[tuple[int, str, str]]:
    return [(r.line, r.error.category, r.error.reason) for r in rows if r.error is not None]


# --------------------------------------------------------------------------------- CSV


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def read_csv(path: Path) -> list[SourceRow]:
    return list(csv_format.read(path))


ENTITY_ROWS = [
    ["code", "name", "org_type", "address"],
    [C1, "南通市崇川区示范科技有限公司", "enterprise", "南通市崇川区工农路1号"],
    [C2, "南通市欧阳堃贸易商行", "", ""],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_give_back_the_exact_names(tmp_path: Path, encoding: str) -> None:
    rows = read_csv(write_csv(tmp_path / "entity.csv", ENTITY_ROWS, encoding))
    assert [r.data for r in rows] == [
        {
            "code": C1,
            "name": "南通市崇川区示范科技有限公司",
            "org_type": "enterprise",
            "address": "南通市崇川区工农路1号",
            "type": "entity",
        },
        # Empty cells are absent, not "": optional fields take their defaults.
        {"code": C2, "name": "南通市欧阳堃贸易商行", "type": "entity"},
    ]
    assert [r.line for r in rows] == [2, 3]
    assert rows[1].raw == {
        "code": C2,
        "name": "南通市欧阳堃贸易商行",
        "org_type": "",
        "address": "",
    }
    validate(rows)


def test_csv_gb18030_names_outside_gbk_survive(tmp_path: Path) -> None:
    # 𪚥 is a four-byte GB18030 character: a GBK decoder would lose it.
    path = write_csv(
        tmp_path / "person.csv", [["code", "name"], [P1, "王𪚥"], [P2, "欧阳娜娜"]], "gb18030"
    )
    assert [r.data["name"] for r in read_csv(path) if r.data] == ["王𪚥", "欧阳娜娜"]


def test_csv_gb18030_with_chinese_only_after_64_kib_of_ascii(tmp_path: Path) -> None:
    lines = [["code", "name"]] + [[f"ftm:n{i}", f"Example Trading {i}"] for i in range(3000)]
    lines.append([P1, "张三"])
    rows = read_csv(write_csv(tmp_path / "person.csv", lines, "gb18030"))
    assert not errors(rows) and rows[-1].data == {"code": P1, "name": "张三", "type": "person"}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_csv_short_gb18030_file_any_line_end_no_final_newline(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "person.csv"
    # The only Chinese line is the last, without a line end: it must still vote.
    path.write_bytes(newline.join(["code,name", f"{P1},Zhang", f"{P2},李四"]).encode("gb18030"))
    rows = read_csv(path)
    assert [(r.line, r.data["name"]) for r in rows if r.data] == [(2, "Zhang"), (3, "李四")]


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_csv_a_damaged_line_is_rejected_and_the_rest_is_read(tmp_path: Path, encoding: str) -> None:
    head = "code,name\n" + f"{P1},张三\n"
    tail = f"{P2},李四\n"
    path = tmp_path / "person.csv"
    path.write_bytes(head.encode(encoding) + b"110101,\xff\xff\xff\n" + tail.encode(encoding))
    rows = read_csv(path)
    assert [(r.line, r.data["name"]) for r in good(rows) if r.data] == [(2, "张三"), (4, "李四")]
    [(line, category, reason)] = errors(rows)
    assert (line, category) == (3, "bad_encoding")
    label = "UTF-8" if encoding == "utf-8" else "GB18030"
    assert f"line 3 is not valid {label}" in reason


def test_csv_one_damaged_line_does_not_make_a_utf8_file_gb18030(tmp_path: Path) -> None:
    # UTF-8 Chinese decodes as (wrong) GB18030: the detector must not switch on one bad line.
    body = "".join(f"{person_code(i)},张{i}号\n" for i in range(3, 8))
    path = tmp_path / "person.csv"
    path.write_bytes(b"code,name\n\xe5\xbc,x\n" + body.encode("utf-8"))  # 张 cut short
    rows = read_csv(path)
    assert [r.data["name"] for r in good(rows) if r.data] == [f"张{i}号" for i in range(3, 8)]
    assert errors(rows)[0][:2] == (2, "bad_encoding")


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_csv_large_file_is_detected_across_the_prefix_end(tmp_path: Path, encoding: str) -> None:
    # Long rows of Chinese so the 64 KiB prefix ends inside a multi-byte character.
    name = "江苏省南通市崇川区示范科技有限公司" * 3
    lines = [["code", "name"]] + [[f"ftm:n{i}", f"{name}{i}"] for i in range(3000)]
    rows = read_csv(write_csv(tmp_path / "entity.csv", lines, encoding))
    assert len(rows) == 3000 and not errors(rows)
    assert rows[-1].data == {"code": "ftm:n2999", "name": f"{name}2999", "type": "entity"}
    assert rows[-1].line == 3001


def test_csv_quoted_multiline_cell_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "entity.csv"
    path.write_text(
        f'code,name,address\n{C1},甲公司,"南通市崇川区\n工农路1号"\n{C2},乙公司,南通市港闸区\n',
        encoding="utf-8",
    )
    rows = read_csv(path)
    assert [(r.line, r.data["address"]) for r in rows if r.data] == [
        (2, "南通市崇川区\n工农路1号"),
        (4, "南通市港闸区"),
    ]


@pytest.mark.parametrize(
    ("name", "row_type"),
    [
        ("record.csv", "record"),
        ("nt-tax_record.csv", "record"),
        ("2026-10.person.csv", "person"),
        ("nantong-entity.csv", "entity"),
        ("Entities.csv", "entity"),
        ("roles.csv", "role"),
        ("RECORDS.csv", "record"),
        ("南通_企业.csv", "entity"),
    ],
)
def test_csv_type_from_the_file_name(tmp_path: Path, name: str, row_type: str) -> None:
    rows = read_csv(write_csv(tmp_path / name, [["name"], ["x"]]))
    assert rows[0].data == {"name": "x", "type": row_type}


def test_csv_type_column_wins_and_mixes_types(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "record.csv",  # the name would say record; the column says otherwise
        [
            ["type", "code", "name"],
            ["entity", C1, "甲公司"],
            ["Persons", P1, "张三"],
            ["", C2, "乙"],
        ],
    )
    rows = read_csv(path)
    assert [r.data["type"] for r in rows if r.data] == ["entity", "person", "record"]


@pytest.mark.parametrize("name", ["data.csv", "entity_list.csv", "recordset.csv", "企业名单.csv"])
def test_csv_file_name_without_a_type_rejects_every_row(tmp_path: Path, name: str) -> None:
    rows = read_csv(write_csv(tmp_path / name, [["code", "name"], [C1, "甲"], [C2, "乙"]]))
    assert [(line, cat) for line, cat, _ in errors(rows)] == [
        (2, "unknown_type"),
        (3, "unknown_type"),
    ]
    reason = errors(rows)[0][2]
    assert "record.csv" in reason and "_record.csv" in reason and "'type' column" in reason


def test_csv_too_many_cells_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "person.csv"
    path.write_text(f"code,name\n{P1},张三,多余\n{P2},李四,\n", encoding="utf-8")
    rows = read_csv(path)
    assert errors(rows) == [(2, "malformed", "row has 3 cells, header has 2")]
    # A trailing empty cell (Excel's habit) is not an extra value.
    assert [r.data for r in good(rows)] == [{"code": P2, "name": "李四", "type": "person"}]


def test_csv_header_names_are_stripped_and_blank_rows_skipped(tmp_path: Path) -> None:
    path = tmp_path / "person.csv"
    path.write_text(f" code , name \n\n,\n{P1}, 张三 \n", encoding="utf-8")
    rows = read_csv(path)
    assert [(r.line, r.data) for r in rows] == [(4, {"code": P1, "name": "张三", "type": "person"})]


def test_csv_semicolon_and_tab_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "a.person.csv").write_text(f"code;name\n{P1};张三\n", encoding="utf-8")
    (tmp_path / "b.person.csv").write_text(f"code\tname\n{P1}\t张三\n", encoding="utf-8")
    for name in ("a.person.csv", "b.person.csv"):
        assert read_csv(tmp_path / name)[0].data == {"code": P1, "name": "张三", "type": "person"}


def test_csv_list_cell_stays_a_string_for_the_model(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "record.csv",
        [
            ["id", "subject", "category", "kind", "decided_on", "responsible"],
            ["R1", C1, "negative", "penalty", "2025-03-01", f"{P1};{P2}"],
        ],
    )
    rows = read_csv(path)
    assert rows[0].data is not None and rows[0].data["responsible"] == f"{P1};{P2}"
    [record] = validate(rows)
    assert isinstance(record, Record) and record.responsible == [P1, P2]


def test_csv_empty_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "entity.csv").write_bytes(b"")
    assert [c for _, c, _ in errors(read_csv(tmp_path / "entity.csv"))] == ["malformed"]


def read_rejects_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to open it as UTF-8"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_csv_rejects_file(tmp_path: Path) -> None:
    target = tmp_path / "out.rejects.csv"
    sink = csv_format.Rejects(target)
    assert sink.close() == [] and not target.exists()

    persons = read_csv(
        write_csv(
            tmp_path / "person.csv",
            [["code", "name", "宗教"], [P1, "张三", "某教"], [P2, "李四", ""]],
        )
    )
    records = read_csv(
        write_csv(tmp_path / "nt_record.csv", [["type", "id", "subject"], ["record", "R1", "bad"]])
    )
    sink = csv_format.Rejects(target)
    sink.write(persons[0], "宗教: prohibited data (Nantong Art. 14)", drop=("宗教",))
    sink.write(records[0], "subject: checksum does not match")
    sink.write(persons[1], "code: unknown subject")
    other = tmp_path / "out.rejects.nt_record.csv"
    assert sink.close() == [target, other]

    assert read_rejects_csv(target) == [
        ["code", "name", "宗教", "type", "reason", "line"],
        [P1, "张三", "", "person", "宗教: prohibited data (Nantong Art. 14)", "2"],
        [P2, "李四", "", "person", "code: unknown subject", "3"],
    ]
    assert "某教" not in target.read_text(encoding="utf-8-sig")
    assert read_rejects_csv(other) == [
        ["type", "id", "subject", "reason", "line"],
        ["record", "R1", "bad", "subject: checksum does not match", "2"],
    ]


def test_csv_rejects_file_can_be_fixed_and_sent_again(tmp_path: Path) -> None:
    """The added ``type`` column lets the rejects file load under its own name."""
    rows = read_csv(write_csv(tmp_path / "person.csv", [["code", "name"], [P1, ""]]))
    sink = csv_format.Rejects(tmp_path / "person.rejects.csv")
    sink.write(rows[0], "name: missing")
    [path] = sink.close()
    fixed = [row[:-2] for row in read_rejects_csv(path)]  # drop reason and line
    fixed[1][1] = "张三"
    again = read_csv(write_csv(tmp_path / "person.rejects.csv", fixed))
    assert again[0].data == {"code": P1, "name": "张三", "type": "person"}


# -------------------------------------------------------------------------------- XLSX


def make_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    notes = wb.active
    assert notes is not None
    notes.title = "填报说明"
    notes.append(["请按模板填写，日期请使用日期格式"])
    ent = wb.create_sheet("entity")
    ent.append(["code", "name", "org_type", "established", "registered_capital"])
    ent.append([C1, "  南通市示范科技有限公司 ", "enterprise", dt.date(2015, 3, 2), 5000000])
    ent.append([C2, "乙公司", None, dt.datetime(2018, 7, 9), None])
    ent.append([])
    ent.append([9.13206e17, "Excel 吃掉了代码的公司", None, None, None])
    per = wb.create_sheet("自然人")
    per.append(["code", "name"])
    per.append([P1, "张三"])
    per.append([int(P2[:15]), "李四"])
    role = wb.create_sheet("role")
    role.append(["entity", "holder", "role", "share_ratio", "since"])
    role.append([C1, P1, "legal_representative", None, dt.date(2015, 3, 2)])
    role.append([C1, P2, "shareholder", 0.51, dt.date(2016, 1, 1)])
    rec = wb.create_sheet("records")
    rec.append(["id", "subject", "category", "kind", "decided_on", "document_no", "responsible"])
    rec.append([1001, C1, "negative", "penalty", dt.date(2025, 4, 1), "通市监罚〔2025〕1号", P1])
    rec.append([1002, C1, "negative", "penalty", 45748, None, None])
    wb.create_sheet("Sheet2")  # empty, as older Excel leaves them
    other = wb.create_sheet("Sheet3")
    other.append(["code", "name"])
    other.append([C2, "不知类型"])
    wb.save(path)
    return path


def test_xlsx_reads_sheets_by_type(tmp_path: Path) -> None:
    rows = list(xlsx_format.read(make_workbook(tmp_path / "submission.xlsx")))
    assert [(r.sheet, r.line, r.data) for r in good(rows)] == [
        (
            "entity",
            2,
            {
                "code": C1,
                "name": "南通市示范科技有限公司",
                "org_type": "enterprise",
                "established": "2015-03-02",
                "registered_capital": 5000000,
                "type": "entity",
            },
        ),
        (
            "entity",
            3,
            {"code": C2, "name": "乙公司", "established": "2018-07-09", "type": "entity"},
        ),
        ("自然人", 2, {"code": P1, "name": "张三", "type": "person"}),
        (
            "role",
            2,
            {
                "entity": C1,
                "holder": P1,
                "role": "legal_representative",
                "since": "2015-03-02",
                "type": "role",
            },
        ),
        (
            "role",
            3,
            {
                "entity": C1,
                "holder": P2,
                "role": "shareholder",
                "share_ratio": 0.51,
                "since": "2016-01-01",
                "type": "role",
            },
        ),
        (
            "records",
            2,
            {
                "id": "1001",
                "subject": C1,
                "category": "negative",
                "kind": "penalty",
                "decided_on": "2025-04-01",
                "document_no": "通市监罚〔2025〕1号",
                "responsible": P1,
                "type": "record",
            },
        ),
    ]
    validate(good(rows))


def test_xlsx_refuses_what_excel_broke(tmp_path: Path) -> None:
    rows = list(xlsx_format.read(make_workbook(tmp_path / "submission.xlsx")))
    found = {(r.sheet, r.line): r.error for r in rows if r.error is not None}
    assert sorted(found) == [("Sheet3", 2), ("entity", 5), ("records", 3), ("自然人", 3)]
    for key in [("entity", 5), ("自然人", 3)]:
        err = found[key]
        assert err is not None and err.category == "bad_code"
        assert (
            "column code holds a number" in err.reason and "Format the column as text" in err.reason
        )
        assert str(int(P2[:15])) not in err.reason  # never echo a (possibly ID) number
    date_err = found[("records", 3)]
    assert date_err is not None and date_err.category == "bad_date"
    assert date_err.reason.startswith("decided_on:")
    unknown = found[("Sheet3", 2)]
    assert unknown is not None and unknown.category == "unknown_type"
    assert "'Sheet3'" in unknown.reason and "entity" in unknown.reason and "企业" in unknown.reason


def test_xlsx_single_sheet_takes_the_type_from_the_file_name(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["code", "name"])
    ws.append([P1, "张三"])
    wb.save(tmp_path / "2026-10_person.xlsx")
    rows = list(xlsx_format.read(tmp_path / "2026-10_person.xlsx"))
    assert [(r.sheet, r.data) for r in rows] == [
        ("Sheet", {"code": P1, "name": "张三", "type": "person"})
    ]


def test_xlsx_rows_past_a_wrong_recorded_dimension_are_read(tmp_path: Path) -> None:
    path = tmp_path / "person.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "person"
    ws.append(["code", "name"])
    ws.append([P1, "张三"])
    ws.append([P2, "李四"])
    wb.save(path)
    # Tools other than Excel often record a wrong dimension; make this one claim A1:B2.
    with zipfile.ZipFile(path) as zin:
        parts = {name: zin.read(name) for name in zin.namelist()}
    sheet_xml = "xl/worksheets/sheet1.xml"
    parts[sheet_xml] = re.sub(
        rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', parts[sheet_xml]
    )
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
    rows = list(xlsx_format.read(path))
    assert [(r.line, r.data["name"]) for r in rows if r.data] == [(2, "张三"), (3, "李四")]


def test_xlsx_not_a_workbook(tmp_path: Path) -> None:
    (tmp_path / "entity.xlsx").write_text("code,name\n", encoding="utf-8")
    rows = list(xlsx_format.read(tmp_path / "entity.xlsx"))
    assert [c for _, c, _ in errors(rows)] == ["malformed"]


def test_xlsx_rejects_workbook(tmp_path: Path) -> None:
    rows = list(xlsx_format.read(make_workbook(tmp_path / "submission.xlsx")))
    target = tmp_path / "submission.rejects.xlsx"
    sink = xlsx_format.Rejects(target)
    for row in rows:
        if row.error is not None:
            sink.write(row, row.error.reason)
    role = next(r for r in rows if r.sheet == "role" and r.line == 3)
    sink.write(role, "share_ratio: prohibited in this test", drop=("share_ratio",))
    assert sink.close() == [target]

    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames == ["entity", "自然人", "records", "Sheet3", "role"]
    values = {
        name: [list(r) for r in wb[name].iter_rows(values_only=True)] for name in wb.sheetnames
    }
    assert values["entity"][0] == [
        "code",
        "name",
        "org_type",
        "established",
        "registered_capital",
        "reason",
        "line",
    ]
    assert values["entity"][1][-1] == 5
    assert "Format the column as text" in str(values["entity"][1][-2])
    assert values["role"] == [
        ["entity", "holder", "role", "share_ratio", "since", "reason", "line"],
        [
            C1,
            P2,
            "shareholder",
            None,
            "2016-01-01",
            "share_ratio: prohibited in this test",
            3,
        ],
    ]
    assert values["Sheet3"][1] == [C2, "不知类型", found_reason(rows, "Sheet3"), 2]


def found_reason(rows: list[SourceRow], sheet: str) -> str:
    err = next(r.error for r in rows if r.sheet == sheet and r.error is not None)
    assert err is not None
    return err.reason


def test_xlsx_no_rejects_no_file(tmp_path: Path) -> None:
    target = tmp_path / "r.xlsx"
    assert xlsx_format.Rejects(target).close() == [] and not target.exists()


# --------------------------------------------------------------------------------- FtM


def ftm(eid: str, schema: str, **props: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "schema": schema,
        "properties": {k: v if isinstance(v, list) else [v] for k, v in props.items()},
    }


FTM_ENTITIES = [
    # Links first: OpenSanctions lists entities in any order.
    ftm(
        "dir-1",
        "Directorship",
        director="p-good",
        organization="co-good",
        role="法定代表人",
        startDate="2015-03",
    ),
    ftm(
        "own-1",
        "Ownership",
        owner="p-none",
        asset="co-good",
        percentage="51",
        startDate="2016-01-01",
    ),
    ftm(
        "san-1",
        "Sanction",
        entity="co-none",
        program="某国出口管制实体清单",
        authority="某国商务部",
        reason="违反出口管制",
        unscId="EL-2019-17",
        startDate="2019-05",
        endDate="2029-05-01",
    ),
    ftm(
        "co-good",
        "Company",
        name="南通市示范科技有限公司",
        uscCode=f"{C1[:9]}-{C1[9:]}",
        incorporationDate="2015",
        status="存续",
        address="南通市崇川区工农路1号",
    ),
    ftm(
        "co-none",
        "Company",
        name="Example Trading Ltd",
        registrationNumber="HRB 12345",
        dissolutionDate="2021-06-30",
    ),
    ftm("p-good", "Person", name="张三", idNumber=["E12345678", P1]),
    # The checksum of this idNumber is wrong: the person keeps its FtM id.
    ftm(
        "p-none", "Person", name="John Example", idNumber="110101199001011234", religion="something"
    ),
    ftm("addr-1", "Address", full="1 Example Street"),
    ftm("san-2", "Sanction", entity="not-in-file", program="Another list"),
    ftm("own-2", "Ownership", owner="not-in-file", asset="co-good", percentage="25-50"),
]


def write_ftm(path: Path, entities: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entities) + "{not json\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def ftm_rows(tmp_path: Path) -> Iterator[list[SourceRow]]:
    yield list(ftm_format.read(write_ftm(tmp_path / "export.ftm.json", FTM_ENTITIES)))


def test_ftm_maps_entities_to_rows(ftm_rows: list[SourceRow]) -> None:
    assert [(r.line, r.data) for r in good(ftm_rows)] == [
        (
            1,
            {
                "type": "role",
                "holder": P1,
                "entity": C1,
                "role": "legal_representative",
                "position": "法定代表人",
                "since": "2015-03-01",
            },
        ),
        (
            2,
            {
                "type": "role",
                "holder": "ftm:p-none",
                "entity": C1,
                "role": "shareholder",
                "share_ratio": 0.51,
                "since": "2016-01-01",
            },
        ),
        (
            3,
            {
                "type": "record",
                "id": "san-1",
                "subject": "ftm:co-none",
                "category": "other",
                "kind": "sanction",
                "title": "某国出口管制实体清单",
                "authority": "某国商务部",
                "document_no": "EL-2019-17",
                "decided_on": "2019-05-01",
                "valid_until": "2029-05-01",
                "disclosure": "public",
            },
        ),
        (
            4,
            {
                "type": "entity",
                "code": C1,
                "name": "南通市示范科技有限公司",
                "org_type": "enterprise",
                "status": "active",
                "established": "2015-01-01",
                "address": "南通市崇川区工农路1号",
            },
        ),
        (
            5,
            {
                "type": "entity",
                "code": "ftm:co-none",
                "name": "Example Trading Ltd",
                "org_type": "enterprise",
                "status": "cancelled",
                "terminated": "2021-06-30",
            },
        ),
        (6, {"type": "person", "code": P1, "name": "张三"}),
        (7, {"type": "person", "code": "ftm:p-none", "name": "John Example"}),
        (
            10,
            {
                "type": "role",
                "holder": "ftm:not-in-file",
                "entity": C1,
                "role": "shareholder",
            },
        ),
    ]
    validate(good(ftm_rows))


def test_ftm_sanction_grounds_no_punishment(ftm_rows: list[SourceRow]) -> None:
    [record] = [m for m in validate(good(ftm_rows)) if isinstance(m, Record)]
    assert record.category.value == "other"
    assert record.severity is None and record.list is None and record.effective_severity is None


def test_ftm_rejections(ftm_rows: list[SourceRow]) -> None:
    assert [(line, cat) for line, cat, _ in errors(ftm_rows)] == [
        (8, "unsupported_schema"),
        (9, "missing_field"),
        (11, "malformed"),
    ]
    reasons = {line: reason for line, _, reason in errors(ftm_rows)}
    assert "Address" in reasons[8]
    assert reasons[9].startswith("decided_on:")


def test_ftm_raw_drops_prohibited_properties(ftm_rows: list[SourceRow]) -> None:
    person = next(r for r in ftm_rows if r.line == 7)
    assert person.raw is not None and "religion" not in person.raw["properties"]


@pytest.mark.parametrize(
    ("role_text", "expected"),
    [
        ("Legal Representative", "legal_representative"),
        ("负责人", "principal"),
        ("监事会主席", "supervisor"),
        ("总经理", "manager"),
        ("董事长", "director"),
        (None, "director"),
    ],
)
def test_ftm_directorship_roles(tmp_path: Path, role_text: str | None, expected: str) -> None:
    props = {"director": "p", "organization": "o"} | ({"role": role_text} if role_text else {})
    path = write_ftm(tmp_path / "d.json", [ftm("d", "Directorship", **props)])
    row = next(ftm_format.read(path))
    assert row.data is not None and row.data["role"] == expected


def test_ftm_rejects_file(tmp_path: Path, ftm_rows: list[SourceRow]) -> None:
    target = tmp_path / "export.rejects.jsonl"
    sink = ftm_format.Rejects(target)
    address = next(r for r in ftm_rows if r.line == 8)
    assert address.error is not None
    sink.write(address, address.error.reason, drop=("full",))
    assert sink.close() == [target]
    [out] = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert out["id"] == "addr-1" and out["schema"] == "Address"
    assert out["properties"] == {}
    assert out["line"] == 8 and "Address" in out["reason"]


@pytest.mark.parametrize(
    ("schema", "props", "org_type"),
    [
        ("Company", {"registrationNumber": uscc_code(3, prefix="51")}, "enterprise"),
        ("PublicBody", {}, "institution"),
        ("Organization", {"taxNumber": uscc_code(3, prefix="51")}, "social_org"),
        ("Organization", {"registrationNumber": uscc_code(3, prefix="12")}, "institution"),
        ("Organization", {}, "other"),
        ("LegalEntity", {}, "other"),
    ],
)
def test_ftm_org_type(tmp_path: Path, schema: str, props: dict[str, str], org_type: str) -> None:
    path = write_ftm(tmp_path / "o.json", [ftm("o", schema, name="某某", **props)])
    row = next(ftm_format.read(path))
    assert row.data is not None and row.data["org_type"] == org_type
    assert row.data["code"] == next(iter(props.values()), "ftm:o")
    validate([row])


@pytest.mark.parametrize(
    ("percentage", "ratio"),
    [("51", 0.51), ("100", 1.0), ("0.5", 0.005), ("12.5%", 0.125), ("150", None), ("n/a", None)],
)
def test_ftm_percentage_is_a_percent(tmp_path: Path, percentage: str, ratio: float | None) -> None:
    own = ftm("own", "Ownership", owner="a", asset="b", percentage=percentage)
    row = next(ftm_format.read(write_ftm(tmp_path / "o.json", [own])))
    assert row.data is not None and row.data.get("share_ratio") == ratio


def test_raw_rows_are_plain_json(tmp_path: Path) -> None:
    """The pipeline may spool ``raw`` as JSON before it writes the rejects file."""
    rows = list(xlsx_format.read(make_workbook(tmp_path / "submission.xlsx")))
    rows += read_csv(write_csv(tmp_path / "entity.csv", ENTITY_ROWS))
    rows += list(ftm_format.read(write_ftm(tmp_path / "export.json", FTM_ENTITIES)))
    spooled = json.loads(json.dumps([r.raw for r in rows], ensure_ascii=False))
    assert spooled == [r.raw for r in rows]
    assert {
        "code": C1,
        "name": "  南通市示范科技有限公司 ",
        "org_type": "enterprise",
        "established": "2015-03-02",
        "registered_capital": 5000000,
    } in spooled

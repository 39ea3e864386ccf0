"""Every submission format, end to end through the loader into the real engine."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import openpyxl

from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.policy import load_policy
from tests.builders import person_code, uscc_code

NANTONG = load_policy("nantong")
CO, CO2 = uscc_code(91), uscc_code(92)
P1, P2 = person_code(93), person_code(94)


def _load(store: GraphStore, paths: list[Path], **kw: object):  # type: ignore[no-untyped-def]
    return load_files(store, paths, policy=NANTONG, provider="t", today=dt.date(2026, 11, 21), **kw)  # type: ignore[arg-type]


def test_csv_files_in_gb18030_load_with_their_chinese_names(
    store: GraphStore, tmp_path: Path
) -> None:
    def write(name: str, header: list[str], rows: list[list[str]]) -> Path:
        path = tmp_path / name
        with path.open("w", encoding="gb18030", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
        return path

    entity = write(
        "entity.csv",
        ["code", "name", "org_type", "address"],
        [
            [CO, "南通宏达建设工程有限公司", "enterprise", "崇川区工农路1号"],
            [CO2, "如皋市恒信化工有限公司", "enterprise", ""],
        ],
    )
    person = write("person.csv", ["code", "name"], [[P1, "顾建国"], [P2, "陆文杰"]])
    role = write(
        "role.csv",
        ["entity", "holder", "role", "since", "until"],
        [
            [CO, P1, "legal_representative", "2016-04-01", "2025-08-31"],
            [CO, "not-a-code", "director", "2016-04-01", ""],
        ],
    )
    record = write(
        "nt-amr_record.csv",
        ["id", "subject", "category", "kind", "severity", "decided_on", "responsible"],
        [["R1", CO, "negative", "penalty", "serious", "2025-06-20", f"{P1};{P2}"]],
    )
    summary = _load(store, [entity, person, role, record], rejects_to=tmp_path / "rejects.csv")
    assert summary.loaded == 6 and summary.rejected_total == 1 and summary.exit_code == 1
    names = {
        r["code"]: r["name"]
        for r in store.read("MATCH (s:Subject) RETURN s.code AS code, s.name AS name")
    }
    assert names[CO] == "南通宏达建设工程有限公司" and names[P1] == "顾建国"
    resp = store.read(
        "MATCH (:Record {uid: $u})-[:NAMES_RESPONSIBLE]->(p) RETURN p.code AS c ORDER BY c",
        {"u": "t:R1"},
    )
    assert [r["c"] for r in resp] == sorted([P1, P2])
    [rejects] = [Path(p) for p in summary.rejects_files]
    text = rejects.read_text(encoding="utf-8-sig")
    assert "not-a-code" in text and "reason" in text.splitlines()[0]


def test_xlsx_workbook_made_by_openpyxl(store: GraphStore, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "entity"
    ws.append(["code", "name", "established"])
    ws.append([CO, "南通宏达建设工程有限公司", dt.date(2010, 5, 1)])
    ws = wb.create_sheet("person")
    ws.append(["code", "name"])
    ws.append([P1, "顾建国"])
    ws = wb.create_sheet("role")
    ws.append(["entity", "holder", "role", "since"])
    ws.append([CO, P1, "legal_representative", dt.date(2016, 4, 1)])
    ws = wb.create_sheet("record")
    ws.append(["id", "subject", "category", "kind", "severity", "decided_on"])
    ws.append(["R1", CO, "negative", "penalty", "serious", dt.date(2025, 6, 20)])
    ws.append(["R2", 320602196805120358, "negative", "penalty", "serious", dt.date(2025, 6, 20)])
    path = tmp_path / "monthly.xlsx"
    wb.save(path)
    summary = _load(store, [path], rejects_to=tmp_path / "rejects.xlsx")
    assert summary.loaded == 4 and dict(summary.rejected) == {"bad_code": 1}
    got = store.read("MATCH (e:Entity) RETURN e.established AS d")
    assert got == [{"d": "2010-05-01"}]
    back = openpyxl.load_workbook(tmp_path / "rejects.xlsx")
    rows = list(back["record"].iter_rows(values_only=True))
    assert "reason" in rows[0] and "text" in str(rows[1][rows[0].index("reason")])


def test_followthemoney_export_next_to_local_data(store: GraphStore, tmp_path: Path) -> None:
    entities = [
        {
            "id": "co-1",
            "schema": "Company",
            "properties": {"name": ["南通宏达建设工程有限公司"], "uscCode": [CO]},
        },
        {"id": "co-2", "schema": "Company", "properties": {"name": ["Offshore Holdings Ltd"]}},
        {"id": "p-1", "schema": "Person", "properties": {"name": ["顾建国"], "idNumber": [P1]}},
        {"id": "p-2", "schema": "Person", "properties": {"name": ["John Doe"]}},
        {
            "id": "d-1",
            "schema": "Directorship",
            "properties": {"director": ["p-1"], "organization": ["co-1"], "role": ["法定代表人"]},
        },
        {
            "id": "o-1",
            "schema": "Ownership",
            "properties": {"owner": ["co-2"], "asset": ["co-1"], "percentage": ["51"]},
        },
        {
            "id": "s-1",
            "schema": "Sanction",
            "properties": {"entity": ["co-2"], "authority": ["OFAC"], "startDate": ["2021-03"]},
        },
    ]
    path = tmp_path / "export.json"
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entities), "utf-8")
    summary = _load(store, [path], fmt="ftm")
    assert summary.rejected_total == 0, summary.as_dict()
    kinds = {
        r["code"]: r["kind"]
        for r in store.read("MATCH (s:Subject) RETURN s.code AS code, s.kind AS kind")
    }
    assert kinds == {CO: "entity", "ftm:co-2": "entity", P1: "person", "ftm:p-2": "person"}
    share = store.read(
        "MATCH (o {code: 'ftm:co-2'})-[r:SHAREHOLDER_OF]->(c) "
        "RETURN c.code AS c, r.share_ratio AS s"
    )
    assert share == [{"c": CO, "s": 0.51}]
    rep = store.read("MATCH (p)-[:LEGAL_REPRESENTATIVE_OF]->(c) RETURN p.code AS p, c.code AS c")
    assert rep == [{"p": P1, "c": CO}]
    sanction = store.read(
        "MATCH (r:Record)-[:CONCERNS]->(s) RETURN r.kind AS k, r.category AS cat, "
        "r.list AS l, r.decided_on AS d, s.code AS s"
    )
    assert sanction == [
        {"k": "sanction", "cat": "other", "l": None, "d": "2021-03-01", "s": "ftm:co-2"}
    ]

"""Valid codes and interchange rows for tests, built the way issuers build them."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from stdnum.cn import ric, uscc


def uscc_code(n: int, region: str = "320602", prefix: str = "91") -> str:
    body = f"{prefix}{region}{n:09d}"
    return body + uscc.calc_check_digit(body + "0")


def person_code(n: int, birth: dt.date = dt.date(1975, 6, 1), region: str = "320602") -> str:
    body = f"{region}{birth:%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def codes_of_both_kinds(count: int) -> list[str]:
    """Valid resident ID numbers that also pass as USCCs (about one in thirty does),
    found by both issuers' checksums, not hard-coded."""
    found = []
    for n in range(1000):
        code = person_code(n, birth=dt.date(1982, 5, 7), region="110101")
        if uscc.is_valid(code):
            found.append(code)
            if len(found) == count:
                return found
    raise AssertionError("not enough ID numbers in the range pass as a USCC")


def entity(code: str, name: str = "测试有限公司", **kw: Any) -> dict[str, Any]:
    return {"type": "entity", "code": code, "name": name, **kw}


def person(code: str, name: str = "张三") -> dict[str, Any]:
    return {"type": "person", "code": code, "name": name}


def role(
    entity_code: str,
    holder: str,
    role_name: str,
    since: str | None = None,
    until: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "type": "role",
        "entity": entity_code,
        "holder": holder,
        "role": role_name,
    }
    if since:
        row["since"] = since
    if until:
        row["until"] = until
    row.update(kw)
    return row


def record(
    rid: str,
    subject: str,
    decided_on: str,
    *,
    category: str = "negative",
    kind: str = "penalty",
    **kw: Any,
) -> dict[str, Any]:
    return {
        "type": "record",
        "id": rid,
        "subject": subject,
        "category": category,
        "kind": kind,
        "decided_on": decided_on,
        "title": f"记录 {rid}",
        "document_no": f"通测〔2025〕{rid}号",
        "authority": "南通市市场监督管理局",
        **kw,
    }


def jsonl_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    """``rows`` as a JSON Lines file at ``path`` (UTF-8, names in clear)."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def csv_file(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    """A UTF-8 CSV file without a BOM: ``header``, then ``rows``."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path

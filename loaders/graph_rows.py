"""Domain models -> the row maps the ``queries`` writers UNWIND.

The content hash covers what the provider said, not where or when it said it, so a
re-sent identical row is recognised as unchanged and its provenance is left alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from enum import Enum
from typing import Any

import orjson

from schema.models import Entity, Person, Record, Role
from schema.pinyin import search_props


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _floatless(value: Any) -> bool:
    t = type(value)
    if t is float:
        return False
    if t is list or t is tuple:
        return all(map(_floatless, value))
    if t is dict:
        return all(map(_floatless, value.values()))
    return True


def content_hash(props: dict[str, Any]) -> str:
    """The hash is stored in the graph, so its text must never change: it is ``json``'s
    compact, sorted output. orjson writes the same text five times faster except for
    floats (``1.5e-7`` against ``1.5e-07``, ``null`` for NaN) and integers past 64 bits;
    rows with a float, or what orjson refuses, go through ``json``."""
    blob: bytes | None = None
    if _floatless(props):
        with contextlib.suppress(TypeError):  # orjson.JSONEncodeError is a TypeError
            blob = orjson.dumps(props, option=orjson.OPT_SORT_KEYS)
    if blob is None:
        text = json.dumps(props, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        blob = text.encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _with_provenance(props: dict[str, Any], src: str, line: int) -> dict[str, Any]:
    return {**props, "src": src, "src_line": line}


def _subject_row(
    code: str, said: dict[str, Any], search: dict[str, Any], src: str, line: int,
    ftm_id: str | None, defaults: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The row of a subject: ``said``, the fields the row carries, is all the writer
    sets of what a provider says (``queries.subjects``): a field left out, empty or
    null is not given and leaves the stored value alone, so a source that reports a
    company's code and name does not reset its status or erase its address (DOMAIN.md
    section 1: one subject, one node, whatever source reported it). ``defaults``: the
    model's defaults for fields the row does not carry, which the writer gives a node
    only when it creates it. ``props``: derived search text and provenance.

    ``ftm_id``: the FollowTheMoney id the row came under, which the node adds to its
    ``ftm_ids`` (``queries.subjects``) so a later file can name it by that id. The hash
    covers it: a subject stored with the same content from elsewhere (another provider's
    row, an export calling it by another id) would otherwise be skipped as unchanged,
    and the id never kept. Rows without one keep the hash they always had."""
    hashed = said if ftm_id is None else {**said, "ftm_ids": [ftm_id]}
    row = {
        "code": code,
        "row_hash": content_hash(hashed),
        "said": said,
        "props": _with_provenance(search, src, line),
    }
    if defaults:
        row["defaults"] = defaults
    if ftm_id is not None:
        row["ftm_ids"] = [ftm_id]
    return row


def _said(m: Entity | Person) -> dict[str, Any]:
    """The fields a subject row carries: what it left out, or gave empty or null, is no
    part of it (``schema.models``: an empty enumeration value is left out too)."""
    data = m.model_dump(exclude={"code"}, exclude_unset=True, exclude_none=True)
    return {k: _plain(v) for k, v in data.items()}


#: What a new entity node is when its first row does not say: an active enterprise.
_ENTITY_DEFAULTS = {
    name: _plain(field.default)
    for name, field in Entity.model_fields.items()
    if not field.is_required() and field.default is not None
}


def entity_row(e: Entity, src: str, line: int, ftm_id: str | None = None) -> dict[str, Any]:
    """The search properties (``name_py``, ``name_pyi``) are derived from the name, which
    the hash covers, so they stay out of it: graphs loaded before they existed keep their
    hashes, and a name change still changes the row (and its pinyin). A row that gives
    every field hashes as it always did."""
    said = _said(e)
    said["kind"] = "entity"
    defaults = {k: v for k, v in _ENTITY_DEFAULTS.items() if k not in said}
    return _subject_row(e.code, said, search_props(e.name), src, line, ftm_id, defaults)


def person_row(p: Person, src: str, line: int, ftm_id: str | None = None) -> dict[str, Any]:
    """Search properties kept out of the hash, as for entities. A person has no field
    besides its name today; the row follows the entity's rule all the same."""
    said = _said(p)
    said["kind"] = "person"
    return _subject_row(p.code, said, search_props(p.name), src, line, ftm_id)


def role_row(r: Role, src: str, line: int) -> dict[str, Any]:
    props = {
        "role": r.role.value,
        "position": r.position,
        "share_ratio": r.share_ratio,
        "since": _plain(r.since),
        "until": _plain(r.until),
    }
    return {
        "holder": r.holder,
        "entity": r.entity,
        "key": r.key,
        "row_hash": content_hash(props),
        "props": _with_provenance(props, src, line),
    }


def record_uid(provider: str, record_id: str) -> str:
    """Record ids are unique within a provider (CONTRACT.md section 2)."""
    return f"{provider}:{record_id}"


def record_row(
    r: Record, provider: str, src: str, line: int, derived: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``derived`` (lateness) depends on when the row came, not on what it says, so it
    stays out of the content hash and out of ``props``: beside them, the writer can
    keep the lateness a record got on its first arrival when a correction comes later
    (``queries.records.MERGE_RECORDS``)."""
    data = r.model_dump(exclude={"action", "responsible"})
    props = {k: _plain(v) for k, v in data.items()}
    props["provider"] = provider
    responsible = sorted(set(r.responsible))
    props["responsible"] = responsible
    row_hash = content_hash(props)
    return {
        "uid": record_uid(provider, r.id),
        "subject": r.subject,
        "responsible": responsible,
        "row_hash": row_hash,
        "props": _with_provenance(props, src, line),
        **(derived or {}),
    }

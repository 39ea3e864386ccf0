"""FollowTheMoney entities (JSON lines, as OpenSanctions exports them) -> interchange rows.

One FtM entity gives one row; ``followthemoney`` parses it, so schema inheritance counts
(a ``PublicBody`` is an ``Organization`` is a ``LegalEntity``).

=====================================  =========  =============================================
FtM schema                             type       fields
=====================================  =========  =============================================
Company, Organization, PublicBody,     entity     code: first valid USCC in uscCode,
LegalEntity (not Person)                          registrationNumber, taxNumber, else
                                                  ``ftm:<id>``; name; org_type; status;
                                                  established = incorporationDate;
                                                  terminated = dissolutionDate; address
Person                                 person     code: first valid resident ID in idNumber,
                                                  else ``ftm:<id>``; name
Directorship                           role       holder = director, entity = organization;
                                                  role from the role text (below); position =
                                                  the role text; since/until = start/endDate
Ownership                              role       holder = owner, entity = asset, shareholder;
                                                  share_ratio = percentage / 100; position =
                                                  role text; since/until = start/endDate
Sanction                               record     id = the FtM id; subject = entity; category
                                                  ``other``, kind ``sanction``; title =
                                                  program, else reason; authority;
                                                  document_no = unscId, else programId;
                                                  decided_on = startDate, else listingDate,
                                                  else date; valid_until = endDate; public
anything else                          rejected   ``unsupported_schema``
=====================================  =========  =============================================

Decisions:

- name: the export's ``caption`` if it is one of the names, else the first name.
- org_type: Company -> ``enterprise``; PublicBody -> ``institution``; Organization and
  LegalEntity -> by the USCC's registration authority when there is a valid one (1
  institution, 5 social_org, 9 enterprise), else ``other``. FtM cannot say more.
- status: the ``status`` text (English or Chinese) when it clearly says revoked (吊销),
  cancelled (注销, dissolved, deregistered, struck off, closed...) or active (存续, 在业...);
  otherwise ``cancelled`` if there is a dissolutionDate, else left to the default.
- Directorship role, first match in the role texts: 法定代表人 / "legal representative" ->
  legal_representative; 负责人 / "principal" -> principal; 监事 / "supervis" -> supervisor;
  经理 / 高级管理 / "manager" -> manager; anything else -> director.
- percentage is a percent in FtM (OpenSanctions writes 0-100), so every value is divided
  by 100, ``0.5`` included (half a percent, not half the company: reading small values as
  ratios would invent controlling owners). A value that is not one number in 0..100
  (``25-50``, ``>50``) leaves share_ratio out; the shareholding still loads.
- Sanctions from foreign or international lists are shown next to local data but are not
  dishonesty records under the municipal regulations: category ``other``, never a
  severity nor a list, so they ground no joint punishment.
- Partial dates take the first day: ``2019`` -> ``2019-01-01``, ``2019-05`` ->
  ``2019-05-01``; a time is cut off. With several values the most precise wins, then the
  earliest. A Sanction without any of its three dates is rejected (``missing_field``).
- References (director, organization, owner, asset, entity) are FtM ids and become the
  code the referenced entity gets: its USCC or ID number when valid, else ``ftm:<id>``,
  also when the id is not in the file (the pipeline then needs the subject in the graph).
  OpenSanctions puts referenced entities anywhere in the file, so a first pass collects
  the ids that have a real code (only those: the rest follow the ``ftm:`` rule), a second
  pass yields the rows.
- Not mapped: registered capital (FtM ``capital`` has no reliable currency), address
  entities (only the ``address`` text), aliases, countries, and every other property.
  FtM ``religion`` and ``ethnicity`` are prohibited data in some policies (DOMAIN.md
  section 4): they are removed from ``raw`` so not even the rejects file keeps them.

Rejects: JSON lines, the entity as read (less those properties) with ``reason``, ``file``
and ``line``; fields named in ``drop`` are removed, at the top level and in ``properties``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from followthemoney import model
from followthemoney.exc import InvalidData
from followthemoney.proxy import EntityProxy

from loaders.errors import RowRejected
from loaders.formats import SourceRow, jsonl_format
from loaders.limits import DEFAULT_LIMITS, InputLimits
from schema.codes import EXTERNAL_PREFIX, validate_person_id, validate_uscc
from schema.errors import InvalidCode

#: FtM properties holding data the regulations forbid collecting; never carried along.
SENSITIVE_PROPERTIES = frozenset({"religion", "ethnicity"})
USCC_PROPERTIES = ("uscCode", "registrationNumber", "taxNumber")
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?$")
_ROLE_RULES = (
    (("法定代表人", "legal representative", "legal_representative"), "legal_representative"),
    (("负责人", "principal"), "principal"),
    (("监事", "supervis"), "supervisor"),
    (("经理", "高级管理", "manager"), "manager"),
)
_STATUS_RULES = (
    (("吊销", "revoked", "revocation"), "revoked"),
    (
        (
            "注销",
            "撤销",
            "dissolved",
            "cancel",
            "deregist",
            "struck off",
            "closed",
            "inactive",
            "liquidated",
            "terminated",
            "ceased",
        ),
        "cancelled",
    ),
    (("存续", "在业", "在营", "开业", "active", "live", "registered", "operating"), "active"),
)
Raw = dict[str, Any] | None
_AUTHORITY_ORG_TYPE = {"1": "institution", "5": "social_org", "9": "enterprise"}


def read(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> Iterator[SourceRow]:
    codes = _real_codes(path, limits)
    for number, item, raw in _entities(path, limits=limits):
        if isinstance(item, RowRejected):
            yield SourceRow(path, number, None, None, item, raw)
            continue
        try:
            data = _map(item, raw, codes)
        except RowRejected as e:
            yield SourceRow(path, number, None, None, e, raw)
            continue
        yield SourceRow(path, number, None, data, None, raw)


def _entities(
    path: Path, coded_only: bool = False, limits: InputLimits = DEFAULT_LIMITS
) -> Iterator[tuple[int, EntityProxy | RowRejected, Raw]]:
    """Each line parsed; ``coded_only``: skip schemata that never carry a code (pass 1)."""
    for number, obj in jsonl_format.json_objects(
        path, limits, "a line must be one FtM entity object"
    ):
        if isinstance(obj, RowRejected):
            yield number, obj, None
            continue
        raw = _without_sensitive(obj)
        schema = obj.get("schema")
        found = model.get(schema) if isinstance(schema, str) else None
        if found is None:
            err = RowRejected("unsupported_schema", f"unknown FtM schema {schema!r}")
            yield number, err, raw
            continue
        if coded_only and not found.is_a("LegalEntity"):
            continue
        if not isinstance(obj.get("id"), str) or not obj["id"]:
            yield number, RowRejected("malformed", "the FtM entity has no id"), raw
            continue
        try:
            proxy = model.get_proxy(obj)
        except (InvalidData, TypeError, ValueError) as e:
            yield number, RowRejected("malformed", f"not a valid FtM entity: {e}"), raw
            continue
        yield number, proxy, raw


def _without_sensitive(obj: dict[str, Any]) -> dict[str, Any]:
    props = obj.get("properties")
    if not isinstance(props, dict) or not SENSITIVE_PROPERTIES & props.keys():
        return obj
    kept = {k: v for k, v in props.items() if k not in SENSITIVE_PROPERTIES}
    return {**obj, "properties": kept}


def _real_codes(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> dict[str, str]:
    """FtM id -> USCC or ID number, only for entities that have a valid one."""
    codes: dict[str, str] = {}
    for _number, item, _raw in _entities(path, coded_only=True, limits=limits):
        if isinstance(item, EntityProxy) and item.id is not None:
            code = _own_code(item)
            if code is not None:
                codes[item.id] = code
    return codes


def _own_code(proxy: EntityProxy) -> str | None:
    if proxy.schema.is_a("Person"):
        for value in proxy.get("idNumber", quiet=True):
            try:
                return validate_person_id(value).code
            except InvalidCode:
                continue
        return None
    if proxy.schema.is_a("LegalEntity"):
        for prop in USCC_PROPERTIES:
            for value in proxy.get(prop, quiet=True):
                try:
                    return validate_uscc(value).code
                except InvalidCode:
                    continue
    return None


def _map(proxy: EntityProxy, raw: Raw, codes: dict[str, str]) -> dict[str, Any]:
    schema = proxy.schema
    if schema.is_a("Person"):
        return _clean({"type": "person", "code": _ref(proxy.id, codes), "name": _name(proxy, raw)})
    if schema.is_a("LegalEntity"):
        return _entity(proxy, raw, codes)
    if schema.is_a("Directorship"):
        return _clean(
            {
                "type": "role",
                "holder": _required_ref(proxy, "director", codes),
                "entity": _required_ref(proxy, "organization", codes),
                "role": _directorship_role(proxy.get("role")),
                "position": proxy.first("role"),
                "since": _date(proxy, "startDate"),
                "until": _date(proxy, "endDate"),
            }
        )
    if schema.is_a("Ownership"):
        return _clean(
            {
                "type": "role",
                "holder": _required_ref(proxy, "owner", codes),
                "entity": _required_ref(proxy, "asset", codes),
                "role": "shareholder",
                "position": proxy.first("role"),
                "share_ratio": _share_ratio(proxy.get("percentage")),
                "since": _date(proxy, "startDate"),
                "until": _date(proxy, "endDate"),
            }
        )
    if schema.is_a("Sanction"):
        return _sanction(proxy, codes)
    raise RowRejected(
        "unsupported_schema",
        f"FtM schema {schema.name} is not loaded: only Company, Organization, PublicBody, "
        "LegalEntity, Person, Directorship, Ownership and Sanction map to the graph",
    )


def _entity(proxy: EntityProxy, raw: Raw, codes: dict[str, str]) -> dict[str, Any]:
    code = _ref(proxy.id, codes)
    if proxy.schema.is_a("PublicBody"):
        org_type = "institution"
    elif proxy.schema.is_a("Company"):
        org_type = "enterprise"
    elif code.startswith(EXTERNAL_PREFIX):
        org_type = "other"
    else:
        org_type = _AUTHORITY_ORG_TYPE.get(code[0], "other")
    terminated = _date(proxy, "dissolutionDate")
    return _clean(
        {
            "type": "entity",
            "code": code,
            "name": _name(proxy, raw),
            "org_type": org_type,
            "status": _status(proxy.get("status"), terminated),
            "established": _date(proxy, "incorporationDate"),
            "terminated": terminated,
            "address": proxy.first("address"),
        }
    )


def _sanction(proxy: EntityProxy, codes: dict[str, str]) -> dict[str, Any]:
    subject = _required_ref(proxy, "entity", codes)
    decided_on = _date(proxy, "startDate") or _date(proxy, "listingDate") or _date(proxy, "date")
    if decided_on is None:
        raise RowRejected(
            "missing_field", "decided_on: the Sanction has no startDate, listingDate or date"
        )
    return _clean(
        {
            "type": "record",
            "id": proxy.id,
            "subject": subject,
            "category": "other",
            "kind": "sanction",
            "title": proxy.first("program") or proxy.first("reason"),
            "authority": proxy.first("authority"),
            "document_no": proxy.first("unscId") or proxy.first("programId"),
            "decided_on": decided_on,
            "valid_until": _date(proxy, "endDate"),
            "disclosure": "public",
        }
    )


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != ""}


def _ref(entity_id: str | None, codes: dict[str, str]) -> str:
    assert entity_id is not None  # checked when the line was read
    return codes.get(entity_id) or EXTERNAL_PREFIX + entity_id


def _required_ref(proxy: EntityProxy, prop: str, codes: dict[str, str]) -> str:
    target = proxy.first(prop)
    if not target:
        raise RowRejected(
            "missing_field", f"the {proxy.schema.name} has no {prop}: it links nothing"
        )
    return _ref(target, codes)


def _name(proxy: EntityProxy, raw: Raw) -> str | None:
    names = proxy.get("name")
    caption = (raw or {}).get("caption")
    if isinstance(caption, str) and caption in names:
        return caption
    return names[0] if names else None


def _directorship_role(texts: list[str]) -> str:
    lowered = " ".join(texts).lower()
    for needles, role in _ROLE_RULES:
        if any(n in lowered for n in needles):
            return role
    return "director"


def _status(texts: list[str], terminated: str | None) -> str | None:
    lowered = " ".join(texts).lower()
    if lowered:
        for needles, status in _STATUS_RULES:
            if any(n in lowered for n in needles):
                return status
    return "cancelled" if terminated else None


def _share_ratio(values: list[str]) -> float | None:
    for value in values:
        text = value.strip().removesuffix("%").strip()
        try:
            percent = float(text)
        except ValueError:
            continue
        if 0 <= percent <= 100:
            return percent / 100
    return None


def normalize_date(value: str) -> tuple[str, int] | None:
    """``YYYY[-MM[-DD]]`` (and a time) -> the first day it covers and how precise it was."""
    m = _DATE_RE.match(value.strip())
    if m is None:
        return None
    year, month, day = m.group(1), m.group(2), m.group(3)
    try:
        d = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
    precision = 3 if day else 2 if month else 1
    return d.isoformat(), precision


def _date(proxy: EntityProxy, prop: str) -> str | None:
    found = [n for v in proxy.get(prop, quiet=True) if (n := normalize_date(v)) is not None]
    if not found:
        return None
    return min(found, key=lambda f: (-f[1], f[0]))[0]


class Rejects(jsonl_format.Rejects):
    """JSON lines like JSONL's, with dropped properties removed inside ``properties`` too."""

    def kept(self, raw: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
        out = super().kept(raw, dropped)
        props = out.get("properties")
        if isinstance(props, dict) and dropped & props.keys():
            out["properties"] = {k: v for k, v in props.items() if k not in dropped}
        return out

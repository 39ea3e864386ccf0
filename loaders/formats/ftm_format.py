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
  code the referenced entity gets: its USCC or ID number when valid, else ``ftm:<id>``.
  OpenSanctions puts referenced entities anywhere in the file, so a first pass collects
  the ids that have a real code (only those: the rest follow the ``ftm:`` rule; at most
  ``REFERENCE_CODES_MAX`` of them, so memory stays bounded), a second pass yields the
  rows. An id that is not in the file, or past that bound, stays ``ftm:<id>``: the
  pipeline resolves it through the graph, by code and else by the FtM ids every subject
  loaded from FtM keeps (``ftm_ids``: ``SourceRow.ftm_id`` carries each subject's id),
  so deltas and split exports link to subjects of earlier files.
- Every property value is a list (FtM's own format). A string instead is rejected as
  ``malformed``: followthemoney would split it into its characters.
- Not mapped: registered capital (FtM ``capital`` has no reliable currency), address
  entities (only the ``address`` text), aliases, countries, and every other property.
- Prohibited data (DOMAIN.md section 4): an entity carrying a property the active policy
  prohibits is rejected as ``prohibited_field``, the property named, its value neither
  stored nor written to the rejects file. A format knows no policy: each row lists its
  property names in ``SourceRow.screened`` and the pipeline decides. FtM has no ``race``
  property; its ``ethnicity`` is where racial origin would be given, so it counts as
  ``race`` (prohibited by Zhengzhou Art. 9(1) only), by the policy's own list of
  spellings, the same for JSONL and CSV columns. ``religion`` and ``ethnicity``
  (``SENSITIVE_PROPERTIES``) are removed from ``raw`` whatever the policy, so no rejects
  file keeps them; under a policy that does not prohibit one the row loads without it
  (the model has no such field).

Rejects: JSON lines, the entity as read (less those properties) with ``reason``, ``file``
and ``line``; fields named in ``drop`` are removed, at the top level and in ``properties``,
and so are the FtM properties a dropped field was mapped from (``title``: ``program``,
``reason``; ``position``: ``role``...).
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
from schema.codes import EXTERNAL_PREFIX, validate_external, validate_person_id, validate_uscc
from schema.errors import InvalidCode

#: FtM properties holding data the regulations forbid collecting; never carried along,
#: not even into a rejects file. Which policy prohibits which property name is the
#: policies' own data, for every format alike (``schema/data/policies``: FtM has no
#: ``race``, and racial origin would be given as ``ethnicity``, an alias of ``race``).
SENSITIVE_PROPERTIES = frozenset({"religion", "ethnicity"})
#: FtM ids with a real code kept from the first pass (about 200 bytes each). Past this
#: many, a reference names ``ftm:<id>`` and the pipeline finds the subject through the
#: graph by its FtM id, a read per chunk: an export of any size loads in bounded memory.
REFERENCE_CODES_MAX = 1_000_000
USCC_PROPERTIES = ("uscCode", "registrationNumber", "taxNumber")
_PROPERTY_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z_]{0,63}$")
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
    for number, item, raw, screened in _entities(path, limits=limits):
        if isinstance(item, RowRejected):
            yield SourceRow(path, number, None, None, item, raw, screened=screened)
            continue
        try:
            data = _map(item, raw, codes)
        except RowRejected as e:
            yield SourceRow(path, number, None, None, e, raw, screened=screened)
            continue
        ftm_id = _subject_id(item) if data["type"] in ("entity", "person") else None
        yield SourceRow(path, number, None, data, None, raw, ftm_id=ftm_id, screened=screened)


def _entities(
    path: Path, coded_only: bool = False, limits: InputLimits = DEFAULT_LIMITS
) -> Iterator[tuple[int, EntityProxy | RowRejected, Raw, tuple[tuple[str, str], ...]]]:
    """Each line parsed, with its properties for the policy to screen (``SourceRow``);
    ``coded_only``: skip schemata that never carry a code (pass 1)."""
    for number, obj in jsonl_format.json_objects(
        path, limits, "a line must be one FtM entity object"
    ):
        if isinstance(obj, RowRejected):
            yield number, obj, None, ()
            continue
        raw = _without_sensitive(obj)
        screened = () if coded_only else _screened(obj)
        schema = obj.get("schema")
        found = model.get(schema) if isinstance(schema, str) else None
        if found is None:
            err = RowRejected("unsupported_schema", f"unknown FtM schema {schema!r}")
            yield number, err, raw, screened
            continue
        if coded_only and not found.is_a("LegalEntity"):
            continue
        if not isinstance(obj.get("id"), str) or not obj["id"]:
            yield number, RowRejected("malformed", "the FtM entity has no id"), raw, screened
            continue
        problem = _shape_problem(obj.get("properties"))
        if problem is not None:
            yield number, RowRejected("malformed", problem), raw, screened
            continue
        try:
            proxy = model.get_proxy(obj)
        except (InvalidData, TypeError, ValueError) as e:
            err = RowRejected("malformed", f"not a valid FtM entity: {e}")
            yield number, err, raw, screened
            continue
        yield number, proxy, raw, screened


def _shape_problem(props: object) -> str | None:
    """Checked before followthemoney sees the entity: given a string where a list
    belongs, it splits the string into characters (a name became its first character
    and the USCC was lost), without a word."""
    if props is None:
        return None
    if not isinstance(props, dict):
        return "properties: FtM properties are an object of property lists"
    for name, values in props.items():
        if not isinstance(values, list):
            return f"properties.{_shown(name)}: FtM property values are lists, not one value"
    return None


def _shown(name: object) -> str:
    """A property name fit for a reason: FtM's are identifiers (``registrationNumber``);
    any other key may be huge or hold an ID number, which no reason shows."""
    if isinstance(name, str) and _PROPERTY_NAME_RE.match(name):
        return name
    return "(a property name)"


def _screened(obj: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Each property as (where it is, the field a policy may call it): the pipeline
    rejects the row when the active policy prohibits one (``SourceRow.screened``)."""
    props = obj.get("properties")
    if not isinstance(props, dict):
        return ()
    return tuple((f"properties.{name}", name) for name in props if isinstance(name, str))


def _subject_id(proxy: EntityProxy) -> str | None:
    """The FtM id a subject row is remembered by, when a reference could name it."""
    try:
        validate_external(EXTERNAL_PREFIX + str(proxy.id))
    except InvalidCode:
        return None  # no reference can name it either: ``ftm:<id>`` is no valid code
    return proxy.id


def _without_sensitive(obj: dict[str, Any]) -> dict[str, Any]:
    props = obj.get("properties")
    if not isinstance(props, dict) or not SENSITIVE_PROPERTIES & props.keys():
        return obj
    kept = {k: v for k, v in props.items() if k not in SENSITIVE_PROPERTIES}
    return {**obj, "properties": kept}


def _real_codes(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> dict[str, str]:
    """FtM id -> USCC or ID number, only for entities that have a valid one, and at most
    ``REFERENCE_CODES_MAX`` of them."""
    codes: dict[str, str] = {}
    for _number, item, _raw, _screened in _entities(path, coded_only=True, limits=limits):
        if len(codes) >= REFERENCE_CODES_MAX:
            break
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
        return _clean({"type": "person", "code": _code(proxy), "name": _name(proxy, raw)})
    if schema.is_a("LegalEntity"):
        return _entity(proxy, raw)
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


def _entity(proxy: EntityProxy, raw: Raw) -> dict[str, Any]:
    code = _code(proxy)
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


def _code(proxy: EntityProxy) -> str:
    """A subject's own code, from the entity itself: the first pass's map is bounded."""
    assert proxy.id is not None  # checked when the line was read
    return _own_code(proxy) or EXTERNAL_PREFIX + proxy.id


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


#: Field of the interchange row -> where ``_map`` took its value in the entity (top-level
#: keys and properties), so a value dropped from the row (too long, bad text) is dropped
#: from the rejects file under the name the provider gave it.
_SOURCES: dict[str, tuple[str, ...]] = {
    "code": ("id",),
    "name": ("caption",),
    "id": ("id",),
    "holder": ("director", "owner"),
    "entity": ("organization", "asset"),
    "subject": ("entity",),
    "position": ("role",),
    "share_ratio": ("percentage",),
    "title": ("program", "reason"),
    "document_no": ("unscId", "programId"),
    "established": ("incorporationDate",),
    "terminated": ("dissolutionDate",),
    "since": ("startDate",),
    "until": ("endDate",),
    "decided_on": ("startDate", "listingDate", "date"),
    "valid_until": ("endDate",),
}


class Rejects(jsonl_format.Rejects):
    """JSON lines like JSONL's, with dropped properties removed inside ``properties`` too,
    and with the FtM properties a dropped field was mapped from."""

    def kept(self, raw: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
        dropped = dropped.union(*(_SOURCES.get(f, ()) for f in dropped))
        out = super().kept(raw, dropped)
        props = out.get("properties")
        if isinstance(props, dict) and dropped & props.keys():
            out["properties"] = {k: v for k, v in props.items() if k not in dropped}
        return out

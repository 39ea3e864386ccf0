"""Domain models: what a subject, a role, a record and a check result *are*.

These are the validated shapes of CONTRACT.md section 2 and 4. GraphQL types live in
``api/`` and are built from these, never the other way round. Derived facts (region,
birth date, sex) are properties computed from the codes, not stored fields.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from schema.codes import (
    PersonIdInfo,
    UsccInfo,
    classify,
    is_external,
    kind_is_open,
    validate_external,
    validate_person_id,
    validate_uscc,
)
from schema.errors import InvalidCode


class OrgType(StrEnum):
    ENTERPRISE = "enterprise"
    INSTITUTION = "institution"
    SOCIAL_ORG = "social_org"
    OTHER = "other"


class EntityStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    CANCELLED = "cancelled"


class RoleType(StrEnum):
    LEGAL_REPRESENTATIVE = "legal_representative"
    PRINCIPAL = "principal"
    DIRECTOR = "director"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    SHAREHOLDER = "shareholder"
    # Extension of CONTRACT.md: ``holder`` (a USCC) is a branch of ``entity``.
    BRANCH = "branch"


#: Roles that count as holding office (CONTRACT.md section 4, rule 5; Wuhan Art. 26).
OFFICE_ROLES = frozenset(
    {
        RoleType.LEGAL_REPRESENTATIVE,
        RoleType.PRINCIPAL,
        RoleType.DIRECTOR,
        RoleType.SUPERVISOR,
        RoleType.MANAGER,
    }
)
#: Roles whose holder on the act date answers for the organisation's record (rule 2).
RESPONSIBLE_ROLES = frozenset({RoleType.LEGAL_REPRESENTATIVE, RoleType.PRINCIPAL})


class Category(StrEnum):
    BASIC = "basic"
    POSITIVE = "positive"
    NEGATIVE = "negative"
    OTHER = "other"


class Severity(StrEnum):
    GENERAL = "general"
    SERIOUS = "serious"


class ListKind(StrEnum):
    RED = "red"
    BLACK = "black"


class Disclosure(StrEnum):
    PUBLIC = "public"
    AUTHORIZED = "authorized"
    SHARED = "shared"
    LIMITED = "limited"


class RowAction(StrEnum):
    UPSERT = "upsert"
    WITHDRAW = "withdraw"


class RecordStatus(StrEnum):
    """Where a record stands in its life. Only ``active`` records can ground anything."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    REPAIRED = "repaired"
    DELETED = "deleted"
    WITHHELD = "withheld"


def _uscc(value: str) -> str:
    if is_external(value):
        return _external(value)
    try:
        return validate_uscc(value).code
    except InvalidCode as e:
        raise ValueError(f"{e.reason} ({e.shown_value})") from None


def _person_id(value: str) -> str:
    if is_external(value):
        return _external(value)
    try:
        return validate_person_id(value).code
    except InvalidCode as e:
        raise ValueError(f"{e.reason} ({e.shown_value})") from None


def _external(value: str) -> str:
    try:
        return validate_external(value)
    except InvalidCode as e:
        raise ValueError(f"{e.reason} ({e.shown_value})") from None


def _any_code(value: str) -> str:
    if is_external(value):
        return _external(value)
    try:
        return classify(value).code
    except InvalidCode as e:
        raise ValueError(f"{e.reason} ({e.shown_value})") from None


def _empty_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _split_list(value: Any) -> Any:
    """CSV carries lists as ``a;b``; JSON carries real lists. Accept both."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    """Dates exactly as CONTRACT.md section 2 writes them, ``YYYY-MM-DD``.

    Pydantic alone also takes a number as Unix time (``0`` is 1970-01-01, ``1748736000``
    a day in 2025) and ``2025-06-01T00:00``: a provider's system that sends either meant
    something else, and the act date decides who answers for a record (CONTRACT.md
    section 4, rule 2), so such a value is refused, not read by a guess.
    """
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if _ISO_DATE.fullmatch(text):
            return text  # pydantic checks the day exists
    raise ValueError("a date is written YYYY-MM-DD")


def _no_bool(value: Any) -> Any:
    """JSON ``true`` is no amount and no share: pydantic would read it as 1.0, a 100 %
    shareholder."""
    if isinstance(value, bool):
        raise ValueError("a number is needed, not true or false")
    return _empty_to_none(value)


Uscc = Annotated[str, AfterValidator(_uscc)]
PersonId = Annotated[str, AfterValidator(_person_id)]
AnyCode = Annotated[str, AfterValidator(_any_code)]
OptDate = Annotated[dt.date | None, BeforeValidator(_iso_date)]
Date = Annotated[dt.date, BeforeValidator(_iso_date)]
OptNumber = Annotated[float | None, BeforeValidator(_no_bool)]
Name = Annotated[str, Field(min_length=1, max_length=500)]
PersonIdList = Annotated[list[PersonId], BeforeValidator(_split_list)]
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _kind(value: str) -> str:
    if not _KIND_RE.match(value):
        raise ValueError("must be a lower-case identifier such as 'penalty'")
    return value


def _enum_in(annotation: Any) -> type[StrEnum] | None:
    """The enumeration a field's type is, or holds (``Severity | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return annotation
    for arg in get_args(annotation):
        found = _enum_in(arg)
        if found is not None:
            return found
    return None


#: Per row model: each enumeration field and the values it takes (``_Row._enum_spelling``).
_ENUM_FIELDS: dict[type[BaseModel], dict[str, frozenset[str]]] = {}


def _enum_fields(model: type[BaseModel]) -> dict[str, frozenset[str]]:
    found = _ENUM_FIELDS.get(model)
    if found is None:
        found = _ENUM_FIELDS[model] = {
            name: frozenset(e.value for e in enum)
            for name, field in model.model_fields.items()
            if (enum := _enum_in(field.annotation)) is not None
        }
    return found


def enum_spelling(value: str) -> str:
    """An enumeration value as the contract spells it: stripped and lower-cased
    (``_Row._enum_spelling``)."""
    return value.strip().lower()


class _Row(BaseModel):
    # Infinity and NaN (which JSON parsers accept as 1e999, Infinity, NaN) are no amount
    # or share, and no engine stores them: such a row was a load-stopping query error.
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, frozen=True, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _enum_spelling(cls, data: Any) -> Any:
        """Enumeration values as every format gives them. Empty (``""``, blanks, JSON
        ``null``) is not given, as an empty CSV cell is (CSV and XLSX leave those out):
        the field takes its default, or is missing when required, and a subject row does
        not overwrite what the node holds (``loaders.graph_rows``). Otherwise the value is
        read stripped, as every other text field is, and lower-cased: each is one of a
        closed list of lower-case words (CONTRACT.md section 2) that no two spellings
        share, so ``" Enterprise"`` or ``"NEGATIVE"`` can mean one value only and is
        stored as the contract spells it. (A record's ``kind`` is an open identifier,
        not an enumeration, and stays lower-case only.)"""
        if not isinstance(data, dict):
            return data
        out: dict[Any, Any] | None = None
        for name, values in _enum_fields(cls).items():
            value = data.get(name)
            if value is None:
                if name in data:
                    out = out if out is not None else dict(data)
                    del out[name]
                continue
            if type(value) is not str or value in values:
                continue  # a spelling of the contract's, or no text: pydantic says what
            out = out if out is not None else dict(data)
            text = enum_spelling(value)
            if text:
                out[name] = text
            else:
                del out[name]
        return data if out is None else out


class Entity(_Row):
    code: Uscc
    name: Name
    org_type: OrgType = OrgType.ENTERPRISE
    status: EntityStatus = EntityStatus.ACTIVE
    established: OptDate = None
    terminated: OptDate = None
    address: Annotated[str | None, BeforeValidator(_empty_to_none)] = None
    registered_capital: OptNumber = Field(default=None, ge=0)

    @property
    def code_info(self) -> UsccInfo:
        return validate_uscc(self.code)

    @property
    def region_code(self) -> str:
        return self.code_info.region_code

    @model_validator(mode="after")
    def _dates_in_order(self) -> Entity:
        if self.established and self.terminated and self.terminated < self.established:
            raise ValueError("terminated is before established")
        return self


class Person(_Row):
    code: PersonId
    name: Name

    @property
    def code_info(self) -> PersonIdInfo:
        return validate_person_id(self.code)

    @property
    def birth_date(self) -> dt.date:
        return self.code_info.birth_date

    @property
    def sex(self) -> str:
        return self.code_info.sex

    @property
    def region_code(self) -> str:
        return self.code_info.region_code


class Role(_Row):
    entity: Uscc
    holder: AnyCode
    role: RoleType
    position: Annotated[str | None, BeforeValidator(_empty_to_none)] = None
    share_ratio: OptNumber = Field(default=None, ge=0, le=1)
    since: OptDate = None
    until: OptDate = None
    #: ``withdraw``: the role was entered in error and ends from the day it is withdrawn
    #: (``queries.roles``); it is named by entity, holder, role and since, like the role.
    action: RowAction = RowAction.UPSERT

    @model_validator(mode="after")
    def _consistent(self) -> Role:
        if self.since and self.until and self.until < self.since:
            raise ValueError("until is before since")
        if self.share_ratio is not None and self.role is not RoleType.SHAREHOLDER:
            raise ValueError("share_ratio is only for shareholders")
        if self.holder == self.entity:
            raise ValueError("holder and entity are the same subject")
        if is_external(self.holder):
            return self  # an external subject's kind is known only from its own row
        if (
            self.role is RoleType.BRANCH
            and classify(self.holder).kind != "entity"
            # An ID number that passes as a USCC too may name an organisation: the
            # loader checks the holder's kind against the file and the graph.
            and not kind_is_open(self.holder)
        ):
            raise ValueError("a branch must be an organisation (USCC)")
        if self.role in OFFICE_ROLES and classify(self.holder).kind != "person":
            raise ValueError(f"{self.role.value} must be a natural person (ID number)")
        return self

    @property
    def key(self) -> str:
        """Identity of the role edge: the same holder may hold one role several times."""
        return f"{self.role.value}|{self.since.isoformat() if self.since else ''}"


class Record(_Row):
    id: Annotated[str, Field(min_length=1, max_length=200)]
    subject: AnyCode
    category: Category
    kind: Annotated[str, AfterValidator(_kind)]
    severity: Annotated[Severity | None, BeforeValidator(_empty_to_none)] = None
    list: Annotated[ListKind | None, BeforeValidator(_empty_to_none)] = None
    title: Annotated[str | None, BeforeValidator(_empty_to_none)] = None
    document_no: Annotated[str | None, BeforeValidator(_empty_to_none)] = None
    authority: Annotated[str | None, BeforeValidator(_empty_to_none)] = None
    decided_on: Date
    act_ended_on: OptDate = None
    valid_until: OptDate = None
    disclosure: Disclosure = Disclosure.PUBLIC
    responsible: PersonIdList = Field(default_factory=lambda: [])
    action: RowAction = RowAction.UPSERT

    @model_validator(mode="after")
    def _consistent(self) -> Record:
        if self.severity is not None and self.category is not Category.NEGATIVE:
            raise ValueError("severity is only for negative records")
        if self.list is ListKind.BLACK and self.category is not Category.NEGATIVE:
            raise ValueError("only a negative record can put a subject on the black list")
        if self.list is ListKind.RED and self.category is Category.NEGATIVE:
            raise ValueError("a negative record cannot put a subject on the red list")
        if self.valid_until and self.valid_until < self.decided_on:
            raise ValueError("valid_until is before decided_on")
        if self.act_ended_on and self.act_ended_on > self.decided_on + dt.timedelta(days=3650):
            raise ValueError("act_ended_on is implausibly far after decided_on")
        return self

    @property
    def act_date(self) -> dt.date:
        """The date the dishonest act is dated by (CONTRACT.md section 4, rule 2)."""
        return self.act_ended_on or self.decided_on

    @property
    def effective_severity(self) -> Severity | None:
        """A black-list record is serious dishonesty even when the provider left it blank."""
        if self.category is not Category.NEGATIVE:
            return None
        if self.severity is not None:
            return self.severity
        return Severity.SERIOUS if self.list is ListKind.BLACK else Severity.GENERAL

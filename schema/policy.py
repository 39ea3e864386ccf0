"""Policy profiles: one regulation's rules as data (``schema/data/policies/*.yaml``).

Each of the five regulations (DOMAIN.md) answers the same questions differently: how long
a record is disclosed, what happens to an objection, which personal data may not be
collected. Those answers are data with the article they come from, so a reader can check
every number against the text, and the code below only interprets them. Files are
validated when loaded; a broken value stops start-up with ``file:line: reason``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)

from schema.errors import RuleFileError
from schema.models import Category, Disclosure, ListKind, Severity
from schema.rulefiles import RuleValueError, read_rule_file, validate

PROFILE_NAMES: tuple[str, ...] = ("wuhan", "huancui", "nantong", "zhengzhou", "yangjiang")

POLICY_DIR = Path(__file__).parent / "data" / "policies"

SubjectKind = Literal["entity", "person"]
PeriodStart = Literal["decided_on", "act_ended", "subject_ended"]
PendingRule = Literal["applied", "suspended", "stop_when_provider_overdue"]
ProhibitedKey = Literal[
    "religion",
    "race",
    "family_background",
    "genes",
    "fingerprints",
    "blood_type",
    "medical_history",
    "income",
    "deposits",
    "securities",
    "commercial_insurance",
    "real_estate",
    "tax_amount",
]

_ARTICLE_RE = re.compile(r"\bArt\. \d+")
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_COLUMN_NOISE = re.compile(r"[\s_\-]+")


def _article(value: str) -> str:
    value = value.strip()
    if not _ARTICLE_RE.search(value):
        raise ValueError("must cite an article of the regulation, e.g. 'Art. 30' or 'Art. 34-35'")
    return value


def _kind(value: str) -> str:
    if not _KIND_RE.match(value):
        raise ValueError("must be a lower-case record kind such as 'penalty'")
    return value


Article = Annotated[str, AfterValidator(_article)]
Text = Annotated[str, Field(min_length=1)]
Kind = Annotated[str, AfterValidator(_kind)]
# Strict: YAML turns ``5`` into an int already; a quoted "5" or "five" is a slip to report.
WorkingDays = Annotated[int, Field(strict=True, ge=0, le=365)]
Years = Annotated[int, Field(strict=True, ge=0, le=100)]


def normalize_column(column: str) -> str:
    """Column names as providers spell them: ``Blood Type``, ``blood-type``, ``BLOOD_TYPE``,
    and in full-width forms (``ｂｌｏｏｄ＿ｔｙｐｅ``, typed with a Chinese input method on)."""
    return _COLUMN_NOISE.sub("", unicodedata.normalize("NFKC", column)).casefold()


#: A unit or remark in brackets after a column's name: ``月收入（元）``, ``存款(万元)``.
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕|<[^<>]*>")
#: Words a provider puts around a field's name that do not change what it holds
#: (``血型信息`` is ``血型``, ``Fingerprint Data`` is ``fingerprint``, ``个人收入`` is
#: ``收入``). Longer ones first, so ``information`` goes before ``info``.
_PREFIXES = ("个人",)
_SUFFIXES = (
    "信息", "记录", "数据", "资料", "情况", "状况",
    "information", "records", "record", "details", "info", "data",
)


def spelling_key(column: str) -> str:
    """What a column name and a prohibited field's spelling are compared by.

    ``normalize_column`` (case, width, spaces, ``_`` and ``-``), then a bracketed unit or
    remark and every punctuation mark or symbol dropped, and the prefixes and suffixes
    above, as often as they come (``病历记录信息`` is ``病历``). A prefix or suffix is
    never the whole name: ``信息`` and ``data`` stay themselves and match nothing.
    """
    text = unicodedata.normalize("NFKC", column).casefold()
    unbracketed = _BRACKETED.sub("", text)
    if _letters(unbracketed):
        text = unbracketed
    key = _letters(text)
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                key, changed = key[len(prefix):], True
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key, changed = key[: -len(suffix)], True
    return key


def _letters(text: str) -> str:
    """``text`` without spaces, punctuation, symbols and control characters."""
    return "".join(c for c in text if unicodedata.category(c)[0] not in "PZSC")


def add_years(start: dt.date, years: int) -> dt.date:
    """Last day of a period of ``years`` years counted from ``start``.

    PRC Civil Code Art. 201-202: the start day is not counted and the period ends on the
    corresponding day of the final month; without such a day (29 Feb), its last day.
    """
    year = start.year + years
    try:
        return start.replace(year=year)
    except ValueError:
        return dt.date(year, start.month, calendar.monthrange(year, start.month)[1])


@dataclass(frozen=True)
class RecordFacts:
    """What the rules need to know about one record, independent of storage."""

    category: Category
    severity: Severity | None  # effective severity (black list => serious) for negative records
    list: ListKind | None
    subject_kind: SubjectKind
    kind: str
    decided_on: dt.date
    act_ended_on: dt.date | None
    valid_until: dt.date | None
    subject_ended_on: dt.date | None  # organisation's `terminated` date (persons: None)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Cited(_Rule):
    """A value and where it comes from.

    ``silent`` marks a value the regulation does not give: the cited article shows the
    gap and ``note`` names the fallback chosen, so nobody mistakes it for the text.
    """

    article: Article
    note: Text | None = None
    silent: bool = False

    @model_validator(mode="after")
    def _silence_explained(self) -> Cited:
        if self.silent and self.note is None:
            raise RuleValueError(("note",), "a value the regulation is silent on needs a note "
                                 "naming the fallback")
        return self


class Regulation(_Rule):
    """The file header: which text this profile encodes."""

    title_zh: Text
    year: Annotated[int, Field(strict=True, ge=1990, le=2100)] | None
    seed_file: Annotated[str, Field(pattern=r"^\d{3}_[0-9a-f]{16}\.txt$")]
    document: Text | None = None
    in_force: Text | None = None
    note: Text | None = None


class MinimumAge(Cited):
    years: Annotated[int, Field(strict=True, ge=0, le=30)]


class PeriodRule(Cited):
    """One disclosure-period rule; unset match fields match anything."""

    category: Category | None = None
    severity: Severity | None = None
    list_kind: ListKind | None = Field(default=None, alias="list")
    subject_kind: SubjectKind | None = None
    kinds: Annotated[list[Kind], Field(min_length=1)] | None = None
    years: Years | None  # required key; null = no fixed period
    starts: PeriodStart

    def matches(self, facts: RecordFacts) -> bool:
        return (
            (self.category is None or facts.category is self.category)
            and (self.severity is None or facts.severity is self.severity)
            and (self.list_kind is None or facts.list is self.list_kind)
            and (self.subject_kind is None or facts.subject_kind == self.subject_kind)
            and (self.kinds is None or facts.kind in self.kinds)
        )

    def start_date(self, facts: RecordFacts) -> dt.date | None:
        if self.starts == "decided_on":
            return facts.decided_on
        if self.starts == "act_ended":
            return facts.act_ended_on or facts.decided_on
        return facts.subject_ended_on

    @property
    def condition(self) -> tuple[object, ...]:
        kinds = tuple(sorted(self.kinds)) if self.kinds else None
        return (self.category, self.severity, self.list_kind, self.subject_kind, kinds)


class Archive(Cited):
    after_period: Literal["archived"]


class Deadline(Cited):
    """A step with a deadline in working days; null means the text says only "promptly"."""

    working_days: WorkingDays | None
    complex_working_days: WorkingDays | None = None
    action: Text | None = None

    @model_validator(mode="after")
    def _explained(self) -> Deadline:
        if self.working_days is None and self.note is None:
            raise RuleValueError(("working_days",), "no fixed deadline: add a note saying "
                                 "what the text says instead")
        if (
            self.complex_working_days is not None
            and self.working_days is not None
            and self.complex_working_days < self.working_days
        ):
            raise RuleValueError(("complex_working_days",), "shorter than the normal deadline")
        return self


class WhilePending(Cited):
    """Whether a record under objection is still disclosed and may ground measures."""

    rule: PendingRule
    marked: bool
    marked_after_resolution_if_disputed: bool = False
    resumes_after_late_reply: bool | None = None


class Unverifiable(Cited):
    action: Literal["delete_and_record_reason", "not_regulated"]


class Objection(_Rule):
    first_step: Deadline
    second_step: Deadline | None = None
    platform_error: Deadline | None = None
    provider_verification: Deadline
    afterwards: Deadline
    while_pending: WhilePending
    unverifiable: Unverifiable


class Revocation(Cited):
    """The act behind a record is revoked or the provider changes it."""

    action: Literal["delete", "correct_or_delete", "resubmit", "not_regulated"]
    provider_working_days: WorkingDays | None = None
    platform_working_days: WorkingDays | None = None


class Repair(Cited):
    available: bool
    conditions: list[Text] = Field(default_factory=lambda: [])
    years_without_recurrence: Years | None = None
    commitment_required: bool = False
    publicity_working_days: WorkingDays | None = None
    platform_working_days: WorkingDays | None = None
    effect: Literal["removed_from_query", "archived", "not_available"]

    @model_validator(mode="after")
    def _consistent(self) -> Repair:
        if self.available and not self.conditions:
            raise RuleValueError(("conditions",), "an available repair lists its conditions")
        if not self.available and self.effect != "not_available":
            raise RuleValueError(("effect",), "repair is not available: effect must be "
                                 "'not_available'")
        return self


class PositiveDeletion(Cited):
    available: bool
    working_days: WorkingDays | None
    kinds: list[Kind] = Field(default_factory=lambda: [])


class DisclosureLevel(Cited):
    level: Disclosure
    name_zh: Text


class PersonsPublic(Cited):
    allowed: bool


class ProhibitedField(Cited):
    key: ProhibitedKey
    name_zh: Text
    aliases: list[Text] = Field(default_factory=lambda: [])
    unless_consent: bool = False

    @property
    def spellings(self) -> list[str]:
        return [self.key, self.name_zh, *self.aliases]


class Submission(Cited):
    working_days: WorkingDays | None
    applies_to: list[Kind] = Field(default_factory=lambda: [])


class Policy(_Rule):
    """One profile. Every leaf value is a ``Cited`` carrying its article."""

    name: Annotated[str, Field(pattern=r"^[a-z]+$")]
    regulation: Regulation
    minimum_age: MinimumAge
    disclosure_periods: Annotated[list[PeriodRule], Field(min_length=1)]
    archive: Archive
    objection: Objection
    revocation: Revocation
    repair: Repair
    positive_deletion: PositiveDeletion
    disclosure_levels: Annotated[list[DisclosureLevel], Field(min_length=1)]
    persons_public: PersonsPublic
    prohibited_fields: list[ProhibitedField]
    submission: Submission

    _columns: dict[str, ProhibitedField] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        seen_rules: dict[tuple[object, ...], int] = {}
        for i, rule in enumerate(self.disclosure_periods):
            if rule.condition in seen_rules:
                raise RuleValueError(
                    ("disclosure_periods", i),
                    f"never used: disclosure_periods[{seen_rules[rule.condition]}] matches the "
                    "same records and comes first",
                )
            seen_rules[rule.condition] = i
        levels: set[Disclosure] = set()
        for i, lv in enumerate(self.disclosure_levels):
            if lv.level in levels:
                raise RuleValueError(("disclosure_levels", i, "level"), "duplicate level")
            levels.add(lv.level)
        columns: dict[str, ProhibitedField] = {}
        for i, pf in enumerate(self.prohibited_fields):
            if any(p.key == pf.key for p in self.prohibited_fields[:i]):
                raise RuleValueError(("prohibited_fields", i, "key"), "duplicate key")
            for spelling in pf.spellings:
                norm = spelling_key(spelling)
                if not norm:
                    raise RuleValueError(("prohibited_fields", i, "aliases"), "empty alias")
                other = columns.get(norm)
                if other is not None and other.key != pf.key:
                    raise RuleValueError(
                        ("prohibited_fields", i, "aliases"),
                        f"alias {spelling!r} is already an alias of {other.key!r}",
                    )
                columns[norm] = pf
        self._columns = columns
        return self

    @property
    def min_age(self) -> int:
        return self.minimum_age.years

    @property
    def levels(self) -> frozenset[Disclosure]:
        return frozenset(lv.level for lv in self.disclosure_levels)

    def disclosure_level(self, level: Disclosure | str) -> DisclosureLevel | None:
        return next((lv for lv in self.disclosure_levels if lv.level == level), None)

    def period_rule(self, facts: RecordFacts) -> PeriodRule | None:
        """The first rule that matches: the YAML is ordered from specific to general."""
        return next((r for r in self.disclosure_periods if r.matches(facts)), None)

    def validity_end(self, facts: RecordFacts) -> dt.date | None:
        """Last day (inclusive) on which the record is disclosed and may ground a measure.

        A record's own ``valid_until`` wins (CONTRACT.md section 4, rule 3): the provider
        knows the decision's term. Otherwise the period runs per Civil Code Art. 201-202
        (see ``add_years``). ``None`` means no fixed end, including when the period starts
        at an event that has not happened or is not known (an organisation not terminated).
        """
        if facts.valid_until is not None:
            return facts.valid_until
        rule = self.period_rule(facts)
        if rule is None or rule.years is None:
            return None
        start = rule.start_date(facts)
        if start is None:
            return None
        return add_years(start, rule.years)

    def prohibited_field(self, column: str) -> ProhibitedField | None:
        """The prohibited field a provider's column name stands for, if any.

        The column and every spelling of the profile are compared by ``spelling_key``
        (``血型信息``, ``ABO血型``, ``Blood-Type_Info`` and ``血型（ABO）`` are blood type),
        and must then be equal: a substring match would reject innocent columns such as
        ``tax_arrears``, ``social_insurance`` or ``registered_capital``.
        """
        return self._columns.get(spelling_key(column))


def _load(path: Path, expected_name: str | None) -> Policy:
    doc = read_rule_file(path)
    policy = validate(doc, Policy)
    if expected_name is not None and policy.name != expected_name:
        raise doc.error(("name",), f"{policy.name!r} does not match the file name "
                        f"{expected_name!r}")
    return policy


def load_policy_file(path: Path) -> Policy:
    """Load and validate one profile file; errors name the file and line."""
    return _load(path, None)


@cache
def load_policy(name: str) -> Policy:
    """The shipped profile ``name`` (cached: profiles are immutable)."""
    path = POLICY_DIR / f"{name}.yaml"
    if name not in PROFILE_NAMES:
        raise RuleFileError(
            str(path), None,
            f"unknown policy {name!r}; valid names: {', '.join(PROFILE_NAMES)}",
        )
    return _load(path, name)


def load_all_policies() -> dict[str, Policy]:
    return {name: load_policy(name) for name in PROFILE_NAMES}

"""The measures catalogue: which record grounds which measure, on whom, on what basis.

CONTRACT.md section 4 makes this data (``schema/data/measures.yaml``), not code, so the
legal basis of every measure can be read and checked against each regulation, and a
change of policy is a reviewed edit of one file. The file is validated when loaded: an
unknown code, an incentive grounded on a dishonesty record or a profile without a basis
stops start-up with ``file:line: reason``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from schema.errors import InvalidInput
from schema.models import Category, ListKind, Severity
from schema.policy import PROFILE_NAMES, RecordFacts, SubjectKind
from schema.rulefiles import RuleValueError, load_model

CATALOGUE_PATH = Path(__file__).parent / "data" / "measures.yaml"

Target = Literal["subject", "responsible"]
MeasureKind = Literal["measure", "incentive"]

#: Codes other systems integrate against (CONTRACT.md section 4): never silently dropped.
CONTRACT_CODES: frozenset[str] = frozenset(
    {
        "KEY_SUPERVISION",
        "LICENSING_SCRUTINY",
        "NO_FACILITATION",
        "NO_FISCAL_FUNDS",
        "NO_PUBLIC_PROCUREMENT",
        "NO_HONOURS",
        "NO_OFFICE",
        "MARKET_BAN",
        "FINANCIAL_RESTRICTION",
        "GREEN_CHANNEL",
        "FEWER_INSPECTIONS",
        "FUNDING_PRIORITY",
        "BIDDING_BONUS",
    }
)

_ARTICLE_RE = re.compile(r"\bArt\. \d+")
_TARGET_ORDER: dict[str, int] = {"subject": 0, "responsible": 1}

Code = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]
Text = Annotated[str, Field(min_length=1)]
Kind = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeasureDef(_Rule):
    code: Code
    kind: MeasureKind
    name_zh: Text
    name_en: Text
    legal_basis: dict[str, str | None]
    basis_notes: dict[str, Text] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_profile_has_a_basis(self) -> MeasureDef:
        for name in self.legal_basis:
            if name not in PROFILE_NAMES:
                raise RuleValueError(
                    ("legal_basis", name),
                    f"unknown profile {name!r}; profiles: {', '.join(PROFILE_NAMES)}",
                )
        missing = [n for n in PROFILE_NAMES if n not in self.legal_basis]
        if missing:
            raise RuleValueError(
                ("legal_basis",),
                f"no entry for {', '.join(missing)}: give the article, or null and a "
                "basis_notes entry saying why there is none",
            )
        for name, basis in self.legal_basis.items():
            if basis is None:
                if name not in self.basis_notes:
                    raise RuleValueError(
                        ("legal_basis", name),
                        f"null basis needs a basis_notes.{name} entry saying why",
                    )
            elif not _ARTICLE_RE.search(basis):
                raise RuleValueError(
                    ("legal_basis", name),
                    f"{basis!r} cites no article (expected e.g. '南通 Art. 26')",
                )
        for name in self.basis_notes:
            if name not in PROFILE_NAMES:
                raise RuleValueError(("basis_notes", name), f"unknown profile {name!r}")
        return self

    def has_basis(self, policy_name: str) -> bool:
        return self.legal_basis.get(policy_name) is not None

    def basis_for(self, policy_name: str) -> str:
        """The article text, or a fallback that says plainly that there is none."""
        basis = self.legal_basis.get(policy_name)
        if basis is not None:
            return basis
        if policy_name in self.basis_notes:
            return (
                f"no article in the {policy_name} regulation provides {self.code}: "
                f"{self.basis_notes[policy_name]}"
            )
        return f"no legal basis recorded for {self.code} under policy {policy_name!r}"


class Condition(_Rule):
    """All given fields must hold; an unset field matches anything."""

    category: Category | None = None
    severities: Annotated[list[Severity], Field(min_length=1)] | None = None
    lists: Annotated[list[ListKind], Field(min_length=1)] | None = None
    not_lists: Annotated[list[ListKind], Field(min_length=1)] | None = None
    kinds: Annotated[list[Kind], Field(min_length=1)] | None = None
    subject_kinds: Annotated[list[SubjectKind], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _restricts_something(self) -> Condition:
        if all(getattr(self, f) is None for f in type(self).model_fields):
            raise ValueError("a condition that matches every record is a mistake")
        return self

    def matches(self, facts: RecordFacts) -> bool:
        return (
            (self.category is None or facts.category is self.category)
            and (self.severities is None or facts.severity in self.severities)
            and (self.lists is None or facts.list in self.lists)
            and (self.not_lists is None or facts.list not in self.not_lists)
            and (self.kinds is None or facts.kind in self.kinds)
            and (self.subject_kinds is None or facts.subject_kind in self.subject_kinds)
        )

    @property
    def red_only(self) -> bool:
        return self.lists is not None and set(self.lists) == {ListKind.RED}

    @property
    def allows_red(self) -> bool:
        return self.lists is not None and ListKind.RED in self.lists


class Grounding(_Rule):
    """Records matching any ``when`` condition ground ``measures`` on ``target``."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
    rule: Text | None = None
    note: Text | None = None
    when: Annotated[list[Condition], Field(min_length=1)]
    target: Target
    measures: Annotated[list[Code], Field(min_length=1)]

    def matches(self, facts: RecordFacts) -> bool:
        return any(c.matches(facts) for c in self.when)


class Catalogue(_Rule):
    version: Annotated[int, Field(strict=True, ge=1)]
    measures: Annotated[list[MeasureDef], Field(min_length=1)]
    groundings: Annotated[list[Grounding], Field(min_length=1)]

    _by_code: dict[str, MeasureDef] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        by_code: dict[str, MeasureDef] = {}
        for i, m in enumerate(self.measures):
            if m.code in by_code:
                raise RuleValueError(("measures", i, "code"), f"duplicate measure code {m.code}")
            by_code[m.code] = m
        missing = sorted(CONTRACT_CODES - by_code.keys())
        if missing:
            raise RuleValueError(
                ("measures",), f"contract measure codes missing: {', '.join(missing)}"
            )
        ids: set[str] = set()
        for g_i, g in enumerate(self.groundings):
            if g.id in ids:
                raise RuleValueError(("groundings", g_i, "id"), f"duplicate grounding id {g.id}")
            ids.add(g.id)
            seen: set[str] = set()
            for m_i, code in enumerate(g.measures):
                where = ("groundings", g_i, "measures", m_i)
                found = by_code.get(code)
                if found is None:
                    raise RuleValueError(
                        where,
                        f"unknown measure code {code}; known: {', '.join(sorted(by_code))}",
                    )
                if code in seen:
                    raise RuleValueError(where, f"{code} is listed twice")
                seen.add(code)
                if found.kind == "incentive":
                    if g.target != "subject":
                        raise RuleValueError(
                            where, f"{code} is an incentive: it rewards the record's own subject"
                        )
                    if not all(c.red_only for c in g.when):
                        raise RuleValueError(
                            where,
                            f"{code} is an incentive: every condition of this grounding must "
                            "require the red list (lists: [red])",
                        )
                elif any(c.allows_red for c in g.when):
                    raise RuleValueError(
                        where, f"{code} is a punitive measure: it cannot rest on a red-list record"
                    )
        self._by_code = by_code
        return self

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self._by_code)

    @property
    def order(self) -> tuple[str, ...]:
        """Codes in the order the file defines them: the order results are shown in."""
        return tuple(m.code for m in self.measures)

    def measure(self, code: str) -> MeasureDef:
        try:
            return self._by_code[code]
        except KeyError:
            raise InvalidInput(
                f"measure: {code!r} is not a measure code; known: {', '.join(self.order)}"
            ) from None

    def groundings_for(
        self, facts: RecordFacts, *, policy: str | None = None
    ) -> list[tuple[Target, MeasureDef]]:
        """Every (target, measure) the record grounds, once each, in catalogue order.

        With ``policy``, measures that profile gives no legal basis for are left out:
        a punishment needs an article to rest on.
        """
        found: set[tuple[Target, str]] = set()
        for g in self.groundings:
            if g.matches(facts):
                found.update((g.target, code) for code in g.measures)
        index = {code: i for i, code in enumerate(self.order)}
        out = sorted(found, key=lambda tc: (index[tc[1]], _TARGET_ORDER[tc[0]]))
        return [
            (target, self._by_code[code])
            for target, code in out
            if policy is None or self._by_code[code].has_basis(policy)
        ]


def load_catalogue_file(path: Path) -> Catalogue:
    return load_model(path, Catalogue)


@cache
def _default_catalogue() -> Catalogue:
    return load_catalogue_file(CATALOGUE_PATH)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The shipped catalogue (cached), or the file at ``path`` (read each time)."""
    if path is None:
        return _default_catalogue()
    return load_catalogue_file(path)

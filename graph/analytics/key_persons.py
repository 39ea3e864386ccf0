"""Persons who hold office in many dishonest companies on the date, ranked.

Office is what the measures bar a person from (Wuhan Art. 26, Nantong Art. 26): legal
representative, principal, director, supervisor, senior manager. A shareholding is not an
office and does not count here (it does in the risk spreading). A role counts when its
term covers the date asked (``since <= date <= until``, open ends open), so a person who
left a company before its dishonesty began is not counted for it on a later date, and a
past date answers with the roles then held.

Ranked by the number of dishonest companies, then by how many of them are black-listed,
then by code; persons in fewer than ``min_companies`` dishonest companies are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.analytics.subgraph import DishonestSubgraph

__all__ = ["DEFAULT_MIN_COMPANIES", "OFFICE_TYPES", "KeyPerson", "Office", "key_persons"]

OFFICE_TYPES = frozenset({
    "LEGAL_REPRESENTATIVE_OF", "PRINCIPAL_OF", "DIRECTOR_OF", "SUPERVISOR_OF", "MANAGER_OF",
})
DEFAULT_MIN_COMPANIES = 2


@dataclass(frozen=True)
class Office:
    company: str
    type: str
    since: str | None
    until: str | None
    blacklisted: bool


@dataclass(frozen=True)
class KeyPerson:
    code: str
    name: str | None
    companies: tuple[str, ...]
    offices: tuple[Office, ...]
    blacklisted_companies: int

    @property
    def dishonest_companies(self) -> int:
        return len(self.companies)


def key_persons(
    sub: DishonestSubgraph, *, min_companies: int = DEFAULT_MIN_COMPANIES
) -> list[KeyPerson]:
    g = sub.graph
    offices: dict[str, list[Office]] = {}
    for holder, company, d in g.edges(data=True):
        if (d["type"] in OFFICE_TYPES and g.nodes[holder]["kind"] == "person"
                and sub.is_dishonest(company) and sub.kind(company) != "person"):
            offices.setdefault(holder, []).append(
                Office(company, d["type"], d.get("since"), d.get("until"),
                       sub.is_blacklisted(company))
            )
    out = []
    for code, held in offices.items():
        companies = sorted({o.company for o in held})
        if len(companies) < min_companies:
            continue
        out.append(KeyPerson(
            code=code,
            name=sub.name(code),
            companies=tuple(companies),
            offices=tuple(sorted(held, key=lambda o: (o.company, o.type, o.since or ""))),
            blacklisted_companies=sum(1 for c in companies if sub.is_blacklisted(c)),
        ))
    out.sort(key=lambda p: (-p.dishonest_companies, -p.blacklisted_companies, p.code))
    return out

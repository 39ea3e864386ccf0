"""Related parties (关联方): companies that share people, a shareholder or an address.

An analyst looking at a dishonest company asks which other companies the same people
run, which share its owners, and which sit at the same address: the usual signs of a
group of shell companies. A company B is related to the company A asked about when

- one holder holds an office in both (legal representative or principal in both:
  ``LEGAL_REPRESENTATIVE``; any other pair of offices among legal representative,
  principal, director, supervisor and manager: ``EXECUTIVE``); a shareholding at one and
  an office at the other is not counted, since the four kinds are about the *same*
  position being shared;
- one holder (a person or an organisation) is a shareholder of both: ``SHAREHOLDER``;
- their addresses are the same once normalised: ``ADDRESS`` (see ``normalise_address``).

Dates. Only roles held on ``as_of`` count, at both companies; with ``include_past`` every
role ever held counts, and the two terms need not overlap (a person who ran A in 2015
and B in 2020 still joins them, which is what an investigation looks for). Addresses
have no history in the graph, so an address link is today's address of both.

Who sees what. ``include_persons`` is False for a caller who may not see natural
persons (Wuhan Art. 19): a link through a person is then left out altogether, and a
company related only through persons is not in the answer at all, exactly as a path
through a hidden person is not a path (``api/explore.py``). Showing the link without
the person (``via: null``) would still tell the caller that some person sits in both
companies, which is information about a person. Codes are raw here; the GraphQL
layer masks ID numbers (``schema.access.shown_code``).

Bounds. Every shared holder or address is followed to at most ``HUB_CAP`` companies,
and the company's own holders to ``HOLDER_CAP``; a link through a cut hub is marked
``truncated`` (other companies related through it may be missing), and when the
company's own holders were cut every party is marked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from api.checks import check_key
from graph.store import GraphStore
from queries.related import ADDRESS_CANDIDATES, ANCHOR, COMPANIES_OF, HOLDERS_OF
from schema.codes import mask_code
from schema.errors import InvalidInput, LimitExceeded, NotFound
from schema.record_view import as_date

__all__ = [
    "ADDRESS_CANDIDATE_CAP",
    "HOLDER_CAP",
    "HUB_CAP",
    "LinkKind",
    "RelatedLink",
    "RelatedParty",
    "RoleTerm",
    "address_ranges",
    "normalise_address",
    "related_parties",
]

#: Companies read through one shared holder or address. A person who sits in thousands of
#: companies (a nominee director, an agent's address) says little about each of them, and
#: reading them all would make one request cost as much as a scan.
HUB_CAP = 200
#: Holders of the company's own roles that are followed (a listed company may have tens
#: of thousands of shareholders).
HOLDER_CAP = 1000
#: Raw addresses compared for one normalised address (see ``address_ranges``).
ADDRESS_CANDIDATE_CAP = 2000
#: Full-width characters expanded into their two spellings when building address ranges;
#: 2**depth ranges at most.
ADDRESS_BRANCH_DEPTH = 4
MAX_FIRST = 500

MIN_DATE = "0000-01-01"
MAX_DATE = "9999-12-31"

REPRESENTATIVE_TYPES = frozenset({"LEGAL_REPRESENTATIVE_OF", "PRINCIPAL_OF"})
OFFICE_TYPES = REPRESENTATIVE_TYPES | {"DIRECTOR_OF", "SUPERVISOR_OF", "MANAGER_OF"}
SHAREHOLDER = "SHAREHOLDER_OF"


class LinkKind(StrEnum):
    LEGAL_REPRESENTATIVE = "LEGAL_REPRESENTATIVE"
    EXECUTIVE = "EXECUTIVE"
    SHAREHOLDER = "SHAREHOLDER"
    ADDRESS = "ADDRESS"


_KIND_ORDER = {k: i for i, k in enumerate(LinkKind)}


@dataclass(frozen=True)
class RoleTerm:
    """One role of the shared holder: its type, its term and, for shareholdings, ratio."""

    type: str
    since: dt.date | None
    until: dt.date | None
    share_ratio: float | None = None


@dataclass(frozen=True)
class RelatedLink:
    """Why two companies are related.

    ``here`` is the shared holder's role in the company asked about, ``there`` its role in
    the related company; both None for an address. ``truncated``: the shared holder or
    address joins more than ``HUB_CAP`` companies, so others may be missing.
    """

    kind: LinkKind
    via_code: str | None = None
    via_name: str | None = None
    via_kind: str | None = None
    address: str | None = None
    here: RoleTerm | None = None
    there: RoleTerm | None = None
    truncated: bool = False


@dataclass(frozen=True)
class RelatedParty:
    code: str
    name: str | None
    links: tuple[RelatedLink, ...]
    truncated: bool = False
    kind: str = "entity"


# -- addresses ----------------------------------------------------------------------------
#: Full-width ASCII (U+FF01-FF5E) to ASCII, and the ideographic space to a space.
_HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def normalise_address(text: str | None) -> str | None:
    """The form two addresses are compared in: trimmed, full-width letters, digits and
    punctuation made half-width, every run of whitespace one space.

    Providers type the same address as ``工农路１２号`` and ``工农路12号``; they are one
    address. Case and Chinese variants are left alone: ``A座`` and ``a座`` may be two
    buildings.
    """
    if not text:
        return None
    out = " ".join(text.translate(_HALF_WIDTH).split())
    return out or None


def _successor(prefix: str) -> str:
    """The first string after every string that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def address_ranges(normalised: str, depth: int = ADDRESS_BRANCH_DEPTH) -> list[tuple[str, str]]:
    """Index ranges holding every raw spelling of a normalised address.

    Addresses are stored as the provider wrote them, so the index on ``Entity.address``
    cannot be asked for the normalised form directly. But only ASCII characters have a
    second (full-width) spelling: the raw spellings of ``工农路12号`` all start with
    ``工农路1`` or ``工农路１``, then ``2`` or ``２``, and so on. Each of the first ``depth``
    such characters doubles the prefixes; the prefix ends before the next one, or before
    a space (a run of spaces has too many spellings). Each prefix is one index range; the
    rows in them are compared exactly after normalising.
    """
    prefixes = [""]
    branched = 0
    for ch in normalised:
        if ch.isspace():
            break
        if 0x21 <= ord(ch) <= 0x7E:
            if branched == depth:
                break
            wide = chr(ord(ch) + 0xFEE0)
            prefixes = [p + v for p in prefixes for v in (ch, wide)]
            branched += 1
        else:
            prefixes = [p + ch for p in prefixes]
    return [(p, _successor(p)) for p in prefixes if p]


# -- the walk -----------------------------------------------------------------------------
def _link_kind(here: str, there: str) -> LinkKind | None:
    if here == SHAREHOLDER and there == SHAREHOLDER:
        return LinkKind.SHAREHOLDER
    if here in REPRESENTATIVE_TYPES and there in REPRESENTATIVE_TYPES:
        return LinkKind.LEGAL_REPRESENTATIVE
    if here in OFFICE_TYPES and there in OFFICE_TYPES:
        return LinkKind.EXECUTIVE
    return None


def _term_order(t: RoleTerm | None) -> tuple[str, dt.date, dt.date]:
    if t is None:
        return ("", dt.date.min, dt.date.min)
    return (t.type, t.since or dt.date.min, t.until or dt.date.max)


def _link_order(link: RelatedLink) -> tuple[Any, ...]:
    return (
        _KIND_ORDER[link.kind],
        link.via_code or "",
        _term_order(link.here),
        _term_order(link.there),
    )


@dataclass
class _Found:
    name: str | None
    links: set[RelatedLink] = field(default_factory=set)


@dataclass(frozen=True)
class _Holder:
    code: str
    name: str | None
    kind: str
    terms: tuple[RoleTerm, ...]


def _date_params(as_of: dt.date | None) -> dict[str, str]:
    day = as_of.isoformat() if as_of else None
    return {
        "min_date": MIN_DATE,
        "max_date": MAX_DATE,
        "latest_start": day or MAX_DATE,
        "earliest_end": day or MIN_DATE,
    }


def _anchor(store: GraphStore, code: str, include_persons: bool) -> Mapping[str, Any]:
    rows = store.read(ANCHOR, {"code": code})
    if not rows or (rows[0].get("person") and not include_persons):
        raise NotFound(f"no subject with code {mask_code(code)}")
    row = rows[0]
    if row.get("person") or row.get("kind") == "person":
        raise InvalidInput(
            "code: related parties are found for organisations; for a person, "
            "see the companies and roles of its profile"
        )
    return row


def _holders(
    store: GraphStore, code: str, dates: Mapping[str, str], include_persons: bool
) -> tuple[list[_Holder], bool]:
    rows = store.read(HOLDERS_OF, {"code": code, "persons": include_persons, **dates})
    terms: dict[str, list[RoleTerm]] = {}
    info: dict[str, tuple[str | None, str]] = {}
    for row in rows:
        holder = str(row["holder"])
        terms.setdefault(holder, []).append(
            RoleTerm(row["type"], as_date(row["since"]), as_date(row["until"]), row["share_ratio"])
        )
        info[holder] = (row.get("name"), "person" if row.get("person") else "entity")
    codes = sorted(terms)
    cut = len(codes) > HOLDER_CAP
    holders = [
        _Holder(c, info[c][0], info[c][1], tuple(sorted(terms[c], key=_term_order)))
        for c in codes[:HOLDER_CAP]
    ]
    return holders, cut


def _wanted_types(terms: Iterable[RoleTerm]) -> list[str]:
    """The role types at another company that can pair with these terms."""
    types: set[str] = set()
    for t in terms:
        if t.type == SHAREHOLDER:
            types.add(SHAREHOLDER)
        elif t.type in OFFICE_TYPES:
            types.update(OFFICE_TYPES)
    return sorted(types)


def _through_holders(
    store: GraphStore,
    code: str,
    holders: Sequence[_Holder],
    dates: Mapping[str, str],
    found: dict[str, _Found],
) -> None:
    if not holders:
        return
    by_code = {h.code: h for h in holders}
    params = {
        "code": code,
        "holders": [{"code": h.code, "types": _wanted_types(h.terms)} for h in holders],
        "cap": HUB_CAP,
        **dates,
    }
    for row in store.read(COMPANIES_OF, params):
        holder = by_code[str(row["holder"])]
        hub = int(row["degree"]) > len(row["companies"])
        for other, name, roles in row["companies"]:
            there_terms = [
                RoleTerm(t, as_date(since), as_date(until), share)
                for t, since, until, share in roles
            ]
            for here in holder.terms:
                for there in there_terms:
                    kind = _link_kind(here.type, there.type)
                    if kind is None:
                        continue
                    entry = found.setdefault(str(other), _Found(name))
                    entry.links.add(
                        RelatedLink(
                            kind=kind,
                            via_code=holder.code,
                            via_name=holder.name,
                            via_kind=holder.kind,
                            here=here,
                            there=there,
                            truncated=hub,
                        )
                    )


def _through_address(
    store: GraphStore, code: str, address: str | None, found: dict[str, _Found]
) -> None:
    normalised = normalise_address(address)
    if normalised is None:
        return
    ranges = address_ranges(normalised)
    if not ranges:
        return
    rows = store.read(
        ADDRESS_CANDIDATES,
        {"ranges": [{"low": lo, "high": hi} for lo, hi in ranges], "cap": ADDRESS_CANDIDATE_CAP},
    )
    cut = len(rows) >= ADDRESS_CANDIDATE_CAP
    same = sorted(
        (str(r["code"]), r.get("name"))
        for r in rows
        if r["code"] != code and normalise_address(r.get("address")) == normalised
    )
    if len(same) > HUB_CAP:
        same, cut = same[:HUB_CAP], True
    for other, name in same:
        found.setdefault(other, _Found(name)).links.add(
            RelatedLink(kind=LinkKind.ADDRESS, address=normalised, truncated=cut)
        )


def _party_order(p: RelatedParty) -> tuple[int, int, str]:
    """Most distinct reasons first: one person holding three offices there is one shared
    person, not three, and ranks below a company that shares a person and an owner."""
    reasons = {(link.kind, link.via_code, link.address) for link in p.links}
    return (-len(reasons), -len(p.links), p.code)


def related_parties(
    store: GraphStore,
    code: str,
    *,
    as_of: dt.date | None,
    include_past: bool = False,
    first: int = 50,
    include_persons: bool = True,
) -> list[RelatedParty]:
    """The companies related to one, at most ``first``: those with the most distinct
    reasons (kind and shared holder or address) first, then most links, then by code.

    ``as_of`` None means every role ever held, and is only accepted with
    ``include_past``; the GraphQL layer passes the request's day when the caller gives
    neither.
    """
    if isinstance(first, bool) or not isinstance(first, int):
        raise InvalidInput("first must be an integer")
    if not 1 <= first <= MAX_FIRST:
        raise LimitExceeded(f"first must be between 1 and {MAX_FIRST}, not {first}")
    if include_past and as_of is not None:
        raise InvalidInput("includePast: give either asOf (roles held that day) or "
                           "includePast (every role ever held), not both")
    if not include_past and as_of is None:
        raise InvalidInput("asOf: required unless includePast is true")
    company = check_key(code)
    anchor = _anchor(store, company, include_persons)
    dates = _date_params(None if include_past else as_of)

    found: dict[str, _Found] = {}
    holders, holders_cut = _holders(store, company, dates, include_persons)
    _through_holders(store, company, holders, dates, found)
    _through_address(store, company, anchor.get("address"), found)

    parties = [
        RelatedParty(
            code=other,
            name=entry.name,
            links=tuple(sorted(entry.links, key=_link_order)),
            truncated=holders_cut or any(link.truncated for link in entry.links),
        )
        for other, entry in found.items()
    ]
    parties.sort(key=_party_order)
    return parties[:first]

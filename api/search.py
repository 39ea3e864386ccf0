"""Subject search behind GraphQL ``searchSubjects``: by code prefix, name, pinyin or fuzzily.

The graph selects a few hundred candidates (``queries.search``); the ranking is done here
with rapidfuzz, so it is the same on every engine and deterministic. Ranking, best first:

====  ===========================================================  ===========
tier  the subject ...                                              ``matched``
====  ===========================================================  ===========
0     has the typed code                                           code
1     has a code starting with the text                            code
2     has the typed name (ignoring case, spaces, full-width forms) name
3     has a name starting with the text                            name
4     has a name containing the text                               name
5     has a pinyin (or initials) starting with / containing it     pinyin /
      (also: Chinese text whose pinyin is the name's, a homophone) initials
6     is similar (rapidfuzz, score >= 60)                          fuzzy
====  ===========================================================  ===========

Within a tier: higher score, then shorter name, then code. ``score`` (0..100) is the
similarity within the tier (``fuzz.ratio`` of text and name or pinyin, so shorter names
that contain the text score higher; a pinyin match not at the start is scaled by 0.9),
not comparable across tiers: the list order is the ranking.

Privacy: a person's resident ID number is found by code only when typed in full (18
characters); a prefix never enumerates persons (``3206021975`` would list everyone of one
district born in 1975). The search text is never logged (it may be an ID number); the log
line says only which kind of text it was and how many subjects were found.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal

from rapidfuzz import fuzz

from graph.store import GraphStore, Row
from queries.search import (
    SEARCH_CODE_PREFIX,
    SET_SEARCH_PROPS,
    SUBJECTS_WITHOUT_SEARCH_PROPS,
    search_name,
    search_name_fuzzy,
    search_pinyin,
    search_pinyin_fuzzy,
)
from schema.codes import USCC_ALPHABET
from schema.errors import InvalidInput, LimitExceeded
from schema.pinyin import name_pinyin, pinyin_syllables, syllables

__all__ = [
    "MAX_FIRST",
    "MAX_TEXT",
    "SearchHit",
    "backfill_search_props",
    "search_subjects",
]

log = logging.getLogger("credit_graph.search")

MAX_TEXT = 100
MAX_FIRST = 100
#: Candidates each query may return before ranking.
CANDIDATE_LIMIT = 400
#: Fuzzy matches scoring below this are dropped.
FUZZY_THRESHOLD = 60.0
#: At most this many bigrams / syllables are sent: each is a substring test per subject.
MAX_GRAMS = 6
#: USCCs and resident ID numbers both have 18 characters.
CODE_LENGTH = 18

Matched = Literal["code", "name", "pinyin", "initials", "fuzzy"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_CODE_CHARS = frozenset(USCC_ALPHABET)

#: Words nearly every organisation's name ends with; pieces inside them select nothing.
_GENERIC_WORDS = (
    "有限责任公司",
    "股份有限公司",
    "有限公司",
    "分公司",
    "公司",
    "集团",
    "分行",
    "支行",
    "营业部",
    "经营部",
    "门市部",
    "合作社",
    "事务所",
    "工作室",
)
_GENERIC_CHARS = tuple(tuple(w) for w in _GENERIC_WORDS)


@lru_cache(maxsize=1)
def _generic_syllables() -> tuple[tuple[str, ...], ...]:
    """The generic words' syllables, worked out on first use (it loads pypinyin's tables)."""
    return tuple(tuple(syllables(name_pinyin(w)[0])) for w in _GENERIC_WORDS)


@dataclass(frozen=True)
class SearchHit:
    code: str
    name: str | None
    kind: str
    score: float
    matched: Matched


@dataclass(frozen=True)
class _Plan:
    """What the typed text is, decided once; each present part runs its queries."""

    code_prefix: str | None  # uppercase, when the text looks like a code
    name_text: str | None  # non-Latin text (Chinese, digits...), whitespace removed
    name_py: str | None  # pinyin of name_text, for homophones (2+ Chinese characters)
    pinyin: str | None  # Latin text: lowercase, no spaces
    fuzzy: bool  # whether similar names are looked for when too few hold the text

    @property
    def kind(self) -> str:
        parts = [
            k
            for k, v in (
                ("code", self.code_prefix),
                ("name", self.name_text),
                ("pinyin", self.pinyin),
            )
            if v
        ]
        return "+".join(parts)


def _fold(text: str) -> str:
    """Comparison form: full-width forms to ASCII, case and whitespace ignored."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def _plan(text: str) -> _Plan:
    """Which searches a text calls for.

    Code-like: two or more characters of the code alphabet, with a digit or all in
    capitals (``9132``, ``91320602ma``, ``NT``). With a digit it is only a code (names
    hardly ever hold such strings); in capitals only (``NT``) it is also pinyin or
    initials. Other Latin letters (and digits) are pinyin; anything else is searched in
    names. Similar names are looked for unless the text looks like a code.
    """
    compact = "".join(unicodedata.normalize("NFKC", text).split())
    upper = compact.upper()
    has_digit = any(c.isdigit() for c in compact)
    code_like = (
        len(upper) >= 2 and all(c in _CODE_CHARS for c in upper) and (has_digit or compact == upper)
    )
    if code_like and has_digit:
        return _Plan(upper, None, None, None, fuzzy=False)
    latin = compact.isascii() and compact.isalnum() and any(c.isalpha() for c in compact)
    name_text: str | None = None
    name_py: str | None = None
    if not latin:
        name_text = "".join(text.split())
        if len(_CJK.findall(name_text)) >= 2:
            name_py = name_pinyin(name_text)[0] or None
    return _Plan(
        code_prefix=upper if code_like else None,
        name_text=name_text,
        name_py=name_py,
        pinyin=compact.lower() if latin else None,
        fuzzy=not code_like,
    )


def _spread(items: list[str], most: int = MAX_GRAMS) -> list[str]:
    """At most ``most`` of the distinct items, spread over the text (a typo anywhere
    still leaves most of them intact)."""
    distinct = list(dict.fromkeys(items))
    if len(distinct) <= most:
        return distinct
    step = (len(distinct) - 1) / (most - 1)
    return [distinct[round(i * step)] for i in range(most)]


def _unmasked(units: list[str], generic: tuple[tuple[str, ...], ...]) -> list[bool]:
    """False for each unit inside a generic word (有限公司...): every name has those."""
    keep = [True] * len(units)
    for word in generic:
        n = len(word)
        for i in range(len(units) - n + 1):
            if tuple(units[i : i + n]) == word:
                keep[i : i + n] = [False] * n
    return keep


def _bigrams(text: str) -> list[str]:
    chars = list(text)
    keep = _unmasked(chars, _GENERIC_CHARS)
    grams = [text[i : i + 2] for i in range(len(text) - 1) if keep[i] and keep[i + 1]] or [
        text[i : i + 2] for i in range(len(text) - 1)
    ]
    return _spread(grams)


def _pinyin_grams(py: str) -> list[str]:
    """Adjacent syllable pairs, or single syllables when there are too few pairs; only
    known syllables of two letters or more (initials such as ``njyxs`` give none). A
    typo spoils only the pieces it is in."""
    parts = syllables(py)
    known = pinyin_syllables()
    keep = [
        k and len(p) >= 2 and p in known
        for p, k in zip(parts, _unmasked(parts, _generic_syllables()), strict=True)
    ]
    pairs = [a + b for (a, ka), (b, kb) in pairwise(zip(parts, keep, strict=True)) if ka and kb]
    singles = [p for p, k in zip(parts, keep, strict=True) if k]
    if len(pairs) >= 2:  # pairs select far better than syllables (nan, jing...) do
        return _spread(pairs)
    return _spread(pairs + singles)


def _kinds(include_persons: bool) -> list[str]:
    return ["entity", "person"] if include_persons else ["entity"]


def _phases(plan: _Plan, kinds: list[str]) -> list[list[tuple[str, dict[str, Any]]]]:
    """Queries in rank order: every hit of a phase outranks every hit of the next, so
    the search stops at the first phase after which it has enough."""
    common: dict[str, Any] = {"limit": CANDIDATE_LIMIT}
    codes: list[tuple[str, dict[str, Any]]] = []
    exact: list[tuple[str, dict[str, Any]]] = []
    fuzzy: list[tuple[str, dict[str, Any]]] = []
    if plan.code_prefix:
        prefix = plan.code_prefix
        # A person is found by code only by the full number: a prefix would enumerate them.
        code_kinds = kinds if len(prefix) == CODE_LENGTH else ["entity"]
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        params = {**common, "kinds": code_kinds, "prefix": prefix, "prefix_end": end}
        codes.append((SEARCH_CODE_PREFIX, params))
    for kind in kinds:  # one scan per label: persons are scanned only when they may be seen
        if plan.name_text:
            exact.append((search_name(kind), {**common, "text": plan.name_text}))
            grams = _bigrams(plan.name_text)
            if plan.fuzzy and (grams or plan.name_py):
                params = {**common, "py": plan.name_py, "grams": grams}
                fuzzy.append((search_name_fuzzy(kind), params))
        if plan.pinyin:
            inside = len(plan.pinyin) >= 3
            params = {**common, "py": plan.pinyin, "initials_inside": inside}
            exact.append((search_pinyin(kind), params))
            grams = _pinyin_grams(plan.pinyin)
            if plan.fuzzy and grams:
                fuzzy.append((search_pinyin_fuzzy(kind), {**common, "grams": grams}))
    return [p for p in (codes, exact, fuzzy) if p]


def _ratio(a: str, b: str) -> float:
    return float(fuzz.ratio(a, b))


def _grade(row: Row, plan: _Plan) -> tuple[int, float, Matched] | None:
    """The best (tier, score, matched) of one candidate, or None when it is no match."""
    code = str(row["code"])
    name = _fold(str(row.get("name") or ""))
    py = str(row.get("name_py") or "")
    pyi = str(row.get("name_pyi") or "")
    prefix = plan.code_prefix
    if prefix and code == prefix:
        return 0, 100.0, "code"
    if prefix and code.startswith(prefix):
        return 1, 100.0 * len(prefix) / len(code), "code"
    typed = _fold(plan.name_text or plan.pinyin or "")
    if name and typed:
        if name == typed:
            return 2, 100.0, "name"
        if name.startswith(typed):
            return 3, _ratio(typed, name), "name"
        if typed in name:
            return 4, _ratio(typed, name), "name"
    q = plan.pinyin or plan.name_py
    best: tuple[int, float, Matched] | None = None
    if q:
        for target, label, inside_ok in ((py, "pinyin", True), (pyi, "initials", len(q) >= 3)):
            if target.startswith(q):
                score = _ratio(q, target)
            elif inside_ok and q in target:
                score = 0.9 * _ratio(q, target)
            else:
                continue
            if best is None or score > best[1]:
                best = (5, score, "pinyin" if label == "pinyin" else "initials")
    if best is not None:
        return best
    if plan.name_text and name:
        score = max(fuzz.WRatio(typed, name), fuzz.partial_ratio(typed, name))
    elif plan.pinyin and py:
        score = max(fuzz.WRatio(plan.pinyin, py), fuzz.partial_ratio(plan.pinyin, py))
    else:
        return None
    return (6, float(score), "fuzzy") if score >= FUZZY_THRESHOLD else None


def _check(text: str, first: int) -> str:
    stripped = text.strip()
    if not stripped:
        raise InvalidInput("text: type a name, pinyin or code to search for")
    if len(stripped) > MAX_TEXT:
        raise InvalidInput(
            f"text: at most {MAX_TEXT} characters can be searched for ({len(stripped)} given)"
        )
    if not 1 <= first <= MAX_FIRST:
        raise LimitExceeded(f"first: must be between 1 and {MAX_FIRST} ({first} given)")
    return stripped


def search_subjects(
    store: GraphStore, text: str, *, first: int = 20, include_persons: bool
) -> list[SearchHit]:
    """Subjects matching ``text``, best first (see the module docstring for the order).

    ``include_persons`` is False for callers who may not see natural persons (the
    public): persons are then never candidates, not merely filtered from the output.
    """
    stripped = _check(text, first)
    started = time.perf_counter()
    plan = _plan(stripped)
    best: dict[str, tuple[tuple[int, float, int, str], SearchHit]] = {}
    candidates = 0
    for phase in _phases(plan, _kinds(include_persons)):
        if len(best) >= first:
            break
        for query, params in phase:
            rows = store.read(query, params)
            candidates += len(rows)
            for row in rows:
                _keep_best(best, row, plan)
    ranked = [hit for _, hit in sorted(best.values(), key=lambda kv: kv[0])][:first]
    log.debug(
        "search kind=%s length=%d candidates=%d hits=%d in %.1f ms",
        plan.kind,
        len(stripped),
        candidates,
        len(ranked),
        (time.perf_counter() - started) * 1000,
    )
    return ranked


def _keep_best(
    best: dict[str, tuple[tuple[int, float, int, str], SearchHit]], row: Row, plan: _Plan
) -> None:
    graded = _grade(row, plan)
    if graded is None:
        return
    tier, score, matched = graded
    score = round(score, 2)
    name = row.get("name")
    code = str(row["code"])
    key = (tier, -score, len(name or ""), code)
    if code not in best or key < best[code][0]:
        hit = SearchHit(code=code, name=name, kind=str(row["kind"]), score=score, matched=matched)
        best[code] = (key, hit)


def backfill_search_props(store: GraphStore, *, batch_size: int = 1000) -> int:
    """Give subjects loaded before search existed their ``name_py`` / ``name_pyi``.

    Reloading their files would not do it (the row hash is unchanged, so the rows are
    skipped). Safe to run at every start: with nothing missing it is one scan. Returns
    how many subjects were updated.
    """
    total = 0
    while True:
        rows = store.read(SUBJECTS_WITHOUT_SEARCH_PROPS, {"limit": batch_size})
        if not rows:
            return total
        batch: list[dict[str, Any]] = []
        for r in rows:
            full, initials = name_pinyin(str(r["name"]))
            batch.append(
                {"code": r["code"], "name": r["name"], "name_py": full, "name_pyi": initials}
            )
        changed = int(store.write_one(SET_SEARCH_PROPS, {"rows": batch})[0]["changed"])
        total += changed
        if changed == 0:  # every one renamed meanwhile; the loader sets those
            return total

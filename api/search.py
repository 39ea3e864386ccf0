"""Subject search behind GraphQL ``searchSubjects``: by code prefix, name, pinyin or fuzzily.

The graph selects a few hundred candidates (``queries.search``); the ranking is done here
with rapidfuzz, so it is the same on every engine and deterministic. Ranking, best first:

====  ===========================================================  ===========
tier  the subject ...                                              ``matched``
====  ===========================================================  ===========
0     has the typed code (or the typed ``ftm:`` id, exactly)       code
1     has a code starting with the text                            code
2     has the typed name (ignoring case, spaces, full-width forms) name
3     has a name starting with the text                            name
4     has a name containing the text                               name
5     has a pinyin (or initials) starting with the text            pinyin /
      (also: Chinese text whose pinyin is the name's, a homophone) initials
6     has a pinyin (or initials) containing it in the distinctive  pinyin /
      part of the name: not only inside generic words              initials
7     has it only inside the pinyin of generic words (``xiang`` in pinyin /
      有限公司 ``youxiangongsi``), as nearly every company name        initials
8     is similar (rapidfuzz, score >= 60)                          fuzzy
====  ===========================================================  ===========

Generic words are ``_GENERIC_WORDS`` (有限公司, 股份有限公司, 分公司, 集团...), the same
list that keeps Chinese bigrams inside them out of the fuzzy search. Within a tier:
higher score, then shorter name, then code. ``score`` (0..100) is the similarity within
the tier (``fuzz.ratio`` of text and name or pinyin, so shorter names that contain the
text score higher), not comparable across tiers: the list order is the ranking.

What the text is (``_plan``): a text that looks like a code is searched as one; an
``ftm:`` id only in full, exactly as stored (FtM ids are case-sensitive; a prefix lists
nothing). Latin letters are searched as pinyin (and initials), also as pinyin is
written: full-width forms, tone marks dropped, ``ü`` as ``v``, apostrophes and hyphens
dropped (``Xī'ān``, ``lǜ``, ``Nan-tong``); text that needed that is also searched in
names as typed (``José``, ``O'Brien``). Anything else is searched in names.

Full-width Latin letters and digits in names (``ＡＢＣ科技``) are in the stored pinyin as
plain ones (``abckeji`` / ``abckj``, ``schema.pinyin``) for subjects written since that
was so. Typed text is normalised the same way, and ranking works from the pinyin of the
name as it is derived now (``_name_pinyin``), so only candidate selection reads the
stored ``name_py``. A subject loaded before keeps its old ``name_py`` (``kejiyouxian...``,
the letters dropped): the row hash leaves search properties out, so reloading the same
row skips it. Such a subject is still found by the rest of its name (``keji``, 科技), not
by its letters, until its row changes or its ``name_py`` is removed: the backfill run at
every start of the service (``backfill_search_props``) derives it again. Searching for
the letters in the names instead would cost every Latin search a test of every name, for
old data only; it is not done.

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
    SEARCH_CODE_EXACT,
    SEARCH_CODE_PREFIX,
    SET_SEARCH_PROPS,
    SUBJECTS_WITHOUT_SEARCH_PROPS,
    search_name,
    search_name_fuzzy,
    search_pinyin,
    search_pinyin_fuzzy,
)
from schema.codes import USCC_ALPHABET, is_external, validate_external
from schema.errors import InvalidCode, InvalidInput, LimitExceeded
from schema.pinyin import name_pieces, name_pinyin, pinyin_syllables, syllables, typed_pinyin

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
    return tuple(name_pieces(w) for w in _GENERIC_WORDS)


#: Separates what is left of a name's pinyin once a generic word is cut out of it.
_CUT = "|"


def _shortest_holding(py: str, words: set[str]) -> list[str]:
    """The words holding ``py`` that hold no other of them (``youxiangongsi``, not also
    ``gufenyouxiangongsi``): cutting those out cuts every longer one too."""
    holding = {w for w in words if py in w}
    return sorted(w for w in holding if not any(o != w and o in w for o in holding))


def _generic_holding(py: str) -> tuple[list[str], list[str]]:
    """The pinyin and the initials of the generic words holding ``py``: what the pinyin
    query cuts out of names to tell matches only inside them (both empty for most)."""
    words = _generic_syllables()
    full = {"".join(w) for w in words}
    initials = {"".join(p[0] for p in w) for w in words}
    return _shortest_holding(py, full), _shortest_holding(py, initials)


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
    pinyin: str | None  # Latin text: lowercase, no spaces, tones or apostrophes
    fuzzy: bool  # whether similar names are looked for when too few hold the text
    ftm: str | None = None  # an ``ftm:`` id, exactly as typed
    name_fuzzy: bool = True  # False: name_text is only Latin text as typed (José)

    @property
    def kind(self) -> str:
        parts = [
            k
            for k, v in (
                ("ftm", self.ftm),
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

    ``ftm:`` followed by an FtM id: only the subject with exactly that code (a text
    that is no valid FtM id finds nothing). Code-like: two or more characters of the
    code alphabet, with a digit or all in capitals (``9132``, ``91320602ma``, ``NT``).
    With a digit it is only a code (names hardly ever hold such strings); in capitals
    only (``NT``) it is also pinyin or initials. Other Latin letters (and digits) are
    pinyin, also with tone marks, ``ü``, apostrophes or hyphens (``schema.pinyin.
    typed_pinyin``); those are searched in names as typed too, without the fuzzy name
    search (``José``). Anything else is searched in names. Similar names are looked for
    unless the text looks like a code.
    """
    if is_external(text):
        try:
            code = validate_external(text)
        except InvalidCode:
            return _Plan(None, None, None, None, fuzzy=False)
        return _Plan(None, None, None, None, fuzzy=False, ftm=code)
    compact = "".join(unicodedata.normalize("NFKC", text).split())
    upper = compact.upper()
    has_digit = any(c.isdigit() for c in compact)
    code_like = (
        len(upper) >= 2 and all(c in _CODE_CHARS for c in upper) and (has_digit or compact == upper)
    )
    if code_like and has_digit:
        return _Plan(upper, None, None, None, fuzzy=False)
    pinyin = typed_pinyin(compact)
    plain = compact.isascii() and compact.isalnum()
    name_text: str | None = None
    name_py: str | None = None
    if pinyin is None or not plain:
        name_text = "".join(text.split())
        if len(_CJK.findall(name_text)) >= 2:
            name_py = name_pinyin(name_text)[0] or None
    return _Plan(
        code_prefix=upper if code_like else None,
        name_text=name_text,
        name_py=name_py,
        pinyin=pinyin,
        fuzzy=not code_like,
        name_fuzzy=pinyin is None,
    )


def _spread(items: list[str], most: int = MAX_GRAMS) -> list[str]:
    """At most ``most`` of the distinct items, spread over the text (a typo anywhere
    still leaves most of them intact)."""
    distinct = list(dict.fromkeys(items))
    if len(distinct) <= most:
        return distinct
    step = (len(distinct) - 1) / (most - 1)
    return [distinct[round(i * step)] for i in range(most)]


@lru_cache(maxsize=4)
def _by_first(generic: tuple[tuple[str, ...], ...]) -> dict[str, tuple[tuple[str, ...], ...]]:
    out: dict[str, list[tuple[str, ...]]] = {}
    for word in generic:
        out.setdefault(word[0], []).append(word)
    return {first: tuple(words) for first, words in out.items()}


def _unmasked(units: list[str], generic: tuple[tuple[str, ...], ...]) -> list[bool]:
    """False for each unit inside a generic word (有限公司...): every name has those."""
    keep = [True] * len(units)
    starting = _by_first(generic)
    for i, unit in enumerate(units):
        for word in starting.get(unit, ()):
            n = len(word)
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
    if plan.ftm:  # persons only for callers who may see them, as by name
        codes.append((SEARCH_CODE_EXACT, {"kinds": kinds, "code": plan.ftm}))
    if plan.code_prefix:
        prefix = plan.code_prefix
        # A person is found by code only by the full number: a prefix would enumerate them.
        code_kinds = kinds if len(prefix) == CODE_LENGTH else ["entity"]
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        params = {**common, "kinds": code_kinds, "prefix": prefix, "prefix_end": end}
        codes.append((SEARCH_CODE_PREFIX, params))
    pinyin_params: dict[str, Any] = {}
    cut_params: dict[str, Any] = {}
    if plan.pinyin:
        pinyin_params = {"py": plan.pinyin, "initials_inside": len(plan.pinyin) >= 3}
        generic, generic_i = _generic_holding(plan.pinyin)
        if generic or generic_i:  # xiang in youxiangongsi: the query tells those apart
            cut_params = {"generic": generic, "generic_i": generic_i, "cut": _CUT}
    for kind in kinds:  # one scan per label: persons are scanned only when they may be seen
        if plan.name_text:
            exact.append((search_name(kind), {**common, "text": plan.name_text}))
            grams = _bigrams(plan.name_text)
            if plan.fuzzy and plan.name_fuzzy and (grams or plan.name_py):
                params = {**common, "py": plan.name_py, "grams": grams}
                fuzzy.append((search_name_fuzzy(kind), params))
        if plan.pinyin:
            if cut_params and kind == "entity":  # persons' names hold no 有限公司
                query = search_pinyin(kind, generic=True)
                exact.append((query, {**common, **pinyin_params, **cut_params}))
            else:
                exact.append((search_pinyin(kind), {**common, **pinyin_params}))
            grams = _pinyin_grams(plan.pinyin)
            if plan.fuzzy and grams:
                fuzzy.append((search_pinyin_fuzzy(kind), {**common, "grams": grams}))
    return [p for p in (codes, exact, fuzzy) if p]


def _ratio(a: str, b: str) -> float:
    return float(fuzz.ratio(a, b))


@dataclass(frozen=True)
class _NamePinyin:
    py: str  # full pinyin
    pyi: str  # initials
    distinct_py: tuple[bool, ...]  # per letter of py: outside generic words (有限公司...)
    distinct_pyi: tuple[bool, ...]  # the same per letter of pyi


@lru_cache(maxsize=65536)
def _name_pinyin(name: str) -> _NamePinyin:
    """What ranking needs of a name's pinyin; cached, as candidates recur between searches."""
    pieces = name_pieces(name)
    keep = _unmasked(list(pieces), _generic_syllables())
    letters = tuple(k for p, k in zip(pieces, keep, strict=True) for _ in p)
    return _NamePinyin("".join(pieces), "".join(p[0] for p in pieces), letters, tuple(keep))


def _inside_distinctive(q: str, target: str, distinct: tuple[bool, ...]) -> bool:
    """Whether some occurrence of ``q`` in ``target`` has a letter outside generic words."""
    at = target.find(q)
    while at >= 0:
        if any(distinct[at : at + len(q)]):
            return True
        at = target.find(q, at + 1)
    return False


def _pinyin_grade(q: str, name: str) -> tuple[int, float, Matched] | None:
    """Tiers 5-7 for pinyin ``q``: the name's pinyin or initials starting with it, holding
    it in the name's distinctive part, or only inside generic words. Worked out from the
    name (cached), so it does not depend on what an older load stored."""
    pn = _name_pinyin(name)
    best: tuple[int, float, Matched] | None = None
    for target, label, distinct, inside_ok in (
        (pn.py, "pinyin", pn.distinct_py, True),
        (pn.pyi, "initials", pn.distinct_pyi, len(q) >= 3),
    ):
        if target.startswith(q):
            tier = 5
        elif inside_ok and q in target:
            tier = 6 if _inside_distinctive(q, target, distinct) else 7
        else:
            continue
        graded: tuple[int, float, Matched] = (
            tier,
            _ratio(q, target),
            "pinyin" if label == "pinyin" else "initials",
        )
        if best is None or (graded[0], -graded[1]) < (best[0], -best[1]):
            best = graded
    return best


def _grade(row: Row, plan: _Plan) -> tuple[int, float, Matched] | None:
    """The best (tier, score, matched) of one candidate, or None when it is no match."""
    code = str(row["code"])
    raw_name = str(row.get("name") or "")
    name = _fold(raw_name)
    py = str(row.get("name_py") or "")
    if plan.ftm:
        return (0, 100.0, "code") if code == plan.ftm else None
    prefix = plan.code_prefix
    if prefix and code == prefix:
        return 0, 100.0, "code"
    if prefix and code.startswith(prefix):
        return 1, 100.0 * len(prefix) / len(code), "code"
    typed_forms = [t for t in (_fold(plan.name_text or ""), plan.pinyin) if t]
    if name:
        for typed in typed_forms:
            if name == typed:
                return 2, 100.0, "name"
        for typed in typed_forms:
            if name.startswith(typed):
                return 3, _ratio(typed, name), "name"
        for typed in typed_forms:
            if typed in name:
                return 4, _ratio(typed, name), "name"
    q = plan.pinyin or plan.name_py
    if q and raw_name:
        graded = _pinyin_grade(q, raw_name)
        if graded is not None:
            return graded
    scores = [0.0]
    if plan.name_text and name:
        typed = _fold(plan.name_text)
        scores.append(max(fuzz.WRatio(typed, name), fuzz.partial_ratio(typed, name)))
    if plan.pinyin and py:
        scores.append(max(fuzz.WRatio(plan.pinyin, py), fuzz.partial_ratio(plan.pinyin, py)))
    score = float(max(scores))
    return (8, score, "fuzzy") if score >= FUZZY_THRESHOLD else None


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

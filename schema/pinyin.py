"""Toneless pinyin of subject names, for search by pinyin and by initials.

Users who cannot (or would rather not) type Chinese search for 南通宏达建设工程有限公司 as
``nantonghongda`` or ``nthdjs``. The loader stores two derived properties on every
subject node, and the search query matches typed text against them:

- ``name_py``: the full pinyin, lowercase, without tones or separators
  (``nantonghongdajianshegongchengyouxiangongsi``);
- ``name_pyi``: the first letter of each syllable (``nthdjsgcyxgs``).

Choices, where the text of a name does not decide:

- Polyphonic characters get pypinyin's default reading: its phrase dictionary picks the
  reading in context (银行 -> ``yinhang``, 重庆 -> ``chongqing``), otherwise the most
  common reading of the character. Only one reading is stored, so a user who types
  another reading finds the name through the fuzzy tier, not the pinyin tier.
- ``ü`` is written ``v`` (绿 -> ``lv``), as every pinyin input method types it.
- Latin letters and digits in a name are kept, lowercased, and count letter by letter
  for the initials (``ABC科技`` -> ``abckeji`` / ``abckj``); full-width ones and letters
  with accents count as their plain forms (``ＡＢＣ科技`` -> ``abckeji``, ``José`` ->
  ``jose``; NFKD, marks dropped). Everything else (punctuation, full-width brackets,
  spaces) is dropped. Subjects loaded before full-width letters were kept still hold
  the pinyin without them (the row hash leaves search properties out, so reloading
  skips the row) until their row changes or their pinyin is removed and derived again
  by ``api.search.backfill_search_props`` (docs/api.md, search).

Cost. This runs for every subject row a loader reads (millions per province), and
pypinyin's phrase segmentation costs about 45 µs a name. Context changes a character's
toneless reading only inside one of the ~3,400 phrases of pypinyin's dictionary that read
some character other than by its default reading (江都 -> ``jiangdu``, not ``jiangdou``).
A name holding none of those phrases (over 99% of generated names) is read character by
character from a table; only the others go through ``lazy_pinyin`` as a whole: about
3.3 µs a name instead of 45 on the generated province. The output is the same as
``lazy_pinyin`` on the whole name either way (``tests/test_search.py`` checks every
character and every fifth dictionary phrase).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from pypinyin.phrases_dict import phrases_dict
from pypinyin.pinyin_dict import pinyin_dict

__all__ = [
    "name_pieces",
    "name_pinyin",
    "pinyin_syllables",
    "search_props",
    "syllables",
    "typed_pinyin",
]

_DIAERESIS = "\u0308"
_OTHER = "\x00"  # marks text pypinyin has no reading for
_LATIN_OR_DIGIT = re.compile(r"[a-z0-9]")


def _toneless(reading: str) -> str:
    """``lǜ`` -> ``lv``: tone marks dropped, ü as ``v``."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", reading):
        if ch == _DIAERESIS and out and out[-1] == "u":
            out[-1] = "v"
        elif not unicodedata.combining(ch):
            out.append(ch)
    return "".join(out).lower()


@dataclass(frozen=True)
class _Tables:
    single: dict[str, str]  # character -> its default toneless reading
    exceptions: frozenset[str]  # phrases that read some character otherwise
    lengths_by_first: dict[str, tuple[int, ...]]  # first character -> those phrases' lengths


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    """Built on first use (about 0.1 s), not at import: the API imports this module too."""
    single = {chr(cp): _toneless(readings.split(",")[0]) for cp, readings in pinyin_dict.items()}
    exceptions: set[str] = set()
    for phrase, readings in phrases_dict.items():
        if len(phrase) != len(readings):
            exceptions.add(phrase)
            continue
        for ch, reading in zip(phrase, readings, strict=True):
            if ch in single and reading and _toneless(reading[0]) != single[ch]:
                exceptions.add(phrase)
                break
    lengths: dict[str, set[int]] = {}
    for phrase in exceptions:
        lengths.setdefault(phrase[0], set()).add(len(phrase))
    return _Tables(
        single=single,
        exceptions=frozenset(exceptions),
        lengths_by_first={c: tuple(sorted(ls)) for c, ls in lengths.items()},
    )


def _needs_context(name: str, t: _Tables) -> bool:
    """Whether some exception phrase occurs in the name."""
    for i, ch in enumerate(name):
        sizes = t.lengths_by_first.get(ch)
        if sizes is not None and any(name[i : i + n] in t.exceptions for n in sizes):
            return True
    return False


@lru_cache(maxsize=1)
def pinyin_syllables() -> frozenset[str]:
    """Every toneless syllable pypinyin knows (about 420), used to split typed pinyin."""
    out = set()
    for readings in pinyin_dict.values():
        for r in readings.split(","):
            t = _toneless(r)
            if t.isascii() and t.isalpha():
                out.add(t)
    return frozenset(out)


def _other_chars(run: str) -> str:
    """What pypinyin calls errors (text with no reading): marked, to be split by letter."""
    return _OTHER + run


def _plain(text: str) -> list[str]:
    """The ASCII letters and digits of text without a reading, lowercased: full-width
    forms as their ASCII ones, accents dropped (``Ａé-1`` -> ``a``, ``e``, ``1``)."""
    return [
        c
        for c in unicodedata.normalize("NFKD", text).lower()
        if c.isascii() and _LATIN_OR_DIGIT.match(c)
    ]


def _pieces(name: str) -> list[str]:
    """Syllables for Chinese characters, single letters/digits for the rest."""
    t = _tables()
    if _needs_context(name, t):
        pieces: list[str] = []
        for item in lazy_pinyin(name, style=Style.NORMAL, errors=_other_chars):
            if item.startswith(_OTHER):
                pieces.extend(_plain(item[1:]))
            else:
                pieces.append(item)
        return pieces
    out: list[str] = []
    for c in name:
        reading = t.single.get(c)
        if reading is not None:
            out.append(reading)
        elif c.isascii():
            if _LATIN_OR_DIGIT.match(low := c.lower()):
                out.append(low)
        else:
            out.extend(_plain(c))
    return out


@lru_cache(maxsize=65536)
def name_pieces(name: str) -> tuple[str, ...]:
    """The name's pinyin piece by piece: one syllable per Chinese character, one piece
    per Latin letter or digit (``ABC科技`` -> ``a``, ``b``, ``c``, ``ke``, ``ji``).

    Cached because the same names recur within a load (about one person name in ten),
    and search ranks the same candidates again and again.
    """
    return tuple(_pieces(name))


def name_pinyin(name: str) -> tuple[str, str]:
    """``(full pinyin, initials)`` of a name, both lowercase ASCII, possibly empty."""
    pieces = name_pieces(name)
    return "".join(pieces), "".join(p[0] for p in pieces)


#: Marks typed inside pinyin that are no part of the letters: syllable apostrophes
#: (``xi'an``, also as typographic quotes) and hyphens (``Nan-tong``).
_TYPED_SEPARATORS = frozenset("'\u2018\u2019\u02bc-\u2010\u2011")


def typed_pinyin(text: str) -> str | None:
    """Typed text as toneless pinyin, when it is Latin letters (and digits) only.

    Full-width forms count as ASCII, case and whitespace are ignored, tone marks are
    dropped, ``ü`` is ``v`` as in ``name_py`` (``Lǚ Yuán`` -> ``lvyuan``), and
    apostrophes and hyphens are dropped (``xi'an`` -> ``xian``). None when anything else
    is left (Chinese, other punctuation) or no letter at all.
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).lower()):
        if ch == _DIAERESIS and out and out[-1] == "u":
            out[-1] = "v"
        elif unicodedata.combining(ch) or ch.isspace() or ch in _TYPED_SEPARATORS:
            continue
        else:
            out.append(ch)
    plain = "".join(out)
    if plain.isascii() and plain.isalnum() and any(c.isalpha() for c in plain):
        return plain
    return None


def search_props(name: str | None) -> dict[str, str]:
    """The derived properties stored on a subject node for search."""
    if not name:
        return {}
    full, initials = name_pinyin(name)
    return {"name_py": full, "name_pyi": initials}


def syllables(text: str) -> list[str]:
    """Split typed pinyin (lowercase ASCII letters) into syllables, greedily.

    The longest known syllable wins at each position (``nantong`` -> ``nan``, ``tong``);
    a letter that starts no syllable (a typo) is kept as a piece of its own so the rest
    still splits. Greedy splitting can go wrong on ambiguous text (``xian`` is one
    syllable, never ``xi'an``); the result only selects candidates, it never decides rank.
    """
    known = pinyin_syllables()
    longest = max(len(s) for s in known)
    out: list[str] = []
    i = 0
    while i < len(text):
        for size in range(min(longest, len(text) - i), 0, -1):
            piece = text[i : i + size]
            if piece in known:
                out.append(piece)
                i += size
                break
        else:
            out.append(text[i])
            i += 1
    return out

"""Subject search: candidate selection only; ranking is done in Python (``api.search``).

Each query returns at most ``$limit`` candidates, ordered so that the cap keeps the best
ones (matches of the typed text before weaker ones, shorter names first, then code, so
the same text always gives the same candidates).

Who may be found: the code queries (a prefix, or an ``ftm:`` id exactly) filter by
``s.kind IN $kinds`` (``['entity']`` or ``['entity', 'person']``); the name queries come
one per label (``Entity``, ``Person``, the builders below) and the caller runs the
person one only for callers who may see natural persons, so for the public persons are
not even scanned.

Two phases: ``search_name`` / ``search_pinyin`` find subjects holding the typed text (or,
for Latin text, the pinyin or initials holding it); only when they find fewer than the
caller asked for do the ``*_fuzzy`` queries look for subjects sharing pieces of it
(``$grams``: character bigrams of Chinese text, syllables and syllable pairs of pinyin),
most shared first, and names whose pinyin holds the pinyin of Chinese text (``$py``: a
homophone an input method typed).

Cost: the code prefix is a range on the ``Subject.code`` index (``>= $prefix AND <
$prefix_end``, which both engines answer from the index; ``STARTS WITH`` alone is a
label scan on FalkorDB). ``CONTAINS`` can use no range index on either engine, so the
name queries scan every node of their label once: linear in the number of subjects, the
fuzzy ones with ``len($grams)`` substring tests per node (``bench/search_latency.py``);
the pinyin one, for text inside generic words (``xiang``), also cuts those words out of
the pinyin of every node holding the text, about twice the time of the plain scan.
That is why they come per label: the public, who see no persons, scan only the
entities, fewer than half of all subjects in a generated province; and why the fuzzy
ones read the property once (``WITH s, s.name AS name``), a third faster on FalkorDB
than reading it for every piece.
"""

from collections.abc import Iterator

#: ``s.kind`` -> the label whose nodes a name query scans.
LABELS: dict[str, str] = {"entity": "Entity", "person": "Person"}

_CANDIDATE = (
    "s.code AS code, s.name AS name, s.kind AS kind, s.name_py AS name_py, s.name_pyi AS name_pyi"
)

# A text that looks like a code: subjects whose code starts with it ($prefix_end is the
# prefix with its last character incremented, the end of the index range).
SEARCH_CODE_PREFIX = f"""
MATCH (s:Subject)
WHERE s.code >= $prefix AND s.code < $prefix_end AND s.code STARTS WITH $prefix
  AND s.kind IN $kinds
RETURN {_CANDIDATE}
ORDER BY s.code
LIMIT $limit
"""

# An ``ftm:`` id (a subject of a FollowTheMoney export without a USCC or ID number),
# typed in full: only the subject with exactly that code, never a prefix (an FtM id may
# carry an ID number, ``ftm:cn-ric-3206...``). A lookup on the ``Subject.code`` index.
SEARCH_CODE_EXACT = f"""
MATCH (s:Subject {{code: $code}})
WHERE s.kind IN $kinds
RETURN {_CANDIDATE}
"""

# Chinese (or other non-Latin) text: names holding it.
_SEARCH_NAME = f"""
MATCH (s:%s)
WHERE s.name CONTAINS $text
WITH s,
     CASE WHEN s.name = $text THEN 0
          WHEN s.name STARTS WITH $text THEN 1
          ELSE 2 END AS tier,
     size(s.name) AS length
ORDER BY tier, length, s.code
LIMIT $limit
RETURN {_CANDIDATE}
"""

# Names whose pinyin holds the text's pinyin ($py, null when the text has too little
# Chinese for that), then names sharing the most character bigrams with the text.
_SEARCH_NAME_FUZZY = f"""
MATCH (s:%s)
WITH s, s.name AS name
WHERE name IS NOT NULL
WITH s, name,
     CASE WHEN s.name_py CONTAINS $py THEN 1 ELSE 0 END AS homophone,
     size([g IN $grams WHERE name CONTAINS g]) AS hits
WHERE homophone > 0 OR hits > 0
WITH s, homophone, hits, size(name) AS length
ORDER BY homophone DESC, hits DESC, length, s.code
LIMIT $limit
RETURN {_CANDIDATE}
"""

# Latin text as pinyin ($py: lowercase, no spaces, tones or apostrophes): full pinyin
# holding it, initials starting with it, or holding it ($initials_inside, 3 letters or
# more: two letters are inside nearly every name's initials).
# Kept first (tier): pinyin or initials starting with it; then the others. When the text
# is inside generic words of names (xiang in 有限公司 youxiangongsi, which nearly every
# company name holds), the ``generic`` variant keeps those holding it outside them
# before those holding it only inside them: $generic / $generic_i are the pinyin /
# initials of such words (有限公司, 股份有限公司...), each cut out of the name's pinyin
# with $cut (a character pinyin never has) before looking for $py again. Only that
# variant pays for the cutting (about as much again as the scan).
_SEARCH_PINYIN = f"""
MATCH (s:%s)
WHERE (s.name_py CONTAINS $py OR s.name_pyi STARTS WITH $py
       OR ($initials_inside AND s.name_pyi CONTAINS $py))
WITH s,
     CASE WHEN s.name_py STARTS WITH $py OR s.name_pyi STARTS WITH $py THEN 0
%s END AS tier,
     size(s.name_py) AS length
ORDER BY tier, length, s.code
LIMIT $limit
RETURN {_CANDIDATE}
"""

_ANY_INSIDE = """\
          ELSE 1"""

_OUTSIDE_GENERIC_WORDS = """\
          WHEN reduce(p = coalesce(s.name_py, ''), w IN $generic | replace(p, w, $cut))
                 CONTAINS $py
               OR ($initials_inside
                   AND reduce(p = coalesce(s.name_pyi, ''), w IN $generic_i | replace(p, w, $cut))
                       CONTAINS $py) THEN 1
          ELSE 2"""

# Full pinyin sharing the most syllables or syllable pairs with the text.
_SEARCH_PINYIN_FUZZY = f"""
MATCH (s:%s)
WITH s, s.name_py AS py
WHERE py IS NOT NULL
WITH s, py, size([g IN $grams WHERE py CONTAINS g]) AS hits
WHERE hits > 0
WITH s, hits, size(py) AS length
ORDER BY hits DESC, length, s.code
LIMIT $limit
RETURN {_CANDIDATE}
"""


def search_name(kind: str) -> str:
    return _SEARCH_NAME % LABELS[kind]


def search_name_fuzzy(kind: str) -> str:
    return _SEARCH_NAME_FUZZY % LABELS[kind]


def search_pinyin(kind: str, generic: bool = False) -> str:
    """``generic``: the text is inside generic words' pinyin (``$generic``, ``$generic_i``)."""
    return _SEARCH_PINYIN % (LABELS[kind], _OUTSIDE_GENERIC_WORDS if generic else _ANY_INSIDE)


def search_pinyin_fuzzy(kind: str) -> str:
    return _SEARCH_PINYIN_FUZZY % LABELS[kind]


def variants() -> Iterator[tuple[str, str]]:
    for kind in LABELS:
        yield f"search_name[{kind}]", search_name(kind)
        yield f"search_name_fuzzy[{kind}]", search_name_fuzzy(kind)
        yield f"search_pinyin[{kind}]", search_pinyin(kind)
        yield f"search_pinyin[{kind},generic]", search_pinyin(kind, generic=True)
        yield f"search_pinyin_fuzzy[{kind}]", search_pinyin_fuzzy(kind)


# Backfill for subjects loaded before the search properties existed: their row hash is
# unchanged (the properties are derived, outside the hash), so reloading their files
# would skip them; this finds them instead.
SUBJECTS_WITHOUT_SEARCH_PROPS = """
MATCH (s:Subject)
WHERE s.name IS NOT NULL AND s.name_py IS NULL
RETURN s.code AS code, s.name AS name
ORDER BY s.code
LIMIT $limit
"""

# Rows: {code, name, name_py, name_pyi}. The name guard leaves a subject renamed in the
# meantime to the loader, which writes the pinyin of the new name itself.
SET_SEARCH_PROPS = """
UNWIND $rows AS row
MATCH (s:Subject {code: row.code})
WHERE s.name = row.name
SET s.name_py = row.name_py, s.name_pyi = row.name_pyi
RETURN count(s) AS changed
"""

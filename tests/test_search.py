"""Subject search by name, pinyin, initials, typo and code, on the real engine.

Every test loads a real JSONL file through the loader, so the pinyin properties searched
are the ones loading writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypinyin import Style, lazy_pinyin
from pypinyin.phrases_dict import phrases_dict
from pypinyin.pinyin_dict import pinyin_dict

from api.search import SearchHit, backfill_search_props, search_subjects
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.errors import InvalidInput, LimitExceeded
from schema.pinyin import name_pinyin
from schema.policy import load_policy
from tests.builders import entity, person, person_code, uscc_code

NANTONG = load_policy("nantong")
Write = Callable[..., Path]

#: name -> code; different regions so that code prefixes tell them apart.
NAMES = {
    "南通宏达建设工程有限公司": uscc_code(1, region="320602"),
    "南通宏达建设有限公司": uscc_code(2, region="320602"),
    "宏达建设集团有限公司": uscc_code(3, region="320100"),
    "南通宏大装饰有限公司": uscc_code(4, region="320602"),
    "苏州宏达建设有限公司": uscc_code(5, region="320500"),
    "南通长江物流有限公司": uscc_code(6, region="320602"),
    "中国银行股份有限公司南通分行": uscc_code(7, region="320611"),
    "ABC科技（南通）有限公司": uscc_code(8, region="320612"),
    "宏达建设": uscc_code(9, region="320100"),
    "无锡新华书店有限公司": uscc_code(10, region="320200"),
}
CO = {name: code for name, code in NAMES.items()}
PERSON = person_code(11)
PERSON_NAME = "王宏达"


def rows() -> list[dict[str, Any]]:
    return [*(entity(code, name) for name, code in NAMES.items()), person(PERSON, PERSON_NAME)]


def _load(store: GraphStore, path: Path) -> Any:
    return load_files(store, [path], policy=NANTONG, provider="p", today=dt.date(2026, 11, 21))


@pytest.fixture
def loaded(store: GraphStore, write_jsonl: Write) -> GraphStore:
    summary = _load(store, write_jsonl(rows()))
    assert summary.exit_code == 0, summary.as_dict()
    return store


def names(hits: list[SearchHit]) -> list[str | None]:
    return [h.name for h in hits]


def search(store: GraphStore, text: str, **kw: Any) -> list[SearchHit]:
    kw.setdefault("include_persons", True)
    return search_subjects(store, text, **kw)


# --- what a user types ---------------------------------------------------------------------


def test_chinese_substring_finds_every_name_containing_it(loaded: GraphStore) -> None:
    hits = search(loaded, "宏达建设", include_persons=False)
    containing = [h for h in hits if h.matched == "name"]
    assert {h.name for h in containing} == {n for n in NAMES if "宏达建设" in n}
    assert "南通长江物流有限公司" not in names(hits)


def test_ranking_exact_then_prefix_then_substring_shorter_first(loaded: GraphStore) -> None:
    hits = search(loaded, "宏达建设", include_persons=False)
    assert names(hits)[:5] == [
        "宏达建设",  # exact name
        "宏达建设集团有限公司",  # name prefix
        # substrings: shorter name first, equal lengths by code (320500 < 320602)
        "苏州宏达建设有限公司",
        "南通宏达建设有限公司",
        "南通宏达建设工程有限公司",
    ]
    assert [h.score for h in hits[:1]] == [100.0]
    assert hits[2].score == hits[3].score > hits[4].score


def test_full_pinyin_with_and_without_spaces(loaded: GraphStore) -> None:
    for text in ("nantonghongdajianshe", "nan tong hong da jian she", "NanTong HongDa JianShe"):
        hits = search(loaded, text)
        assert names(hits)[:2] == ["南通宏达建设有限公司", "南通宏达建设工程有限公司"], text
        assert {h.matched for h in hits[:2]} == {"pinyin"}


def test_pinyin_follows_phrase_readings_of_polyphonic_characters(loaded: GraphStore) -> None:
    # 行 reads hang in 银行 (pypinyin's phrase dictionary), xing alone.
    [hit, *_] = search(loaded, "zhongguoyinhang")
    assert hit.name == "中国银行股份有限公司南通分行" and hit.matched == "pinyin"


def test_initials(loaded: GraphStore) -> None:
    hits = search(loaded, "nthdjs")
    assert names(hits)[:2] == ["南通宏达建设有限公司", "南通宏达建设工程有限公司"]
    assert {h.matched for h in hits[:2]} == {"initials"}
    # in capitals it could be a code prefix too: no code starts so, the initials still count
    caps = search(loaded, "NTHD")
    assert {h.name for h in caps[:3]} == {
        "南通宏达建设有限公司",
        "南通宏大装饰有限公司",
        "南通宏达建设工程有限公司",
    }
    assert {h.matched for h in caps[:3]} == {"initials"}
    # initials inside the name, past the city: 宏达建设 in 苏州宏达建设...
    assert "苏州宏达建设有限公司" in names(search(loaded, "hdjs"))


def test_latin_letters_in_a_name_are_searchable(loaded: GraphStore) -> None:
    [hit, *_] = search(loaded, "abc")
    assert hit.name == "ABC科技（南通）有限公司" and hit.matched == "name"


def test_one_character_typo_in_a_chinese_name_is_still_found(loaded: GraphStore) -> None:
    # 建 -> 律: not a homophone, found by shared bigrams and rapidfuzz
    hits = search(loaded, "南通宏达律设工程有限公司")
    assert hits[0].name == "南通宏达建设工程有限公司" and hits[0].matched == "fuzzy"
    assert hits[0].score >= 80
    # 达 -> 大: a homophone an input method produces, found by its pinyin
    hits = search(loaded, "南通宏大建设工程")
    assert hits[0].name == "南通宏达建设工程有限公司" and hits[0].matched == "pinyin"


def test_pinyin_typo_is_still_found(loaded: GraphStore) -> None:
    hits = search(loaded, "nantonghongdajiangshegongcheng")  # jian -> jiang
    assert hits[0].name == "南通宏达建设工程有限公司" and hits[0].matched == "fuzzy"
    assert "无锡新华书店有限公司" not in names(hits)


def test_code_prefix(loaded: GraphStore) -> None:
    nantong = {code: name for name, code in NAMES.items() if code[2:8] == "320602"}
    hits = search(loaded, "91320602")
    # one tier, equal scores: shorter name first, then code
    assert [h.code for h in hits] == sorted(nantong, key=lambda c: (len(nantong[c]), c))
    assert {h.matched for h in hits} == {"code"}
    code = CO["南通长江物流有限公司"]
    assert search(loaded, code.lower())[0].code == code


def test_exact_code_comes_first(loaded: GraphStore) -> None:
    code = CO["南通宏达建设有限公司"]
    hits = search(loaded, code)
    assert hits[0] == SearchHit(code, "南通宏达建设有限公司", "entity", 100.0, "code")


def test_persons_only_for_callers_who_may_see_them(loaded: GraphStore) -> None:
    assert PERSON_NAME in names(search(loaded, "宏达", include_persons=True))
    assert PERSON_NAME not in names(search(loaded, "宏达", include_persons=False))
    assert PERSON_NAME not in names(search(loaded, "wanghongda", include_persons=False))
    [hit] = search(loaded, PERSON, include_persons=True)
    assert hit.code == PERSON and hit.kind == "person" and hit.matched == "code"
    assert search(loaded, PERSON, include_persons=False) == []
    # an ID number prefix never enumerates persons, whoever asks
    assert search(loaded, PERSON[:10], include_persons=True) == []


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_text_is_refused(loaded: GraphStore, text: str) -> None:
    with pytest.raises(InvalidInput, match="type a name"):
        search(loaded, text)


def test_oversized_text_and_bad_first_are_refused(loaded: GraphStore) -> None:
    with pytest.raises(InvalidInput, match="at most 100 characters"):
        search(loaded, "宏" * 101)
    assert search(loaded, " " + "宏达" * 50 + " ") is not None  # 100 after stripping
    for first in (0, 101):
        with pytest.raises(LimitExceeded, match="between 1 and 100"):
            search(loaded, "宏达", first=first)
    assert len(search(loaded, "有限公司", first=3)) == 3


# --- loading ---------------------------------------------------------------------------


def test_loading_twice_is_unchanged_with_search_props(
    store: GraphStore, write_jsonl: Write
) -> None:
    path = write_jsonl(rows())
    _load(store, path)
    before = store.read("MATCH (s:Subject) RETURN properties(s) AS p ORDER BY s.code")
    again = _load(store, path)
    assert again.loaded == 0 and again.unchanged == len(rows())
    assert store.read("MATCH (s:Subject) RETURN properties(s) AS p ORDER BY s.code") == before
    props = {r["p"]["name"]: r["p"] for r in before}
    assert props["南通宏达建设工程有限公司"]["name_py"] == (
        "nantonghongdajianshegongchengyouxiangongsi"
    )
    assert props["南通宏达建设工程有限公司"]["name_pyi"] == "nthdjsgcyxgs"
    assert props[PERSON_NAME]["name_py"] == "wanghongda"


def test_renamed_subject_gets_new_pinyin(store: GraphStore, write_jsonl: Write) -> None:
    code = CO["南通宏达建设有限公司"]
    _load(store, write_jsonl([entity(code, "南通宏达建设有限公司")]))
    assert _load(store, write_jsonl([entity(code, "南通东方建设有限公司")])).loaded == 1
    [hit, *_] = search(store, "nantongdongfang")
    assert hit.code == code and hit.name == "南通东方建设有限公司"
    # the old pinyin is gone: at most a fuzzy likeness remains
    assert {h.matched for h in search(store, "nantonghongda")} <= {"fuzzy"}


def test_backfill_gives_older_subjects_their_pinyin(store: GraphStore, write_jsonl: Write) -> None:
    path = write_jsonl(rows())
    _load(store, path)
    # a graph loaded before search existed: no pinyin properties
    store.write_one("MATCH (s:Subject) REMOVE s.name_py, s.name_pyi RETURN count(s) AS n")
    assert _load(store, path).unchanged == len(rows())  # reloading does not add them
    assert search(store, "nthdjs") == []
    assert backfill_search_props(store, batch_size=4) == len(rows())
    assert names(search(store, "nthdjs"))[0] == "南通宏达建设有限公司"
    assert backfill_search_props(store) == 0


# --- the pinyin of names ------------------------------------------------------------------


def _reference(name: str) -> tuple[str, str]:
    """pypinyin on the whole name, as the fast path must reproduce it."""
    pieces: list[str] = []
    for item in lazy_pinyin(name, style=Style.NORMAL, errors=lambda run: "\x00" + run):
        if item.startswith("\x00"):
            pieces.extend(c.lower() for c in item if c.isascii() and c.isalnum())
        else:
            pieces.append(item)
    return "".join(pieces), "".join(p[0] for p in pieces)


def test_name_pinyin_matches_pypinyin_on_every_character_and_phrase() -> None:
    chars = [chr(cp) for cp in pinyin_dict]
    assert [c for c in chars if name_pinyin(c) != _reference(c)] == []
    phrases = list(phrases_dict)[::5]
    bad = [p for p in phrases if name_pinyin(f"南通{p}有限公司") != _reference(f"南通{p}有限公司")]
    assert bad == []
    assert name_pinyin("扬州江都建设有限公司")[0] == "yangzhoujiangdujiansheyouxiangongsi"
    assert name_pinyin("重庆绿色ABC-12（南通）") == ("chongqinglvseabc12nantong", "cqlsabc12nt")

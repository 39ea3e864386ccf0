"""Synthetic province (Jiangsu) in the interchange format: ``credit-graph generate``.

Load tests, benchmarks and demos need millions of rows that look like a real provincial
credit platform: valid codes, dated roles, corporate groups, shell clusters and records
of every kind at realistic rates. Real data cannot be shipped (DOMAIN.md section 5), so
it is made up here, deterministically: the same ``entities`` and ``seed`` always give
the same bytes, so a benchmark or a bug report can name its data set by two numbers.

Design choices, all for speed (a million organisations, about seven million rows, in
under three minutes in one process) and bounded memory:

* Rows are hand-built JSON strings from constant pools (checked once to need no
  escaping) and written in large encoded chunks; pydantic is never used here.
* Codes are built with table-driven check characters (``uscc_check_char``,
  ``ric_check_char``; tests prove them equal to python-stdnum's). Organisation codes
  come from an affine bijection of the entity's index, so they are unique without a set.
* Per organisation only a few compact arrays are kept (kind, region, dates, flags) plus
  the code strings; per person the code and birth year. Nothing else survives a row.
* Persons are created when a role first needs them (so each is of age when the role
  starts and lives near the organisation), but the file must list every person before
  any role: roles are spooled to a temporary file next to ``out`` and appended after
  the persons.

The data's "today" is fixed at 2026-11-01 (``TODAY``): nothing depends on the clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import math
import os
import random
import secrets
import shutil
import tempfile
import time
from array import array
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

TODAY = dt.date(2026, 11, 1)
#: Nothing is established or decided after this day.
LAST_DATE = TODAY - dt.timedelta(days=1)
#: Records are decided from this day on.
FIRST_DECISION = dt.date(2015, 1, 1)

Progress = Callable[[int], None]


@dataclass
class GenerateStats:
    entities: int
    persons: int
    roles: int
    records: int
    rows: int
    seconds: float
    black_listed: int = 0
    red_listed: int = 0
    black_listed_persons: int = 0
    serious_records: int = 0
    head_changes: int = 0
    groups: int = 0
    max_chain_depth: int = 0
    cycles: int = 0
    cross_holdings: int = 0
    shell_clusters: int = 0
    branches: int = 0


# =============================================================================== codes

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_RIC_CHECK = "10X98765432"  # (12 - sum % 11) % 11 written out, index: sum % 11
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUE = {c: (int(c) if c.isdigit() else ord(c) - 55) for c in USCC_ALPHABET}


def uscc_check_char(body: str) -> str:
    """GB 32100-2015 check character of a USCC body (first 17 characters).

    Table-driven because it runs once per organisation; the tests hold it equal to
    ``stdnum.cn.uscc.calc_check_digit``.
    """
    total = 0
    for c, w in zip(body[:17], _USCC_WEIGHTS, strict=False):
        total += _USCC_VALUE[c] * w
    return USCC_ALPHABET[-total % 31]


def ric_check_char(body: str) -> str:
    """GB 11643-1999 (ISO 7064 MOD 11-2) check character of an ID number body.

    The generator itself uses precomputed partial sums (region, date, sequence); this
    plain form is what the tests compare with ``stdnum.cn.ric.calc_check_digit``.
    """
    total = 0
    for c, w in zip(body[:17], _RIC_WEIGHTS, strict=False):
        total += (ord(c) - 48) * w
    return _RIC_CHECK[total % 11]


def org_code_check_char(body: str) -> str:
    """GB 11714 check character of an organisation code body: USCCs embed it at position 17,
    so a code without it would not look like one a registry issued."""
    total = 0
    for c, w in zip(body, _ORG_WEIGHTS, strict=True):
        total += _ORG_VALUE[c] * w
    r = 11 - total % 11
    return "X" if r == 10 else "0" if r == 11 else str(r)


def _looks_like_person_id(code: str) -> bool:
    """True if an all-digit USCC would pass as a resident ID number.

    ``schema.codes.classify`` reads such a code as a person, which would turn an
    organisation into a person; the generator never emits one.
    """
    if not code[:17].isdigit() or ric_check_char(code) != code[17]:
        return False
    try:
        born = dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return False
    return dt.date(1890, 1, 1) <= born <= TODAY


# =============================================================================== dates
# Dates are day numbers counted from _EPOCH; the tables turn them into text at once.

_EPOCH = dt.date(1940, 1, 1)
_EPOCH_ORD = _EPOCH.toordinal()
_END = dt.date(2036, 12, 31)


def _build_date_tables() -> tuple[list[str], list[str], array[int], dict[int, int]]:
    iso: list[str] = []
    ymd: list[str] = []
    year: array[int] = array("H")
    start: dict[int, int] = {}
    day = _EPOCH
    one = dt.timedelta(days=1)
    while day <= _END:
        text = day.isoformat()
        if day.month == 1 and day.day == 1:
            start[day.year] = len(iso)
        iso.append(text)
        ymd.append(text[:4] + text[5:7] + text[8:])
        year.append(day.year)
        day += one
    return iso, ymd, year, start


_ISO, _YMD, _YEAR, _YSTART = _build_date_tables()
_RIC_DATE_SUM = [
    sum((ord(c) - 48) * w for c, w in zip(t, _RIC_WEIGHTS[6:14], strict=True)) for t in _YMD
]
_RIC_SEQ_SUM = [
    sum((ord(c) - 48) * w for c, w in zip(f"{s:03d}", _RIC_WEIGHTS[14:17], strict=True))
    for s in range(1000)
]
_SEQ3 = [f"{s:03d}" for s in range(1000)]


def _day(d: dt.date) -> int:
    return d.toordinal() - _EPOCH_ORD


TODAY_DAY = _day(TODAY)
LAST_DAY = _day(LAST_DATE)
D2008 = _day(dt.date(2008, 1, 1))
D2015 = _day(FIRST_DECISION)
D2019 = _day(dt.date(2019, 1, 1))
D2021 = _day(dt.date(2021, 1, 1))
D2025 = _day(dt.date(2024, 12, 31))


def _plus_months(day: int, months: int) -> int:
    """The day before the same date ``months`` later: how validity periods are written."""
    d = _EPOCH + dt.timedelta(days=day)
    m = d.month - 1 + months
    y, mo = d.year + m // 12, m % 12 + 1
    dd = min(d.day, 28 if mo == 2 else 30 if mo in (4, 6, 9, 11) else 31)
    return _day(dt.date(y, mo, dd)) - 1


# ============================================================================= regions


class _Prefecture(NamedTuple):
    name: str  # 南京
    abbr: str  # 宁: the one-character prefix of document numbers
    weight: float


class _Region(NamedTuple):
    code: str
    pref: int  # index into PREFECTURES
    name: str  # district/county name, '' for the city level
    weight: float
    first: int  # first year new organisations are registered under the code
    last: int  # last such year


PREFECTURES: tuple[_Prefecture, ...] = (
    _Prefecture("南京", "宁", 18),
    _Prefecture("无锡", "锡", 12),
    _Prefecture("徐州", "徐", 10),
    _Prefecture("常州", "常", 9),
    _Prefecture("苏州", "苏", 28),
    _Prefecture("南通", "通", 10),
    _Prefecture("连云港", "连", 5),
    _Prefecture("淮安", "淮", 6),
    _Prefecture("盐城", "盐", 9),
    _Prefecture("扬州", "扬", 7),
    _Prefecture("镇江", "镇", 5),
    _Prefecture("泰州", "泰", 7),
    _Prefecture("宿迁", "宿", 7),
)

# (code, name, weight, first, last). Codes and their years follow the national division
# code table (also in python-stdnum's cn/loc.dat). Weights are rough shares of entities.
_REGION_TABLE: tuple[tuple[str, str, float, int, int], ...] = (
    ("320100", "", 2.0, 0, 9999),
    ("320102", "玄武区", 1.2, 0, 9999),
    ("320104", "秦淮区", 1.3, 0, 9999),
    ("320105", "建邺区", 1.3, 0, 9999),
    ("320106", "鼓楼区", 1.5, 0, 9999),
    ("320111", "浦口区", 1.3, 0, 9999),
    ("320113", "栖霞区", 1.4, 0, 9999),
    ("320114", "雨花台区", 1.2, 0, 9999),
    ("320115", "江宁区", 3.5, 0, 9999),
    ("320116", "六合区", 1.2, 0, 9999),
    ("320117", "溧水区", 0.9, 0, 9999),
    ("320118", "高淳区", 0.8, 0, 9999),
    ("320200", "", 1.2, 0, 9999),
    ("320205", "锡山区", 1.5, 0, 9999),
    ("320206", "惠山区", 1.5, 0, 9999),
    ("320211", "滨湖区", 1.6, 0, 9999),
    ("320213", "梁溪区", 1.8, 0, 9999),
    ("320214", "新吴区", 1.6, 0, 9999),
    ("320281", "江阴市", 2.2, 0, 9999),
    ("320282", "宜兴市", 1.6, 0, 9999),
    ("320300", "", 0.8, 0, 9999),
    ("320302", "鼓楼区", 0.8, 0, 9999),
    ("320303", "云龙区", 0.9, 0, 9999),
    ("320305", "贾汪区", 0.5, 0, 9999),
    ("320311", "泉山区", 1.0, 0, 9999),
    ("320312", "铜山区", 1.3, 0, 9999),
    ("320321", "丰县", 0.8, 0, 9999),
    ("320322", "沛县", 1.0, 0, 9999),
    ("320324", "睢宁县", 0.9, 0, 9999),
    ("320381", "新沂市", 0.9, 0, 9999),
    ("320382", "邳州市", 1.1, 0, 9999),
    ("320400", "", 1.0, 0, 9999),
    ("320402", "天宁区", 1.2, 0, 9999),
    ("320404", "钟楼区", 1.2, 0, 9999),
    ("320411", "新北区", 1.8, 0, 9999),
    ("320412", "武进区", 2.4, 0, 9999),
    ("320413", "金坛区", 0.8, 0, 9999),
    ("320481", "溧阳市", 1.0, 0, 9999),
    ("320500", "", 2.5, 0, 9999),
    ("320505", "虎丘区", 2.5, 0, 9999),
    ("320506", "吴中区", 3.0, 0, 9999),
    ("320507", "相城区", 2.2, 0, 9999),
    ("320508", "姑苏区", 2.4, 0, 9999),
    ("320509", "吴江区", 3.0, 0, 9999),
    ("320581", "常熟市", 3.2, 0, 9999),
    ("320582", "张家港市", 2.8, 0, 9999),
    ("320583", "昆山市", 4.5, 0, 9999),
    ("320585", "太仓市", 1.8, 0, 9999),
    ("320600", "", 0.9, 0, 9999),
    ("320602", "崇川区", 1.2, 0, 2019),
    ("320611", "港闸区", 0.5, 0, 2019),
    ("320612", "通州区", 1.4, 0, 9999),
    ("320613", "崇川区", 0.8, 2020, 9999),
    ("320614", "海门区", 0.5, 2020, 9999),
    ("320621", "海安县", 0.6, 0, 2017),
    ("320623", "如东县", 1.0, 0, 9999),
    ("320681", "启东市", 1.1, 0, 9999),
    ("320682", "如皋市", 1.3, 0, 9999),
    ("320684", "海门市", 0.9, 0, 2019),
    ("320685", "海安市", 0.6, 2018, 9999),
    ("320700", "", 0.6, 0, 9999),
    ("320703", "连云区", 0.4, 0, 9999),
    ("320706", "海州区", 1.2, 0, 9999),
    ("320707", "赣榆区", 0.9, 0, 9999),
    ("320722", "东海县", 0.9, 0, 9999),
    ("320723", "灌云县", 0.6, 0, 9999),
    ("320724", "灌南县", 0.5, 0, 9999),
    ("320800", "", 0.7, 0, 9999),
    ("320803", "淮安区", 0.8, 0, 9999),
    ("320804", "淮阴区", 0.8, 0, 9999),
    ("320812", "清江浦区", 1.0, 0, 9999),
    ("320813", "洪泽区", 0.4, 0, 9999),
    ("320826", "涟水县", 0.8, 0, 9999),
    ("320830", "盱眙县", 0.6, 0, 9999),
    ("320831", "金湖县", 0.4, 0, 9999),
    ("320900", "", 0.8, 0, 9999),
    ("320902", "亭湖区", 1.0, 0, 9999),
    ("320903", "盐都区", 0.9, 0, 9999),
    ("320904", "大丰区", 0.8, 0, 9999),
    ("320921", "响水县", 0.5, 0, 9999),
    ("320922", "滨海县", 0.8, 0, 9999),
    ("320923", "阜宁县", 0.8, 0, 9999),
    ("320924", "射阳县", 0.8, 0, 9999),
    ("320925", "建湖县", 0.7, 0, 9999),
    ("320981", "东台市", 1.0, 0, 9999),
    ("321000", "", 0.8, 0, 9999),
    ("321002", "广陵区", 1.0, 0, 9999),
    ("321003", "邗江区", 1.3, 0, 9999),
    ("321012", "江都区", 1.2, 0, 9999),
    ("321023", "宝应县", 0.7, 0, 9999),
    ("321081", "仪征市", 0.7, 0, 9999),
    ("321084", "高邮市", 0.8, 0, 9999),
    ("321100", "", 0.6, 0, 9999),
    ("321102", "京口区", 0.7, 0, 9999),
    ("321111", "润州区", 0.6, 0, 9999),
    ("321112", "丹徒区", 0.6, 0, 9999),
    ("321181", "丹阳市", 1.4, 0, 9999),
    ("321182", "扬中市", 0.6, 0, 9999),
    ("321183", "句容市", 0.8, 0, 9999),
    ("321200", "", 0.7, 0, 9999),
    ("321202", "海陵区", 0.9, 0, 9999),
    ("321203", "高港区", 0.6, 0, 9999),
    ("321204", "姜堰区", 0.9, 0, 9999),
    ("321281", "兴化市", 1.2, 0, 9999),
    ("321282", "靖江市", 1.0, 0, 9999),
    ("321283", "泰兴市", 1.1, 0, 9999),
    ("321300", "", 0.6, 0, 9999),
    ("321302", "宿城区", 1.4, 0, 9999),
    ("321311", "宿豫区", 1.0, 0, 9999),
    ("321322", "沭阳县", 1.8, 0, 9999),
    ("321323", "泗阳县", 1.0, 0, 9999),
    ("321324", "泗洪县", 1.0, 0, 9999),
)
REGIONS: tuple[_Region, ...] = tuple(
    _Region(code, int(code[2:4]) - 1, name, w, first, last)
    for code, name, w, first, last in _REGION_TABLE
)
#: ID-number regions abolished since (code, last year of issue). A person whose number
#: was issued before then may still carry it; python-stdnum's table dates them.
_HISTORIC_PERSON_REGIONS: tuple[tuple[str, int], ...] = (
    ("320103", 2013),
    ("320107", 2013),
    ("320121", 2000),
    ("320124", 2013),
    ("320125", 2013),
    ("320202", 2015),
    ("320203", 2015),
    ("320204", 2015),
    ("320283", 2000),
    ("320323", 2010),
    ("320405", 2015),
    ("320482", 2015),
    ("320483", 2002),
    ("320502", 2012),
    ("320503", 2012),
    ("320504", 2012),
    ("320584", 2012),
    ("320586", 2000),
    ("320602", 2019),
    ("320611", 2019),
    ("320621", 2018),
    ("320683", 2009),
    ("320684", 2020),
    ("320705", 2014),
    ("320721", 2014),
    ("320802", 2016),
    ("320811", 2016),
    ("320829", 2016),
    ("320982", 2015),
    ("321088", 2011),
    ("321284", 2012),
    ("321321", 2004),
)


def _full_name(r: _Region) -> str:
    """Authorities and names spell a district with its city but a county on its own:
    南京市江宁区, 江阴市, 如东县."""
    city = PREFECTURES[r.pref].name + "市"
    if not r.name:
        return city
    if r.code[4] in "01":  # a district of the city (xx01-xx19)
        return city + r.name
    return r.name  # a county or a county-level city


def _place(r: _Region) -> str:
    """Branch names drop the division suffix unless the name would be one character:
    江宁, 江阴, 丰县."""
    if not r.name:
        return PREFECTURES[r.pref].name
    return r.name[:-1] if len(r.name) > 2 else r.name


# =========================================================================== name pools

SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.0),
    ("陈", 6.5),
    ("张", 6.0),
    ("李", 5.0),
    ("刘", 4.0),
    ("徐", 4.0),
    ("朱", 3.5),
    ("吴", 3.0),
    ("周", 3.0),
    ("孙", 3.0),
    ("杨", 2.5),
    ("黄", 2.0),
    ("沈", 2.0),
    ("顾", 1.8),
    ("陆", 1.8),
    ("赵", 1.5),
    ("胡", 1.5),
    ("钱", 1.2),
    ("蒋", 1.2),
    ("高", 1.2),
    ("何", 1.0),
    ("马", 1.0),
    ("许", 1.0),
    ("丁", 1.0),
    ("蔡", 1.0),
    ("曹", 1.0),
    ("袁", 1.0),
    ("姚", 0.8),
    ("汤", 0.8),
    ("戴", 0.8),
    ("唐", 0.8),
    ("韩", 0.8),
    ("冯", 0.8),
    ("宋", 0.8),
    ("郭", 0.8),
    ("范", 0.7),
    ("夏", 0.7),
    ("潘", 0.7),
    ("金", 0.7),
    ("葛", 0.6),
    ("严", 0.6),
    ("卢", 0.6),
    ("邵", 0.6),
    ("施", 0.6),
    ("程", 0.6),
    ("姜", 0.6),
    ("汪", 0.6),
    ("薛", 0.6),
    ("谢", 0.6),
    ("邱", 0.5),
    ("季", 0.5),
    ("秦", 0.5),
    ("魏", 0.5),
    ("梁", 0.5),
    ("罗", 0.5),
    ("俞", 0.5),
    ("倪", 0.5),
    ("邹", 0.5),
    ("石", 0.5),
    ("吕", 0.5),
    ("钟", 0.4),
    ("任", 0.4),
    ("杜", 0.4),
    ("华", 0.4),
    ("陶", 0.4),
    ("毛", 0.4),
    ("方", 0.4),
    ("缪", 0.3),
    ("孔", 0.3),
    ("郁", 0.3),
    ("殷", 0.3),
    ("储", 0.3),
    ("贾", 0.3),
    ("单", 0.3),
    ("万", 0.3),
    ("仇", 0.2),
    ("瞿", 0.2),
    ("尤", 0.2),
    ("欧阳", 0.03),
    ("诸葛", 0.02),
    ("司马", 0.01),
)
#: Characters of given names by (male, born before 1975).
_GIVEN: dict[tuple[bool, bool], str] = {
    (True, True): "建国华军明平志强伟林荣德新忠海春金龙文卫东兴福宝根祥才永刚昌正立红云贵生",
    (True, False): "浩宇杰俊涛磊鹏博轩晨子睿天泽一航阳辰凯然皓峰超亮斌晓文辉健飞勇成毅",
    (False, True): "秀英兰芳玉桂华红梅霞凤珍丽萍琴云美芬娟敏燕玲琳艳翠萍菊素娣霞月",
    (False, False): "婷雨欣怡佳琪梦思晓静雪颖悦诗涵萱可馨丹蕾倩琳洁妍慧璐露莹文嘉",
}
_TRADE_A = (
    "鑫恒瑞华金永鼎汇润天通嘉盛安德隆兴荣锦博海江中东新宏富佳联正远创"
    "宇卓凯铭昊泰诚信达源丰利顺祥和益康明晨腾飞骏伟胜星辉耀光智科普亿"
)
_TRADE_B = (
    "达信丰诚泰源和成远顺昌辉宇发利鑫航邦力捷晟创禾悦茂泽森拓汇益盛"
    "华通祥瑞腾峰鼎润嘉锐扬凯升进伦耀程佳博恒亚洲美德旺富安康立新威海"
)
_TRADE_C = "达通源泰成丰盛昌隆发祥"
_STREET_CORE = (
    "人民",
    "解放",
    "中山",
    "建设",
    "长江",
    "黄河",
    "太湖",
    "新华",
    "和平",
    "文化",
    "工业",
    "科技",
    "迎宾",
    "振兴",
    "胜利",
    "光明",
    "幸福",
    "东方",
    "江海",
    "滨河",
    "府前",
    "青年",
    "朝阳",
    "团结",
    "富强",
    "金桥",
    "丰收",
    "园区",
    "开发",
    "创业",
    "学府",
    "龙江",
    "凤凰",
    "紫金",
    "秦淮",
    "金鸡湖",
    "星湖",
    "虹桥",
    "银杏",
    "梧桐",
    "香樟",
    "枫林",
    "桃园",
)
_STREETS = tuple(
    f"{core}{kind}"
    for core in _STREET_CORE
    for kind in ("路", "大道", "街", "东路", "西路", "南路", "北路")
)

# Company sectors: 0 construction, 1 manufacturing, 2 chemical, 3 logistics, 4 trade,
# 5 food, 6 agri, 7 real estate, 8 tech, 9 medicine, 10 labour, 11 services.
S_CONSTRUCTION, S_MANUFACTURING, S_CHEMICAL, S_LOGISTICS, S_TRADE, S_FOOD = range(6)
S_AGRI, S_REALESTATE, S_TECH, S_MEDICINE, S_LABOUR, S_SERVICE = range(6, 12)
# Other organisations: 12 catering, 13 retail, 14 personal services (individual
# businesses), 15 co-op, 16 bureau, 17 town, 18 hospital, 19 school, 20 public centre,
# 21 library/museum, 22 association, 23 private non-enterprise unit, 24 foundation,
# 25 village collective.
S_CATERING, S_RETAIL, S_PERSONAL, S_COOP, S_BUREAU, S_TOWN, S_HOSPITAL = range(12, 19)
S_SCHOOL, S_CENTRE, S_LIBRARY, S_ASSOCIATION, S_PRIVATE_NE, S_FOUNDATION = range(19, 25)
S_VILLAGE = 25

INDUSTRIES: tuple[tuple[str, int], ...] = (
    ("建设工程", 0),
    ("建筑安装工程", 0),
    ("装饰工程", 0),
    ("市政工程", 0),
    ("钢结构工程", 0),
    ("纺织", 1),
    ("家纺", 1),
    ("服饰", 1),
    ("机械制造", 1),
    ("机电设备", 1),
    ("电气", 1),
    ("精密机械", 1),
    ("汽车零部件", 1),
    ("金属制品", 1),
    ("塑料制品", 1),
    ("包装材料", 1),
    ("船舶配套", 1),
    ("化工", 2),
    ("新材料科技", 2),
    ("涂料", 2),
    ("物流", 3),
    ("供应链管理", 3),
    ("运输", 3),
    ("商贸", 4),
    ("贸易", 4),
    ("汽车销售服务", 4),
    ("建材", 4),
    ("五金机电", 4),
    ("电子商务", 4),
    ("食品", 5),
    ("餐饮管理", 5),
    ("酒业", 5),
    ("农业科技", 6),
    ("生态农业", 6),
    ("园林绿化", 6),
    ("置业", 7),
    ("房地产开发", 7),
    ("环保科技", 8),
    ("电子科技", 8),
    ("网络科技", 8),
    ("信息技术", 8),
    ("智能科技", 8),
    ("软件", 8),
    ("生物科技", 8),
    ("医药", 9),
    ("医疗器械", 9),
    ("劳务", 10),
    ("人力资源", 10),
    ("企业管理咨询", 11),
    ("文化传媒", 11),
    ("广告", 11),
    ("教育科技", 11),
    ("物业管理", 11),
)
_SHELL_INDUSTRIES = (
    ("商贸", 4),
    ("贸易", 4),
    ("供应链管理", 3),
    ("企业管理咨询", 11),
    ("信息技术", 8),
    ("电子商务", 4),
    ("建材", 4),
    ("物资", 4),
)
_SHOPS: tuple[tuple[str, int], ...] = (
    ("饭店", S_CATERING),
    ("面馆", S_CATERING),
    ("小吃店", S_CATERING),
    ("快餐店", S_CATERING),
    ("便利店", S_RETAIL),
    ("五金店", S_RETAIL),
    ("超市", S_RETAIL),
    ("烟酒店", S_RETAIL),
    ("服装店", S_RETAIL),
    ("水果店", S_RETAIL),
    ("建材经营部", S_RETAIL),
    ("商贸部", S_RETAIL),
    ("经营部", S_RETAIL),
    ("副食品店", S_RETAIL),
    ("理发店", S_PERSONAL),
    ("汽车修理部", S_PERSONAL),
    ("美容美发店", S_PERSONAL),
    ("家电维修部", S_PERSONAL),
)
_COOP_PRODUCTS = (
    "蔬菜种植",
    "水稻种植",
    "生猪养殖",
    "水产养殖",
    "果品",
    "农机服务",
    "茶叶",
    "花卉苗木",
    "家禽养殖",
    "土地股份",
    "葡萄种植",
    "蚕桑",
)
_BUREAUS = (
    "发展和改革局",
    "教育局",
    "财政局",
    "交通运输局",
    "住房和城乡建设局",
    "农业农村局",
    "商务局",
    "文化广电和旅游局",
    "卫生健康委员会",
    "应急管理局",
    "审计局",
    "统计局",
    "民政局",
    "司法局",
    "水务局",
    "自然资源和规划局",
    "生态环境局",
    "退役军人事务局",
)
_ASSOC_SUBJECTS = (
    "建筑业",
    "物流",
    "餐饮",
    "电子商务",
    "纺织",
    "服装",
    "家具",
    "汽车流通",
    "个体劳动者",
    "软件",
    "花木盆景",
    "家政服务",
    "养老服务",
    "会计",
    "律师",
    "企业家",
    "质量",
    "摄影家",
    "书法家",
    "老年体育",
)
_CAPITALS = (100_000, 300_000, 500_000, 1_000_000, 2_000_000, 3_000_000, 5_000_000, 10_000_000)
_CAPITAL_W = (8, 6, 10, 20, 12, 10, 12, 10)
_BIG_CAPITALS = (
    10_000_000,
    20_000_000,
    30_000_000,
    50_000_000,
    100_000_000,
    200_000_000,
    500_000_000,
)
_BIG_CAPITAL_W = (20, 20, 15, 20, 12, 8, 5)

# Organisation kinds and their USCC authority + type (GB 32100-2015 table 1).
K_COMPANY, K_INDIVIDUAL, K_COOP, K_ORGAN, K_INSTITUTION = range(5)
K_SOCIAL_GROUP, K_PRIVATE_NE, K_FOUNDATION, K_OTHER, K_BRANCH = range(5, 10)
_KIND_PREFIX = ("91", "92", "93", "11", "12", "51", "52", "53", "Y1", "91")
_KIND_ORG_TYPE = (
    "enterprise",
    "enterprise",
    "enterprise",
    "institution",
    "institution",
    "social_org",
    "social_org",
    "social_org",
    "other",
    "enterprise",
)
#: Share of stand-alone organisations of each kind (companies also come in structures).
_KIND_WEIGHTS = (60.0, 26.0, 3.0, 0.4, 2.2, 1.4, 1.5, 0.15, 0.5)
#: Registration years by kind: (from, to, weight) spans.
_YEAR_SPANS: dict[int, tuple[tuple[int, int, float], ...]] = {
    K_COMPANY: (
        (1985, 1991, 0.3),
        (1992, 1999, 1),
        (2000, 2007, 2),
        (2008, 2013, 3.5),
        (2014, 2019, 7),
        (2020, 2025, 8),
        (2026, 2026, 6),
    ),
    K_INDIVIDUAL: ((1990, 2005, 0.8), (2006, 2013, 2), (2014, 2019, 6), (2020, 2026, 9)),
    K_COOP: ((2007, 2007, 2), (2008, 2015, 5), (2016, 2026, 2)),
    K_ORGAN: (
        (1950, 1979, 0.3),
        (1980, 2000, 1),
        (2001, 2018, 0.5),
        (2019, 2019, 8),
        (2020, 2024, 0.3),
    ),
    K_INSTITUTION: ((1950, 1979, 0.6), (1980, 2015, 1), (2016, 2024, 0.4)),
    K_SOCIAL_GROUP: ((1990, 2005, 0.6), (2006, 2024, 1)),
    K_PRIVATE_NE: ((2000, 2010, 0.5), (2011, 2025, 1)),
    K_FOUNDATION: ((2005, 2025, 1),),
    K_OTHER: ((2016, 2016, 1), (2017, 2022, 4), (2023, 2025, 1)),
}

F_BIG, F_JOINT, F_CANCELLED, F_REVOKED, F_SHELL = 1, 2, 4, 8, 16
#: First digit of old-style (pre-2015) organisation codes of non-companies.
_OLD_STYLE_LEAD = {
    K_ORGAN: "0",
    K_INSTITUTION: "4",
    K_SOCIAL_GROUP: "5",
    K_PRIVATE_NE: "5",
    K_FOUNDATION: "5",
    K_OTHER: "7",
}
#: Kinds whose heads are on file only from 2008 when the organisation is older.
_RECENT_HEADS_ONLY = (K_ORGAN, K_INSTITUTION, K_SOCIAL_GROUP)


def _cumulative(weights: Sequence[float]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _check_pool_text(*pools: object) -> None:
    """The pools are pasted into JSON unescaped: no text in them may need escaping."""
    for pool in pools:
        if isinstance(pool, str):
            if any(c in pool for c in '"\\') or any(ord(c) < 32 for c in pool):
                raise AssertionError(f"pool text needs JSON escaping: {pool!r}")
        elif isinstance(pool, dict):
            _check_pool_text(*pool.keys(), *pool.values())
        elif isinstance(pool, tuple | list):
            _check_pool_text(*pool)


# ============================================================================ records


class _Doc(NamedTuple):
    """A decision as a provider reports it; ``auth`` and ``code`` give issuer and number."""

    kind: str
    title: str
    auth: str  # authority key, see _AUTHORITIES
    code: str  # document-number code: 宁江 + 市监处罚 + 〔2025〕123号
    months: int = 0  # validity written as valid_until, 0: none


# Authority keys: suffix _d district (city level for city-level registrations), _c city,
# _p province. Values: (name template, document-number short template).
_AUTHORITIES: dict[str, tuple[str, str]] = {
    "amr_d": ("{d}市场监督管理局", "{a}{d0}"),
    "amr_c": ("{c}市场监督管理局", "{a}"),
    "amr_p": ("江苏省市场监督管理局", "苏"),
    "tax_d": ("国家税务总局{d}税务局", "{a}{d0}"),
    "tax_c": ("国家税务总局{c}税务局", "{a}"),
    "tax_p": ("国家税务总局江苏省税务局", "苏"),
    "court_d": ("{d}人民法院", ""),
    "court_c": ("{c}中级人民法院", ""),
    "env_c": ("{c}生态环境局", "{a}"),
    "emg_c": ("{c}应急管理局", "{a}"),
    "house_c": ("{c}住房和城乡建设局", "{a}"),
    "trans_c": ("{c}交通运输局", "{a}"),
    "hr_c": ("{c}人力资源和社会保障局", "{a}"),
    "appr_c": ("{c}行政审批局", "{a}"),
    "civil_c": ("{c}民政局", "{a}"),
    "health_c": ("{c}卫生健康委员会", "{a}"),
    "agri_c": ("{c}农业农村局", "{a}"),
    "agri_p": ("江苏省农业农村厅", "苏"),
    "fire_c": ("{c}消防救援支队", "{a}"),
    "tobacco_c": ("{c}烟草专卖局", "{a}"),
    "inst_c": ("{c}事业单位登记管理局", "{a}"),
    "civil_p": ("江苏省民政厅", "苏"),
    "ethic_c": ("{c}精神文明建设委员会", "{a}"),
    "dev_c": ("{c}发展和改革委员会", "{a}"),
    "sci_p": ("江苏省科学技术厅", ""),
    "youth_c": ("共青团{c}委员会", "{a}"),
    "gov_c": ("{c}人民政府", "{a}"),
    "agri_d": ("{d}农业农村局", "{a}{d0}"),
}

D = _Doc
LICENCES: dict[int, tuple[_Doc, ...]] = {
    S_CONSTRUCTION: (
        D("license", "建筑业企业资质证书（施工总承包三级）", "house_c", "建许", 60),
        D("license", "安全生产许可证（建筑施工）", "house_c", "建安许", 36),
    ),
    S_MANUFACTURING: (
        D("license", "排污许可证", "env_c", "环许", 60),
        D("license", "工业产品生产许可证", "amr_p", "市监许", 60),
    ),
    S_CHEMICAL: (
        D("license", "危险化学品经营许可证", "emg_c", "应急许", 36),
        D("license", "安全生产许可证（危险化学品生产）", "emg_c", "应急安许", 36),
    ),
    S_LOGISTICS: (D("license", "道路运输经营许可证", "trans_c", "交运许", 48),),
    S_TRADE: (
        D("license", "食品经营许可证", "appr_c", "行审食许", 60),
        D("license", "酒类商品批发许可证", "amr_c", "市监酒许", 36),
    ),
    S_FOOD: (
        D("license", "食品生产许可证", "amr_c", "市监食许", 60),
        D("license", "食品经营许可证", "appr_c", "行审食许", 60),
    ),
    S_AGRI: (
        D("license", "农药经营许可证", "agri_c", "农药许", 60),
        D("license", "种子生产经营许可证", "agri_c", "农种许", 60),
    ),
    S_REALESTATE: (D("license", "房地产开发企业资质证书", "house_c", "建房许", 36),),
    S_TECH: (
        D("license", "高新技术企业证书", "sci_p", "GR", 36),
        D("license", "增值电信业务经营许可证", "amr_p", "通信许", 60),
    ),
    S_MEDICINE: (
        D("license", "药品经营许可证", "amr_c", "市监药许", 60),
        D("license", "医疗器械经营许可证", "amr_c", "市监械许", 60),
    ),
    S_LABOUR: (
        D("license", "劳务派遣经营许可证", "hr_c", "人社派许", 36),
        D("license", "人力资源服务许可证", "hr_c", "人社服许", 60),
    ),
    S_SERVICE: (
        D("license", "广播电视节目制作经营许可证", "amr_p", "广许", 24),
        D("license", "物业服务企业备案证明", "house_c", "建物备", 0),
    ),
    S_CATERING: (D("license", "食品经营许可证（小餐饮）", "appr_c", "行审食许", 60),),
    S_RETAIL: (
        D("license", "烟草专卖零售许可证", "tobacco_c", "烟专许", 60),
        D("license", "食品经营许可证（预包装食品销售）", "appr_c", "行审食许", 60),
    ),
    S_PERSONAL: (D("license", "公共场所卫生许可证", "health_c", "卫公许", 48),),
    S_COOP: (D("license", "种子生产经营许可证", "agri_c", "农种许", 60),),
    S_HOSPITAL: (
        D("license", "事业单位法人证书", "inst_c", "事证", 60),
        D("license", "医疗机构执业许可证", "health_c", "卫医许", 60),
    ),
    S_SCHOOL: (
        D("license", "事业单位法人证书", "inst_c", "事证", 60),
        D("license", "办学许可证", "appr_c", "教民", 60),
    ),
    S_CENTRE: (D("license", "事业单位法人证书", "inst_c", "事证", 60),),
    S_LIBRARY: (D("license", "事业单位法人证书", "inst_c", "事证", 60),),
    S_ASSOCIATION: (D("license", "社会团体法人登记证书", "civil_c", "民证", 60),),
    S_PRIVATE_NE: (D("license", "民办非企业单位登记证书", "civil_c", "民证", 60),),
    S_FOUNDATION: (D("license", "基金会法人登记证书", "civil_p", "民基证", 60),),
    S_VILLAGE: (D("license", "农村集体经济组织登记证", "agri_d", "农经证", 0),),
}

GENERAL_COMMON: tuple[_Doc, ...] = (
    D("abnormal_operation", "未按规定公示年度报告，列入经营异常名录", "amr_d", "市监异"),
    D(
        "abnormal_operation",
        "通过登记的住所或者经营场所无法联系，列入经营异常名录",
        "amr_d",
        "市监异",
    ),
    D("penalty", "对商品作虚假或者引人误解的商业宣传", "amr_d", "市监处罚"),
    D("penalty", "未按照规定期限办理纳税申报和报送纳税资料", "tax_d", "税简罚"),
    D("tax_arrears", "欠缴税款逾期未缴纳", "tax_d", "税通"),
    D("penalty", "消防设施、器材未保持完好有效", "fire_c", "消行罚决字"),
    D("penalty", "未按规定申报缴纳社会保险费", "hr_c", "人社监罚"),
)
GENERAL_BY_SECTOR: dict[int, tuple[_Doc, ...]] = {
    S_CONSTRUCTION: (
        D("penalty", "施工现场未落实扬尘污染防治措施", "house_c", "建罚"),
        D("penalty", "未按时足额支付劳动者工资", "hr_c", "人社监罚"),
    ),
    S_MANUFACTURING: (
        D("penalty", "超过大气污染物排放标准排放大气污染物", "env_c", "环罚"),
        D("penalty", "未按规定对从业人员进行安全生产教育和培训", "emg_c", "应急罚"),
    ),
    S_CHEMICAL: (D("penalty", "危险废物贮存不符合国家环境保护标准", "env_c", "环罚"),),
    S_LOGISTICS: (D("penalty", "道路货物运输车辆超限运输", "trans_c", "交罚"),),
    S_TRADE: (D("penalty", "经营者未按照规定明码标价", "amr_d", "市监处罚"),),
    S_FOOD: (
        D("penalty", "食品经营者未按规定查验供货者许可证和食品合格证明文件", "amr_d", "市监处罚"),
    ),
    S_REALESTATE: (D("penalty", "未取得商品房预售许可证预售商品房", "house_c", "建罚"),),
    S_MEDICINE: (D("penalty", "未按照规定储存药品", "amr_c", "市监处罚"),),
    S_LABOUR: (D("penalty", "用人单位未依法与劳动者订立书面劳动合同", "hr_c", "人社监罚"),),
    S_CATERING: (
        D("penalty", "餐饮服务提供者未按规定对餐具、饮具进行清洗消毒", "amr_d", "市监处罚"),
    ),
    S_RETAIL: (
        D("penalty", "销售超过保质期的食品", "amr_d", "市监处罚"),
        D("penalty", "无烟草专卖零售许可证经营烟草制品零售业务", "tobacco_c", "烟罚"),
    ),
    S_PERSONAL: (
        D(
            "penalty",
            "公共场所经营者未取得有效健康合格证明的从业人员从事服务工作",
            "health_c",
            "卫公罚",
        ),
    ),
    S_HOSPITAL: (D("penalty", "医疗废物未按规定分类收集、暂存", "health_c", "卫医罚"),),
    S_ASSOCIATION: (D("penalty", "未按规定参加年度检查", "civil_c", "民罚"),),
    S_PRIVATE_NE: (D("penalty", "未按规定参加年度检查", "civil_c", "民罚"),),
    S_FOUNDATION: (D("penalty", "未按规定进行年度信息公开", "civil_p", "民罚"),),
}
#: Serious dishonesty: (decision, list). Round-robin over these first so every kind shows
#: up even in a small file, then drawn at random.
SERIOUS: tuple[tuple[_Doc, str], ...] = (
    (
        D(
            "enforcement",
            "有履行能力而拒不履行生效法律文书确定的义务，列入失信被执行人名单",
            "court_d",
            "执",
        ),
        "black",
    ),
    (
        D("serious_dishonesty", "虚开增值税专用发票，列为重大税收违法失信主体", "tax_c", "税稽罚"),
        "black",
    ),
    (
        D(
            "tax_arrears",
            "欠缴税款金额较大且经催缴拒不缴纳，列为重大税收违法失信主体",
            "tax_c",
            "税稽罚",
        ),
        "black",
    ),
    (D("false_materials", "提供虚假材料骗取行政许可", "appr_c", "行审罚"), ""),
    (D("accident", "发生一般生产安全事故（死亡1人），对事故发生负有责任", "emg_c", "应急罚"), ""),
    (
        D(
            "industry_ban",
            "串通投标，一年内禁止参加依法必须进行招标的项目的投标",
            "dev_c",
            "发改罚",
            12,
        ),
        "",
    ),
    (
        D(
            "abnormal_operation",
            "列入经营异常名录届满3年仍未履行相关义务，列入严重违法失信名单",
            "amr_c",
            "市监严",
        ),
        "black",
    ),
    (D("penalty", "通过暗管逃避监管的方式排放水污染物，情节严重", "env_c", "环罚"), ""),
    (D("enforcement", "违反财产报告制度，列入失信被执行人名单", "court_d", "执"), "black"),
    (
        D("false_materials", "提交虚假材料取得公司登记，列入严重违法失信名单", "amr_c", "市监处罚"),
        "black",
    ),
    (
        D(
            "serious_dishonesty",
            "拖欠农民工工资，列入拖欠农民工工资失信联合惩戒对象名单",
            "hr_c",
            "人社失信",
            36,
        ),
        "black",
    ),
    (
        D(
            "serious_dishonesty",
            "生产经营添加非食用物质的食品，列入市场监督管理严重违法失信名单",
            "amr_c",
            "市监处罚",
            36,
        ),
        "black",
    ),
)
SERIOUS_SOCIAL = (
    D("serious_dishonesty", "弄虚作假骗取年检，列入社会组织严重违法失信名单", "civil_c", "民社罚"),
    "black",
)
SHELL_SERIOUS = (SERIOUS[1], SERIOUS[6], SERIOUS[9])
SHELL_GENERAL = (GENERAL_COMMON[0], GENERAL_COMMON[1], GENERAL_COMMON[4])
#: Positive records of organisations: (decision, list).
POSITIVE: tuple[tuple[_Doc, str], ...] = (
    (D("commendation", "{c}文明单位", "ethic_c", "文明委"), ""),
    (D("commendation", "江苏省“守合同重信用”企业", "amr_p", "市监信", 24), "red"),
    (D("a_grade_taxpayer", "纳税信用A级纳税人", "tax_p", "税公告", 12), "red"),
    (D("commendation", "{c}诚信示范企业", "dev_c", "发改信用", 36), "red"),
    (D("donation", "向{c}慈善总会捐赠助学款", "civil_c", "民慈"), ""),
    (D("commendation", "{c}安全生产先进单位", "emg_c", "应急"), ""),
)
POSITIVE_COOP = (D("commendation", "江苏省农民合作社省级示范社", "agri_p", "农经", 24), "red")
POSITIVE_SOCIAL = (
    (D("commendation", "评估等级4A级社会组织", "civil_c", "民社", 60), ""),
    (D("commendation", "评估等级5A级社会组织", "civil_c", "民社", 60), "red"),
)
POSITIVE_PUBLIC = (D("commendation", "{c}文明单位", "ethic_c", "文明委"), "")
OTHER: tuple[_Doc, ...] = (
    D("commitment", "信用承诺（告知承诺制审批）", "appr_c", "行审诺"),
    D("inspection", "“双随机、一公开”抽查：未发现问题", "amr_d", "市监抽"),
    D("judgment", "民事判决：买卖合同纠纷（被告，已履行）", "court_d", "民初"),
    D("equity_pledge", "股权出质设立登记", "amr_d", "市监质登字"),
    D("mortgage", "动产抵押登记", "amr_d", "市监抵登"),
)
PERSON_POSITIVE: tuple[tuple[_Doc, str], ...] = (
    (D("volunteer", "注册志愿者，累计志愿服务时长{h}小时", "youth_c", "团发"), ""),
    (D("donation", "无偿献血{h}次，获全国无偿献血奉献奖", "health_c", "卫发"), ""),
    (D("commendation", "{c}见义勇为先进个人", "gov_c", "政发"), "red"),
    (D("commendation", "{c}道德模范", "ethic_c", "文明委"), "red"),
)
PERSON_GENERAL = D("penalty", "逾期未办理个人所得税综合所得汇算清缴", "tax_d", "税简罚")
PERSON_ENFORCEMENT = SERIOUS[0][0]
PERSON_BANS = (
    D("industry_ban", "五年内不得从事食品生产经营管理工作", "amr_c", "市监处罚", 60),
    D("industry_ban", "终身禁止从事药品生产经营活动", "amr_c", "市监药罚"),
    D("industry_ban", "三年内不得担任企业的法定代表人、负责人", "amr_c", "市监处罚", 36),
)
PERSON_JUDGMENT = D("judgment", "刑事判决：危险驾驶罪（已执行完毕）", "court_d", "刑初")
del D

_HOURS = (100, 200, 300, 500, 1000, 1500)
_DONATIONS = (10, 20, 30, 40, 50)
_DISCLOSURE_ORG = ("public", "shared", "authorized", "limited")
_DISCLOSURE_ORG_CUM = _cumulative((84, 7, 5, 4))
_DISCLOSURE_PERSON = ("authorized", "limited", "shared", "public")
_DISCLOSURE_PERSON_CUM = _cumulative((50, 25, 15, 10))
_SHARE = [repr(p / 100) for p in range(101)]

_check_pool_text(
    SURNAMES,
    _GIVEN,
    _TRADE_A,
    _TRADE_B,
    _STREETS,
    INDUSTRIES,
    _SHOPS,
    _BUREAUS,
    _ASSOC_SUBJECTS,
    _REGION_TABLE,
    PREFECTURES,
    LICENCES,
    GENERAL_COMMON,
    GENERAL_BY_SECTOR,
    SERIOUS,
    POSITIVE,
    OTHER,
    PERSON_POSITIVE,
    PERSON_BANS,
    _AUTHORITIES,
)


#: Title of the head and of a deputy, by sector of a non-company organisation.
_HEADS: dict[int, tuple[str, str]] = {
    S_CATERING: ("经营者", ""),
    S_RETAIL: ("经营者", ""),
    S_PERSONAL: ("经营者", ""),
    S_COOP: ("理事长", "理事"),
    S_BUREAU: ("局长", "副局长"),
    S_TOWN: ("镇长", "副镇长"),
    S_HOSPITAL: ("院长", "副院长"),
    S_SCHOOL: ("校长", "副校长"),
    S_CENTRE: ("主任", "副主任"),
    S_LIBRARY: ("馆长", "副馆长"),
    S_ASSOCIATION: ("会长", "副会长"),
    S_PRIVATE_NE: ("理事长", "理事"),
    S_FOUNDATION: ("理事长", "副理事长"),
    S_VILLAGE: ("理事长", "理事"),
}

# ============================================================================ writing


class _Sink:
    """Rows collected as text and written as large encoded chunks; reports progress."""

    CHUNK = 8192

    def __init__(self, fh: IO[bytes], progress: Progress | None) -> None:
        self.fh, self.progress = fh, progress
        self.buf: list[str] = []
        self.rows = 0

    def flush(self) -> None:
        if self.buf:
            self.fh.write("".join(self.buf).encode("utf-8"))
            n = len(self.buf)
            self.rows += n
            self.buf.clear()
            if self.progress is not None:
                self.progress(n)


# ========================================================================== generator


class _Holding(NamedTuple):
    parent: int  # entity index of the company shareholder
    pct: int  # per cent
    since: int  # day


class _Generator:
    sink: _Sink  # the output file: organisations, persons (psink), records
    psink: _Sink
    rsink: _Sink  # the roles spool

    def __init__(self, entities: int, seed: int) -> None:
        self.n_target = entities
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
        self.rand = self.rng.random
        # per organisation
        self.codes: list[str] = []
        self.kind = bytearray()
        self.region = bytearray()
        self.sector = bytearray()
        self.flags = bytearray()
        self.est: array[int] = array("i")
        self.term: array[int] = array("i")
        self.officer: array[int] = array("i")
        # structures, only for the few organisations in them
        self.holdings: dict[int, list[_Holding]] = {}
        self.group_of: dict[int, int] = {}
        self.shell_of: dict[int, int] = {}
        self.branch_head: dict[int, int] = {}
        # per person
        self.pcodes: list[str] = []
        self.pbirth: array[int] = array("H")
        self.pseen: set[str] = set()
        #: persons by the prefecture they hold roles in: people are reused close to home
        self.pref_people: list[array[int]] = [array("i") for _ in PREFECTURES]
        self.n_role_persons = 0
        self.group_people: dict[int, list[int]] = {}
        self.shell_people: dict[int, tuple[int, int]] = {}
        #: chance that a role goes to someone who already holds one elsewhere
        self.reuse = 0.55
        # group subsidiaries an other group's holding company may take a stake in
        self.open_targets: list[int] = []
        self.record_serial = 0
        self.serious_serial = 0
        self.stats = GenerateStats(0, 0, 0, 0, 0, 0.0)
        self._setup_tables()

    # -------------------------------------------------------------------- tables

    def _setup_tables(self) -> None:
        rng = self.rng
        self.region_cum_by_year: dict[int, tuple[list[int], list[float]]] = {}
        self.pref_cum = _cumulative([p.weight for p in PREFECTURES])
        self.region_full = [_full_name(r) for r in REGIONS]
        self.region_city = [PREFECTURES[r.pref].name + "市" for r in REGIONS]
        self.region_address = [
            "江苏省"
            + (f if f.startswith(PREFECTURES[r.pref].name) else PREFECTURES[r.pref].name + "市" + f)
            for r, f in zip(REGIONS, self.region_full, strict=True)
        ]
        self.region_prefixes: list[tuple[str, ...]] = []
        for r, full in zip(REGIONS, self.region_full, strict=True):
            city = PREFECTURES[r.pref].name
            if not r.name:
                self.region_prefixes.append((city, city, city, "江苏"))
            elif r.code[4] in "01":
                self.region_prefixes.append((city, city, city, full))
            else:
                self.region_prefixes.append((full, full, _place(r), city))
        # current ID-number regions by prefecture, weighted like organisations
        self.person_regions: list[tuple[list[str], list[float]]] = []
        self.historic: list[list[tuple[str, int]]] = []
        for p in range(len(PREFECTURES)):
            rs = [r for r in REGIONS if r.pref == p and r.last == 9999 and r.name]
            self.person_regions.append(([r.code for r in rs], _cumulative([r.weight for r in rs])))
            self.historic.append(
                [(c, last) for c, last in _HISTORIC_PERSON_REGIONS if int(c[2:4]) - 1 == p]
            )
        self.ric_region_sum = {
            code: sum((ord(c) - 48) * w for c, w in zip(code, _RIC_WEIGHTS[:6], strict=True))
            for code in [r.code for r in REGIONS] + [c for c, _ in _HISTORIC_PERSON_REGIONS]
        }
        self.year_cum = {k: self._year_table(spans) for k, spans in _YEAR_SPANS.items()}
        self.kind_cum = _cumulative(_KIND_WEIGHTS)
        self.surnames = [s for s, _ in SURNAMES]
        self.surname_cum = _cumulative([w for _, w in SURNAMES])
        self.capital_cum = _cumulative(_CAPITAL_W)
        self.big_capital_cum = _cumulative(_BIG_CAPITAL_W)
        # organisation-code bijections: index -> a code no other index gets
        self.m_new = 9 * 31**5
        self.m_old = 10**7
        self.m_old_company = 7 * self.m_old
        self.a_new = self._coprime(self.m_new)
        self.b_new = rng.randrange(self.m_new)
        self.a_old = self._coprime(self.m_old)
        self.b_old = rng.randrange(self.m_old)
        self.a_old_company = self._coprime(self.m_old_company)
        self.b_old_company = rng.randrange(self.m_old_company)
        self.space_count: dict[tuple[str, bool], int] = {}
        self.prefix_sum: dict[tuple[int, int], tuple[str, int]] = {}
        self.doc_cache: dict[tuple[int, int], tuple[str, str, str, str]] = {}
        self.doc_ids: dict[_Doc, int] = {}
        self.doc_serial: dict[tuple[str, int], int] = {}

    def _coprime(self, m: int) -> int:
        while True:
            a = self.rng.randrange(m // 3, m)
            if math.gcd(a, m) == 1:
                return a

    @staticmethod
    def _year_table(spans: Sequence[tuple[int, int, float]]) -> tuple[list[int], list[float]]:
        years: list[int] = []
        weights: list[float] = []
        for y0, y1, w in spans:
            for y in range(y0, y1 + 1):
                years.append(y)
                weights.append(w * (10 / 12 if y == TODAY.year else 1))
        return years, _cumulative(weights)

    def _regions_for(self, year: int, pref: int = -1) -> tuple[list[int], list[float]]:
        """Regions new organisations of ``year`` could be registered under (cached).

        USCCs were given to every existing organisation in 2015-2017, so codes created up
        to 2017 serve older organisations too; later codes only serve later ones.
        """
        key = year * 100 + pref + 1
        got = self.region_cum_by_year.get(key)
        if got is None:
            idx = [
                i
                for i, r in enumerate(REGIONS)
                if (pref < 0 or r.pref == pref)
                and r.last >= year
                and (r.first <= 2017 or r.first <= year)
            ]
            got = (idx, _cumulative([REGIONS[i].weight for i in idx]))
            self.region_cum_by_year[key] = got
        return got

    # ------------------------------------------------------------------ helpers

    def _pick_cum(self, cum: list[float]) -> int:
        i = bisect(cum, self.rand() * cum[-1])
        return i if i < len(cum) else len(cum) - 1

    def _ri(self, a: int, b: int) -> int:
        """Uniform integer in [a, b]; a cheap ``randint``."""
        return a + int(self.rand() * (b - a + 1))

    def _est_day(self, kind: int) -> int:
        years, cum = self.year_cum[kind]
        y = years[self._pick_cum(cum)]
        start = _YSTART[y]
        end = min(_YSTART[y + 1] - 1, LAST_DAY - 1)
        return start + int(self.rand() * (end - start + 1))

    def _region(self, year: int, pref: int = -1) -> int:
        idx, cum = self._regions_for(year, pref)
        return idx[self._pick_cum(cum)]

    def _trade_name(self) -> str:
        r = self.rand
        a = _TRADE_A[int(r() * len(_TRADE_A))]
        b = _TRADE_B[int(r() * len(_TRADE_B))]
        if a == b:
            b = "达"
        if r() < 0.25:
            return a + b + _TRADE_C[int(r() * len(_TRADE_C))]
        return a + b

    def _address(self, region: int, room: bool = False) -> str:
        r = self.rand
        text = (
            f"{self.region_address[region]}{_STREETS[int(r() * len(_STREETS))]}"
            f"{1 + int(r() * 688)}号"
        )
        if room or r() < 0.3:
            text += f"{1 + int(r() * 12)}幢{1 + int(r() * 18)}{1 + int(r() * 8):02d}室"
        return text

    def _capital(self, big: bool) -> int:
        if big:
            return _BIG_CAPITALS[self._pick_cum(self.big_capital_cum)]
        return _CAPITALS[self._pick_cum(self.capital_cum)]

    # ------------------------------------------------------------------ codes

    def _uscc(self, kind: int, region: int, old_style: bool) -> str:
        """A USCC no other organisation gets, without remembering the ones given out.

        Each code space (USCC prefix, old or new style of organisation code) counts its
        organisations; an affine bijection of that count modulo the size of the space
        makes the organisation code, so codes look random yet never repeat.
        """
        space = (_KIND_PREFIX[kind], old_style)
        n = self.space_count.get(space, 0)
        self.space_count[space] = n + 1
        key = (kind, region)
        got = self.prefix_sum.get(key)
        if got is None:
            prefix = _KIND_PREFIX[kind] + REGIONS[region].code
            got = (
                prefix,
                sum(_USCC_VALUE[c] * w for c, w in zip(prefix, _USCC_WEIGHTS, strict=False)),
            )
            self.prefix_sum[key] = got
        prefix, psum = got
        if old_style and kind in (K_COMPANY, K_BRANCH):
            if n >= self.m_old_company:
                raise ValueError("too many organisations for the old-style company codes")
            x = (n * self.a_old_company + self.b_old_company) % self.m_old_company
            body = f"{1 + x // self.m_old:d}{x % self.m_old:07d}"  # first digit 1-7
        elif old_style:
            if n >= self.m_old:
                raise ValueError("too many organisations for the old-style codes")
            x = (n * self.a_old + self.b_old) % self.m_old
            body = _OLD_STYLE_LEAD[kind] + f"{x:07d}"
        else:
            if n >= self.m_new:
                raise ValueError("too many organisations for the organisation codes")
            x = (n * self.a_new + self.b_new) % self.m_new
            head = "MJ" if kind in (K_SOCIAL_GROUP, K_PRIVATE_NE, K_FOUNDATION) else "MA"
            first, x = divmod(x, 31**5)
            chars = [head, str(1 + first)]
            for p in (31**4, 31**3, 31**2, 31):
                q, x = divmod(x, p)
                chars.append(USCC_ALPHABET[q])
            chars.append(USCC_ALPHABET[x])
            body = "".join(chars)
        org = body + org_code_check_char(body)
        total = psum
        for c, w in zip(org, _USCC_WEIGHTS[8:], strict=True):
            total += _USCC_VALUE[c] * w
        code = prefix + org + USCC_ALPHABET[-total % 31]
        if old_style and _looks_like_person_id(code):
            return self._uscc(kind, region, False)
        return code

    def _person_code(self, region: str, birth: int, male: bool) -> str:
        rsum = self.ric_region_sum[region] + _RIC_DATE_SUM[birth]
        ymd = _YMD[birth]
        r = self.rand
        while True:
            seq = int(r() * 500) * 2 + (1 if male else 0)
            code = region + ymd + _SEQ3[seq] + _RIC_CHECK[(rsum + _RIC_SEQ_SUM[seq]) % 11]
            if code not in self.pseen:
                self.pseen.add(code)
                return code

    # ============================================================== phase 1: orgs

    def _add(
        self,
        kind: int,
        region: int,
        est: int,
        name: str,
        address: str,
        capital: int | None,
        sector: int,
        flags: int = 0,
        term: int = 0,
    ) -> int:
        i = len(self.codes)
        old = (
            est < _YSTART[2015] + 273 and kind not in (K_INDIVIDUAL, K_COOP) and self.rand() < 0.85
        )
        code = self._uscc(kind, region, old)
        self.codes.append(code)
        self.kind.append(kind)
        self.region.append(region)
        self.sector.append(sector)
        self.est.append(est)
        self.term.append(term)
        self.officer.append(-1)
        if term:
            status = "revoked" if flags & F_REVOKED else "cancelled"
            tail = f',"terminated":"{_ISO[term]}"'
        else:
            status, tail = "active", ""
        cap = f',"registered_capital":{capital}' if capital else ""
        self.flags.append(flags)
        self.sink.buf.append(
            f'{{"type":"entity","code":"{code}","name":"{name}","org_type":'
            f'"{_KIND_ORG_TYPE[kind]}","status":"{status}","established":"{_ISO[est]}"{tail},'
            f'"address":"{address}"{cap}}}\n'
        )
        return i

    def _fate(self, kind: int, est: int) -> tuple[int, int]:
        """(flags, terminated day): closed organisations stay on file with their records."""
        p_cancel, p_revoke = {
            K_COMPANY: (0.08, 0.04),
            K_INDIVIDUAL: (0.12, 0.0),
            K_COOP: (0.07, 0.02),
            K_ORGAN: (0.01, 0.0),
            K_INSTITUTION: (0.01, 0.0),
            K_SOCIAL_GROUP: (0.03, 0.01),
            K_PRIVATE_NE: (0.03, 0.0),
            K_BRANCH: (0.10, 0.0),
        }.get(kind, (0.0, 0.0))
        if LAST_DAY - est < 400 or (kind in _RECENT_HEADS_ONLY and est < D2008):
            # old public bodies list only recent heads, so they must live into that time
            return 0, 0
        x = self.rand()
        if x < p_cancel + p_revoke:
            term = est + 365 + int(self.rand() * (LAST_DAY - est - 365))
            return (F_REVOKED if x < p_revoke else F_CANCELLED), term
        return 0, 0

    def _company_name(self, region: int, tn: str, industry: str, joint: bool, big: bool) -> str:
        prefixes = self.region_prefixes[region]
        prefix = "江苏" if big and self.rand() < 0.4 else prefixes[int(self.rand() * 4)]
        if joint:
            return f"{prefix}{tn}{industry}股份有限公司"
        suffix = "有限责任公司" if self.rand() < 0.05 else "有限公司"
        return f"{prefix}{tn}{industry}{suffix}"

    def _single(self) -> None:
        kind = self._pick_cum(self.kind_cum)
        if kind == K_COMPANY:
            self._company_unit(self.rand() < 0.03)
            return
        r = self.rand
        est = self._est_day(kind)
        region = self._region(_YEAR[est])
        full = self.region_full[region]
        tn = self._trade_name()
        capital: int | None = None
        if kind == K_INDIVIDUAL:
            shop, sector = _SHOPS[int(r() * len(_SHOPS))]
            name = f"{full}{tn}{shop}"
            capital = 10_000 * (1 + int(r() * 50)) if r() < 0.6 else None
        elif kind == K_COOP:
            product = _COOP_PRODUCTS[int(r() * len(_COOP_PRODUCTS))]
            name, sector = f"{full}{tn}{product}专业合作社", S_COOP
            capital = self._capital(False)
        elif kind == K_ORGAN:
            if r() < 0.6:
                name, sector = full + _BUREAUS[int(r() * len(_BUREAUS))], S_BUREAU
            else:
                town = tn[:2] + ("镇人民政府" if r() < 0.6 else "街道办事处")
                name, sector = full + town, S_TOWN
        elif kind == K_INSTITUTION:
            x = r()
            if x < 0.3:
                name, sector = f"{full}{tn[:2]}镇中心小学", S_SCHOOL
            elif x < 0.45:
                name, sector = f"{full}第{'一二三四五六七八九'[int(r() * 9)]}中学", S_SCHOOL
            elif x < 0.65:
                name, sector = f"{full}{tn[:2]}镇卫生院", S_HOSPITAL
            elif x < 0.72:
                name = f"{full}{('人民医院', '中医院', '妇幼保健院')[int(r() * 3)]}"
                sector = S_HOSPITAL
            elif x < 0.9:
                name = (
                    full
                    + (
                        "疾病预防控制中心",
                        "公共资源交易中心",
                        "农业技术推广中心",
                        "不动产登记中心",
                        "社会福利院",
                        "公证处",
                    )[int(r() * 6)]
                )
                sector = S_CENTRE
            else:
                name = full + ("图书馆", "档案馆", "文化馆", "博物馆")[int(r() * 4)]
                sector = S_LIBRARY
            capital = 1_000_000 * (1 + int(r() * 30))
        elif kind == K_SOCIAL_GROUP:
            subject = _ASSOC_SUBJECTS[int(r() * len(_ASSOC_SUBJECTS))]
            name = f"{full}{subject}{('协会', '商会', '学会')[int(r() * 3)]}"
            sector, capital = S_ASSOCIATION, 30_000 * (1 + int(r() * 4))
        elif kind == K_PRIVATE_NE:
            what = ("养老服务中心", "职业培训学校", "幼儿园", "社会工作服务社", "康复中心")[
                int(r() * 5)
            ]
            name, sector, capital = f"{full}{tn}{what}", S_PRIVATE_NE, 50_000 * (1 + int(r() * 6))
        elif kind == K_FOUNDATION:
            name = f"{self.region_city[region]}{tn}{('慈善', '教育发展')[int(r() * 2)]}基金会"
            sector, capital = S_FOUNDATION, 2_000_000 * (1 + int(r() * 5))
        else:
            name, sector = f"{full}{tn[:2]}镇{tn[1:]}村股份经济合作社", S_VILLAGE
            capital = 100_000 * (1 + int(r() * 50))
        flags, term = self._fate(kind, est)
        self._add(kind, region, est, name, self._address(region), capital, sector, flags, term)

    def _company_unit(self, with_branches: bool) -> None:
        r = self.rand
        est = self._est_day(K_COMPANY)
        region = self._region(_YEAR[est])
        industry, sector = INDUSTRIES[int(r() * len(INDUSTRIES))]
        big = r() < 0.08 or with_branches
        joint = big and r() < 0.3
        flags, term = self._fate(K_COMPANY, est)
        flags |= (F_BIG if big else 0) | (F_JOINT if joint else 0)
        name = self._company_name(region, self._trade_name(), industry, joint, big)
        head = self._add(
            K_COMPANY,
            region,
            est,
            name,
            self._address(region),
            self._capital(big),
            sector,
            flags,
            term,
        )
        if with_branches and not term and LAST_DAY - est > 200:
            self._branches(head, name, est, region, sector)

    def _branches(self, head: int, name: str, est: int, region: int, sector: int) -> None:
        r = self.rand
        pref = REGIONS[region].pref
        used = {region}
        for _ in range(1 + int(r() * 3)):
            if len(self.codes) >= self.n_target:
                return
            b_est = est + 180 + int(r() * max(1, LAST_DAY - est - 180))
            b_region = self._region(_YEAR[b_est], pref if r() < 0.7 else -1)
            if b_region in used:
                continue
            used.add(b_region)
            flags, term = self._fate(K_BRANCH, b_est)
            i = self._add(
                K_BRANCH,
                b_region,
                b_est,
                f"{name}{_place(REGIONS[b_region])}分公司",
                self._address(b_region),
                None,
                sector,
                flags,
                term,
            )
            self.branch_head[i] = head
            self.stats.branches += 1

    def _group(self, deep: bool) -> None:
        """A holding company and subsidiaries down to five levels, sharing a trade name.

        Only the holding company has no company shareholder, and cross-holdings are
        added so that no simple ownership chain gets longer than the group's depth.
        """
        r = self.rand
        room = self.n_target - len(self.codes)
        depth = 5 if deep else (1, 1, 2, 2, 2, 3, 3, 4, 5)[int(r() * 9)]
        if room < depth + 1:
            self._single()
            return
        gid = self.stats.groups
        cap = min(room, 25)
        tn = self._trade_name()
        pref = self._pick_cum(self.pref_cum)
        top_est = _YSTART[1993] + int(r() * (_YSTART[2016] - _YSTART[1993]))
        region = self._region(_YEAR[top_est], pref)
        city = PREFECTURES[pref].name
        suffix = ("控股集团有限公司", "集团有限公司", "投资控股有限公司", "集团股份有限公司")
        top_name = f"{city if r() < 0.6 else '江苏'}{tn}{suffix[int(r() * 4)]}"
        flags = F_BIG | (F_JOINT if "股份" in top_name else 0)
        top = self._add(
            K_COMPANY,
            region,
            top_est,
            top_name,
            self._address(region),
            self._capital(True),
            S_SERVICE,
            flags,
        )
        self.group_of[top] = gid
        industries = list(range(len(INDUSTRIES)))
        self.rng.shuffle(industries)
        # (entity, level, parent's share): spine first so it always fits under the cap
        members: list[tuple[int, int, int]] = [(top, 0, 100)]
        parent, level = top, 0
        pending: list[tuple[int, int]] = []  # (parent entity, level of the child)
        while level < depth:
            level += 1
            child = self._subsidiary(parent, level, depth, tn, pref, industries, gid)
            members.append((child, level, self.holdings[child][0].pct))
            if level < depth:
                pending.append((parent, level))
            parent = child
        pending.append((top, 1))
        pending.append((top, 1))
        while pending and len(members) < cap and len(self.codes) < self.n_target:
            parent, level = pending.pop(int(r() * len(pending)))
            child = self._subsidiary(parent, level, depth, tn, pref, industries, gid)
            members.append((child, level, self.holdings[child][0].pct))
            if level < depth and r() < 0.35:
                pending.append((child, level + 1))
            if r() < 0.3:
                pending.append((parent, level))
        self.stats.groups += 1
        self.stats.max_chain_depth = max(self.stats.max_chain_depth, depth)
        self._cross_holdings(members)

    def _subsidiary(
        self,
        parent: int,
        level: int,
        depth: int,
        tn: str,
        pref: int,
        industries: list[int],
        gid: int,
    ) -> int:
        r = self.rand
        p_est = self.est[parent]
        step = max(30, (LAST_DAY - 60 - p_est) // (depth - level + 2))
        est = min(p_est + 15 + int(r() * step), LAST_DAY - 1)
        region = self._region(_YEAR[est], pref if r() < 0.75 else -1)
        industry, sector = INDUSTRIES[industries[len(self.codes) % len(industries)]]
        big = level == 1 and r() < 0.5
        name = f"{PREFECTURES[REGIONS[region].pref].name}{tn}{industry}有限公司"
        child = self._add(
            K_COMPANY,
            region,
            est,
            name,
            self._address(region),
            self._capital(big),
            sector,
            F_BIG if big else 0,
        )
        pct = 100 if r() < 0.4 else 51 + int(r() * 35)
        self.holdings[child] = [_Holding(parent, pct, est)]
        self.group_of[child] = gid
        return child

    def _cross_holdings(self, members: list[tuple[int, int, int]]) -> None:
        """Stakes across and back, as real groups hold them, without deepening any chain.

        Two leaf siblings may hold each other (a 2-cycle), and the holding company may take
        a stake in a subsidiary of an earlier group; leaves and holding companies are the
        only places where that cannot make an ownership chain longer than five.
        """
        r = self.rand
        parents = {self.holdings[m][0].parent for m, _, _ in members if m in self.holdings}
        leaves = [
            (m, lvl)
            for m, lvl, pct in members
            if lvl and m not in parents and pct <= 85 and lvl <= 4
        ]
        if len(leaves) >= 2 and r() < 0.5:
            by_parent: dict[int, list[int]] = {}
            for m, _ in leaves:
                by_parent.setdefault(self.holdings[m][0].parent, []).append(m)
            pairs = [ms for _, ms in sorted(by_parent.items()) if len(ms) >= 2]
            if pairs:
                a, b = pairs[0][0], pairs[0][1]
                since = max(self.est[a], self.est[b]) + int(r() * 400)
                since = min(since, LAST_DAY)
                self.holdings[b].append(_Holding(a, 5 + int(r() * 6), since))
                self.holdings[a].append(_Holding(b, 5 + int(r() * 6), since))
                self.stats.cross_holdings += 1
        # the holding company takes a stake in a subsidiary of an earlier group
        top = members[0][0]
        if self.open_targets and r() < 0.4:
            target = self.open_targets[int(r() * len(self.open_targets))]
            used = sum(h.pct for h in self.holdings[target])
            if used <= 85 and target != top:
                since = min(max(self.est[target], self.est[top]) + int(r() * 700), LAST_DAY)
                self.holdings[target].append(_Holding(top, 5 + int(r() * 10), since))
                self.stats.cross_holdings += 1
        for m, lvl, pct in members:
            if lvl >= 1 and pct <= 80 and len(self.open_targets) < 64:
                self.open_targets.append(m)

    def _shell_cluster(self, minimum: int) -> None:
        """5-15 companies behind one address and the same two persons.

        Such clusters are what investigators look for with the path and neighbourhood
        queries, and what the joint-punishment check must follow through the persons.
        """
        r = self.rand
        room = self.n_target - len(self.codes)
        size = min(room, minimum + int(r() * (16 - minimum)))
        if size < 5:
            self._single()
            return
        cid = self.stats.shell_clusters
        self.stats.shell_clusters += 1
        base = _YSTART[2016] + int(r() * (_YSTART[2025] - _YSTART[2016]))
        region = self._region(_YEAR[base])
        address = self._address(region, room=True)
        for k in range(size):
            est = min(base + k * 20 + int(r() * 60), LAST_DAY - 1)
            industry, sector = _SHELL_INDUSTRIES[int(r() * len(_SHELL_INDUSTRIES))]
            name = self._company_name(region, self._trade_name(), industry, False, False)
            flags, term = F_SHELL, 0
            if r() < 0.35 and LAST_DAY - est > 800:
                flags |= F_REVOKED
                term = est + 730 + int(r() * (LAST_DAY - est - 730))
            capital = (1_000_000, 5_000_000, 10_000_000, 30_000_000)[int(r() * 4)]
            i = self._add(K_COMPANY, region, est, name, address, capital, sector, flags, term)
            self.shell_of[i] = cid

    def _cycle(self) -> None:
        """Three companies owning each other in a ring (A owns B owns C owns A), so that
        control-chain queries are exercised on cycles and must terminate."""
        r = self.rand
        if self.n_target - len(self.codes) < 3:
            self._single()
            return
        pref = self._pick_cum(self.pref_cum)
        trio: list[int] = []
        for _ in range(3):
            est = _YSTART[2005] + int(r() * (_YSTART[2021] - _YSTART[2005]))
            region = self._region(_YEAR[est], pref)
            industry, sector = INDUSTRIES[int(r() * len(INDUSTRIES))]
            name = self._company_name(region, self._trade_name(), industry, False, False)
            trio.append(
                self._add(
                    K_COMPANY,
                    region,
                    est,
                    name,
                    self._address(region),
                    self._capital(True),
                    sector,
                    F_BIG,
                )
            )
        for k in range(3):
            owner, owned = trio[k], trio[(k + 1) % 3]
            since = min(max(self.est[owner], self.est[owned]) + int(r() * 700), LAST_DAY)
            self.holdings.setdefault(owned, []).append(_Holding(owner, 20 + int(r() * 21), since))
        self.stats.cycles += 1

    def organisations(self) -> None:
        forced: list[Callable[[], None]] = [
            lambda: self._group(True),
            lambda: self._shell_cluster(5),
            self._cycle,
            lambda: self._company_unit(True),
        ]
        forced.reverse()
        r = self.rand
        sink = self.sink
        while len(self.codes) < self.n_target:
            if forced:
                forced.pop()()
            else:
                x = r()
                if x < 0.0045:
                    self._group(False)
                elif x < 0.0062:
                    self._shell_cluster(5)
                elif x < 0.0065:
                    self._cycle()
                else:
                    self._single()
            if len(sink.buf) >= sink.CHUNK:
                sink.flush()
        sink.flush()

    # ============================================================= phase 2: roles

    def _new_person(self, since: int, pref: int) -> int:
        r = self.rand
        sy = _YEAR[since]
        hi = max(1945, min(2004, sy - 22))
        lo = max(1945, min(hi, sy - 62))
        birth = _YSTART[lo] + int(r() * (_YSTART[hi + 1] - _YSTART[lo]))
        by = _YEAR[birth]
        home = pref  # where the person holds roles, whatever the birthplace
        if r() >= 0.8:
            pref = self._pick_cum(self.pref_cum)
        region = ""
        if by < 1990 and r() < 0.25:
            old = [c for c, last in self.historic[pref] if last >= by + 16]
            if old:
                region = old[int(r() * len(old))]
        if not region:
            codes, cum = self.person_regions[pref]
            region = codes[self._pick_cum(cum)]
        male = r() < 0.62
        code = self._person_code(region, birth, male)
        given = _GIVEN[(male, by < 1975)]
        surname = self.surnames[self._pick_cum(self.surname_cum)]
        g1 = given[int(r() * len(given))]
        name = surname + g1 if r() < 0.25 else surname + g1 + given[int(r() * len(given))]
        self.psink.buf.append(f'{{"type":"person","code":"{code}","name":"{name}"}}\n')
        self.pcodes.append(code)
        self.pbirth.append(by)
        j = len(self.pcodes) - 1
        self.pref_people[home].append(j)
        return j

    def _pick(self, since: int, pref: int, taken: list[int]) -> int:
        """A person of age on ``since``: often someone already holding roles nearby.

        Reuse is what links organisations through people (and keeps the file at about
        1.3-1.5 persons per organisation); new people are created here, never earlier, so
        each is of age when the role starts.
        """
        r = self.rand
        people = self.pref_people[pref]
        n = len(people)
        if n > 20 and r() < self.reuse:
            limit = _YEAR[since] - 21
            for _ in range(3):
                j = people[int(r() * n)]
                if self.pbirth[j] <= limit and j not in taken:
                    taken.append(j)
                    return j
        j = self._new_person(since, pref)
        taken.append(j)
        return j

    def _role(
        self,
        entity: str,
        holder: str,
        role: str,
        position: str,
        since: int,
        until: int,
        share: int = -1,
    ) -> None:
        pos = f',"position":"{position}"' if position else ""
        ratio = f',"share_ratio":{_SHARE[share]}' if share >= 0 else ""
        end = f',"until":"{_ISO[until]}"' if until else ""
        self.rsink.buf.append(
            f'{{"type":"role","entity":"{entity}","holder":"{holder}","role":"{role}"'
            f'{pos}{ratio},"since":"{_ISO[since]}"{end}}}\n'
        )

    def _terms(self, since: int, last: int, end: int, p_change: float) -> list[tuple[int, int]]:
        """Successive, non-overlapping terms of the head of an organisation.

        The check follows whoever held the role on the act date (CONTRACT.md section 4,
        rule 2), so a share of organisations must have changed heads.
        """
        r = self.rand
        span = last - since
        if span > 760 and r() < p_change:
            c = since + 365 + int(r() * (span - 395))
            self.stats.head_changes += 1
            if r() < 0.2 and last - c > 760:
                c2 = c + 365 + int(r() * (last - c - 395))
                return [(since, c - 1), (c, c2 - 1), (c2, end)]
            return [(since, c - 1), (c, end)]
        return [(since, end)]

    def _split(self, total: int, parts: int) -> list[int]:
        """``total`` per cent in ``parts`` positive whole shares, largest first."""
        parts = max(1, min(parts, total))
        cuts = sorted(self.rng.sample(range(1, total), parts - 1)) if parts > 1 else []
        shares = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        shares.sort(reverse=True)
        return shares

    def roles(self) -> None:
        kind, flags, codes = self.kind, self.flags, self.codes
        rsink, psink = self.rsink, self.psink
        for i in range(len(codes)):
            k = kind[i]
            if k == K_COMPANY:
                if flags[i] & F_SHELL:
                    self._shell_roles(i)
                else:
                    self._company_roles(i)
            elif k == K_BRANCH:
                self._branch_roles(i)
            else:
                self._other_roles(i, k)
            if len(rsink.buf) >= rsink.CHUNK:
                rsink.flush()
            if len(psink.buf) >= psink.CHUNK:
                psink.flush()
        self.n_role_persons = len(self.pcodes)
        # a few people known only for their own records (volunteers, debtors)
        for _ in range(max(1, len(self.pcodes) // 50)):
            since = _YSTART[2015] + int(self.rand() * (LAST_DAY - _YSTART[2015]))
            self._new_person(since, self._pick_cum(self.pref_cum))
        rsink.flush()
        psink.flush()

    def _span(self, i: int) -> tuple[int, int, int]:
        """(first day, last day, until for roles: 0 while the organisation exists)."""
        est, term = self.est[i], self.term[i]
        end = term if self.flags[i] & F_CANCELLED else 0
        return est, (term or LAST_DAY), end

    def _company_roles(self, i: int) -> None:
        r = self.rand
        code = self.codes[i]
        est, last, end = self._span(i)
        pref = REGIONS[self.region[i]].pref
        f = self.flags[i]
        big = bool(f & F_BIG)
        taken: list[int] = []
        gid = self.group_of.get(i, -1)
        group = self.group_people.get(gid) if gid >= 0 else None
        if gid >= 0 and group is None:
            group = [self._pick(est, pref, []) for _ in range(2 + int(r() * 3))]
            self.group_people[gid] = group

        def person(since: int) -> int:
            if group is not None and r() < 0.5:
                j = group[int(r() * len(group))]
                if j not in taken and self.pbirth[j] <= _YEAR[since] - 21:
                    taken.append(j)
                    return j
            return self._pick(since, pref, taken)

        terms = self._terms(est, last, end, 0.34)
        if big:
            lr_title = "董事长"
        else:
            lr_title = ("执行董事兼总经理", "执行董事", "经理", "执行董事兼经理")[int(r() * 4)]
        lrs: list[int] = []
        for since, until in terms:
            p = person(since)
            lrs.append(p)
            self._role(code, self.pcodes[p], "legal_representative", lr_title, since, until)
            if big:
                self._role(code, self.pcodes[p], "director", "董事长", since, until)
        officer = -1
        if big:
            joint = bool(f & F_JOINT)
            for n in range(2 + int(r() * 2) + (2 if joint else 0)):
                p = person(est)
                self._role(
                    code, self.pcodes[p], "director", "副董事长" if n == 0 else "董事", est, end
                )
            sups = 3 if joint else 1
            for n in range(sups):
                p = person(est)
                self._role(
                    code,
                    self.pcodes[p],
                    "supervisor",
                    ("监事会主席" if n == 0 else "监事") if sups > 1 else "监事",
                    est,
                    end,
                )
            officer = person(est)
            self._role(code, self.pcodes[officer], "manager", "总经理", est, end)
            if r() < 0.6:
                self._role(code, self.pcodes[person(est)], "manager", "财务负责人", est, end)
            if r() < 0.3:
                self._role(code, self.pcodes[person(est)], "manager", "副总经理", est, end)
            if joint:
                self._role(code, self.pcodes[person(est)], "manager", "董事会秘书", est, end)
        sup = -1
        if not big:
            if lr_title == "执行董事" and r() < 0.6:
                officer = person(est)
                self._role(code, self.pcodes[officer], "manager", "经理", est, end)
            if r() < 0.85:
                sup = person(est)
                self._role(code, self.pcodes[sup], "supervisor", "监事", est, end)
                if officer < 0:
                    officer = sup
        self.officer[i] = officer
        # shareholders: companies from the structures, persons for the rest
        held = self.holdings.get(i, ())
        for h in held:
            self._role(code, self.codes[h.parent], "shareholder", "", h.since, end, h.pct)
        total = (55 + int(r() * 36)) if f & F_JOINT else 100
        rest = total - sum(h.pct for h in held)
        if rest <= 0:
            return
        holders: list[int] = []
        if r() < 0.75 or not held:
            holders.append(lrs[0])
        if big:
            wanted = 2 + int(r() * 4)
        else:  # mostly one or two founders; the supervisor is often one of the family
            x = r()
            wanted = 1 if x < 0.55 else 2 if x < 0.9 else 3
            if wanted > len(holders) and sup >= 0 and r() < 0.5:
                holders.append(sup)
        if held:
            wanted = min(wanted, 2)
        while len(holders) < wanted:
            holders.append(person(est))
        shares = self._split(rest, len(holders))
        transfer = len(lrs) > 1 and holders[0] == lrs[0] and r() < 0.5
        for n, (p, pct) in enumerate(zip(holders, shares, strict=False)):
            if n == 0 and transfer:
                change = terms[1][0]
                self._role(code, self.pcodes[p], "shareholder", "", est, change - 1, pct)
                self._role(code, self.pcodes[lrs[1]], "shareholder", "", change, end, pct)
            else:
                self._role(code, self.pcodes[p], "shareholder", "", est, end, pct)

    def _shell_roles(self, i: int) -> None:
        r = self.rand
        code = self.codes[i]
        est, _last, end = self._span(i)
        cid = self.shell_of[i]
        people = self.shell_people.get(cid)
        if people is None:
            pref = REGIONS[self.region[i]].pref
            # the cluster's companies are registered in order, so ``est`` is the earliest
            # one ``taken`` list: the same person twice made a role that repeats (same
            # holder, company, role and day) with two share ratios
            taken: list[int] = []
            people = (self._pick(est, pref, taken), self._pick(est, pref, taken))
            self.shell_people[cid] = people
        boss, partner = self.pcodes[people[0]], self.pcodes[people[1]]
        self._role(code, boss, "legal_representative", "执行董事兼总经理", est, end)
        self._role(code, partner, "supervisor", "监事", est, end)
        self.officer[i] = people[1]
        if r() < 0.5:
            self._role(code, boss, "shareholder", "", est, end, 100)
        else:
            pct = 60 + int(r() * 31)
            self._role(code, boss, "shareholder", "", est, end, pct)
            self._role(code, partner, "shareholder", "", est, end, 100 - pct)

    def _branch_roles(self, i: int) -> None:
        code = self.codes[i]
        est, _last, end = self._span(i)
        self._role(self.codes[self.branch_head[i]], code, "branch", "", est, end)
        p = self._pick(est, REGIONS[self.region[i]].pref, [])
        self._role(code, self.pcodes[p], "principal", "负责人", est, end)

    def _other_roles(self, i: int, k: int) -> None:
        """Heads (principal; legal representative of a co-op) and a few officers."""
        r = self.rand
        code = self.codes[i]
        est, last, end = self._span(i)
        pref = REGIONS[self.region[i]].pref
        head, deputy = _HEADS[self.sector[i]]
        since = est
        if k in _RECENT_HEADS_ONLY and est < D2008:
            # only heads of the last years are on file for old public bodies
            lo, hi = D2008, min(last, D2025)
            since = lo + int(r() * (hi - lo + 1)) if hi > lo else est
        p_change = {K_INDIVIDUAL: 0.15, K_COOP: 0.25, K_ORGAN: 0.45, K_INSTITUTION: 0.45}.get(
            k, 0.3
        )
        role = "legal_representative" if k == K_COOP else "principal"
        taken: list[int] = []
        for a, b in self._terms(since, last, end, p_change):
            self._role(code, self.pcodes[self._pick(a, pref, taken)], role, head, a, b)
        if k == K_INDIVIDUAL:
            return
        officer = -1
        if k in (K_ORGAN, K_INSTITUTION):
            if r() < 0.55:
                officer = self._pick(since, pref, taken)
                self._role(code, self.pcodes[officer], "manager", deputy, since, end)
        elif k == K_OTHER:
            if r() < 0.5:
                officer = self._pick(since, pref, taken)
                self._role(code, self.pcodes[officer], "director", deputy, since, end)
        else:  # co-ops and social organisations
            n_dir = {K_COOP: 1 + int(r() * 2), K_FOUNDATION: 2}.get(k, 1 + int(r() * 2))
            for _ in range(n_dir):
                officer = self._pick(since, pref, taken)
                self._role(code, self.pcodes[officer], "director", deputy, since, end)
            if k in (K_COOP, K_FOUNDATION) or r() < 0.5:
                p = self._pick(since, pref, taken)
                self._role(code, self.pcodes[p], "supervisor", "监事", since, end)
            if k == K_SOCIAL_GROUP and r() < 0.5:
                p = self._pick(since, pref, taken)
                self._role(code, self.pcodes[p], "manager", "秘书长", since, end)
        self.officer[i] = officer

    # =========================================================== phase 3: records

    def _doc(self, doc: _Doc, region: int, year: int) -> tuple[str, str, str]:
        """(title, authority, document number) of ``doc`` issued in ``region``."""
        doc_id = self.doc_ids.get(doc)
        if doc_id is None:
            doc_id = self.doc_ids[doc] = len(self.doc_ids)
        key = (doc_id, region)
        got = self.doc_cache.get(key)
        if got is None:
            got = self._resolve(doc, region)
            self.doc_cache[key] = got
        title, authority, head, mid = got
        serial_key = (head + mid, year)
        n = self.doc_serial.get(serial_key)
        n = (1 + int(self.rand() * 40)) if n is None else n + 1 + int(self.rand() * 3)
        self.doc_serial[serial_key] = n
        if doc.auth == "sci_p":
            return title, authority, f"GR{year}32{n:04d}"
        if doc.auth.startswith("court"):
            return title, authority, f"（{year}）{mid}{n}号"
        return title, authority, f"{head}〔{year}〕{n}号"

    def _resolve(self, doc: _Doc, region: int) -> tuple[str, str, str, str]:
        reg = REGIONS[region]
        pref = PREFECTURES[reg.pref]
        auth = doc.auth
        if auth.endswith("_d") and not reg.name:
            auth = auth[:-2] + "_c"
        name_t, short_t = _AUTHORITIES[auth]
        full = self.region_full[region]
        city = pref.name + "市"
        d0 = reg.name[0] if reg.name else ""
        authority = name_t.format(d=full, c=city)
        short = short_t.format(a=pref.abbr, d0=d0)
        title = doc.title.replace("{c}", city)
        if auth == "court_d":
            return title, authority, "", f"苏{reg.code[2:6]}{doc.code}"
        if auth == "court_c":
            return title, authority, "", f"苏{reg.code[2:4]}{doc.code}"
        return title, authority, short + doc.code, ""

    def _disclosure(self, person: bool = False) -> str:
        if person:
            return _DISCLOSURE_PERSON[self._pick_cum(_DISCLOSURE_PERSON_CUM)]
        return _DISCLOSURE_ORG[self._pick_cum(_DISCLOSURE_ORG_CUM)]

    def _record(
        self,
        subject: str,
        category: str,
        doc: _Doc,
        region: int,
        decided: int,
        *,
        severity: str = "",
        list_kind: str = "",
        act: int = 0,
        valid_until: int = 0,
        disclosure: str = "public",
        responsible: Sequence[str] = (),
        title: str = "",
    ) -> None:
        self.record_serial += 1
        t, authority, number = self._doc(doc, region, _YEAR[decided])
        parts = [
            f'{{"type":"record","id":"gen{self.seed}-{self.record_serial:08d}",'
            f'"subject":"{subject}","category":"{category}","kind":"{doc.kind}"'
        ]
        if severity:
            parts.append(f',"severity":"{severity}"')
        if list_kind:
            parts.append(f',"list":"{list_kind}"')
        parts.append(
            f',"title":"{title or t}","document_no":"{number}",'
            f'"authority":"{authority}","decided_on":"{_ISO[decided]}"'
        )
        if act:
            parts.append(f',"act_ended_on":"{_ISO[act]}"')
        if valid_until:
            parts.append(f',"valid_until":"{_ISO[valid_until]}"')
        parts.append(f',"disclosure":"{disclosure}"')
        if responsible:
            parts.append(',"responsible":["' + '","'.join(responsible) + '"]')
        parts.append("}\n")
        self.sink.buf.append("".join(parts))

    def _when(self, lo: int, hi: int, recent: bool = False) -> int:
        """A day in [lo, hi]; ``recent`` leans towards the end, as enforcement has grown."""
        x = self.rand()
        if recent:
            x = max(x, self.rand())
        return lo + int(x * (hi - lo + 1))

    def records(self) -> None:
        sink = self.sink
        for i in range(len(self.codes)):
            self._org_records(i)
            if len(sink.buf) >= sink.CHUNK:
                sink.flush()
        self._person_records()
        sink.flush()

    def _org_records(self, i: int) -> None:
        r = self.rand
        k, f, sector = self.kind[i], self.flags[i], self.sector[i]
        est, term = self.est[i], self.term[i]
        lo = max(est + 30, D2015)
        hi = (term - 1) if term else LAST_DAY
        if lo > hi:
            return
        code, region = self.codes[i], self.region[i]
        black = red = False
        # rates: (licence, second licence, general negative, serious, positive, other)
        if f & F_SHELL:
            rates = (0.0, 0.0, 0.8, 0.3, 0.0, 0.05)
        elif k == K_COMPANY:
            rates = (0.55, 0.15, 0.11, 0.045, 0.07, 0.15)
        elif k == K_BRANCH:
            rates = (0.35, 0.0, 0.06, 0.0, 0.0, 0.05)
        elif k == K_INDIVIDUAL:
            rates = (0.35, 0.0, 0.09, 0.01, 0.005, 0.04)
        elif k == K_COOP:
            rates = (0.2, 0.0, 0.04, 0.005, 0.15, 0.1)
        elif k == K_ORGAN:
            rates = (0.0, 0.0, 0.0, 0.0, 0.25, 0.15)
        elif k == K_INSTITUTION:
            rates = (0.9, 0.3, 0.08, 0.005, 0.2, 0.05)
        elif k == K_OTHER:
            rates = (0.4, 0.0, 0.0, 0.0, 0.05, 0.2)
        else:
            rates = (0.9, 0.0, 0.1, 0.03, 0.3, 0.05)
        licences = LICENCES.get(sector, ())
        if licences and r() < rates[0]:
            for n in range(2 if (len(licences) > 1 and r() < rates[1]) else 1):
                doc = licences[n]
                if est >= D2015 and r() < 0.6:  # granted soon after registration
                    day = min(est + 10 + int(r() * 120), hi)
                else:
                    day = self._when(lo, hi)
                self._record(
                    code,
                    "basic",
                    doc,
                    region,
                    day,
                    valid_until=_plus_months(day, doc.months) if doc.months else 0,
                    disclosure=self._disclosure(),
                )
        x = r()
        if x < rates[2]:
            general = (
                SHELL_GENERAL if f & F_SHELL else GENERAL_COMMON + GENERAL_BY_SECTOR.get(sector, ())
            )
            for _ in range(2 if r() < 0.2 else 1):
                doc = general[int(r() * len(general))]
                day = self._when(lo, hi, recent=True)
                act = max(est, day - 15 - int(r() * 350))
                self._record(
                    code,
                    "negative",
                    doc,
                    region,
                    day,
                    severity="general",
                    act=act,
                    disclosure=self._disclosure(),
                )
        if r() < rates[3]:
            black = self._serious(i, code, region, lo, hi)
        if r() < rates[4]:
            red = self._positive(i, code, region, lo, hi)
        if r() < rates[5]:
            # pledges and mortgages of shares are for companies only
            others = OTHER if k in (K_COMPANY, K_BRANCH) else OTHER[:3]
            doc = others[int(r() * len(others))]
            self._record(
                code, "other", doc, region, self._when(lo, hi), disclosure=self._disclosure()
            )
        if black:
            self.stats.black_listed += 1
        if red:
            self.stats.red_listed += 1

    def _serious(self, i: int, code: str, region: int, lo: int, hi: int) -> bool:
        r = self.rand
        k, f = self.kind[i], self.flags[i]
        if f & F_SHELL:
            doc, list_kind = SHELL_SERIOUS[int(r() * len(SHELL_SERIOUS))]
        elif k in (K_SOCIAL_GROUP, K_PRIVATE_NE, K_FOUNDATION):
            doc, list_kind = SERIOUS_SOCIAL
        elif self.serious_serial < len(SERIOUS):
            doc, list_kind = SERIOUS[self.serious_serial]
        else:
            doc, list_kind = SERIOUS[int(r() * len(SERIOUS))]
        self.serious_serial += 1
        self.stats.serious_records += 1
        day = self._when(lo, hi, recent=True)
        act = max(self.est[i], day - 30 - int(r() * 330))
        valid_until = _plus_months(day, doc.months) if doc.months else 0
        if not valid_until and list_kind and r() < 0.2:
            valid_until = _plus_months(day, 36)
        responsible: list[str] = []
        officer = self.officer[i]
        if officer >= 0 and (f & F_SHELL or r() < 0.5):
            responsible.append(self.pcodes[officer])
        self._record(
            code,
            "negative",
            doc,
            region,
            day,
            severity="serious",
            list_kind=list_kind,
            act=act,
            valid_until=valid_until,
            disclosure="public" if list_kind else self._disclosure(),
            responsible=responsible,
        )
        return list_kind == "black"

    def _positive(self, i: int, code: str, region: int, lo: int, hi: int) -> bool:
        r = self.rand
        k = self.kind[i]
        if k == K_COOP:
            doc, list_kind = POSITIVE_COOP
            list_kind = list_kind if r() < 0.5 else ""
        elif k in (K_SOCIAL_GROUP, K_PRIVATE_NE, K_FOUNDATION):
            doc, list_kind = POSITIVE_SOCIAL[int(r() * 2)]
        elif k in (K_ORGAN, K_INSTITUTION, K_OTHER):
            doc, list_kind = POSITIVE_PUBLIC
        else:
            doc, list_kind = POSITIVE[int(r() * len(POSITIVE))]
        day = self._when(max(lo, D2019), hi) if hi >= D2019 else self._when(lo, hi)
        title = ""
        if doc.kind == "a_grade_taxpayer":
            title = f"{doc.title}（{_YEAR[day] - 1}年度）"
        valid_until = _plus_months(day, doc.months) if doc.months else 0
        self._record(
            code,
            "positive",
            doc,
            region,
            day,
            list_kind=list_kind,
            valid_until=valid_until,
            title=title,
        )
        return list_kind == "red"

    def _person_records(self) -> None:
        """Commendations, volunteering, donations and a few debtors and bans of persons."""
        r = self.rand
        sink = self.sink
        n = len(self.pcodes)
        extra_from = self.n_role_persons
        city_region = {r.code[:4]: i for i, r in enumerate(REGIONS) if not r.name}
        for j in range(n):
            x = r()
            if j < extra_from and x >= 0.045:
                continue
            if j >= extra_from:
                x = x * 0.045  # every record-only person has one
            code = self.pcodes[j]
            region = city_region[code[:4]]
            lo = max(_YSTART[self.pbirth[j] + 19], D2015)
            if x < 0.02:
                doc, list_kind = PERSON_POSITIVE[0]
                title = doc.title.replace("{h}", str(_HOURS[int(r() * len(_HOURS))]))
                self._record(
                    code,
                    "positive",
                    doc,
                    region,
                    self._when(lo, LAST_DAY),
                    title=title,
                    disclosure=self._disclosure(True),
                )
            elif x < 0.03:
                doc, list_kind = PERSON_POSITIVE[1]
                title = doc.title.replace("{h}", str(_DONATIONS[int(r() * len(_DONATIONS))]))
                self._record(
                    code,
                    "positive",
                    doc,
                    region,
                    self._when(lo, LAST_DAY),
                    title=title,
                    disclosure=self._disclosure(True),
                )
            elif x < 0.033:
                doc, list_kind = PERSON_POSITIVE[2 + int(r() * 2)]
                self._record(
                    code,
                    "positive",
                    doc,
                    region,
                    self._when(lo, LAST_DAY),
                    list_kind=list_kind,
                    disclosure="public",
                )
            elif x < 0.038:
                day = self._when(lo, LAST_DAY, recent=True)
                self._record(
                    code,
                    "negative",
                    PERSON_GENERAL,
                    region,
                    day,
                    severity="general",
                    act=day - 30 - int(r() * 200),  # lo is 19th birthday or later
                    disclosure=self._disclosure(True),
                )
            elif x < 0.042:
                day = self._when(lo, LAST_DAY, recent=True)
                self._record(
                    code,
                    "negative",
                    PERSON_ENFORCEMENT,
                    region,
                    day,
                    severity="serious",
                    list_kind="black",
                    act=day - 60 - int(r() * 300),
                    disclosure="public",
                )
                self.stats.black_listed_persons += 1
            elif x < 0.0425:
                doc = PERSON_BANS[int(r() * len(PERSON_BANS))]
                day = self._when(lo, LAST_DAY, recent=True)
                self._record(
                    code,
                    "negative",
                    doc,
                    region,
                    day,
                    severity="serious",
                    act=day - 60 - int(r() * 300),
                    valid_until=_plus_months(day, doc.months) if doc.months else 0,
                    disclosure=("shared", "public")[int(r() * 2)],
                )
            else:
                self._record(
                    code,
                    "other",
                    PERSON_JUDGMENT,
                    region,
                    self._when(lo, LAST_DAY),
                    disclosure=self._disclosure(True),
                )
            if len(sink.buf) >= sink.CHUNK:
                sink.flush()

    # ================================================================== driver

    def run(self, out: Path, progress: Progress | None) -> GenerateStats:
        """Write to a temporary file beside ``out``, renamed into place when complete.

        Written in place, an interrupted run (Ctrl-C, SIGTERM, a full disk, "File too
        large") left a prefix of valid lines that loaded without complaint as if it were
        the data set. Now ``out`` is the whole file or what it was before, and the
        temporary file is removed on any failure (not on SIGKILL: it is hidden,
        ``.NAME.*.part``). A symlink keeps pointing at the file it names.
        """
        started = time.perf_counter()
        if out.is_dir():  # found now, not by the rename after all the work
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(out))
        target = out.resolve() if out.is_symlink() else out
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        # 0o666 less the umask, as the file written in place had, not mkstemp's 0o600.
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with (
                open(fd, "wb", buffering=1 << 22) as fh,
                tempfile.TemporaryFile(dir=target.parent, prefix=".roles-") as spool,
            ):
                self.sink = _Sink(fh, progress)
                self.organisations()
                self.psink = self.sink
                self.rsink = _Sink(spool, progress)
                self.roles()
                spool.seek(0)
                shutil.copyfileobj(spool, fh, 1 << 22)
                self.records()
            os.replace(part, target)
        except BaseException:
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
            raise
        s = self.stats
        s.entities = len(self.codes)
        s.persons = len(self.pcodes)
        s.roles = self.rsink.rows
        s.records = self.record_serial
        s.rows = s.entities + s.persons + s.roles + s.records
        s.seconds = round(time.perf_counter() - started, 3)
        return s


def generate(
    entities: int, seed: int, out: Path, progress: Progress | None = None
) -> GenerateStats:
    """Write a synthetic province of ``entities`` organisations to ``out`` (JSON Lines).

    Same ``entities`` and ``seed``, same bytes. ``progress(n)`` is told of every chunk
    of ``n`` rows written. ``out`` appears (or is replaced) only once it is complete: a
    failure or interruption leaves it as it was.
    """
    if entities < 1:
        raise ValueError("entities must be at least 1")
    return _Generator(entities, seed).run(out, progress)

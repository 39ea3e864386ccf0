"""Deterministic builder of the bundled demo data set, ``loaders/data/demo.jsonl``.

``python -m loaders.demo_builder`` rewrites the file; ``build_rows()`` returns its rows.
The file is committed and a test checks that it is byte for byte what this module
builds, so change the data here, never in the file.

The data set is a small Nantong: about 120 organisations of every ``org_type`` and about
200 persons, with dated roles and credit records of every category, in the interchange
format of CONTRACT.md section 2 (one JSON object a line, entities, persons, roles, then
records). Twelve named scenarios with fixed codes (``SUBJECTS``, ``RECORD_IDS``) show
every rule of the joint-punishment check (CONTRACT.md section 4) as of 2026-11-21; they
are documented in ``loaders/data/DEMO.md``. The rest is a seeded filler population that
never touches a scenario subject, so the scenarios' outcomes stay exactly as documented.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stdnum.cn import ric, uscc

from schema.codes import classify

Row = dict[str, Any]

SEED = 20261121
DEMO_PATH = Path(__file__).parent / "data" / "demo.jsonl"
#: The date the scenarios are documented for (loaders/data/DEMO.md).
AS_OF = dt.date(2026, 11, 21)
#: No record in the demo is decided after this day.
LAST_DECISION = dt.date(2026, 11, 20)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


# --------------------------------------------------------------------------- codes


def org_code_check(body: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    total = sum(
        w * (int(c) if c.isdigit() else ord(c) - 55)
        for w, c in zip(_ORG_CODE_WEIGHTS, body, strict=True)
    )
    r = 11 - total % 11
    return "X" if r == 10 else "0" if r == 11 else str(r)


def make_uscc(prefix: str, region: str, org_body: str) -> str:
    """A USCC: authority and type (``prefix``), region, organisation code, check char."""
    if any(c not in USCC_ALPHABET for c in org_body) or len(org_body) != 8:
        raise ValueError(f"bad organisation code body {org_body!r}")
    body = prefix + region + org_body + org_code_check(org_body)
    return body + uscc.calc_check_digit(body + "0")


def make_person_id(region: str, birth: dt.date, seq: int) -> str:
    """A resident ID number; ``seq`` (0-999) ends in the sex digit (odd: male)."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


# ----------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Fixed:
    """A scenario subject: fixed code and name, referred to by tests and DEMO.md."""

    code: str
    name: str


SUBJECTS: dict[str, Fixed] = {
    # 1, 2, 12: change of legal representative; the barred person elsewhere; chain, branch
    "A": Fixed("91320602MA1MQ7HD42", "南通宏达建设工程有限公司"),
    "A_BRANCH": Fixed("91320623MA1YBR7E26", "南通宏达建设工程有限公司如东分公司"),
    "B": Fixed("91320612MA1X2RFQ1L", "南通瑞丰纺织品有限公司"),
    "X1": Fixed("91320600251287907L", "南通宏达控股集团有限公司"),
    "X2": Fixed("91320602MA1MX2TY7J", "南通宏达投资发展有限公司"),
    "X3": Fixed("91320602MA1N7HDQXB", "南通宏达实业有限公司"),
    # 3: one person responsible in two companies
    "C": Fixed("91320682MA1P3HXC2M", "如皋市恒信化工有限公司"),
    "D": Fixed("91320602MA1T8JCW95", "南通金诚物流有限公司"),
    # 4: principal of a social organisation
    "E": Fixed("51320600MJ5602T8X9", "南通市建筑装饰行业协会"),
    # 5, 6: red list, red list suppressed by a black list
    "F": Fixed("91320612MA1WHT5F4L", "南通华泰纺织科技有限公司"),
    "G": Fixed("91320681MA1R6YWC0M", "启东永盛船舶配套有限公司"),
    # 7, 8, 9, 10: general penalty; expired under Nantong; own valid_until; withdrawn
    "H": Fixed("91320602MA1Y3DTM6K", "南通市崇川区鼎盛商贸有限公司"),
    "I": Fixed("91320684746732507B", "海门市汇通建筑安装工程有限公司"),
    "J": Fixed("91320682MA1K9RHF0C", "如皋市润和食品有限公司"),
    "K": Fixed("91320623MA1U5TCH89", "如东天成环保科技有限公司"),
    # 11: a person with a record of their own, manager of L
    "L": Fixed("91320611MA1Q2JYD86", "南通嘉源电子科技有限公司"),
    # persons
    "P1": Fixed("320602196805120358", "顾建国"),
    "P2": Fixed("320682198609230710", "陆文杰"),
    "P3": Fixed("320681197211021133", "施卫东"),
    "P4": Fixed("320623197503080422", "季海燕"),
    "P5": Fixed("32068419800719257X", "缪志强"),
    "A_SUP": Fixed("32060219790214126X", "陈红"),
    "X1_LR": Fixed("320602195508170194", "顾振华"),
    "X2_LR": Fixed("320602199003060289", "顾晓雯"),
    "BR_PRIN": Fixed("320623197006250312", "张卫国"),
    "B_SH": Fixed("320612198304110647", "钱丽娟"),
    "C_LR": Fixed("320682196611290158", "朱国平"),
    "C_DIR": Fixed("320682197709050536", "孙海涛"),
    "C_SUP": Fixed("320682198501170867", "黄敏"),
    "D_LR": Fixed("320611197810200484", "徐丽"),
    "F_LR": Fixed("320612197102220755", "杨志刚"),
    "G_LR": Fixed("320685196409090135", "吴建平"),
    "H_LR": Fixed("320602198807160248", "周敏"),
    "I_LR": Fixed("320612196904300971", "沈志明"),
    "J_LR": Fixed("320682197612010626", "曹雪梅"),
    "K_LR": Fixed("320611198208180390", "范明"),
    "L_LR": Fixed("320602199105270463", "刘佳"),
    "X3_SH": Fixed("320623198101040713", "季锋"),
}

#: Scenario records, by scenario key.
RECORD_IDS: dict[str, str] = {
    "A": "demo-s01-a-wage-arrears",
    "C": "demo-s03-c-emission",
    "D": "demo-s03-d-false-materials",
    "E": "demo-s04-e-association",
    "F": "demo-s05-f-a-grade",
    "G_RED": "demo-s06-g-contract-red",
    "G_BLACK": "demo-s06-g-tax-black",
    "H": "demo-s07-h-penalty",
    "I": "demo-s08-i-accident",
    "J": "demo-s09-j-food",
    "K": "demo-s10-k-withdrawn",
    "P5": "demo-s11-p5-enforcement",
}


def _c(key: str) -> str:
    return SUBJECTS[key].code


# ------------------------------------------------------------------ reference data


@dataclass(frozen=True)
class District:
    code: str
    name_prefix: str  # in company names
    address: str  # address prefix
    streets: tuple[str, ...]
    amr: str  # market regulation authority
    amr_short: str  # its document-number prefix
    court: str
    first_year: int  # the code exists from this year
    last_year: int  # and is given to new registrations until this year


DISTRICTS: tuple[District, ...] = (
    District(
        "320600",
        "南通",
        "江苏省南通市崇川区",
        ("崇川路", "世纪大道", "工农路", "人民中路"),
        "南通市市场监督管理局",
        "通市监",
        "南通市中级人民法院",
        1995,
        2026,
    ),
    District(
        "320602",
        "南通市崇川区",
        "江苏省南通市崇川区",
        ("工农路", "人民中路", "青年中路", "钟秀中路", "濠河路", "跃龙路", "虹桥路"),
        "南通市崇川区市场监督管理局",
        "崇市监",
        "南通市崇川区人民法院",
        1995,
        2026,
    ),
    District(
        "320611",
        "南通市港闸区",
        "江苏省南通市港闸区",
        ("港闸路", "永和路", "唐闸路", "长泰路", "深南路"),
        "南通市崇川区市场监督管理局",
        "崇市监",
        "南通市崇川区人民法院",
        1995,
        2019,
    ),
    District(
        "320612",
        "南通市通州区",
        "江苏省南通市通州区",
        ("新世纪大道", "金乐路", "碧华路", "建设路", "金霞路"),
        "南通市通州区市场监督管理局",
        "通州市监",
        "南通市通州区人民法院",
        2010,
        2026,
    ),
    District(
        "320623",
        "如东县",
        "江苏省南通市如东县掘港街道",
        ("青园北路", "人民路", "江海东路", "珠江路", "泰山路"),
        "如东县市场监督管理局",
        "东市监",
        "如东县人民法院",
        1995,
        2026,
    ),
    District(
        "320681",
        "启东市",
        "江苏省南通市启东市汇龙镇",
        ("人民中路", "紫薇中路", "和平北路", "公园北路", "江海中路"),
        "启东市市场监督管理局",
        "启市监",
        "启东市人民法院",
        1995,
        2026,
    ),
    District(
        "320682",
        "如皋市",
        "江苏省南通市如皋市如城街道",
        ("海阳南路", "福寿路", "宁海路", "中山路", "益寿路"),
        "如皋市市场监督管理局",
        "皋市监",
        "如皋市人民法院",
        1995,
        2026,
    ),
    District(
        "320684",
        "海门市",
        "江苏省南通市海门区海门街道",
        ("北京中路", "长江南路", "解放中路", "人民西路", "上海路"),
        "南通市海门区市场监督管理局",
        "海市监",
        "南通市海门区人民法院",
        1995,
        2019,
    ),
    District(
        "320685",
        "海安市",
        "江苏省南通市海安市",
        ("长江中路", "宁海南路", "中坝南路", "黄海大道", "开发大道"),
        "海安市市场监督管理局",
        "安市监",
        "海安市人民法院",
        2018,
        2026,
    ),
)
_DISTRICT = {d.code: d for d in DISTRICTS}
#: Where a filler enterprise is registered (city level and central districts weigh more).
_ENTERPRISE_REGIONS = (
    ("320600", 3),
    ("320602", 5),
    ("320611", 2),
    ("320612", 3),
    ("320623", 2),
    ("320681", 2),
    ("320682", 3),
    ("320684", 2),
    ("320685", 2),
)
#: Resident ID regions. Persons born before the code existed (320612 from 2009, 320685
#: from 2018, 320611 from 1983) carry a later code; the project accepts them.
PERSON_REGIONS = ("320602", "320611", "320612", "320623", "320681", "320682", "320684", "320685")

SURNAMES = (
    "张",
    "王",
    "李",
    "陈",
    "刘",
    "杨",
    "黄",
    "吴",
    "周",
    "徐",
    "孙",
    "朱",
    "顾",
    "陆",
    "施",
    "曹",
    "季",
    "缪",
    "钱",
    "沈",
    "范",
    "袁",
    "冯",
    "姜",
    "汤",
    "葛",
    "邱",
    "仇",
    "瞿",
    "蔡",
    "丁",
    "高",
    "何",
    "胡",
    "宋",
    "郁",
    "成",
    "严",
    "保",
    "石",
)
#: Given names by sex and generation (born before 1975 / from 1975).
GIVEN_NAMES: dict[tuple[bool, bool], tuple[str, ...]] = {
    (True, True): (
        "建国",
        "建华",
        "建军",
        "国平",
        "国强",
        "卫东",
        "卫国",
        "志明",
        "志强",
        "永刚",
        "振华",
        "德明",
        "荣华",
        "新民",
        "正平",
        "立新",
        "建平",
        "海峰",
        "春雷",
        "金龙",
        "明",
        "华",
        "军",
        "勇",
        "斌",
        "平",
        "林",
        "刚",
    ),
    (True, False): (
        "俊杰",
        "文杰",
        "晓东",
        "鹏飞",
        "浩然",
        "宇航",
        "子豪",
        "家豪",
        "海涛",
        "志远",
        "晨阳",
        "一鸣",
        "天宇",
        "俊",
        "磊",
        "涛",
        "杰",
        "峰",
        "鹏",
        "浩",
        "宇",
        "超",
    ),
    (False, True): (
        "秀英",
        "桂英",
        "玉兰",
        "丽华",
        "红梅",
        "海燕",
        "春梅",
        "凤英",
        "金凤",
        "月红",
        "美华",
        "红霞",
        "秀兰",
        "丽娟",
        "建英",
        "淑芬",
        "芳",
        "红",
        "霞",
        "琴",
        "萍",
        "英",
    ),
    (False, False): (
        "晓雯",
        "雪梅",
        "婷婷",
        "慧敏",
        "思雨",
        "佳怡",
        "雨婷",
        "欣怡",
        "梦婷",
        "晓丽",
        "文静",
        "美玲",
        "晓燕",
        "丽丽",
        "倩",
        "静",
        "敏",
        "丽",
        "娟",
        "洁",
        "颖",
        "琳",
    ),
}
TRADE_FIRST = (
    "恒",
    "瑞",
    "金",
    "华",
    "永",
    "鼎",
    "汇",
    "润",
    "天",
    "通",
    "嘉",
    "盛",
    "安",
    "德",
    "隆",
    "兴",
    "荣",
    "锦",
    "博",
    "海",
    "江",
    "中",
    "东",
    "新",
    "宏",
    "富",
    "佳",
    "联",
    "正",
    "远",
)
TRADE_SECOND = (
    "达",
    "信",
    "丰",
    "诚",
    "泰",
    "源",
    "和",
    "成",
    "远",
    "顺",
    "昌",
    "辉",
    "宇",
    "发",
    "利",
    "鑫",
    "航",
    "邦",
    "力",
    "捷",
    "晟",
    "创",
    "禾",
    "悦",
    "茂",
    "泽",
    "森",
    "拓",
    "汇",
    "益",
)
#: Trade names used by scenario subjects, kept out of the filler population.
_SCENARIO_TRADE_NAMES = frozenset(
    {"宏达", "瑞丰", "恒信", "金诚", "华泰", "永盛", "鼎盛", "汇通", "润和", "天成", "嘉源"}
)


@dataclass(frozen=True)
class Doc:
    """A decision, licence or list entry as a provider reports it."""

    title: str
    authority: str
    doc: str  # document-number template: {y} year, {n} serial
    kind: str


INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("建设工程", "construction"),
    ("建筑安装工程", "construction"),
    ("装饰工程", "construction"),
    ("纺织品", "manufacturing"),
    ("家纺", "manufacturing"),
    ("服饰", "manufacturing"),
    ("船舶配套", "manufacturing"),
    ("机械制造", "manufacturing"),
    ("电气", "manufacturing"),
    ("化工", "chemical"),
    ("新材料科技", "chemical"),
    ("物流", "logistics"),
    ("商贸", "trade"),
    ("汽车销售服务", "trade"),
    ("食品", "food"),
    ("餐饮管理", "food"),
    ("农业科技", "agri"),
    ("置业", "realestate"),
    ("房地产开发", "realestate"),
    ("环保科技", "tech"),
    ("电子科技", "tech"),
    ("网络科技", "tech"),
    ("医药", "medicine"),
    ("劳务", "labour"),
)

LICENCES: dict[str, tuple[Doc, int]] = {
    "construction": (
        Doc(
            "建筑业企业资质证书（施工总承包二级）",
            "南通市住房和城乡建设局",
            "通建许〔{y}〕{n}号",
            "license",
        ),
        5,
    ),
    "manufacturing": (Doc("排污许可证", "南通市生态环境局", "通环许〔{y}〕{n}号", "license"), 5),
    "chemical": (
        Doc("危险化学品经营许可证", "南通市应急管理局", "通应急许〔{y}〕{n}号", "license"),
        3,
    ),
    "logistics": (
        Doc("道路运输经营许可证", "南通市交通运输局", "通交运许〔{y}〕{n}号", "license"),
        4,
    ),
    "trade": (Doc("食品经营许可证", "南通市行政审批局", "通行审食许〔{y}〕{n}号", "license"), 5),
    "food": (Doc("食品生产许可证", "南通市行政审批局", "通行审食许〔{y}〕{n}号", "license"), 5),
    "agri": (Doc("农药经营许可证", "南通市农业农村局", "通农许〔{y}〕{n}号", "license"), 5),
    "realestate": (
        Doc("房地产开发企业资质证书", "南通市住房和城乡建设局", "通建房许〔{y}〕{n}号", "license"),
        3,
    ),
    "tech": (Doc("高新技术企业证书", "江苏省科学技术厅", "GR{y}320{n:05d}", "license"), 3),
    "medicine": (Doc("药品经营许可证", "南通市行政审批局", "通行审药许〔{y}〕{n}号", "license"), 5),
    "labour": (
        Doc(
            "劳务派遣经营许可证", "南通市人力资源和社会保障局", "通人社派许〔{y}〕{n}号", "license"
        ),
        3,
    ),
}

# "{amr}" / "{amr_short}" / "{court}" / "{cc}" are filled from the subject's district.
GENERAL_COMMON: tuple[Doc, ...] = (
    Doc(
        "未按规定公示年度报告，列入经营异常名录",
        "{amr}",
        "{amr_short}异〔{y}〕{n}号",
        "abnormal_operation",
    ),
    Doc("对商品作虚假或者引人误解的商业宣传", "{amr}", "{amr_short}处罚〔{y}〕{n}号", "penalty"),
    Doc(
        "未按照规定期限办理纳税申报和报送纳税资料",
        "国家税务总局南通市税务局",
        "通税简罚〔{y}〕{n}号",
        "penalty",
    ),
    Doc("欠缴税款逾期未缴纳", "国家税务总局南通市税务局", "通税通〔{y}〕{n}号", "tax_arrears"),
    Doc(
        "消防设施、器材未保持完好有效",
        "南通市消防救援支队",
        "通消行罚决字〔{y}〕{n:04d}号",
        "penalty",
    ),
)
GENERAL_BY_SECTOR: dict[str, tuple[Doc, ...]] = {
    "construction": (
        Doc(
            "施工现场未落实扬尘污染防治措施",
            "南通市住房和城乡建设局",
            "通建罚〔{y}〕{n}号",
            "penalty",
        ),
        Doc(
            "未按时足额支付劳动者工资",
            "南通市人力资源和社会保障局",
            "通人社监罚〔{y}〕{n}号",
            "penalty",
        ),
    ),
    "manufacturing": (
        Doc(
            "超过大气污染物排放标准排放大气污染物",
            "南通市生态环境局",
            "通环罚〔{y}〕{n}号",
            "penalty",
        ),
        Doc(
            "未按规定对从业人员进行安全生产教育和培训",
            "南通市应急管理局",
            "通应急罚〔{y}〕{n}号",
            "penalty",
        ),
    ),
    "chemical": (
        Doc(
            "危险废物贮存不符合国家环境保护标准",
            "南通市生态环境局",
            "通环罚〔{y}〕{n}号",
            "penalty",
        ),
    ),
    "logistics": (
        Doc("道路货物运输车辆超限运输", "南通市交通运输局", "通交罚〔{y}〕{n}号", "penalty"),
    ),
    "trade": (Doc("经营者未按照规定明码标价", "{amr}", "{amr_short}处罚〔{y}〕{n}号", "penalty"),),
    "food": (
        Doc(
            "食品经营者未按规定查验供货者许可证和食品合格证明文件",
            "{amr}",
            "{amr_short}处罚〔{y}〕{n}号",
            "penalty",
        ),
    ),
    "realestate": (
        Doc(
            "未取得商品房预售许可证预售商品房",
            "南通市住房和城乡建设局",
            "通建罚〔{y}〕{n}号",
            "penalty",
        ),
    ),
    "medicine": (
        Doc("未按照规定储存药品", "南通市市场监督管理局", "通市监处罚〔{y}〕{n}号", "penalty"),
    ),
    "labour": (
        Doc(
            "用人单位未依法与劳动者订立书面劳动合同",
            "南通市人力资源和社会保障局",
            "通人社监罚〔{y}〕{n}号",
            "penalty",
        ),
    ),
}
#: Serious dishonesty: (record, list) where list is "black" or "".
SERIOUS_COMMON: tuple[tuple[Doc, str], ...] = (
    (
        Doc(
            "有履行能力而拒不履行生效法律文书确定的义务，列入失信被执行人名单",
            "{court}",
            "（{y}）苏{cc}执{n}号",
            "enforcement",
        ),
        "black",
    ),
    (
        Doc(
            "虚开增值税专用发票，列为重大税收违法失信主体",
            "国家税务总局南通市税务局",
            "通税稽罚〔{y}〕{n}号",
            "serious_dishonesty",
        ),
        "black",
    ),
    (
        Doc(
            "提供虚假材料骗取行政许可",
            "南通市行政审批局",
            "通行审罚〔{y}〕{n}号",
            "false_materials",
        ),
        "",
    ),
    (
        Doc(
            "以欺诈、伪造证明材料手段骗取社会保险基金支出",
            "南通市人力资源和社会保障局",
            "通人社监罚〔{y}〕{n}号",
            "false_materials",
        ),
        "",
    ),
    (
        Doc(
            "拒不履行买卖合同纠纷生效判决，列入失信被执行人名单",
            "{court}",
            "（{y}）苏{cc}执{n}号",
            "enforcement",
        ),
        "black",
    ),
)
SERIOUS_BY_SECTOR: dict[str, tuple[tuple[Doc, str], ...]] = {
    "construction": (
        (
            Doc(
                "拖欠农民工工资，列入拖欠农民工工资失信联合惩戒对象名单",
                "南通市人力资源和社会保障局",
                "通人社失信〔{y}〕{n}号",
                "serious_dishonesty",
            ),
            "black",
        ),
        (
            Doc(
                "发生一般生产安全事故（死亡1人），对事故发生负有责任",
                "南通市应急管理局",
                "通应急罚〔{y}〕{n}号",
                "accident",
            ),
            "",
        ),
    ),
    "manufacturing": (
        (
            Doc(
                "通过暗管逃避监管的方式排放水污染物，情节严重",
                "南通市生态环境局",
                "通环罚〔{y}〕{n}号",
                "penalty",
            ),
            "",
        ),
    ),
    "chemical": (
        (
            Doc(
                "发生一般生产安全事故（死亡1人），对事故发生负有责任",
                "南通市应急管理局",
                "通应急罚〔{y}〕{n}号",
                "accident",
            ),
            "",
        ),
    ),
    "food": (
        (
            Doc(
                "生产经营添加非食用物质的食品，列入市场监督管理严重违法失信名单",
                "南通市市场监督管理局",
                "通市监处罚〔{y}〕{n}号",
                "serious_dishonesty",
            ),
            "black",
        ),
    ),
}
#: Positive records: (record, list, months of validity or 0).
POSITIVE_ENTERPRISE: tuple[tuple[Doc, str, int], ...] = (
    (
        Doc("南通市文明单位", "南通市精神文明建设委员会", "通文明委〔{y}〕{n}号", "commendation"),
        "",
        0,
    ),
    (
        Doc(
            "江苏省“守合同重信用”企业",
            "江苏省市场监督管理局",
            "苏市监信〔{y}〕{n}号",
            "commendation",
        ),
        "red",
        24,
    ),
    (
        Doc(
            "纳税信用A级纳税人",
            "国家税务总局南通市税务局",
            "通税公告〔{y}〕{n}号",
            "a_grade_taxpayer",
        ),
        "red",
        12,
    ),
    (
        Doc(
            "南通市诚信示范企业", "南通市发展和改革委员会", "通发改信用〔{y}〕{n}号", "commendation"
        ),
        "red",
        36,
    ),
    (Doc("向南通市慈善总会捐赠助学款", "南通市民政局", "通民慈〔{y}〕{n}号", "donation"), "", 0),
    (
        Doc("南通市安全生产先进单位", "南通市应急管理局", "通应急〔{y}〕{n}号", "commendation"),
        "",
        0,
    ),
)
OTHER_ENTERPRISE: tuple[Doc, ...] = (
    Doc("信用承诺（告知承诺制审批）", "南通市行政审批局", "通行审诺〔{y}〕{n}号", "commitment"),
    Doc("“双随机、一公开”抽查：未发现问题", "{amr}", "{amr_short}抽〔{y}〕{n}号", "inspection"),
    Doc(
        "民事判决：买卖合同纠纷（被告，已履行）",
        "南通市中级人民法院",
        "（{y}）苏06民终{n}号",
        "judgment",
    ),
    Doc("股权出质设立登记", "{amr}", "{amr_short}质登字〔{y}〕{n}号", "equity_pledge"),
)

INSTITUTIONS: tuple[tuple[str, str, str, int], ...] = (
    # name, region, head's title, established year
    ("南通市第三人民医院", "320600", "院长", 1952),
    ("南通市疾病预防控制中心", "320600", "主任", 1953),
    ("南通市公共资源交易中心", "320600", "主任", 2009),
    ("南通市档案馆", "320600", "馆长", 1959),
    ("如东县人民医院", "320623", "院长", 1950),
    ("启东市第二中学", "320681", "校长", 1958),
    ("如皋市实验初级中学", "320682", "校长", 1998),
    ("海门市中医院", "320684", "院长", 1978),
    ("海安市城东中学", "320685", "校长", 2018),
    ("南通市通州区图书馆", "320612", "馆长", 2010),
)
SOCIAL_ORGS: tuple[tuple[str, str, str, str], ...] = (
    # name, USCC prefix (51 group, 52 private non-enterprise unit, 53 foundation), region,
    # head's title
    ("南通市建筑业协会", "51", "320600", "会长"),
    ("南通市物流协会", "51", "320600", "会长"),
    ("南通市餐饮行业协会", "51", "320600", "会长"),
    ("如皋市花木盆景协会", "51", "320682", "会长"),
    ("启东市个体劳动者协会", "51", "320681", "会长"),
    ("海门市家纺商会", "51", "320684", "会长"),
    ("海安市家具行业协会", "51", "320685", "会长"),
    ("南通市崇川区阳光养老服务中心", "52", "320602", "理事长"),
    ("如东县新华职业培训学校", "52", "320623", "校长"),
    ("南通市通州区康宁社工服务社", "52", "320612", "理事长"),
    ("南通市教育发展基金会", "53", "320600", "理事长"),
)
OTHER_ORGS: tuple[tuple[str, str, str], ...] = (
    # name, USCC prefix (93 farmers' cooperative, 92 individual business), region
    ("如东县丰源蔬菜专业合作社", "93", "320623"),
    ("海安市桑园蚕桑专业合作社", "93", "320685"),
    ("启东市绿海农机专业合作社", "93", "320681"),
    ("如皋市长寿果品专业合作社", "93", "320682"),
    ("南通市崇川区味之源面馆", "92", "320602"),
    ("南通市通州区金沙兴旺五金店", "92", "320612"),
    ("如皋市如城福满园饭店", "92", "320682"),
    ("海门市三星家纺经营部", "92", "320684"),
)
BRANCH_REGIONS = ("320623", "320681", "320682", "320685", "320612")

N_FILLER_ENTERPRISES = 70
N_FILLER_BRANCHES = 4
N_PERSONS = 200
CAPITALS = (
    500_000,
    1_000_000,
    2_000_000,
    3_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    50_000_000,
    100_000_000,
)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _add_months(day: dt.date, months: int) -> dt.date:
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _clean(row: Row) -> Row:
    """Drop empty optional fields (CONTRACT.md section 2 rows carry only what is known)."""
    return {k: v for k, v in row.items() if v is not None and v != "" and v != []}


# ------------------------------------------------------------------------- builder


@dataclass
class _Org:
    code: str
    name: str
    org_type: str
    region: str
    established: dt.date
    terminated: dt.date | None
    sector: str
    head_title: str
    big: bool
    joint_stock: bool


class _Builder:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)  # noqa: S311 - deterministic demo data, not security
        self.entities: list[Row] = []
        self.persons: list[Row] = []
        self.roles: list[Row] = []
        self.records: list[Row] = []
        self.codes: set[str] = set()
        self.names: set[str] = set()
        self.births: dict[str, dt.date] = {}
        self.load: dict[str, int] = {}
        self.filler_persons: list[str] = []
        self.doc_serial: dict[tuple[str, int], int] = {}
        self.record_serial = 0
        # office holders by entity: (person, role, since, until)
        self.offices: dict[str, list[tuple[str, str, dt.date, dt.date | None]]] = {}

    # -- rows ------------------------------------------------------------------

    def entity(
        self,
        code: str,
        name: str,
        org_type: str,
        established: dt.date,
        address: str,
        capital: int | None = None,
        status: str = "active",
        terminated: dt.date | None = None,
    ) -> None:
        if code in self.codes or name in self.names:
            raise ValueError(f"duplicate subject {code} {name}")
        self.codes.add(code)
        self.names.add(name)
        self.entities.append(
            _clean(
                {
                    "type": "entity",
                    "code": code,
                    "name": name,
                    "org_type": org_type,
                    "status": status,
                    "established": _iso(established),
                    "terminated": _iso(terminated),
                    "address": address,
                    "registered_capital": capital,
                }
            )
        )

    def person(self, code: str, name: str) -> None:
        if code in self.codes or name in self.names:
            raise ValueError(f"duplicate subject {code} {name}")
        self.codes.add(code)
        self.names.add(name)
        self.births[code] = dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
        self.load[code] = 0
        self.persons.append({"type": "person", "code": code, "name": name})

    def role(
        self,
        entity: str,
        holder: str,
        role: str,
        since: dt.date | None,
        until: dt.date | None = None,
        position: str | None = None,
        share: int | None = None,
    ) -> None:
        """``share`` in per cent, written as a ratio."""
        self.roles.append(
            _clean(
                {
                    "type": "role",
                    "entity": entity,
                    "holder": holder,
                    "role": role,
                    "position": position,
                    "share_ratio": None if share is None else share / 100,
                    "since": _iso(since),
                    "until": _iso(until),
                }
            )
        )
        if holder in self.load:
            self.load[holder] += 1
        if role in ("legal_representative", "principal", "director", "supervisor", "manager"):
            assert since is not None
            self.offices.setdefault(entity, []).append((holder, role, since, until))

    def record(
        self,
        rid: str,
        subject: str,
        category: str,
        doc: Doc,
        decided_on: dt.date,
        *,
        severity: str | None = None,
        list_kind: str = "",
        act_ended_on: dt.date | None = None,
        valid_until: dt.date | None = None,
        disclosure: str = "public",
        responsible: Sequence[str] = (),
        action: str | None = None,
        title: str | None = None,
        document_no: str | None = None,
        authority: str | None = None,
    ) -> Row:
        row = _clean(
            {
                "type": "record",
                "id": rid,
                "subject": subject,
                "category": category,
                "kind": doc.kind,
                "severity": severity,
                "list": list_kind,
                "title": title or doc.title,
                "document_no": document_no,
                "authority": authority or doc.authority,
                "decided_on": _iso(decided_on),
                "act_ended_on": _iso(act_ended_on),
                "valid_until": _iso(valid_until),
                "disclosure": disclosure,
                "responsible": list(responsible),
                "action": action,
            }
        )
        self.records.append(row)
        return row

    # -- helpers ---------------------------------------------------------------

    def doc_no(self, template: str, year: int, district: District | None = None) -> str:
        key = (template, year)
        n = self.doc_serial.get(key) or self.rng.randint(12, 260)
        self.doc_serial[key] = n + self.rng.randint(1, 37)
        d = district or _DISTRICT["320600"]
        return template.format(y=year, n=n, amr_short=d.amr_short, cc=d.code[2:])

    def fill(self, doc: Doc, district: District) -> tuple[str, str]:
        """Title and authority with the district's names filled in."""
        authority = doc.authority.format(amr=district.amr, court=district.court)
        return doc.title, authority

    def day_between(self, start: dt.date, end: dt.date) -> dt.date:
        if end <= start:
            return start
        return start + dt.timedelta(days=self.rng.randint(0, (end - start).days))

    def new_record_id(self) -> str:
        self.record_serial += 1
        return f"demo-r{self.record_serial:04d}"

    def person_name(self, male: bool, birth: dt.date) -> str:
        given_names = GIVEN_NAMES[(male, birth.year < 1975)]
        while True:
            name = self.rng.choice(SURNAMES) + self.rng.choice(given_names)
            if name not in self.names:
                return name

    def pick(self, since: dt.date, exclude: set[str]) -> str:
        """A filler person, adult on ``since``, among the least busy ones."""
        eligible = [
            p
            for p in self.filler_persons
            if p not in exclude and _add_years(self.births[p], 22) <= since
        ]
        if not eligible:
            raise AssertionError(f"no filler person is old enough on {since}")
        least = min(self.load[p] for p in eligible)
        choice = self.rng.choice([p for p in eligible if self.load[p] <= least])
        exclude.add(choice)
        return choice

    def disclosure(self, person: bool = False) -> str:
        if person:
            return self.rng.choices(
                ("authorized", "limited", "shared", "public"), (50, 25, 15, 10)
            )[0]
        return self.rng.choices(("public", "shared", "authorized", "limited"), (80, 8, 6, 6))[0]

    def holders_on(self, entity: str, day: dt.date) -> list[tuple[str, str]]:
        return [
            (p, r)
            for p, r, since, until in self.offices.get(entity, [])
            if since <= day and (until is None or day <= until)
        ]

    # -- scenarios -------------------------------------------------------------

    def scenarios(self) -> None:
        d = dt.date
        for fixed in SUBJECTS.values():
            if classify(fixed.code).kind == "person":
                self.person(fixed.code, fixed.name)
        ent = self.scenario_entity
        ent("X1", "enterprise", d(1998, 3, 18), "崇川路58号", 100_000_000)
        ent("X2", "enterprise", d(2012, 7, 9), "世纪大道188号", 50_000_000)
        ent("X3", "enterprise", d(2015, 11, 2), "工农路266号", 30_000_000)
        ent("A", "enterprise", d(2016, 4, 1), "青年中路86号", 80_000_000)
        ent("A_BRANCH", "enterprise", d(2019, 8, 1), "江苏省南通市如东县掘港街道青园北路17号")
        ent("B", "enterprise", d(2020, 1, 1), "江苏省南通市通州区金乐路99号", 10_000_000)
        ent(
            "C",
            "enterprise",
            d(2013, 5, 20),
            "江苏省南通市如皋市长江镇化工园区纬三路8号",
            20_000_000,
        )
        ent("D", "enterprise", d(2017, 2, 14), "钟秀中路135号", 5_000_000)
        ent("E", "social_org", d(2005, 9, 28), "濠河路12号", 100_000)
        ent("F", "enterprise", d(2014, 6, 6), "江苏省南通市通州区碧华路66号", 30_000_000)
        ent("G", "enterprise", d(2010, 10, 10), "江苏省南通市启东市汇龙镇江海中路201号", 20_000_000)
        ent("H", "enterprise", d(2018, 3, 5), "人民中路318号", 1_000_000)
        ent("I", "enterprise", d(2003, 1, 16), "江苏省南通市海门区海门街道北京中路77号", 20_000_000)
        ent("J", "enterprise", d(2016, 9, 12), "江苏省南通市如皋市如城街道益寿路52号", 5_000_000)
        ent("K", "enterprise", d(2019, 4, 23), "江苏省南通市如东县掘港街道珠江路9号", 10_000_000)
        ent("L", "enterprise", d(2017, 6, 30), "江苏省南通市港闸区永和路21号", 10_000_000)

        r = self.role
        # 12. shareholding chain X1 -> X2 -> X3 -> A, and the branch of A
        r(_c("X1"), _c("X1_LR"), "legal_representative", d(1998, 3, 18), position="董事长")
        r(_c("X1"), _c("X1_LR"), "shareholder", d(1998, 3, 18), share=90)
        r(_c("X1"), _c("X2_LR"), "shareholder", d(2015, 1, 8), share=10)
        r(_c("X2"), _c("X1_LR"), "legal_representative", d(2012, 7, 9), position="执行董事")
        r(_c("X2"), _c("X1"), "shareholder", d(2012, 7, 9), share=80)
        r(_c("X2"), _c("X2_LR"), "shareholder", d(2012, 7, 9), share=20)
        r(
            _c("X3"),
            _c("X2_LR"),
            "legal_representative",
            d(2015, 11, 2),
            position="执行董事兼总经理",
        )
        r(_c("X3"), _c("X2"), "shareholder", d(2015, 11, 2), share=70)
        r(_c("X3"), _c("X3_SH"), "shareholder", d(2015, 11, 2), share=30)
        r(_c("X3"), _c("X3_SH"), "supervisor", d(2015, 11, 2), position="监事")
        # 1. A: P1 legal representative 2016-04-01 .. 2025-08-31, P2 from 2025-09-01
        r(
            _c("A"),
            _c("P1"),
            "legal_representative",
            d(2016, 4, 1),
            d(2025, 8, 31),
            position="执行董事兼总经理",
        )
        r(_c("A"), _c("P2"), "legal_representative", d(2025, 9, 1), position="执行董事兼总经理")
        r(_c("A"), _c("P2"), "manager", d(2025, 9, 1), position="总经理")
        r(_c("A"), _c("A_SUP"), "supervisor", d(2016, 4, 1), position="监事")
        r(_c("A"), _c("P1"), "shareholder", d(2016, 4, 1), d(2019, 6, 17), share=90)
        r(_c("A"), _c("A_SUP"), "shareholder", d(2016, 4, 1), share=10)
        r(_c("A"), _c("X3"), "shareholder", d(2019, 6, 18), share=60)
        r(_c("A"), _c("P1"), "shareholder", d(2019, 6, 18), share=30)
        r(_c("A"), _c("A_BRANCH"), "branch", d(2019, 8, 1))
        r(_c("A_BRANCH"), _c("BR_PRIN"), "principal", d(2019, 8, 1), position="负责人")
        # 2. P1 also legal representative of B since 2020-01-01, still holding it
        r(_c("B"), _c("P1"), "legal_representative", d(2020, 1, 1), position="执行董事")
        r(_c("B"), _c("P1"), "shareholder", d(2020, 1, 1), share=51)
        r(_c("B"), _c("B_SH"), "shareholder", d(2020, 1, 1), share=49)
        r(_c("B"), _c("B_SH"), "supervisor", d(2020, 1, 1), position="监事")
        # 3. P3 responsible in C and D, director and deputy general manager of C (the
        # manager's seat is the office NO_OFFICE bars: rule 5)
        r(_c("C"), _c("C_LR"), "legal_representative", d(2013, 5, 20), position="董事长")
        r(_c("C"), _c("C_LR"), "director", d(2013, 5, 20), position="董事长")
        r(_c("C"), _c("P3"), "director", d(2018, 3, 1), position="董事")
        r(_c("C"), _c("P3"), "manager", d(2018, 3, 1), position="生产副总经理")
        r(_c("C"), _c("C_DIR"), "director", d(2013, 5, 20), position="董事")
        r(_c("C"), _c("C_SUP"), "supervisor", d(2019, 6, 1), position="监事")
        r(_c("C"), _c("C_DIR"), "manager", d(2013, 5, 20), position="总经理")
        r(_c("C"), _c("C_LR"), "shareholder", d(2013, 5, 20), share=55)
        r(_c("C"), _c("C_DIR"), "shareholder", d(2013, 5, 20), share=45)
        r(_c("D"), _c("D_LR"), "legal_representative", d(2017, 2, 14), position="执行董事兼总经理")
        r(_c("D"), _c("D_LR"), "shareholder", d(2017, 2, 14), share=100)
        # 4. E: principal P4 since 2019-05-01
        r(_c("E"), _c("P4"), "principal", d(2019, 5, 1), position="会长")
        # 5.-11.
        r(_c("F"), _c("F_LR"), "legal_representative", d(2014, 6, 6), position="董事长")
        r(_c("F"), _c("F_LR"), "shareholder", d(2014, 6, 6), share=70)
        r(_c("G"), _c("G_LR"), "legal_representative", d(2010, 10, 10), position="执行董事")
        r(_c("G"), _c("G_LR"), "shareholder", d(2010, 10, 10), share=100)
        r(_c("H"), _c("H_LR"), "legal_representative", d(2018, 3, 5), position="执行董事兼经理")
        r(_c("H"), _c("H_LR"), "shareholder", d(2018, 3, 5), share=100)
        r(_c("I"), _c("I_LR"), "legal_representative", d(2012, 7, 1), position="执行董事")
        r(_c("I"), _c("I_LR"), "shareholder", d(2012, 7, 1), share=80)
        r(_c("J"), _c("J_LR"), "legal_representative", d(2016, 9, 12), position="执行董事")
        r(_c("J"), _c("J_LR"), "shareholder", d(2016, 9, 12), share=100)
        r(_c("K"), _c("K_LR"), "legal_representative", d(2019, 4, 23), position="执行董事")
        r(_c("K"), _c("K_LR"), "shareholder", d(2019, 4, 23), share=100)
        r(_c("L"), _c("L_LR"), "legal_representative", d(2017, 6, 30), position="执行董事")
        r(_c("L"), _c("L_LR"), "shareholder", d(2017, 6, 30), share=100)
        r(_c("L"), _c("P5"), "manager", d(2021, 6, 1), position="总经理")

        rec = self.record
        # 1. serious, black-list record of A; act 2025-03-31 inside P1's term
        rec(
            RECORD_IDS["A"],
            _c("A"),
            "negative",
            Doc(
                "拖欠农民工工资，列入拖欠农民工工资失信联合惩戒对象名单",
                "南通市人力资源和社会保障局",
                "",
                "serious_dishonesty",
            ),
            d(2025, 6, 20),
            severity="serious",
            list_kind="black",
            act_ended_on=d(2025, 3, 31),
            document_no="通人社失信〔2025〕7号",
        )
        rec(
            "demo-s01-a-licence",
            _c("A"),
            "basic",
            LICENCES["construction"][0],
            d(2021, 3, 8),
            valid_until=d(2026, 3, 7),
            document_no="通建许〔2021〕57号",
        )
        # 3. C and D, P3 named responsible in both
        rec(
            RECORD_IDS["C"],
            _c("C"),
            "negative",
            Doc("超标排放水污染物，情节严重", "南通市生态环境局", "", "penalty"),
            d(2025, 10, 15),
            severity="serious",
            act_ended_on=d(2025, 7, 20),
            responsible=[_c("P3")],
            document_no="通环罚〔2025〕38号",
        )
        rec(
            RECORD_IDS["D"],
            _c("D"),
            "negative",
            Doc("提供虚假材料骗取道路运输经营许可", "南通市交通运输局", "", "false_materials"),
            d(2026, 2, 10),
            severity="serious",
            act_ended_on=d(2025, 11, 30),
            responsible=[_c("P3")],
            document_no="通交罚〔2026〕12号",
        )
        # 4. E, principal P4 on the act date
        rec(
            RECORD_IDS["E"],
            _c("E"),
            "negative",
            Doc(
                "违规收取会员费并弄虚作假骗取年检，列入社会组织严重违法失信名单",
                "南通市民政局",
                "",
                "serious_dishonesty",
            ),
            d(2025, 12, 5),
            severity="serious",
            list_kind="black",
            act_ended_on=d(2025, 8, 31),
            document_no="通民社罚〔2025〕5号",
        )
        # 5. F red list
        rec(
            RECORD_IDS["F"],
            _c("F"),
            "positive",
            Doc(
                "纳税信用A级纳税人（2025年度）", "国家税务总局南通市税务局", "", "a_grade_taxpayer"
            ),
            d(2026, 4, 20),
            list_kind="red",
            valid_until=d(2027, 4, 30),
            document_no="通税公告〔2026〕3号",
        )
        rec(
            "demo-s05-f-commendation",
            _c("F"),
            "positive",
            POSITIVE_ENTERPRISE[0][0],
            d(2025, 1, 16),
            document_no="通文明委〔2025〕2号",
        )
        # 6. G red list and a valid black list
        rec(
            RECORD_IDS["G_RED"],
            _c("G"),
            "positive",
            POSITIVE_ENTERPRISE[1][0],
            d(2025, 5, 10),
            list_kind="red",
            valid_until=d(2027, 5, 31),
            document_no="苏市监信〔2025〕21号",
        )
        rec(
            RECORD_IDS["G_BLACK"],
            _c("G"),
            "negative",
            Doc(
                "偷税，列为重大税收违法失信主体",
                "国家税务总局南通市税务局",
                "",
                "serious_dishonesty",
            ),
            d(2026, 6, 18),
            severity="serious",
            list_kind="black",
            act_ended_on=d(2025, 12, 31),
            document_no="通税稽罚〔2026〕21号",
        )
        # 7. H general penalty
        rec(
            RECORD_IDS["H"],
            _c("H"),
            "negative",
            Doc(
                "销售不符合保障人体健康的国家标准的产品（情节轻微）",
                "南通市崇川区市场监督管理局",
                "",
                "penalty",
            ),
            d(2026, 3, 15),
            severity="general",
            act_ended_on=d(2026, 1, 8),
            document_no="崇市监处罚〔2026〕57号",
        )
        rec(
            "demo-s07-h-licence",
            _c("H"),
            "basic",
            LICENCES["trade"][0],
            d(2023, 5, 4),
            valid_until=d(2028, 5, 3),
            document_no="通行审食许〔2023〕415号",
        )
        # 8. I serious, decided 2022-09-01
        rec(
            RECORD_IDS["I"],
            _c("I"),
            "negative",
            Doc(
                "发生一般生产安全事故（死亡1人），对事故发生负有责任",
                "南通市应急管理局",
                "",
                "accident",
            ),
            d(2022, 9, 1),
            severity="serious",
            act_ended_on=d(2022, 3, 14),
            document_no="通应急罚〔2022〕19号",
        )
        # 9. J serious with its own valid_until
        rec(
            RECORD_IDS["J"],
            _c("J"),
            "negative",
            Doc(
                "生产经营不符合食品安全标准的食品，情节严重", "南通市市场监督管理局", "", "penalty"
            ),
            d(2025, 1, 10),
            severity="serious",
            act_ended_on=d(2024, 10, 22),
            valid_until=d(2026, 12, 31),
            document_no="通市监处罚〔2025〕8号",
        )
        rec(
            "demo-s09-j-licence",
            _c("J"),
            "basic",
            LICENCES["food"][0],
            d(2021, 9, 30),
            valid_until=d(2026, 9, 29),
            document_no="通行审食许〔2021〕733号",
        )
        # 10. K serious, then withdrawn by a second line with the same id
        k_record = rec(
            RECORD_IDS["K"],
            _c("K"),
            "negative",
            Doc("提供虚假监测数据骗取排污许可", "南通市生态环境局", "", "false_materials"),
            d(2026, 5, 12),
            severity="serious",
            act_ended_on=d(2026, 2, 27),
            document_no="通环罚〔2026〕44号",
        )
        self.records.append({**k_record, "action": "withdraw"})
        # 11. P5's own record, black list
        rec(
            RECORD_IDS["P5"],
            _c("P5"),
            "negative",
            Doc(
                "有履行能力而拒不履行生效法律文书确定的义务，列入失信被执行人名单",
                "南通市中级人民法院",
                "",
                "enforcement",
            ),
            d(2026, 2, 26),
            severity="serious",
            list_kind="black",
            act_ended_on=d(2025, 12, 15),
            document_no="（2026）苏06执123号",
        )

    def scenario_entity(
        self,
        key: str,
        org_type: str,
        established: dt.date,
        address: str,
        capital: int | None = None,
    ) -> None:
        fixed = SUBJECTS[key]
        if not address.startswith("江苏省"):
            address = "江苏省南通市崇川区" + address
        self.entity(fixed.code, fixed.name, org_type, established, address, capital)

    # -- filler population -----------------------------------------------------

    def filler_people(self) -> None:
        rng = self.rng
        while len(self.persons) < N_PERSONS:
            male = rng.random() < 0.6
            birth = self.day_between(dt.date(1950, 1, 1), dt.date(2000, 12, 31))
            region = rng.choice(PERSON_REGIONS)
            seq = rng.randrange(0, 100) * 10 + rng.choice(
                (1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8)
            )
            code = make_person_id(region, birth, seq)
            if code in self.codes:
                continue
            self.person(code, self.person_name(male, birth))
            self.filler_persons.append(code)

    def new_org_code(self, prefix: str, region: str, old_style: bool, head: str = "MA") -> str:
        while True:
            if old_style:
                body = "".join(self.rng.choice("0123456789") for _ in range(8))
                body = self.rng.choice("1234567") + body[1:]
            else:
                tail = "".join(self.rng.choice(USCC_ALPHABET) for _ in range(5))
                body = head + self.rng.choice("123456789") + tail
            code = make_uscc(prefix, region, body)
            if code not in self.codes:
                return code

    def trade_name(self, used: set[str]) -> str:
        while True:
            tn = self.rng.choice(TRADE_FIRST) + self.rng.choice(TRADE_SECOND)
            if tn[0] != tn[1] and tn not in used and tn not in _SCENARIO_TRADE_NAMES:
                used.add(tn)
                return tn

    def address(self, region: str) -> str:
        d = _DISTRICT[region]
        return f"{d.address}{self.rng.choice(d.streets)}{self.rng.randint(1, 399)}号"

    def filler_orgs(self) -> list[_Org]:
        rng = self.rng
        orgs: list[_Org] = []
        used: set[str] = set()
        regions = [r for r, _w in _ENTERPRISE_REGIONS]
        weights = [w for _r, w in _ENTERPRISE_REGIONS]
        while len([o for o in orgs if o.org_type == "enterprise"]) < N_FILLER_ENTERPRISES:
            region = rng.choices(regions, weights)[0]
            d = _DISTRICT[region]
            established = self.day_between(
                dt.date(max(d.first_year, 1996), 1, 1), dt.date(min(d.last_year, 2024), 12, 31)
            )
            industry, sector = rng.choice(INDUSTRIES)
            tn = self.trade_name(used)
            big = rng.random() < 0.25
            joint_stock = big and rng.random() < 0.4
            if joint_stock:
                name = f"江苏{tn}{industry}股份有限公司"
            elif region == "320600" or rng.random() < 0.4:
                name = f"南通{tn}{industry}有限公司"
            else:
                name = f"{d.name_prefix}{tn}{industry}有限公司"
            if name in self.names:
                continue
            code = self.new_org_code("91", region, established.year < 2015)
            status, terminated = "active", None
            n = len(orgs)
            if n % 12 == 5 and established.year <= 2018:
                status = "revoked" if n % 24 == 5 else "cancelled"
                terminated = self.day_between(_add_years(established, 3), dt.date(2025, 6, 30))
            capital = rng.choice(CAPITALS[5:] if big else CAPITALS[:6])
            self.entity(
                code,
                name,
                "enterprise",
                established,
                self.address(region),
                capital,
                status,
                terminated,
            )
            orgs.append(
                _Org(
                    code,
                    name,
                    "enterprise",
                    region,
                    established,
                    terminated,
                    sector,
                    "",
                    big,
                    joint_stock,
                )
            )
        for name, region, title, year in INSTITUTIONS:
            established = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
            code = make_uscc(
                "12", region, "4" + "".join(rng.choice("0123456789") for _ in range(7))
            )
            self.entity(
                code,
                name,
                "institution",
                established,
                self.address(region),
                rng.choice((2_000_000, 5_000_000, 12_000_000, 30_000_000)),
            )
            orgs.append(
                _Org(
                    code,
                    name,
                    "institution",
                    region,
                    established,
                    None,
                    "public",
                    title,
                    False,
                    False,
                )
            )
        for name, prefix, region, title in SOCIAL_ORGS:
            established = self.day_between(dt.date(1998, 1, 1), dt.date(2016, 12, 31))
            if region == "320685":
                established = max(established, dt.date(2018, 6, 1))
            code = self.new_org_code(prefix, region, False, head="MJ")
            capital = rng.choice((30_000, 50_000, 100_000)) if prefix != "53" else 4_000_000
            self.entity(code, name, "social_org", established, self.address(region), capital)
            orgs.append(
                _Org(
                    code,
                    name,
                    "social_org",
                    region,
                    established,
                    None,
                    "social",
                    title,
                    False,
                    False,
                )
            )
        for name, prefix, region in OTHER_ORGS:
            established = self.day_between(dt.date(2008, 1, 1), dt.date(2019, 12, 31))
            if region == "320612":
                established = max(established, dt.date(2010, 1, 1))
            code = self.new_org_code(prefix, region, False)
            funds = rng.choice((500_000, 1_000_000, 2_000_000)) if prefix == "93" else None
            self.entity(code, name, "other", established, self.address(region), funds)
            orgs.append(
                _Org(
                    code,
                    name,
                    "other",
                    region,
                    established,
                    None,
                    "coop" if prefix == "93" else "individual",
                    "理事长" if prefix == "93" else "经营者",
                    False,
                    False,
                )
            )
        # branches of filler enterprises
        heads = [
            o
            for o in orgs
            if o.org_type == "enterprise" and o.terminated is None and o.established.year <= 2020
        ][: N_FILLER_BRANCHES * 3 : 3]
        for head in heads:
            region = rng.choice([r for r in BRANCH_REGIONS if r != head.region])
            d = _DISTRICT[region]
            place = d.name_prefix.removeprefix("南通市")[:-1]
            established = self.day_between(_add_years(head.established, 1), dt.date(2024, 6, 30))
            code = self.new_org_code("91", region, False)
            self.entity(
                code, f"{head.name}{place}分公司", "enterprise", established, self.address(region)
            )
            orgs.append(
                _Org(
                    code,
                    f"{head.name}{place}分公司",
                    "enterprise",
                    region,
                    established,
                    None,
                    head.sector,
                    "负责人",
                    False,
                    False,
                )
            )
            self.role(head.code, code, "branch", established)
        return orgs

    def filler_roles(self, orgs: list[_Org]) -> None:
        rng = self.rng
        enterprises = [
            o for o in orgs if o.org_type == "enterprise" and not o.name.endswith("分公司")
        ]
        for org in orgs:
            since, end = org.established, org.terminated
            if org.org_type == "institution":  # old institutions: only recent heads are listed
                since = max(since, self.day_between(dt.date(2012, 1, 1), dt.date(2021, 12, 31)))
            taken: set[str] = set()
            if org.name.endswith("分公司"):
                self.role(
                    org.code, self.pick(since, taken), "principal", since, end, position="负责人"
                )
                continue
            if org.sector == "individual":
                owner = self.pick(since, taken)
                self.role(org.code, owner, "principal", since, end, position="经营者")
                continue
            if org.org_type == "enterprise":
                lr_title = "董事长" if org.big else "执行董事兼总经理"
            else:
                lr_title = org.head_title
            # legal representative, sometimes after a change
            change = None
            if rng.random() < (0.45 if org.org_type == "institution" else 0.25):
                change = self.day_between(
                    _add_years(since, 2), min(end or LAST_DECISION, dt.date(2025, 12, 31))
                )
                if change <= since:
                    change = None
            first = self.pick(since, taken)
            if change:
                self.role(
                    org.code,
                    first,
                    "legal_representative",
                    since,
                    change - dt.timedelta(days=1),
                    position=lr_title,
                )
                lr = self.pick(change, taken)
                self.role(org.code, lr, "legal_representative", change, end, position=lr_title)
            else:
                lr = first
                self.role(org.code, lr, "legal_representative", since, end, position=lr_title)
            lr_since = change or since
            if org.org_type == "institution":
                if rng.random() < 0.6:
                    self.role(
                        org.code,
                        self.pick(since, taken),
                        "manager",
                        self.day_between(since, dt.date(2024, 1, 1)),
                        end,
                        position="副" + org.head_title,
                    )
                continue
            if org.org_type in ("social_org", "other"):
                for _ in range(rng.randint(1, 2)):
                    self.role(
                        org.code,
                        self.pick(since, taken),
                        "director",
                        since,
                        end,
                        position="副" + org.head_title if org.sector != "coop" else "理事",
                    )
                self.role(
                    org.code, self.pick(since, taken), "supervisor", since, end, position="监事"
                )
                continue
            # enterprises
            if org.big:
                self.role(org.code, lr, "director", lr_since, end, position="董事长")
                for _ in range(4 if org.joint_stock else 2):
                    self.role(
                        org.code, self.pick(since, taken), "director", since, end, position="董事"
                    )
                sups = 3 if org.joint_stock else 1
                for i in range(sups):
                    self.role(
                        org.code,
                        self.pick(since, taken),
                        "supervisor",
                        since,
                        end,
                        position="监事会主席" if sups > 1 and i == 0 else "监事",
                    )
                self.role(
                    org.code, self.pick(since, taken), "manager", since, end, position="总经理"
                )
                if rng.random() < 0.5:
                    self.role(
                        org.code,
                        self.pick(since, taken),
                        "manager",
                        since,
                        end,
                        position="财务负责人",
                    )
            else:
                if rng.random() < 0.5:
                    self.role(org.code, lr, "director", lr_since, end, position="执行董事")
                if rng.random() < 0.6:
                    self.role(org.code, lr, "manager", lr_since, end, position="总经理")
                else:
                    self.role(
                        org.code, self.pick(since, taken), "manager", since, end, position="经理"
                    )
                if rng.random() < 0.85:
                    self.role(
                        org.code, self.pick(since, taken), "supervisor", since, end, position="监事"
                    )
            # shareholders: the founding legal representative often, others, sometimes a
            # company; all since the company was established
            holders: list[str] = []
            if rng.random() < 0.7:
                holders.append(first)
            parents = [
                e
                for e in enterprises
                if e.established < org.established and e.terminated is None and e.code != org.code
            ]
            if parents and rng.random() < 0.3:
                holders.append(rng.choice(parents).code)
            wanted = rng.randint(1, 4)
            while len(holders) < wanted:
                holders.append(self.pick(since, taken))
            total = rng.randint(55, 90) if org.joint_stock else 100
            cuts = sorted(rng.sample(range(1, total), len(holders) - 1)) if len(holders) > 1 else []
            shares = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
            for holder, share in zip(holders, shares, strict=True):
                self.role(org.code, holder, "shareholder", since, end, share=share)

    def filler_records(self, orgs: list[_Org]) -> None:
        rng = self.rng
        for org in orgs:
            d = _DISTRICT[org.region]
            last = min(org.terminated or LAST_DECISION, LAST_DECISION)
            first = max(org.established + dt.timedelta(days=90), dt.date(2019, 1, 1))
            if first >= last:
                continue

            def when(start: dt.date = first, _last: dt.date = last) -> dt.date:
                return self.day_between(start, _last)

            if org.org_type == "enterprise" and not org.name.endswith("分公司"):
                self.enterprise_records(org, d, when, first, last)
            elif org.org_type == "institution":
                day = when()
                self.record(
                    self.new_record_id(),
                    org.code,
                    "basic",
                    Doc("事业单位法人证书", "南通市事业单位登记管理局", "", "license"),
                    day,
                    valid_until=_add_years(day, 5) - dt.timedelta(days=1),
                    document_no=f"事证第1{org.region}{rng.randint(1000, 9999):05d}号",
                    disclosure=self.disclosure(),
                )
                if rng.random() < 0.5:
                    day = when()
                    doc = POSITIVE_ENTERPRISE[0][0]
                    self.record(
                        self.new_record_id(),
                        org.code,
                        "positive",
                        doc,
                        day,
                        document_no=self.doc_no(doc.doc, day.year),
                    )
                if "医院" in org.name and rng.random() < 0.7:
                    day = when(dt.date(2024, 6, 1))
                    doc = Doc(
                        "医疗废物未按规定分类收集、暂存",
                        "南通市卫生健康委员会",
                        "通卫医罚〔{y}〕{n}号",
                        "penalty",
                    )
                    self.record(
                        self.new_record_id(),
                        org.code,
                        "negative",
                        doc,
                        day,
                        severity="general",
                        act_ended_on=day - dt.timedelta(days=45),
                        document_no=self.doc_no(doc.doc, day.year),
                        disclosure=self.disclosure(),
                    )
            elif org.org_type == "social_org":
                day = when()
                kind_name = {
                    "51": "社会团体法人登记证书",
                    "52": "民办非企业单位登记证书",
                    "53": "基金会法人登记证书",
                }[org.code[:2]]
                self.record(
                    self.new_record_id(),
                    org.code,
                    "basic",
                    Doc(kind_name, "南通市民政局", "通民证〔{y}〕{n}号", "license"),
                    day,
                    document_no=self.doc_no("通民证〔{y}〕{n}号", day.year),
                    disclosure=self.disclosure(),
                )
                if rng.random() < 0.4:
                    day = when(dt.date(2023, 1, 1))
                    doc = Doc(
                        "评估等级4A级社会组织", "南通市民政局", "通民社〔{y}〕{n}号", "commendation"
                    )
                    self.record(
                        self.new_record_id(),
                        org.code,
                        "positive",
                        doc,
                        day,
                        valid_until=_add_years(day, 5) - dt.timedelta(days=1),
                        document_no=self.doc_no(doc.doc, day.year),
                    )
                if rng.random() < 0.35:
                    day = when(dt.date(2023, 1, 1))
                    doc = Doc(
                        "未按规定参加年度检查", "南通市民政局", "通民罚〔{y}〕{n}号", "penalty"
                    )
                    self.record(
                        self.new_record_id(),
                        org.code,
                        "negative",
                        doc,
                        day,
                        severity="general",
                        act_ended_on=day - dt.timedelta(days=60),
                        document_no=self.doc_no(doc.doc, day.year),
                        disclosure=self.disclosure(),
                    )
            elif org.sector == "coop":
                if rng.random() < 0.6:
                    day = when(dt.date(2022, 1, 1))
                    doc = Doc(
                        "江苏省农民合作社省级示范社",
                        "江苏省农业农村厅",
                        "苏农经〔{y}〕{n}号",
                        "commendation",
                    )
                    self.record(
                        self.new_record_id(),
                        org.code,
                        "positive",
                        doc,
                        day,
                        list_kind="red" if rng.random() < 0.5 else "",
                        valid_until=_add_years(day, 2),
                        document_no=self.doc_no(doc.doc, day.year),
                    )
                doc = OTHER_ENTERPRISE[1]
                day = when()
                title, authority = self.fill(doc, d)
                self.record(
                    self.new_record_id(),
                    org.code,
                    "other",
                    doc,
                    day,
                    title=title,
                    authority=authority,
                    document_no=self.doc_no(doc.doc, day.year, d),
                )
            else:  # individual business
                if rng.random() < 0.6:
                    doc, _years = LICENCES["food"]
                    day = when()
                    self.record(
                        self.new_record_id(),
                        org.code,
                        "basic",
                        Doc("食品经营许可证（小餐饮）", "南通市行政审批局", "", "license"),
                        day,
                        valid_until=_add_years(day, 5) - dt.timedelta(days=1),
                        document_no=self.doc_no(doc.doc, day.year),
                    )
                if rng.random() < 0.6:
                    doc = GENERAL_BY_SECTOR["trade"][0]
                    day = when(dt.date(2024, 1, 1))
                    title, authority = self.fill(doc, d)
                    self.record(
                        self.new_record_id(),
                        org.code,
                        "negative",
                        doc,
                        day,
                        severity="general",
                        act_ended_on=day - dt.timedelta(days=30),
                        title=title,
                        authority=authority,
                        document_no=self.doc_no(doc.doc, day.year, d),
                        disclosure=self.disclosure(),
                    )

    def enterprise_records(
        self, org: _Org, d: District, when: Callable[..., dt.date], first: dt.date, last: dt.date
    ) -> None:
        rng = self.rng
        if org.sector in LICENCES and rng.random() < 0.7:
            doc, years = LICENCES[org.sector]
            day = when()
            self.record(
                self.new_record_id(),
                org.code,
                "basic",
                doc,
                day,
                valid_until=_add_years(day, years) - dt.timedelta(days=1),
                document_no=self.doc_no(doc.doc, day.year),
                disclosure=self.disclosure(),
            )
        for _ in range(rng.choices((0, 1, 2), (60, 30, 10))[0]):
            doc = rng.choice(GENERAL_COMMON + GENERAL_BY_SECTOR.get(org.sector, ()))
            day = when(max(first, dt.date(2021, 1, 1)))
            title, authority = self.fill(doc, d)
            self.record(
                self.new_record_id(),
                org.code,
                "negative",
                doc,
                day,
                severity="general",
                act_ended_on=day - dt.timedelta(days=rng.randint(15, 200)),
                title=title,
                authority=authority,
                document_no=self.doc_no(doc.doc, day.year, d),
                disclosure=self.disclosure(),
            )
        if rng.random() < 0.11:
            doc, list_kind = rng.choice(SERIOUS_COMMON + SERIOUS_BY_SECTOR.get(org.sector, ()))
            day = when(max(first, dt.date(2021, 1, 1)))
            act = day - dt.timedelta(days=rng.randint(60, 300))
            title, authority = self.fill(doc, d)
            named: list[str] = []
            officers = [
                p
                for p, role in self.holders_on(org.code, act)
                if role in ("director", "manager", "supervisor")
            ]
            if officers and rng.random() < 0.6:
                named = [rng.choice(officers)]
            self.record(
                self.new_record_id(),
                org.code,
                "negative",
                doc,
                day,
                severity="serious",
                list_kind=list_kind,
                act_ended_on=act,
                title=title,
                authority=authority,
                responsible=named,
                document_no=self.doc_no(doc.doc, day.year, d),
                disclosure="public" if list_kind else self.disclosure(),
            )
        if rng.random() < 0.35:
            doc, list_kind, months = rng.choice(POSITIVE_ENTERPRISE)
            day = when(max(first, dt.date(2022, 1, 1)))
            title = doc.title
            if doc.kind == "a_grade_taxpayer":
                lo = max(2022, first.year + 1)
                if lo <= last.year:
                    day = dt.date(rng.randint(lo, last.year), 4, rng.randint(10, 28))
                if day > last or day < first:
                    day = when(max(first, dt.date(2022, 1, 1)))
                title = f"{doc.title}（{day.year - 1}年度）"
            valid_until = _add_months(day, months) - dt.timedelta(days=1) if months else None
            self.record(
                self.new_record_id(),
                org.code,
                "positive",
                doc,
                day,
                list_kind=list_kind,
                valid_until=valid_until,
                title=title,
                document_no=self.doc_no(doc.doc, day.year),
            )
        if rng.random() < 0.3:
            doc = rng.choice(OTHER_ENTERPRISE)
            day = when()
            title, authority = self.fill(doc, d)
            self.record(
                self.new_record_id(),
                org.code,
                "other",
                doc,
                day,
                title=title,
                authority=authority,
                document_no=self.doc_no(doc.doc, day.year, d),
                disclosure=self.disclosure(),
            )

    def person_records(self) -> None:
        rng = self.rng
        people = list(self.filler_persons)
        volunteer = Doc(
            "注册志愿者，累计志愿服务时长{h}小时",
            "共青团南通市委员会",
            "通团发〔{y}〕{n}号",
            "volunteer",
        )
        blood = Doc(
            "无偿献血{h}次，获全国无偿献血奉献奖",
            "南通市卫生健康委员会",
            "通卫发〔{y}〕{n}号",
            "donation",
        )
        honour = Doc(
            "南通市见义勇为先进个人", "南通市人民政府", "通政发〔{y}〕{n}号", "commendation"
        )
        tax = Doc(
            "逾期未办理个人所得税综合所得汇算清缴",
            "国家税务总局南通市税务局",
            "通税简罚〔{y}〕{n}号",
            "penalty",
        )
        for code in people:
            birth = self.births[code]
            start = max(_add_years(birth, 18), dt.date(2020, 1, 1))
            lonely = self.load[code] == 0
            roll = rng.random()
            if lonely or roll < 0.12:
                day = self.day_between(start, LAST_DECISION)
                doc = volunteer if rng.random() < 0.75 else blood
                hours = (
                    rng.choice((100, 200, 300, 500, 1000))
                    if doc is volunteer
                    else rng.choice((20, 30, 40))
                )
                self.record(
                    self.new_record_id(),
                    code,
                    "positive",
                    doc,
                    day,
                    title=doc.title.format(h=hours),
                    document_no=self.doc_no(doc.doc, day.year),
                    disclosure=self.disclosure(person=True),
                )
            elif roll < 0.16:
                day = self.day_between(start, LAST_DECISION)
                self.record(
                    self.new_record_id(),
                    code,
                    "positive",
                    honour,
                    day,
                    list_kind="red",
                    document_no=self.doc_no(honour.doc, day.year),
                    disclosure="public",
                )
            elif roll < 0.20:
                day = self.day_between(dt.date(2023, 1, 1), LAST_DECISION)
                self.record(
                    self.new_record_id(),
                    code,
                    "negative",
                    tax,
                    day,
                    severity="general",
                    act_ended_on=day - dt.timedelta(days=40),
                    document_no=self.doc_no(tax.doc, day.year),
                    disclosure=self.disclosure(person=True),
                )
        # a few serious records of natural persons: judgment debtors and an industry ban
        managers = [p for p in people if self.load[p] > 0]
        d = _DISTRICT[rng.choice(("320602", "320682", "320681"))]
        doc = SERIOUS_COMMON[0][0]
        for code in rng.sample(managers, 2):
            day = self.day_between(dt.date(2024, 1, 1), LAST_DECISION)
            title, authority = self.fill(doc, d)
            self.record(
                self.new_record_id(),
                code,
                "negative",
                doc,
                day,
                severity="serious",
                list_kind="black",
                act_ended_on=day - dt.timedelta(days=90),
                title=title,
                authority=authority,
                document_no=self.doc_no(doc.doc, day.year, d),
            )
        ban = Doc(
            "五年内不得从事食品生产经营管理工作",
            "南通市市场监督管理局",
            "通市监处罚〔{y}〕{n}号",
            "industry_ban",
        )
        code = rng.choice(managers)
        day = dt.date(2024, 8, 19)
        self.record(
            self.new_record_id(),
            code,
            "negative",
            ban,
            day,
            severity="serious",
            act_ended_on=dt.date(2024, 3, 2),
            valid_until=dt.date(2029, 8, 18),
            document_no=self.doc_no(ban.doc, day.year),
            disclosure="shared",
        )

    def build(self) -> list[Row]:
        self.scenarios()
        self.filler_people()
        orgs = self.filler_orgs()
        self.filler_roles(orgs)
        self.filler_records(orgs)
        self.person_records()
        return self.entities + self.persons + self.roles + self.records


def build_rows() -> list[dict[str, Any]]:
    """The demo data set's rows, in file order: entities, persons, roles, records."""
    return _Builder().build()


def render(rows: Sequence[Row]) -> str:
    """The JSON Lines text of ``rows``, exactly as committed."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main() -> None:
    rows = build_rows()
    DEMO_PATH.parent.mkdir(parents=True, exist_ok=True)
    DEMO_PATH.write_text(render(rows), encoding="utf-8", newline="\n")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["type"]] = counts.get(row["type"], 0) + 1
    summary = ", ".join(f"{n} {t}" for t, n in counts.items())
    print(f"wrote {DEMO_PATH}: {len(rows)} rows ({summary})")


if __name__ == "__main__":
    main()

"""Validation of the two subject codes, built on python-stdnum.

USCC (GB 32100-2015) and resident ID numbers (GB 11643-1999) identify every subject.
Region, birth date and sex are *derived* from the codes on demand and never stored
alongside them, so they cannot drift apart.

The resident ID region code is the one in force when the number was *issued*, often
years after the birth date; ``stdnum.cn.ric.validate`` rejects such real numbers
because its table dates the region later than the birth. Here the checksum and the
birth date decide validity, and the region is looked up only as information.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from stdnum.cn import ric

from schema.errors import InvalidCode
from schema.workdays import china_today

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 32100-2015 table 1: registration authority codes (position 1).
USCC_AUTHORITIES = frozenset("123456789ANY")
EARLIEST_BIRTH = dt.date(1890, 1, 1)

SubjectKind = Literal["entity", "person"]

#: Subjects known only to an external data set (a FollowTheMoney export without a USCC or
#: ID number) are kept under that set's own id, prefixed so they never pass for a code.
EXTERNAL_PREFIX = "ftm:"
_EXTERNAL_RE = re.compile(r"^ftm:[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")


def is_external(value: str) -> bool:
    return isinstance(value, str) and value.startswith(EXTERNAL_PREFIX)


def validate_external(value: str, field: str = "code") -> str:
    if not _EXTERNAL_RE.match(value):
        raise InvalidCode(field, "not a valid external id (ftm: followed by the FtM id)", value)
    return value


#: An invalid code longer than this is not echoed at all: it is no code, and an error
#: repeating ten megabytes of input helps nobody.
SHOWN_MAX = 40


def _id_like(value: str) -> bool:
    """Whether an invalid code may be a mistyped ID number: a first-generation one (15
    digits), or 15-20 characters with a birth date where an ID number has it, give or
    take two characters (one dropped, one doubled). A USCC has its division and
    organisation codes there, which read as a date only by chance."""
    v = unicodedata.normalize("NFKC", value)
    if len(v) == 15 and v.isascii() and v.isdigit():
        return True
    if not 15 <= len(v) <= 20:
        return False
    for start in range(4, 9):
        d = v[start : start + 8]
        if len(d) == 8 and d.isascii() and d.isdigit():
            if 1890 <= int(d[:4]) <= 2099 and 1 <= int(d[4:6]) <= 12 and 1 <= int(d[6:]) <= 31:
                return True
    return False


def shown_invalid(value: str) -> str:
    """An invalid code as an error message may show it to any caller.

    A USCC is public and shown as typed, so the caller can spot the typo; a value that
    may be an ID number, mistyped or given where a USCC was expected, is masked like
    one; a value too long to be a code is not shown. A value of another length is no one
    code, but may hold ID numbers (``身份证3206…``, two numbers in one cell): every run of
    15 digits or more in it (``ID_RUN``) is masked.
    """
    v = value.strip()
    if len(v) > SHOWN_MAX:
        return f"a value of {len(v)} characters"
    if 15 <= len(v) <= 20:
        # One code, mistyped: a value with an ID number's shape is masked whole, a USCC
        # (17 digits and a letter is a common one) is shown as typed. Text around digits
        # (``身份证`` and a first-generation number) is no code: its runs are masked.
        if _id_like(v):
            return mask_id_number(v)
        if v.isascii() and v.isalnum():
            return v
    return mask_id_runs(v)


def mask_id_number(value: str) -> str:
    """Show an ID number's first 3 and last 4 characters, never its birth date.

    Used for every ID number written to a log, an error or a response for a caller who
    may not see it in clear.
    """
    v = value.strip()
    if len(v) <= 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


#: An ID number inside other text, wherever it sits: in a name or a Chinese sentence
#: letters, digits and ``_`` are glued to it, so word boundaries would miss it. 15 digits
#: and more: first-generation ID numbers have 15, and text has no other use for so many.
ID_RUN = re.compile(r"\d{15,}[Xx]?")


def mask_id_runs(text: str, *, keep: Callable[[str], bool] = lambda _run: False) -> str:
    """``text`` with every ``ID_RUN`` masked, except the runs ``keep`` says the reader may
    see: free text typed by a caller or a provider (a reason, a note, a title), a name
    chosen by a caller, an FtM id or an invalid value shown in an error."""
    return ID_RUN.sub(
        lambda m: m.group(0) if keep(m.group(0)) else mask_id_number(m.group(0)), text
    )


def mask_code(value: str) -> str:
    """Mask a code if it is a resident ID number; USCCs are public and shown in clear.

    A few USCCs are all digits, so the shape alone does not decide: a code is treated as
    an ID number when its checksum and birth date hold. An ``ftm:`` id is shown as it
    is: FtM ids are case-sensitive, and an upper-cased one names nothing.
    """
    if is_external(value.strip()):
        # An FtM id may carry an ID number (``cn-ric-3206...``): mask that run only.
        return mask_id_runs(value.strip())
    v = value.strip().upper()
    if len(v) == 18 and v[:17].isdigit():
        try:
            validate_person_id(v)
        except InvalidCode:
            return v if _is_uscc(v) else mask_id_number(v)
        return mask_id_number(v)
    return v


def _is_uscc(value: str) -> bool:
    return _uscc_problem(_compact(value)) is None


def _is_person_id(value: str) -> bool:
    try:
        validate_person_id(value)
    except InvalidCode:
        return False
    return True


@dataclass(frozen=True)
class UsccInfo:
    code: str
    authority: str
    org_category: str
    region_code: str

    @property
    def kind(self) -> SubjectKind:
        return "entity"


@dataclass(frozen=True)
class PersonIdInfo:
    code: str
    region_code: str
    birth_date: dt.date
    sex: Literal["male", "female"]

    @property
    def kind(self) -> SubjectKind:
        return "person"

    @property
    def region(self) -> dict[str, str] | None:
        """The division the number was issued in, when stdnum's table knows it."""
        return region_of(self.region_code)

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


def region_of(region_code: str) -> dict[str, str] | None:
    """Province/prefecture/county names for a division code, if known. Information only."""
    from stdnum import numdb

    results = numdb.get("cn/loc").info(region_code)
    info = {k: v for _part, props in results for k, v in props.items()}
    if not info:
        return None
    if "county" in info:
        # stdnum annotates renamed counties as "[start-end]name"; keep the latest name.
        names = [c.split("]", 1)[-1] for c in info["county"].split(",")]
        info["county"] = names[-1]
    return info


_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _compact(value: str) -> str:
    """stdnum's ``compact`` without its per-character generator: loaders call this a lot."""
    return value.replace(" ", "").replace("-", "").strip().upper()


def uscc_check_char(code: str) -> str:
    """GB 32100-2015 check character; the same arithmetic as ``stdnum.cn.uscc`` (tested
    against it), table-driven because it runs for every code of every loaded row."""
    total = sum(_USCC_VALUE[c] * w for c, w in zip(code, _USCC_WEIGHTS, strict=False))
    return USCC_ALPHABET[(31 - total % 31) % 31]


#: Codes each validation cache keeps (about 350 bytes an entry for a USCC, 500 for an
#: ID number): a province's files name the same organisations and persons over and over.
CODE_CACHE_SIZE = 200_000


def validate_uscc(value: str, field: str = "code") -> UsccInfo:
    """Validate a Unified Social Credit Code or raise ``InvalidCode`` saying why."""
    return _uscc_cached(value, field)


def _uscc_problem(code: str) -> str | None:
    """Why a compact code is not a USCC, or None; one set of rules for the raising
    validator and for ``_is_uscc``, which runs on every person row of a load and must
    not pay for an exception each time."""
    if len(code) != 18:
        return f"length {len(code)}, a USCC has 18 characters"
    bad = [c for c in code if c not in USCC_ALPHABET]
    if bad:
        return f"character {bad[0]!r} is not allowed in a USCC"
    if code[0] not in USCC_AUTHORITIES:
        return f"registration authority {code[0]!r} is not defined"
    if not code[2:8].isdigit():
        return "positions 3-8 must be a numeric division code"
    if code[-1] != uscc_check_char(code):
        return "checksum does not match"
    return None


def _validate_uscc(value: str, field: str) -> UsccInfo:
    if not isinstance(value, str):
        raise InvalidCode(field, "not a string", repr(value))
    code = _compact(value)
    problem = _uscc_problem(code)
    if problem is not None:
        raise InvalidCode(field, problem, shown_invalid(code))
    return UsccInfo(code=code, authority=code[0], org_category=code[1], region_code=code[2:8])


def validate_person_id(
    value: str, field: str = "code", today: dt.date | None = None
) -> PersonIdInfo:
    """Validate an 18-digit resident ID number; errors show the value masked."""
    return _person_id_cached(value, field, today or china_today())


def _validate_person_id(value: str, field: str, today: dt.date) -> PersonIdInfo:
    if not isinstance(value, str):
        raise InvalidCode(field, "not a string", "***")
    code = _compact(value)
    shown = mask_id_number(code) if len(code) <= SHOWN_MAX else shown_invalid(code)
    if len(code) != 18:
        raise InvalidCode(field, f"length {len(code)}, a resident ID number has 18", shown)
    if not code.isascii() or not code[:17].isdigit() or not (code[17].isdigit() or code[17] == "X"):
        # isascii: str.isdigit() also passes full-width and other scripts' digits, which
        # int() reads, so "３２０６…" would pass as a second spelling of a real number.
        raise InvalidCode(
            field, "only the digits 0-9, and X as the last character, are allowed", shown
        )
    if code[17] != ric.calc_check_digit(code):
        raise InvalidCode(field, "checksum does not match", shown)
    try:
        birth = dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        raise InvalidCode(field, "impossible birth date", shown) from None
    if birth < EARLIEST_BIRTH or birth > today:
        raise InvalidCode(field, "impossible birth date", shown)
    sex: Literal["male", "female"] = "male" if int(code[16]) % 2 else "female"
    return PersonIdInfo(code=code, region_code=code[:6], birth_date=birth, sex=sex)


_uscc_cached = lru_cache(maxsize=CODE_CACHE_SIZE)(_validate_uscc)
_person_id_cached = lru_cache(maxsize=CODE_CACHE_SIZE)(_validate_person_id)


def limit_code_caches(size: int) -> None:
    """Keep at most ``size`` codes per cache from now on. Why: the loader's validation
    workers (``loaders.row_pool``) each hold their own caches, and at the full size two
    of them took 170 MiB each beside the loader's own memory."""
    global _uscc_cached, _person_id_cached
    _uscc_cached = lru_cache(maxsize=size)(_validate_uscc)
    _person_id_cached = lru_cache(maxsize=size)(_validate_person_id)


def kind_is_open(code: str) -> bool:
    """Whether a valid subject code could name a subject of either kind.

    Almost every code fixes its kind by its form. Not these: an ``ftm:`` id (an
    OpenSanctions export may call one entity a LegalEntity, and later a Person), and an
    all-digit code that passes both as a USCC and as a resident ID number (about one ID
    number in thirty does). Only for these can two rows give one code two kinds, which
    the loader must then settle before the engine's unique code does.
    """
    if is_external(code):
        return True
    return code[:17].isdigit() and _is_person_id(code) and _is_uscc(code)


def classify(value: str, field: str = "code") -> UsccInfo | PersonIdInfo:
    """Validate a code of either kind; an all-digit 18-character code is an ID number."""
    if not isinstance(value, str):
        raise InvalidCode(field, "not a string", repr(value))
    v = _compact(value)  # "320684 19800719257X" is an ID number as much as a USCC is one
    if len(v) == 18 and v[:17].isdigit() and (v[17].isdigit() or v[17] == "X"):
        try:
            return validate_person_id(v, field)
        except InvalidCode as person_error:
            # A few USCCs are all digits; accept one only when its own checksum holds.
            try:
                return validate_uscc(v, field)
            except InvalidCode:
                raise person_error from None
    return validate_uscc(v, field)

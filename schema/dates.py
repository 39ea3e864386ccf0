"""Days as the contract writes them, ``YYYY-MM-DD``, and nothing else.

``date.fromisoformat`` on Python 3.11 also reads ISO week dates (``2026-W01-1``) and
compact forms (``20240229``): a typo there is another day, not an error. The API's
``Date`` scalar and the command line's ``--as-of`` read days through ``iso_date``, and
``--submitted-at`` its times through ``iso_datetime``.
"""

from __future__ import annotations

import datetime as dt
import re

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?"
)


def iso_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` as a date; anything else is a ``ValueError``."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError("a date is written YYYY-MM-DD")
    return dt.date.fromisoformat(text)


def iso_datetime(text: str) -> dt.datetime:
    """``YYYY-MM-DD``, optionally with ``THH:MM[:SS[.ffffff]]`` and ``Z`` or ``+HH:MM``;
    anything else is a ``ValueError``. (``datetime.fromisoformat`` also took
    ``2025-W41-1T10`` and ``20251013T1030``.)"""
    if not _ISO_DATETIME.fullmatch(text):
        raise ValueError("a time is written YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]")
    return dt.datetime.fromisoformat(text)

"""Days as the contract writes them, ``YYYY-MM-DD``, and nothing else.

``date.fromisoformat`` on Python 3.11 also reads ISO week dates (``2026-W01-1``) and
compact forms (``20240229``): a typo there is another day, not an error. The API's
``Date`` scalar and the command line's ``--as-of`` read days through ``iso_date``.
"""

from __future__ import annotations

import datetime as dt
import re

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` as a date; anything else is a ``ValueError``."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError("a date is written YYYY-MM-DD")
    return dt.date.fromisoformat(text)

"""The GraphQL ``Date`` scalar, read exactly as ``YYYY-MM-DD``.

Strawberry's ``Date`` parses with ``date.fromisoformat``, which on Python 3.11 also takes
ISO week dates and compact forms: ``asOf: "2026-W01-1"`` answered for 2025-12-29 and
``"20240229"`` for 2024-02-29, so a typo became another day with no error. A day decides
who answers for a record and whether a measure is in force, so the API refuses what the
loader refuses (CONTRACT.md writes dates ``YYYY-MM-DD``) rather than read it by a guess.
"""

from __future__ import annotations

import datetime as dt
from operator import methodcaller

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

from schema.dates import iso_date


def parse_date(value: object) -> dt.date:
    if isinstance(value, str):
        try:
            return iso_date(value)
        except ValueError as e:
            raise StrawberryInputCoercionError(
                f'Value cannot represent a Date: "{value}". {e}'
            ) from None
    raise StrawberryInputCoercionError(
        f'Value cannot represent a Date: "{value}". A date is written YYYY-MM-DD.'
    )


STRICT_DATE = ScalarDefinition(
    name="Date",
    description="A calendar day, written YYYY-MM-DD.",
    specified_by_url=None,
    serialize=methodcaller("isoformat"),
    parse_value=parse_date,
    parse_literal=None,
    origin=dt.date,
)

"""Run the joint-punishment check: validate the code, one traversal, the rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from graph.record_versions import with_content_on
from graph.store import GraphStore
from queries.check import CHECK_TRAVERSAL
from schema.catalogue import Catalogue
from schema.codes import classify, is_external, validate_external
from schema.policy import Policy
from schema.sanctions import SanctionCheck, evaluate

# Open ends of dated roles, as ISO strings that sort before / after every real date.
MIN_DATE = "0001-01-01"
MAX_DATE = "9999-12-31"


def check_sanctions(
    store: GraphStore,
    code: str,
    *,
    policy: Policy,
    catalogue: Catalogue,
    as_of: dt.date | None = None,
    measure: str | None = None,
    visible: Callable[[Mapping[str, Any]], bool] | None = None,
    check_id: str | None = None,
) -> SanctionCheck:
    key = check_key(code)
    day = as_of or dt.date.today()
    rows = store.read(
        CHECK_TRAVERSAL,
        {
            "code": key,
            "as_of": day.isoformat(),
            "min_date": MIN_DATE,
            "max_date": MAX_DATE,
            "named": "responsible",
            "negative": "negative",
        },
    )
    rows = with_content_on(store, rows, day)
    return evaluate(
        key, rows, as_of=day, policy=policy, catalogue=catalogue, measure=measure,
        visible=visible, check_id=check_id,
    )


def check_key(code: str, field: str = "code") -> str:
    """The normalised code (USCC, ID number or ``ftm:`` id); ``InvalidCode`` for a bad one,
    naming ``field`` and masking ID numbers."""
    if isinstance(code, str) and is_external(code):
        return validate_external(code, field)
    return classify(code, field).code

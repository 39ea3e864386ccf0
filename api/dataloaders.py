"""Per-request DataLoaders: every code asked for at one depth goes out in one query.

They are made for each request (never shared), so one caller's results are never served
to another from a cache, and a graph change is seen by the next request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from api.request_work import in_thread
from graph.store import GraphStore, Row
from queries.profile import RECORDS_OF, ROLES_HELD, ROLES_IN, SUBJECTS_BY_CODE


@dataclass
class Loaders:
    subject: DataLoader[str, dict[str, Any] | None]
    roles_held: DataLoader[str, list[Row]]
    roles_in: DataLoader[str, list[Row]]
    records: DataLoader[str, list[Row]]


def _grouped(store: GraphStore, query: str, codes: Sequence[str]) -> list[list[Row]]:
    rows = store.read(query, {"codes": list(codes)})
    by_code: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_code[row["code"]].append(row)
    return [by_code.get(c, []) for c in codes]


def make_loaders(store: GraphStore) -> Loaders:
    async def subjects(codes: list[str]) -> list[dict[str, Any] | None]:
        groups = await in_thread(_grouped, store, SUBJECTS_BY_CODE, codes)
        return [g[0]["subject"] if g else None for g in groups]

    def grouped(query: str) -> DataLoader[str, list[Row]]:
        async def load(codes: list[str]) -> list[list[Row]]:
            return await in_thread(_grouped, store, query, codes)

        return DataLoader(load_fn=load)

    return Loaders(
        subject=DataLoader(load_fn=subjects),
        roles_held=grouped(ROLES_HELD),
        roles_in=grouped(ROLES_IN),
        records=grouped(RECORDS_OF),
    )

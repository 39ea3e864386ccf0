"""Real HTTP against the real app: keys made through the key store, requests via httpx."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import httpx

from api.keys import create_key
from graph.store import GraphStore


@dataclass
class Client:
    url: str
    key: str | None = None
    purpose: str | None = "测试: 联合惩戒核查"
    headers: dict[str, str] = field(default_factory=dict)

    def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        headers: dict[str, str | bytes] = dict(self.headers)
        if self.key is not None:
            headers["Authorization"] = f"Bearer {self.key}"
        if self.purpose is not None:
            headers["X-Purpose"] = self.purpose.encode("utf-8")
        return httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,  # type: ignore[arg-type]
            timeout=60,
        )

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.post(query, variables)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "errors" not in body, body
        out: dict[str, Any] = body["data"]
        return out

    def error_code(self, query: str, variables: dict[str, Any] | None = None) -> str:
        r = self.post(query, variables)
        assert r.status_code in (200, 400), r.text
        code: str = r.json()["errors"][0]["extensions"]["code"]
        return code


def make_key(
    store: GraphStore,
    role: str,
    name: str,
    *,
    subject: str | None = None,
    unit: str | None = None,
    expires: dt.date | None = None,
) -> str:
    key, _ = create_key(store, role=role, name=name, subject=subject, unit=unit, expires=expires)
    return key


@dataclass
class Callers:
    """The three kinds of caller an investigation test compares."""

    public: Client
    agency: Client
    operator: Client

    @classmethod
    def at(cls, url: str, agency_key: str, operator_key: str) -> Callers:
        return cls(Client(url, None, purpose=None), Client(url, agency_key),
                   Client(url, operator_key))

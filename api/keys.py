"""API keys: made once and printed once, stored as hashes, resolved to a ``Caller``.

A key is 32 random bytes; with that much entropy a single SHA-256 is enough to keep the
stored hash useless to whoever reads the graph (a slow password hash protects guessable
secrets, not random ones) and keeps the lookup on every request cheap. Resolved keys are
cached for a short time so a busy joint-sanction system does not cost a round trip per
request; revocation and expiry therefore take effect within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.store import GraphStore
from queries.access import (
    CREATE_GRANT,
    CREATE_KEY,
    GRANT_BY_ID,
    GRANTS_GIVEN,
    GRANTS_HELD,
    KEY_BY_HASH,
    KEY_BY_NAME,
    KEY_NAME_TAKEN,
    LIST_KEYS,
    REVOKE_KEY,
    WITHDRAW_GRANT,
)
from schema.access import KEY_ROLES, Caller, CallerRole
from schema.codes import classify, mask_code
from schema.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

KEY_PREFIX = "cg_"
CACHE_SECONDS = 30.0
GRANT_CACHE_SECONDS = 5.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_UNIT = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyInfo:
    name: str
    role: CallerRole
    subject: str | None
    unit: str | None
    created_at: str
    expires: dt.date | None
    revoked_at: str | None

    @classmethod
    def of(cls, props: dict[str, Any]) -> KeyInfo:
        expires = props.get("expires")
        return cls(
            name=str(props["name"]),
            role=CallerRole(props["role"]),
            subject=props.get("subject"),
            unit=props.get("unit"),
            created_at=str(props.get("created_at", "")),
            expires=dt.date.fromisoformat(expires) if expires else None,
            revoked_at=props.get("revoked_at"),
        )

    def caller(self) -> Caller:
        return Caller(role=self.role, key_name=self.name, subject_code=self.subject,
                      unit=self.unit)

    def usable_on(self, day: dt.date) -> bool:
        return self.revoked_at is None and (self.expires is None or day <= self.expires)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "subject": mask_code(self.subject) if self.subject else None,
            "unit": self.unit,
            "created_at": self.created_at,
            "expires": self.expires.isoformat() if self.expires else None,
            "revoked_at": self.revoked_at,
        }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_new_expiry(expires: dt.date | None, today: dt.date) -> None:
    """A new key's last day must not be past: such a key would be refused on its first
    request (``usable_on``), and was printed and stored as if it worked. ``today`` is the
    day the service checks keys against (``china_today()``); the key still works on its
    last day, so an expiry of today is allowed. Checked by ``keys create`` before the
    engine is opened; ``create_key`` itself does not, so tests can make an expired key."""
    if expires is not None and expires < today:
        raise InvalidInput(
            f"--expires: {expires.isoformat()} is in the past (today is {today.isoformat()}); "
            "give the last day the key should work. No key was created"
        )


def create_key(
    store: GraphStore,
    *,
    role: str,
    name: str,
    subject: str | None = None,
    unit: str | None = None,
    expires: dt.date | None = None,
) -> tuple[str, KeyInfo]:
    """Make a key; return it (shown once, never stored) and what was stored."""
    try:
        key_role = CallerRole(role)
    except ValueError:
        raise InvalidInput(
            f"role: {role!r} is not a key role; valid: {', '.join(r.value for r in KEY_ROLES)}"
        ) from None
    if key_role not in KEY_ROLES:
        raise InvalidInput("role: the public needs no key")
    if not _NAME.match(name):
        raise InvalidInput(
            "name: 1-64 letters, digits, '_', '.', ':' or '-', starting alphanumeric"
        )
    if key_role is CallerRole.SUBJECT:
        if not subject:
            raise InvalidInput("subject: a subject key is bound to its own code; give --subject")
        subject = classify(subject, "subject").code
    elif subject:
        raise InvalidInput("subject: only a key with role 'subject' is bound to a code")
    if key_role in (CallerRole.AGENCY, CallerRole.PROVIDER):
        unit = unit or name.lower()
        if not _UNIT.match(unit):
            raise InvalidInput(
                f"unit: {unit!r} must be lowercase letters, digits, '_' or '-' (e.g. 'tax')"
            )
    elif unit:
        raise InvalidInput("unit: only agency and provider keys belong to a unit")
    if store.read(KEY_NAME_TAKEN, {"name": name}):
        raise InvalidInput(f"name: a key named {name!r} already exists")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    rows = store.write_one(
        CREATE_KEY,
        {
            "name": name,
            "hash": key_hash(key),
            "role": key_role.value,
            "subject": subject,
            "unit": unit,
            "now": _now(),
            "expires": expires.isoformat() if expires else None,
        },
    )
    return key, KeyInfo.of(rows[0]["key"])


def list_keys(store: GraphStore) -> list[KeyInfo]:
    return [KeyInfo.of(r["key"]) for r in store.read(LIST_KEYS)]


def revoke_key(store: GraphStore, name: str) -> KeyInfo:
    rows = store.write_one(REVOKE_KEY, {"name": name, "now": _now()})
    if not rows:
        raise NotFound(f"no key named {name!r}")
    return KeyInfo.of(rows[0]["key"])


class KeyResolver:
    """Turns an ``Authorization`` header into a ``Caller``, with a short-lived cache."""

    def __init__(
        self,
        store: GraphStore,
        *,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, KeyInfo | None]] = {}
        self._grants: dict[str, tuple[float, dt.date, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def cached(self, authorization: str | None, today: dt.date) -> Caller | None:
        """The caller if it can be decided without the graph (no header, or a key resolved
        recently), else ``None``; lets the event loop skip a thread hop per request."""
        if authorization is None or not authorization.strip():
            return Caller(CallerRole.PUBLIC)
        token = _bearer_token(authorization)
        if token is None:
            return None
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key_hash(token))
        if hit is None or now - hit[0] >= self._ttl or hit[1] is None:
            return None
        return hit[1].caller() if hit[1].usable_on(today) else None

    def cached_grants(self, key_name: str, today: dt.date) -> frozenset[str] | None:
        now = self._clock()
        with self._lock:
            hit = self._grants.get(key_name)
        if hit is not None and now - hit[0] < GRANT_CACHE_SECONDS and hit[1] == today:
            return hit[2]
        return None

    def _lookup(self, digest: str) -> KeyInfo | None:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(digest)
            if hit is not None and now - hit[0] < self._ttl:
                return hit[1]
        rows = self._store.read(KEY_BY_HASH, {"hash": digest})
        info = KeyInfo.of(rows[0]["key"]) if rows else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now, info)
        return info

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
            self._grants.clear()

    def grants(self, key_name: str, today: dt.date) -> frozenset[str]:
        """Subjects whose authorisation ``key_name`` holds on ``today``, briefly cached."""
        cached = self.cached_grants(key_name, today)
        if cached is not None:
            return cached
        now = self._clock()
        held = grants_held(self._store, key_name, today)
        with self._lock:
            if len(self._grants) > 10_000:
                self._grants.clear()
            self._grants[key_name] = (now, today, held)
        return held

    def forget_grants(self, key_name: str) -> None:
        """A grant made through this process counts at once (others see it within
        ``GRANT_CACHE_SECONDS``)."""
        with self._lock:
            self._grants.pop(key_name, None)

    def caller(self, authorization: str | None, today: dt.date) -> Caller:
        """No header: the public. A header that is not a valid, live key: an error, not
        a silent downgrade to the public, so an integrator notices a broken key at once."""
        if authorization is None or not authorization.strip():
            return Caller(CallerRole.PUBLIC)
        token = _bearer_token(authorization)
        if token is None:
            raise Unauthenticated("Authorization: expected 'Bearer <key>'")
        info = self._lookup(key_hash(token))
        if info is None:
            raise Unauthenticated("Authorization: unknown API key")
        if info.revoked_at is not None:
            raise Unauthenticated(f"Authorization: the key {info.name!r} was revoked")
        if not info.usable_on(today):
            raise Unauthenticated(f"Authorization: the key {info.name!r} has expired")
        return info.caller()


def _bearer_token(authorization: str) -> str | None:
    """The key of a ``Bearer <key>`` header, or ``None`` when the header has another form."""
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def grants_held(store: GraphStore, key_name: str, today: dt.date) -> frozenset[str]:
    rows = store.read(GRANTS_HELD, {"grantee": key_name, "today": today.isoformat()})
    return frozenset(str(r["subject"]) for r in rows)


@dataclass(frozen=True)
class GrantInfo:
    id: str
    subject: str
    grantee: str
    since: dt.date
    until: dt.date
    granted_by: str
    granted_at: str
    note: str | None
    withdrawn_at: str | None = None
    withdrawn_by: str | None = None


def _grant(props: dict[str, Any]) -> GrantInfo:
    return GrantInfo(
        id=str(props["id"]),
        subject=str(props["subject"]),
        grantee=str(props["grantee"]),
        since=dt.date.fromisoformat(props["since"]),
        until=dt.date.fromisoformat(props["until"]),
        granted_by=str(props["granted_by"]),
        granted_at=str(props["granted_at"]),
        note=props.get("note"),
        withdrawn_at=props.get("withdrawn_at"),
        withdrawn_by=props.get("withdrawn_by"),
    )


def grant_authorization(
    store: GraphStore,
    caller: Caller,
    *,
    grantee: str,
    until: dt.date,
    subject: str | None = None,
    note: str | None = None,
    today: dt.date,
) -> GrantInfo:
    """The subject (or an operator on its behalf) lets one key read its authorised records."""
    if caller.role is CallerRole.SUBJECT:
        if subject is not None and classify(subject, "subject").code != caller.subject_code:
            raise Forbidden("a subject may grant access to its own information only")
        code = caller.subject_code
    elif caller.role is CallerRole.OPERATOR:
        if subject is None:
            raise InvalidInput("subjectCode: an operator grants on behalf of a named subject")
        code = classify(subject, "subjectCode").code
    else:
        raise Forbidden("only the subject itself or an operator may grant authorisation")
    assert code is not None
    if until < today:
        raise InvalidInput(f"until: {until.isoformat()} is in the past")
    if until > today + dt.timedelta(days=366 * 5):
        raise InvalidInput("until: a grant lasts at most five years")
    found = store.read(KEY_BY_NAME, {"name": grantee})
    if not found or not KeyInfo.of(found[0]["key"]).usable_on(today):
        # A revoked or expired key reads nothing; a grant to it would wake if the key
        # were ever given back, without the subject being asked again.
        raise NotFound(f"no key in use named {grantee!r}")
    rows = store.write_one(
        CREATE_GRANT,
        {
            "id": uuid.uuid4().hex,
            "subject": code,
            "grantee": grantee,
            "since": today.isoformat(),
            "until": until.isoformat(),
            "granted_by": caller.label,
            "now": _now(),
            "note": note,
        },
    )
    return _grant(rows[0]["grant"])


def withdraw_authorization(store: GraphStore, caller: Caller, grant_id: str) -> GrantInfo:
    """The subject (or an operator) ends a grant before its ``until``: consent given can
    be withdrawn (PIPL Art. 15), and a subject that changes banks should not have to wait
    for the old one's grant to run out. The grant is kept, marked, so ``grants`` still
    shows who could read the records and until when. Withdrawing twice changes nothing.
    """
    if caller.role not in (CallerRole.SUBJECT, CallerRole.OPERATOR):
        raise Forbidden("only the subject itself or an operator may withdraw an authorisation")
    rows = store.read(GRANT_BY_ID, {"id": grant_id})
    if not rows or (caller.role is CallerRole.SUBJECT
                    and rows[0]["grant"]["subject"] != caller.subject_code):
        # Another subject's grant is answered as no grant at all: its id says nothing.
        raise NotFound(f"no authorisation {grant_id!r} given by this subject")
    done = store.write_one(WITHDRAW_GRANT, {"id": grant_id, "by": caller.label, "now": _now()})
    return _grant(done[0]["grant"])


def grants_given(store: GraphStore, subject: str) -> list[GrantInfo]:
    return [_grant(r["grant"]) for r in store.read(GRANTS_GIVEN, {"subject": subject})]


DEMO_KEY_NAME = "demo-operator"


def ensure_demo_key(store: GraphStore, data_dir: Path) -> Path:
    """``serve --demo`` makes an operator key once and keeps it in the data directory
    (mode 0600), so a newcomer can try every query without running ``keys create``.
    The demo is for a laptop; a production deployment never runs with ``--demo``."""
    path = data_dir / f"{DEMO_KEY_NAME}.key"
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if store.read(KEY_BY_HASH, {"hash": key_hash(key)}):
            return path
    name = DEMO_KEY_NAME
    if store.read(KEY_NAME_TAKEN, {"name": name}):
        name = f"{DEMO_KEY_NAME}-{secrets.token_hex(3)}"
    key, _ = create_key(store, role=CallerRole.OPERATOR.value, name=name)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(key + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path

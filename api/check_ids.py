"""Self-verifying check ids: a system that applied a measure proves which check it saw.

Checks run thousands of times a day; storing each one so a later report can name it
would cost a write per check. Instead the id carries what the report needs, signed:
``<asOf yyyymmdd>.<nonce: 12 hex>.<mac: 24 hex>`` with the MAC an HMAC-SHA256, under a
secret only the service holds, of ``code|asOf|policy|nonce``. A report can then be
tied to the code, the date and the policy of the check it came from without any
storage, and an id made up by a client, or taken from another subject's check, fails.

The nonce also carries the moment the check was made: its first 11 hex digits are the
issue time in milliseconds since the epoch (UTC), the last one is random, and the MAC is
then of ``v2|code|asOf|policy|nonce``. A report is judged on what the check answered
*then* (``api.feedback``): a record deleted after the check still grounds the measure
the check returned, and one deleted before it does not. Ids issued before the time was
signed (a random nonce, the MAC without ``v2|``) are still accepted, with no issue time.

The secret is a 32-byte file ``<data_dir>/check-id.key`` (mode 0600), made on first
use. Every instance that answers checks for the same graph must use the same file, or
the ids one issues are refused by another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import re
import secrets
from pathlib import Path

from schema.errors import ConfigError, InvalidInput

log = logging.getLogger("credit_graph.api")

KEY_FILE_NAME = "check-id.key"
SECRET_BYTES = 32
NONCE_HEX = 12
MAC_HEX = 24

_ID = re.compile(rf"^(\d{{8}})\.([0-9a-f]{{{NONCE_HEX}}})\.([0-9a-f]{{{MAC_HEX}}})$")


#: Hex digits of the nonce that hold the issue time (ms since the epoch, to 2527).
TIME_HEX = 11


def _mac(
    secret: bytes, code: str, as_of: dt.date, policy: str, nonce: str, *, timed: bool = True
) -> str:
    prefix = "v2|" if timed else ""
    message = f"{prefix}{code}|{as_of.isoformat()}|{policy}|{nonce}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:MAC_HEX]


def issue(
    secret: bytes, code: str, as_of: dt.date, policy: str, *, at: dt.datetime | None = None
) -> str:
    """A new id for one check of ``code`` (its normalised form) as of ``as_of``, made at
    ``at`` (now)."""
    millis = int((at or dt.datetime.now(dt.UTC)).timestamp() * 1000)
    nonce = f"{millis:0{TIME_HEX}x}"[-TIME_HEX:] + secrets.choice("0123456789abcdef")
    return f"{as_of:%Y%m%d}.{nonce}.{_mac(secret, code, as_of, policy, nonce)}"


def verify(secret: bytes, check_id: str, code: str, policy: str) -> dt.date:
    """The ``asOf`` of the check ``check_id`` names, if this service issued it for
    ``code`` under ``policy``; otherwise ``InvalidInput``."""
    return verify_issued(secret, check_id, code, policy)[0]


def verify_issued(
    secret: bytes, check_id: str, code: str, policy: str
) -> tuple[dt.date, dt.datetime | None]:
    """The ``asOf`` of the check ``check_id`` names and when it was made (UTC, to the
    millisecond; None for an id issued before ids carried it), if this service issued it
    for ``code`` under ``policy``; otherwise ``InvalidInput``.

    A forged id, one of another code's check and one issued under another policy all
    fail the same MAC comparison, so the message names every possibility.
    """
    m = _ID.match(check_id.strip()) if isinstance(check_id, str) else None
    if m is None:
        raise InvalidInput(
            "checkId: not a check id (expected yyyymmdd.<12 hex>.<24 hex>, as checkSanctions "
            "returns it)"
        )
    day_text, nonce, mac = m.groups()
    try:
        as_of = dt.datetime.strptime(day_text, "%Y%m%d").date()
    except ValueError:
        raise InvalidInput("checkId: not a check id (its date is not a date)") from None
    if hmac.compare_digest(mac, _mac(secret, code, as_of, policy, nonce)):
        millis = int(nonce[:TIME_HEX], 16)
        return as_of, dt.datetime.fromtimestamp(millis / 1000, dt.UTC)
    if not hmac.compare_digest(mac, _mac(secret, code, as_of, policy, nonce, timed=False)):
        raise InvalidInput(
            "checkId was not issued for this code (or not by this service, or under another "
            f"policy than {policy})"
        )
    return as_of, None


def load_secret(data_dir: Path) -> bytes:
    """The service's secret, made on first use.

    Several workers may start at once: the secret is written to a private temporary file
    and linked into place, so a reader never sees a partial file and exactly one secret
    wins; the others read it.

    A data directory that cannot hold the file (a regular file, not writable, not
    readable) is a ``ConfigError`` naming it: with an engine outside the directory
    nothing else has tried to use it yet, and the CLI turns the error into one line.
    """
    try:
        return _load_secret(data_dir)
    except OSError as e:
        raise ConfigError(
            f"CREDIT_GRAPH_DATA_DIR: cannot keep the check-id secret in {data_dir}: "
            f"{e.strerror or type(e).__name__}"
        ) from None


def _load_secret(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(SECRET_BYTES))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
                # Said once, by the process whose secret won: a second host that was meant
                # to share the first one's file would otherwise refuse its ids in silence.
                log.warning(
                    "made a new check-id secret %s: every instance answering checks for "
                    "this graph must use this same file", path,
                )
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise ConfigError(
            f"{path}: the check-id secret must be {SECRET_BYTES} bytes; it has {len(secret)}"
        )
    return secret

"""All configuration in one pydantic-settings class, read from the environment and `.env`.

A bad value must stop start-up with one line naming the variable (CONTRACT.md section 1),
so validation errors are rewritten into ``ConfigError`` messages here.
"""

from __future__ import annotations

import errno
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Literal

from dotenv.parser import parse_stream
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from loaders.limits import InputLimits
from schema.errors import ConfigError

PREFIX = "CREDIT_GRAPH_"
POLICIES = ("nantong", "wuhan", "huancui", "zhengzhou", "yangjiang")
ENV_FILE = ".env"
#: The variable a broken ``.env`` line was meant to set: ``NAME=`` ...
_ASSIGNED = re.compile(r"(?:export\s+)?([A-Za-z_]\w*)\s*=")
#: ... or, with no ``=`` at all, a name of ours at the start of the line.
_OURS = re.compile(rf"(?:export\s+)?({PREFIX}\w*)", re.IGNORECASE)


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "credit-graph"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore"
    )

    engine: Literal["embedded", "neo4j"] = "embedded"
    data_dir: Path = Field(default_factory=_default_data_dir)
    falkordb_url: str | None = None
    #: The graph (key) inside FalkorDB; several deployments can share one server.
    falkordb_graph: str = Field(default="credit", pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    neo4j_uri: str | None = None
    neo4j_user: str | None = "neo4j"
    neo4j_password: SecretStr | None = None
    neo4j_database: str | None = None
    policy: Literal["nantong", "wuhan", "huancui", "zhengzhou", "yangjiang"] = "nantong"
    production: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: uvicorn worker processes for ``serve`` (each opens its own engine connection).
    workers: int = Field(default=1, ge=1, le=64)
    #: A GraphQL request running longer than this is answered with ``TIMEOUT``.
    request_timeout_s: float = Field(default=10.0, gt=0, le=600)
    #: A larger GraphQL request body is refused unread (``api/body_limit.py``).
    max_body_bytes: int = Field(default=1024**2, ge=64 * 1024)
    #: Per key (per client address for the public): sustained requests per second ...
    rate_limit_per_s: float = Field(default=200.0, gt=0)
    #: ... and the burst allowed above it.
    rate_limit_burst: int = Field(default=400, ge=1)
    #: Where the audit log lives; default ``<data_dir>/audit``.
    audit_dir: Path | None = None
    #: ``load``: a larger file is refused whole (loaders/limits.py) ...
    load_max_file_bytes: int = Field(default=2 * 1024**3, ge=1)
    #: ... as is an XLSX that unpacks to more (a zip bomb); ...
    load_max_xlsx_unpacked_bytes: int = Field(default=1024**3, ge=1)
    #: ... a longer JSONL/CSV line rejects its row unread; ...
    load_max_line_bytes: int = Field(default=1024**2, ge=1024)
    #: ... and a longer field rejects its row.
    load_max_field_chars: int = Field(default=10_000, ge=100)
    #: ``load``: processes that validate a large file's rows (loaders/row_pool.py);
    #: unset: one per core, at most 4; 0: the loader validates alone.
    load_workers: int | None = Field(default=None, ge=0, le=64)
    #: Fair share (api/fair_share.py): expensive requests one key may run at once per
    #: worker; more wait for their turn ...
    fair_share: bool = True
    fair_share_per_key: int = Field(default=1, ge=1, le=64)
    #: ... at most this long, then get LIMIT_EXCEEDED.
    fair_share_wait_s: float = Field(default=2.0, ge=0, le=60)
    #: The share of a worker's time one key's expensive requests may take sustained ...
    fair_share_busy_share: float = Field(default=0.1, gt=0, le=1)
    #: ... after a burst of this many seconds of them.
    fair_share_busy_burst_s: float = Field(default=2.0, ge=0)
    #: The share holds a key back only while another key has a request in flight or
    #: sent one within this many seconds.
    fair_share_idle_s: float = Field(default=1.0, gt=0)
    #: Root fields that make a request expensive whatever their arguments (GraphQL
    #: names, comma-separated); larger than default paths, neighbourhoods and batches are
    #: expensive too (api/fair_share.py ARGUMENT_BOUNDS).
    fair_share_fields: str = (
        "communities,riskScores,riskScore,keyPersons,controlChain,relatedParties,"
        "exportGraph,pendingReversals,measureReport,overdueObjections"
    )

    @property
    def load_limits(self) -> InputLimits:
        return InputLimits(
            max_file_bytes=self.load_max_file_bytes,
            max_line_bytes=self.load_max_line_bytes,
            max_field_chars=self.load_max_field_chars,
            max_xlsx_unpacked_bytes=self.load_max_xlsx_unpacked_bytes,
        )

    @property
    def audit_path(self) -> Path:
        return self.audit_dir or self.data_dir / "audit"

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_unset_when_empty(cls, v: object) -> object:
        """An empty ``CREDIT_GRAPH_DATA_DIR=`` is unset, as an empty URL is: as a path it
        is the working directory, where the engine's files and the check-id secret
        landed unnoticed and a later run from elsewhere did not find them."""
        if isinstance(v, str) and not v.strip():
            return _default_data_dir()
        return v

    @field_validator("audit_dir", mode="before")
    @classmethod
    def _audit_dir_unset_when_empty(cls, v: object) -> object:
        """Empty is unset (``<data dir>/audit``), not the working directory."""
        if isinstance(v, str) and not v.strip():
            return None
        return v

    @field_validator("falkordb_url")
    @classmethod
    def _url_scheme(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        if not v.startswith(("redis://", "rediss://", "falkor://", "falkors://", "unix://")):
            raise ValueError(
                "must start with redis://, rediss://, falkor://, falkors:// or unix://"
            )
        return v

    @field_validator("neo4j_uri")
    @classmethod
    def _neo4j_scheme(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        schemes = ("neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt://", "bolt+s://", "bolt+ssc://")
        if not v.startswith(schemes):
            raise ValueError("must start with neo4j:// (routing) or bolt://")
        return v


def _check_env_file(path: Path) -> None:
    """Refuse a ``.env`` that pydantic-settings would misread, naming file and line.

    Read as it is, a file that is not UTF-8 (GB18030 from a Chinese editor, UTF-16 from
    Notepad) ended start-up in a ``UnicodeDecodeError`` traceback, and a line python-dotenv
    cannot parse (an unclosed quote) was skipped with a warning: the service then ran on
    the default of that setting, e.g. another city's policy. Every broken line stops
    start-up, whatever its variable, since the file is this service's configuration.
    The values are never shown: the file holds the Neo4j password.
    """
    if not path.is_file():  # none, or a FIFO that a second read would find empty
        return
    shown = path.absolute()
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{shown}: cannot read it: {e.strerror or e}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\0" in raw:
        raise ConfigError(f"{shown}: is UTF-16 text (as Notepad saves it); save it as UTF-8")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConfigError(
            f"{shown}: line {line} is not UTF-8 text (byte 0x{raw[e.start]:02x}, GB18030 "
            "perhaps); save it as UTF-8"
        ) from None
    # Read as python-dotenv reads it (universal newlines), so the lines are its lines.
    with io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8") as text:
        for binding in parse_stream(text):
            if not binding.error:
                continue
            statement = binding.original.string
            # The statement starts with the blank lines before it; its line number does not.
            body = statement.lstrip()
            line = binding.original.line + statement[: len(statement) - len(body)].count("\n")
            found = _ASSIGNED.match(body) or _OURS.match(body)
            name = f"{found.group(1)}: " if found else ""
            raise ConfigError(
                f"{name}{shown} line {line} cannot be read as NAME=value (an unclosed "
                "quote?); fix the line"
            )


def check_audit_dir(settings: Settings) -> None:
    """Stop ``serve`` at start when the audit log cannot be written.

    Without this an unusable directory (``/proc/nope``, one under a regular file, one
    without write permission) let the service start, and /healthz say ok, while every
    keyed request was answered ``AUDIT_UNAVAILABLE``. The log itself is still opened on
    first use (api/app.py); this only proves the directory can be made and written.
    """
    path = settings.audit_path
    name = f"{PREFIX}AUDIT_DIR" if settings.audit_dir is not None else f"{PREFIX}DATA_DIR"
    try:
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise ConfigError(
            f"{name}: cannot write the audit log in {path}: {e.strerror or type(e).__name__}"
        ) from None


def load_settings(**overrides: object) -> Settings:
    """Read settings; turn the first invalid value into a one-line ``ConfigError``."""
    _check_env_file(Path(ENV_FILE))
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        err = e.errors(include_url=False, include_input=False)[0]
        name = PREFIX + str(err["loc"][0]).upper() if err["loc"] else PREFIX
        raise ConfigError(f"{name}: {err['msg']}") from None
    if settings.engine == "neo4j" and not settings.neo4j_uri:
        raise ConfigError(f"{PREFIX}NEO4J_URI: required when {PREFIX}ENGINE=neo4j")
    return settings

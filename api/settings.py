"""All configuration in one pydantic-settings class, read from the environment and `.env`.

A bad value must stop start-up with one line naming the variable (CONTRACT.md section 1),
so validation errors are rewritten into ``ConfigError`` messages here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from loaders.limits import InputLimits
from schema.errors import ConfigError

PREFIX = "CREDIT_GRAPH_"
POLICIES = ("nantong", "wuhan", "huancui", "zhengzhou", "yangjiang")


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "credit-graph"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
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


def load_settings(**overrides: object) -> Settings:
    """Read settings; turn the first invalid value into a one-line ``ConfigError``."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        err = e.errors(include_url=False, include_input=False)[0]
        name = PREFIX + str(err["loc"][0]).upper() if err["loc"] else PREFIX
        raise ConfigError(f"{name}: {err['msg']}") from None
    if settings.engine == "neo4j" and not settings.neo4j_uri:
        raise ConfigError(f"{PREFIX}NEO4J_URI: required when {PREFIX}ENGINE=neo4j")
    return settings

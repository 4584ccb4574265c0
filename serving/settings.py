"""The service's settings: one pydantic-settings object, validated at start-up, injected, never global.

Every field can be set from an environment variable ``DENIALS_<FIELD>`` (``DENIALS_MODEL_URI``,
``DENIALS_API_KEY_HASHES``, ...). The object refuses unsafe values: outside demo mode it needs at least one
API key hash and an id salt; demo mode binds to the loopback interface only.

>>> settings = Settings(demo=True)  # doctest: +SKIP
>>> app = create_app(settings)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["DEFAULT_MODEL_URI", "ExplainSettings", "Settings", "get_settings", "hash_api_key"]

DEFAULT_MODEL_URI = "models:/oncology-denials@champion"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_LOOPBACK_NAMES = {"localhost"}


def hash_api_key(key: str) -> str:
    """The SHA-256 hex digest of an API key: what ``DENIALS_API_KEY_HASHES`` holds.

    >>> hash_api_key("example")[:16]
    '50d858e0985ecc7f'
    """
    return hashlib.sha256(key.encode()).hexdigest()


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ExplainSettings(BaseSettings):
    """Which lines get reasons and how many (``DENIALS_EXPLAIN_*``): shared by the API and ``denials score``,
    so that both return the same content."""

    model_config = SettingsConfigDict(env_prefix="DENIALS_", extra="ignore", frozen=True)

    explain_threshold: float = Field(
        0.2, ge=0, le=1, description="lines at or above this denial probability get exact TreeSHAP reasons"
    )
    explain_top_k: int = Field(
        2, ge=0, description="the k riskiest lines of a claim are explained as well (if at explain_min_risk)"
    )
    explain_min_risk: float = Field(
        0.05, ge=0, le=1, description="the top-k lines are explained only at or above this denial probability"
    )
    reasons_per_line: int = Field(3, ge=1, le=10)

    def explain_options(self) -> dict[str, Any]:
        """These settings as :class:`~serving.scorer.ModelScorer` keyword arguments."""
        return self.model_dump(include=set(ExplainSettings.model_fields))


class Settings(ExplainSettings):
    """Settings of the scoring service (environment variables ``DENIALS_*``)."""

    model_config = SettingsConfigDict(env_prefix="DENIALS_", extra="ignore", frozen=True)

    # --- the model
    model_uri: str = Field(
        DEFAULT_MODEL_URI,
        description="models:/<name>@<alias>, models:/<name>/<version>, runs:/..., or a model folder",
    )
    tracking_uri: str | None = Field(
        None, description="MLflow tracking/registry URI; else MLFLOW_TRACKING_URI, else MLflow's default"
    )
    model_cache: Path = Field(
        Path("data/serving/model-cache"),
        description="folder of the last model loaded from the registry, used when the registry is unreachable",
    )
    compiled_trees: bool = Field(
        True,
        description="plain predictions by the risk booster compiled with lleaves (checked against LightGBM "
        "at load, cached under model_cache/compiled; LightGBM's own if that fails); explanations stay LightGBM's",
    )
    reload_interval_s: float = Field(
        0.0, ge=0, description="check the registry alias every N seconds and reload a new version (0: off)"
    )
    # --- security and privacy
    demo: bool = Field(False, description="local demo: loopback only, a generated key when none is set")
    demo_key: SecretStr | None = Field(None, description="the demo API key (demo mode; else a random one)")
    api_key_hashes: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="SHA-256 hex digests of the accepted API keys, comma-separated"
    )
    id_salt: SecretStr | None = Field(
        None, description="salt for hashing claim and patient ids in logs (DENIALS_ID_SALT, as for ingest)"
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    # --- limits
    max_body_bytes: int = Field(5 * 1024 * 1024, gt=0, description="larger request bodies get 413")
    max_claims_per_request: int = Field(500, gt=0, description="more claims in one request get 413")
    max_in_flight: int = Field(
        2,
        gt=0,
        description="scoring requests worked on at once per worker; the work is CPU-bound, so more would only "
        "share the CPU and stretch every request: the others wait their turn, in order (bounded)",
    )
    inline_max_lines: int = Field(
        60,
        ge=0,
        description="requests with at most this many lines are scored on the event loop (no thread hand-over); "
        "larger ones in a worker thread, so that health checks answer while they are scored",
    )
    queue_timeout_s: float = Field(
        2.0, gt=0, description="how long a request waits for a scoring slot before a 503 with Retry-After"
    )
    # --- prediction log
    prediction_log_url: str = Field(
        "sqlite:///data/serving/predictions.db", description="SQLAlchemy URL; empty string: no log"
    )
    prediction_log_queue: int = Field(10_000, gt=0, description="lines waiting to be written, at most")

    @field_validator("api_key_hashes", mode="before")
    @classmethod
    def _split_hashes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @field_validator("api_key_hashes")
    @classmethod
    def _check_hashes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for position, digest in enumerate(value, start=1):
            if not _SHA256.match(digest.lower()):
                raise ValueError(
                    f"API key hash {position} is not a SHA-256 hex digest (64 hex characters); store "
                    "hashes, not keys: python -c \"import hashlib; print(hashlib.sha256(b'KEY').hexdigest())\""
                )
        return tuple(d.lower() for d in value)

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.demo:
            if not _is_loopback(self.host):
                raise ValueError(f"demo mode binds to the loopback interface only, not {self.host!r}")
            return self
        if not self.api_key_hashes:
            raise ValueError(
                "no API keys configured: set DENIALS_API_KEY_HASHES to the SHA-256 digests of the keys, "
                "or start a local demo with --demo"
            )
        if self.id_salt is None or not self.id_salt.get_secret_value():
            raise ValueError("no id salt: set DENIALS_ID_SALT (the salt ids are hashed with in logs)")
        return self

    def accepted_key_hashes(self) -> tuple[str, ...]:
        """The configured key hashes, and in demo mode the demo key's."""
        if self.demo and self.demo_key is not None:
            return (*self.api_key_hashes, hash_api_key(self.demo_key.get_secret_value()))
        return self.api_key_hashes

    def salt(self) -> str:
        """The id salt (demo mode without one: a random salt for this process)."""
        if self.id_salt is not None and self.id_salt.get_secret_value():
            return self.id_salt.get_secret_value()
        return _process_salt()

    def with_demo_key(self) -> Settings:
        """In demo mode without keys: the same settings with a random demo key (to print and use)."""
        if not self.demo or self.api_key_hashes or self.demo_key is not None:
            return self
        return self.model_copy(update={"demo_key": SecretStr(secrets.token_urlsafe(24))})


@lru_cache(maxsize=1)
def _process_salt() -> str:
    return secrets.token_hex(16)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment, read and validated once (tests pass their own to create_app)."""
    return Settings()

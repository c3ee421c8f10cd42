"""The package's one settings object, read once at the entry point and passed down explicitly.

Sources, later ones winning: the defaults below; a TOML file (``BATTERYLOOP_CONFIG`` or an explicit path);
the environment (``BATTERYLOOP_DATABASE_URL``, ``BATTERYLOOP_PUBLIC_BASE_URL``, ``BATTERYLOOP_ADMIN_TOKEN``,
``BATTERYLOOP_MAX_PAYLOAD_BYTES``, ``BATTERYLOOP_LEDGER_<SETTING>``); explicit overrides from the caller
(command-line options). The file holds the same names in lower case, the ledger's under ``[ledger]``::

    database_url = "postgresql+psycopg://batteryloop@db/batteryloop"
    public_base_url = "https://id.example.com"
    [ledger]
    verify_workers = 4

``public_base_url`` is where QR codes and links point (the public resolver of this installation); its older
name ``resolver_domain`` (``BATTERYLOOP_RESOLVER_DOMAIN``) is still read and still an attribute.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.reference.files import read_toml

DEFAULT_DATABASE_URL = "sqlite:///./batteryloop.db"
DEFAULT_RESOLVER_DOMAIN = "http://127.0.0.1:8000"
DEFAULT_PUBLIC_BASE_URL = DEFAULT_RESOLVER_DOMAIN
ENV_PREFIX = "BATTERYLOOP_"
CONFIG_ENV = "BATTERYLOOP_CONFIG"

LEDGER_DEFAULTS_FILE = Path(__file__).parent / "ledger" / "defaults.toml"
"""The ledger's cited engineering limits (its ``[ledger]`` settings before any override)."""
# the citation of the defaults file; not settings
_CITATION_KEYS = frozenset({"source", "locator", "year", "quality", "note"})

_TOP_KEYS = frozenset(
    {"database_url", "public_base_url", "resolver_domain", "admin_token", "max_payload_bytes"}
)


@dataclass(frozen=True, slots=True)
class LedgerSettings:
    """The ledger's engineering limits: the cited defaults of ``ledger/defaults.toml``, overridden by a
    user's TOML file, the ``[ledger]`` table of the settings file or ``BATTERYLOOP_LEDGER_<SETTING>``."""

    max_payload_bytes: int
    max_batch_events: int
    read_chunk_events: int
    sqlite_synchronous: str
    verify_workers: int
    parallel_verify_min_events: int
    group_max_events: int
    group_max_batches: int
    parallel_prepare_min_events: int
    checkpoint_every_events: int
    log_origin: str

    @classmethod
    def from_file(cls, path: Path | str | None = None) -> LedgerSettings:
        """The ledger's settings: defaults, overridden by the keys present in ``path``."""
        return cls.from_mapping(read_toml(path) if path is not None else {}, origin=str(path))

    @classmethod
    def from_mapping(cls, override: Mapping[str, Any], *, origin: str = "ledger settings") -> LedgerSettings:
        """Defaults, overridden by the keys of ``override`` (each checked against the default's type)."""
        data = {k: v for k, v in read_toml(LEDGER_DEFAULTS_FILE).items() if k not in _CITATION_KEYS}
        names = {f.name for f in fields(cls)}
        unknown = set(override) - names
        if unknown:
            raise ValidationError(f"{origin}: unknown ledger settings {sorted(unknown)}")
        for key, value in override.items():
            expected = type(data[key])
            if isinstance(value, bool) or not isinstance(value, expected):
                raise ValidationError(
                    f"{origin}: ledger setting {key} must be {expected.__name__}, got {value!r}"
                )
        data.update(override)
        return cls(**data)

    def with_(self, **changes: Any) -> LedgerSettings:
        return replace(self, **changes)


def _default_ledger() -> LedgerSettings:
    return LedgerSettings.from_file()


WEB_DEFAULTS_FILE = Path(__file__).parent / "web" / "defaults.toml"
"""The HTTP edge's defaults (its ``[web]`` settings before any override)."""
# the web settings that are not positive numbers
_WEB_NOT_NUMBERS = frozenset({"body_limits_bytes", "trusted_proxies", "rate_store", "rate_store_prefix"})
RATE_STORE_SCHEMES = ("redis://", "rediss://", "unix://")
"""The URL schemes ``web.rate_store`` takes besides ``memory`` (those of ``redis.asyncio.Redis.from_url``)."""


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The HTTP edge: body limits (``max_body_bytes``, larger ``body_limits_bytes`` per path), token-bucket
    rate limits per client address and per presented key (in this process's memory, or shared by every
    worker process in Redis: ``rate_store``), trusted proxies, session lifetime, how many bulk uploads run
    at once and the interpreter's thread switch interval while the app is served. Defaults in
    ``web/defaults.toml``; the ``[web]`` table of the settings file or ``BATTERYLOOP_WEB_<SETTING>`` override
    them (``trusted_proxies`` comma-separated, ``body_limits_bytes`` as ``/path=bytes,...``)."""

    max_body_bytes: int
    body_limits_bytes: Mapping[str, int]
    rate_per_address_per_s: float
    rate_burst_per_address: int
    rate_per_key_per_s: float
    rate_burst_per_key: int
    rate_max_buckets: int
    rate_store: str
    rate_store_prefix: str
    rate_store_timeout_s: float
    rate_store_retry_s: float
    trusted_proxies: tuple[str, ...]
    session_ttl_s: int
    bulk_workers: int
    switch_interval_ms: float

    @classmethod
    def from_mapping(cls, override: Mapping[str, Any], *, origin: str = "web settings") -> WebSettings:
        """Defaults, overridden by the keys of ``override`` (each checked against the default's type)."""
        data = {k: v for k, v in read_toml(WEB_DEFAULTS_FILE).items() if k not in _CITATION_KEYS}
        unknown = set(override) - {f.name for f in fields(cls)}
        if unknown:
            raise ValidationError(f"{origin}: unknown web settings {sorted(unknown)}")
        for key, value in override.items():
            expected = type(data[key])
            ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
            ok = ok or (isinstance(data[key], Mapping) and isinstance(value, Mapping))
            ok = ok or (isinstance(data[key], (list, tuple)) and isinstance(value, (list, tuple)))
            if isinstance(value, bool) or not ok:
                raise ValidationError(
                    f"{origin}: web setting {key} must be {expected.__name__}, got {value!r}"
                )
        data.update(override)
        limits = {str(k): v for k, v in dict(data["body_limits_bytes"]).items()}
        numbers = {k: v for k, v in data.items() if k not in _WEB_NOT_NUMBERS}
        bad = [
            k
            for k, v in [*numbers.items(), *limits.items()]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0
        ]
        if bad or not all(isinstance(v, int) for v in limits.values()):
            raise ValidationError(
                f"{origin}: web settings {sorted(bad) or 'body_limits_bytes'} must be positive"
            )
        proxies = tuple(str(p).strip() for p in data["trusted_proxies"])
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValidationError(
                    f"{origin}: trusted proxy {proxy!r} is not an IP address or network"
                ) from None
        store = str(data["rate_store"]).strip()
        if store != "memory" and not store.startswith(RATE_STORE_SCHEMES):
            raise ValidationError(
                f"{origin}: web setting rate_store must be 'memory' or a Redis URL "
                f"({', '.join(RATE_STORE_SCHEMES)}...), got {store!r}"
            )
        if not str(data["rate_store_prefix"]):
            raise ValidationError(f"{origin}: web setting rate_store_prefix must not be empty")
        return cls(**{**data, "body_limits_bytes": limits, "trusted_proxies": proxies, "rate_store": store})

    def body_limit(self, path: str, *, credentialed: bool) -> int:
        """The most bytes a request to ``path`` may send: a route's larger limit needs a credential."""
        if not credentialed:
            return self.max_body_bytes
        return self.body_limits_bytes.get(path, self.max_body_bytes)


def _default_web() -> WebSettings:
    return WebSettings.from_mapping({})


def _web_env_value(name: str, raw: str) -> Any:
    """``BATTERYLOOP_WEB_<NAME>`` read as its setting's type."""
    kind = type(read_toml(WEB_DEFAULTS_FILE)[name])
    try:
        if name == "trusted_proxies":
            return [part.strip() for part in raw.split(",") if part.strip()]
        if name == "body_limits_bytes":
            pairs = [part.split("=", 1) for part in raw.split(",") if part.strip()]
            return {path.strip(): int(size) for path, size in pairs}
        return kind(raw)
    except ValueError:
        raise ValidationError(f"{ENV_PREFIX}WEB_{name.upper()}: cannot read {raw!r}") from None


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Where GS1 Digital Link URIs (and so the QR codes) and links point: the public base URL of this installation.
    resolver_domain: str = DEFAULT_RESOLVER_DOMAIN
    # Token for administrative API calls (creating organisations, issuing keys). None disables them.
    admin_token: str | None = None
    max_payload_bytes: int = 64 * 1024
    ledger: LedgerSettings = field(default_factory=_default_ledger, compare=False)
    web: WebSettings = field(default_factory=_default_web, compare=False)
    config_file: Path | None = field(default=None, compare=False)

    @property
    def public_base_url(self) -> str:
        """Where QR codes and links point (the same value as ``resolver_domain``)."""
        return self.resolver_domain

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Defaults < the TOML file (``path``, else ``$BATTERYLOOP_CONFIG``) < environment < ``overrides``.

        ``overrides`` may name ``database_url``, ``public_base_url`` (or ``resolver_domain``), ``admin_token``
        and ``max_payload_bytes``; ``None`` values are ignored.
        """
        env = os.environ if environ is None else environ
        overrides = overrides or {}
        file = Path(path) if path is not None else (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
        values: dict[str, Any] = {}
        ledger: dict[str, Any] = {}
        web: dict[str, Any] = {}
        if file is not None:
            data = _read_file(file)
            unknown = set(data) - _TOP_KEYS - {"ledger", "web"}
            if unknown:
                raise ValidationError(f"settings file {file}: unknown keys {sorted(unknown)}")
            values.update(_one_url_name({k: v for k, v in data.items() if k not in {"ledger", "web"}}))
            web_section = data.get("web", {})
            if not isinstance(web_section, Mapping):
                raise ValidationError(f"settings file {file}: [web] must be a table")
            web.update(web_section)
            section = data.get("ledger", {})
            if not isinstance(section, Mapping):
                raise ValidationError(f"settings file {file}: [ledger] must be a table")
            ledger.update(section)
        from_env = {
            key: env[f"{ENV_PREFIX}{key.upper()}"] for key in _TOP_KEYS if f"{ENV_PREFIX}{key.upper()}" in env
        }
        values.update(_one_url_name(from_env))
        defaults = LedgerSettings.from_file()
        for name in (f.name for f in fields(LedgerSettings)):
            raw = env.get(f"{ENV_PREFIX}LEDGER_{name.upper()}")
            if raw is not None:
                ledger[name] = _env_value(raw, defaults, name)
        for name in (f.name for f in fields(WebSettings)):
            raw = env.get(f"{ENV_PREFIX}WEB_{name.upper()}")
            if raw is not None:
                web[name] = _web_env_value(name, raw)
        unknown_overrides = set(overrides) - _TOP_KEYS
        if unknown_overrides:
            raise ValidationError(f"unknown settings {sorted(unknown_overrides)}")
        values.update(_one_url_name({k: v for k, v in overrides.items() if v is not None}))
        base_url = values.get("public_base_url", DEFAULT_PUBLIC_BASE_URL)
        max_payload = values.get("max_payload_bytes", 64 * 1024)
        try:
            max_payload_bytes = int(max_payload)
        except (TypeError, ValueError):
            raise ValidationError(f"max_payload_bytes must be an integer, got {max_payload!r}") from None
        return cls(
            database_url=str(values.get("database_url", DEFAULT_DATABASE_URL)),
            resolver_domain=str(base_url).rstrip("/"),
            admin_token=None if values.get("admin_token") is None else str(values["admin_token"]),
            max_payload_bytes=max_payload_bytes,
            ledger=LedgerSettings.from_mapping(ledger, origin=str(file) if file else "environment"),
            web=WebSettings.from_mapping(web, origin=str(file) if file else "environment"),
            config_file=file,
        )

    @classmethod
    def from_env(cls, **overrides: str | None) -> Settings:
        """The environment (and ``$BATTERYLOOP_CONFIG`` when set), with the caller's non-None overrides."""
        return cls.load(overrides=overrides)

    @property
    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix) :])
        return None


def _read_file(path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        raise NotFoundError(f"settings file {path} does not exist")
    try:
        return read_toml(path)
    except ValidationError as exc:
        raise ValidationError(f"settings file {exc}") from None


def _one_url_name(layer: Mapping[str, Any]) -> dict[str, Any]:
    """One layer with ``resolver_domain`` read as ``public_base_url`` (the newer name wins in a layer)."""
    out = {k: v for k, v in layer.items() if k != "resolver_domain"}
    if "resolver_domain" in layer:
        out.setdefault("public_base_url", layer["resolver_domain"])
    return out


def _env_value(raw: str, defaults: LedgerSettings, name: str) -> Any:
    expected = type(getattr(defaults, name))
    if expected is int:
        try:
            return int(raw)
        except ValueError:
            raise ValidationError(
                f"{ENV_PREFIX}LEDGER_{name.upper()} must be an integer, got {raw!r}"
            ) from None
    return raw

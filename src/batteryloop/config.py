"""Runtime settings, read from the environment once at the entry point and passed down explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///./batteryloop.db"
DEFAULT_RESOLVER_DOMAIN = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Where GS1 Digital Link URIs (and so the QR codes) point: the public resolver of this installation.
    resolver_domain: str = DEFAULT_RESOLVER_DOMAIN
    # Token for administrative API calls (creating organisations, issuing keys). None disables them.
    admin_token: str | None = None
    max_payload_bytes: int = 64 * 1024

    @classmethod
    def from_env(cls, **overrides: str | None) -> Settings:
        values = {
            "database_url": os.environ.get("BATTERYLOOP_DATABASE_URL", DEFAULT_DATABASE_URL),
            "resolver_domain": os.environ.get("BATTERYLOOP_RESOLVER_DOMAIN", DEFAULT_RESOLVER_DOMAIN),
            "admin_token": os.environ.get("BATTERYLOOP_ADMIN_TOKEN"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(
            database_url=str(values["database_url"]),
            resolver_domain=str(values["resolver_domain"]).rstrip("/"),
            admin_token=values["admin_token"],
        )

    @property
    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix) :])
        return None

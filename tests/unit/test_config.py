"""The one settings object: defaults < TOML file < environment < explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from batteryloop.config import DEFAULT_DATABASE_URL, DEFAULT_PUBLIC_BASE_URL, LedgerSettings, Settings
from batteryloop.domain.errors import NotFoundError, ValidationError


def test_defaults_without_file_or_environment() -> None:
    settings = Settings.load(environ={})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.public_base_url == settings.resolver_domain == DEFAULT_PUBLIC_BASE_URL
    assert settings.admin_token is None
    assert settings.ledger == LedgerSettings.from_file()


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "batteryloop.toml"
    config.write_text(
        'database_url = "sqlite:///from-file.db"\n'
        'public_base_url = "https://id.example.com/"\n'
        'admin_token = "file-token"\n'
        "[ledger]\nverify_workers = 4\nread_chunk_events = 1000\n",
        encoding="utf-8",
    )
    env = {
        "BATTERYLOOP_CONFIG": str(config),
        "BATTERYLOOP_ADMIN_TOKEN": "env-token",
        "BATTERYLOOP_LEDGER_VERIFY_WORKERS": "3",
    }
    settings = Settings.load(environ=env)
    assert settings.config_file == config
    assert settings.database_url == "sqlite:///from-file.db"
    assert settings.public_base_url == "https://id.example.com"
    assert settings.admin_token == "env-token"
    assert settings.ledger.verify_workers == 3
    assert settings.ledger.read_chunk_events == 1000
    assert settings.ledger.max_batch_events == LedgerSettings.from_file().max_batch_events
    explicit = Settings.load(
        config, environ={}, overrides={"database_url": "sqlite:///cli.db", "admin_token": None}
    )
    assert explicit.database_url == "sqlite:///cli.db"
    assert explicit.admin_token == "file-token"


def test_resolver_domain_is_the_old_name_of_public_base_url(tmp_path: Path) -> None:
    assert Settings.load(environ={"BATTERYLOOP_RESOLVER_DOMAIN": "https://old.example/"}).public_base_url == (
        "https://old.example"
    )
    env = {
        "BATTERYLOOP_RESOLVER_DOMAIN": "https://old.example",
        "BATTERYLOOP_PUBLIC_BASE_URL": "https://new.example",
    }
    assert Settings.load(environ=env).resolver_domain == "https://new.example"
    assert Settings(resolver_domain="https://x.example").public_base_url == "https://x.example"


def test_from_env_keeps_working(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATTERYLOOP_CONFIG", raising=False)
    monkeypatch.setenv("BATTERYLOOP_DATABASE_URL", "sqlite:///env.db")
    monkeypatch.setenv("BATTERYLOOP_PUBLIC_BASE_URL", "https://env.example")
    assert Settings.from_env().database_url == "sqlite:///env.db"
    assert (
        Settings.from_env(database_url="sqlite:///opt.db", resolver_domain=None).database_url
        == "sqlite:///opt.db"
    )
    assert Settings.from_env().public_base_url == "https://env.example"


def test_bad_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"settings file .*nope\.toml does not exist"):
        Settings.load(tmp_path / "nope.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text('databse_url = "x"\n', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"unknown keys \['databse_url'\]"):
        Settings.load(bad, environ={})
    bad.write_text('[ledger]\nverify_workers = "many"\n', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"ledger setting verify_workers must be int"):
        Settings.load(bad, environ={})
    with pytest.raises(ValidationError, match=r"BATTERYLOOP_LEDGER_VERIFY_WORKERS must be an integer"):
        Settings.load(environ={"BATTERYLOOP_LEDGER_VERIFY_WORKERS": "two"})
    with pytest.raises(ValidationError, match=r"unknown ledger settings \['verify_worker'\]"):
        LedgerSettings.from_mapping({"verify_worker": 1})

"""Server-side web sessions on SQLite and PostgreSQL: stored hashed, expire, end on sign-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from batteryloop.db.schema import web_sessions
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.orgs import service
from batteryloop.orgs.adapters.sessions import SessionStore, hash_session_id


def test_a_session_lives_until_it_expires_or_ends(any_ledger: Any, bl: Any) -> None:
    bl.add_actor(any_ledger, "maker")
    store = SessionStore(any_ledger.engine)
    key = any_ledger.issue_api_key("maker")
    signed = service.sign_in(any_ledger, key, sessions=store, ttl_s=60)
    assert signed.org.org_id == "maker" and len(signed.session_id) >= 43
    assert service.session_caller(any_ledger, signed.session_id, sessions=store).org_id == "maker"
    with any_ledger.engine.connect() as conn:
        rows = conn.execute(select(web_sessions)).all()
    assert [r.session_hash for r in rows] == [hash_session_id(signed.session_id)]

    later = datetime.now(UTC) + timedelta(seconds=61)
    assert store.org_of(signed.session_id, now=later) is None  # expired
    assert service.sign_out(signed.session_id, sessions=store) is True
    assert service.session_caller(any_ledger, signed.session_id, sessions=store) is None
    assert service.sign_out(signed.session_id, sessions=store) is False


def test_expired_sessions_are_deleted_and_bad_input_is_refused(any_ledger: Any, bl: Any) -> None:
    bl.add_actor(any_ledger, "maker")
    store = SessionStore(any_ledger.engine)
    past = datetime.now(UTC) - timedelta(hours=2)
    store.start("maker", ttl_s=60, now=past)
    store.start("maker", ttl_s=60)  # deletes the expired one on the way
    with any_ledger.engine.connect() as conn:
        assert len(conn.execute(select(web_sessions)).all()) == 1
    with pytest.raises(ValidationError):
        store.start("maker", ttl_s=0)
    with pytest.raises(NotFoundError):
        service.sign_in(any_ledger, "bl_wrong", sessions=store, ttl_s=60)
    assert store.org_of("never-issued") is None

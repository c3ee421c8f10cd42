"""Server-side web sessions on an engine: the random session id a person's cookie holds is stored only as its
sha256, with the organisation it signed in as and its expiry; ending a session deletes the row.

A session id is 256 random bits (``secrets.token_urlsafe(32)``), so a fast hash is enough: there is nothing to
brute-force, and a copy of the table does not let anyone present a session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from batteryloop.db.schema import web_sessions
from batteryloop.domain.errors import StorageError, ValidationError

__all__ = ["SessionStore", "hash_session_id"]


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _stamp(at: datetime) -> str:
    """Fixed-width UTC text, so stamps compare as strings."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class SessionStore:
    """Web sessions in the ledger's database, one transaction per call (``orgs.service.SessionStore``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, org_id: str, *, ttl_s: int, now: datetime | None = None) -> str:
        """A new session of ``org_id`` lasting ``ttl_s`` seconds; returns the session id (shown only here).
        Expired sessions are deleted on the way."""
        if ttl_s <= 0:
            raise ValidationError(f"a session lasts a positive number of seconds, got {ttl_s}")
        at = now or datetime.now(UTC)
        session_id = secrets.token_urlsafe(32)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= _stamp(at)))
                conn.execute(
                    insert(web_sessions).values(
                        session_hash=hash_session_id(session_id),
                        org_id=org_id,
                        created_at=_stamp(at),
                        expires_at=_stamp(at + timedelta(seconds=ttl_s)),
                    )
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"the session could not be stored: {type(exc).__name__}") from exc
        return session_id

    def org_of(self, session_id: str, *, now: datetime | None = None) -> str | None:
        """The organisation of a live session; None when unknown, ended or expired."""
        at = _stamp(now or datetime.now(UTC))
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(web_sessions.c.org_id).where(
                        web_sessions.c.session_hash == hash_session_id(session_id),
                        web_sessions.c.expires_at > at,
                    )
                ).first()
        except SQLAlchemyError as exc:
            raise StorageError(f"the session could not be read: {type(exc).__name__}") from exc
        return None if row is None else str(row.org_id)

    def end(self, session_id: str) -> bool:
        """Delete the session; True if it existed."""
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    delete(web_sessions).where(web_sessions.c.session_hash == hash_session_id(session_id))
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"the session could not be ended: {type(exc).__name__}") from exc
        return bool(result.rowcount)

"""Errors raised by the domain core. Every message names what was wrong."""

from __future__ import annotations


class BatteryloopError(Exception):
    """Base class of every error batteryloop raises on purpose."""


class ValidationError(BatteryloopError, ValueError):
    """Input that is malformed (a code, a payload, a number out of range)."""


class InvalidCodeError(ValidationError):
    """An identifier (GB/T 34014, GTIN, URI) that does not parse.

    ``position`` is 1-based (as GB/T 34014 numbers its characters) or None when the whole value is wrong.
    """

    def __init__(self, code: str, reason: str, position: int | None = None) -> None:
        self.code = code
        self.reason = reason
        self.position = position
        where = f" at position {position}" if position is not None else ""
        shown = repr(code) if len(code) <= 64 else f"{code[:40]!r}... ({len(code)} characters)"
        super().__init__(f"invalid code {shown}{where}: {reason}")


class IllegalTransitionError(BatteryloopError):
    """An event that the battery's lifecycle state does not allow."""

    def __init__(self, battery_id: str, state: str | None, event_type: str) -> None:
        self.battery_id = battery_id
        self.state = state
        self.event_type = event_type
        shown = state if state is not None else "not registered"
        super().__init__(f"battery {battery_id} is {shown}: {event_type} is not allowed in that state")


class CustodyError(BatteryloopError):
    """An organisation acting on a battery it neither manufactured nor holds."""


class NotFoundError(BatteryloopError, LookupError):
    """An identifier that names nothing known."""


class ConflictError(BatteryloopError):
    """A concurrent change or a duplicate (stream version, idempotency key, existing id)."""


class SignatureError(BatteryloopError):
    """A batch whose signature is missing, malformed or does not verify."""


class StorageError(BatteryloopError):
    """The database failed an operation: unreachable, locked, read-only, corrupt or not a ledger."""

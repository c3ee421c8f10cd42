"""The pure domain core: no database, web or file I/O here."""

from batteryloop.domain.battery import BatteryUnit
from batteryloop.domain.chemistry import BatteryCategory, Chemistry, UnitLevel
from batteryloop.domain.errors import (
    BatteryloopError,
    ConflictError,
    CustodyError,
    IllegalTransitionError,
    InvalidCodeError,
    NotFoundError,
    SignatureError,
    StorageError,
    ValidationError,
)
from batteryloop.domain.lifecycle import BatteryState, EventType, UnitStatus, apply, check_custody
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role

__all__ = [
    "BatteryCategory",
    "BatteryState",
    "BatteryUnit",
    "BatteryloopError",
    "Certification",
    "CertificationScheme",
    "Chemistry",
    "ConflictError",
    "CustodyError",
    "EventType",
    "IllegalTransitionError",
    "InvalidCodeError",
    "NotFoundError",
    "Organisation",
    "Role",
    "SignatureError",
    "StorageError",
    "UnitLevel",
    "UnitStatus",
    "ValidationError",
    "apply",
    "check_custody",
]

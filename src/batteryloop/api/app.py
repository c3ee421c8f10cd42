"""Where the application was built before the capability slices: kept so that ``create_app`` imported from
here keeps working. The composition root is :mod:`batteryloop.app`."""

from batteryloop.app import create_app
from batteryloop.ledger.schemas import decode_signature

__all__ = ["create_app", "decode_signature"]

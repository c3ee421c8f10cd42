"""Pure rules of the document store: the accepted media types and size, checked before anything is stored."""

from batteryloop.documents.core.rules import LIMITS_FILE, DocumentLimits, check_upload, load_limits

__all__ = ["LIMITS_FILE", "DocumentLimits", "check_upload", "load_limits"]

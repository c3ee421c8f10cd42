"""QR codes (Art. 13(6)) carrying a battery's GS1 Digital Link URI, as SVG or PNG (segno)."""

from __future__ import annotations

import io

import segno

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.identity import GS1DigitalLink

# Error correction M (15 %) suits a label that may get scuffed; scale gives ~4 px per module in PNG.
ERROR_CORRECTION = "m"


def digital_link_uri(*, gtin: str, serial: str, resolver_domain: str) -> str:
    return GS1DigitalLink(gtin, serial).uri(resolver_domain)


def _qr(uri: str) -> segno.QRCode:
    if not uri:
        raise ValidationError("a QR code needs a non-empty URI")
    return segno.make_qr(uri, error=ERROR_CORRECTION)


def qr_svg(uri: str, *, scale: int = 4, title: str | None = None) -> str:
    """An SVG document (text) of the QR code for ``uri``."""
    out = io.BytesIO()
    _qr(uri).save(out, kind="svg", scale=scale, border=4, xmldecl=False, title=title)
    return out.getvalue().decode("utf-8")


def qr_png(uri: str, *, scale: int = 6) -> bytes:
    """PNG bytes of the QR code for ``uri``."""
    out = io.BytesIO()
    _qr(uri).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()

"""QR codes decode back to the battery's GS1 Digital Link URI (zxing-cpp), in PNG and in SVG."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from batteryloop.domain.errors import InvalidCodeError, ValidationError
from batteryloop.domain.identity import GS1DigitalLink
from batteryloop.passport.core.qr import digital_link_uri, qr_png, qr_svg

URI = "https://id.batteryloop.test/01/04012345000016/21/SN%2F123"


def _decode(image: Image.Image) -> str:
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1
    return results[0].text


def test_png_decodes_to_the_digital_link() -> None:
    assert _decode(Image.open(io.BytesIO(qr_png(URI)))) == URI


def _rasterise_segno_svg(svg: str, scale: int = 8) -> Image.Image:
    """Draw segno's single-path SVG (M x y, h n, m dx dy with lines at y+0.5) into a bitmap."""
    size = int(re.search(r'width="(\d+)"', svg).group(1))
    d = re.search(r' d="([^"]+)"', svg).group(1)
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for op, args in re.findall(r"([MmHh])([-\d. ]+)", d):
        nums = [float(v) for v in args.split()]
        if op == "M":
            x, y = nums
        elif op == "m":
            x, y = x + nums[0], y + nums[1]
        else:
            draw.rectangle(
                [x * scale, (y - 0.5) * scale, (x + nums[0]) * scale - 1, (y + 0.5) * scale - 1], fill=0
            )
            x += nums[0]
    return image


def test_svg_decodes_to_the_digital_link() -> None:
    svg = qr_svg(URI, scale=1, title="battery passport")
    assert svg.startswith("<svg")
    assert "<title>battery passport</title>" in svg
    assert _decode(_rasterise_segno_svg(svg)) == URI


def test_uri_round_trips_through_gs1_digital_link() -> None:
    uri = digital_link_uri(
        gtin="04012345000016", serial="SN/123", resolver_domain="https://id.batteryloop.test"
    )
    assert uri == URI
    link = GS1DigitalLink.parse(_decode(Image.open(io.BytesIO(qr_png(uri)))))
    assert (link.gtin, link.serial) == ("04012345000016", "SN/123")


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValidationError):
        qr_png("")
    with pytest.raises(InvalidCodeError):
        digital_link_uri(gtin="04012345000017", serial="1", resolver_domain="https://x.test")  # check digit

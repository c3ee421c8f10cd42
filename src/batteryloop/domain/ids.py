"""UUIDv7 (RFC 9562): one construction for every time-ordered identifier the package issues."""

from __future__ import annotations

_LOW48 = (1 << 48) - 1
RAND_A_BITS = 12
RAND_B_BITS = 62


def uuid7(*, unix_ms: int, rand_a: int, rand_b: int) -> int:
    """The 128-bit value of a UUIDv7: 48-bit Unix time in ms, version 7, ``rand_a`` (12 bits), the RFC 9562
    variant, ``rand_b`` (62 bits)."""
    return (
        (unix_ms << 80)
        | (0x7 << 76)
        | ((rand_a & 0xFFF) << 64)
        | (0b10 << 62)
        | (rand_b & ((1 << RAND_B_BITS) - 1))
    )


def uuid_text(value: int) -> str:
    """The canonical 8-4-4-4-12 hex text of a 128-bit UUID value."""
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid_texts(base: int, count: int) -> list[str]:
    """The canonical text of the UUIDs ``base`` .. ``base + count - 1``, formatted as one run."""
    last48 = base & _LOW48
    if last48 + count > _LOW48 + 1:  # the run would carry past the last 12 hex digits: format each one whole
        return [uuid_text(v) for v in range(base, base + count)]
    head = uuid_text(base)[:24]  # the first 20 hex digits (and 4 dashes) are the same for the whole run
    return list(map((head + "%012x").__mod__, range(last48, last48 + count)))

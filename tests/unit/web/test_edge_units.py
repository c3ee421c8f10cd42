"""The token bucket with a hand-driven clock, and the web settings' checks."""

from __future__ import annotations

import pytest

from batteryloop.config import WebSettings
from batteryloop.domain.errors import ValidationError
from batteryloop.web.edge import TokenBuckets, content_security_policy


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_grants_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(2.0, 3, max_buckets=10, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token at 2/s
    assert buckets.take("b") == 0.0  # another client has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 60.0  # refills up to the burst, not beyond
    assert [buckets.take("a") for _ in range(4)][-1] == pytest.approx(0.5)


def test_the_table_is_bounded_and_drops_the_least_recently_used() -> None:
    clock = Clock()
    buckets = TokenBuckets(1.0, 1, max_buckets=2, clock=clock)
    buckets.take("a")
    buckets.take("b")
    buckets.take("a")  # a is now the most recent
    buckets.take("c")  # drops b
    assert buckets.take("b") == 0.0  # b starts again with a full bucket
    assert buckets.take("a") == 0.0 or len(buckets._buckets) == 2
    assert len(buckets._buckets) == 2


def test_web_settings_refuse_bad_values() -> None:
    for bad in (
        {"max_body_bytes": 0},
        {"rate_per_address_per_s": -1.0},
        {"trusted_proxies": ["proxy.example"]},
        {"body_limits_bytes": {"/events": "big"}},
        {"no_such_setting": 1},
        {"bulk_workers": True},
    ):
        with pytest.raises(ValidationError):
            WebSettings.from_mapping(bad)
    for bad_interval in (0, -0.5, "fast"):
        with pytest.raises(ValidationError, match="switch_interval_ms"):
            WebSettings.from_mapping({"switch_interval_ms": bad_interval})
    assert WebSettings.from_mapping({"rate_per_key_per_s": 5}).rate_per_key_per_s == 5


def test_the_csp_allows_inline_script_only_by_hash() -> None:
    assert "script-src 'self';" in content_security_policy()
    assert "script-src 'self' 'sha256-abc';" in content_security_policy("sha256-abc")
    assert "frame-ancestors 'none'" in content_security_policy()

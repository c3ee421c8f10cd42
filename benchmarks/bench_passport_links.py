"""CPU time of making a passport document's links (resolve_links) against building and dumping the passport.

Run from the repository root: ``python benchmarks/bench_passport_links.py`` (BENCHMARKS.md, issue 12).
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from collections.abc import Callable

from batteryloop.passport.core.build import build_passport
from batteryloop.passport.core.links import resolve_links

spec = importlib.util.spec_from_file_location("passport_fixtures", "tests/unit/passport/conftest.py")
assert spec is not None and spec.loader is not None
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)


def median_us(call: Callable[[], object], n: int) -> float:
    runs = []
    for _ in range(7):
        started = time.process_time()
        for _ in range(n):
            call()
        runs.append((time.process_time() - started) / n * 1e6)
    return statistics.median(runs)


def build() -> dict[str, object]:
    events = fixtures.life_events(fixtures.make_unit())
    return build_passport(events, resolver_domain="https://x.test").model_dump(mode="json")


def main() -> None:
    document = build()
    base = median_us(build, 50)
    links = median_us(lambda: resolve_links(document, base_url="https://x.test"), 300)
    print(f"build+dump {base:.0f} us, resolve_links {links:.0f} us, ratio {(base + links) / base:.3f}")


if __name__ == "__main__":
    main()

"""Producer responsibility and compliance: EPR obligations, recycling targets, the white list, leakage and
carbon performance, computed from the ledger and the recycling model against cited rule packs.

A jurisdiction is a rule pack: a folder of cited TOML files under ``data/rules/<code>/`` (``set.toml`` names
it), loaded by the reference kernel; adding one is writing data, not code.
"""

from __future__ import annotations

"""`batteryloop demo`: the closing output fits 80 columns, shows passports and the recycling model, and its
tables add up."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from batteryloop.config import Settings
from batteryloop.demo import DEMO_DATA_SETS, run_demo
from batteryloop.reference import service as reference


def _table(text: str, title: str, column: int = -2) -> dict[str, int]:
    """Label -> the number in ``column`` of each row of the table titled ``title`` (default: the last)."""
    block = text[text.index(title) :]
    block = block[: block.index("└")]
    rows: dict[str, int] = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) >= 3 and cells[1] and re.fullmatch(r"[\d,]+", cells[column]):
            rows[cells[1]] = int(cells[column].replace(",", ""))
    return rows


def test_demo_output_fits_80_columns_and_adds_up(tmp_path: Path) -> None:
    out = io.StringIO()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'demo.db'}", resolver_domain="https://id.example.test"
    )
    run_demo(settings=settings, n_batteries=60, seed=11, replace=True, console=Console(file=out, width=80))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # no cell cut short
    for title in ("Units by state", "Units by chemistry", "Who holds the root units"):
        table = _table(text, title)
        total = table.pop("total")
        assert table and sum(table.values()) == total, (title, table, total)
    regions = _table(text, "Synthetic fleet", column=2)
    assert regions.pop("total") == sum(regions.values()) == 60
    flat = " ".join(text.split())
    built = re.search(r"battery passports: ([\d,]+) built.*?: ([\d,]+) active \+ ([\d,]+) ceased", flat)
    assert built is not None
    n_built, active, ceased = (int(g.replace(",", "")) for g in built.groups())
    assert n_built > 0 and active + ceased == n_built
    checked = re.search(
        r"([\d,]+) passports checked: ([\d,]+) valid \+ ([\d,]+) without registered passport data \+ "
        r"([\d,]+) invalid",
        flat,
    )
    assert checked is not None
    n_checked, valid, without_data, invalid = (int(g.replace(",", "")) for g in checked.groups())
    assert valid > 0 and invalid == 0 and valid + without_data == n_checked <= n_built
    assert "One passport" in text and "kg CO2e/kWh" in text
    assert (
        "Recycling model on the packs sent to recyclers" in text or "no pack has reached a recycler" in text
    )
    assert "integrity verified" in text
    stated = re.search(
        r"reference data: ([\d,]+) of the ([\d,]+) values behind this demo are marked UNVERIFIED "
        r"\(not checked against a primary source\): (.*?) generated",
        flat,
    )
    assert stated is not None
    kernel = {name: len(reference.load(name).unverified()) for name in DEMO_DATA_SETS}
    assert int(stated.group(1).replace(",", "")) == sum(kernel.values()) > 0
    assert int(stated.group(2).replace(",", "")) == sum(len(reference.load(n)) for n in DEMO_DATA_SETS)
    assert stated.group(3) == ", ".join(f"{name} {n:,}" for name, n in kernel.items() if n)
    if "Recycling model on the packs sent to recyclers" in text:
        assert "emission_factors.grid.EU" in flat  # the EU grid factor the model ran on is unverified

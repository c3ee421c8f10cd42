"""`batteryloop --help` answered from the index without Typer, Click or any capability, and equal to the
help the Typer app draws."""

from __future__ import annotations

import io
import subprocess
import sys

from rich.console import Console
from typer.testing import CliRunner

from batteryloop import cli_index
from batteryloop.cli import app


def test_the_index_help_is_the_typer_apps_help() -> None:
    by_typer = CliRunner().invoke(app, ["--help"])
    assert by_typer.exit_code == 0, by_typer.output
    buffer = io.StringIO()
    cli_index.root_help(Console(file=buffer, width=80))
    assert buffer.getvalue().rstrip() == by_typer.stdout.rstrip()
    for mount in cli_index.MOUNTS:
        assert mount.name in buffer.getvalue()


def test_help_loads_neither_typer_nor_a_capability() -> None:
    code = (
        "import sys; sys.argv = ['batteryloop', '--help']; from batteryloop.cli_index import main; main(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click') "
        "or m.startswith(('batteryloop.ledger', 'batteryloop.passport', 'batteryloop.recycling'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Commands" in out
    assert out.rstrip().splitlines()[-1] == "[]"


def test_every_other_call_goes_to_the_typer_app() -> None:
    code = "import sys; sys.argv = ['batteryloop', 'params', '--help']; from batteryloop.cli_index import main; main()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "show" in result.stdout and "cite" in result.stdout

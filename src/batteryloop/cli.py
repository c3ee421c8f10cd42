"""The `batteryloop` command: the composition root of the command line.

Every capability's commands are mounted from the one list :data:`MOUNTS`, by module path: a capability is
imported only when one of its commands runs (or its own help is asked for), so `batteryloop --help` and any
single command start without importing the others. `serve` and `demo` live here, because they span every
capability. Errors a user can cause end as one line (``error: ...``, exit code 2) for every command.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import import_module
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from batteryloop import clikit


@dataclass(frozen=True, slots=True)
class Mount:
    """A command (a function) or command group (a Typer app) at ``target`` ("module:attribute"), listed
    under ``name`` with ``help`` (the first line of its own help) without importing it."""

    name: str
    target: str
    help: str


MOUNTS: tuple[Mount, ...] = (
    Mount("init", "batteryloop.ledger.cli:init", "Create the database (or upgrade it to the newest schema)."),
    Mount("org", "batteryloop.orgs.cli:org_app", "Organisations, their signing keys and API keys."),
    Mount("battery", "batteryloop.ledger.cli:battery_app", "Battery units: register, list and search them."),
    Mount("events", "batteryloop.ledger.cli:events_app", "Ledger events."),
    Mount("trace", "batteryloop.ledger.cli:trace", "Show a battery's tree, custody chain and history, and check its hash chain."),
    Mount("verify", "batteryloop.ledger.cli:verify", "Recompute every hash, chain, Merkle root, signature and checkpoint; name the first broken event."),
    Mount("export", "batteryloop.ledger.cli:export", "Export the whole ledger (for analytics: Parquet reads in DuckDB, Polars or Spark)."),
    Mount("ledger", "batteryloop.ledger.cli:ledger_app", "Ledger maintenance."),
    Mount("passport", "batteryloop.passport.cli:passport_app", "EU battery passports (Reg. (EU) 2023/1542 Art. 77, Annex XIII)."),
    Mount("recycle", "batteryloop.recycling.cli:recycle_app", "Recycling line: flowsheet, mass balance, economics, carbon."),
    Mount("params", "batteryloop.params.cli:params_app", "Cited reference data of every capability: values, units, sources, quality."),
    Mount("fleet", "batteryloop.fleet.cli:fleet_app", "Synthetic fleets (seeded, cited defaults)."),
    Mount("quote", "batteryloop.recycling.cli:quote_command", "Quote a lot: contained and recoverable value, and the price to pay or the fee to charge."),
)  # fmt: skip
_BY_NAME = {m.name: m for m in MOUNTS}


def load(mount: Mount) -> Any:
    """The click command of ``mount`` (imports its module)."""
    module_name, _, attribute = mount.target.partition(":")
    target = getattr(import_module(module_name), attribute)
    if isinstance(target, typer.Typer):
        return typer.main.get_group(target)
    single = typer.Typer(add_completion=False)
    single.command(name=mount.name)(target)
    return typer.main.get_command(single)


class LazyGroup(TyperGroup):
    """The root group: lists the mounts by name and help, imports one only to run it or show its help, and
    turns the errors a user can cause into one line."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*(m.name for m in MOUNTS), *(name for name in self.commands if name not in _BY_NAME)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = self.commands.get(cmd_name)
        if found is not None:
            return found
        mount = _BY_NAME.get(cmd_name)
        if mount is None:
            return None
        return TyperCommand(name=mount.name, help=mount.help, short_help=mount.help)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and name in _BY_NAME and name not in self.commands:
            command = load(_BY_NAME[name])
            self.commands[name] = command
        return name, command, rest

    def invoke(self, ctx: Any) -> Any:
        with clikit.user_errors():
            return super().invoke(ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The root's help in the panels of Typer's help, drawn with Rich alone (Typer's renderer imports
        Markdown and Pygments: most of the start-up time of ``--help``)."""
        from rich import box
        from rich.padding import Padding
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        out = clikit.console()
        usage = Text.assemble(("Usage: ", "bold"), f"{ctx.command_path} [OPTIONS] COMMAND [ARGS]...")
        out.print(Padding(usage, (1, 1)))
        out.print(Padding(Text(self.help or ""), (0, 1, 1, 1)))
        for title, rows in (
            ("Options", [_option_row(p) for p in self.get_params(ctx) if not getattr(p, "hidden", False)]),
            ("Commands", [(name, self._short_help(ctx, name)) for name in self.list_commands(ctx)]),
        ):
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold cyan", no_wrap=True)
            grid.add_column(overflow="fold")
            for name, text in rows:
                grid.add_row(name, text)
            out.print(Panel(grid, title=title, title_align="left", box=box.ROUNDED, border_style="dim"))

    def _short_help(self, ctx: Any, name: str) -> str:
        command = self.get_command(ctx, name)
        return "" if command is None else str(command.get_short_help_str(limit=200))


def _option_row(param: Any) -> tuple[str, str]:
    return ", ".join(param.opts), str(getattr(param, "help", None) or "")


app = typer.Typer(
    name="batteryloop",
    cls=LazyGroup,
    help="Traceability, battery passports, EPR compliance and recycling economics for the battery loop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def demo(
    db: clikit.DbOption = None,
    batteries: Annotated[
        int, typer.Option(help="Number of battery packs/systems in the synthetic fleet")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same fleet")] = 7,
    replace: Annotated[
        bool, typer.Option(help="Replace an existing database that demo did not create")
    ] = False,
) -> None:
    """Build a SQLite ledger of a synthetic fleet and show what it holds."""
    from batteryloop.config import Settings
    from batteryloop.demo import run_demo

    run_demo(
        settings=Settings.from_env(database_url=db),
        n_batteries=batteries,
        seed=seed,
        replace=replace,
        console=clikit.console(),
    )


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="Public base URL of this server, for QR codes and links (behind a proxy: its address). "
            "Default: $BATTERYLOOP_PUBLIC_BASE_URL (or $BATTERYLOOP_RESOLVER_DOMAIN), else http://HOST:PORT"
        ),
    ] = None,
    db: clikit.DbOption = None,
) -> None:
    """Run the REST API and the web pages (uvicorn)."""
    import os

    import uvicorn

    from batteryloop.app import create_app
    from batteryloop.config import Settings

    from_env = ("BATTERYLOOP_PUBLIC_BASE_URL", "BATTERYLOOP_RESOLVER_DOMAIN")
    if public_url is None and not any(os.environ.get(name) for name in from_env):
        public_url = f"http://{host}:{port}"
    settings = Settings.from_env(database_url=db, public_base_url=public_url)
    uvicorn.run(create_app(settings=settings), host=host, port=port, log_level="info", proxy_headers=True)


def main() -> None:  # pragma: no cover
    app(sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover
    main()

"""The `batteryloop` command: the composition root of the command line.

Every capability's commands are mounted from the one list :data:`MOUNTS`, by module path: a capability is
imported only when one of its commands runs (or its own help is asked for), so `batteryloop --help` and any
single command start without importing the others. `serve` and `demo` live here, because they span every
capability. Errors a user can cause end as one line (``error: ...``, exit code 2) for every command.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from batteryloop import clikit
from batteryloop.cli_index import ABOUT, MOUNTS, Mount, render_root_help

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
        with clikit.root_hooks(registry_opener=_ledger_registry), clikit.user_errors():
            return super().invoke(ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The root's help in the panels of Typer's help, drawn with Rich alone (see :mod:`batteryloop.cli_index`)."""
        render_root_help(
            clikit.console(),
            prog=ctx.command_path,
            about=self.help or "",
            options=[_option_row(p) for p in self.get_params(ctx) if not getattr(p, "hidden", False)],
            commands=[(name, self._short_help(ctx, name)) for name in self.list_commands(ctx)],
        )

    def _short_help(self, ctx: Any, name: str) -> str:
        command = self.get_command(ctx, name)
        return "" if command is None else str(command.get_short_help_str(limit=200))


def _ledger_registry(url: str, *, create: bool) -> Any:
    """The organisations of the database at ``url`` through its ledger: a key entry recorded there is covered
    by a tree head signed in its own transaction (``Ledger._cover_key_entry``), which the orgs registry alone
    cannot sign."""
    from batteryloop.ledger import Ledger

    return Ledger.open(url, create=create)


def _option_row(param: Any) -> tuple[str, str]:
    return ", ".join(param.opts), str(getattr(param, "help", None) or "")


app = typer.Typer(
    name="batteryloop",
    cls=LazyGroup,
    help=ABOUT,
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
    # X-Forwarded-* are honoured by the app's edge, and only from web.trusted_proxies (not uvicorn's default)
    uvicorn.run(create_app(settings=settings), host=host, port=port, log_level="info", proxy_headers=False)


def main() -> None:  # pragma: no cover
    app(sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover
    main()

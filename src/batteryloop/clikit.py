"""The kit every capability's commands are built from: one console, the ``--db`` option, output formats
declared once (a table fitted to the terminal, ``--json`` or ``--csv``) and one-line errors.

A command parses its arguments, makes one service call and renders the result with :func:`emit`. Errors a
user can cause (a domain error, a missing file, a missing database, a missing folder) end as one line
``error: ...`` on stderr with exit code 2: see :func:`fail` and :func:`user_errors`.

Rich is imported on first use, so importing this module costs nothing at start-up.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

__all__ = [
    "Column",
    "CsvOption",
    "DbOption",
    "JsonOption",
    "OutputFormat",
    "console",
    "emit",
    "err_console",
    "existing_file",
    "existing_folder",
    "fail",
    "fitted_table",
    "output_format",
    "print_json",
    "progress",
    "render",
    "require_database",
    "user_errors",
]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (default: $BATTERYLOOP_DATABASE_URL or sqlite:///./batteryloop.db)"
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")]


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


# What the root command (``batteryloop.cli``, the composition root) hands the commands it runs: set for the
# run of one command (a context variable), empty when a sub-app runs on its own.
_ROOT_HOOKS: ContextVar[Mapping[str, Any] | None] = ContextVar("batteryloop_root_hooks", default=None)


@contextmanager
def root_hooks(**hooks: Any) -> Iterator[None]:
    """Hand ``hooks`` to the commands run inside the block (see :func:`root_hook`)."""
    token = _ROOT_HOOKS.set(hooks)
    try:
        yield
    finally:
        _ROOT_HOOKS.reset(token)


def root_hook(name: str) -> Any:
    """What the root command handed its commands as ``name``: ``registry_opener`` lets `batteryloop org` open
    the organisations through the ledger (which signs a tree head over each key entry) without the orgs
    capability importing the ledger. None when a sub-app runs on its own."""
    hooks = _ROOT_HOOKS.get()
    return None if hooks is None else hooks.get(name)


@cache
def console() -> Console:
    """The console for results (stdout). Its width is the terminal's (80 columns when not a terminal)."""
    from rich.console import Console

    return Console()


@cache
def err_console() -> Console:
    """The console for progress bars and errors (stderr)."""
    from rich.console import Console

    return Console(stderr=True)


def fail(message: object) -> typer.Exit:
    """Print ``error: message`` as one line on stderr; return the exit (code 2) for the caller to raise."""
    err_console().print(f"[bold red]error:[/] {_escape(str(message))}", soft_wrap=True)
    return typer.Exit(code=2)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(" ".join(text.split()))


def message_of(exc: BaseException) -> str:
    """The one-line message a user sees for an error they can cause."""
    if isinstance(exc, FileNotFoundError) and exc.filename is not None:
        return f"{exc.filename}: no such file or directory"
    if isinstance(exc, IsADirectoryError) and exc.filename is not None:
        return f"{exc.filename} is a folder, not a file"
    if isinstance(exc, PermissionError) and exc.filename is not None:
        return f"{exc.filename}: permission denied"
    return str(exc)


FILE_ERRORS: tuple[type[OSError], ...] = (
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause (domain errors, missing or unreadable files) into :func:`fail`;
    anything else is a bug and keeps its traceback."""
    from batteryloop.domain.errors import BatteryloopError  # the domain package is not needed to start

    caught: tuple[type[BaseException], ...] = (BatteryloopError, *FILE_ERRORS)
    try:
        yield
    except caught as exc:
        raise fail(message_of(exc)) from exc


def existing_file(path: Path) -> Path:
    """``path`` if it is a readable file; otherwise a one-line error naming it."""
    if not path.exists():
        raise fail(f"{path}: no such file")
    if path.is_dir():
        raise fail(f"{path} is a folder, not a file")
    return path


def aware_datetime(text: str, *, option: str) -> datetime:
    """``text`` as an ISO 8601 date-time with a time zone; otherwise a one-line error naming ``option``."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"{option}: {text!r} is not an ISO 8601 date-time ({exc})") from exc
    if value.tzinfo is None or value.utcoffset() is None:
        raise fail(f"{option}: {text!r} has no time zone; add one, e.g. {text}+00:00")
    return value


def existing_folder(path: Path) -> Path:
    """``path`` if the folder it would be written into exists; otherwise a one-line error naming it."""
    folder = path.parent
    if not folder.is_dir():
        raise fail(f"folder {folder} does not exist: create it first or choose another output path")
    if path.is_dir():
        raise fail(f"{path} is a folder; give a file name to write")
    return path


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite`` URL, or None for an in-memory database or another engine."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] != "sqlite":
        return None
    database = rest[1:].split("?", 1)[0] if rest.startswith("/") else ""
    if database in ("", ":memory:"):
        return None
    return Path(database)


def require_database(url: str) -> None:
    """Stop with one line when ``url`` names a SQLite file that does not exist (opening it would create it)."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise fail(f"no database at {path}: create one with `batteryloop init --db sqlite:///{path}`")


def output_format(json_output: bool, csv_output: bool) -> OutputFormat:
    if json_output and csv_output:
        raise fail("choose one of --json and --csv")
    if json_output:
        return OutputFormat.JSON
    return OutputFormat.CSV if csv_output else OutputFormat.TABLE


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a listing: its heading in a table and CSV, its key in JSON, how to read it from a row."""

    key: str
    heading: str
    value: Callable[[Any], object]
    numeric: bool = False


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, frozenset, set)):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _jsonable(value: object) -> object:
    if isinstance(value, (list, tuple, frozenset, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def fitted_table(*headings: str, title: str | None = None, numeric: Sequence[bool] = ()) -> Table:
    """A Rich table that fits the console: cells wrap at spaces and long words (ids, codes) fold onto the
    next line instead of being cut with an ellipsis."""
    from rich.table import Table

    table = Table(title=title, expand=False, title_justify="left")
    for i, heading in enumerate(headings):
        right = i < len(numeric) and numeric[i]
        table.add_column(heading, overflow="fold", justify="right" if right else "left")
    return table


def render(
    rows: Sequence[Any],
    columns: Sequence[Column],
    fmt: OutputFormat,
    *,
    title: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> str | Table:
    """The rows as JSON text (a list, or an object with ``extra`` and the rows under ``items``), CSV text or a
    fitted table."""
    if fmt is OutputFormat.JSON:
        items = [{c.key: _jsonable(c.value(r)) for c in columns} for r in rows]
        body: object = items if extra is None else {**extra, "items": items}
        return json.dumps(body, ensure_ascii=False, indent=2)
    if fmt is OutputFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([c.key for c in columns])
        for r in rows:
            writer.writerow([_cell(c.value(r)) for c in columns])
        return buffer.getvalue()
    table = fitted_table(*(c.heading for c in columns), title=title, numeric=[c.numeric for c in columns])
    for r in rows:
        table.add_row(*(_cell(c.value(r)) for c in columns))
    return table


def emit(
    rows: Sequence[Any],
    columns: Sequence[Column],
    fmt: OutputFormat,
    *,
    title: str | None = None,
    extra: Mapping[str, object] | None = None,
    footer: str | None = None,
    document: object = None,
) -> None:
    """Print a listing in the chosen format; JSON and CSV go out unstyled, so they can be piped.

    ``document``: the JSON to print instead of the rows (the HTTP response body, so both faces agree)."""
    if fmt is OutputFormat.JSON and document is not None:
        print_json(document)
        return
    out = render(rows, columns, fmt, title=title, extra=extra)
    if isinstance(out, str):
        typer.echo(out, nl=not out.endswith("\n"))
        return
    console().print(out)
    if footer:
        console().print(footer, soft_wrap=True)


def print_json(value: object) -> None:
    """Print a JSON document (for commands whose result is one object rather than rows)."""
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def progress() -> Progress:
    """A progress bar on stderr (``with progress() as bar: task = bar.add_task(...)``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console(),
        transient=False,
    )

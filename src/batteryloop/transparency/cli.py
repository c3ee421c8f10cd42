"""``batteryloop log``: tree heads, checkpoints, proofs, published heads, bundles and keys; and
``batteryloop verify-passport``, which needs no database. Thin: parse, one service call, render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batteryloop import clikit
from batteryloop.transparency import report, service

if TYPE_CHECKING:
    from batteryloop.ledger import Ledger

log_app = typer.Typer(
    help="The transparency log: signed tree heads, inclusion and consistency proofs, published heads.",
    no_args_is_help=True,
)

SizeOption = Annotated[
    int | None, typer.Option("--size", help="Tree size (default: the newest signed head).")
]


def _ledger(db: str | None) -> Ledger:
    from batteryloop.config import Settings
    from batteryloop.ledger import Ledger

    with clikit.user_errors():
        settings = Settings.from_env(database_url=db)
    clikit.require_database(settings.database_url)
    with clikit.user_errors():
        return Ledger.open(settings.database_url, create=False, settings=settings.ledger)


def _emit(data: dict[str, Any], json_output: bool, lines: list[str]) -> None:
    if json_output:
        clikit.print_json(data)
    else:
        for line in lines:
            typer.echo(line)


@log_app.command("head")
def log_head(
    size: Annotated[int | None, typer.Option("--size", help="Tree size (default: the whole ledger).")] = None,
    json_output: clikit.JsonOption = False,
    db: clikit.DbOption = None,
) -> None:
    """The tree head (size and root hash), with its signed checkpoint if the operator signed that size."""
    with clikit.user_errors():
        view = service.head(_ledger(db), size=size)
    lines = [f"tree size {view.size}", f"root hash {view.root_hash}"]
    lines.append(view.checkpoint.rstrip("\n") if view.checkpoint else "(no signed checkpoint at this size)")
    _emit(report.head_json(view), json_output, lines)


@log_app.command("checkpoint")
def log_checkpoint(json_output: clikit.JsonOption = False, db: clikit.DbOption = None) -> None:
    """Sign the tree head as it stands now with the operator key and print the checkpoint (signed note)."""
    with clikit.user_errors():
        view = service.checkpoint(_ledger(db))
    if json_output:
        clikit.print_json(report.head_json(view))
    else:
        typer.echo(view.checkpoint or "", nl=False)


@log_app.command("prove-inclusion")
def log_prove_inclusion(
    position: Annotated[int, typer.Argument(help="The event's position in the ledger (1 = first).")],
    size: SizeOption = None,
    json_output: clikit.JsonOption = False,
    db: clikit.DbOption = None,
) -> None:
    """The RFC 6962 audit path of one event against a tree head."""
    with clikit.user_errors():
        view = service.prove_inclusion(_ledger(db), position, size=size)
    lines = [
        f"event at position {view.position} (leaf {view.leaf_index}), event hash {view.event_hash}",
        f"tree size {view.tree_size}, root hash {view.root_hash}",
        *(f"  {p}" for p in view.proof),
    ]
    _emit(report.inclusion_json(view), json_output, lines)


@log_app.command("prove-consistency")
def log_prove_consistency(
    old: Annotated[int, typer.Argument(help="The older tree size.")],
    new: Annotated[
        int | None, typer.Option("--new", help="The newer tree size (default: the whole ledger).")
    ] = None,
    json_output: clikit.JsonOption = False,
    db: clikit.DbOption = None,
) -> None:
    """The RFC 6962 consistency proof between two tree sizes."""
    with clikit.user_errors():
        view = service.prove_consistency(_ledger(db), old, new=new)
    lines = [
        f"tree {view.old_size} ({view.old_root}) -> tree {view.new_size} ({view.new_root})",
        *(f"  {p}" for p in view.proof),
    ]
    _emit(report.consistency_json(view), json_output, lines)


@log_app.command("publish")
def log_publish(
    to: Annotated[
        Path, typer.Option("--to", help="The published-heads file (created if missing; only appended to).")
    ],
    db: clikit.DbOption = None,
) -> None:
    """Append the newest signed checkpoint to a published-heads file (after checking it extends the last one)."""
    clikit.existing_folder(to)
    existing = to.read_text(encoding="utf-8") if to.exists() else ""
    with clikit.user_errors():
        result = service.publish(_ledger(db), existing)
    if result.appended:
        with to.open("a", encoding="utf-8") as fh:
            fh.write(result.text[len(existing) :])
        typer.echo(f"published the head of {result.size} events to {to}")
    else:
        typer.echo(f"{to} already ends with the head of {result.size} events")


@log_app.command("keys")
def log_keys(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the keys file here (default: print).")
    ] = None,
    db: clikit.DbOption = None,
) -> None:
    """Export the operator's verifier key and every organisation's public signing key (for verify-passport)."""
    with clikit.user_errors():
        doc = service.keys(_ledger(db))
    _write_json(doc, out)


@log_app.command("bundle")
def log_bundle(
    battery_id: Annotated[str, typer.Argument(help="The battery whose history to prove.")],
    size: SizeOption = None,
    since: Annotated[
        int | None, typer.Option("--since", help="Also prove consistency from this older size.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the bundle here (default: print).")] = None,
    db: clikit.DbOption = None,
) -> None:
    """A battery's events with batch and global-tree proofs and the signed head (for verify-passport)."""
    with clikit.user_errors():
        doc = service.bundle(_ledger(db), battery_id, size=size, since=since)
    _write_json(doc, out)


def _write_json(doc: dict[str, Any], out: Path | None) -> None:
    if out is None:
        clikit.print_json(doc)
        return
    clikit.existing_folder(out)
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    typer.echo(f"wrote {out}")


def _read_json(path: Path) -> Any:
    clikit.existing_file(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise clikit.fail(f"{path} is not JSON: {exc}") from None


def verify_passport(
    bundle: Annotated[Path, typer.Argument(help="A proof bundle (`log bundle`, GET /log/bundle/{id}).")],
    keys: Annotated[Path, typer.Option("--keys", help="The keys file (`log keys`, GET /log/keys).")],
    heads: Annotated[
        Path | None,
        typer.Option("--heads", help="A published-heads file: its newest head must be consistent."),
    ] = None,
    passport: Annotated[
        Path | None,
        typer.Option(
            "--passport",
            help="A served passport (GET /passports/{id}, any tier) or trace (GET /batteries/{id}/trace, "
            "`trace --json`): it must follow from the bundle's verified events.",
        ),
    ] = None,
    json_output: clikit.JsonOption = False,
) -> None:
    """Check a battery's proof bundle without the database: signatures, hashes, chain, inclusion, consistency.

    With --passport, also that a served passport or trace was made of exactly those events."""
    doc = _read_json(bundle)
    keys_doc = _read_json(keys)
    served = _read_json(passport) if passport is not None else None
    heads_text = clikit.existing_file(heads).read_text(encoding="utf-8") if heads is not None else None
    with clikit.user_errors():
        result = service.verify_passport(doc, keys_doc=keys_doc, heads_text=heads_text, passport=served)
    if json_output:
        clikit.print_json(report.bundle_report_json(result))
    else:
        for c in result.checks:
            typer.echo(f"{'holds' if c.ok else 'FAILS'}  {c.name}: {c.detail}")
        if heads is None:
            typer.echo("not checked  consistency with published heads: give --heads FILE")
        typer.echo(
            f"{'VERIFIED' if result.ok else 'NOT VERIFIED'}: {result.events} events of battery {result.battery_id} "
            f"against the tree of {result.tree_size} events"
        )
    if not result.ok:
        raise typer.Exit(code=1)

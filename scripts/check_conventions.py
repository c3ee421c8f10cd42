"""Conventions of the capability contract that import-linter cannot express, checked on the source's AST.

Rules (each violation is reported as ``path:line: [rule] message``):

- ``transaction``: transactions are opened and closed only in ``db/`` and in the ``adapters/`` packages of the
  ledger and orgs. Outside them a call of ``.begin()``, ``.begin_nested()``, ``.commit()`` or ``.rollback()``
  on any object, and a string literal that is a transaction statement (``BEGIN``, ``COMMIT``, ``ROLLBACK``,
  ``SAVEPOINT``, ``RELEASE``, ``END``, upper case, at the start of the string) are violations.
- ``keyword-only``: a public function of a ``service.py`` module (a top-level function, or a method of a
  public class; ``self``/``cls`` not counted) takes at most ``MAX_SUBJECTS`` positional parameters, its
  subjects, none of them with a default value; every option comes after a ``*``.
- ``adapters-place``: only the ledger and orgs capabilities have an ``adapters`` package.

Usage: ``python scripts/check_conventions.py [SOURCE_ROOT]`` (default: ``src/batteryloop`` next to this
script). Exits 1 when a rule is broken, 0 otherwise.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_SUBJECTS = 2
"""Positional parameters a public service function may take without a ``*`` (``self``/``cls`` not counted)."""

TRANSACTION_PLACES = ("db", "ledger/adapters", "orgs/adapters")
"""Folders under the package root where transaction control is allowed."""

ADAPTER_CAPABILITIES = ("ledger", "orgs")

_TRANSACTION_METHODS = frozenset({"begin", "begin_nested", "commit", "rollback"})
_TRANSACTION_SQL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|END)\b")


@dataclass(frozen=True, order=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


def _relative(path: Path, root: Path) -> PurePosixPath:
    return PurePosixPath(path.relative_to(root).as_posix())


def _in_transaction_place(rel: PurePosixPath) -> bool:
    return any(rel.is_relative_to(place) for place in TRANSACTION_PLACES)


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (module, class, function)."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def check_transactions(tree: ast.AST, shown: str) -> Iterator[Violation]:
    docstrings = _docstring_nodes(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _TRANSACTION_METHODS
        ):
            yield Violation(
                shown,
                node.lineno,
                "transaction",
                f".{node.func.attr}() outside db/ and the ledger/orgs adapters",
            )
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and (match := _TRANSACTION_SQL.match(node.value))
        ):
            yield Violation(
                shown,
                node.lineno,
                "transaction",
                f"SQL {match.group(1)} outside db/ and the ledger/orgs adapters",
            )


def _positional_problems(args: ast.arguments, *, is_method: bool) -> list[str]:
    positional = [*args.posonlyargs, *args.args]
    if is_method and positional:
        positional = positional[1:]
    defaults_start = len([*args.posonlyargs, *args.args]) - len(args.defaults)
    offset = 1 if is_method else 0
    problems = []
    for index, arg in enumerate(positional):
        if index + offset >= defaults_start:
            problems.append(f"positional parameter {arg.arg!r} has a default: make it keyword-only")
    required = [a for i, a in enumerate(positional) if i + offset < defaults_start]
    if len(required) > MAX_SUBJECTS:
        extra = ", ".join(repr(a.arg) for a in required[MAX_SUBJECTS:])
        problems.append(
            f"{len(required)} positional parameters (at most {MAX_SUBJECTS} subjects): "
            f"put {extra} after a '*'"
        )
    return problems


def _is_staticmethod(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


def check_keyword_only(tree: ast.Module, shown: str) -> Iterator[Violation]:
    functions: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, bool]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            functions.append((node.name, node, False))
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and not item.name.startswith("_"):
                    functions.append((f"{node.name}.{item.name}", item, not _is_staticmethod(item)))
    for name, function, is_method in functions:
        for problem in _positional_problems(function.args, is_method=is_method):
            yield Violation(shown, function.lineno, "keyword-only", f"{name}: {problem}")


def check_adapters_place(rel: PurePosixPath, shown: str) -> Iterator[Violation]:
    parts = (*rel.parts[:-1], rel.stem)
    if "adapters" in parts and (parts.index("adapters") != 1 or parts[0] not in ADAPTER_CAPABILITIES):
        yield Violation(
            shown, 1, "adapters-place", "adapters/ belongs to the ledger and orgs capabilities only"
        )


def check_tree(package_root: Path, *, shown_from: Path | None = None) -> list[Violation]:
    """Every violation in the Python files under ``package_root`` (the ``batteryloop`` package folder)."""
    base = shown_from if shown_from is not None else package_root
    violations: list[Violation] = []
    for path in sorted(package_root.rglob("*.py")):
        rel = _relative(path, package_root)
        shown = path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if not _in_transaction_place(rel):
            violations.extend(check_transactions(tree, shown))
        if rel.name == "service.py":
            violations.extend(check_keyword_only(tree, shown))
        violations.extend(check_adapters_place(rel, shown))
    return sorted(violations)


def main(argv: list[str]) -> int:
    repo = Path(__file__).resolve().parents[1]
    package_root = Path(argv[0]).resolve() if argv else repo / "src" / "batteryloop"
    violations = check_tree(package_root, shown_from=repo if package_root.is_relative_to(repo) else None)
    for violation in violations:
        print(violation)
    if violations:
        print(f"{len(violations)} convention violation(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

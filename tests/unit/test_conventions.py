"""scripts/check_conventions.py finds each kind of violation, with its file and line, on a synthetic tree."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_conventions.py"


@pytest.fixture(scope="module")
def conventions() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_conventions", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _write(root: Path, rel: str, source: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")


def _found(conventions: ModuleType, root: Path) -> set[tuple[str, int, str]]:
    return {(v.path, v.line, v.rule) for v in conventions.check_tree(root)}


def test_transaction_control_outside_the_adapters_is_reported(
    conventions: ModuleType, tmp_path: Path
) -> None:
    _write(
        tmp_path,
        "recycling/service.py",
        '''
        """Nothing to COMMIT here: a docstring is not SQL."""

        def store(engine):
            with engine.begin() as conn:
                conn.execute("INSERT INTO t VALUES (1)")
            engine.raw.commit()
            engine.raw.rollback()
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute("ROLLBACK")
            label = "Begin here"
        ''',
    )
    assert _found(conventions, tmp_path) == {
        ("recycling/service.py", 4, "transaction"),
        ("recycling/service.py", 6, "transaction"),
        ("recycling/service.py", 7, "transaction"),
        ("recycling/service.py", 8, "transaction"),
        ("recycling/service.py", 9, "transaction"),
    }


def test_transaction_control_inside_db_and_the_adapters_is_allowed(
    conventions: ModuleType, tmp_path: Path
) -> None:
    body = """
    def write(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql("COMMIT")
    """
    for rel in ("db/engine.py", "ledger/adapters/ingest.py", "orgs/adapters/__init__.py"):
        _write(tmp_path, rel, body)
    assert _found(conventions, tmp_path) == set()


def test_positional_options_in_a_service_are_reported(conventions: ModuleType, tmp_path: Path) -> None:
    _write(
        tmp_path,
        "passport/service.py",
        """
        def view(ledger, battery_id, *, tier="public"):
            ...

        def quote(ledger, battery_id, market):
            ...

        def render(ledger, fmt="json"):
            ...

        def _helper(a, b, c, d=1):
            ...

        class PassportService:
            def __init__(self, ledger, a, b, c=1):
                ...

            def view(self, battery_id, *, tier="public"):
                ...

            def rendered(self, battery_id, view, render):
                ...

            @staticmethod
            def parse(a, b, c):
                ...

            @classmethod
            def open(cls, url=None):
                ...
        """,
    )
    violations = conventions.check_tree(tmp_path)
    assert {(v.line, v.rule) for v in violations} == {
        (4, "keyword-only"),
        (7, "keyword-only"),
        (20, "keyword-only"),
        (24, "keyword-only"),
        (28, "keyword-only"),
    }
    messages = {v.line: v.message for v in violations}
    assert "'market'" in messages[4]
    assert "'fmt' has a default" in messages[7]
    assert messages[20].startswith("PassportService.rendered: 3 positional parameters")
    assert "'url' has a default" in messages[28]


def test_keyword_only_rule_applies_to_service_modules_only(conventions: ModuleType, tmp_path: Path) -> None:
    _write(tmp_path, "recycling/core/model.py", "def npv(rate, flows, years, start=0):\n    ...\n")
    assert _found(conventions, tmp_path) == set()


def test_adapters_outside_ledger_and_orgs_are_reported(conventions: ModuleType, tmp_path: Path) -> None:
    _write(tmp_path, "ledger/adapters/reads.py", "X = 1\n")
    _write(tmp_path, "recycling/adapters/__init__.py", "X = 1\n")
    _write(tmp_path, "passport/adapters.py", "X = 1\n")
    assert _found(conventions, tmp_path) == {
        ("recycling/adapters/__init__.py", 1, "adapters-place"),
        ("passport/adapters.py", 1, "adapters-place"),
    }


def test_the_command_prints_file_line_and_rule_and_fails(
    conventions: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, "orgs/service.py", "def add(conn, org):\n    conn.commit()\n")
    assert conventions.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "orgs/service.py:2: [transaction] .commit() outside db/ and the ledger/orgs adapters" in out


def test_the_command_passes_on_a_clean_tree(conventions: ModuleType, tmp_path: Path) -> None:
    _write(tmp_path, "orgs/service.py", "def add(conn, org, *, when=None):\n    return org\n")
    assert conventions.main([str(tmp_path)]) == 0

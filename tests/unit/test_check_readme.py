"""scripts/check_readme.py: README opens with two set-up commands and .ci/run runs the second verbatim."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]

TEST_COMMAND = 'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest'


@pytest.fixture(scope="module")
def check_readme() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_readme", ROOT / "scripts" / "check_readme.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _repo(tmp_path: Path, commands: list[str], ci_line: str) -> Path:
    (tmp_path / ".ci").mkdir()
    block = "\n".join(commands)
    (tmp_path / "README.md").write_text(f"# tool\n\n```bash\n{block}\n```\n\nText.\n", encoding="utf-8")
    (tmp_path / ".ci" / "run").write_text(
        f"#!/usr/bin/env bash\nset -euo pipefail\n{ci_line}\n", encoding="utf-8"
    )
    return tmp_path


def test_the_repository_passes(check_readme: ModuleType) -> None:
    assert check_readme.problems(ROOT) == []


def test_a_third_command_is_reported(check_readme: ModuleType, tmp_path: Path) -> None:
    repo = _repo(tmp_path, ["pip install .", TEST_COMMAND, "make docs"], TEST_COMMAND)
    assert check_readme.problems(repo) == ["README.md: the set-up block shows 3 commands, not 2"]


def test_a_ci_command_that_differs_is_reported(check_readme: ModuleType, tmp_path: Path) -> None:
    repo = _repo(tmp_path, ["pip install .", TEST_COMMAND], TEST_COMMAND + " -x")
    assert check_readme.main([str(repo)]) == 1
    assert check_readme.problems(repo)[0].startswith(".ci/run: does not run README's second set-up command")


def test_a_readme_without_a_setup_block_is_reported(check_readme: ModuleType, tmp_path: Path) -> None:
    repo = _repo(tmp_path, ["pip install .", TEST_COMMAND], TEST_COMMAND)
    (repo / "README.md").write_text("# tool\n\nNo commands.\n", encoding="utf-8")
    assert check_readme.problems(repo) == [
        "README.md: the title is not followed by a ```bash block of set-up commands"
    ]

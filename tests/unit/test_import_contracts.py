""".importlinter: every contract is kept by a tree in the target layout and broken by one wrong import.

The tree is a small synthetic ``batteryloop`` package written to tmp_path; lint-imports runs on it with the
repository's own contract file. Modules that do not exist yet (app.py, clikit.py, reference/, core/ ...)
are left out of some trees on purpose: their layers are optional.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # one lint-imports process per case

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

CLEAN = {
    "__init__.py": "",
    "app.py": "from batteryloop.ledger import endpoints\nfrom batteryloop.passport import endpoints as p\n",
    "cli.py": "import typer\nfrom batteryloop import demo\nfrom batteryloop.ledger import cli\n",
    "demo.py": "from batteryloop.passport import service\nfrom batteryloop.recycling import service as r\n",
    "clikit.py": "import rich\n",
    "domain/__init__.py": "",
    "domain/lifecycle.py": "import pydantic\n",
    "reference/__init__.py": "from batteryloop.reference import values\n",
    "reference/values.py": "from batteryloop.domain import lifecycle\n",
    "db/__init__.py": "",
    "db/schema.py": "import alembic\nimport psycopg\nimport sqlalchemy\n",
    "web/__init__.py": "import jinja2\n",
    "orgs/__init__.py": "from batteryloop.orgs.service import add\n",
    "orgs/core/__init__.py": "from batteryloop.domain import lifecycle\n",
    "orgs/adapters/__init__.py": "import sqlalchemy\nfrom batteryloop.db import schema\n",
    "orgs/service.py": "from batteryloop.orgs import adapters, core\n\ndef add(): ...\n",
    "orgs/deps.py": "import fastapi\nfrom batteryloop.orgs import service\n",
    "ledger/__init__.py": "",
    "ledger/core/__init__.py": "import numpy\nfrom batteryloop.reference import values\n",
    "ledger/adapters/__init__.py": "import psycopg\nfrom batteryloop.ledger import core\n",
    "ledger/access.py": "from batteryloop.ledger import core\n",
    "ledger/service.py": "from batteryloop.ledger import access, adapters\nfrom batteryloop.orgs import service\n",
    "ledger/schemas.py": "import pydantic\nfrom batteryloop.ledger import service\n",
    "ledger/deps.py": "import fastapi\nfrom batteryloop.ledger import service\nfrom batteryloop.orgs import deps\n",
    "ledger/endpoints.py": "import fastapi\nfrom batteryloop.ledger import deps, schemas, service\n",
    "ledger/cli.py": "import typer\nfrom batteryloop import clikit\nfrom batteryloop.ledger import service\n",
    "passport/__init__.py": "",
    "passport/core/__init__.py": "import scipy\n",
    "passport/service.py": "from batteryloop import ledger\nfrom batteryloop.ledger import service\nfrom batteryloop.passport import core\n",
    "passport/report.py": "import openpyxl\nfrom batteryloop.passport import service\n",
    "passport/endpoints.py": "import fastapi\nfrom batteryloop.ledger import deps\nfrom batteryloop.passport import report\n",
    "passport/pages.py": "from batteryloop import web\nfrom batteryloop.passport import report\n",
    "recycling/__init__.py": "",
    "recycling/core/__init__.py": "import numpy\n",
    "recycling/service.py": "from batteryloop.ledger import service\nfrom batteryloop.recycling import core\n",
    "recycling/report.py": "import matplotlib\nfrom batteryloop.recycling import service\n",
    "recycling/cli.py": "import typer\nfrom batteryloop.recycling import report\n",
    "fleet/__init__.py": "",
    "fleet/service.py": "from batteryloop.domain import lifecycle\n",
    "params/__init__.py": "",
    "analytics/__init__.py": "",
    "analytics/service.py": "from batteryloop.ledger import service\n",
    "documents/__init__.py": "",
    "documents/service.py": "from batteryloop.ledger import service\nfrom batteryloop import passport\n",
    "params/report.py": "import rich\nfrom batteryloop.reference import values\n",
    "params/cli.py": "import typer\nfrom batteryloop.params import report\n",
}

BROKEN = {
    "Layers: composition roots": ("passport/synthetic.py", "from batteryloop import recycling\n"),
    "Layers inside each capability": ("ledger/access.py", "from batteryloop.ledger import service\n"),
    "domain, reference and every core": ("recycling/core/chart.py", "import matplotlib\n"),
    "Services import no entry-point framework": ("fleet/service.py", "import typer\n"),
    "Only db/ and the ledger and orgs adapters speak SQL": ("recycling/cli.py", "import sqlalchemy.exc\n"),
    "Faces reach storage only through a service": (
        "ledger/endpoints.py",
        "from batteryloop.ledger import adapters\n",
    ),
    "Capabilities meet only through": ("fleet/generator.py", "from batteryloop.ledger.core import x\n"),
}


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / "batteryloop" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _lint(root: Path) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(CONFIG)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, re.sub(r"\s+", " ", done.stdout + done.stderr)


def _contract_names() -> list[str]:
    return re.findall(r"^name = (.+)$", CONFIG.read_text(encoding="utf-8"), re.M)


def test_a_tree_in_the_target_layout_keeps_every_contract(tmp_path: Path) -> None:
    _tree(tmp_path, CLEAN)
    code, out = _lint(tmp_path)
    assert code == 0, out
    assert f"Contracts: {len(_contract_names())} kept, 0 broken." in out


def test_a_tree_without_the_optional_modules_keeps_every_contract(tmp_path: Path) -> None:
    optional = (
        "app.py",
        "clikit.py",
        "reference/",
        "core/",
        "adapters/",
        "access.py",
        "deps.py",
        "report.py",
    )
    files = {rel: text for rel, text in CLEAN.items() if not any(o in rel for o in optional)}
    files = {
        rel: "" if "service" in rel or rel.endswith(("cli.py", "endpoints.py", "pages.py")) else text
        for rel, text in files.items()
    }
    _tree(tmp_path, files)
    code, out = _lint(tmp_path)
    assert code == 0, out


@pytest.mark.parametrize("contract", sorted(BROKEN))
def test_one_wrong_import_breaks_its_contract(tmp_path: Path, contract: str) -> None:
    rel, text = BROKEN[contract]
    _tree(tmp_path, {**CLEAN, rel: text})
    code, out = _lint(tmp_path)
    assert code == 1, out
    assert re.search(re.escape(contract) + r"[^.]*? BROKEN", out), out
    assert " kept, 1 broken." in out, out


def test_every_contract_is_exercised() -> None:
    names = _contract_names()
    assert all(any(name.startswith(prefix) for name in names) for prefix in BROKEN)
    assert len(BROKEN) == len(names)

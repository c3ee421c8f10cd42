"""README.md opens with exactly two set-up commands, and .ci/run runs the second one verbatim.

Usage: ``python scripts/check_readme.py [REPO_ROOT]``. Prints one line per problem and exits 1, or exits 0.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_FIRST_BLOCK = re.compile(r"\A#[^\n]*\n+```bash\n(.*?)```", re.S)


def setup_commands(readme: str) -> list[str] | None:
    """The commands of the bash block that follows the README's title, or None if it has none."""
    block = _FIRST_BLOCK.match(readme)
    if block is None:
        return None
    return [line for line in block.group(1).splitlines() if line.strip()]


def problems(repo: Path) -> list[str]:
    readme = (repo / "README.md").read_text(encoding="utf-8")
    commands = setup_commands(readme)
    if commands is None:
        return ["README.md: the title is not followed by a ```bash block of set-up commands"]
    if len(commands) != 2:
        return [f"README.md: the set-up block shows {len(commands)} commands, not 2"]
    ci = (repo / ".ci" / "run").read_text(encoding="utf-8")
    if commands[1] not in ci.splitlines():
        return [
            f".ci/run: does not run README's second set-up command verbatim on a line of its own: {commands[1]}"
        ]
    return []


def main(argv: list[str]) -> int:
    repo = Path(argv[0]) if argv else Path(__file__).resolve().parents[1]
    found = problems(repo)
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

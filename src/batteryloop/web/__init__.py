"""Server-rendered web shell (Jinja2, works without JavaScript). Capabilities add their own pages."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def templates(*extra_dirs: Path) -> Jinja2Templates:
    """A Jinja2 environment that finds the shell's templates and those of the capabilities given."""
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in (TEMPLATE_DIR, *extra_dirs)]),
        autoescape=select_autoescape(["html", "xml"]),
    )
    return Jinja2Templates(env=env)

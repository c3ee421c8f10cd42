"""Every source a shipped data file names resolves in the shipped registry; nothing points outside the package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import batteryloop
from batteryloop.reference import citations
from batteryloop.reference.files import read_toml
from batteryloop.reference.params import load_set
from batteryloop.reference.registry import parse_registry
from batteryloop.reference.service import list_sets, packaged_sets
from batteryloop.reference.values import QUALITIES

PACKAGE = Path(batteryloop.__file__).parent
REGISTRY_FILE = PACKAGE / "reference" / "data" / "citations.toml"
DATA_FILES = sorted(
    {p for p in PACKAGE.rglob("*.toml") if "data" in p.relative_to(PACKAGE).parts[:-1] and p != REGISTRY_FILE}
    | {PACKAGE / "ledger" / "defaults.toml", PACKAGE / "web" / "defaults.toml"}
    | set((PACKAGE / "recycling" / "examples").glob("*.toml"))
)
OUTSIDE = re.compile(
    r"/work/shared|(process_economics|lifecycle_triage|passport_regulation|ecosystem|fleet)\.md|reference/[^\s\"']*\.md"
)
SOURCE_ANYWHERE = re.compile(r'\bsource\s*=\s*"([^"]*)"')


def test_there_are_data_files_of_every_capability() -> None:
    folders = {p.relative_to(PACKAGE).parts[0] for p in DATA_FILES}
    assert {"recycling", "fleet", "passport", "domain", "ledger"} <= folders
    assert len(DATA_FILES) >= 30


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_source_key_in_every_data_file_resolves(path: Path) -> None:
    registry = citations()
    keys = SOURCE_ANYWHERE.findall(path.read_text(encoding="utf-8"))
    unknown = sorted({k for k in keys if k not in registry})
    assert not unknown, f"{path.name} cites keys missing from reference/data/citations.toml: {unknown}"


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_data_file_points_outside_the_package(path: Path) -> None:
    found = OUTSIDE.findall(path.read_text(encoding="utf-8"))
    assert not found, f"{path.name} refers to notes outside the package: {found}"


def test_no_code_points_outside_the_package() -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*")
        if p.is_file()
        and p.suffix in (".py", ".toml", ".md", ".html", ".json")
        and OUTSIDE.search(p.read_text("utf-8", errors="replace"))
    ]
    assert offenders == []


def test_every_packaged_set_loads_strictly_and_every_value_has_a_known_quality() -> None:
    registry = citations()
    for data_set in packaged_sets():
        pset = load_set(data_set.location)  # packaged: an unknown source key is an error
        assert len(pset) > 0, data_set.name
        for path, param in pset.params.items():
            assert param.source in registry, (data_set.name, path)
            assert param.quality in QUALITIES, (data_set.name, path)
            if registry.get(param.source).quality == "assumption":
                assert param.quality in ("assumption", "unverified"), (data_set.name, path)


def test_every_registry_entry_has_the_required_fields() -> None:
    raw = read_toml(REGISTRY_FILE)
    assert len(raw) >= 40
    for key, entry in raw.items():
        assert entry.get("authors") or entry.get("publisher"), key
        assert isinstance(entry.get("title"), str) and entry["title"], key
        assert isinstance(entry.get("year"), int) and 1900 < entry["year"] < 2100, key
        assert entry.get("url") or entry.get("doi"), key
        link = citations().get(key).link
        assert link.startswith(("https://", "http://")), key


def test_every_registry_entry_is_cited_by_a_value_or_named_in_a_data_file() -> None:
    used = {p.source for s in packaged_sets() for p in load_set(s.location).params.values()}
    text = "\n".join(p.read_text(encoding="utf-8") for p in DATA_FILES)
    unused = sorted(k for k in set(citations()) - used if k not in text)
    assert unused == []


def test_assumption_sources_are_marked_as_assumptions() -> None:
    assumption_keys = {k for k in citations() if citations().get(k).quality == "assumption"}
    assert {"batteryloop-assumptions", "batteryloop-design", "batteryloop-synthetic"} <= assumption_keys


def test_the_data_readme_states_the_unverified_count() -> None:
    per_file = 0
    for path in DATA_FILES:
        per_file += len(re.findall(r'\bquality\s*=\s*"unverified"', path.read_text(encoding="utf-8")))
    readme = (PACKAGE / "recycling" / "data" / "README.md").read_text(encoding="utf-8")
    match = re.search(r"(\d+) values carry `quality = \"unverified\"`", readme.replace("\n", " "))
    assert match is not None
    assert int(match.group(1)) == per_file
    assert sum(s.unverified for s in list_sets()) >= per_file


def test_registry_rejects_an_entry_without_a_link() -> None:
    from batteryloop.domain.errors import ValidationError

    with pytest.raises(ValidationError, match=r"citation 'X' needs 'url' or 'doi'"):
        parse_registry({"X": {"publisher": "p", "title": "t", "year": 2020}}, origin="test")
    with pytest.raises(ValidationError, match=r"citation 'Y' needs 'authors' or 'publisher'"):
        parse_registry({"Y": {"title": "t", "year": 2020, "url": "https://x"}}, origin="test")

"""Rule packs: a jurisdiction is a folder of cited data, overridable, and unknown codes are refused."""

from __future__ import annotations

import pytest

from batteryloop.compliance import service
from batteryloop.compliance.core import rules
from batteryloop.domain.errors import NotFoundError, ValidationError


def test_packaged_jurisdictions_include_eu_and_china() -> None:
    assert {"eu", "cn"} <= set(rules.jurisdictions())


def test_every_rule_is_cited_with_a_year() -> None:
    for code in rules.jurisdictions():
        for path, value in rules.load_pack(code).items():
            assert value.source, f"{code}:{path} has no source"
            assert value.year is not None, f"{code}:{path} has no year"


def test_passport_date_of_the_eu_pack_is_article_77() -> None:
    view = service.rule_pack("eu", prefix="passport")
    found = dict(view.rules)
    assert found["passport.applies_from"]["value"] == "2027-02-18"
    assert "Art. 77(1)" in found["passport.applies_from"]["locator"]


def test_override_replaces_a_date_and_names_its_file(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    override = tmp_path / "delegated.toml"
    override.write_text('[passport.applies_from]\nvalue = "2027-08-18"\n', encoding="utf-8")
    view = service.rule_pack("eu", prefix="passport", overrides=[override])
    assert dict(view.rules)["passport.applies_from"]["value"] == "2027-08-18"
    assert (
        dict(service.rule_pack("eu", prefix="passport").rules)["passport.applies_from"]["value"]
        == "2027-02-18"
    )


def test_override_cannot_invent_a_rule(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    override = tmp_path / "typo.toml"
    override.write_text("[passport.applies_form]\nvalue = 1\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        service.rule_pack("eu", overrides=[override])


def test_unknown_jurisdiction_names_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match=r"unknown jurisdiction 'xx'.*cn, eu"):
        rules.load_pack("xx")

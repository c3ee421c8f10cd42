"""Annex XIII access tiers: per audience, the served field set is exactly the allowed one."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.organisation import (
    Certification,
    CertificationScheme,
    CertifiedActivity,
    Organisation,
    Role,
)
from batteryloop.passport.access import (
    Audience,
    audiences_for,
    default_policy,
    leaf_paths,
    load_policy,
    redact,
)
from batteryloop.passport.core.model import Passport
from support.annex_xiii import AUTHORITY_ONLY, DISMANTLING, INDIVIDUAL, MODEL_RESTRICTED, PUBLIC

EXPECTED = {
    Audience.PUBLIC: PUBLIC,
    Audience.LEGITIMATE_INTEREST: PUBLIC | (MODEL_RESTRICTED - DISMANTLING),
    Audience.AUTHORITY: PUBLIC | MODEL_RESTRICTED | AUTHORITY_ONLY,
    Audience.INDIVIDUAL: PUBLIC | INDIVIDUAL,
    Audience.CERTIFIED_TREATMENT: PUBLIC | DISMANTLING,
}


def _sections(paths: set[str], full: Passport) -> set[str]:
    """Map leaf paths back to the section granularity used in EXPECTED."""
    out = set()
    for path in paths:
        for section in set().union(*EXPECTED.values()):
            if path == section or path.startswith(section + "."):
                out.add(section)
                break
        else:
            out.add("UNLISTED:" + path)
    return out


@pytest.mark.parametrize("audience", list(Audience))
def test_each_audience_is_served_exactly_its_fields(passport: Passport, audience: Audience) -> None:
    served = _sections(leaf_paths(redact(passport, audience)), passport)
    assert served == EXPECTED[audience]


def test_every_field_of_a_full_passport_is_covered_by_the_table(passport: Passport) -> None:
    # a new model field must get a tier; until then it is never served (default deny)
    # (a section the battery does not have, e.g. an original's re-rating, is None and served to no one)
    document = {k: v for k, v in passport.model_dump(mode="json").items() if v is not None}
    for path in leaf_paths(document):
        assert default_policy().rule_for(path) is not None, path


def test_union_of_audiences_and_nothing_restricted_in_public(passport: Passport) -> None:
    both = redact(passport, {Audience.INDIVIDUAL, Audience.LEGITIMATE_INTEREST})
    assert "materials" in both["composition"]
    assert "condition" in both
    public = redact(passport, Audience.PUBLIC)
    text = str(public)
    assert passport.test_reports is not None and passport.test_reports.result_of_test_report_url not in text
    assert passport.circularity is not None
    assert passport.circularity.dismantling_documents[0].url not in text
    assert "accident" not in text
    assert "Original" not in text  # the Annex XIII(4)(c) status is individual data


ORG = "org-x"


def _org(*roles: Role) -> Organisation:
    return Organisation(ORG, "X", "DE", frozenset(roles))


@pytest.mark.parametrize(
    ("roles", "custodian", "manufacturer", "expected"),
    [
        ((), None, None, {Audience.PUBLIC}),
        ((Role.RECYCLER,), None, None, {Audience.PUBLIC, Audience.LEGITIMATE_INTEREST}),
        ((Role.DEALER_REPAIRER,), None, None, {Audience.PUBLIC, Audience.LEGITIMATE_INTEREST}),
        (
            (Role.SECOND_LIFE_OPERATOR,),
            ORG,
            None,
            {Audience.PUBLIC, Audience.LEGITIMATE_INTEREST, Audience.INDIVIDUAL},
        ),
        ((Role.AUTHORITY,), None, None, {Audience.PUBLIC, Audience.AUTHORITY}),
        ((Role.NOTIFIED_BODY,), None, None, {Audience.PUBLIC, Audience.AUTHORITY}),
        ((Role.OWNER,), "someone-else", None, {Audience.PUBLIC}),  # owns other batteries, not this one
        ((Role.OWNER,), ORG, None, {Audience.PUBLIC, Audience.INDIVIDUAL}),
        ((Role.PRO,), None, None, {Audience.PUBLIC}),
        (
            (Role.BATTERY_MANUFACTURER,),
            "dealer",
            ORG,
            {
                Audience.PUBLIC,
                Audience.INDIVIDUAL,
                Audience.LEGITIMATE_INTEREST,
                Audience.CERTIFIED_TREATMENT,
            },
        ),
        ((Role.BATTERY_MANUFACTURER,), None, "other-maker", {Audience.PUBLIC}),
    ],
)
def test_roles_map_to_audiences(roles, custodian, manufacturer, expected) -> None:
    assert audiences_for(_org(*roles), custodian=custodian, manufacturer=manufacturer) == expected


def test_anonymous_is_public_only() -> None:
    assert audiences_for(None, custodian=ORG) == {Audience.PUBLIC}


def test_every_role_has_an_entry_and_every_rule_cites_a_basis() -> None:
    policy = default_policy()
    assert set(policy.roles) == set(Role)
    assert all(rule.basis for rule in policy.rules)
    assert policy.source == "EU-2023-1542"  # registry key of Regulation (EU) 2023/1542


def test_a_user_table_can_tighten_access_and_bad_tables_are_refused(
    tmp_path: Path, passport: Passport
) -> None:
    text = (Path(__file__).parents[3] / "src/batteryloop/passport/data/access.toml").read_text(
        encoding="utf-8"
    )
    tightened = text.replace(
        'path = "carbon_footprint"\ntier = "public"', 'path = "carbon_footprint"\ntier = "authority"'
    )
    assert tightened != text
    own = tmp_path / "access.toml"
    own.write_text(tightened, encoding="utf-8")
    policy = load_policy(own)
    assert "carbon_footprint" not in redact(passport, Audience.PUBLIC, policy=policy)
    assert "carbon_footprint" in redact(passport, Audience.AUTHORITY, policy=policy)

    overlapping = text + '\n[[field]]\npath = "identity.serial"\ntier = "individual"\nbasis = "x"\n'
    own.write_text(overlapping, encoding="utf-8")
    with pytest.raises(ValidationError, match=r"'identity' and 'identity\.serial' overlap"):
        load_policy(own)
    own.write_text(text.replace('tier = "authority"', 'tier = "nobody"'), encoding="utf-8")
    with pytest.raises(ValidationError, match="unknown tier 'nobody'"):
        load_policy(own)


# ------------------------------------------------------------------ certified treatment and access grants

PERMIT = Certification(CertificationScheme.EU_PERMIT, "P-9", date(2024, 1, 1), date(2026, 12, 31))
REPAIR = Certification(
    CertificationScheme.OTHER, "R-3", date(2024, 1, 1), activity=CertifiedActivity.REPAIR, authority="TUV"
)
DAY = date(2025, 6, 1)


@pytest.mark.parametrize(
    ("roles", "certs", "on", "dismantling"),
    [
        ((Role.RECYCLER,), (), DAY, False),  # registered as a recycler: not enough
        ((Role.RECYCLER,), (PERMIT,), DAY, True),
        ((Role.RECYCLER,), (PERMIT,), date(2027, 1, 1), False),  # expired
        ((Role.RECYCLER,), (replace(PERMIT, withdrawn_at="2025-05-01T00:00:00Z"),), DAY, False),  # withdrawn
        ((Role.RECYCLER,), (REPAIR,), DAY, False),  # a repair certification does not cover recycling
        ((Role.DEALER_REPAIRER,), (REPAIR,), DAY, True),
        ((Role.DEALER_REPAIRER,), (PERMIT,), DAY, False),
        ((Role.DISMANTLER,), (PERMIT,), DAY, True),
        (
            (Role.OWNER,),
            (PERMIT,),
            DAY,
            False,
        ),  # a certificate gives nothing to a role without a point-2 interest
        (
            (Role.RECYCLER,),
            (replace(PERMIT, scheme=CertificationScheme.OTHER),),
            DAY,
            False,
        ),  # activity unknown
    ],
)
def test_dismantling_information_needs_a_valid_certification(roles, certs, on, dismantling, passport) -> None:
    org = Organisation(ORG, "X", "DE", frozenset(roles), tuple(certs))
    audiences = audiences_for(org, on=on)
    assert (Audience.CERTIFIED_TREATMENT in audiences) is dismantling
    served = redact(passport, audiences)
    assert ("dismantling_documents" in served.get("circularity", {})) is dismantling


def test_a_grant_in_force_opens_the_individual_tier_to_the_grantee_only() -> None:
    buyer = _org(Role.SECOND_LIFE_OPERATOR)
    assert Audience.INDIVIDUAL not in audiences_for(buyer, custodian="holder")
    assert Audience.INDIVIDUAL in audiences_for(buyer, custodian="holder", grantees={ORG})
    assert Audience.INDIVIDUAL not in audiences_for(buyer, custodian="holder", grantees={"someone-else"})
    assert audiences_for(None, grantees={ORG}) == {Audience.PUBLIC}

"""Annex XIII access tiers, enforced on the server: :func:`redact` is the one filter every output passes.

The field -> tier table and the role -> audience mapping are data (``data/access.toml``, cited). ``redact``
takes a passport and the caller's audiences and returns only the fields those audiences may see; HTML,
JSON, JSON-LD and the BatteryPass/Catena-X exports are all rendered from its result, never from the
passport itself. A field missing from the table is never served (default deny).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.passport.core.model import Passport
from batteryloop.reference.files import read_toml


class Audience(StrEnum):
    """The four Annex XIII audiences, and the certified treatment operators among those of point 2."""

    PUBLIC = "public"
    LEGITIMATE_INTEREST = "legitimate_interest"  # in the battery model (Annex XIII(2))
    AUTHORITY = "authority"  # notified bodies, market surveillance authorities, the Commission (XIII(3))
    INDIVIDUAL = "individual"  # legitimate interest in the individual battery (XIII(4))
    # recyclers and repairers holding a valid certification (permit): dismantling information, XIII(2)(c)
    CERTIFIED_TREATMENT = "certified_treatment"


@dataclass(frozen=True, slots=True)
class FieldRule:
    path: tuple[str, ...]
    tier: str
    basis: str
    audiences: frozenset[Audience]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    rules: tuple[FieldRule, ...]
    roles: Mapping[Role, frozenset[Audience]]
    relations: Mapping[str, frozenset[Audience]]
    source: str
    # role -> (activities a certification must cover, audiences it adds while valid): ``[certified]``
    certified: Mapping[Role, tuple[frozenset[str], frozenset[Audience]]] = field(default_factory=dict)

    def allowed_paths(self, audiences: Iterable[Audience]) -> tuple[tuple[str, ...], ...]:
        wanted = frozenset(audiences)
        return tuple(r.path for r in self.rules if r.audiences & wanted)

    def rule_for(self, dotted: str) -> FieldRule | None:
        """The rule covering ``dotted`` (the longest listed prefix), or None when nothing covers it."""
        parts = tuple(dotted.split("."))
        best: FieldRule | None = None
        for rule in self.rules:
            if parts[: len(rule.path)] == rule.path and (best is None or len(rule.path) > len(best.path)):
                best = rule
        return best


def _parse_policy(data: Mapping[str, Any], origin: str) -> AccessPolicy:
    try:
        tiers = {name: frozenset(Audience(a) for a in members) for name, members in data["tiers"].items()}
        rules = []
        for row in data["field"]:
            tier = str(row["tier"])
            if tier not in tiers:
                raise ValidationError(f"{origin}: field {row['path']!r} names unknown tier {tier!r}")
            rules.append(
                FieldRule(
                    path=tuple(str(row["path"]).split(".")),
                    tier=tier,
                    basis=str(row["basis"]),
                    audiences=tiers[tier],
                )
            )
        roles = {Role(k): frozenset(Audience(a) for a in v) for k, v in data["roles"].items()}
        relations = {str(k): frozenset(Audience(a) for a in v) for k, v in data["relations"].items()}
        source = str(data["meta"]["source"])
        certified = {
            Role(k): (
                frozenset(str(a) for a in v["activities"]),
                frozenset(Audience(a) for a in v["audiences"]),
            )
            for k, v in data.get("certified", {}).items()
        }
    except (KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(f"{origin}: malformed access table ({exc})") from exc
    paths = [r.path for r in rules]
    for i, a in enumerate(paths):
        for b in paths[i + 1 :]:
            if a[: len(b)] == b or b[: len(a)] == a:
                raise ValidationError(f"{origin}: fields {'.'.join(a)!r} and {'.'.join(b)!r} overlap")
    missing = set(Role) - set(roles)
    if missing:
        raise ValidationError(f"{origin}: roles {sorted(missing)} have no audience entry")
    return AccessPolicy(
        rules=tuple(rules), roles=roles, relations=relations, source=source, certified=certified
    )


ACCESS_FILE = Path(__file__).parent / "data" / "access.toml"


@cache
def default_policy() -> AccessPolicy:
    return _parse_policy(read_toml(ACCESS_FILE), "passport/data/access.toml")


def load_policy(path: str | Path) -> AccessPolicy:
    """A user's own access table (same layout as the packaged ``data/access.toml``)."""
    try:
        data = read_toml(path)
    except (NotFoundError, ValidationError) as exc:
        raise ValidationError(f"access table {path}: {exc}") from exc
    return _parse_policy(data, str(path))


def audiences_for(
    org: Organisation | None,
    *,
    custodian: str | None = None,
    manufacturer: str | None = None,
    grantees: Container[str] = (),
    on: date | None = None,
    policy: AccessPolicy | None = None,
) -> frozenset[Audience]:
    """The audiences ``org`` belongs to for one battery (``custodian``/``manufacturer`` are that battery's;
    ``grantees`` the organisations its holder gave access to that is in force, ``AccessGranted``).

    Anonymous callers are the public; every caller is at least the public. A role listed in the policy's
    ``[certified]`` table counts only while the organisation holds a certification valid on ``on`` (default
    today) for one of the activities listed there.
    """
    policy = policy or default_policy()
    found: set[Audience] = {Audience.PUBLIC}
    if org is None:
        return frozenset(found)
    for role in org.roles:
        found |= policy.roles.get(role, frozenset())
    if policy.certified:
        day = on or date.today()
        for role in org.roles:
            extra = policy.certified.get(role)
            if extra is not None and org.certified_on(day, activities=extra[0]):
                found |= extra[1]
    if custodian is not None and org.org_id == custodian:
        found |= policy.relations.get("custodian", frozenset())
    if org.org_id in grantees:
        found |= policy.relations.get("grantee", frozenset())
    if manufacturer is not None and org.org_id == manufacturer:
        found |= policy.relations.get("manufacturer", frozenset())
    return frozenset(found)


def _copy_path(src: Mapping[str, Any], dst: dict[str, Any], path: tuple[str, ...]) -> None:
    node: Any = src
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return
        node = node[part]
    target = dst
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = node


def redact_document(
    document: Mapping[str, Any],
    audience: Audience | Iterable[Audience],
    *,
    policy: AccessPolicy | None = None,
) -> dict[str, Any]:
    """Keep only the parts of a passport document (``model_dump(mode="json")``) the audience may see."""
    policy = policy or default_policy()
    audiences = frozenset({audience}) if isinstance(audience, Audience) else frozenset(audience)
    out: dict[str, Any] = {}
    for path in policy.allowed_paths(audiences):
        _copy_path(document, out, path)
    return out


def _present(value: Any) -> bool:
    return value is not None and value != [] and value != {} and value != ()


def withheld_paths(
    document: Mapping[str, Any],
    audience: Audience | Iterable[Audience],
    *,
    policy: AccessPolicy | None = None,
) -> tuple[str, ...]:
    """The fields of ``document`` (dotted paths of the access table) that hold a value the audience may not
    see: what a redacted rendering withholds, as opposed to what the passport does not have."""
    policy = policy or default_policy()
    audiences = frozenset({audience}) if isinstance(audience, Audience) else frozenset(audience)
    found = []
    for rule in policy.rules:
        if rule.audiences & audiences:
            continue
        node: Any = document
        for part in rule.path:
            node = node.get(part) if isinstance(node, Mapping) else None
        if _present(node):
            found.append(rule.dotted)
    return tuple(found)


def redact(
    passport: Passport,
    audience: Audience | Iterable[Audience],
    *,
    policy: AccessPolicy | None = None,
) -> dict[str, Any]:
    """The passport as the given audience(s) may see it: a JSON-ready dict, nothing else in it."""
    return redact_document(passport.model_dump(mode="json"), audience, policy=policy)


def leaf_paths(document: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of the leaves of a document (lists count as leaves)."""
    found: set[str] = set()
    for key, value in document.items():
        here = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            found |= leaf_paths(value, here + ".")
        else:
            found.add(here)
    return found


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a caller is (``granted``) or is not shown one audience's fields of one battery: a ``kind`` the
    page words (``anyone``, ``role``, ``certified``, ``holder``, ``manufacturer``, ``grant``; for a withheld
    audience ``sign_in``, ``not_certified``, ``not_yours``, ``other_roles``) and the facts it names."""

    audience: Audience
    granted: bool
    kind: str
    facts: Mapping[str, str | list[str]] = field(default_factory=dict)  # role_codes: a list


def explain(
    org: Organisation | None,
    audiences: frozenset[Audience],
    *,
    custodian: str | None,
    manufacturer: str | None,
    grants: Iterable[Any] = (),
    on: date | None = None,
    policy: AccessPolicy | None = None,
) -> tuple[Reason, ...]:
    """What ``org`` is shown of one battery and why, audience by audience (``audiences`` as
    :func:`audiences_for` gave them; ``grants`` the battery's grants in force, :mod:`batteryloop.domain.grants`).
    Withheld audiences say who may see them, never who holds the battery."""
    policy = policy or default_policy()
    day = on or date.today()
    out: list[Reason] = [Reason(Audience.PUBLIC, True, "anyone")]
    role_for = {
        a: sorted(str(r) for r in (org.roles if org else ()) if a in policy.roles.get(r, ()))
        for a in Audience
    }
    # legitimate interest and authority: by role (or as the manufacturer)
    for audience in (Audience.LEGITIMATE_INTEREST, Audience.AUTHORITY):
        if audience in audiences:
            if role_for[audience]:
                out.append(
                    Reason(
                        audience,
                        True,
                        "role",
                        {"roles": ", ".join(role_for[audience]), "role_codes": list(role_for[audience])},
                    )
                )
            else:
                out.append(Reason(audience, True, "manufacturer"))
        else:
            out.append(Reason(audience, False, "sign_in" if org is None else "other_roles"))
    # dismantling information: a valid certification for the role's activity
    if Audience.CERTIFIED_TREATMENT in audiences:
        cert = _valid_certificate(org, day, policy)
        if cert is not None:
            facts = {"number": cert.reference, "authority": cert.authority or str(cert.scheme)}
            facts["until"] = cert.valid_until.isoformat() if cert.valid_until else ""
            out.append(Reason(Audience.CERTIFIED_TREATMENT, True, "certified", facts))
        else:
            out.append(Reason(Audience.CERTIFIED_TREATMENT, True, "manufacturer"))
    elif org is not None and any(r in policy.certified for r in org.roles):
        out.append(Reason(Audience.CERTIFIED_TREATMENT, False, "not_certified"))
    else:
        out.append(Reason(Audience.CERTIFIED_TREATMENT, False, "sign_in" if org is None else "other_roles"))
    # the individual battery: holder, manufacturer or a grant in force
    if Audience.INDIVIDUAL in audiences and org is not None:
        if org.org_id == custodian:
            out.append(Reason(Audience.INDIVIDUAL, True, "holder"))
        elif org.org_id == manufacturer:
            out.append(Reason(Audience.INDIVIDUAL, True, "manufacturer"))
        else:
            mine = [g for g in grants if getattr(g, "grantee", None) == org.org_id]
            until = max((g.valid_until for g in mine), default=None)
            out.append(
                Reason(Audience.INDIVIDUAL, True, "grant", {"until": until.isoformat() if until else ""})
            )
    elif Audience.INDIVIDUAL in audiences:
        out.append(Reason(Audience.INDIVIDUAL, True, "holder"))
    else:
        out.append(Reason(Audience.INDIVIDUAL, False, "sign_in" if org is None else "not_yours"))
    return tuple(out)


def _valid_certificate(org: Organisation | None, day: date, policy: AccessPolicy) -> Any:
    if org is None:
        return None
    for role in org.roles:
        wanted = policy.certified.get(role)
        if wanted is None:
            continue
        for cert in org.certifications:
            if cert.is_valid_on(day) and cert.covers is not None and cert.covers.value in wanted[0]:
                return cert
    return None

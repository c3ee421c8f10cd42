"""Links of a passport document: references become URLs under a base URL, and back on import."""

from __future__ import annotations

from batteryloop.passport.core.links import _NO_LINKS, links_to_refs, resolve_links
from batteryloop.passport.core.model import Passport


def _link_paths(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if key == "url" or key.endswith("_url"):
                yield here
            yield from _link_paths(value, here)
    elif isinstance(node, list):
        for item in node:
            yield from _link_paths(item, path)


def test_every_link_is_resolved_and_turned_back(passport: Passport) -> None:
    document = passport.model_dump(mode="json")
    paths = set(_link_paths(document))
    # the sections passed through unsearched hold no link field
    assert not {p for p in paths if p.split(".")[0] in _NO_LINKS}
    resolved = resolve_links(document, base_url="http://127.0.0.1:9/")
    urls = list(_link_paths(resolved))
    assert len(urls) == len(list(_link_paths(document))) > 10
    refs = [v for v in _values(document) if isinstance(v, str) and v.startswith("sha256:")]
    assert refs and not [v for v in _values(resolved) if isinstance(v, str) and v.startswith("sha256:")]
    assert links_to_refs(resolved) == document


def _values(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _values(item)
    else:
        yield node

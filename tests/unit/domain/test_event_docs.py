"""docs/events.md is what scripts/gen_event_docs.py generates, and the payload descriptions match the ledger."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from batteryloop.domain.lifecycle import REQUIRED_PAYLOAD, EventType
from batteryloop.domain.payloads import EVENTS, PayloadField

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_event_docs", ROOT / "scripts" / "gen_event_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_docs_equal_the_generated_ones(gen: ModuleType) -> None:
    committed = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert committed == gen.render(), "docs/events.md is out of date: run python scripts/gen_event_docs.py"


def test_every_event_type_and_required_key_is_described(gen: ModuleType) -> None:
    assert set(EVENTS) == set(EventType)
    assert gen.check_consistency() == []
    for event_type, required in REQUIRED_PAYLOAD.items():
        assert set(required) <= set(EVENTS[event_type].fields)


def test_a_required_key_described_with_another_type_is_reported(
    gen: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = dict(EVENTS)
    spec = changed[EventType.CUSTODY_HANDED_OVER]
    changed[EventType.CUSTODY_HANDED_OVER] = type(spec)(
        spec.meaning, {"to_org": PayloadField(int, "receiver")}
    )
    monkeypatch.setattr(gen, "EVENTS", changed)
    assert gen.check_consistency() == [
        "CustodyHandedOver: 'to_org' is described as integer, the ledger checks string"
    ]


def test_the_docs_name_every_required_key_as_required(gen: ModuleType) -> None:
    text = gen.render()
    for event_type, required in REQUIRED_PAYLOAD.items():
        section = text.split(f"### {event_type}\n", 1)[1].split("\n### ", 1)[0]
        for key in required:
            assert f"| `{key}` | yes |" in section

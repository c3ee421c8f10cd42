"""Synthetic fleets: cited defaults, organisations, a seeded lifecycle generator, a batch planner and the use
case that writes a fleet into a ledger (``generate_into_ledger``); ``fleet.cli`` holds ``fleet generate``."""

from batteryloop.fleet.core.batches import plan_batches
from batteryloop.fleet.core.config import FleetConfig, default_fleet_config, load_fleet_config
from batteryloop.fleet.core.generator import (
    Fleet,
    FleetBattery,
    FleetEvent,
    generate_fleet,
    iter_fleet_chunks,
    iter_fleet_events,
)
from batteryloop.fleet.core.organisations import OrgDirectory, default_org_directory, load_org_directory
from batteryloop.fleet.service import GeneratedFleet, generate_into_ledger

__all__ = [
    "Fleet",
    "FleetBattery",
    "FleetConfig",
    "FleetEvent",
    "GeneratedFleet",
    "OrgDirectory",
    "default_fleet_config",
    "default_org_directory",
    "generate_fleet",
    "generate_into_ledger",
    "iter_fleet_chunks",
    "iter_fleet_events",
    "load_fleet_config",
    "load_org_directory",
    "plan_batches",
]

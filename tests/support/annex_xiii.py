"""The Annex XIII field sets, written out by hand from the regulation (not computed from the data file),
at the granularity of passport sections. Shared by the unit and HTTP tests of the access tiers."""

from __future__ import annotations

PUBLIC = {
    "schema_version",
    "passport_id",
    "identity",
    "manufacturer",
    "operator",
    "manufacturing_place",
    "warranty_months",
    "carbon_footprint",
    "circularity.recycled_content",
    "circularity.renewable_content_pct",
    "end_of_life",
    "safety.extinguishing_agents",
    "safety.fire_class",
    "composition.hazardous_substances",
    "critical_raw_materials",
    "rated_performance",
    "labels",
    "due_diligence",
    "lifecycle.predecessor_id",
    "lifecycle.successor_id",
    "lifecycle.ceased",
    "lifecycle.ceased_on",
}
MODEL_RESTRICTED = {  # Annex XIII(2)
    "circularity.dismantling_documents",
    "circularity.spare_part_sources",
    "safety.safety_instructions_url",
    "composition.materials",
    "composition.battery_mass_kg",
    "composition.remainder_kg",
}
# Among the Annex XIII(2) items, the dismantling information goes only to recyclers, repairers and dismantlers
# holding a valid certification (Art. 70 permit), to authorities and to the battery's manufacturer.
DISMANTLING = {"circularity.dismantling_documents"}
AUTHORITY_ONLY = {"test_reports"}  # Annex XIII(3)
INDIVIDUAL = {  # Annex XIII(4)
    "condition",
    "lifecycle.status",
    "lifecycle.state",
    "lifecycle.placed_on_market_on",
    "lifecycle.put_into_service_on",
    "lifecycle.version",
    "lifecycle.last_update",
    "data_issues",  # stored values left out (batteryloop: who answers for the battery fixes them)
}

"""batteryloop: traceability, passports, EPR and recycling economics for the battery loop."""

__version__ = "0.1.0"

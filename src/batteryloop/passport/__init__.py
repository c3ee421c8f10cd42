"""The EU battery passport (Regulation (EU) 2023/1542, Art. 77-78, Annex XIII), computed from the ledger.

Pure core (no database or web imports):

- ``model``: the canonical passport (:class:`~batteryloop.passport.model.Passport`) with explicit units, and
  the ``PassportDataRegistered`` payload schema;
- ``build``: ``build_passport(events, *, predecessor_events=(), resolver_domain=None)`` and
  ``passport_from_source(ledger, battery_id, *, resolver_domain=None)``;
- ``access``: Annex XIII tiers: ``redact(passport, audience) -> dict``, ``audiences_for(org, *, custodian,
  manufacturer)`` (table in ``data/access.toml``);
- ``obligations``: ``check_passport(passport, *, on) -> list[MissingAttribute]`` (``data/obligations.toml``);
- ``batterypass``: BatteryPass v1.2 ``to_batterypass`` / ``from_batterypass`` / ``validate_batterypass``;
- ``catenax``: Catena-X battery_pass 6.1.0 ``to_catenax`` and traction_battery_code 2.0.0;
- ``schemas``: the shipped official JSON Schemas and ``validate(name, document)``;
- ``qr``: QR codes of the GS1 Digital Link (SVG/PNG); ``synthetic``: demo passport data.

Serving: ``service.PassportService`` (cache + redaction per caller), ``endpoints.router`` (FastAPI) and
``cli.passport_app`` (Typer).
"""

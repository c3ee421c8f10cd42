"""English strings that page modules pass to the shared templates as data, marked here for extraction.

The templates show them with ``_(value)``, so they are translated in the request's locale. A page module that
marks such a string where it writes it (``from batteryloop.web import N_``) needs no entry here.
"""

from __future__ import annotations

from batteryloop.web.i18n import N_

ERROR_TITLES = (
    N_("Unknown battery"),
    N_("Not yours to see"),
    N_("Passport ceased"),
    N_("Not found"),
)
"""The ``title`` of ``error.html`` (ledger pages, passport page)."""

BATTERY_FACTS = (
    N_("Custodian"),
    N_("Manufacturer"),
    N_("Last state of health"),
    N_("Successor of"),
    N_("Succeeded by"),
)
"""Row labels of ``facts`` in ``battery.html``."""

LOGIN_ERRORS = (N_("That API key is not valid."),)
"""The ``error`` of ``login.html``."""

PASSPORT_LINK_TITLES = (
    N_("Carbon footprint study"),
    N_("Separate collection and take-back"),
    N_("EU declaration of conformity"),
    N_("Safety instructions"),
)
"""The ``title`` of the GS1 links listed on ``passport.html``."""

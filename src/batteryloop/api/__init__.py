"""Former home of the HTTP faces, now in the capability slices (``orgs``, ``ledger``) and the composition
root :mod:`batteryloop.app`; its modules re-export the moved names for code that still imports them here."""

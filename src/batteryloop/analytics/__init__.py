"""batteryloop.analytics: reuse or recycle (triage of tested batteries), the retirement wave (forecast per
region, year and chemistry), and collection networks (least-cost spoke and hub sites).

The use cases are in :mod:`batteryloop.analytics.service` (the ones the CLI and HTTP API call)::

    from batteryloop.analytics import service

    decisions = service.triage_csv(open("batteries.csv").read())
    wave = service.forecast(None, source="defaults", first_year=2020, last_year=2040)
    network = service.design_network(service.read_network_file(Path("network.toml")))

The models are pure functions in :mod:`batteryloop.analytics.core` (``triage``, ``forecast``, ``network``);
renderings (JSON dicts, CSV, XLSX, SVG charts) in ``analytics.report``; the faces in ``analytics.cli``,
``analytics.endpoints`` and ``analytics.pages``. Cited defaults are the ``analytics-*`` data sets
(``batteryloop params show analytics-triage``).
"""

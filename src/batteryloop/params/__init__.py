"""The faces of the reference data: ``batteryloop params`` (:mod:`.cli`), ``GET /params`` and
``/citations`` (:mod:`.endpoints`) and their renderings (:mod:`.report`: JSON, CSV, Rich tables).

The use cases are the pure reference kernel's (:mod:`batteryloop.reference.service`); this slice sits with the
capabilities so that the kernel imports no CLI, web or terminal library.
"""

"""The recycling model: pure computation and types (materials, feedstock, flowsheet, economics, finance, pricing,
carbon, uncertainty, comparisons, scenarios, a recycler's intake folded from ledger events).

Imports ``domain``, the parameter sets, NumPy and SciPy; never a web, CLI, rendering or database library.
"""

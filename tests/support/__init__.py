"""Shared test expectations (importable because pytest puts tests/ on sys.path)."""

"""Pure computations of the compliance capability (no framework, no database)."""

"""Pure passport computation: no database, web, CLI or rendering library."""

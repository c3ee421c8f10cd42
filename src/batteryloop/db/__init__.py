"""Storage: SQLAlchemy 2 engine and Core tables, Alembic migrations shipped inside the package."""

from batteryloop.db.engine import database_url, make_engine
from batteryloop.db.migrate import downgrade, upgrade

__all__ = ["database_url", "downgrade", "make_engine", "upgrade"]

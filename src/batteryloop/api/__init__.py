"""The HTTP entry point: a thin FastAPI shell over the services (JSON API + server-rendered pages)."""

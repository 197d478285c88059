"""Alembic migrations of the registry database, run by `tsunagari db upgrade`."""

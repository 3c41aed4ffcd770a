"""Revision files (alembic skips ``__init__``; this file makes setuptools install the folder)."""

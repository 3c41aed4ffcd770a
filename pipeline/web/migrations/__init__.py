"""Alembic migrations of the reviewer app's database (see :func:`pipeline.web.db.upgrade`).

The app and ``yunshen users add`` upgrade the database to the newest revision when they start.
A new revision for a model change (run from the repository root, against a scratch database)::

    alembic -c pipeline/web/migrations/alembic.ini -x url=sqlite:///scratch.db upgrade head
    alembic -c pipeline/web/migrations/alembic.ini -x url=sqlite:///scratch.db revision --autogenerate -m "..."

then read and tidy the generated file (``versions/``): revisions are frozen once released.
"""

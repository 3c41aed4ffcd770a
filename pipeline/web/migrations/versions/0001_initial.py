"""Initial schema: users, sessions, the append-only decisions audit trail, the app secret.

The tables the app created with ``create_all`` before migrations existed; a database made by that
code is adopted (stamped at this revision) by :func:`pipeline.web.db.upgrade`.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pipeline.web.migrations import append_only

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("city", sa.String(4), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("application_id", sa.String(200), nullable=False),
        sa.Column("flag_key", sa.String(64), nullable=False),
        sa.Column("flag_code", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("rules_version", sa.String(32), nullable=True),
        sa.Column("screened_at", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_decisions_app_flag", "decisions", ["application_id", "flag_key", "id"])
    op.create_table(
        "app_secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    append_only.install(op.get_bind())


def downgrade() -> None:
    append_only.remove(op.get_bind())
    op.drop_table("app_secret")
    op.drop_index("ix_decisions_app_flag", table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("sessions")
    op.drop_table("users")

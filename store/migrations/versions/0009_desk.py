"""the desk (办理台): local accounts, sessions, failed sign-ins; ledger indexes

Revision ID: 0009_desk
Revises: 0008_routing
Create Date: 2026-12-03 14:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_desk"
down_revision: str | Sequence[str] | None = "0008_routing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "desk_accounts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_desk_accounts_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_desk_accounts_username")),
    )
    op.create_index(op.f("ix_desk_accounts_person_id"), "desk_accounts", ["person_id"], unique=False)
    op.create_table(
        "desk_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("account_id", BigId, nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["desk_accounts.id"],
            name=op.f("fk_desk_sessions_account_id_desk_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_desk_sessions_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_sessions")),
    )
    op.create_index(op.f("ix_desk_sessions_person_id"), "desk_sessions", ["person_id"], unique=False)
    op.create_index(op.f("ix_desk_sessions_account_id"), "desk_sessions", ["account_id"], unique=False)
    op.create_index(op.f("ix_desk_sessions_expires_at"), "desk_sessions", ["expires_at"], unique=False)
    op.create_table(
        "desk_login_failures",
        sa.Column("id", BigId, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_login_failures")),
    )
    op.create_index("ix_desk_login_failures_key_at", "desk_login_failures", ["key", "at"], unique=False)
    op.create_index("ix_cases_state_id", "cases", ["state", "id"], unique=False)
    op.create_index("ix_cases_unit_id_id", "cases", ["unit_id", "id"], unique=False)
    where = sa.text("CAST(co_unit_ids AS VARCHAR) != '[]'")
    op.create_index(
        "ix_cases_with_co_units", "cases", ["id"], unique=False, sqlite_where=where, postgresql_where=where
    )


def downgrade() -> None:
    op.drop_index("ix_cases_with_co_units", table_name="cases")
    op.drop_index("ix_cases_unit_id_id", table_name="cases")
    op.drop_index("ix_cases_state_id", table_name="cases")
    op.drop_index("ix_desk_login_failures_key_at", table_name="desk_login_failures")
    op.drop_table("desk_login_failures")
    op.drop_index(op.f("ix_desk_sessions_expires_at"), table_name="desk_sessions")
    op.drop_index(op.f("ix_desk_sessions_account_id"), table_name="desk_sessions")
    op.drop_index(op.f("ix_desk_sessions_person_id"), table_name="desk_sessions")
    op.drop_table("desk_sessions")
    op.drop_index(op.f("ix_desk_accounts_person_id"), table_name="desk_accounts")
    op.drop_table("desk_accounts")

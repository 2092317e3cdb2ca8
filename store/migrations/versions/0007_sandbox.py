"""sandbox (模拟工作台) chat history

Revision ID: 0007_sandbox
Revises: 0006_polish
Create Date: 2026-12-03 13:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_sandbox"
down_revision: str | Sequence[str] | None = "0006_polish"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "sandbox_messages",
        sa.Column("id", big_id, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("task_id", sa.String(length=80), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_messages")),
    )
    with op.batch_alter_table("sandbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sandbox_messages_channel_recipient_id", ["channel", "recipient", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sandbox_messages_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sandbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_messages_task_id"))
        batch_op.drop_index("ix_sandbox_messages_channel_recipient_id")
    op.drop_table("sandbox_messages")

"""routing by type (第九条), 当日交办 in the statistics, 回复建议 of the interim report

Revision ID: 0008_routing
Revises: 0007_sandbox
Create Date: 2026-12-03 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_routing"
down_revision: str | Sequence[str] | None = "0007_sandbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route", sa.String(length=16), server_default="handle", nullable=False))
        batch_op.add_column(sa.Column("transfer_to", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("transfer_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("transferred_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("assign_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("first_assigned_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("reply_proposal", sa.Text(), nullable=True))
    # cases assigned before this revision: their first assignment is the one on record
    op.execute("UPDATE cases SET first_assigned_at = assigned_at WHERE assigned_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("reply_proposal")
        batch_op.drop_column("first_assigned_at")
        batch_op.drop_column("assign_due_at")
        batch_op.drop_column("transferred_at")
        batch_op.drop_column("transfer_note")
        batch_op.drop_column("transfer_to")
        batch_op.drop_column("route")

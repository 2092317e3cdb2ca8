"""after the reply: publication record (第十二条), timed office steps

Revision ID: 0004_afterreply
Revises: 0003_directory
Create Date: 2026-12-03 10:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_afterreply"
down_revision: str | Sequence[str] | None = "0003_directory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_reply", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("public_replied_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("told_via", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("told_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("step_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("promised_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_cases_state_step_due_at", ["state", "step_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_state_step_due_at")
        batch_op.drop_column("promised_at")
        batch_op.drop_column("step_due_at")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("told_at")
        batch_op.drop_column("told_via")
        batch_op.drop_column("public_replied_at")
        batch_op.drop_column("public_reply")

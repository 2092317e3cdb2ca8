"""case_events by action: the 督办 still awaiting an answer are found without a full scan

Revision ID: 0006_polish
Revises: 0005_deliverA
Create Date: 2026-12-03 14:00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_polish"
down_revision: str | Sequence[str] | None = "0005_deliverA"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index("ix_case_events_action_case_id", ["action", "case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_case_events_action_case_id")

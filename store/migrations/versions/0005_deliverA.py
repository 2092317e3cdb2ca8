"""outbox lanes (interactive before bulk) and platform outage tracking

Revision ID: 0005_deliverA
Revises: 0004_afterreply
Create Date: 2026-12-03 10:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_deliverA"
down_revision: str | Sequence[str] | None = "0004_afterreply"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("unreachable_since", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_outbox_status_lane_id", ["status", "lane", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_lane_id")
        batch_op.drop_column("unreachable_since")
        batch_op.drop_column("lane")

"""unit codes are unique

Revision ID: 0003_directory
Revises: 0002
Create Date: 2026-12-03 11:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_directory"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # two units sharing a code sent cases to the wrong one: keep the code on the oldest unit only
    op.execute(
        sa.text(
            "UPDATE units SET code = NULL WHERE code IS NOT NULL AND id > "
            "(SELECT MIN(u2.id) FROM units u2 WHERE u2.code = units.code)"
        )
    )
    op.execute(sa.text("UPDATE units SET code = NULL WHERE code = ''"))
    with op.batch_alter_table("units") as batch:
        batch.create_unique_constraint(op.f("uq_units_code"), ["code"])


def downgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.drop_constraint(op.f("uq_units_code"), type_="unique")

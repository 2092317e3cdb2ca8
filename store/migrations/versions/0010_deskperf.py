"""the desk with 100,000 cases: the ledger's keyword index on SQLite (FTS5 over character
bigrams, kept by triggers), a covering index of the co-handled cases on SQLite, unit_id in
ix_cases_state_due_at (the board)

Revision ID: 0010_deskperf
Revises: 0009_desk
Create Date: 2026-12-03 18:10:00

"""

import string
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_deskperf"
down_revision: str | Sequence[str] | None = "0009_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _bigrams(text: str | None) -> str:
    """store.search.bigrams as of this revision (a later change of it comes with a re-index)."""
    s = (text or "").translate(_FOLD)

    def sep(ch: str) -> bool:
        return ch < "\x80" and not ch.isalnum()

    return " ".join(s[i : i + 2] for i in range(len(s) - 1) if not (sep(s[i]) or sep(s[i + 1])))


def upgrade() -> None:
    # the board ranks the overdue cases by unit: unit_id in the index, so no row is read for it
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_state_due_at")
        batch_op.create_index("ix_cases_state_due_at", ["state", "due_at", "unit_id"], unique=False)
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL searches with LIKE alone (store/search.py)
    op.execute("CREATE TABLE case_search_pending (case_id INTEGER NOT NULL PRIMARY KEY)")
    op.execute("CREATE VIRTUAL TABLE case_search USING fts5(title, content, tokenize = 'ascii')")
    # whatever writes a case, its id waits here until store.search.index_pending indexes it
    op.execute(
        "CREATE TRIGGER case_search_insert AFTER INSERT ON cases BEGIN "
        "INSERT OR IGNORE INTO case_search_pending (case_id) VALUES (new.id); END"
    )
    op.execute(
        "CREATE TRIGGER case_search_update AFTER UPDATE OF title, content ON cases "
        "WHEN new.title IS NOT old.title OR new.content IS NOT old.content BEGIN "
        "INSERT OR IGNORE INTO case_search_pending (case_id) VALUES (new.id); END"
    )
    op.execute(
        "CREATE TRIGGER case_search_delete AFTER DELETE ON cases BEGIN "
        "DELETE FROM case_search WHERE rowid = old.id; "
        "DELETE FROM case_search_pending WHERE case_id = old.id; END"
    )
    # a unit's co-handled cases read from the index alone (store/visible.py): the partial index
    # of the models holds only the id, so each of the few thousand cases with a co-unit was read
    # from the table to test its co_unit_ids (bench/README.md, "Desk")
    op.execute(
        "CREATE INDEX ix_cases_co_units_sqlite ON cases (id, co_unit_ids) "
        "WHERE CAST(co_unit_ids AS VARCHAR) != '[]'"
    )
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
        # the database was analyzed: the new index gets its statistics too, else the planner
        # would keep preferring the older index it knows
        op.execute("ANALYZE ix_cases_co_units_sqlite")
    last = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, title, content FROM cases WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        bind.execute(
            sa.text("INSERT INTO case_search (rowid, title, content) VALUES (:id, :title, :content)"),
            [{"id": i, "title": _bigrams(t), "content": _bigrams(c)} for i, t, c in rows],
        )
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_state_due_at")
        batch_op.create_index("ix_cases_state_due_at", ["state", "due_at"], unique=False)
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("case_search_insert", "case_search_update", "case_search_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP INDEX IF EXISTS ix_cases_co_units_sqlite")
    op.execute("DROP TABLE IF EXISTS case_search")
    op.execute("DROP TABLE IF EXISTS case_search_pending")

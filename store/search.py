"""The ledger's keyword search (留言台账 关键词): ``title LIKE %kw% OR content LIKE %kw%``, on
SQLite narrowed first by a word index so that a keyword found nowhere does not read every case.

Chinese has no spaces, and FTS5's trigram tokenizer finds nothing for a two-character keyword
(the common case: 油烟, 噪音), so the index holds each case's title and content as overlapping
character bigrams separated by spaces ("油烟污染" → "油烟 烟污 污染"), in the FTS5 table
``case_search`` (rowid = the case's id, the ``ascii`` tokenizer: every non-ASCII character is a
token character, ASCII letters fold to lower case as SQLite's LIKE does). A keyword of two or more
characters becomes the phrase of its bigrams: every case containing the keyword matches it, and
the LIKE, kept on those candidates, gives exactly the answer it gave without the index. A keyword
of one character, or one with an ASCII character that is not a letter or digit (a space, ``-``,
``%``…), falls back to the LIKE alone (a scan, as before).

Keeping the index in step cannot be forgotten: triggers on ``cases`` (migration 0010) put the id
of every case inserted, or whose title or content changed, in ``case_search_pending``; a
pending case is always a candidate, so a search stays exact whatever wrote the case.
:func:`index_pending` (called where the store writes cases: ``add_case``, ``add_cases_bulk``,
``add_past_case``, corrections, ``set_fields``) turns the pending cases into index rows, in the
writer's transaction. PostgreSQL keeps the plain LIKE (no index, no triggers).
"""

from __future__ import annotations

import string
from typing import Any

from sqlalchemy import Integer, Text, column, delete, func, insert, literal_column, select, table, union_all

from store.db import Session
from store.dialect import is_postgres
from store.models import Case

#: the FTS5 table and the table of cases to (re)index (migration 0010, SQLite only; store.models
#: SQLITE_ONLY)
INDEX_TABLE = "case_search"
PENDING_TABLE = "case_search_pending"

_index = table(INDEX_TABLE, column("rowid", Integer), column("title", Text), column("content", Text))
_pending = table(PENDING_TABLE, column("case_id", Integer))

_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _separator(ch: str) -> bool:
    """True for what the ``ascii`` tokenizer splits on: an ASCII character not a letter or digit."""
    return ch < "\x80" and not ch.isalnum()


def bigrams(text: str | None) -> str:
    """``text`` as its overlapping character bigrams, space-separated, ASCII letters in lower case.
    A bigram with a separator in it is left out (no keyword that is searched through the index
    contains one, so none is looked for); the bigrams of one keyword stay adjacent."""
    s = (text or "").translate(_FOLD)
    return " ".join(s[i : i + 2] for i in range(len(s) - 1) if not (_separator(s[i]) or _separator(s[i + 1])))


def match_query(keyword: str) -> str | None:
    """The FTS5 phrase that every text containing ``keyword`` matches, or None when the index
    cannot answer (one character, or an ASCII character that is not a letter or digit)."""
    s = keyword.translate(_FOLD)
    if len(s) < 2 or any(_separator(ch) for ch in s):
        return None
    return '"' + " ".join(s[i : i + 2] for i in range(len(s) - 1)) + '"'


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def keyword_conditions(session: Session, keyword: str) -> list[Any]:
    """WHERE clauses true exactly for the cases whose title or content contains ``keyword``."""
    pattern = _like(keyword)
    conds: list[Any] = [Case.title.like(pattern, escape="\\") | Case.content.like(pattern, escape="\\")]
    phrase = None if is_postgres(session) else match_query(keyword)
    if phrase is not None:
        found = select(_index.c.rowid).where(literal_column(INDEX_TABLE).op("MATCH")(phrase))
        conds.insert(0, Case.id.in_(union_all(found, select(_pending.c.case_id))))
    return conds


async def index_pending(session: Session) -> int:
    """(Re)index the cases the triggers marked, in the caller's (writing) transaction; returns how
    many. One cheap query when nothing is pending; nothing on PostgreSQL."""
    if is_postgres(session):
        return 0
    marked = select(_pending.c.case_id)
    rows = (await session.execute(select(Case.id, Case.title, Case.content).where(Case.id.in_(marked)))).all()
    if not rows:
        return 0
    await session.execute(delete(_index).where(_index.c.rowid.in_(marked)))
    await session.execute(
        insert(_index),
        [{"rowid": i, "title": bigrams(title), "content": bigrams(content)} for i, title, content in rows],
    )
    await session.execute(delete(_pending))
    return len(rows)


async def pending_count(session: Session) -> int:
    """How many cases wait to be indexed (0 after every write through the store; health, tests)."""
    if is_postgres(session):
        return 0
    return int((await session.execute(select(func.count()).select_from(_pending))).scalar_one())

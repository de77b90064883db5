"""Similar resolved cases: a full-text index of the resolved cases (local SQLite only).

``case_similar`` is an FTS5 index over the title, description, resolution and product
(the id as one token) of every *resolved, not deleted* case: the cases whose resolutions
are worth suggesting for an open one (``search/suggest.py``). Its content is the
``cases`` table itself (external content, keyed by rowid), but it holds only a subset of
the rows, so FTS5's ``'rebuild'`` (which would index every case) is never used:
:data:`REFILL` empties it and inserts the resolved cases.

Triggers keep it in step: a case enters when it is inserted or updated as resolved, and
leaves when it is reopened, cancelled (merged), deleted (tombstone or row), or re-enters
with its new text when its title, description, resolution or product change while it is
resolved. Removal hands FTS5 the *old* values, exactly as they were indexed; within one
trigger the removal always runs before the new entry. Updates that change none of those
columns (the usual status, owner or SLA updates) do nothing.

``detail=none, columnsize=0``: the index answers only "which cases hold these words"
(suggestions rank the candidates themselves; FTS5's bm25, which needs the column sizes, is
never used), which makes it about a fifth of the size with positions and the quickest to
build: ~5.5 s for the 820,000 resolved cases of a 1,000,000-case demo store (6.8 s with
the column sizes).
Words are Porter-stemmed, diacritics removed. On other databases this revision does nothing
(the case server has no suggestions of its own).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = """
CREATE VIRTUAL TABLE case_similar USING fts5(
    title, description, resolution, product_id,
    content='cases', content_rowid='rowid',
    tokenize='porter unicode61 remove_diacritics 2', detail=none, columnsize=0
)
"""
_COLUMNS = "title, description, resolution, product_id"
_IN = "{0}.state = 'resolved' AND {0}.deleted = 0"
_ADD = (f"INSERT INTO case_similar (rowid, {_COLUMNS}) "
        "SELECT NEW.rowid, NEW.title, NEW.description, NEW.resolution, NEW.product_id "
        f"WHERE {_IN.format('NEW')};")
_REMOVE = (f"INSERT INTO case_similar (case_similar, rowid, {_COLUMNS}) "
           "SELECT 'delete', OLD.rowid, OLD.title, OLD.description, OLD.resolution, OLD.product_id "
           f"WHERE {_IN.format('OLD')};")
_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("state", "deleted", "title", "description", "resolution",
                                                             "product_id"))
TRIGGERS = {
    "trg_case_similar_insert": (
        f"CREATE TRIGGER trg_case_similar_insert AFTER INSERT ON cases WHEN {_IN.format('NEW')} BEGIN {_ADD} END"
    ),
    "trg_case_similar_delete": (
        f"CREATE TRIGGER trg_case_similar_delete AFTER DELETE ON cases WHEN {_IN.format('OLD')} BEGIN {_REMOVE} END"
    ),
    "trg_case_similar_update": (
        "CREATE TRIGGER trg_case_similar_update "
        "AFTER UPDATE OF state, deleted, title, description, resolution, product_id ON cases "
        f"WHEN (({_IN.format('OLD')}) OR ({_IN.format('NEW')})) AND ({_CHANGED}) "
        f"BEGIN {_REMOVE} {_ADD} END"
    ),
}
# Fill from scratch (also store/derived.py after a bulk load): never FTS5's 'rebuild'.
REFILL = (
    "INSERT INTO case_similar (case_similar) VALUES ('delete-all')",
    f"INSERT INTO case_similar (rowid, {_COLUMNS}) SELECT rowid, {_COLUMNS} FROM cases "
    "WHERE state = 'resolved' AND deleted = 0",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(TABLE)
    for sql in TRIGGERS.values():
        op.execute(sql)
    for sql in REFILL:
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS case_similar")

"""Customer search as you type: a full-text index over names and emails (local SQLite only).

``customer_search`` is an FTS5 index whose content is the ``customers`` table itself
(external content, keyed by rowid), tokenised with diacritics removed so "hernandez"
finds "Hernández", and queried by word prefix. Triggers keep it in step with every
write, like ``case_counts``. The case server searches with SQL instead; on other
databases this revision does nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = """
CREATE VIRTUAL TABLE customer_search USING fts5(
    name, email, content='customers', content_rowid='rowid',
    tokenize='unicode61 remove_diacritics 2'
)
"""
_ADD = "INSERT INTO customer_search (rowid, name, email) VALUES (NEW.rowid, NEW.name, NEW.email);"
_REMOVE = ("INSERT INTO customer_search (customer_search, rowid, name, email) "
           "VALUES ('delete', OLD.rowid, OLD.name, OLD.email);")
TRIGGERS = {
    "trg_customer_search_insert": f"CREATE TRIGGER trg_customer_search_insert AFTER INSERT ON customers BEGIN {_ADD} END",
    "trg_customer_search_delete": f"CREATE TRIGGER trg_customer_search_delete AFTER DELETE ON customers BEGIN {_REMOVE} END",
    "trg_customer_search_update": (
        "CREATE TRIGGER trg_customer_search_update AFTER UPDATE OF name, email ON customers "
        f"BEGIN {_REMOVE} {_ADD} END"
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(TABLE)
    for sql in TRIGGERS.values():
        op.execute(sql)
    op.execute("INSERT INTO customer_search (customer_search) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS customer_search")

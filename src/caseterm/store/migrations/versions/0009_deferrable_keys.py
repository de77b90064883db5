"""PostgreSQL: every foreign key may wait for the commit. A pushed batch is written in one
go at its end (sync.server.apply_push), and the ORM orders inserts by table only along
relationships, which caseterm's models do not declare: with the checks at commit
(``SET CONSTRAINTS ALL DEFERRED``, that transaction only) a timeline entry may reach the
database before its case. Every other transaction still checks each statement
(INITIALLY IMMEDIATE). SQLite needs nothing: ``PRAGMA defer_foreign_keys`` does the same
for one transaction there.

A later migration that adds a foreign key on PostgreSQL makes it DEFERRABLE too (the
PostgreSQL suite checks that every one is).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""
from alembic import op
from sqlalchemy import text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_KEYS = ("SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c "
         "JOIN pg_namespace n ON n.oid = c.connamespace "
         "WHERE c.contype = 'f' AND n.nspname = current_schema() AND c.condeferrable = :deferrable")


def _alter(deferrable: bool, clause: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, name in bind.execute(text(_KEYS), {"deferrable": not deferrable}).all():
        op.execute(f'ALTER TABLE {table} ALTER CONSTRAINT "{name}" {clause}')


def upgrade() -> None:
    _alter(True, "DEFERRABLE INITIALLY IMMEDIATE")


def downgrade() -> None:
    _alter(False, "NOT DEFERRABLE")

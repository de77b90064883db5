"""Live case counts for the saved views, kept by triggers (local SQLite stores only).

``case_counts`` holds the number of live (not deleted) cases per (queue, owner,
status reason). Triggers on ``cases`` keep it exact inside every writing transaction,
whoever writes (services, sync, bulk loads), so the queue pane's counts cost a lookup
in a table of a few hundred rows instead of a scan of a million cases. ``''`` stands
for "no queue" / "no owner" so the key can be unique. The case server computes counts
with GROUP BY instead; on other databases this revision does nothing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLE = """
CREATE TABLE case_counts (
    queue_id CHAR(32) NOT NULL DEFAULT '',
    owner_id CHAR(32) NOT NULL DEFAULT '',
    status_reason VARCHAR(24) NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (queue_id, owner_id, status_reason)
) WITHOUT ROWID
"""

_INC = """
    INSERT INTO case_counts (queue_id, owner_id, status_reason, n)
    VALUES (ifnull(NEW.queue_id, ''), ifnull(NEW.owner_id, ''), NEW.status_reason, 1)
    ON CONFLICT (queue_id, owner_id, status_reason) DO UPDATE SET n = n + 1;
"""
_DEC = """
    UPDATE case_counts SET n = n - 1
    WHERE queue_id = ifnull(OLD.queue_id, '') AND owner_id = ifnull(OLD.owner_id, '')
      AND status_reason = OLD.status_reason;
"""

TRIGGERS = {
    "trg_case_counts_insert": f"""
CREATE TRIGGER trg_case_counts_insert AFTER INSERT ON cases WHEN NEW.deleted = 0
BEGIN {_INC} END""",
    "trg_case_counts_delete": f"""
CREATE TRIGGER trg_case_counts_delete AFTER DELETE ON cases WHEN OLD.deleted = 0
BEGIN {_DEC} END""",
    "trg_case_counts_update_old": f"""
CREATE TRIGGER trg_case_counts_update_old
AFTER UPDATE OF queue_id, owner_id, status_reason, deleted ON cases WHEN OLD.deleted = 0
BEGIN {_DEC} END""",
    "trg_case_counts_update_new": f"""
CREATE TRIGGER trg_case_counts_update_new
AFTER UPDATE OF queue_id, owner_id, status_reason, deleted ON cases WHEN NEW.deleted = 0
BEGIN {_INC} END""",
}

REBUILD = """
INSERT INTO case_counts (queue_id, owner_id, status_reason, n)
SELECT ifnull(queue_id, ''), ifnull(owner_id, ''), status_reason, count(*)
FROM cases WHERE deleted = 0
GROUP BY 1, 2, 3
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(TABLE)
    for sql in TRIGGERS.values():
        op.execute(sql)
    op.execute(REBUILD)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS case_counts")

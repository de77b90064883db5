"""Tables the local store derives from others and keeps with triggers (migrations 0002,
0003, 0005). ``rebuild`` recomputes them from scratch: after a bulk load that ran without
the triggers, or to repair a store.

``case_similar`` (0005) indexes only the resolved, not deleted cases of its external
content table, so it is emptied and refilled with those rows, never FTS5-``'rebuild'``-t
(which would index every case)."""

from __future__ import annotations

import sqlite3

REBUILD: dict[str, tuple[str, ...]] = {
    "cases": (
        "DELETE FROM case_counts",
        "INSERT INTO case_counts (queue_id, owner_id, status_reason, n) "
        "SELECT ifnull(queue_id, ''), ifnull(owner_id, ''), status_reason, count(*) "
        "FROM cases WHERE deleted = 0 GROUP BY 1, 2, 3",
        "INSERT INTO case_similar (case_similar) VALUES ('delete-all')",
        "INSERT INTO case_similar (rowid, title, description, resolution, product_id) "
        "SELECT rowid, title, description, resolution, product_id FROM cases WHERE state = 'resolved' AND deleted = 0",
    ),
    "customers": ("INSERT INTO customer_search (customer_search) VALUES ('rebuild')",),
}


def rebuild(conn: sqlite3.Connection, tables: tuple[str, ...] | None = None) -> None:
    for table, statements in REBUILD.items():
        if tables is None or table in tables:
            for sql in statements:
                conn.execute(sql)

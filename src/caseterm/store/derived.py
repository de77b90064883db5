"""Tables the local store derives from others and keeps with triggers (migrations 0002,
0003). ``rebuild`` recomputes them from scratch: after a bulk load that ran without the
triggers, or to repair a store."""

from __future__ import annotations

import sqlite3

REBUILD: dict[str, tuple[str, ...]] = {
    "cases": (
        "DELETE FROM case_counts",
        "INSERT INTO case_counts (queue_id, owner_id, status_reason, n) "
        "SELECT ifnull(queue_id, ''), ifnull(owner_id, ''), status_reason, count(*) "
        "FROM cases WHERE deleted = 0 GROUP BY 1, 2, 3",
    ),
    "customers": ("INSERT INTO customer_search (customer_search) VALUES ('rebuild')",),
}


def rebuild(conn: sqlite3.Connection, tables: tuple[str, ...] | None = None) -> None:
    for table, statements in REBUILD.items():
        if tables is None or table in tables:
            for sql in statements:
                conn.execute(sql)

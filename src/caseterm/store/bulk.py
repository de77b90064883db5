"""Fast bulk loads into a brand-new store file (the demo seeder and benchmarks).

The load goes into ``<store>.seeding`` with journalling off and the secondary indexes
and triggers of the loaded tables dropped; they are recreated from their own saved
DDL afterwards (sorting once is far cheaper than updating a B-tree per row), the
trigger-kept counts are rebuilt, statistics gathered, WAL switched on, and only then is
the file renamed into place. A crash or kill at any moment leaves either no store or a
complete one, never half of one.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from caseterm.store.derived import rebuild as rebuild_derived
from caseterm.store.sqlite import connect


class BulkLoader:
    def __init__(self, target: Path, tables: Sequence[str], page_size: int = 4096) -> None:
        self.target = target
        self.page_size = page_size
        self.work = target.with_name(target.name + ".seeding")
        self.tables = tuple(tables)
        self.conn: sqlite3.Connection | None = None
        self._saved_ddl: list[tuple[str, str]] = []

    def __enter__(self) -> BulkLoader:
        from caseterm.store import migrate

        self.work.parent.mkdir(parents=True, exist_ok=True)  # a new user's data dir may not exist yet
        for leftover in (self.work, Path(f"{self.work}-wal"), Path(f"{self.work}-shm")):
            leftover.unlink(missing_ok=True)
        # Larger pages for a big store: fewer, fuller B-tree pages to write and sort into.
        # The page size is fixed when the first page is written, so set it before the schema.
        first = connect(self.work)
        first.execute(f"PRAGMA page_size = {self.page_size}")
        first.execute("VACUUM")
        first.close()
        migrate.upgrade(self.work)
        migrate.bootstrap(self.work)
        conn = connect(self.work)
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA foreign_keys = OFF")  # the generator is consistent; checked in tests
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB
        conn.execute("PRAGMA threads = 2")  # helper threads sort for CREATE INDEX
        marks = ", ".join("?" for _ in self.tables)
        self._saved_ddl = conn.execute(
            f"SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            f"AND tbl_name IN ({marks}) AND sql IS NOT NULL ORDER BY type, name",
            self.tables,
        ).fetchall()
        for kind, name, _ in self._saved_ddl:
            conn.execute(f"DROP {kind.upper()} {name}")
        conn.execute("BEGIN")
        self.conn = conn
        return self

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        self.conn.executemany(sql, rows)

    def execute(self, sql: str, params: Sequence = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def finish(self, progress=None, before_rename=None) -> None:
        """Build the indexes and statistics, then put the file in place. ``before_rename(path)``
        may still write to the work file (through the services) before it becomes the store."""
        conn = self.conn
        conn.execute("COMMIT")
        for kind, _name, sql in self._saved_ddl:
            conn.execute(sql)
            if progress:
                progress()
        rebuild_derived(conn, self.tables)
        conn.execute("PRAGMA analysis_limit = 1000")  # sampled statistics: enough for the planner
        conn.execute("ANALYZE")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.close()
        self.conn = None
        if before_rename is not None:
            before_rename(self.work)
        for suffix in ("-wal", "-shm"):
            Path(f"{self.target}{suffix}").unlink(missing_ok=True)
        os.replace(self.work, self.target)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if exc_type is not None:
            self.work.unlink(missing_ok=True)

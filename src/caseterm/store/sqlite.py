"""Opening the local SQLite store: the light path (stdlib ``sqlite3`` only).

``open_store`` makes sure the file exists and is at the current schema revision,
creating or migrating it (a copy of a store holding data is kept beside it first),
and returns a connection with caseterm's pragmas. Creation and migration import
Alembic and SQLModel lazily; opening an up-to-date store imports neither, which keeps
``caseterm cases list`` and the TUI's first paint fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from caseterm.errors import StoreError
from caseterm.store.schema import HEAD_REVISION, REVISIONS

BUSY_TIMEOUT_MS = 10_000
# Tables whose rows make a store worth a backup before migrating.
_DATA_TABLES = ("cases", "customers", "activities", "outbox")


def apply_pragmas(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")


def connect(path: Path) -> sqlite3.Connection:
    """A raw connection in autocommit mode (``BEGIN`` explicitly to group writes)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    apply_pragmas(conn)
    return conn


def current_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


def holds_data(conn: sqlite3.Connection) -> bool:
    for table in _DATA_TABLES:
        try:
            if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                return True
        except sqlite3.OperationalError:
            continue
    return False


@contextlib.contextmanager
def _migration_lock(path: Path) -> Iterator[None]:
    """One process at a time creates or migrates a given store."""
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def backup_path(path: Path, revision: str | None) -> Path:
    base = path.with_name(f"{path.name}.pre-{HEAD_REVISION}.from-{revision or 'none'}.bak")
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}.{n}")
    return candidate


def backup(conn: sqlite3.Connection, target: Path) -> Path:
    """A consistent copy of the store (SQLite's online backup, safe with WAL)."""
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    return target


def open_store(path: Path | str) -> sqlite3.Connection:
    """Open (creating or migrating as needed) the store at ``path``."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise StoreError(f"{path} is a folder; give the path of a store file (for example {path / 'caseterm.sqlite'})")
    if path.exists():
        conn = _connect_existing(path)
        if current_revision(conn) == HEAD_REVISION:
            return conn
        conn.close()
    ensure_current(path)
    return connect(path)


def _connect_existing(path: Path) -> sqlite3.Connection:
    try:
        conn = connect(path)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a caseterm store ({exc}); choose another file with --db") from None


def ensure_current(path: Path) -> None:
    """Create the store or bring it to ``HEAD_REVISION``, under a lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _migration_lock(path):
        fresh = not path.exists() or path.stat().st_size == 0
        conn = connect(path) if fresh else _connect_existing(path)
        try:
            revision = current_revision(conn)
            if revision == HEAD_REVISION:
                return
            if revision is not None and revision not in REVISIONS:
                raise StoreError(
                    f"{path} was written by a newer caseterm (schema {revision}); upgrade caseterm to open it"
                )
            if revision is None and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreError(f"{path} is an SQLite file but not a caseterm store; choose another file with --db")
            if revision is not None and holds_data(conn):
                backup(conn, backup_path(path, revision))
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: readers never block the writer
        finally:
            conn.close()
        from caseterm.store import migrate  # heavy: Alembic + SQLModel

        migrate.upgrade(path)
        if revision is None:
            migrate.bootstrap(path)

"""SQLAlchemy engines for the service layer.

Local SQLite: every transaction starts with ``BEGIN IMMEDIATE`` so two writers never
deadlock on upgrading a read lock (a connection with the ``READ_ONLY`` execution option
starts a plain ``BEGIN``: a snapshot, no write lock), pysqlite's own transaction handling is switched off,
and caseterm's pragmas are applied to every connection.

Any other URL is a case server's database (PostgreSQL: ``postgresql+psycopg://…``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from caseterm.store.sqlite import apply_pragmas


READ_ONLY = "caseterm_read_only"  # an execution option: this connection's transactions only read
POOL_SIZE = 5
MAX_OVERFLOW = 10


def sqlite_url(path: Path | str) -> str:
    return f"sqlite:///{Path(path).expanduser()}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "isolation_level": None})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # pragma: no cover - trivial
            apply_pragmas(dbapi_connection)

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            # a reader (``read_only`` execution option: the server's sign-in and pulls) takes
            # a snapshot and never the write lock, so in WAL mode it runs beside the writer
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    # A server database (PostgreSQL), shared by several server processes, each with its
    # own pool: at most POOL_SIZE + MAX_OVERFLOW connections per process (uvicorn's thread
    # pool runs up to 40 requests at once; each holds one connection at a time, briefly),
    # so four workers stay well inside PostgreSQL's default max_connections of 100.
    # READ COMMITTED, PostgreSQL's default, stated so a server-wide default cannot change
    # it: the change log's order comes from an advisory lock (sync/server.py), not from a
    # stricter isolation level.
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW,
                         pool_recycle=1800, isolation_level="READ COMMITTED")


def store_engine(path: Path | str) -> Engine:
    return make_engine(sqlite_url(path))

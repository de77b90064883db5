"""SQLAlchemy engines for the service layer.

Local SQLite: every transaction starts with ``BEGIN IMMEDIATE`` so two writers never
deadlock on upgrading a read lock, pysqlite's own transaction handling is switched off,
and caseterm's pragmas are applied to every connection.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from caseterm.store.sqlite import apply_pragmas


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
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def store_engine(path: Path | str) -> Engine:
    return make_engine(sqlite_url(path))

"""The server's database: any SQLAlchemy URL (SQLite by default, PostgreSQL for a
deployment of several server processes), migrated by the same Alembic revisions as a
client's store, with an ``admin`` agent made on first use.

``CASETERM_SERVER_DATABASE_URL`` names it when ``--database-url`` does not; the default
is ``server.sqlite`` in caseterm's data directory. PostgreSQL is reached through psycopg 3
(``postgresql+psycopg://user@host/db``; a bare ``postgresql://`` URL means the same).
Processes that start at once on a new PostgreSQL database take turns to migrate it and
make the admin agent (``store.migrate.lock_for_setup``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from caseterm.clock import Clock, default_clock
from caseterm.store.uow import StoreSettings

ENV = "CASETERM_SERVER_DATABASE_URL"


def database_url(given: str | None = None) -> str:
    url = given or os.environ.get(ENV)
    if not url:
        from caseterm.config import data_dir

        return f"sqlite:///{data_dir() / 'server.sqlite'}"
    for bare in ("postgresql://", "postgres://"):  # SQLAlchemy would look for psycopg2; caseterm ships psycopg 3
        if url.startswith(bare):
            return "postgresql+psycopg://" + url.removeprefix(bare)
    return url


@dataclass
class ServerDatabase:
    url: str
    engine: Engine
    clock: Clock
    _read_engine: Engine | None = None

    @classmethod
    def open(cls, url: str | None = None, clock: Clock | None = None) -> ServerDatabase:
        from caseterm.store.engine import make_engine
        from caseterm.store.migrate import upgrade_url

        url = database_url(url)
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        upgrade_url(url)
        db = cls(url, make_engine(url), clock or default_clock())
        if url.startswith("sqlite"):
            db._wal()
        db._bootstrap()
        return db

    def uow(self):
        from caseterm.sync.server import ServerUnitOfWork

        return ServerUnitOfWork(self.engine, self.clock, StoreSettings())

    def reader(self):
        """A unit of work that only reads (sign-in, pulls): on SQLite it takes a snapshot
        and never waits for the write lock, so reads go on while a push is written. A
        write in it is refused."""
        from caseterm.store.engine import READ_ONLY
        from caseterm.sync.server import ServerUnitOfWork

        if self._read_engine is None:
            self._read_engine = self.engine.execution_options(**{READ_ONLY: True})
        return ServerUnitOfWork(self._read_engine, self.clock, StoreSettings(), read_only=True)

    def _wal(self) -> None:
        """A SQLite server database in WAL mode (persistent): commits do not wait for a full
        disk sync of the database, and readers never block the writer."""
        with self.engine.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA journal_mode = WAL")  # outside any transaction

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def _bootstrap(self) -> None:
        from caseterm.store.migrate import lock_for_setup
        from caseterm.store.models import Agent

        with self.uow() as uow:
            lock_for_setup(uow.session.connection())  # server processes starting at once make one admin
            if uow.session.exec(select(Agent).where(Agent.login == "admin")).first() is None:
                uow.create(Agent(login="admin", display_name="Administrator", role="admin"), None, "bootstrap")

    def close(self) -> None:
        self.engine.dispose()


__all__ = ["ENV", "ServerDatabase", "database_url"]

"""Alembic, run from code: no alembic.ini needed at run time.

``upgrade(path)`` runs every pending revision in one transaction (SQLite's and
PostgreSQL's DDL is transactional), so a crash mid-migration leaves the store at its old
revision. ``upgrade_url`` does the same for any SQLAlchemy URL (the case server's database).
``bootstrap(path)`` fills a brand-new store with what it needs before first use.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from caseterm.store.engine import make_engine, sqlite_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_url(url: str, revision: str = "head") -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            lock_for_setup(connection)
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


# On PostgreSQL, several server processes may start at once on one database: the first
# to take this advisory lock migrates (and makes the admin agent, server/db.py) while the
# others wait, then find the work done. SQLite's BEGIN IMMEDIATE serialises them already.
PG_SETUP_LOCK = 0x6374_6d67  # "ctmg"


def lock_for_setup(connection) -> None:
    """Hold the set-up lock until ``connection``'s transaction ends (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_SETUP_LOCK})")


def upgrade(path: Path | str, revision: str = "head") -> None:
    upgrade_url(sqlite_url(path), revision)


def bootstrap(path: Path | str) -> None:
    """A new store gets its identity (device id, provisional device code ``LOC``) and an
    ``admin`` agent so it is usable at once. None of this goes to the outbox: it is local
    set-up, not work to sync (the sync issue replaces both on ``caseterm login``)."""
    from sqlmodel import Session, select

    from caseterm.clock import default_clock
    from caseterm.store.models import Agent, SyncState

    now = default_clock().now()
    engine = make_engine(sqlite_url(path))
    try:
        with Session(engine) as session:
            if session.get(SyncState, 1) is None:
                session.add(SyncState(id=1))
            if session.exec(select(Agent).where(Agent.login == "admin")).first() is None:
                session.add(Agent(login="admin", display_name="Administrator", role="admin",
                                  created_at=now, updated_at=now))
            session.commit()
    finally:
        engine.dispose()

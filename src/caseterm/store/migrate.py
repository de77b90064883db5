"""Alembic, run from code: no alembic.ini needed at run time.

``upgrade(path)`` runs every pending revision in one transaction (SQLite's DDL is
transactional), so a crash mid-migration leaves the store at its old revision.
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
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


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

"""The case server the sync tests talk to: ``caseterm serve`` in a process of its own, on
SQLite in tmp_path and, when ``CASETERM_TEST_PG_URL`` names a PostgreSQL server (``.ci/run``
sets it where one answers), on a fresh PostgreSQL database too: every test that asks for
``server`` runs on both ("the same suites")."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from server_support import start_server

PG_ENV = "CASETERM_TEST_PG_URL"  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test
PG_PREFIX = "caseterm_t_"  # the databases these tests make: caseterm_t_<unix time>_<random>
PG_STALE_AFTER = 6 * 3600  # a test database this old was left by a run that died; dropped


def _maintenance_engine(url: str):
    """The database CASETERM_TEST_PG_URL names, in autocommit (CREATE/DROP DATABASE)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _drop(conn, name: str) -> None:
    from sqlalchemy import text

    # FORCE (PostgreSQL 13+) ends the connections a server process may still hold
    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url():
    """A SQLAlchemy URL to a new, empty PostgreSQL database of this test's own, dropped
    after it; the test is skipped when CASETERM_TEST_PG_URL is not set."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set (a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    engine = _maintenance_engine(base)
    name = f"{PG_PREFIX}{int(time.time())}_{uuid.uuid4().hex[:10]}"
    try:
        with engine.connect() as conn:
            for (old,) in conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                       {"p": PG_PREFIX.replace("_", r"\_") + "%"}):
                stamp = old.removeprefix(PG_PREFIX).split("_")[0]
                if stamp.isdigit() and time.time() - int(stamp) > PG_STALE_AFTER:
                    _drop(conn, old)
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with engine.connect() as conn:
                _drop(conn, name)
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    running = start_server(tmp_path, url)
    yield running
    running.stop()

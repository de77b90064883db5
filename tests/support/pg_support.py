"""A fresh PostgreSQL database per test, for the case server's tests on PostgreSQL.

``CASETERM_TEST_PG_URL`` names the PostgreSQL server (``.ci/run`` sets it where one
answers on 127.0.0.1:5432). Without it the PostgreSQL variants are skipped: there is no
server to run them against, and their SQLite twins still run.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_ENV = "CASETERM_TEST_PG_URL"  # e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test
PG_PREFIX = "caseterm_t_"  # the databases these tests make: caseterm_t_<unix time>_<random>
PG_STALE_AFTER = 6 * 3600  # a test database this old was left by a run that died; dropped


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A SQLAlchemy URL to a new, empty database of the caller's own, dropped afterwards
    (with any connection a server process still holds); skips when no PostgreSQL is named."""
    base = os.environ.get(PG_ENV)
    if not base:
        # no PostgreSQL to test against here: the variant is skipped, its SQLite twin runs
        pytest.skip(f"{PG_ENV} is not set (a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    engine = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"{PG_PREFIX}{int(time.time())}_{uuid.uuid4().hex[:10]}"
    try:
        with engine.connect() as conn:
            for (old,) in conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                       {"p": PG_PREFIX.replace("_", r"\_") + "%"}):
                stamp = old.removeprefix(PG_PREFIX).split("_")[0]
                if stamp.isdigit() and time.time() - int(stamp) > PG_STALE_AFTER:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()

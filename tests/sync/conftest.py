"""The case server the sync tests talk to: ``caseterm serve`` in a process of its own, on
SQLite in tmp_path and, when ``CASETERM_TEST_PG_URL`` names a PostgreSQL server (``.ci/run``
sets it where one answers), on a fresh PostgreSQL database too: every test that asks for
``server`` runs on both ("the same suites")."""

from __future__ import annotations

import pytest
from pg_support import fresh_pg_database
from server_support import client_store, start_server

from caseterm.sync import client


@pytest.fixture
def pg_url():
    """A new PostgreSQL database of this test's own (tests/support/pg_support.py)."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    running = start_server(tmp_path, url)
    yield running
    running.stop()


@pytest.fixture
def desk(server, tmp_path):
    """jdoe (agent, Returns) and boss (supervisor), each on a store of their own, synced;
    Billing is a queue jdoe is not in."""
    jdoe = client_store(tmp_path, "jdoe", server, server.add_agent("jdoe", "agent", ["Returns"]))
    boss = client_store(tmp_path, "boss", server, server.add_agent("boss", "supervisor", ["Returns"]))
    server.add_agent("mia", "agent", ["Billing"])
    for store in (jdoe, boss):
        client.sync(store)
    yield jdoe, boss
    for store in (jdoe, boss):
        store.close()

"""Fixtures for the case server's tests: the app in this process over a database of the
test's own (fixed clock; fast, for the REST API's behaviour and the fuzzer) on SQLite and,
when ``CASETERM_TEST_PG_URL`` names a PostgreSQL server, on a fresh PostgreSQL database
too; and a real server process (``tests/support/server_support.py``) for what only a real
one shows (logs, the database file, sizes on the wire, clients syncing)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from pg_support import fresh_pg_database
from server_support import start_server


OPS = """
categories = ["Billing", "Networking"]

[[calendar]]
name = "office"
time_zone = "Europe/Stockholm"
hours = { mon-fri = ["08:00-17:00"] }

[[queue]]
name = "Returns"
members = ["jdoe"]

[[queue]]
name = "Billing"
members = ["mia"]

[[routing]]
name = "billing words"
when = { keywords = ["invoice", "charged"] }
queue = "Billing"
"""


@dataclass
class Api:
    """The app in-process (``client``), its database and a token per login."""

    client: object
    db: object
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, login: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[login]}"}

    def get(self, login: str, path: str, **kw):
        return self.client.get(path, headers=self.auth(login), **kw)

    def post(self, login: str, path: str, json=None, **kw):
        return self.client.post(path, headers=self.auth(login), json=json, **kw)

    def patch(self, login: str, path: str, json=None, **kw):
        return self.client.patch(path, headers=self.auth(login), json=json, **kw)


@pytest.fixture
def pg_database():
    """A new PostgreSQL database of this test's own (tests/support/pg_support.py)."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request, tmp_path, clock):
    """admin, boss (supervisor), jdoe (agent, Returns), mia (agent, Billing), cleo (clerk),
    tina and tom (technicians), with the operations above applied (routing: invoice → Billing)."""
    from fastapi.testclient import TestClient

    from caseterm.server import accounts
    from caseterm.server.app import create_app
    from caseterm.server.db import ServerDatabase
    from caseterm.services import ops

    url = request.getfixturevalue("pg_database") if request.param == "postgresql" else \
        f"sqlite:///{tmp_path / 'server.sqlite'}"
    db = ServerDatabase.open(url, clock=clock)
    people = {"boss": "supervisor", "jdoe": "agent", "mia": "agent", "cleo": "clerk", "tina": "technician",
              "tom": "technician"}
    with db.uow() as uow:
        for login, role in people.items():
            accounts.add_agent(uow, login, role)
    assert ops.apply_text(db.uow, "admin", OPS).applied
    tokens = {}
    with db.uow() as uow:
        for login in ["admin", *people]:
            tokens[login] = accounts.issue_token(uow, login).token
    with TestClient(create_app(db=db)) as client:
        yield Api(client, db, tokens)
    db.close()


@pytest.fixture
def server(tmp_path):
    running = start_server(tmp_path)
    yield running
    running.stop()

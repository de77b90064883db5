"""Shared fixtures: every test gets its own config/data dirs and a fixed clock."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from caseterm.clock import FixedClock

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    """No test reads or writes the developer's real config, data or logs."""
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith("CASETERM_") and key != "CASETERM_TEST_PG_URL":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    yield


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store_path(tmp_path) -> Path:
    return tmp_path / "store.sqlite"


@pytest.fixture
def store(store_path, clock):
    from caseterm.store.uow import LocalStore

    s = LocalStore.open(store_path, clock=clock)
    yield s
    s.close()


@pytest.fixture
def world(store):
    """A small organisation: admin, an agent, a clerk, a supervisor, a queue, a customer."""
    from caseterm.services import customers
    from caseterm.services.lookup import agent_by_login
    from caseterm.store.models import Agent, Queue, QueueMember

    with store.uow() as uow:
        admin = agent_by_login(uow, "admin")
        agent = uow.create(Agent(login="jdoe", display_name="Jordan Doe", role="agent"), admin.id, "create_agent")
        clerk = uow.create(Agent(login="clerk1", display_name="Cleo Clerk", role="clerk"), admin.id, "create_agent")
        sup = uow.create(Agent(login="boss", display_name="Sam Supervisor", role="supervisor"), admin.id, "create_agent")
        queue = uow.create(Queue(name="Returns"), admin.id, "create_queue")
        uow.create(QueueMember(queue_id=queue.id, agent_id=agent.id), admin.id, "add_member")
        ada = customers.create_customer(uow, admin, name="Ada Lovelace", email="ada@example.org", phone="+44 20 7946 0001")
        bob = customers.create_customer(uow, admin, name="Bob Builder", email="bob@example.org")
    return {"admin": admin, "agent": agent, "clerk": clerk, "supervisor": sup, "queue": queue, "ada": ada, "bob": bob}

"""A small, fixed service organisation for driving the workstation with the pilot."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from caseterm.clock import FixedClock
from tui_support import NOW


@pytest.fixture
def org_store(tmp_path) -> Path:
    """admin; jdoe (agent, Returns); boss (supervisor); Ada and Bob; four cases:
    CAS-LOC-000001 P1 active owned by jdoe, 000002 P3 active owned by jdoe,
    000003 P2 resolved (jdoe), 000004 P3 active unassigned in Returns."""
    from caseterm.services import cases, customers
    from caseterm.services.lookup import agent_by_login
    from caseterm.store.models import Agent, Queue, QueueMember
    from caseterm.store.uow import LocalStore

    clock = FixedClock(NOW - timedelta(days=3))
    path = tmp_path / "org.sqlite"
    store = LocalStore.open(path, clock=clock)
    with store.uow() as uow:
        admin = agent_by_login(uow, "admin")
        jdoe = uow.create(Agent(login="jdoe", display_name="Jordan Doe", role="agent", capacity=8), admin.id, "seed")
        uow.create(Agent(login="boss", display_name="Sam Supervisor", role="supervisor"), admin.id, "seed")
        returns = uow.create(Queue(name="Returns"), admin.id, "seed")
        uow.create(QueueMember(queue_id=returns.id, agent_id=jdoe.id), admin.id, "seed")
        ada = customers.create_customer(uow, admin, name="Ada Lovelace", email="ada@example.org", phone="+44 20 7946 0001")
        bob = customers.create_customer(uow, admin, name="Bob Builder", email="bob@example.org")
        cases.create_case(uow, jdoe, customer=ada, title="Router drops Wi-Fi every evening", priority=1,
                          description="Since the update the router reboots at 8 pm.", queue=returns, owner=jdoe)
    clock.advance(hours=1)
    with store.uow() as uow:
        jdoe = agent_by_login(uow, "jdoe")
        from caseterm.services.lookup import customer_by_key

        ada = customer_by_key(uow, "ada@example.org")
        bob = customer_by_key(uow, "bob@example.org")
        cases.create_case(uow, jdoe, customer=bob, title="Kettle lid does not close", priority=3, queue=returns, owner=jdoe)
        done = cases.create_case(uow, jdoe, customer=ada, title="Invoice copy for order SO-1", priority=2, owner=jdoe)
        cases.create_case(uow, jdoe, customer=bob, title="Return a blender", priority=3, queue=returns)
    clock.advance(hours=2)
    with store.uow() as uow:
        from caseterm.services.lookup import case_by_number

        cases.resolve_case(uow, agent_by_login(uow, "jdoe"), case_by_number(uow, "CAS-LOC-000003"),
                           "Sent the invoice copy by email", kind="information_provided")
    store.close()
    return path


@pytest.fixture
def fixed_store(org_store) -> Path:
    """The same store at a fixed path, so snapshots (which show the path) never differ."""
    target = Path("/tmp/caseterm-snapshots/store.sqlite")
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(org_store, target)
    return target

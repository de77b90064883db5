"""The demo store is realistic and consistent: every row is one the services could have
written, the same seed gives the same store, and a killed build leaves no store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from caseterm.domain.case_lifecycle import is_valid
from caseterm.services import cases
from caseterm.services.cases import _lifecycle
from caseterm.services.demo import seed_demo
from caseterm.services.lookup import agent_by_login, customer_by_key
from caseterm.store.models import Activity, Agent, Asset, Case, Customer, Queue
from caseterm.store.uow import LocalStore

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    summary = seed_demo(path, cases=2000, now=NOW, seed=3)
    assert summary.cases == 2000
    return path


def test_demo_has_the_organisation_the_issue_describes(demo_path):
    conn = sqlite3.connect(demo_path)
    assert conn.execute("SELECT count(*) FROM products").fetchone()[0] == 40
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 500
    assert conn.execute("SELECT count(*) FROM agents WHERE login != 'admin'").fetchone()[0] == 20
    # five working queues, each escalating to the supervisors' queue
    assert conn.execute("SELECT count(*) FROM queues").fetchone()[0] == 6
    assert conn.execute("SELECT count(DISTINCT queue_id) FROM queue_members").fetchone()[0] == 6
    assert conn.execute("SELECT count(*) FROM queues WHERE escalate_to = 'Escalations'").fetchone()[0] == 5
    assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 2000
    # every state and status reason appears, and the cases span the last 90 days
    statuses = {r[0] for r in conn.execute("SELECT DISTINCT status_reason FROM cases")}
    assert statuses == {"new", "in_progress", "on_hold", "waiting_for_customer", "researching", "problem_solved",
                        "information_provided", "cancelled", "merged"}
    first, last = conn.execute("SELECT min(created_at), max(created_at) FROM cases").fetchone()
    span = datetime.fromisoformat(last) - datetime.fromisoformat(first)
    assert 80 <= span.days <= 90 and datetime.fromisoformat(last).replace(tzinfo=timezone.utc) <= NOW
    per_case = conn.execute("SELECT count(*) * 1.0 / (SELECT count(*) FROM cases) FROM activities").fetchone()[0]
    assert per_case >= 4
    assert conn.execute("SELECT count(*) FROM cases WHERE parent_id IS NOT NULL").fetchone()[0] > 0
    assert conn.execute("SELECT count(*) FROM assets").fetchone()[0] > 500


def test_every_demo_row_is_consistent(demo_path):
    conn = sqlite3.connect(demo_path)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0  # a baseline, not local work
    store = LocalStore.open(demo_path)
    with store.uow() as uow:
        for case in uow.session.exec(select(Case)).all():
            assert is_valid(_lifecycle(case)), case.number
            if case.state == "active" and case.status_reason != "new":
                assert case.owner_id is not None, case.number
            if case.parent_id:
                parent = uow.session.get(Case, case.parent_id)
                assert parent.state == "active" or case.state != "active", case.number
            entries = uow.session.exec(select(Activity).where(Activity.case_id == case.id)
                                       .order_by(Activity.occurred_at)).all()
            assert entries[0].event == "created", case.number
            assert all(e.occurred_at <= NOW for e in entries)
            if case.state == "resolved":
                assert entries[-1].event == "resolved" and entries[-1].occurred_at == case.resolved_at
    counts = conn.execute("SELECT queue_id, owner_id, status_reason, n FROM case_counts WHERE n > 0 ORDER BY 1, 2, 3").fetchall()
    truth = conn.execute("SELECT ifnull(queue_id, ''), ifnull(owner_id, ''), status_reason, count(*) FROM cases "
                         "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()
    assert counts == truth


def test_services_work_on_a_demo_store(demo_path, tmp_path):
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(demo_path.read_bytes())
    store = LocalStore.open(copy)
    with store.uow() as uow:
        jdoe = agent_by_login(uow, "jdoe")
        email = uow.session.exec(select(Customer.email).where(Customer.kind == "person")).first()
        case = cases.create_case(uow, jdoe, customer=customer_by_key(uow, email), title="New problem",
                                 queue=uow.session.exec(select(Queue).where(Queue.name == "Returns")).one())
    assert case.number == "CAS-DEMO-002001"


def test_same_seed_same_store(tmp_path):
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    seed_demo(a, cases=300, now=NOW, seed=5)
    seed_demo(b, cases=300, now=NOW, seed=5)
    for table in ("cases", "activities", "customers", "assets", "agents"):
        rows_a = sqlite3.connect(a).execute(f"SELECT * FROM {table} WHERE login IS NOT 'admin' ORDER BY 1" if table == "agents"
                                            else f"SELECT * FROM {table} ORDER BY 1").fetchall()
        rows_b = sqlite3.connect(b).execute(f"SELECT * FROM {table} WHERE login IS NOT 'admin' ORDER BY 1" if table == "agents"
                                            else f"SELECT * FROM {table} ORDER BY 1").fetchall()
        assert rows_a == rows_b, table


def test_a_killed_build_leaves_no_store(tmp_path):
    target = tmp_path / "big.sqlite"
    code = (
        "from pathlib import Path; from datetime import datetime, timezone\n"
        "from caseterm.services.demo import seed_demo\n"
        f"seed_demo(Path({str(target)!r}), cases=400000, now=datetime(2026, 11, 25, tzinfo=timezone.utc))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    work = tmp_path / "big.sqlite.seeding"
    deadline = time.monotonic() + 30
    while not (work.exists() and work.stat().st_size > 5_000_000) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert work.exists(), "the build started writing"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not target.exists()
    # the next build starts over cleanly
    seed_demo(target, cases=200, now=NOW)
    assert sqlite3.connect(target).execute("SELECT count(*) FROM cases").fetchone()[0] == 200
    assert not work.exists()

"""Sync end to end against a real server process (uvicorn on 127.0.0.1): clients that
work offline, sync, and end up agreeing with the server; conflicts kept for a person;
replays applied once; tokens and scopes enforced."""

from __future__ import annotations

import uuid

import httpx
from server_support import case_picture, client_store, on_server, start_server
from sqlmodel import func, select

from caseterm.services import cases, customers
from caseterm.services.lookup import agent_by_login, case_by_number, queue_by_name
from caseterm.store import models as m
from caseterm.sync import client


def picture(uow_factory) -> dict[str, tuple]:
    with uow_factory() as uow:
        return case_picture(uow.session)

def test_two_clients_work_offline_sync_and_agree_with_the_server(server, desk):
    jdoe, boss = desk
    with jdoe.uow() as uow:
        me = agent_by_login(uow, "jdoe")
        ada = customers.create_customer(uow, me, name="Ada Lovelace", email="ada@example.org")
        returns = queue_by_name(uow, "Returns")
        made = []
        for i in range(50):
            case = cases.create_case(uow, me, customer=ada, title=f"Kettle {i} leaks", queue=returns)
            cases.add_activity(uow, me, case, kind="note", body=f"Photo {i} received")
            made.append(case.number)
    with boss.uow() as uow:
        me = agent_by_login(uow, "boss")
        bob = customers.create_customer(uow, me, name="Bob Builder", email="bob@example.org")
        theirs = cases.create_case(uow, me, customer=bob, title="Invoice twice", queue=queue_by_name(uow, "Returns"))
    assert all(n.startswith("CAS-DA") for n in made) and not theirs.number.startswith("CAS-LOC")
    assert made[0].split("-")[1] != theirs.number.split("-")[1]  # each device numbers its own

    first = client.sync(jdoe)
    assert (first.pushed, first.applied, first.conflicts, first.rejected) == (1 + 50 * 3, 151, 0, 0)  # customer, case+created+note
    second = client.sync(boss)
    assert second.applied == second.pushed and second.rejected == 0
    with boss.uow() as uow:  # the supervisor edits one of jdoe's cases and resolves another
        me = agent_by_login(uow, "boss")
        cases.update_case(uow, me, case_by_number(uow, made[0]), priority=1)
        cases.resolve_case(uow, me, case_by_number(uow, made[1]), "Replaced the seal")
    client.sync(boss)
    client.sync(jdoe)

    db = server.db()
    try:
        on_server = picture(db.uow)
    finally:
        db.close()
    assert len(on_server) == 51
    assert picture(jdoe.uow) == on_server  # jdoe's scope (Returns) holds every case here
    assert picture(boss.uow) == on_server
    assert on_server[made[0]][3] == 1 and on_server[made[1]][1] == "resolved"  # priority, state
    assert client.status(jdoe)["pending"] == 0


def _priority_conflict(jdoe, boss, **also) -> str:
    """jdoe's case (priority 3), synced; the supervisor sets priority 1 (and ``also``) and
    syncs; jdoe, offline, sets 4. The case number; jdoe's next sync meets the conflict."""
    with jdoe.uow() as uow:
        me = agent_by_login(uow, "jdoe")
        ada = customers.create_customer(uow, me, name="Ada Lovelace", email="ada@example.org")
        number = cases.create_case(uow, me, customer=ada, title="Router dead", queue=queue_by_name(uow, "Returns"),
                                   priority=3).number
    client.sync(jdoe)
    client.sync(boss)
    with boss.uow() as uow:
        cases.update_case(uow, agent_by_login(uow, "boss"), case_by_number(uow, number), priority=1, **also)
    with jdoe.uow() as uow:  # meanwhile, offline
        cases.update_case(uow, agent_by_login(uow, "jdoe"), case_by_number(uow, number), priority=4)
    client.sync(boss)
    return number


def test_a_change_both_made_is_a_conflict_kept_for_a_person_then_decided(server, desk):
    jdoe, boss = desk
    number = _priority_conflict(jdoe, boss, title="Router dead (whole office down)")
    report = client.sync(jdoe)
    assert (report.applied, report.conflicts) == (1, 1)  # the "updated" timeline entry applies; the field conflicts
    [conflict] = client.conflicts(jdoe)
    assert conflict.label == number
    assert conflict.fields == {"priority": {"base": 3, "mine": 4, "theirs": 1}}
    with jdoe.uow() as uow:  # the server's value stands locally until decided; the other field merged
        case = case_by_number(uow, number)
        assert (case.priority, case.title) == (1, "Router dead (whole office down)")
    assert client.resolve_conflict(jdoe, conflict.op_id, "mine").startswith("your values go to the server")
    assert client.conflicts(jdoe) == []
    assert client.sync(jdoe).applied == 1
    client.sync(boss)
    with boss.uow() as uow:
        assert case_by_number(uow, number).priority == 4


def test_a_conflict_decided_from_the_command_line_with_a_typed_value(server, desk):
    """``caseterm sync resolve OP --set priority=2``: what is typed is a number for a number
    field (not the text "2"), and a malformed --set is refused, changing nothing."""
    import os
    import subprocess
    import sys

    jdoe, boss = desk
    number = _priority_conflict(jdoe, boss)
    client.sync(jdoe)
    [conflict] = client.conflicts(jdoe)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "caseterm", "--db", str(jdoe.path), "sync", "resolve",
                               conflict.op_id, *args], capture_output=True, text=True, env=dict(os.environ), timeout=60)

    bad = cli("--keep", "mine", "--set", "priority")
    assert bad.returncode == 2 and bad.stderr.startswith("error: set: 'priority' is not FIELD=VALUE"), bad.stderr
    assert [c.op_id for c in client.conflicts(jdoe)] == [conflict.op_id]  # still open
    done = cli("--keep", "mine", "--set", "priority=2")
    assert done.returncode == 0, done.stderr
    assert client.conflicts(jdoe) == []
    report = client.sync(jdoe)
    assert report.pushed >= 1 and (report.applied, report.conflicts, report.rejected) == (report.pushed, 0, 0)
    client.sync(boss)
    with boss.uow() as uow:
        assert case_by_number(uow, number).priority == 2


def test_a_push_whose_answer_was_lost_applies_nothing_twice(server, desk):
    jdoe, _ = desk
    with jdoe.uow() as uow:
        me = agent_by_login(uow, "jdoe")
        ada = customers.create_customer(uow, me, name="Ada Lovelace", email="ada@example.org")
        case = cases.create_case(uow, me, customer=ada, title="Kettle", queue=queue_by_name(uow, "Returns"))
        cases.update_case(uow, me, case, priority=2)
        device_id = str(uow.session.get(m.SyncState, 1).device_id)
        ops = [{"op_id": str(op.op_id), "entity": op.entity, "row_id": str(op.row_id), "kind": op.kind,
                "action": op.action, "actor_id": str(op.actor_id), "base": op.base, "data": op.data}
               for op in uow.session.exec(select(m.OutboxOp).order_by(m.OutboxOp.seq))]
    url, token = client.token_for(device_id)
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
    first = http.post("/api/v1/sync/push", json={"device_id": device_id, "ops": ops}).json()
    again = http.post("/api/v1/sync/push", json={"device_id": device_id, "ops": ops}).json()  # the answer was lost
    assert again == first and {r["status"] for r in first["results"]} == {"applied"}
    client.sync(jdoe)  # the client's own push of the same ops: answered from what the server stored
    db = server.db()
    try:
        with db.uow() as uow:
            row = uow.session.exec(select(m.Case).where(m.Case.number == case.number)).one()
            assert (row.priority, row.version) == (2, 2)  # created, updated: once each
            assert uow.session.exec(select(func.count()).select_from(m.Activity).where(
                m.Activity.case_id == row.id)).one() == 2
    finally:
        db.close()


def test_a_row_the_store_refuses_is_rejected_alone_and_the_rest_of_its_batch_is_applied(server, desk):
    """A batch is applied in one transaction; an op the database itself refuses (here a
    second case under a number already taken) must not take the others down with it."""
    jdoe, _ = desk
    with jdoe.uow() as uow:
        me = agent_by_login(uow, "jdoe")
        ada = customers.create_customer(uow, me, name="Ada Lovelace", email="ada@example.org")
        case = cases.create_case(uow, me, customer=ada, title="Kettle", queue=queue_by_name(uow, "Returns"))
        cases.add_activity(uow, me, case, kind="note", body="Photo received")
        device_id = str(uow.session.get(m.SyncState, 1).device_id)
        ops = [{"op_id": str(op.op_id), "entity": op.entity, "row_id": str(op.row_id), "kind": op.kind,
                "action": op.action, "actor_id": str(op.actor_id), "base": op.base, "data": op.data}
               for op in uow.session.exec(select(m.OutboxOp).order_by(m.OutboxOp.seq))]
    twin_id = str(uuid.uuid4())
    twin = next(op for op in ops if op["entity"] == "cases")
    twin = {**twin, "op_id": str(uuid.uuid4()), "row_id": twin_id, "data": {**twin["data"], "id": twin_id}}
    ops.insert(len(ops) - 1, twin)  # before the note: the ops after the refused one still go in
    url, token = client.token_for(device_id)
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
    first = http.post("/api/v1/sync/push", json={"device_id": device_id, "ops": ops}).json()["results"]
    statuses = [r["status"] for r in first]
    assert statuses == ["applied"] * (len(ops) - 2) + ["rejected", "applied"]
    assert first[-2]["reason"].startswith("the server's store refused the row")
    assert http.post("/api/v1/sync/push", json={"device_id": device_id, "ops": ops}).json()["results"] == first
    with on_server(server) as session:
        assert session.exec(select(func.count()).select_from(m.Case).where(m.Case.number == case.number)).one() == 1
        assert session.get(m.Case, uuid.UUID(twin_id)) is None
        assert [a.body for a in session.exec(select(m.Activity).where(m.Activity.case_id == case.id)
                                             .order_by(m.Activity.created_at)) if a.kind == "note"] == ["Photo received"]
        assert session.exec(select(func.count()).select_from(m.ServerChange).where(
            m.ServerChange.row_id == uuid.UUID(twin_id))).one() == 0  # nothing of it in the change log either


def test_a_case_is_evicted_when_it_moves_away_not_whenever_someone_else_changes_it(server, desk):
    """An agent's pull leaves out the other queues' work; the store hears of a case outside
    its queues only when it moves out of them (and then the case and its timeline go)."""
    jdoe, boss = desk
    with boss.uow() as uow:
        me = agent_by_login(uow, "boss")
        bob = customers.create_customer(uow, me, name="Bob Builder", email="bob@example.org")
        billing = cases.create_case(uow, me, customer=bob, title="Invoice twice", queue=queue_by_name(uow, "Billing"))
        ours = cases.create_case(uow, me, customer=bob, title="Kettle leaks", queue=queue_by_name(uow, "Returns"))
        cases.add_activity(uow, me, ours, kind="note", body="Photo received")
    client.sync(boss)
    first = client.sync(jdoe)
    with jdoe.uow() as uow:
        assert {c.number for c in uow.session.exec(select(m.Case))} == {ours.number}
    assert first.evicted == 0
    with boss.uow() as uow:  # someone else's case changes: nothing for jdoe
        cases.update_case(uow, agent_by_login(uow, "boss"), case_by_number(uow, billing.number), priority=1)
    client.sync(boss)
    quiet = client.sync(jdoe)
    assert (quiet.pulled, quiet.evicted) == (0, 0)
    with boss.uow() as uow:  # jdoe's case moves to Billing: it leaves jdoe's store, timeline and all
        me = agent_by_login(uow, "boss")
        cases.assign_case(uow, me, case_by_number(uow, ours.number), queue=queue_by_name(uow, "Billing"))
    client.sync(boss)
    moved = client.sync(jdoe)
    assert moved.evicted == 1
    with jdoe.uow() as uow:
        assert uow.session.exec(select(func.count()).select_from(m.Case)).one() == 0
        assert uow.session.exec(select(func.count()).select_from(m.Activity).where(
            m.Activity.case_id == ours.id)).one() == 0


def test_pulls_sign_in_and_rest_reads_do_not_wait_for_a_writer(tmp_path):
    """On SQLite a pull reads a snapshot: while another transaction holds the write lock
    (a long push), agents still get their pages, and integrations their GETs, at once
    instead of queueing behind it. (A SQLite server only: PostgreSQL has no such lock.)"""
    import sqlite3
    import time

    server = start_server(tmp_path)
    try:
        jdoe = client_store(tmp_path, "jdoe", server, server.add_agent("jdoe", "agent", ["Returns"]))
        client.sync(jdoe)
        with jdoe.uow() as uow:
            url, token = client.token_for(str(uow.session.get(m.SyncState, 1).device_id))
        writer = sqlite3.connect(server.database_url.removeprefix("sqlite:///"), isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # the server's write lock, held
        try:
            started = time.monotonic()
            report = client.sync(jdoe)  # nothing to push: a sign-in and a pull
            took = time.monotonic() - started
            started = time.monotonic()
            listed = httpx.get(f"{url}/api/v1/cases", headers={"Authorization": f"Bearer {token}"}, timeout=30)
            took_rest = time.monotonic() - started
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    finally:
        server.stop()
    assert report.pushed == 0 and took < 2.0  # a writer's wait would be the 5 s busy timeout, then an error
    assert listed.status_code == 200 and took_rest < 2.0


def test_no_token_a_wrong_one_or_a_revoked_one_is_refused(server):
    token = server.add_agent("jdoe", "agent")
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    for headers in ({}, {"Authorization": "Bearer ct_nonsense"}, {"Authorization": token}):
        r = httpx.get(f"{server.url}/api/v1/sync/pull", headers=headers)
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["title"] == "Not signed in" and token not in r.text
    good = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/api/v1/sync/pull", headers=good).status_code == 200
    from caseterm.server import accounts

    db = server.db()
    try:
        with db.uow() as uow:
            assert accounts.revoke(uow, login="jdoe") == 1
    finally:
        db.close()
    r = httpx.get(f"{server.url}/api/v1/sync/pull", headers=good)  # the very next request
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert token not in server.log.read_text()


def test_a_technician_sees_and_changes_only_their_cases(server, tmp_path):
    boss = client_store(tmp_path, "boss", server, server.add_agent("boss", "supervisor"))
    tech = client_store(tmp_path, "tech", server, server.add_agent("tina", "technician"))
    client.sync(boss)
    with boss.uow() as uow:
        me, tina = agent_by_login(uow, "boss"), agent_by_login(uow, "tina")
        ada = customers.create_customer(uow, me, name="Ada Lovelace", email="ada@example.org",
                                        address="1 Analytical Row")
        bob = customers.create_customer(uow, me, name="Bob Builder", email="bob@example.org")
        visit = cases.create_case(uow, me, customer=ada, title="Install the dishwasher", owner=tina, origin="field")
        cases.add_activity(uow, me, visit, kind="note", body="Bring the long hose")
        other = cases.create_case(uow, me, customer=bob, title="Billing question")
    client.sync(boss)
    client.sync(tech)
    with tech.uow() as uow:
        assert [c.number for c in uow.session.exec(select(m.Case))] == [visit.number]
        assert {c.email for c in uow.session.exec(select(m.Customer))} == {"ada@example.org"}
        notes = [a.body for a in uow.session.exec(select(m.Activity))]
        assert "Bring the long hose" in notes
    # a forged op on a case outside the technician's scope is rejected, and says nothing of it
    with tech.uow() as uow:
        device_id = str(uow.session.get(m.SyncState, 1).device_id)
        tina_id = str(agent_by_login(uow, "tina").id)
    url, token = client.token_for(device_id)
    forged = {"op_id": str(uuid.uuid4()), "entity": "cases", "row_id": str(other.id), "kind": "update",
              "actor_id": tina_id, "base": {"priority": 3}, "data": {"priority": 1}}
    answer = httpx.post(f"{url}/api/v1/sync/push", headers={"Authorization": f"Bearer {token}"},
                        json={"device_id": device_id, "ops": [forged]}).json()
    assert answer["results"][0]["status"] == "rejected"
    assert answer["results"][0]["reason"] == "that case is not among yours"
    # reassigned away: the technician's store lets it go
    with boss.uow() as uow:
        cases.assign_case(uow, agent_by_login(uow, "boss"), case_by_number(uow, visit.number),
                          owner=agent_by_login(uow, "boss"))
    client.sync(boss)
    report = client.sync(tech)
    assert report.evicted == 1
    with tech.uow() as uow:
        assert uow.session.exec(select(func.count()).select_from(m.Case)).one() == 0
        assert uow.session.exec(select(func.count()).select_from(m.Activity)).one() == 0


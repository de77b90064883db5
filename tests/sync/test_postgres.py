"""The case server on PostgreSQL (run when CASETERM_TEST_PG_URL is set; each test on a
database of its own, see conftest.py): the migrations build and take down the schema,
values come back as they went in, several server processes writing at once never let a
pulling client skip a change that commits late, and edits of one row through different
processes merge one after the other.

The sync suites (test_sync_e2e.py and the rest) run on PostgreSQL too: their ``server``
fixture is parametrised over SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import httpx
import pytest
from server_support import RunningServer, client_store, free_port, start_server
from sqlalchemy import MetaData, inspect, text
from sqlmodel import select

from caseterm.services import cases, customers
from caseterm.services.lookup import agent_by_login, queue_by_name
from caseterm.store import models as m
from caseterm.store.schema import HEAD_REVISION
from caseterm.store.wire import row_to_wire
from caseterm.sync import client
from caseterm.sync.convert import ENTITIES

# --- migrations ------------------------------------------------------------------------------

SQLITE_ONLY = {"case_counts", "customer_search", "case_similar"}  # 0002, 0003, 0005: the workstation's own


def _revision(engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def test_the_migrations_build_the_schema_on_postgresql_and_take_it_down_again(pg_url):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from caseterm.store.engine import make_engine
    from caseterm.store.migrate import alembic_config, upgrade_url

    upgrade_url(pg_url)
    engine = make_engine(pg_url)
    try:
        assert _revision(engine) == HEAD_REVISION
        tables = set(inspect(engine).get_table_names())
        assert {m.Case.__tablename__, m.ServerChange.__tablename__, m.OutboxOp.__tablename__} <= tables
        assert not tables & SQLITE_ONLY
        with engine.connect() as conn:
            # the change log's sequence: a 64-bit serial, so pull's cursor never runs out
            data_type, default = conn.execute(text(
                "SELECT data_type, column_default FROM information_schema.columns "
                "WHERE table_name = 'server_changes' AND column_name = 'seq'")).one()
            assert data_type == "bigint" and default.startswith("nextval(")
            kinds = dict(conn.execute(text(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'products'")).all())
            assert (kinds["id"], kinds["unit_price"], kinds["active"], kinds["created_at"]) == (
                "uuid", "numeric", "boolean", "timestamp without time zone")
            # every foreign key may wait for the commit (a pushed batch's writes go in together)
            keys = conn.execute(text("SELECT condeferrable, condeferred, count(*) FROM pg_constraint "
                                     "WHERE contype = 'f' GROUP BY 1, 2")).all()
            assert len(keys) == 1 and keys[0][:2] == (True, False) and keys[0][2] > 20, keys
            # what the models declare is what the migrations built (as on SQLite, tests/store),
            # with PostgreSQL's keys deferrable (0009; the models leave that to the migration)
            expected = MetaData()
            for table in SQLModel.metadata.sorted_tables:
                for key in table.to_metadata(expected).foreign_key_constraints:
                    key.deferrable, key.initially = True, "IMMEDIATE"
            ctx = MigrationContext.configure(conn, opts={
                "compare_type": True, "include_name": lambda name, kind, parent: name != "alembic_version"})
            diffs = compare_metadata(ctx, expected)
        assert diffs == []

        with engine.begin() as conn:
            config = alembic_config(pg_url)
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        assert _revision(engine) is None
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pg_class WHERE relkind = 'S'")).scalar_one() == 0

        upgrade_url(pg_url)  # and up again, from nothing
        assert _revision(engine) == HEAD_REVISION
    finally:
        engine.dispose()


def test_values_come_back_from_postgresql_as_they_went_in(pg_url, tmp_path, clock):
    """The same rows, written through the server's unit of work on PostgreSQL and on
    SQLite, read back equal and in the same wire form (money, instants, JSON, UUIDs)."""
    from caseterm.server.db import ServerDatabase

    def write_and_read(url: str) -> tuple[list[dict], list[str]]:
        db = ServerDatabase.open(url, clock)
        try:
            with db.uow() as uow:
                admin = agent_by_login(uow, "admin")
                product = uow.create(m.Product(sku="KET-1", name="Kettle", category="kitchen",
                                               unit_price=Decimal("49.90"), currency="EUR"), admin.id, "test")
                ada = uow.create(m.Customer(name="Ada Lovelace", email="ada@example.org",
                                            verification={"method": "call", "ok": True}), admin.id, "test")
                order = uow.create(m.SalesOrder(number="SO-1", customer_id=ada.id, ordered_at=datetime(
                    2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone.utc), channel="web", currency="EUR",
                    total=Decimal("1234567.89")), admin.id, "test")
                uow.create(m.Asset(customer_id=ada.id, product_id=product.id, serial_number="SN1",
                                   purchase_date=date(2026, 3, 1)), admin.id, "test")
                numbers = [uow.next_number("CAS"), uow.next_number("CAS"), uow.next_number("RMA")]
                ids = [product.id, ada.id, order.id]
            with db.uow() as uow:
                rows = [row_to_wire(uow.session.get(model, id_)) for model, id_ in
                        zip((m.Product, m.Customer, m.SalesOrder), ids)]
                rows += [row_to_wire(a) for a in uow.session.exec(select(m.Asset))]
                for row in rows:
                    row.pop("id"), row.pop("customer_id", None), row.pop("product_id", None)
            return rows, numbers
        finally:
            db.close()

    on_pg = write_and_read(pg_url)
    on_sqlite = write_and_read(f"sqlite:///{tmp_path / 'server.sqlite'}")
    assert on_pg == on_sqlite
    assert on_pg[0][0]["unit_price"] == "49.90" and on_pg[0][2]["ordered_at"] == "2026-03-01T12:30:15.123456Z"
    assert on_pg[1] == ["CAS-SRV-000001", "CAS-SRV-000002", "RMA-SRV-000001"]


def test_a_bare_postgresql_url_means_psycopg_3():
    from caseterm.server.db import database_url

    for given in ("postgresql://ct@db.example/cases", "postgres://ct@db.example/cases"):
        assert database_url(given) == "postgresql+psycopg://ct@db.example/cases"
    assert database_url("postgresql+psycopg://ct@db/cases") == "postgresql+psycopg://ct@db/cases"


# --- several server processes, one database --------------------------------------------------

SERVERS = 4
WRITERS = 8
ROUNDS = 30  # each writer: a customer, 2 cases, 2 notes and an edit per round: ~2,000 changes in all
PUSH_BATCH = 100


def _start_together(tmp_path, url: str, n: int) -> list[RunningServer]:
    """``n`` servers (``caseterm serve``, each its own process and port) on one new
    database, started at the same moment: they take turns to migrate it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASETERM_") or k == "CASETERM_TEST_PG_URL"}
    servers = []
    for i in range(n):
        port = free_port()
        servers.append(RunningServer(f"http://127.0.0.1:{port}", url, tmp_path / f"server{i}.log", port=port,
                                     env=env))
    try:
        _in_threads(RunningServer.start, servers)
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers


def _in_threads(work, items) -> list:
    """``work(item)`` for every item at once, each in a thread; their results, or the first error."""
    results: list = [None] * len(items)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = work(items[i])
        except BaseException as exc:  # noqa: BLE001 - raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _push(store) -> client.SyncReport:
    """Push the store's pending ops, batch after batch (the server applies each op in its
    own transaction)."""
    with store.uow() as uow:
        device_id = str(uow.session.get(m.SyncState, 1).device_id)
    url, token = client.token_for(device_id)
    conn = client.Connection(url, token)
    report = client.SyncReport()
    try:
        client.push(store, conn, device_id, report)
    finally:
        conn.close()
    return report


def _versions(uow_factory) -> dict[tuple[str, str], int]:
    """Every synced row, (entity, id) -> version."""
    out = {}
    with uow_factory() as uow:
        for entity, model in ENTITIES.items():
            for id_, version in uow.session.exec(select(model.id, model.version)):
                out[(entity, str(id_))] = version
    return out


def test_a_server_with_four_workers_serves_two_clients_from_postgresql(pg_url, tmp_path):
    """``caseterm serve --workers 4``: every worker opens (and would migrate) the one database."""
    server = start_server(tmp_path, pg_url, workers=4)
    try:
        ann = client_store(tmp_path, "ann", server, server.add_agent("ann", "supervisor", ["Returns"]))
        bob = client_store(tmp_path, "bob", server, server.add_agent("bob", "agent", ["Returns"]))
        client.sync(ann)
        with ann.uow() as uow:
            me = agent_by_login(uow, "ann")
            ada = customers.create_customer(uow, me, name="Ada Lovelace")
            for k in range(20):
                cases.create_case(uow, me, customer=ada, title=f"Kettle {k} leaks", queue=queue_by_name(uow, "Returns"))
        assert _in_threads(client.sync, [ann, bob])[0].rejected == 0
        client.sync(bob)
        db = server.db()
        try:
            on_server = _versions(db.uow)
        finally:
            db.close()
        assert _versions(ann.uow) == _versions(bob.uow) == on_server
        assert sum(entity == "cases" for entity, _ in on_server) == 20
    finally:
        server.stop()


@pytest.fixture
def four_servers(pg_url, tmp_path):
    servers = _start_together(tmp_path, pg_url, SERVERS)
    yield servers
    for s in servers:
        s.stop()


def test_stores_registering_at_once_through_four_server_processes_get_codes_of_their_own(four_servers):
    """Device codes go into the numbers made offline: two stores must never share one,
    even when they register through different processes at the same moment."""
    token = four_servers[0].add_agent("ann", "agent", ["Returns"])
    devices = [(four_servers[i % SERVERS], str(uuid.uuid4())) for i in range(24)]

    def register(item):
        server, device_id = item
        return httpx.post(f"{server.url}/api/v1/devices", headers={"Authorization": f"Bearer {token}"},
                          json={"device_id": device_id, "name": "till"}, timeout=30)

    answers = _in_threads(register, devices)
    assert [a.status_code for a in answers] == [200] * len(devices)
    codes = [a.json()["device_code"] for a in answers]
    assert len(set(codes)) == len(codes)
    again = register(devices[0])  # registering again keeps the code
    assert again.status_code == 200 and again.json()["device_code"] == codes[0]


@pytest.mark.slow
def test_four_server_processes_writing_at_once_never_let_a_pulling_client_miss_a_change(
        four_servers, tmp_path, monkeypatch):
    """Writers push at once through four server processes while a reader pulls from
    cursor to cursor, from one process after another, without pause. Without the
    advisory lock that orders the change log (sync/server.py) the reader misses changes
    numbered before one it has seen but committed after it (7 to 12 of ~1,900 rows in
    each of five runs on a 2-CPU machine)."""
    servers = four_servers
    first = servers[0]
    db = first.db()
    try:
        with db.uow() as uow:  # processes that started together made one admin between them
            assert [a.login for a in uow.session.exec(select(m.Agent))] == ["admin"]
    finally:
        db.close()
    reader_token = first.add_agent("boss", "supervisor")
    writers = [client_store(tmp_path, f"w{i}", servers[i % SERVERS], first.add_agent(f"w{i}", "agent", ["Returns"]))
               for i in range(WRITERS)]
    for i, store in enumerate(writers):  # each writer's work, made offline; pushed all at once below
        client.sync(store)  # the agents and the queue
        with store.uow() as uow:
            me = agent_by_login(uow, f"w{i}")
            returns = queue_by_name(uow, "Returns")
            previous = None
            for r in range(ROUNDS):
                who = customers.create_customer(uow, me, name=f"Customer {i}-{r}")
                made = [cases.create_case(uow, me, customer=who, title=f"Case {i}-{r}-{k}", queue=returns)
                        for k in range(2)]
                for case in made:
                    cases.add_activity(uow, me, case, kind="note", body=f"Note {i}-{r}")
                if previous is not None:
                    cases.update_case(uow, me, previous, priority=1 + r % 4)
                previous = made[0]
    monkeypatch.setattr(client, "PUSH_BATCH", PUSH_BATCH)

    done = threading.Event()
    seen: dict[tuple[str, str], int] = {}

    def read() -> int:
        """Pull without pause, from cursor to cursor, asking each server in turn; the
        latest version of every row seen. Once the writers are done, up to the end."""
        conns = [client.Connection(s.url, reader_token) for s in servers]
        cursor, pages = 0, 0
        try:
            while True:
                last = done.is_set()
                page = conns[pages % SERVERS].call("GET", "/api/v1/sync/pull",
                                                   params={"cursor": cursor, "limit": client.PULL_PAGE})
                pages += 1
                for item in page["rows"]:
                    key = (item["entity"], item["row"]["id"])
                    seen[key] = max(seen.get(key, 0), item["row"]["version"])
                cursor = page["cursor"]
                if last and not page["has_more"]:
                    return pages
        finally:
            for conn in conns:
                conn.close()

    pushed: list = []

    def write_or_read(who):
        if who == "reader":
            return read()
        try:
            return _push(who)
        finally:
            pushed.append(who)
            if len(pushed) == WRITERS:
                done.set()

    reports = _in_threads(write_or_read, ["reader", *writers])
    pages = reports.pop(0)
    assert all((r.rejected, r.conflicts) == (0, 0) and r.applied == r.pushed for r in reports), reports

    db = first.db()
    try:
        on_server = _versions(db.uow)
        with db.uow() as uow:
            logged = {(c.entity, str(c.row_id)) for c in uow.session.exec(select(m.ServerChange))}
            n_cases = len(uow.session.exec(select(m.Case.id)).all())
    finally:
        db.close()
    assert n_cases == WRITERS * ROUNDS * 2
    assert logged == set(on_server)  # every row the server has came through the change log
    missed = {key: (version, seen.get(key)) for key, version in on_server.items() if seen.get(key) != version}
    assert not missed, (f"in {pages} pulls the reader missed the last change of {len(missed)} of {len(on_server)} "
                        f"rows (server's version, reader's): {sorted(missed.items())[:5]}")


@pytest.mark.slow
def test_cases_edited_through_different_server_processes_at_once_merge_one_edit_after_the_other(
        four_servers, tmp_path):
    """The field-level merge holds across processes: edits of the same fields from the
    same base, pushed at once through four servers, apply once per case and are conflicts
    for the rest, every change with a version of its own. (Without the row lock an op
    takes to merge, two of them read the same base, both apply, the one that commits last
    silently wins, and two changes share a version.)"""
    servers = four_servers
    first = servers[0]
    stores = [client_store(tmp_path, f"s{i}", servers[i], first.add_agent(f"s{i}", "supervisor", ["Returns"]))
              for i in range(SERVERS)]
    client.sync(stores[0])
    with stores[0].uow() as uow:
        me = agent_by_login(uow, "s0")
        ada = customers.create_customer(uow, me, name="Ada Lovelace")
        made = [cases.create_case(uow, me, customer=ada, title=f"Case {k}", queue=queue_by_name(uow, "Returns")).id
                for k in range(30)]
    for store in stores:
        client.sync(store)
    for i, store in enumerate(stores):  # every supervisor, offline, edits every case differently
        with store.uow() as uow:
            me = agent_by_login(uow, f"s{i}")
            for case in uow.session.exec(select(m.Case).where(m.Case.id.in_(made))).all():
                cases.update_case(uow, me, case, title=f"{case.number} as s{i} saw it", description=f"s{i} was here")

    _in_threads(_push, stores)

    outcomes: dict = {case_id: {} for case_id in made}
    for i, store in enumerate(stores):
        with store.uow() as uow:
            for op in uow.session.exec(select(m.OutboxOp).where(m.OutboxOp.entity == "cases",
                                                                m.OutboxOp.kind == "update")):
                outcomes[op.row_id][f"s{i}"] = op.state
    db = first.db()
    try:
        with db.uow() as uow:
            for case_id, states in outcomes.items():
                assert sorted(states.values()) == ["applied", "conflict", "conflict", "conflict"], states
                [winner] = [who for who, state in states.items() if state == "applied"]
                case = uow.session.get(m.Case, case_id)
                assert (case.title, case.description, case.version) == (
                    f"{case.number} as {winner} saw it", f"{winner} was here", 2)
                versions = [c.version for c in uow.session.exec(select(m.ServerChange).where(
                    m.ServerChange.row_id == case_id))]
                assert sorted(versions) == [1, 2]
    finally:
        db.close()
    # and the conflicts are there for a person to decide
    assert len(client.conflicts(stores[0])) == sum(s["s0"] == "conflict" for s in outcomes.values())

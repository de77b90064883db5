"""The fast read path: keyset pages give exactly what a plain ORDER BY gives, in both
directions and for every view; counts match a GROUP BY; lookups find customers."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime, timezone

import pytest

from caseterm.domain.enums import CaseState, StatusReason
from caseterm.services.demo import seed_demo
from caseterm.store import queries
from caseterm.store.sqlite import open_store

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo_conn(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    seed_demo(path, cases=1500, now=NOW, seed=11)
    conn = open_store(path)
    yield conn
    conn.close()


def views(conn):
    queue = conn.execute("SELECT id FROM queues WHERE name = 'Returns'").fetchone()[0]
    owner = conn.execute("SELECT id FROM agents WHERE login = 'jdoe'").fetchone()[0]
    customer = conn.execute("SELECT customer_id FROM cases GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    return {
        "all-active": queries.CaseView(),
        "queue": queries.CaseView(queue_id=queue),
        "owner": queries.CaseView(owner_id=owner),
        "unassigned": queries.CaseView(unassigned=True),
        "on-hold": queries.CaseView(status=StatusReason.ON_HOLD),
        "every-state": queries.CaseView(state=None),
        "customer": queries.CaseView(state=None, customer_id=customer),
        "recently-resolved": queries.CaseView(state=CaseState.RESOLVED, sort="resolved"),
        "queue-resolved": queries.CaseView(state=CaseState.RESOLVED, queue_id=queue, sort="resolved"),
        "owner-resolved": queries.CaseView(state=CaseState.RESOLVED, owner_id=owner, sort="resolved"),
        "newest": queries.CaseView(sort="newest"),
        "queue-oldest": queries.CaseView(queue_id=queue, sort="oldest"),
        "owner-newest": queries.CaseView(owner_id=owner, sort="newest"),
        "unassigned-oldest": queries.CaseView(unassigned=True, sort="oldest"),
    }


def naive(conn, view: queries.CaseView) -> list[str]:
    clauses, params = view.where()
    sort = queries.SORTS[view.sort]
    if view.sort == "resolved":
        clauses.append("c.resolved_at IS NOT NULL")
    direction = "DESC" if sort.descending else "ASC"
    order = ", ".join(f"c.{c} {direction}" for c in sort.columns)
    return [r[0] for r in conn.execute(f"SELECT c.number FROM cases AS c WHERE {' AND '.join(clauses)} ORDER BY {order}", params)]


@pytest.mark.parametrize("name", ["all-active", "queue", "owner", "unassigned", "on-hold", "every-state", "customer",
                                  "recently-resolved", "queue-resolved", "owner-resolved", "newest", "queue-oldest",
                                  "owner-newest", "unassigned-oldest"])
def test_keyset_pages_walk_the_whole_view_in_order(demo_conn, name):
    view = views(demo_conn)[name]
    expected = naive(demo_conn, view)
    assert expected, "the demo store has cases in every view"
    # forward, page by page
    seen, pages, key = [], [], None
    while True:
        page = queries.page_cases(demo_conn, view, after=key, limit=37)
        seen += [r.number for r in page.rows]
        pages.append(page)
        if not page.has_more:
            break
        key = page.rows[-1].key
    assert seen == expected
    # backward from the end gives the same pages
    back, key = [], pages[-1].rows[0].key
    back = [r.number for r in pages[-1].rows]
    while True:
        page = queries.page_cases(demo_conn, view, before=key, limit=37)
        back = [r.number for r in page.rows] + back
        if not page.has_more:
            break
        key = page.rows[0].key
    assert back == expected


def test_rows_carry_what_the_queue_shows(demo_conn):
    row = queries.page_cases(demo_conn, queries.CaseView(), limit=1).rows[0]
    truth = demo_conn.execute(
        "SELECT c.number, c.title, cu.name, c.priority FROM cases c JOIN customers cu ON cu.id = c.customer_id "
        "WHERE c.state = 'active' ORDER BY c.priority, c.created_at, c.rowid LIMIT 1").fetchone()
    assert (row.number, row.title, row.customer_name, row.priority) == truth
    assert row.created_at.tzinfo is timezone.utc


@pytest.mark.parametrize("name", ["all-active", "queue", "owner", "unassigned", "on-hold", "every-state", "customer"])
def test_counts_match_a_group_by(demo_conn, name):
    view = views(demo_conn)[name]
    clauses, params = view.where()
    truth = dict(demo_conn.execute(
        f"SELECT c.status_reason, count(*) FROM cases AS c WHERE {' AND '.join(clauses)} GROUP BY 1", params).fetchall())
    assert queries.count_cases(demo_conn, view) == truth


def test_the_views_use_their_indexes(demo_conn):
    """No view sorts in a temporary B-tree: pages cost the same at any depth and size."""
    for name, view in views(demo_conn).items():
        if name == "customer":
            continue  # a customer's few cases are found by ix_cases_customer and sorted in memory
        clauses, params = view.where()
        sort = queries.SORTS[view.sort]
        direction = "DESC" if sort.descending else "ASC"
        order = ", ".join(f"c.{c} {direction}" for c in sort.columns)
        plan = " | ".join(r[3] for r in demo_conn.execute(
            f"EXPLAIN QUERY PLAN SELECT c.id FROM cases AS c WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT 50", params))
        assert "TEMP B-TREE" not in plan, f"{name}: {plan}"
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, f"{name}: {plan}"


def test_case_detail_and_merged_timelines(demo_conn):
    number = demo_conn.execute("SELECT number FROM cases WHERE merged_into_id IS NOT NULL LIMIT 1").fetchone()[0]
    merged = queries.case_detail(demo_conn, number)
    assert merged.merged_into is not None
    master = queries.case_detail(demo_conn, merged.merged_into)
    assert number in master.merged_in
    assert number in {e.case_number for e in master.timeline}
    times = [e.occurred_at for e in master.timeline]
    assert times == sorted(times, reverse=True)
    assert queries.case_detail(demo_conn, "CAS-DEMO-999999") is None
    assert queries.case_detail(demo_conn, number.lower()).fields["number"] == number


def test_find_customers_by_every_key(demo_conn):
    cid, name, email, phone = demo_conn.execute(
        "SELECT id, name, email, phone FROM customers WHERE kind = 'person' ORDER BY id LIMIT 1").fetchone()
    order = demo_conn.execute("SELECT number, customer_id FROM sales_orders ORDER BY number LIMIT 1").fetchone()
    serial = demo_conn.execute("SELECT serial_number, customer_id FROM assets ORDER BY serial_number LIMIT 1").fetchone()
    assert queries.find_customers(demo_conn, email.upper())[0].id == cid
    assert queries.find_customers(demo_conn, phone.replace(" ", ""))[0].id == cid
    hit = queries.find_customers(demo_conn, order[0].lower())[0]
    assert (hit.id, hit.matched) == (order[1], "order")
    hit = queries.find_customers(demo_conn, serial[0])[0]
    assert (hit.id, hit.matched) == (serial[1], "serial")
    first, last = name.split()[0], name.split()[-1]
    by_name = queries.find_customers(demo_conn, f"{first[:3]} {last[:3]}", limit=200)
    assert cid in {h.id for h in by_name}
    assert all(h.matched == "name" for h in by_name)
    assert queries.find_customers(demo_conn, "%") == []
    assert queries.find_customers(demo_conn, "   ") == []


def test_pending_ops_counts_the_outbox(store, world, store_path):
    conn = open_store(store_path)
    before = queries.pending_ops(conn)
    from caseterm.services import cases

    with store.uow() as uow:
        cases.create_case(uow, world["agent"], customer=world["ada"], title="x")
    assert queries.pending_ops(conn) == before + 2  # the case and its "created" entry


def test_customer_search_follows_every_write(store, world, store_path):
    from caseterm.services import customers
    from caseterm.services.lookup import customer_by_key

    conn = open_store(store_path)
    with store.uow() as uow:
        customers.create_customer(uow, world["admin"], name="Sofía Hernández", email="sofia@example.org")
        customers.create_customer(uow, world["admin"], name="Sofus Berg", phone="+46 70 123 45 67")
    assert [h.name for h in queries.find_customers(conn, "hernandez")] == ["Sofía Hernández"]
    assert sorted(h.name for h in queries.find_customers(conn, "sof")) == ["Sofus Berg", "Sofía Hernández"]
    assert [h.name for h in queries.find_customers(conn, "sof her")] == ["Sofía Hernández"]
    assert [(h.name, h.matched) for h in queries.find_customers(conn, "123 45 67")] == [("Sofus Berg", "phone")]
    # renames are searchable at once, the old name no longer is
    with store.uow() as uow:
        row = customer_by_key(uow, "sofia@example.org")
        uow.update(row, world["admin"].id, "update_customer", name="Sofía Castillo")
    assert queries.find_customers(conn, "hernandez") == []
    assert [h.name for h in queries.find_customers(conn, "castillo")] == ["Sofía Castillo"]
    # a tombstoned customer is not offered
    with store.uow() as uow:
        uow.update(customer_by_key(uow, "sofia@example.org"), world["admin"].id, "delete_customer", deleted=True)
    assert queries.find_customers(conn, "castillo") == []
    # words that are not words do not break the query
    assert queries.find_customers(conn, '"*') == []
    assert queries.find_customers(conn, "AND OR NOT") == []


@pytest.mark.parametrize("name", ["all-active", "queue", "recently-resolved"])
def test_last_page_and_jumps_land_where_a_plain_query_says(demo_conn, name):
    view = views(demo_conn)[name]
    expected = naive(demo_conn, view)
    last = queries.page_cases(demo_conn, view, last=True, limit=25)
    assert [r.number for r in last.rows] == expected[-25:]
    middle = len(expected) // 2
    jump = queries.page_cases_at(demo_conn, view, middle, limit=10)
    assert [r.number for r in jump.rows] == expected[middle:middle + 10]
    # and keyset paging goes on from a jump
    after = queries.page_cases(demo_conn, view, after=jump.rows[-1].key, limit=10)
    assert [r.number for r in after.rows] == expected[middle + 10:middle + 20]


def test_quick_filter_by_number_title_or_customer(demo_conn):
    import dataclasses

    base = views(demo_conn)["every-state"]
    number, title, customer = demo_conn.execute(
        "SELECT c.number, c.title, cu.name FROM cases c JOIN customers cu ON cu.id = c.customer_id "
        "ORDER BY c.number LIMIT 1 OFFSET 40").fetchone()
    word = title.split()[-1].lower()
    for text in (number.lower(), word, customer.split()[-1]):
        view = dataclasses.replace(base, text=text)
        clauses, params = view.where()
        expected = [r[0] for r in demo_conn.execute(
            f"SELECT c.number FROM cases c JOIN customers cu ON cu.id = c.customer_id WHERE {' AND '.join(clauses)} "
            "ORDER BY c.priority, c.created_at, c.rowid", params)]
        got = []
        key = None
        while True:
            page = queries.page_cases(demo_conn, view, after=key, limit=30)
            got += [r.number for r in page.rows]
            if not page.has_more:
                break
            key = page.rows[-1].key
        assert got == expected and expected
        assert sum(queries.count_cases(demo_conn, view).values()) == len(expected)
    only = dataclasses.replace(base, text=number)
    assert [r.number for r in queries.page_cases(demo_conn, only).rows] == [number]
    # LIKE wildcards are taken literally (no demo title or name holds a % or _)
    assert queries.page_cases(demo_conn, dataclasses.replace(base, text="%")).rows == []
    assert queries.page_cases(demo_conn, dataclasses.replace(base, text="_")).rows == []


def test_jumps_read_only_the_index(demo_conn):
    """key_at answers from the partial index alone (covering): no table rows are read."""
    for name in ("all-active", "queue", "owner", "unassigned", "recently-resolved", "newest"):
        view = views(demo_conn)[name]
        statements = []
        demo_conn.set_trace_callback(statements.append)
        try:
            queries.key_at(demo_conn, view, 10)
        finally:
            demo_conn.set_trace_callback(None)
        sql = next(s for s in statements if s.lstrip().startswith("SELECT"))
        plan = " | ".join(r[3] for r in demo_conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "COVERING INDEX" in plan, f"{name}: {plan}"
    view = views(demo_conn)["all-active"]
    expected = naive(demo_conn, view)
    assert queries.key_at(demo_conn, view, len(expected)) is None

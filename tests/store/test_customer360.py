"""Customer 360 (store/customer360.py): data made through the real services on a real
SQLite store, read back on a raw connection; every part of the view is checked, and
every query it runs starts from an index."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from caseterm.services import cases, customers
from caseterm.services.lookup import case_by_number
from caseterm.store.customer360 import customer_360, warranty_status
from caseterm.store.models import Product
from caseterm.store.sqlite import connect

TODAY = date(2026, 11, 25)  # the date of tests/conftest.py's clock


@pytest.fixture
def grace(store, world, clock):
    """An organisation with one person (Grace) who owns three assets, two orders and six cases.

    Cases, in the order the view must give them:
    C2 P1 active (owner jdoe) · C1 P3 active, older · C3 P3 active, newer ·
    C6 cancelled last · C5 resolved after C4 · C4 resolved first."""
    admin, agent = world["admin"], world["agent"]
    with store.uow() as uow:
        router = uow.create(Product(sku="NV-RT-2000", name="Mesh Router", unit_price=Decimal("129.00"),
                                    warranty_months=24), admin.id, "create_product")
        kettle = uow.create(Product(sku="NV-KT-1001", name="Kettle", unit_price=Decimal("39.99"),
                                    warranty_months=12), admin.id, "create_product")
        org = customers.create_customer(uow, admin, name="Analytical Engines Ltd", kind="organisation",
                                        email="office@engines.example", city="London", country="gb", tier="gold")
        person = customers.create_customer(
            uow, admin, name="Grace Hopper", email="grace@engines.example", phone="+44 20 7946 0002",
            address="12 Babbage Street", postcode="N1 9GU", city="London", country="GB", tier="platinum",
            parent_id=org.id)
        # ends tomorrow, ended yesterday, no purchase date
        customers.register_asset(uow, admin, customer=person, product=router, serial_number="RT-0001",
                                 purchase_date=date(2024, 11, 26), location="Home office")
        customers.register_asset(uow, admin, customer=person, product=kettle, serial_number="KT-0001",
                                 purchase_date=date(2025, 11, 24), location="Kitchen")
        customers.register_asset(uow, admin, customer=person, product=kettle, serial_number="KT-0002")
        customers.create_order(uow, admin, customer=person, number="so-100", channel="web",
                               ordered_at=datetime(2025, 11, 24, 10, 0, tzinfo=timezone.utc),
                               lines=[(kettle, 2, None, []), (router, 1, Decimal("119.00"), ["RT-0001"])])
        customers.create_order(uow, admin, customer=person, number="SO-101", channel="store",
                               ordered_at=datetime(2026, 3, 1, 15, 30, tzinfo=timezone.utc),
                               lines=[(kettle, 1, None, [])])
        # someone else's rows, which must not show up
        customers.register_asset(uow, admin, customer=world["ada"], product=kettle, serial_number="KT-ADA")
        cases.create_case(uow, admin, customer=world["ada"], title="Ada's own case", priority=1)

    made = {}

    def case(key, **kw):
        with store.uow() as uow:
            made[key] = cases.create_case(uow, admin, customer=person, title=f"Case {key}", **kw).number
        clock.advance(hours=1)

    case("C1", priority=3)
    case("C2", priority=1, owner=agent)
    case("C3", priority=3)
    case("C4", priority=2)
    case("C5", priority=2)
    case("C6", priority=4)
    for key, how in (("C4", "resolve"), ("C5", "resolve"), ("C6", "cancel")):
        with store.uow() as uow:
            row = case_by_number(uow, made[key])
            if how == "resolve":
                cases.resolve_case(uow, admin, row, f"Fixed {key}")
            else:
                cases.cancel_case(uow, admin, row, "Duplicate call")
        clock.advance(hours=1)
    return {"org": org.id.hex, "person": person.id.hex, "cases": made}


@pytest.fixture
def conn(store, grace):
    c = connect(store.path)
    yield c
    c.close()


def test_profile_of_a_person_in_an_organisation(conn, grace):
    view = customer_360(conn, grace["person"], TODAY)
    p = view.profile
    assert (p.id, p.name, p.kind, p.email, p.phone) == (
        grace["person"], "Grace Hopper", "person", "grace@engines.example", "+44 20 7946 0002")
    assert (p.address, p.postcode, p.city, p.country, p.tier) == ("12 Babbage Street", "N1 9GU", "London", "GB",
                                                                   "platinum")
    assert p.parent_name == "Analytical Engines Ltd"
    assert p.members is None
    assert p.place == "12 Babbage Street, N1 9GU London, GB"


def test_profile_of_an_organisation_counts_its_people(conn, grace):
    view = customer_360(conn, grace["org"], TODAY)
    assert (view.profile.kind, view.profile.members, view.profile.parent_name) == ("organisation", 1, None)
    assert (view.assets, view.orders, view.cases, view.total_cases, view.open_cases) == ([], [], [], 0, 0)


def test_assets_with_their_warranty_on_both_sides_of_the_end_date(conn, grace):
    view = customer_360(conn, grace["person"], TODAY)
    assert view.total_assets == 3
    got = [(a.serial, a.product_name, a.sku, a.purchase_date, a.warranty_end, a.warranty, a.warranty_state, a.location)
           for a in view.assets]
    assert got == [  # newest purchase first, unknown purchase date last
        ("KT-0001", "Kettle", "NV-KT-1001", date(2025, 11, 24), date(2026, 11, 24), "expired 2026-11-24", "expired",
         "Kitchen"),
        ("RT-0001", "Mesh Router", "NV-RT-2000", date(2024, 11, 26), date(2026, 11, 26), "in warranty (1 day left)",
         "in", "Home office"),
        ("KT-0002", "Kettle", "NV-KT-1001", None, None, "unknown", "unknown", None),
    ]
    # the same assets on other days: the end date itself is still covered
    on_end = {a.serial: a.warranty for a in customer_360(conn, grace["person"], date(2026, 11, 24)).assets}
    assert on_end == {"KT-0001": "in warranty (ends today)", "RT-0001": "in warranty (2 days left)",
                      "KT-0002": "unknown"}
    after = {a.serial: a.warranty for a in customer_360(conn, grace["person"], date(2026, 11, 27)).assets}
    assert after["RT-0001"] == "expired 2026-11-26"


@pytest.mark.parametrize(("today", "text", "state"), [
    (date(2026, 1, 1), "in warranty (364 days left)", "in"),
    (date(2026, 12, 30), "in warranty (1 day left)", "in"),
    (date(2026, 12, 31), "in warranty (ends today)", "in"),
    (date(2027, 1, 1), "expired 2026-12-31", "expired"),
], ids=["a-year-left", "day-before", "end-date", "day-after"])
def test_warranty_status(today, text, state):
    assert warranty_status(date(2026, 12, 31), today) == (text, state)
    assert warranty_status(None, today) == ("unknown", "unknown")


def test_orders_newest_first_with_their_lines(conn, grace):
    view = customer_360(conn, grace["person"], TODAY)
    assert view.total_orders == 2
    got = [(o.number, o.ordered_at, o.channel, o.total, o.currency, o.total_text, o.lines) for o in view.orders]
    assert got == [
        ("SO-101", datetime(2026, 3, 1, 15, 30, tzinfo=timezone.utc), "store", Decimal("39.99"), "EUR", "39.99 EUR",
         ("1 × Kettle",)),
        ("SO-100", datetime(2025, 11, 24, 10, 0, tzinfo=timezone.utc), "web", Decimal("198.98"), "EUR",
         "198.98 EUR", ("2 × Kettle", "1 × Mesh Router")),
    ]


def test_cases_open_first_by_priority_then_oldest_then_closed_most_recent_first(conn, grace):
    view = customer_360(conn, grace["person"], TODAY)
    n = grace["cases"]
    assert [c.number for c in view.cases] == [n["C2"], n["C1"], n["C3"], n["C6"], n["C5"], n["C4"]]
    assert (view.open_cases, view.total_cases) == (3, 6)
    first = view.cases[0]
    assert (first.title, first.state, first.status_reason, first.priority, first.owner_login, first.is_open) == (
        "Case C2", "active", "new", 1, "jdoe", True)
    assert first.created_at == datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    assert first.resolved_at is None and first.closed_at is None
    c6, c5 = view.cases[3], view.cases[4]
    assert (c6.state, c6.status_reason, c6.owner_login, c6.resolved_at, c6.is_open) == (
        "cancelled", "cancelled", None, None, False)
    assert c6.closed_at == c6.cancelled_at == datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc)
    assert (c5.state, c5.status_reason) == ("resolved", "problem_solved")
    assert c5.resolved_at == c5.closed_at == datetime(2026, 11, 25, 16, 0, tzinfo=timezone.utc)
    assert "Ada's own case" not in [c.title for c in view.cases]


def test_lists_are_bounded_and_report_the_totals(conn, grace):
    n = grace["cases"]
    view = customer_360(conn, grace["person"], TODAY, case_limit=4, asset_limit=1, order_limit=1)
    assert [c.number for c in view.cases] == [n["C2"], n["C1"], n["C3"], n["C6"]]
    assert (view.open_cases, view.total_cases) == (3, 6)
    assert [c.number for c in customer_360(conn, grace["person"], TODAY, case_limit=2).cases] == [n["C2"], n["C1"]]
    assert ([a.serial for a in view.assets], view.total_assets) == (["KT-0001"], 3)
    assert ([o.number for o in view.orders], view.total_orders) == (["SO-101"], 2)


def test_a_customer_with_nothing_yet(conn, world):
    view = customer_360(conn, world["bob"].id.hex, TODAY)
    assert view.profile.name == "Bob Builder"
    assert (view.assets, view.orders, view.cases) == ([], [], [])
    assert (view.open_cases, view.total_cases, view.total_assets, view.total_orders) == (0, 0, 0, 0)


def test_unknown_or_malformed_ids_give_none(conn, world):
    assert customer_360(conn, "0" * 32, TODAY) is None
    assert customer_360(conn, "not-an-id", TODAY) is None
    # the canonical UUID form is accepted too
    assert customer_360(conn, str(world["ada"].id), TODAY).profile.name == "Ada Lovelace"


def test_every_query_starts_from_an_index(conn, grace):
    """No full scan of any table: every read starts from an index (``ix_customers_parent``
    for an organisation's member count)."""
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        customer_360(conn, grace["person"], TODAY)
        customer_360(conn, grace["org"], TODAY)
    finally:
        conn.set_trace_callback(None)
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"  # one consistent read
    alias = {"c": "cases", "s": "assets", "l": "sales_order_lines", "p": "products", "a": "agents", "cu": "customers",
             "par": "customers"}
    steps = [(alias.get(step.split()[1], step.split()[1]), step) for sql in statements
             if sql.lstrip().startswith("SELECT")
             for step in (row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
             if step.startswith(("SCAN", "SEARCH"))]
    assert {t for t, _ in steps} == {"customers", "assets", "products", "sales_orders", "sales_order_lines", "cases",
                                     "agents"}
    scans = [step for _, step in steps if step.startswith("SCAN")]
    assert scans == []
    # the customer's rows come through the customer_id indexes, never a store-wide sort index
    for table, index in (("cases", "ix_cases_customer"), ("assets", "ix_assets_customer_id"),
                         ("sales_orders", "ix_sales_orders_customer_id")):
        searches = [step for t, step in steps if t == table and step.startswith("SEARCH")]
        assert searches and all(index in step for step in searches), (table, searches)


def test_no_orm_import():
    import subprocess
    import sys

    code = ("import sys, caseterm.store.customer360; "
            "print(any(m.startswith(('sqlmodel', 'sqlalchemy', 'textual')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


"""The Customer 360 screen, driven with the pilot: what the agent sees (the customer, their
cases open first, the warranty of each asset), Enter on a case closes the screen with that
case's number, Escape closes it with nothing; plus one snapshot (fixed clock, fixed store
at a fixed path, 120x36)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from tui_support import NOW, make_app, settle, workstation_ready

from caseterm.tui.screens.customer360 import Customer360Screen

SIZE = (120, 36)


def add_adas_things(path: Path) -> None:
    """On top of the org store: two products, Ada's three assets (in warranty, expired,
    unknown), two orders, and a newer open case CAS-LOC-000005 (P3), so her cases are
    000001 (P1, open), 000005 (P3, open), then 000003 (resolved)."""
    from caseterm.clock import FixedClock
    from caseterm.services import cases, customers
    from caseterm.services.lookup import agent_by_login, customer_by_key
    from caseterm.store.models import Product
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(path, clock=FixedClock(NOW - timedelta(days=1)))
    try:
        with store.uow() as uow:
            admin = agent_by_login(uow, "admin")
            jdoe = agent_by_login(uow, "jdoe")
            ada = customer_by_key(uow, "ada@example.org")
            router = uow.create(Product(sku="NV-RT-2000", name="Mesh Router", unit_price=Decimal("129.00"),
                                        warranty_months=24), admin.id, "seed")
            kettle = uow.create(Product(sku="NV-KT-1001", name="Kettle", unit_price=Decimal("39.99"),
                                        warranty_months=12), admin.id, "seed")
            customers.register_asset(uow, admin, customer=ada, product=router, serial_number="RT-20250210-01",
                                     purchase_date=date(2025, 2, 10), location="Study")
            customers.register_asset(uow, admin, customer=ada, product=kettle, serial_number="KT-20240601-07",
                                     purchase_date=date(2024, 6, 1), location="Kitchen")
            customers.register_asset(uow, admin, customer=ada, product=kettle, serial_number="KT-GIFT-1")
            customers.create_order(uow, admin, customer=ada, number="SO-2024-0601", channel="store",
                                   ordered_at=datetime(2024, 6, 1, 11, 0, tzinfo=timezone.utc),
                                   lines=[(kettle, 2, None, ["KT-20240601-07"])])
            customers.create_order(uow, admin, customer=ada, number="SO-2025-0210", channel="web",
                                   ordered_at=datetime(2025, 2, 10, 18, 30, tzinfo=timezone.utc),
                                   lines=[(router, 1, Decimal("119.00"), ["RT-20250210-01"]), (kettle, 1, None, [])])
            cases.create_case(uow, jdoe, customer=ada, title="Mesh router warranty question", priority=3,
                              owner=jdoe)
    finally:
        store.close()


@pytest.fixture
def ada_store(org_store) -> Path:
    add_adas_things(org_store)
    return org_store


@pytest.fixture
def ada_fixed_store(fixed_store) -> Path:
    add_adas_things(fixed_store)
    return fixed_store


def screen_text(app) -> str:
    """What the terminal shows, line by line."""
    return "\n".join("".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips())


def c360_ready(app) -> bool:
    return isinstance(app.screen, Customer360Screen) and app.screen.loaded


async def open_360(pilot, results: list) -> Customer360Screen:
    """From the workstation (which opens Ada's CAS-LOC-000001 first), the 360 of that case's customer."""
    app = pilot.app
    await settle(pilot, lambda: workstation_ready(app))
    customer_id = app.screen.detail.fields["customer_id"]
    app.push_screen(Customer360Screen(app.gateway, customer_id), results.append)
    await settle(pilot, lambda: c360_ready(app))
    return app.screen


async def test_shows_the_customer_their_cases_open_first_and_warranties(ada_store):
    app = make_app(ada_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_360(pilot, [])
        text = screen_text(app)
        assert "Customer 360 · Ada Lovelace" in text
        assert "ada@example.org" in text and "+44 20 7946 0001" in text
        assert "2 open · 3 in all" in text
        cases = screen.query_one("#c360-cases")
        assert [cases.get_row_at(i)[0].plain for i in range(cases.row_count)] == [
            "CAS-LOC-000001", "CAS-LOC-000005", "CAS-LOC-000003"]
        lines = text.splitlines()
        at = {n: next(i for i, line in enumerate(lines) if n in line)
              for n in ("CAS-LOC-000001", "CAS-LOC-000005", "CAS-LOC-000003")}
        assert at["CAS-LOC-000001"] < at["CAS-LOC-000005"] < at["CAS-LOC-000003"]
        assert "Information provided" in lines[at["CAS-LOC-000003"]]
        assert "Bob" not in text and "Kettle lid" not in text  # Bob's cases are not Ada's
        router = next(line for line in lines if "RT-20250210-01" in line)
        assert "in warranty (77 days left)" in router and "2027-02-10" in router
        kettle = next(line for line in lines if "KT-20240601-07" in line)
        assert "expired 2025-06-01" in kettle
        assert "unknown" in next(line for line in lines if "KT-GIFT-1" in line)
        assert "SO-2025-0210" in text and "1 × Mesh Router, 1 × Kettle" in text
        assert "158.99 EUR" in text
        # the newest order is listed first
        assert text.index("SO-2025-0210") < text.index("SO-2024-0601")
        # the warranty cells take their colours from the theme
        assets = screen.query_one("#c360-assets")
        theme = app.theme_variables
        assert assets.get_row_at(0)[5].style.color.name.lower() == theme["success"].lower()
        assert assets.get_row_at(1)[5].style.color.name.lower() == theme["error"].lower()
        assert assets.get_row_at(2)[5].style.color.name.lower() not in (theme["success"].lower(), "#ffffff")


async def test_the_warranty_colours_follow_a_theme_change(ada_store):
    app = make_app(ada_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_360(pilot, [])
        assets = screen.query_one("#c360-assets")
        dark = assets.get_row_at(0)[5].style.color
        app.theme = "caseterm-light"
        await settle(pilot, lambda: assets.get_row_at(0)[5].style.color != dark)
        assert assets.get_row_at(0)[5].style.color.name.lower() == app.theme_variables["success"].lower()
        assert assets.get_row_at(1)[5].style.color.name.lower() == app.theme_variables["error"].lower()


async def test_enter_on_a_case_closes_with_its_number(ada_store):
    app = make_app(ada_store)
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_360(pilot, results)
        assert app.focused is screen.query_one("#c360-cases")
        await pilot.press("j")
        assert screen.highlighted_case() == "CAS-LOC-000005"
        await pilot.press("enter")
        await settle(pilot, lambda: not isinstance(app.screen, Customer360Screen))
        assert results == ["CAS-LOC-000005"]


async def test_escape_and_q_go_back_with_nothing(ada_store):
    app = make_app(ada_store)
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        await open_360(pilot, results)
        await pilot.press("escape")
        await settle(pilot, lambda: workstation_ready(app))
        await open_360(pilot, results)
        await pilot.press("q")  # back, not quit
        await settle(pilot, lambda: workstation_ready(app))
        assert results == [None, None]
        assert app.is_running


async def test_tab_moves_between_the_tables_and_enter_elsewhere_opens_nothing(ada_store):
    app = make_app(ada_store)
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_360(pilot, results)
        await pilot.press("tab")
        assert app.focused is screen.query_one("#c360-assets")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, Customer360Screen) and results == []
        await pilot.press("tab")
        assert app.focused is screen.query_one("#c360-orders")
        await pilot.press("shift+tab", "shift+tab")
        assert app.focused is screen.query_one("#c360-cases")


async def test_every_binding_has_an_id_and_a_tooltip(ada_store):
    from caseterm.tui.screens.customer360 import C360Table, CaseTable

    for cls in (Customer360Screen, C360Table, CaseTable):
        for binding in cls.BINDINGS:
            assert binding.id and binding.id.startswith("c360.") and binding.tooltip, binding
    app = make_app(ada_store)
    async with app.run_test(size=SIZE) as pilot:
        await open_360(pilot, [])
        footer = screen_text(app).splitlines()[-1]
        assert "Back" in footer and "Open case" in footer and "Next table" in footer


async def test_the_first_frame_does_not_wait_for_the_data(ada_store):
    """The store answers only when the test lets it; meanwhile the screen says Loading…"""
    app = make_app(ada_store)
    gate = threading.Event()

    class SlowGateway:
        def __init__(self, inner):
            self.inner, self.clock = inner, inner.clock

        def conn(self):
            assert gate.wait(10)
            return self.inner.conn()

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        customer_id = app.screen.detail.fields["customer_id"]
        app.push_screen(Customer360Screen(SlowGateway(app.gateway), customer_id))
        for _ in range(3):
            await pilot.pause()
        assert isinstance(app.screen, Customer360Screen) and not app.screen.loaded
        assert "Loading…" in screen_text(app)
        gate.set()
        await settle(pilot, lambda: c360_ready(app))
        assert "Loading…" not in screen_text(app) and "Ada Lovelace" in screen_text(app)


async def test_an_unknown_customer_says_so(ada_store):
    app = make_app(ada_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        app.push_screen(Customer360Screen(app.gateway, "0" * 32))
        await settle(pilot, lambda: c360_ready(app))
        assert "This customer is not in the store" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot, lambda: workstation_ready(app))


async def test_a_failed_load_does_not_stay_loading(ada_store):
    app = make_app(ada_store)

    class BrokenGateway:
        clock = app.clock

        def conn(self):
            raise OSError("disk on fire")

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        app.push_screen(Customer360Screen(BrokenGateway(), "0" * 32))
        await settle(pilot, lambda: "Could not load this customer" in screen_text(app))
        assert any("Something went wrong" in n.message for n in app._notifications)


@pytest.fixture
def _steady(monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


def test_snapshot_of_adas_360(snap_compare, ada_fixed_store, _steady):
    async def run_before(pilot):
        await open_360(pilot, [])
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_app(ada_fixed_store), run_before=run_before, terminal_size=SIZE)

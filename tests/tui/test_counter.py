"""Counter mode: a store clerk logs a complaint in three fields and Enter."""

from __future__ import annotations

import sqlite3

from tui_support import make_app, rows, settle

SIZE = (120, 36)


def counter_ready(app) -> bool:
    return app.screen.__class__.__name__ == "CounterScreen"


async def type_into(pilot, text: str) -> None:
    await pilot.press(*text) if text else None
    await pilot.press("enter")


async def test_a_known_customer_a_serial_less_product_and_enter(org_store):
    app = make_app(org_store, login="jdoe")
    app.mode = "counter"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: counter_ready(app))
        await type_into(pilot, "+44 20 7946 0001")  # Ada, typed as on her card
        await type_into(pilot, "")  # no name needed
        await type_into(pilot, "")  # no product
        await type_into(pilot, "The kettle switched itself off. It smelled of burning")
        await settle(pilot, lambda: app.screen.query_one("#result").display)
        shown = str(app.screen.query_one("#result").render())
        assert "CAS-LOC-000005" in shown and "Give this number to the customer" in shown
        assert app.screen.query_one("#contact").value == ""  # ready for the next customer
    assert rows(org_store, "SELECT c.title, c.origin, c.case_type, cu.name FROM cases c JOIN customers cu "
                           "ON cu.id = c.customer_id WHERE c.number = 'CAS-LOC-000005'") == [
        ("The kettle switched itself off", "store", "complaint", "Ada Lovelace")]


async def test_a_new_customer_needs_a_name_and_is_then_created(org_store):
    app = make_app(org_store, login="jdoe")
    app.mode = "counter"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: counter_ready(app))
        await type_into(pilot, "grace@navy.example")
        await type_into(pilot, "")
        await type_into(pilot, "")
        await type_into(pilot, "Screen cracked on arrival")
        await settle(pilot, lambda: app.screen.query_one("#error-name").display)
        assert "type their name" in str(app.screen.query_one("#error-name").render())
        assert app.focused.id == "name"
        assert rows(org_store, "SELECT count(*) FROM cases") == [(4,)]  # nothing written
        await pilot.press(*"Grace Hopper")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: "CAS-LOC-000005" in str(app.screen.query_one("#result").render()))
    assert rows(org_store, "SELECT cu.name, cu.email FROM cases c JOIN customers cu ON cu.id = c.customer_id "
                           "WHERE c.number = 'CAS-LOC-000005'") == [("Grace Hopper", "grace@navy.example")]


async def test_clerks_get_the_counter_by_role(org_store):
    conn = sqlite3.connect(org_store)
    conn.execute("UPDATE agents SET role = 'clerk' WHERE login = 'jdoe'")
    conn.commit()
    conn.close()
    app = make_app(org_store, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: counter_ready(app))


def test_counter_snapshot(snap_compare, fixed_store):
    async def run_before(pilot):
        await settle(pilot, lambda: counter_ready(pilot.app))
        await type_into(pilot, "ada@example.org")
        await type_into(pilot, "")
        await type_into(pilot, "")
        await type_into(pilot, "Router lost its settings after the power cut")
        await settle(pilot, lambda: pilot.app.screen.query_one("#result").display)
        for widget in pilot.app.screen.query("Input"):
            widget.cursor_blink = False
        await pilot.pause()

    app = make_app(fixed_store)
    app.mode = "counter"
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)

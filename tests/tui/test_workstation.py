"""The workstation driven from the keyboard (pilot): keys in, store state asserted."""

from __future__ import annotations


from tui_support import make_app, rows, settle, workstation_ready

SIZE = (120, 36)


async def test_the_queue_shows_my_cases_and_the_first_is_open(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        screen = app.screen
        assert screen.counts["mine"] == 2  # the resolved one is not active
        assert screen.counts["unassigned"] == 1
        queue = screen.query_one("#queue")
        assert [queue.rows[i].number for i in range(queue.total)] == ["CAS-LOC-000001", "CAS-LOC-000002"]
        assert screen.detail.fields["number"] == "CAS-LOC-000001"
        await pilot.press("j")
        await settle(pilot, lambda: screen.detail.fields["number"] == "CAS-LOC-000002")
        await pilot.press("k")
        await settle(pilot, lambda: screen.detail.fields["number"] == "CAS-LOC-000001")


async def test_add_a_note(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("a")
        await pilot.press(*"Asked for the router logs")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: any(e.kind == "note" for e in app.screen.detail.timeline))
    notes = rows(org_store, "SELECT a.body, g.login FROM activities a JOIN agents g ON g.id = a.author_id "
                            "JOIN cases c ON c.id = a.case_id WHERE a.kind = 'note' AND c.number = 'CAS-LOC-000001'")
    assert notes == [("Asked for the router logs", "jdoe")]


async def test_resolve_then_reopen(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("j")  # CAS-LOC-000002
        await settle(pilot, lambda: app.screen.detail.fields["number"] == "CAS-LOC-000002")
        await pilot.press("r")
        await pilot.press(*"Replaced the lid hinge")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.screen.counts.get("mine") == 1)
        assert rows(org_store, "SELECT state, status_reason, resolution FROM cases WHERE number = 'CAS-LOC-000002'") == [
            ("resolved", "problem_solved", "Replaced the lid hinge")]
        # reopen it from "Recently resolved"
        await pilot.press("v")
        await pilot.press("end")  # the last view: Recently resolved
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen.detail is not None and app.screen.detail.fields["state"] == "resolved")
        assert app.screen.detail.fields["number"] == "CAS-LOC-000002"  # most recently resolved first
        await pilot.press("o")
        await pilot.press(*"Lid broke again")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.screen.counts.get("mine") == 2)
    assert rows(org_store, "SELECT state, status_reason, reopen_count FROM cases WHERE number = 'CAS-LOC-000002'") == [
        ("active", "in_progress", 1)]


async def test_an_illegal_transition_is_refused_and_says_what_is_allowed(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("v", "end", "enter")
        await settle(pilot, lambda: app.screen.detail.fields["number"] == "CAS-LOC-000003")
        before = rows(org_store, "SELECT * FROM cases ORDER BY number")
        await pilot.press("s")  # change status of a resolved case
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any("CAS-LOC-000003 is resolved (information provided): you can reopen" in m for m in messages), messages
        assert app.screen.__class__.__name__ == "WorkstationScreen"  # no dialog was opened
    assert rows(org_store, "SELECT * FROM cases ORDER BY number") == before


async def test_a_refusal_keeps_the_dialog_and_what_was_typed(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("r")
        await pilot.press("ctrl+s")  # no resolution text
        await settle(pilot)
        dialog = app.screen
        error = dialog.query_one("#error-resolution")
        assert error.display and "needs a resolution" in str(error.render())
    assert rows(org_store, "SELECT state FROM cases WHERE number = 'CAS-LOC-000001'") == [("active",)]


async def test_assign_to_a_queue_member(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("v", "down", "down", "enter")  # Unassigned
        await settle(pilot, lambda: app.screen.detail.fields["number"] == "CAS-LOC-000004")
        await pilot.press("w")
        await settle(pilot, lambda: app.screen.query("#owner") and app.screen.query_one("#owner").option_count > 1)
        await pilot.press("down")  # (nobody) -> jdoe
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.screen.counts.get("unassigned") == 0)
    assert rows(org_store, "SELECT g.login FROM cases c JOIN agents g ON g.id = c.owner_id "
                           "WHERE c.number = 'CAS-LOC-000004'") == [("jdoe",)]


async def test_new_case_finds_the_customer_as_you_type(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("n")
        await pilot.press(*"lovel")
        await settle(pilot, lambda: app.screen.query_one("#customer-hits").option_count == 1)
        await pilot.press("enter")  # take the hit, move to the title
        assert app.screen.picked[1] == "Ada Lovelace"
        await pilot.press("ctrl+s")  # no title yet
        await settle(pilot)
        title_error = app.screen.query_one("#error-title")
        assert title_error.display and "must not be empty" in str(title_error.render())
        await pilot.press(*"Smart plug offline")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen")
        assert any("Created CAS-LOC-000005" in n.message for n in app._notifications)
    assert rows(org_store, "SELECT c.title, cu.name, c.origin FROM cases c JOIN customers cu ON cu.id = c.customer_id "
                           "WHERE c.number = 'CAS-LOC-000005'") == [("Smart plug offline", "Ada Lovelace", "phone")]


async def test_quick_filter_narrows_the_queue_and_escape_clears_it(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("v", "down", "down", "down", "enter")  # All active: 3 cases
        await settle(pilot, lambda: app.screen.query_one("#queue").total == 3)
        await pilot.press("slash", *"kettle")
        await settle(pilot, lambda: app.screen.query_one("#queue").total == 1)
        queue = app.screen.query_one("#queue")
        assert queue.rows[0].number == "CAS-LOC-000002"
        assert "filter “kettle”" in str(app.screen.query_one("#queue-title").render())
        await pilot.press("enter")  # back to the list, the filter stays
        assert app.focused is queue
        await pilot.press("slash", "escape")
        await settle(pilot, lambda: app.screen.query_one("#queue").total == 3)
        assert app.focused is app.screen.query_one("#queue")


async def test_sort_cycles_through_newest_and_oldest_first(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("v", "down", "down", "down", "enter")  # All active
        queue = app.screen.query_one("#queue")
        await settle(pilot, lambda: queue.total == 3 and len(queue.rows) == 3)
        assert [queue.rows[i].number for i in range(3)] == ["CAS-LOC-000001", "CAS-LOC-000002", "CAS-LOC-000004"]
        await pilot.press("t")
        await settle(pilot, lambda: len(queue.rows) == 3 and queue.rows[0].number == "CAS-LOC-000004")
        assert [queue.rows[i].number for i in range(3)] == ["CAS-LOC-000004", "CAS-LOC-000002", "CAS-LOC-000001"]
        assert "newest first" in str(app.screen.query_one("#queue-title").render())
        await pilot.press("t")
        await settle(pilot, lambda: len(queue.rows) == 3 and queue.rows[0].number == "CAS-LOC-000001")
        assert [queue.rows[i].number for i in range(3)] == ["CAS-LOC-000001", "CAS-LOC-000002", "CAS-LOC-000004"]
        assert "oldest first" in str(app.screen.query_one("#queue-title").render())


async def test_new_case_for_a_new_customer_created_inline(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("n")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "NewCaseForm")
        await pilot.press(*"grace@navy.example")
        await settle(pilot, lambda: app.screen.query_one("#new-customer").has_class("shown"))
        await pilot.press("enter")  # to the new customer's name
        assert app.focused.id == "new-name"
        await pilot.press(*"Grace Hopper", "tab")
        await pilot.press(*"Compiler crashes")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen")
    assert rows(org_store, "SELECT c.title, cu.name, cu.email FROM cases c JOIN customers cu ON cu.id = c.customer_id "
                           "WHERE c.number = 'CAS-LOC-000005'") == [("Compiler crashes", "Grace Hopper", "grace@navy.example")]


async def test_new_case_offers_the_customers_assets(org_store):
    from datetime import date

    from caseterm.services import customers
    from caseterm.services.lookup import agent_by_login, customer_by_key
    from caseterm.store.models import Product
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(org_store)
    with store.uow() as uow:
        admin = agent_by_login(uow, "admin")
        kettle = uow.create(Product(sku="NV-KT-1", name="Brisk Kettle", unit_price="39.99"), admin.id, "seed")
        customers.register_asset(uow, admin, customer=customer_by_key(uow, "ada@example.org"), product=kettle,
                                 serial_number="KT123", purchase_date=date(2026, 1, 5))
    store.close()
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("n")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "NewCaseForm")
        await pilot.press(*"ada@example.org")
        await settle(pilot, lambda: app.screen.query_one("#customer-hits").option_count == 1)
        await pilot.press("enter")
        await settle(pilot, lambda: any("KT123" in str(label) for label, _ in app.screen.query_one("#product")._options))
        app.screen.query_one("#product").value = next(v for label, v in app.screen.query_one("#product")._options
                                                     if "KT123" in str(label))
        await pilot.press(*"Kettle leaks")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen")
    assert rows(org_store, "SELECT s.serial_number, p.name FROM cases c JOIN assets s ON s.id = c.asset_id "
                           "JOIN products p ON p.id = c.product_id WHERE c.number = 'CAS-LOC-000005'") == [
        ("KT123", "Brisk Kettle")]


async def test_customer_360_from_the_case_and_back_to_another_case(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("u")  # Ada's 360: CAS-LOC-000001 (open) then CAS-LOC-000003 (resolved)
        await settle(pilot, lambda: app.screen.__class__.__name__ == "Customer360Screen"
                     and "Ada Lovelace" in str(app.screen.query_one("#c360-title").render()))
        await pilot.press("j", "enter")  # the resolved one, not in "My active cases"
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen"
                     and app.screen.detail.fields["number"] == "CAS-LOC-000003")


async def test_find_a_customer_and_open_their_360(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("f", *"builder")
        await settle(pilot, lambda: app.screen.query("#hits") and app.screen.query_one("#hits").option_count == 1)
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "Customer360Screen"
                     and "Bob Builder" in str(app.screen.query_one("#c360-title").render()))
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen")


async def test_help_lists_every_binding_with_its_id(org_store):
    app = make_app(org_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("f1")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")
        table = app.screen.query_one("DataTable")
        ids = {table.get_row_at(i)[2] for i in range(table.row_count)}
        assert {"case.note", "case.resolve", "case.new", "queue.down", "queue.filter", "app.quit", "app.help"} <= ids
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen")


async def test_keys_are_remapped_from_config_and_the_theme_choice_is_saved(org_store, tmp_path, monkeypatch):
    from caseterm import config
    from caseterm.clock import FixedClock
    from caseterm.tui.app import CasetermApp
    from tui_support import NOW

    monkeypatch.setenv("CASETERM_CONFIG", str(tmp_path / "config.toml"))
    app = CasetermApp(org_store, "jdoe", clock=FixedClock(NOW), theme="caseterm-dark",
                      keymap={"case.note": "ctrl+n"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("ctrl+n")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "TextForm")
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen")
        app.switch_theme("caseterm-high-contrast")
        assert app.theme == "caseterm-high-contrast"
    assert config.load_settings().theme == "caseterm-high-contrast"
    assert 'theme = "caseterm-high-contrast"' in (tmp_path / "config.toml").read_text()

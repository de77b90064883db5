"""Escalating the open case (E) and a supervisor's bulk reassignment of marked cases
(space marks, w assigns them all), from the keyboard."""

from __future__ import annotations

import pytest
from tui_support import make_app, rows, settle

SIZE = (130, 36)
OPS = '''
[[calendar]]
name = "always"
time_zone = "UTC"
hours = { mon-sun = ["00:00-24:00"] }

[[queue]]
name = "Returns"
members = ["jdoe"]
escalate_to = "Supervisors"

[[queue]]
name = "Supervisors"
members = ["boss"]
'''


@pytest.fixture(autouse=True)
def _steady(monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture
def ops_store(org_store):
    from caseterm.services import ops
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(org_store)
    assert ops.apply_text(store.uow, "admin", OPS).applied
    store.close()
    return org_store


def queue_lines(app) -> list[str]:
    from caseterm.tui.widgets.case_list import CaseList

    queue = app.screen.query_one(CaseList)
    return [queue.render_line(y).text for y in range(queue.size.height) if "CAS-" in queue.render_line(y).text]


def notices(app, title: str) -> list[str]:
    return [n.message for n in app._notifications if n.title == title]


async def test_e_escalates_the_open_case_with_a_reason(ops_store):
    app = make_app(ops_store, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen" and app.screen.detail)
        number = app.screen.detail.fields["number"]
        assert app.screen.detail.fields["queue"] == "Returns"
        await pilot.press("E")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "TextForm")
        await pilot.press("ctrl+s")  # no reason: refused, naming the field
        error = app.screen.query_one("#error-reason")  # beside the Reason field
        await settle(pilot, lambda: error.display)
        assert str(error.content) == "must not be empty"
        await pilot.press(*"customer threatens to cancel")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: notices(app, number))
        assert notices(app, number) == ["Escalated to Supervisors by jdoe: customer threatens to cancel; "
                                        "assigned to boss: load 0/10"]
        # it is boss's now, so it leaves jdoe's own view
        await settle(pilot, lambda: queue_lines(app) and not any(number in line for line in queue_lines(app)))
    assert rows(ops_store, "SELECT q.name, a.login, c.escalated FROM cases c JOIN queues q ON q.id = c.queue_id "
                           "JOIN agents a ON a.id = c.owner_id WHERE c.number = ?", [number]) == [
        ("Supervisors", "boss", 1)]


async def test_a_supervisor_marks_cases_and_hands_them_to_one_agent(ops_store):
    app = make_app(ops_store, login="boss")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen" and app.screen.counts)
        views = app.screen.query_one("#view-list")
        views.highlighted = next(i for i in range(views.option_count) if views.get_option_at_index(i).id == "all")
        await settle(pilot, lambda: len(queue_lines(app)) == 3)  # the three active cases
        first = queue_lines(app)
        await pilot.press("space", "space")  # marks the first two cases (the cursor moves on)
        await settle(pilot, lambda: "2 marked" in str(app.screen.query_one("#queue-title").content))
        marked = [line[1:].split()[0] for line in queue_lines(app) if line.startswith("•")]
        assert marked == [first[0].split()[0], first[1].split()[0]]
        await pilot.press("w")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "AssignForm")
        assert app.screen.title_text == "Assign 2 marked cases to one agent"
        app.screen.query_one("#queue").value = ""  # list every agent, not just the queue's members
        owners = app.screen.query_one("#owner")
        await settle(pilot, lambda: owners.option_count == 3)  # admin, boss, jdoe
        options = [str(owners.get_option_at_index(i).prompt) for i in range(owners.option_count)]
        assert not any("nobody" in o for o in options)  # a bulk reassignment names an owner
        owners.highlighted = next(i for i, o in enumerate(options) if o.startswith("boss"))
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: notices(app, "Bulk reassignment"))
        assert notices(app, "Bulk reassignment") == ["2 case(s) assigned to boss"]
        await settle(pilot, lambda: "marked" not in str(app.screen.query_one("#queue-title").content))
        assert not any(line.startswith("•") for line in queue_lines(app))
    assert rows(ops_store, "SELECT a.login FROM cases c JOIN agents a ON a.id = c.owner_id WHERE c.number IN (?, ?)",
                marked) == [("boss",), ("boss",)]


async def test_an_agent_is_told_bulk_reassignment_is_for_supervisors(ops_store):
    app = make_app(ops_store, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen" and queue_lines(app))
        await pilot.press("space", "w")
        await settle(pilot, lambda: notices(app, "Cannot assign in bulk"))
        assert notices(app, "Cannot assign in bulk")[0].startswith("Reassigning several cases at once is for "
                                                                  "supervisors.")
        assert app.screen.__class__.__name__ == "WorkstationScreen"

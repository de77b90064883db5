"""The queue's SLA column and the "SLA at risk" view, on cases routed and timed by an
operations file (fixed clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tui_support import NOW, make_app, settle

SIZE = (130, 36)
OPS = '''
[[calendar]]
name = "always"
time_zone = "UTC"
hours = { mon-sun = ["00:00-24:00"] }

[[queue]]
name = "Returns"
strategy = "least_active"
members = ["jdoe"]

[[sla]]
name = "standard"
calendar = "always"
targets = { 1 = { first_response = "1h", resolve = "4h" }, 2 = { first_response = "2h", resolve = "8h" }, 3 = { first_response = "4h", resolve = "24h" }, 4 = { first_response = "8h", resolve = "48h" } }

[[routing]]
name = "everything"
queue = "Returns"
'''


@pytest.fixture(autouse=True)
def _steady(monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture
def sla_store(org_store):
    """Three routed cases: overdue (P1 opened 6 h ago), first response due in 3 h (P3,
    an hour ago), and nothing due soon (P4, an hour ago)."""
    from caseterm.clock import FixedClock
    from caseterm.services import cases, ops
    from caseterm.services.lookup import agent_by_login, customer_by_key
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(org_store, clock=FixedClock(NOW - timedelta(hours=6)))
    assert ops.apply_text(store.uow, "admin", OPS).applied
    with store.uow() as uow:
        cases.create_case(uow, agent_by_login(uow, "boss"), customer=customer_by_key(uow, "ada@example.org"),
                          title="Overdue: router dead", priority=1)
    store.close()
    store = LocalStore.open(org_store, clock=FixedClock(NOW - timedelta(hours=1)))
    with store.uow() as uow:
        boss, bob = agent_by_login(uow, "boss"), customer_by_key(uow, "bob@example.org")
        cases.create_case(uow, boss, customer=bob, title="Soon: first answer due", priority=3)
        cases.create_case(uow, boss, customer=bob, title="Relaxed: low priority", priority=4)
    store.close()
    return org_store


def lines(app) -> list[str]:
    from caseterm.tui.widgets.case_list import CaseList

    queue = app.screen.query_one(CaseList)
    return [queue.render_line(y).text for y in range(queue.size.height)]


async def test_the_sla_column_counts_down_and_the_at_risk_view_lists_what_is_due(sla_store):
    app = make_app(sla_store, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen" and app.screen.counts)
        screen = app.screen
        assert screen.counts["at-risk"] == 1  # only the overdue case must be resolved within 4 h
        await settle(pilot, lambda: any(n.title == "SLA" for n in app._notifications))
        assert [n.message for n in app._notifications if n.title == "SLA"] == [
            "SLA: 1 breached and 1 at risk (CAS-LOC-000005). The SLA at risk view lists them."]
        await settle(pilot, lambda: any("Overdue" in line for line in lines(app)))
        by_title = {w: line for line in lines(app) for w in ("Overdue", "Soon", "Relaxed", "Kettle lid") if w in line}
        assert by_title["Overdue"].split()[-2] == "-5h"  # first response was due 5 h ago
        assert by_title["Soon"].split()[-2] == "3h"
        assert by_title["Relaxed"].split()[-2] == "7h"
        assert by_title["Kettle lid"].split()[-2:] == ["jdoe", "2d"]  # made before the SLAs: owner, no countdown, age
        views = screen.query_one("#view-list")
        views.highlighted = next(i for i in range(views.option_count) if views.get_option_at_index(i).id == "at-risk")
        await settle(pilot, lambda: [line for line in lines(app) if "CAS-" in line] and
                     all("Overdue" in line for line in lines(app) if "CAS-" in line))
        await settle(pilot, lambda: screen.detail is not None)
        assert "first response by 2026-11-25 04:00 (5h overdue) · resolve by 2026-11-25 07:00 (2h overdue)" in \
            _plain(screen)


def _plain(screen) -> str:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(screen.query_one("#case-header").content)
    return console.export_text()


def test_snapshot_of_the_at_risk_view_with_the_sla_column_and_timers(snap_compare, sla_store):
    import shutil
    from pathlib import Path

    fixed = Path("/tmp/caseterm-snapshots/sla.sqlite")
    fixed.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{fixed}{suffix}").unlink(missing_ok=True)
    shutil.copy(sla_store, fixed)

    async def run_before(pilot):
        app = pilot.app
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen" and app.screen.counts)
        await settle(pilot, lambda: any("Overdue" in line for line in lines(app)))
        views = app.screen.query_one("#view-list")
        views.highlighted = next(i for i in range(views.option_count) if views.get_option_at_index(i).id == "at-risk")
        await settle(pilot, lambda: app.screen.detail is not None and "Overdue" in app.screen.detail.fields["title"]
                     and app.screen.suggestions_for == app.screen.detail.fields["number"])
        app.clear_notifications()  # the SLA sweep's notice ("1 breached …") is checked in the test above
        await settle(pilot)

    assert snap_compare(make_app(fixed, login="jdoe"), run_before=run_before, terminal_size=SIZE)


async def test_e_routes_the_open_case_by_the_rules(sla_store):
    from tui_support import rows

    app = make_app(sla_store, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen" and app.screen.detail)
        number = app.screen.detail.fields["number"]  # CAS-LOC-000001, made before the rules, owned by jdoe
        await pilot.press("e")
        await settle(pilot, lambda: any(n.title == number for n in app._notifications))
        [notice] = [n.message for n in app._notifications if n.title == number]
        assert notice.startswith("Routed to Returns by rule 'everything'; assigned to jdoe")
    assert rows(sla_store, "SELECT count(*) FROM activities a JOIN cases c ON c.id = a.case_id "
                           "WHERE c.number = ? AND a.event = 'routed'", [number]) == [(1,)]

"""Snapshots of the knowledge screens (fixed clock, fixed store path, 120x36).

Update after an intended change with ``pytest tests/tui/test_kb_snapshots.py --snapshot-update``
and look at snapshot_report.html first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tui_support import add_demo_products_and_articles, make_app, settle, workstation_ready

SIZE = (120, 36)


@pytest.fixture(autouse=True)
def _steady(monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture
def fixed_kb_store(org_store) -> Path:
    """The org store with the demo products and all shipped articles, at a fixed path."""
    add_demo_products_and_articles(org_store)
    target = Path("/tmp/caseterm-snapshots/kb.sqlite")
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(f"{target}.kb-index", ignore_errors=True)
    shutil.copy(org_store, target)
    return target


def _no_blink(app) -> None:
    from textual.widgets import Input, TextArea

    for widget in [*app.screen.query(Input), *app.screen.query(TextArea)]:
        widget.cursor_blink = False


def test_knowledge_pane_with_results_and_an_article(snap_compare, fixed_kb_store):
    async def run_before(pilot):
        app = pilot.app
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("ctrl+k")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "KbScreen")
        app.screen.query_one("#kb-query").value = "refund"
        results = app.screen.query_one("#kb-results")
        await settle(pilot, lambda: results.option_count > 0 and "refund" in str(results.get_option_at_index(0).prompt))
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen.article_number is not None)
        _no_blink(app)
        await pilot.pause()

    assert snap_compare(make_app(fixed_kb_store), run_before=run_before, terminal_size=SIZE)


def test_article_editor_with_preview_and_an_error(snap_compare, fixed_kb_store):
    async def run_before(pilot):
        app = pilot.app
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("f6")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "KbDeskScreen")
        await pilot.press("f2")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "ArticleEditorScreen"
                     and app.screen.saved_values is not None)
        await pilot.press(*"Reset the grinder burrs")
        app.screen.query_one("#expiry").value = "30/06/2027"
        app.screen.query_one("#ed-body").load_text("## Steps\n\n1. Unplug the **grinder**.\n2. Lift the burrs out.\n")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.screen.query_one("#error-expiry").display
                     and "Lift the burrs" in app.screen.query_one("#ed-rendered").source)
        _no_blink(app)
        await pilot.pause(0.3)

    assert snap_compare(make_app(fixed_kb_store), run_before=run_before, terminal_size=SIZE)


def test_case_with_suggested_articles_and_similar_cases(snap_compare, fixed_kb_store):
    from datetime import timedelta

    from caseterm.clock import FixedClock
    from caseterm.services import cases
    from caseterm.services.lookup import agent_by_login, customer_by_key
    from caseterm.store.uow import LocalStore
    from tui_support import NOW

    store = LocalStore.open(fixed_kb_store, clock=FixedClock(NOW - timedelta(days=1)))
    with store.uow() as uow:
        jdoe = agent_by_login(uow, "jdoe")
        old = cases.create_case(uow, jdoe, customer=customer_by_key(uow, "bob@example.org"),
                                title="Wi-Fi drops every evening since the router update",
                                description="The mesh router loses Wi-Fi around 8 pm.")
        cases.resolve_case(uow, jdoe, old, "Moved the mesh to channel 36 and turned off automatic channel selection")
    store.close()

    async def run_before(pilot):
        app = pilot.app
        await settle(pilot, lambda: workstation_ready(app) and app.screen.suggestions_for == "CAS-LOC-000001")
        await pilot.press("1")  # link the first suggestion
        await settle(pilot, lambda: "✓ linked" in app.screen.query_one("#detail").suggestions_text)
        await pilot.press("d")  # the case pane, to read the suggestions
        app.clear_notifications()
        await settle(pilot)

    assert snap_compare(make_app(fixed_kb_store), run_before=run_before, terminal_size=(120, 44))

"""Snapshots of the knowledge screens (fixed clock, fixed store path, 120x36).

Update after an intended change with ``pytest tests/tui/test_kb_snapshots.py --snapshot-update``
and look at snapshot_report.html first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tui_support import make_app, settle, workstation_ready

SIZE = (120, 36)


@pytest.fixture(autouse=True)
def _steady(monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture
def fixed_kb_store(org_store) -> Path:
    """The org store with the shipped articles that need no product, at a fixed path."""
    from caseterm.datafiles import data_dir
    from caseterm.services import kb
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(org_store)
    kb.import_paths(store.uow, "admin", [data_dir() / "kb"])
    store.close()
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

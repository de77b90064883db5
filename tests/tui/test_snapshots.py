"""Snapshots of the main screens (fixed clock, fixed store at a fixed path, 120x36).

Update after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at snapshot_report.html first."""

from __future__ import annotations

import pytest
from tui_support import make_app, settle, workstation_ready

SIZE = (120, 36)


@pytest.fixture(autouse=True)
def _steady(monkeypatch):
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


def _no_blink(app) -> None:
    from textual.widgets import Input, TextArea

    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    for widget in app.screen.query(TextArea):
        widget.cursor_blink = False


async def _open_case(pilot) -> None:
    await settle(pilot, lambda: workstation_ready(pilot.app))
    await pilot.press("j")
    await settle(pilot, lambda: pilot.app.screen.detail.fields["number"] == "CAS-LOC-000002")
    await pilot.press("k")
    await settle(pilot, lambda: pilot.app.screen.detail.fields["number"] == "CAS-LOC-000001"
                 and pilot.app.screen.suggestions_for == "CAS-LOC-000001")


@pytest.mark.parametrize("theme", ["caseterm-dark", "caseterm-light", "caseterm-high-contrast"],
                         ids=["dark", "light", "high-contrast"])
def test_workstation_with_a_case_open(snap_compare, fixed_store, theme):
    assert snap_compare(make_app(fixed_store, theme=theme), run_before=_open_case, terminal_size=SIZE)


def test_new_case_form_with_a_validation_error(snap_compare, fixed_store):
    async def run_before(pilot):
        await settle(pilot, lambda: workstation_ready(pilot.app))
        await pilot.press("n")
        await pilot.press(*"lovel")
        await settle(pilot, lambda: pilot.app.screen.query_one("#customer-hits").option_count == 1)
        await pilot.press("enter")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: pilot.app.screen.query_one("#error-title").display)
        _no_blink(pilot.app)
        await pilot.pause()

    assert snap_compare(make_app(fixed_store), run_before=run_before, terminal_size=SIZE)

"""Helpers shared by the TUI tests (imported by name: tests run in importlib mode)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def make_app(db, login: str = "jdoe", theme: str = "caseterm-dark"):
    from caseterm.clock import FixedClock
    from caseterm.tui.app import CasetermApp

    return CasetermApp(db, login, clock=FixedClock(NOW), theme=theme, remember_theme=False)


async def settle(pilot, predicate=None, tries: int = 60) -> None:
    """Let workers finish and the screen update (until ``predicate()`` holds, if given)."""
    for _ in range(tries):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if predicate is None or predicate():
            if predicate is None:
                return
            await pilot.pause()
            return
    raise AssertionError("the screen did not reach the expected state")


def workstation_ready(app) -> bool:
    from caseterm.tui.screens.workstation import WorkstationScreen

    screen = app.screen
    return isinstance(screen, WorkstationScreen) and screen.detail is not None


def rows(path, sql: str, params=()) -> list[tuple]:
    """What the store file holds, read with plain sqlite3 (the tests' ground truth)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()

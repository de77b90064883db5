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
    from textual.worker import WorkerCancelled

    for _ in range(tries):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:
            pass  # an exclusive worker replaced by a newer one (by design); wait again
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


def add_demo_products_and_articles(path) -> None:
    """Every product of data/products.csv and all shipped articles (published) into the store."""
    import csv
    from decimal import Decimal

    from caseterm.datafiles import data_dir
    from caseterm.services import kb
    from caseterm.services.lookup import agent_by_login
    from caseterm.store.models import Product
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(path)
    with store.uow() as uow, open(data_dir() / "products.csv", newline="", encoding="utf-8") as handle:
        admin = agent_by_login(uow, "admin")
        for row in csv.DictReader(handle):
            uow.create(Product(sku=row["sku"], name=row["name"], unit_price=Decimal(row["unit_price"])), admin.id,
                       "seed")
    report = kb.import_paths(store.uow, "admin", [data_dir() / "kb"])
    store.close()
    assert not report.skipped, report.skipped

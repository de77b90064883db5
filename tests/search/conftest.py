"""Fixtures for the knowledge-base search tests.

``kb_store``     a store (module-wide, read-only) with the products of data/products.csv and
                 the 64 articles of data/kb imported (published) through the services.
``products``     the same products in the test's own ``store`` (from tests/conftest.py).
``publish``      ``publish(title=…, body=…, **fields)`` → a published article in ``store``.
Every test ends with kb_index.close_all(), so no searcher or connection outlives it.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def add_products(store) -> None:
    from caseterm.services.lookup import agent_by_login
    from caseterm.store.models import Product

    with store.uow() as uow:
        admin = agent_by_login(uow, "admin")
        with open(DATA / "products.csv", newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                uow.create(Product(sku=row["sku"], name=row["name"], category=row["category"],
                                   unit_price=Decimal(row["unit_price"])), admin.id, "seed")


def import_demo_kb(store) -> None:
    from caseterm.services import kb

    report = kb.import_paths(store.uow, "admin", [DATA / "kb"])
    assert not report.skipped, report.skipped
    assert len(report.created) == 64


@pytest.fixture(autouse=True)
def _close_searchers():
    yield
    from caseterm.search import kb_index

    kb_index.close_all()


@pytest.fixture(scope="module")
def kb_store(tmp_path_factory) -> Path:
    from caseterm.clock import FixedClock
    from caseterm.store.uow import LocalStore

    path = tmp_path_factory.mktemp("kb") / "kb.sqlite"
    store = LocalStore.open(path, clock=FixedClock(NOW))  # tests/conftest.py's instant
    try:
        add_products(store)
        import_demo_kb(store)
    finally:
        store.close()
    return path


@pytest.fixture
def products(store, world):
    add_products(store)


@pytest.fixture
def publish(store, world, products):
    from caseterm.services import kb

    def make(title: str, body: str, **fields):
        with store.uow() as uow:
            article = kb.create_article(uow, world["agent"], title=title, body=body, **fields)
            kb.submit_for_review(uow, world["agent"], article)
            kb.approve(uow, world["supervisor"], article)
        return article

    return make

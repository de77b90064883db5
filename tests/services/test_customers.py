"""Customers, assets and orders."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlmodel import select

from caseterm.errors import NotFound, ValidationError
from caseterm.services import customers
from caseterm.services.lookup import customer_by_key
from caseterm.store.models import OutboxOp, Product, SalesOrderLine


@pytest.fixture
def kettle(store, world):
    with store.uow() as uow:
        return uow.create(Product(sku="NV-KT-1001", name="Kettle", category="Kitchen", unit_price=Decimal("39.99"),
                                  warranty_months=24), world["admin"].id, "create_product")


def test_create_customer_normalises_and_validates(store, world):
    with store.uow() as uow:
        c = customers.create_customer(uow, world["agent"], name="  Grace   Hopper ", email="Grace@Navy.example",
                                      phone="+1 (555) 010-2030", country="us", tier="gold")
    assert (c.name, c.email, c.phone_digits, c.country, c.tier) == (
        "Grace Hopper", "grace@navy.example", "15550102030", "US", "gold")
    with store.uow() as uow:
        with pytest.raises(ValidationError, match="already belongs"):
            customers.create_customer(uow, world["agent"], name="Other", email="grace@navy.example")
        with pytest.raises(ValidationError) as err:
            customers.create_customer(uow, world["agent"], name="X", email="not-an-email")
        assert err.value.field == "email"
        with pytest.raises(ValidationError) as err:
            customers.create_customer(uow, world["agent"], name="X", phone="call me maybe")
        assert err.value.field == "phone"
        with pytest.raises(ValidationError, match="organisation"):
            customers.create_customer(uow, world["agent"], name="X", parent_id=world["ada"].id)


def test_find_or_create_matches_email_then_phone(store, world):
    with store.uow() as uow:
        same, created = customers.find_or_create_customer(uow, world["agent"], name="A. Lovelace", email="ADA@example.org")
        assert (same.id, created) == (world["ada"].id, False)
        by_phone, created = customers.find_or_create_customer(uow, world["agent"], name="Ada", phone="+442079460001")
        assert (by_phone.id, created) == (world["ada"].id, False)
        fresh, created = customers.find_or_create_customer(uow, world["agent"], name="New Person", email="new@example.org")
        assert created and fresh.email == "new@example.org"


def test_customer_lookup_by_key(store, world):
    with store.uow() as uow:
        assert customer_by_key(uow, "ada@example.org").id == world["ada"].id
        assert customer_by_key(uow, "+44 (20) 7946-0001").id == world["ada"].id
        assert customer_by_key(uow, str(world["bob"].id)).id == world["bob"].id
        with pytest.raises(NotFound, match="customers find"):
            customer_by_key(uow, "nobody@example.org")
        with pytest.raises(ValidationError, match="not an email address, phone number or customer id"):
            customer_by_key(uow, "ada")


def test_assets_carry_their_warranty_end(store, world, kettle):
    with store.uow() as uow:
        asset = customers.register_asset(uow, world["agent"], customer=world["ada"], product=kettle,
                                         serial_number=" KT123 ", purchase_date=date(2024, 2, 29))
    assert asset.serial_number == "KT123"
    assert asset.warranty_end == date(2026, 2, 28)  # 24 months after a leap day


def test_orders_total_exactly_and_refuse_bad_lines(store, world, kettle):
    with store.uow() as uow:
        order = customers.create_order(
            uow, world["agent"], customer=world["ada"], number="so-1001",
            lines=[(kettle, 3, None, ["A", "B", "C"]), (kettle, 1, Decimal("10.005"), [])],
            ordered_at=datetime(2026, 1, 2, tzinfo=timezone.utc),
        )
    assert order.number == "SO-1001"
    assert order.total == Decimal("129.98")  # 3 × 39.99 + 10.005 rounded half-up to 10.01
    with store.uow() as uow:
        lines = uow.session.exec(select(SalesOrderLine).where(SalesOrderLine.order_id == order.id)
                                 .order_by(SalesOrderLine.line_no)).all()
        assert [(l.quantity, l.unit_price, l.serials) for l in lines] == [
            (3, Decimal("39.99"), ["A", "B", "C"]), (1, Decimal("10.01"), [])]
        ops = uow.session.exec(select(OutboxOp).where(OutboxOp.entity.in_(["sales_orders", "sales_order_lines"]))).all()
        assert sorted(o.entity for o in ops) == ["sales_order_lines", "sales_order_lines", "sales_orders"]
        assert [o.data["total"] for o in ops if o.entity == "sales_orders"] == ["129.98"]
    with store.uow() as uow:
        with pytest.raises(ValidationError, match="already exists"):
            customers.create_order(uow, world["agent"], customer=world["ada"], number="SO-1001", lines=[(kettle, 1, None, [])])
        with pytest.raises(ValidationError) as err:
            customers.create_order(uow, world["agent"], customer=world["ada"], number="SO-1002", lines=[(kettle, 0, None, [])])
        assert err.value.field == "line 1 quantity"
        with pytest.raises(ValidationError, match="2 serials for a quantity of 1"):
            customers.create_order(uow, world["agent"], customer=world["ada"], number="SO-1003",
                                   lines=[(kettle, 1, None, ["A", "B"])])

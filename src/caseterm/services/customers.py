"""Customers, their assets and their orders."""

from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import select

from caseterm.domain import validate
from caseterm.domain.enums import CustomerKind, Tier
from caseterm.errors import ValidationError
from caseterm.services.lookup import get_row
from caseterm.store.models import Agent, Asset, Customer, Product, SalesOrder, SalesOrderLine
from caseterm.store.uow import UnitOfWork


def create_customer(
    uow: UnitOfWork,
    actor: Agent,
    *,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    kind: str = "person",
    address: str | None = None,
    postcode: str | None = None,
    city: str | None = None,
    country: str | None = None,
    tier: str = "standard",
    parent_id: uuid.UUID | None = None,
) -> Customer:
    """A new person or organisation. An email already used by another customer is refused."""
    email_value = validate.email("email", email)
    phone_value, digits = validate.phone("phone", phone)
    if email_value and uow.session.exec(
        select(Customer.id).where(Customer.email == email_value, Customer.deleted == False)  # noqa: E712
    ).first():
        raise ValidationError("email", f"{email_value} already belongs to another customer; find them instead")
    if parent_id is not None:
        parent = get_row(uow, Customer, parent_id, "organisation")
        if parent.kind != CustomerKind.ORGANISATION:
            raise ValidationError("organisation", f"{parent.name} is a person, not an organisation")
    country_value = validate.optional_line("country", country, 2)
    customer = Customer(
        kind=CustomerKind.parse(kind, "kind").value,
        name=validate.required_line("name", name, 200),
        email=email_value,
        phone=phone_value,
        phone_digits=digits,
        address=validate.optional_line("address", address, 300),
        postcode=validate.optional_line("postcode", postcode, 20),
        city=validate.optional_line("city", city, 100),
        country=country_value.upper() if country_value else None,
        tier=Tier.parse(tier, "tier").value,
        parent_id=parent_id,
    )
    return uow.create(customer, actor.id, "create_customer")


def find_or_create_customer(
    uow: UnitOfWork, actor: Agent, *, name: str, email: str | None = None, phone: str | None = None
) -> tuple[Customer, bool]:
    """The customer with this email (or, failing that, phone), or a new one. Returns (customer, created)."""
    email_value = validate.email("email", email)
    _, digits = validate.phone("phone", phone)
    for column, value in ((Customer.email, email_value), (Customer.phone_digits, digits)):
        if value:
            found = uow.session.exec(select(Customer).where(column == value, Customer.deleted == False)).first()  # noqa: E712
            if found is not None:
                return found, False
    return create_customer(uow, actor, name=name, email=email, phone=phone), True


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def register_asset(
    uow: UnitOfWork,
    actor: Agent,
    *,
    customer: Customer,
    product: Product,
    serial_number: str,
    purchase_date: date | None = None,
    location: str | None = None,
    order_line_id: uuid.UUID | None = None,
) -> Asset:
    """A product instance the customer owns; its warranty ends ``warranty_months`` after purchase."""
    serial = validate.required_line("serial number", serial_number, 80)
    asset = Asset(
        customer_id=customer.id,
        product_id=product.id,
        serial_number=serial,
        purchase_date=purchase_date,
        warranty_end=add_months(purchase_date, product.warranty_months) if purchase_date else None,
        location=validate.optional_line("location", location, 300),
        order_line_id=order_line_id,
    )
    return uow.create(asset, actor.id, "register_asset")


def create_order(
    uow: UnitOfWork,
    actor: Agent,
    *,
    customer: Customer,
    number: str,
    lines: list[tuple[Product, int, Decimal | None, list[str]]],
    ordered_at: datetime | None = None,
    channel: str = "store",
) -> SalesOrder:
    """A sales order with lines of (product, quantity, unit price or list price, serials)."""
    number_value = validate.required_line("order number", number, 40).upper()
    if uow.session.exec(select(SalesOrder.id).where(SalesOrder.number == number_value)).first():
        raise ValidationError("order number", f"{number_value} already exists")
    if not lines:
        raise ValidationError("lines", "an order needs at least one line")
    currency = lines[0][0].currency
    checked = []
    for line_no, (product, quantity, unit_price, serials) in enumerate(lines, start=1):
        qty = validate.positive_int(f"line {line_no} quantity", quantity, 10_000)
        price = validate.money(f"line {line_no} unit price", product.unit_price if unit_price is None else unit_price)
        if product.currency != currency:
            raise ValidationError(f"line {line_no}", f"{product.sku} is priced in {product.currency}, the order in {currency}")
        if len(serials) > qty:
            raise ValidationError(f"line {line_no} serials", f"{len(serials)} serials for a quantity of {qty}")
        checked.append((line_no, product, qty, price, list(serials)))
    order = SalesOrder(
        number=number_value,
        customer_id=customer.id,
        ordered_at=ordered_at or uow.now(),
        channel=validate.required_line("channel", channel, 16),
        currency=currency,
        total=sum((price * qty for _, _, qty, price, _ in checked), Decimal("0.00")),
    )
    uow.create(order, actor.id, "create_order")
    for line_no, product, qty, price, serials in checked:
        uow.create(
            SalesOrderLine(order_id=order.id, line_no=line_no, product_id=product.id, quantity=qty,
                           unit_price=price, serials=serials),
            actor.id,
            "create_order",
        )
    return order

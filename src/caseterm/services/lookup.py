"""Finding rows by what people type (numbers, logins, names, emails), with clear NotFound errors."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlmodel import func, select

from caseterm.domain.numbers import normalise_number
from caseterm.domain.text import looks_like_email, phone_digits
from caseterm.errors import NotFound, ValidationError
from caseterm.store.models import Agent, Case, Category, Customer, Product, Queue, SalesOrder, SyncedRow
from caseterm.store.uow import UnitOfWork

R = TypeVar("R", bound=SyncedRow)


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None


def get_row(uow: UnitOfWork, model: type[R], row_id: uuid.UUID | str, what: str) -> R:
    ident = row_id if isinstance(row_id, uuid.UUID) else parse_uuid(row_id)
    row = uow.session.get(model, ident) if ident else None
    if row is None or row.deleted:
        raise NotFound(f"No {what} with id {row_id}")
    return row


def case_by_number(uow: UnitOfWork, number: str) -> Case:
    value = normalise_number(number)
    case = uow.session.exec(select(Case).where(Case.number == value)).first()
    if case is None:
        ident = parse_uuid(number)
        case = uow.session.get(Case, ident) if ident else None
    if case is None or case.deleted:
        raise NotFound(f"No case {number}; check the number (for example CAS-LOC-000123) with 'caseterm cases list'")
    return case


def agent_by_login(uow: UnitOfWork, login: str) -> Agent:
    agent = uow.session.exec(select(Agent).where(func.lower(Agent.login) == login.strip().lower())).first()
    if agent is None or agent.deleted:
        known = uow.session.exec(select(Agent.login).where(Agent.deleted == False).order_by(Agent.login)).all()  # noqa: E712
        listed = ", ".join(known[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
        raise NotFound(f"No agent '{login}' in this store; known agents: {listed or 'none'}")
    if not agent.active:
        raise ValidationError("agent", f"'{login}' is deactivated")
    return agent


def queue_by_name(uow: UnitOfWork, name: str) -> Queue:
    queue = uow.session.exec(select(Queue).where(func.lower(Queue.name) == name.strip().lower())).first()
    if queue is None or queue.deleted:
        known = uow.session.exec(select(Queue.name).where(Queue.deleted == False).order_by(Queue.name)).all()  # noqa: E712
        raise NotFound(f"No queue '{name}'; queues: {', '.join(known) or 'none'}")
    return queue


def category_by_name(uow: UnitOfWork, name: str) -> Category:
    row = uow.session.exec(select(Category).where(func.lower(Category.name) == name.strip().lower())).first()
    if row is None or row.deleted:
        known = uow.session.exec(select(Category.name).where(Category.deleted == False).order_by(Category.name)).all()  # noqa: E712
        raise NotFound(f"No category '{name}'; categories: {', '.join(known) or 'none'}")
    return row


def product_by_sku(uow: UnitOfWork, sku: str) -> Product:
    row = uow.session.exec(select(Product).where(func.upper(Product.sku) == sku.strip().upper())).first()
    if row is None or row.deleted:
        raise NotFound(f"No product with SKU '{sku}'")
    return row


def order_by_number(uow: UnitOfWork, number: str) -> SalesOrder:
    row = uow.session.exec(select(SalesOrder).where(func.upper(SalesOrder.number) == number.strip().upper())).first()
    if row is None or row.deleted:
        raise NotFound(f"No sales order '{number}'")
    return row


def customer_by_key(uow: UnitOfWork, key: str) -> Customer:
    """A customer by id, email or phone: exactly one must match."""
    key = key.strip()
    ident = parse_uuid(key)
    if ident is not None:
        return get_row(uow, Customer, ident, "customer")
    if looks_like_email(key):
        rows = uow.session.exec(select(Customer).where(Customer.email == key.lower(), Customer.deleted == False)).all()  # noqa: E712
    elif len(phone_digits(key)) >= 6:
        rows = uow.session.exec(
            select(Customer).where(Customer.phone_digits == phone_digits(key), Customer.deleted == False)  # noqa: E712
        ).all()
    else:
        raise ValidationError("customer", f"'{key}' is not an email address, phone number or customer id")
    if not rows:
        raise NotFound(f"No customer with {key}; look them up with 'caseterm customers find' or create them first")
    if len(rows) > 1:
        raise ValidationError("customer", f"{len(rows)} customers match {key}; use the customer id instead")
    return rows[0]

"""The tables (DESIGN.md section 2), as SQLModel classes.

Every synced table carries ``id`` (UUIDv7, made where the row is created), ``version``
(bumped by the server; 0 = never synced), ``created_at``/``updated_at`` (UTC, from the
injected clock) and ``deleted`` (tombstone). Enumerated values are stored as their
string values (see ``caseterm.domain.enums``); money as ``Decimal``.

Schema changes need an Alembic revision in ``store/migrations/versions`` and a bump of
``store/schema.HEAD_REVISION``; ``tests/store/test_migrations.py`` checks both.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import BigInteger, Column, Index, Integer, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from caseterm.ids import uuid7
from caseterm.store.types import JsonText, Money, UtcDateTime


def _str(n: int, **kw: Any) -> Any:
    return Field(sa_type=String(n), **kw)


def _fk(target: str, **kw: Any) -> Any:
    return Field(default=None, foreign_key=target, **kw)


class SyncedRow(SQLModel):
    """Columns every synced table has."""

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    version: int = Field(default=0)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    deleted: bool = Field(default=False)


# --- people and things ------------------------------------------------------------------


class Customer(SyncedRow, table=True):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_email", "email"),
        Index("ix_customers_phone_digits", "phone_digits"),
        Index("ix_customers_name", "name"),
        Index("ix_customers_parent", "parent_id"),
    )

    kind: str = _str(16, default="person")
    name: str = _str(200)
    email: Optional[str] = _str(254, default=None)  # stored lower-case
    phone: Optional[str] = _str(40, default=None)
    phone_digits: Optional[str] = _str(40, default=None)  # for matching however typed
    address: Optional[str] = _str(300, default=None)
    postcode: Optional[str] = _str(20, default=None)
    city: Optional[str] = _str(100, default=None)
    country: Optional[str] = _str(2, default=None)
    parent_id: Optional[uuid.UUID] = _fk("customers.id")  # organisation a person belongs to
    tier: str = _str(16, default="standard")
    verification: Optional[dict] = Field(default=None, sa_type=JsonText)  # hashed facts only


class Product(SyncedRow, table=True):
    __tablename__ = "products"

    sku: str = _str(40, unique=True)
    name: str = _str(200)
    category: str = _str(80, default="")
    unit_price: Decimal = Field(sa_type=Money)
    currency: str = _str(3, default="EUR")
    returnable: bool = Field(default=True)
    return_window_days: int = Field(default=30)
    warranty_months: int = Field(default=24)
    active: bool = Field(default=True)


class SalesOrder(SyncedRow, table=True):
    __tablename__ = "sales_orders"

    number: str = _str(40, unique=True)
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    ordered_at: datetime = Field(sa_type=UtcDateTime)
    channel: str = _str(16, default="store")
    currency: str = _str(3, default="EUR")
    total: Decimal = Field(sa_type=Money)


class SalesOrderLine(SyncedRow, table=True):
    __tablename__ = "sales_order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    order_id: uuid.UUID = Field(foreign_key="sales_orders.id", index=True)
    line_no: int
    product_id: uuid.UUID = Field(foreign_key="products.id")
    quantity: int = Field(default=1)
    unit_price: Decimal = Field(sa_type=Money)
    serials: list = Field(default_factory=list, sa_type=JsonText)


class Asset(SyncedRow, table=True):
    __tablename__ = "assets"

    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    product_id: uuid.UUID = Field(foreign_key="products.id", index=True)
    serial_number: str = _str(80, index=True)
    purchase_date: Optional[date] = None
    warranty_end: Optional[date] = None
    location: Optional[str] = _str(300, default=None)
    order_line_id: Optional[uuid.UUID] = _fk("sales_order_lines.id")


# --- the service organisation --------------------------------------------------------------


class Agent(SyncedRow, table=True):
    __tablename__ = "agents"

    login: str = _str(64, unique=True)
    display_name: str = _str(200)
    email: Optional[str] = _str(254, default=None)
    role: str = _str(16, default="agent")
    skills: dict = Field(default_factory=dict, sa_type=JsonText)  # {"returns": 2, …}
    capacity: int = Field(default=10)  # active cases they can hold
    presence: str = _str(16, default="available")
    active: bool = Field(default=True)


class Queue(SyncedRow, table=True):
    __tablename__ = "queues"

    name: str = _str(80, unique=True)
    description: str = _str(300, default="")
    # from the operations file (domain/ops_file.py)
    email: Optional[str] = _str(254, default=None)  # mail to this address lands in the queue
    strategy: str = _str(16, default="least_active")  # domain.routing.STRATEGIES
    needs: dict = Field(default_factory=dict, sa_type=JsonText)  # skill -> minimum level
    escalate_to: Optional[str] = _str(80, default=None)  # the queue its cases escalate to (by name)


class QueueMember(SyncedRow, table=True):
    __tablename__ = "queue_members"
    __table_args__ = (UniqueConstraint("queue_id", "agent_id"),)

    queue_id: uuid.UUID = Field(foreign_key="queues.id", index=True)
    agent_id: uuid.UUID = Field(foreign_key="agents.id", index=True)


class Category(SyncedRow, table=True):
    __tablename__ = "categories"

    name: str = _str(80, unique=True)
    parent_id: Optional[uuid.UUID] = _fk("categories.id")


# --- service operations (the operations file, domain/ops_file.py) -------------------------------
# Conditions, hours and targets are kept as the file wrote them (JSON), so export gives the
# file back and the domain parses them the same way on every side.


class Skill(SyncedRow, table=True):
    __tablename__ = "skills"

    name: str = _str(40, unique=True)


class BusinessCalendar(SyncedRow, table=True):
    __tablename__ = "business_calendars"

    name: str = _str(80, unique=True)
    time_zone: str = _str(64)
    hours: dict = Field(default_factory=dict, sa_type=JsonText)  # {"mon-fri": ["09:00-17:00"]}
    holidays: list = Field(default_factory=list, sa_type=JsonText)  # ISO dates


class SlaPolicyRow(SyncedRow, table=True):
    __tablename__ = "sla_policies"

    name: str = _str(80, unique=True)
    position: int = Field(default=0)  # the first matching policy (lowest position) applies
    calendar: str = _str(80)
    conditions: dict = Field(default_factory=dict, sa_type=JsonText)
    targets: dict = Field(default_factory=dict, sa_type=JsonText)  # {"1": {"first_response": "1h", …}}
    warn_at: float = Field(default=0.75)
    pause: list = Field(default_factory=list, sa_type=JsonText)  # status reasons
    escalate_on_breach: bool = Field(default=False)  # a breach escalates the case (to its queue's escalate_to)


class RoutingRuleRow(SyncedRow, table=True):
    __tablename__ = "routing_rules"

    name: str = _str(80, unique=True)
    position: int = Field(default=0)  # the first matching rule (lowest position) routes
    conditions: dict = Field(default_factory=dict, sa_type=JsonText)
    queue_id: uuid.UUID = Field(foreign_key="queues.id")
    priority: Optional[int] = None


class EntitlementTemplate(SyncedRow, table=True):
    __tablename__ = "entitlement_templates"

    name: str = _str(80, unique=True)
    sla: Optional[str] = _str(80, default=None)
    cases: Optional[int] = None
    hours: Optional[int] = None
    channels: list = Field(default_factory=list, sa_type=JsonText)
    days: int = Field(default=365)


class Entitlement(SyncedRow, table=True):
    """What a customer is entitled to (granted from an EntitlementTemplate): valid from
    ``starts_on`` to ``ends_on`` on some channels, optionally for a number of cases, with
    the SLA policy its cases run under."""

    __tablename__ = "entitlements"

    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    name: str = _str(80)
    sla: Optional[str] = _str(80, default=None)
    channels: list = Field(default_factory=list, sa_type=JsonText)
    starts_on: date
    ends_on: date
    cases_left: Optional[int] = None  # None: unlimited
    minutes_left: Optional[int] = None  # of work, for one sold by the hour; None: not counted


# --- cases and their timeline ------------------------------------------------------------------


# Partial indexes over live rows only (every list filters on "deleted = 0"), holding
# "deleted" after the filter columns so SQLite 3.40 sees the condition inside the index:
# when a query needs only the sort key, the index alone answers it (covering), and a jump
# deep into a list (queries.key_at) costs an index walk, not a table walk.
_LIVE = {"sqlite_where": text("deleted = 0"), "postgresql_where": text("NOT deleted")}


class Case(SyncedRow, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        # Keyset pages for the saved views (store/queries.py): filter columns first, then
        # the sort key; the rowid every SQLite index ends with breaks ties, so entries stay
        # small (no 32-character id) and build fast. See tests/bench/bench_queue.py.
        Index("ix_cases_sort", "deleted", "priority", "created_at", **_LIVE),
        Index("ix_cases_state_sort", "state", "deleted", "priority", "created_at", **_LIVE),
        Index("ix_cases_queue_sort", "queue_id", "state", "deleted", "priority", "created_at", **_LIVE),
        Index("ix_cases_owner_sort", "owner_id", "state", "deleted", "priority", "created_at", **_LIVE),
        Index("ix_cases_status_sort", "status_reason", "deleted", "priority", "created_at", **_LIVE),
        Index("ix_cases_state_created", "state", "deleted", "created_at", **_LIVE),
        Index("ix_cases_queue_created", "queue_id", "state", "deleted", "created_at", **_LIVE),
        Index("ix_cases_owner_created", "owner_id", "state", "deleted", "created_at", **_LIVE),
        Index("ix_cases_state_resolved", "state", "deleted", "resolved_at", **_LIVE),
        Index("ix_cases_owner_resolved", "owner_id", "state", "deleted", "resolved_at", **_LIVE),
        # the "SLA at risk" view: only cases with a resolve deadline (none in a store without SLAs)
        Index("ix_cases_state_due", "state", "deleted", "resolve_due_at",
              sqlite_where=text("deleted = 0 AND resolve_due_at IS NOT NULL"),
              postgresql_where=text("NOT deleted AND resolve_due_at IS NOT NULL")),
        Index("ix_cases_customer", "customer_id", "state"),
        # few cases have a parent or were merged: index just those
        Index("ix_cases_parent_id", "parent_id", sqlite_where=text("parent_id IS NOT NULL"),
              postgresql_where=text("parent_id IS NOT NULL")),
        Index("ix_cases_merged_into_id", "merged_into_id", sqlite_where=text("merged_into_id IS NOT NULL"),
              postgresql_where=text("merged_into_id IS NOT NULL")),
    )

    number: str = _str(32, unique=True)
    title: str = _str(200)
    description: str = Field(default="", sa_type=Text)
    customer_id: uuid.UUID = Field(foreign_key="customers.id")
    contact_id: Optional[uuid.UUID] = _fk("customers.id")
    asset_id: Optional[uuid.UUID] = _fk("assets.id")
    product_id: Optional[uuid.UUID] = _fk("products.id")
    origin: str = _str(16, default="phone")
    case_type: str = _str(16, default="problem")
    category_id: Optional[uuid.UUID] = _fk("categories.id")
    priority: int = Field(default=3)
    state: str = _str(16, default="active")
    status_reason: str = _str(24, default="new")
    queue_id: Optional[uuid.UUID] = _fk("queues.id")
    owner_id: Optional[uuid.UUID] = _fk("agents.id")
    created_by_id: Optional[uuid.UUID] = _fk("agents.id")
    parent_id: Optional[uuid.UUID] = _fk("cases.id")
    merged_into_id: Optional[uuid.UUID] = _fk("cases.id")
    entitlement_id: Optional[uuid.UUID] = None
    # SLA instants (filled by the operations issue's SLA engine)
    first_response_due_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    first_response_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    resolve_due_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    sla_paused_seconds: int = Field(default=0)
    sla_policy: Optional[str] = _str(80, default=None)  # the SLA policy whose clocks run (by name)
    sla_paused_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)  # in a pause status since
    sla_warn_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)  # "at risk" from then (policy warn_at)
    sla_warned: bool = Field(default=False)
    sla_breached: bool = Field(default=False)
    escalated: bool = Field(default=False)
    # outcome
    resolution: Optional[str] = Field(default=None, sa_type=Text)
    resolved_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    cancelled_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    reopen_count: int = Field(default=0)
    satisfaction_score: Optional[int] = None


class Activity(SyncedRow, table=True):
    """One entry of a case's timeline; append-only."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_case_time", "case_id", "occurred_at"),)

    case_id: uuid.UUID = Field(foreign_key="cases.id")
    kind: str = _str(16)
    direction: str = _str(16, default="none")
    subject: str = _str(300, default="")
    body: str = Field(default="", sa_type=Text)
    author_id: Optional[uuid.UUID] = _fk("agents.id")
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    duration_seconds: Optional[int] = None
    visibility: str = _str(16, default="internal")
    event: Optional[str] = _str(40, default=None)  # system events: "status_changed", "assigned", …
    data: Optional[dict] = Field(default=None, sa_type=JsonText)  # structured detail of the event
    attachments: list = Field(default_factory=list, sa_type=JsonText)


# --- knowledge base --------------------------------------------------------------------------------


class KbArticle(SyncedRow, table=True):
    """One revision of a knowledge article. Revisions share the ``number`` (KA-…); a new
    draft revision of a published article points at it with ``supersedes_id``."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        UniqueConstraint("number", "revision"),
        Index("ix_kb_articles_state", "state"),
        Index("ix_kb_articles_slug", "slug"),
    )

    number: str = _str(32)
    revision: int = Field(default=1)
    slug: Optional[str] = _str(120, default=None)  # the file name it was imported from
    title: str = _str(200)
    body: str = Field(default="", sa_type=Text)  # Markdown
    keywords: list = Field(default_factory=list, sa_type=JsonText)
    product_id: Optional[uuid.UUID] = _fk("products.id")
    category: str = _str(80, default="")
    language: str = _str(8, default="en")
    state: str = _str(16, default="draft")
    author_id: Optional[uuid.UUID] = _fk("agents.id")
    reviewer_id: Optional[uuid.UUID] = _fk("agents.id")
    review_comment: Optional[str] = Field(default=None, sa_type=Text)
    supersedes_id: Optional[uuid.UUID] = _fk("kb_articles.id")
    published_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    expires_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    views: int = Field(default=0)
    helpful: int = Field(default=0)
    not_helpful: int = Field(default=0)


class CaseArticle(SyncedRow, table=True):
    """An article linked to a case; ``helped`` is set when the case is resolved with it."""

    __tablename__ = "case_articles"
    __table_args__ = (UniqueConstraint("case_id", "article_id"),)

    case_id: uuid.UUID = Field(foreign_key="cases.id", index=True)
    article_id: uuid.UUID = Field(foreign_key="kb_articles.id", index=True)
    linked_by_id: Optional[uuid.UUID] = _fk("agents.id")
    helped: bool = Field(default=False)


# --- sync bookkeeping (local store only) --------------------------------------------------------


class OutboxOp(SQLModel, table=True):
    """An operation waiting to be pushed to the server (DESIGN.md section 4).

    ``seq`` orders the ops as they were made; ``base`` holds the values the changed
    fields had before, ``data`` the values after, both in wire form (store/wire.py).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_seq", "state", "seq"),)

    seq: Optional[int] = Field(default=None, primary_key=True)
    op_id: uuid.UUID = Field(default_factory=uuid7, unique=True)
    entity: str = _str(40)
    row_id: uuid.UUID
    kind: str = _str(16)
    action: str = _str(40)  # the service that made it, e.g. "resolve_case"
    actor_id: Optional[uuid.UUID] = None
    base: Optional[dict] = Field(default=None, sa_type=JsonText)
    data: dict = Field(default_factory=dict, sa_type=JsonText)
    version: int = Field(default=0)
    created_at: datetime = Field(sa_type=UtcDateTime)
    state: str = _str(16, default="pending")
    attempts: int = Field(default=0)
    result: Optional[dict] = Field(default=None, sa_type=JsonText)


class SyncState(SQLModel, table=True):
    """This store's identity and sync progress: one row, ``id`` = 1."""

    __tablename__ = "sync_state"

    id: int = Field(default=1, primary_key=True)
    device_id: uuid.UUID = Field(default_factory=uuid7)
    device_code: str = _str(8, default="LOC")
    server_url: Optional[str] = _str(500, default=None)
    agent_login: Optional[str] = _str(64, default=None)
    pull_cursor: int = Field(default=0)
    last_push_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    last_pull_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    registered_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)


class NumberSequence(SQLModel, table=True):
    """The next sequence number per human-number prefix (CAS, RMA, …) on this device."""

    __tablename__ = "number_sequences"

    prefix: str = Field(sa_column=Column(String(8), primary_key=True))
    next_value: int = Field(default=1)


# --- the case server's own bookkeeping (sync/server.py); empty in a client's store ---------------


class ServerChange(SQLModel, table=True):
    """One row change on the server, numbered in commit order: what pull serves after a
    cursor. ``fields`` names the changed columns (comma-separated; empty for a new row)."""

    __tablename__ = "server_changes"

    seq: Optional[int] = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"),
                                                              primary_key=True, autoincrement=True))
    entity: str = _str(40)
    row_id: uuid.UUID
    version: int
    fields: str = Field(default="", sa_type=Text)
    changed_at: datetime = Field(sa_type=UtcDateTime)


class ServerToken(SQLModel, table=True):
    """A bearer token for one agent; only its SHA-256 is kept."""

    __tablename__ = "server_tokens"

    id: uuid.UUID = Field(default_factory=uuid7, primary_key=True)
    agent_id: uuid.UUID = Field(foreign_key="agents.id", index=True)
    token_hash: str = _str(64, unique=True)
    label: str = _str(80, default="")
    created_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)
    last_used_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)


class ServerDevice(SQLModel, table=True):
    """A registered client store: its id (``sync_state.device_id``) and the short code in
    the numbers it makes offline."""

    __tablename__ = "server_devices"

    id: uuid.UUID = Field(primary_key=True)
    code: str = _str(8, unique=True)
    agent_id: uuid.UUID = Field(foreign_key="agents.id")
    name: str = _str(80, default="")
    registered_at: datetime = Field(sa_type=UtcDateTime)
    last_seen_at: Optional[datetime] = Field(default=None, sa_type=UtcDateTime)


class ServerAppliedOp(SQLModel, table=True):
    """A pushed op the server has answered, with its answer: a replay gets the same one."""

    __tablename__ = "server_applied_ops"

    op_id: uuid.UUID = Field(primary_key=True)
    device_id: uuid.UUID
    result: dict = Field(default_factory=dict, sa_type=JsonText)
    applied_at: datetime = Field(sa_type=UtcDateTime)


SYNCED_TABLES: tuple[type[SyncedRow], ...] = (
    Customer, Product, SalesOrder, SalesOrderLine, Asset, Agent, Queue, QueueMember, Category, Case, Activity,
    KbArticle, CaseArticle, Skill, BusinessCalendar, SlaPolicyRow, RoutingRuleRow, EntitlementTemplate, Entitlement,
)

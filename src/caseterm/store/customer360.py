"""Customer 360: one customer's profile, assets, orders and cases, on a raw ``sqlite3``
connection (no ORM import), for the TUI's Customer 360 screen.

Every query starts from an index: the customer and the parent organisation by primary
key; assets, orders and cases by their ``customer_id`` index (``ix_assets_customer_id``,
``ix_sales_orders_customer_id``, ``ix_cases_customer``); order lines by
``ix_sales_order_lines_order_id``; products and agents by primary key. Lists are bounded
(``*_limit``) and the true totals are reported beside them, so a customer with 100,000
cases costs a sort of their own rows, never a scan of the table.

The one exception is the member count of an organisation: ``customers.parent_id`` has no
index yet, so counting members scans ``customers``. It runs only for organisations.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from caseterm.store.queries import hex_id, parse_time

CASE_LIMIT = 200
ASSET_LIMIT = 200
ORDER_LIMIT = 50


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    kind: str  # "person" or "organisation"
    email: str | None
    phone: str | None
    address: str | None
    postcode: str | None
    city: str | None
    country: str | None
    tier: str
    parent_name: str | None  # the organisation a person belongs to
    members: int | None  # an organisation's people; None for a person

    @property
    def place(self) -> str:
        """``address, postcode city, country`` without the empty parts."""
        town = " ".join(x for x in (self.postcode, self.city) if x)
        return ", ".join(x for x in (self.address, town, self.country) if x)


@dataclass(frozen=True)
class AssetRow:
    serial: str
    product_name: str
    sku: str
    purchase_date: date | None
    warranty_end: date | None
    warranty: str  # "in warranty (N days left)", "in warranty (ends today)", "expired YYYY-MM-DD", "unknown"
    warranty_state: str  # "in", "expired" or "unknown": for colouring
    location: str | None


@dataclass(frozen=True)
class OrderRow:
    number: str
    ordered_at: datetime
    channel: str
    total: Decimal
    currency: str
    lines: tuple[str, ...]  # "2 × Product name", by line number

    @property
    def total_text(self) -> str:
        return f"{self.total:,.2f} {self.currency}"


@dataclass(frozen=True)
class CaseSummary:
    number: str
    title: str
    state: str
    status_reason: str
    priority: int
    owner_login: str | None
    created_at: datetime
    resolved_at: datetime | None
    cancelled_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.state == "active"

    @property
    def closed_at(self) -> datetime | None:
        return self.resolved_at or self.cancelled_at


@dataclass
class Customer360:
    profile: Profile
    assets: list[AssetRow] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)  # newest first
    cases: list[CaseSummary] = field(default_factory=list)  # open first (priority, oldest), then most recent first
    open_cases: int = 0
    total_cases: int = 0
    total_assets: int = 0
    total_orders: int = 0


def warranty_status(end: date | None, today: date) -> tuple[str, str]:
    """(text, state): the warranty covers ``end`` itself; the day after, it has expired."""
    if end is None:
        return "unknown", "unknown"
    left = (end - today).days
    if left < 0:
        return f"expired {end.isoformat()}", "expired"
    if left == 0:
        return "in warranty (ends today)", "in"
    return f"in warranty ({left} day{'s' if left != 1 else ''} left)", "in"


def _date(value: str | None) -> date | None:
    return None if not value else date.fromisoformat(value[:10])


def _money(value: str | None) -> Decimal:
    try:
        return Decimal(value) if value is not None else Decimal("0")
    except InvalidOperation:
        return Decimal("0")


def customer_360(
    conn: sqlite3.Connection,
    customer_id_hex: str,
    today: date,
    *,
    case_limit: int = CASE_LIMIT,
    asset_limit: int = ASSET_LIMIT,
    order_limit: int = ORDER_LIMIT,
) -> Customer360 | None:
    """Everything the Customer 360 screen shows, or ``None`` for an unknown or deleted customer.

    ``today`` (from the injected clock) decides the warranty status of each asset. The reads
    run in one read transaction (unless the caller holds one), so counts and lists agree."""
    try:
        cid = hex_id(customer_id_hex)
    except ValueError:
        return None
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        return _read(conn, cid, today, case_limit, asset_limit, order_limit)
    finally:
        if own:
            conn.execute("COMMIT")


def _read(conn: sqlite3.Connection, cid: str, today: date, case_limit: int, asset_limit: int,
          order_limit: int) -> Customer360 | None:
    row = conn.execute(
        """SELECT cu.id, cu.name, cu.kind, cu.email, cu.phone, cu.address, cu.postcode, cu.city, cu.country,
                  cu.tier, par.name
           FROM customers AS cu LEFT JOIN customers AS par ON par.id = cu.parent_id AND par.deleted = 0
           WHERE cu.id = ? AND cu.deleted = 0""",
        [cid],
    ).fetchone()
    if row is None:
        return None
    members = None
    if row[2] == "organisation":
        members = conn.execute(
            "SELECT count(*) FROM customers WHERE parent_id = ? AND deleted = 0", [cid]
        ).fetchone()[0]
    view = Customer360(profile=Profile(*row, members=members))
    _load_assets(conn, view, cid, today, asset_limit)
    _load_orders(conn, view, cid, order_limit)
    _load_cases(conn, view, cid, case_limit)
    return view


def _load_assets(conn: sqlite3.Connection, view: Customer360, cid: str, today: date, limit: int) -> None:
    view.total_assets = conn.execute(
        "SELECT count(*) FROM assets WHERE customer_id = ? AND deleted = 0", [cid]
    ).fetchone()[0]
    rows = conn.execute(
        """SELECT s.serial_number, p.name, p.sku, s.purchase_date, s.warranty_end, s.location
           FROM assets AS s JOIN products AS p ON p.id = s.product_id
           WHERE s.customer_id = ? AND s.deleted = 0
           ORDER BY s.purchase_date IS NULL, s.purchase_date DESC, s.serial_number, s.id
           LIMIT ?""",
        [cid, limit],
    ).fetchall()
    for serial, name, sku, bought, end, location in rows:
        end_date = _date(end)
        text, state = warranty_status(end_date, today)
        view.assets.append(AssetRow(serial=serial, product_name=name, sku=sku, purchase_date=_date(bought),
                                    warranty_end=end_date, warranty=text, warranty_state=state, location=location))


def _load_orders(conn: sqlite3.Connection, view: Customer360, cid: str, limit: int) -> None:
    view.total_orders = conn.execute(
        "SELECT count(*) FROM sales_orders WHERE customer_id = ? AND deleted = 0", [cid]
    ).fetchone()[0]
    orders = conn.execute(
        """SELECT id, number, ordered_at, channel, total, currency FROM sales_orders
           WHERE customer_id = ? AND deleted = 0 ORDER BY ordered_at DESC, number DESC LIMIT ?""",
        [cid, limit],
    ).fetchall()
    if not orders:
        return
    lines: dict[str, list[str]] = {o[0]: [] for o in orders}
    marks = ", ".join("?" for _ in orders)
    for order_id, quantity, name in conn.execute(
        f"""SELECT l.order_id, l.quantity, p.name
            FROM sales_order_lines AS l JOIN products AS p ON p.id = l.product_id
            WHERE l.order_id IN ({marks}) AND l.deleted = 0 ORDER BY l.order_id, l.line_no""",
        list(lines),
    ).fetchall():
        lines[order_id].append(f"{quantity} × {name}")
    for order_id, number, ordered_at, channel, total, currency in orders:
        view.orders.append(OrderRow(number=number, ordered_at=parse_time(ordered_at), channel=channel,
                                    total=_money(total), currency=currency, lines=tuple(lines[order_id])))


_CASE_SQL = """
SELECT c.number, c.title, c.state, c.status_reason, c.priority, a.login, c.created_at, c.resolved_at, c.cancelled_at
FROM cases AS c INDEXED BY ix_cases_customer
LEFT JOIN agents AS a ON a.id = c.owner_id
WHERE c.customer_id = ? AND {where} AND c.deleted = 0
ORDER BY {order}
LIMIT ?
"""


def _load_cases(conn: sqlite3.Connection, view: Customer360, cid: str, limit: int) -> None:
    counts = dict(conn.execute(
        "SELECT state, count(*) FROM cases WHERE customer_id = ? AND deleted = 0 GROUP BY state", [cid]
    ).fetchall())
    view.open_cases = counts.get("active", 0)
    view.total_cases = sum(counts.values())
    # open: what needs attention now (priority, then oldest). INDEXED BY: left alone, the planner
    # may walk ix_cases_state_sort (every active case in the store) to skip the sort.
    rows = conn.execute(
        _CASE_SQL.format(where="c.state = 'active'", order="c.priority, c.created_at, c.number"), [cid, limit]
    ).fetchall()
    room = limit - len(rows)
    if room > 0 and view.total_cases > view.open_cases:
        rows += conn.execute(
            _CASE_SQL.format(where="c.state IN ('resolved', 'cancelled')",
                             order="coalesce(c.resolved_at, c.cancelled_at, c.created_at) DESC, c.number DESC"),
            [cid, room],
        ).fetchall()
    view.cases = [
        CaseSummary(number=r[0], title=r[1], state=r[2], status_reason=r[3], priority=r[4], owner_login=r[5],
                    created_at=parse_time(r[6]), resolved_at=parse_time(r[7]), cancelled_at=parse_time(r[8]))
        for r in rows
    ]


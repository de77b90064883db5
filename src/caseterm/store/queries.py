"""The reads that must be fast, on a raw ``sqlite3`` connection (no ORM import).

The queue pane and ``caseterm cases list`` page through a view of cases by *keyset*
(``WHERE (sort key) > (last row's key)``, never ``OFFSET``), so a page deep in a
million-case queue costs what the first page costs. Each view's filter columns lead an
index in ``store.models.Case.__table_args__`` and the sort key follows them.
Counts per status come from ``case_counts``, which triggers keep exact (migration 0002).

Ids are the store's text form (32 hex digits); times are parsed to aware UTC datetimes.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from caseterm.domain.enums import STATE_OF_STATUS, CaseState, StatusReason
from caseterm.domain.numbers import normalise_number
from caseterm.domain.text import looks_like_email, phone_digits


def hex_id(value: uuid.UUID | str | None) -> str | None:
    if value is None:
        return None
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex


def parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def store_time(moment: datetime) -> str:
    """An instant as the store writes it (UTC, naive text that sorts in time order)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


# --- views and pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    """An index-backed ordering: columns (all ascending or all descending) ending in
    ``rowid``, which every SQLite index carries last, as the tie-break. Keys are local to
    this store file and this session's lists: never store or send them."""

    name: str
    columns: tuple[str, ...]
    descending: bool = False


SORTS: dict[str, Sort] = {
    # priority first, then oldest first: what needs attention now
    "priority": Sort("priority", ("priority", "created_at", "rowid")),
    # most recently resolved first (the "Recently resolved" view)
    "resolved": Sort("resolved", ("resolved_at", "rowid"), descending=True),
    # by age, either way (the queue's sort key cycles through these)
    "newest": Sort("newest", ("created_at", "rowid"), descending=True),
    "oldest": Sort("oldest", ("created_at", "rowid")),
    # the nearest resolve deadline first (the "SLA at risk" view; cases without one are not listed)
    "due": Sort("due", ("resolve_due_at", "rowid")),
}


@dataclass(frozen=True)
class CaseView:
    """Which cases a list shows. ``None`` means "any"."""

    state: CaseState | None = CaseState.ACTIVE
    status: StatusReason | None = None
    queue_id: str | None = None
    owner_id: str | None = None
    unassigned: bool = False  # owner is nobody
    customer_id: str | None = None
    text: str | None = None  # quick filter: number prefix, or part of the title or customer name
    due_before: str | None = None  # only cases to be resolved by then (store time text), or overdue
    sort: str = "priority"

    def where(self) -> tuple[list[str], list[Any]]:
        """SQL conditions on ``cases AS c`` (and, for ``text``, ``customers AS cu``)."""
        clauses: list[str] = ["c.deleted = 0"]
        params: list[Any] = []
        if self.text and self.text.strip():
            needle = self.text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("(c.number LIKE ? ESCAPE '\\' OR c.title LIKE ? ESCAPE '\\' OR cu.name LIKE ? ESCAPE '\\')")
            params += [f"{needle}%", f"%{needle}%", f"%{needle}%"]
        state = self.state
        if self.status is not None:
            state = STATE_OF_STATUS[self.status]
            clauses.append("c.status_reason = ?")
            params.append(self.status.value)
        if state is not None:
            clauses.append("c.state = ?")
            params.append(state.value)
        if self.queue_id is not None:
            clauses.append("c.queue_id = ?")
            params.append(self.queue_id)
        if self.unassigned:
            clauses.append("c.owner_id IS NULL")
        elif self.owner_id is not None:
            clauses.append("c.owner_id = ?")
            params.append(self.owner_id)
        if self.customer_id is not None:
            clauses.append("c.customer_id = ?")
            params.append(self.customer_id)
        if self.due_before is not None or self.sort == "due":
            clauses.append("c.resolve_due_at IS NOT NULL")
        if self.due_before is not None:
            clauses.append("c.resolve_due_at <= ?")
            params.append(self.due_before)
        return clauses, params


@dataclass(frozen=True)
class CaseRow:
    id: str
    number: str
    priority: int
    title: str
    customer_name: str
    state: str
    status_reason: str
    queue_name: str | None
    owner_login: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    resolve_due_at: datetime | None
    sla_paused_at: datetime | None  # the SLA clocks stand still (a pause status) since then
    key: tuple  # this row's sort key: pass it as ``after``/``before`` for the next page


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    has_more: bool  # more rows beyond the page, in the direction read


_ROW_SQL = """
SELECT c.id, c.number, c.priority, c.title, cu.name, c.state, c.status_reason, q.name, a.login,
       c.created_at, c.updated_at, c.resolved_at, c.first_response_due_at, c.first_response_at,
       c.resolve_due_at, c.sla_paused_at{extra}
FROM cases AS c
JOIN customers AS cu ON cu.id = c.customer_id
LEFT JOIN queues AS q ON q.id = c.queue_id
LEFT JOIN agents AS a ON a.id = c.owner_id
"""


def page_cases(
    conn: sqlite3.Connection,
    view: CaseView,
    *,
    after: tuple | None = None,
    before: tuple | None = None,
    last: bool = False,
    limit: int = 50,
) -> CasePage:
    """One page of ``view`` in its sort order: the first page, the page after the row with
    key ``after``, the page before the row with key ``before``, or (``last``) the final
    page; always returned in sort order."""
    sort = SORTS[view.sort]
    clauses, params = view.where()
    cols = ", ".join(f"c.{name}" for name in sort.columns)
    marks = ", ".join("?" for _ in sort.columns)
    backward = before is not None or last
    # Reading backward walks the index the other way, then the page is flipped.
    descending = sort.descending != backward
    if after is not None or before is not None:
        op = ">" if sort.descending == backward else "<"
        clauses.append(f"({cols}) {op} ({marks})")
        params.extend(after if after is not None else before)
    if view.sort == "resolved":
        clauses.append("c.resolved_at IS NOT NULL")
    direction = "DESC" if descending else "ASC"
    order = ", ".join(f"c.{name} {direction}" for name in sort.columns)
    extra = "".join(f", c.{name}" for name in sort.columns)
    sql = _ROW_SQL.format(extra=extra) + f" WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT ?"
    raw = conn.execute(sql, [*params, limit + 1]).fetchall()
    has_more = len(raw) > limit
    raw = raw[:limit]
    if backward:
        raw.reverse()
    return CasePage(rows=[_case_row(r) for r in raw], has_more=has_more)


def _case_row(r: tuple) -> CaseRow:
    return CaseRow(
        id=r[0], number=r[1], priority=r[2], title=r[3], customer_name=r[4], state=r[5], status_reason=r[6],
        queue_name=r[7], owner_login=r[8], created_at=parse_time(r[9]), updated_at=parse_time(r[10]),
        resolved_at=parse_time(r[11]), first_response_due_at=parse_time(r[12]), first_response_at=parse_time(r[13]),
        resolve_due_at=parse_time(r[14]), sla_paused_at=parse_time(r[15]), key=tuple(r[16:]),
    )


def key_at(conn: sqlite3.Connection, view: CaseView, offset: int) -> tuple | None:
    """The sort key of the row at position ``offset`` of ``view`` (None past the end).

    Reads only the sort key, which the view's partial index holds, so SQLite walks
    the index without touching the table: cheap even half a million rows deep."""
    sort = SORTS[view.sort]
    clauses, params = view.where()
    if view.sort == "resolved":
        clauses.append("c.resolved_at IS NOT NULL")
    direction = "DESC" if sort.descending else "ASC"
    cols = ", ".join(f"c.{name}" for name in sort.columns)
    order = ", ".join(f"c.{name} {direction}" for name in sort.columns)
    join = "JOIN customers AS cu ON cu.id = c.customer_id " if view.text else ""
    row = conn.execute(
        f"SELECT {cols} FROM cases AS c {join}WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT 1 OFFSET ?",
        [*params, max(0, offset)],
    ).fetchone()
    return tuple(row) if row else None


def page_cases_at(conn: sqlite3.Connection, view: CaseView, offset: int, limit: int = 50) -> CasePage:
    """The page starting at row ``offset``: for a jump (a scrollbar dragged to the middle,
    a burst of page-downs). Finds the row's key in the index (``key_at``), then reads the
    page by keyset like any other."""
    if offset <= 0:
        return page_cases(conn, view, limit=limit)
    before = key_at(conn, view, offset - 1)
    if before is None:
        return CasePage(rows=[], has_more=False)
    return page_cases(conn, view, after=before, limit=limit)


def count_cases(conn: sqlite3.Connection, view: CaseView) -> dict[str, int]:
    """Live cases per status reason for ``view`` (only statuses with cases appear).

    Views filtered by queue, owner and state read the trigger-kept ``case_counts``;
    a customer filter counts the customer's cases (few, and indexed), a deadline filter
    the cases due by then (indexed); a text filter counts by scanning the view (run it off
    the UI thread).
    """
    if view.customer_id is not None or view.text or view.due_before is not None:
        clauses, params = view.where()
        sql = (f"SELECT c.status_reason, count(*) FROM cases AS c JOIN customers AS cu ON cu.id = c.customer_id "
               f"WHERE {' AND '.join(clauses)} GROUP BY 1")
        return dict(conn.execute(sql, params).fetchall())
    clauses, params = ["n > 0"], []
    statuses = [s for s in StatusReason if view.state is None or STATE_OF_STATUS[s] is view.state]
    if view.status is not None:
        statuses = [view.status]
    clauses.append(f"status_reason IN ({', '.join('?' for _ in statuses)})")
    params.extend(s.value for s in statuses)
    if view.queue_id is not None:
        clauses.append("queue_id = ?")
        params.append(view.queue_id)
    if view.unassigned:
        clauses.append("owner_id = ''")
    elif view.owner_id is not None:
        clauses.append("owner_id = ?")
        params.append(view.owner_id)
    sql = f"SELECT status_reason, sum(n) FROM case_counts WHERE {' AND '.join(clauses)} GROUP BY 1"
    return dict(conn.execute(sql, params).fetchall())


# --- one case -------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    id: str
    case_number: str  # differs from the case shown when the entry comes from a merged case
    kind: str
    direction: str
    subject: str
    body: str
    author_login: str | None
    occurred_at: datetime
    duration_seconds: int | None
    visibility: str
    event: str | None


@dataclass
class CaseDetail:
    fields: dict[str, Any]
    timeline: list[TimelineEntry] = field(default_factory=list)
    parent: str | None = None
    children: list[tuple[str, str]] = field(default_factory=list)  # (number, state)
    merged_in: list[str] = field(default_factory=list)
    merged_into: str | None = None

    def related_summary(self) -> str:
        """Parent, children, merged cases in one line ("" when there are none)."""
        parts = []
        if self.parent:
            parts.append(f"parent {self.parent}")
        if self.children:
            parts.append("children " + ", ".join(f"{n} ({s})" for n, s in self.children))
        if self.merged_into:
            parts.append(f"merged into {self.merged_into}")
        if self.merged_in:
            parts.append("merged in " + ", ".join(self.merged_in))
        return "; ".join(parts)


_DETAIL_SQL = """
SELECT c.id, c.number, c.title, c.description, c.priority, c.origin, c.case_type, c.state, c.status_reason,
       cu.id, cu.name, cu.email, cu.phone, q.name, a.login, cr.login, cat.name, p.sku, p.name, s.serial_number,
       c.created_at, c.updated_at, c.resolved_at, c.cancelled_at, c.resolution, c.reopen_count,
       par.number, mi.number, c.version, c.first_response_due_at, c.resolve_due_at, c.escalated,
       cu.address, cu.postcode, cu.city, s.location, c.first_response_at, c.sla_paused_at,
       ent.name, ent.cases_left, ent.ends_on, ent.minutes_left, c.sla_policy, c.sla_warned, c.sla_breached
FROM cases AS c
JOIN customers AS cu ON cu.id = c.customer_id
LEFT JOIN queues AS q ON q.id = c.queue_id
LEFT JOIN agents AS a ON a.id = c.owner_id
LEFT JOIN agents AS cr ON cr.id = c.created_by_id
LEFT JOIN categories AS cat ON cat.id = c.category_id
LEFT JOIN products AS p ON p.id = c.product_id
LEFT JOIN assets AS s ON s.id = c.asset_id
LEFT JOIN cases AS par ON par.id = c.parent_id
LEFT JOIN cases AS mi ON mi.id = c.merged_into_id
LEFT JOIN entitlements AS ent ON ent.id = c.entitlement_id
WHERE c.deleted = 0 AND {where}
"""
_DETAIL_NAMES = (
    "id", "number", "title", "description", "priority", "origin", "type", "state", "status_reason",
    "customer_id", "customer_name", "customer_email", "customer_phone", "queue", "owner", "created_by",
    "category", "product_sku", "product_name", "asset_serial", "created_at", "updated_at", "resolved_at",
    "cancelled_at", "resolution", "reopen_count", "parent", "merged_into", "version",
    "first_response_due_at", "resolve_due_at", "escalated",
    "customer_address", "customer_postcode", "customer_city", "asset_location", "first_response_at", "sla_paused_at",
    "entitlement", "entitlement_cases_left", "entitlement_ends_on", "entitlement_minutes_left",
    "sla_policy", "sla_warned", "sla_breached",
)
_TIME_FIELDS = {"created_at", "updated_at", "resolved_at", "cancelled_at", "first_response_due_at", "resolve_due_at",
                "first_response_at", "sla_paused_at"}


def case_detail(conn: sqlite3.Connection, number_or_id: str, timeline_limit: int | None = 200) -> CaseDetail | None:
    """Everything the case pane shows: fields, related cases and the timeline, newest first."""
    number = normalise_number(number_or_id)
    row = conn.execute(_DETAIL_SQL.format(where="c.number = ?"), [number]).fetchone()
    if row is None:
        try:
            ident = hex_id(number_or_id)
        except ValueError:
            ident = None
        if ident:
            row = conn.execute(_DETAIL_SQL.format(where="c.id = ?"), [ident]).fetchone()
    if row is None:
        return None
    fields = dict(zip(_DETAIL_NAMES, row))
    for name in _TIME_FIELDS:
        fields[name] = parse_time(fields[name])
    for flag in ("escalated", "sla_warned", "sla_breached"):
        fields[flag] = bool(fields[flag])
    case_id = fields["id"]
    detail = CaseDetail(fields=fields, parent=fields["parent"], merged_into=fields["merged_into"])
    detail.children = conn.execute(
        "SELECT number, state FROM cases WHERE parent_id = ? AND deleted = 0 ORDER BY number", [case_id]
    ).fetchall()
    detail.merged_in = [r[0] for r in conn.execute(
        "SELECT number FROM cases WHERE merged_into_id = ? AND deleted = 0 ORDER BY number", [case_id]
    ).fetchall()]
    detail.timeline = timeline(conn, case_id, timeline_limit)
    return detail


def timeline(conn: sqlite3.Connection, case_id: str, limit: int | None = 200) -> list[TimelineEntry]:
    """The case's timeline newest first, including the timelines of cases merged into it.

    ``IN (SELECT id FROM family)`` rather than a join: with a join, SQLite's planner may
    pick a Bloom filter over all activities on small stores (15 ms instead of 0.1 ms)."""
    sql = """
    WITH RECURSIVE family(id) AS (
        SELECT ? UNION SELECT c.id FROM cases AS c JOIN family AS f ON c.merged_into_id = f.id
    )
    SELECT act.id, c.number, act.kind, act.direction, act.subject, act.body, ag.login, act.occurred_at,
           act.duration_seconds, act.visibility, act.event
    FROM activities AS act
    JOIN cases AS c ON c.id = act.case_id
    LEFT JOIN agents AS ag ON ag.id = act.author_id
    WHERE act.case_id IN (SELECT id FROM family) AND act.deleted = 0
    ORDER BY act.occurred_at DESC, act.id DESC
    """
    params: list[Any] = [case_id]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [
        TimelineEntry(id=r[0], case_number=r[1], kind=r[2], direction=r[3], subject=r[4], body=r[5],
                      author_login=r[6], occurred_at=parse_time(r[7]), duration_seconds=r[8], visibility=r[9],
                      event=r[10])
        for r in conn.execute(sql, params).fetchall()
    ]


# --- lookups --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerHit:
    id: str
    name: str
    kind: str
    email: str | None
    phone: str | None
    city: str | None
    tier: str
    matched: str  # what matched: name, email, phone, order or serial
    active_cases: int


def _fts_query(text: str) -> str | None:
    """Each word of ``text`` as a quoted prefix term, all required: ``"ann"* "berg"*``."""
    words = re.findall(r"\w+", text.lower())
    return " ".join(f'"{w}"*' for w in words) if words else None


def find_customers(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[CustomerHit]:
    """Customers by email, phone, order number or asset serial (exact), else by the start
    of the words of their name or email (``anna ber`` finds Anna Bergström), best first,
    else by any part of name or email.

    Exact keys are indexed lookups; words go through the ``customer_search`` full-text
    index (migration 0003), so this stays fast enough to run on every key press."""
    query = text.strip()
    if not query:
        return []
    hits: dict[str, str] = {}

    def take(sql: str, params: list[Any], matched: str) -> None:
        for (cid,) in conn.execute(sql, [*params, limit]).fetchall():
            hits.setdefault(cid, matched)

    if looks_like_email(query):
        take("SELECT id FROM customers WHERE email = ? AND deleted = 0 LIMIT ?", [query.lower()], "email")
    digits = phone_digits(query)
    digit_like = len(digits) >= 4 and len(digits) >= len(re.sub(r"[\s+()./-]", "", query)) - 1
    if digit_like and len(digits) >= 6:
        take("SELECT id FROM customers WHERE phone_digits = ? AND deleted = 0 LIMIT ?", [digits], "phone")
    take("SELECT customer_id FROM sales_orders WHERE number = ? AND deleted = 0 LIMIT ?", [query.upper()], "order")
    take("SELECT customer_id FROM assets WHERE serial_number = ? AND deleted = 0 LIMIT ?", [query], "serial")
    if not hits and digit_like:
        # part of a number, typed without the country code: a scan, but of short strings
        take("SELECT id FROM customers WHERE phone_digits LIKE ? AND deleted = 0 ORDER BY name LIMIT ?",
             [f"%{digits}%"], "phone")
    if not hits and (match := _fts_query(query)):
        take("SELECT cu.id FROM customer_search JOIN customers AS cu ON cu.rowid = customer_search.rowid "
             "WHERE customer_search MATCH ? AND cu.deleted = 0 ORDER BY customer_search.rank, cu.name LIMIT ?",
             [match], "name")
    if not hits and len(query) >= 3:
        # no word starts so: look inside words too ("ndersson"); a scan, only when all else failed
        escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        take("SELECT id FROM customers WHERE (name LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\') "
             "AND deleted = 0 ORDER BY name LIMIT ?", [f"%{escaped}%", f"%{escaped}%"], "name")
    ids = list(hits)[:limit]
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(
        f"""SELECT cu.id, cu.name, cu.kind, cu.email, cu.phone, cu.city, cu.tier,
                   (SELECT count(*) FROM cases AS c WHERE c.customer_id = cu.id AND c.state = 'active' AND c.deleted = 0)
            FROM customers AS cu WHERE cu.id IN ({marks})""",
        ids,
    ).fetchall()
    by_id = {r[0]: r for r in rows}
    return [CustomerHit(*by_id[i][:7], matched=hits[i], active_cases=by_id[i][7]) for i in ids if i in by_id]


def id_of(conn: sqlite3.Connection, table: str, column: str, value: str) -> str | None:
    """The id of the live row whose ``column`` equals ``value`` case-insensitively (queues, agents)."""
    assert table in {"queues", "agents", "customers", "categories"} and column.isidentifier()
    row = conn.execute(
        f"SELECT id FROM {table} WHERE lower({column}) = lower(?) AND deleted = 0 LIMIT 1", [value.strip()]
    ).fetchone()
    return row[0] if row else None


def pending_ops(conn: sqlite3.Connection) -> int:
    """Outbox operations not yet accepted by a server (the status bar's "pending changes")."""
    return conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]


def kb_expiry_due(conn: sqlite3.Connection, now: datetime) -> int:
    """Published articles whose expiry date has passed; ``services.kb.expire_due`` expires them.
    (A cheap check, so the CLI and the TUI can look on every start without the ORM.)"""
    stamp = store_time(now)
    return conn.execute(
        "SELECT count(*) FROM kb_articles WHERE state = 'published' AND deleted = 0 AND expires_at IS NOT NULL "
        "AND expires_at <= ?", [stamp]).fetchone()[0]


def sla_sweep_due(conn: sqlite3.Connection, now: datetime) -> bool:
    """Whether an active case has an SLA warning or breach not yet recorded
    (``services.routing.sweep_sla`` records them)."""
    stamp = store_time(now)
    return conn.execute(
        "SELECT 1 FROM cases WHERE state = 'active' AND deleted = 0 AND sla_paused_at IS NULL AND ("
        "(sla_warned = 0 AND sla_warn_at <= ?) OR (sla_breached = 0 AND (resolve_due_at <= ? OR "
        "(first_response_at IS NULL AND first_response_due_at <= ?)))) LIMIT 1", [stamp, stamp, stamp],
    ).fetchone() is not None

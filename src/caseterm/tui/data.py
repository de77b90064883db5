"""The TUI's door to the store, used from worker threads only.

Reads go through ``store.queries`` on one raw ``sqlite3`` connection per thread (cheap
to open, no ORM import), so the first screen fills in fast. Writes go through the
services on a ``LocalStore`` that is created on first use, in a worker, because it
imports SQLModel.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from caseterm.clock import Clock
from caseterm.store import queries

if TYPE_CHECKING:
    from caseterm.store.uow import LocalStore, UnitOfWork

T = TypeVar("T")


@dataclass(frozen=True)
class Me:
    """Who is at the keyboard."""

    id: str  # hex, the store's text form
    login: str
    display_name: str
    role: str
    queues: tuple[tuple[str, str], ...]  # (queue id, name), by name


class Gateway:
    def __init__(self, path: Path, clock: Clock, reopen_days: int = 30) -> None:
        self.path = path
        self.clock = clock
        self.reopen_days = reopen_days
        self._local = threading.local()
        self._store: LocalStore | None = None
        self._store_lock = threading.Lock()
        self._opened = threading.Event()
        self._open_lock = threading.Lock()

    # --- reads ------------------------------------------------------------------------------

    def open(self) -> None:
        """Create or migrate the store if needed (first call only; later calls return at once)."""
        with self._open_lock:
            if not self._opened.is_set():
                from caseterm.store.sqlite import open_store

                open_store(self.path).close()
                self._opened.set()

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            from caseterm.store.sqlite import connect

            self.open()
            conn = self._local.conn = connect(self.path)
        return conn

    def me(self, login: str) -> Me:
        from caseterm.errors import NotFound

        conn = self.conn()
        row = conn.execute(
            "SELECT id, login, display_name, role FROM agents WHERE lower(login) = lower(?) AND deleted = 0",
            [login.strip()],
        ).fetchone()
        if row is None:
            known = [r[0] for r in conn.execute("SELECT login FROM agents WHERE deleted = 0 ORDER BY login LIMIT 12")]
            server = conn.execute("SELECT server_url FROM sync_state WHERE id = 1").fetchone()
            if not known and server and server[0]:
                raise NotFound(f"This store has not synced with {server[0]} yet, so it knows no agents: run "
                               "'caseterm sync' once, then start the workstation again")
            raise NotFound(f"No agent '{login}' in this store; start with --as and one of: {', '.join(known)}")
        mine = conn.execute(
            "SELECT q.id, q.name FROM queues q JOIN queue_members m ON m.queue_id = q.id "
            "WHERE m.agent_id = ? AND m.deleted = 0 AND q.deleted = 0 ORDER BY q.name", [row[0]],
        ).fetchall()
        return Me(id=row[0], login=row[1], display_name=row[2], role=row[3], queues=tuple(mine))

    def page(self, view: queries.CaseView, **kw: Any) -> queries.CasePage:
        return queries.page_cases(self.conn(), view, **kw)

    def page_at(self, view: queries.CaseView, offset: int, limit: int) -> queries.CasePage:
        return queries.page_cases_at(self.conn(), view, offset, limit)

    def count(self, view: queries.CaseView) -> int:
        return sum(queries.count_cases(self.conn(), view).values())

    def detail(self, number: str) -> queries.CaseDetail | None:
        return queries.case_detail(self.conn(), number)

    def pending(self) -> int:
        return queries.pending_ops(self.conn())

    def find_customers(self, text: str, limit: int = 8) -> list[queries.CustomerHit]:
        return queries.find_customers(self.conn(), text, limit)

    def customer_assets(self, customer_id: str) -> list[tuple[str, str, str, str | None]]:
        """(asset id, serial, product name, warranty end) of a customer's assets, newest first."""
        return self.conn().execute(
            "SELECT a.id, a.serial_number, p.name, a.warranty_end FROM assets a JOIN products p ON p.id = a.product_id "
            "WHERE a.customer_id = ? AND a.deleted = 0 ORDER BY a.purchase_date DESC, a.serial_number", [customer_id],
        ).fetchall()

    def products(self) -> list[tuple[str, str, str]]:
        return self.conn().execute(
            "SELECT id, sku, name FROM products WHERE deleted = 0 AND active = 1 ORDER BY name").fetchall()

    def categories(self) -> list[tuple[str, str]]:
        return self.conn().execute("SELECT id, name FROM categories WHERE deleted = 0 ORDER BY name").fetchall()

    def queues(self) -> list[tuple[str, str]]:
        return self.conn().execute("SELECT id, name FROM queues WHERE deleted = 0 ORDER BY name").fetchall()

    def queue_agents(self, queue_id: str | None) -> list[tuple[str, str, str, int, int]]:
        """(id, login, name, active cases, capacity) of a queue's members, or of all agents."""
        sql = (
            "SELECT a.id, a.login, a.display_name, "
            "(SELECT count(*) FROM cases c WHERE c.owner_id = a.id AND c.state = 'active' AND c.deleted = 0), a.capacity "
            "FROM agents a {join} WHERE a.deleted = 0 AND a.active = 1 {where} ORDER BY a.login"
        )
        if queue_id:
            return self.conn().execute(
                sql.format(join="JOIN queue_members m ON m.agent_id = a.id AND m.deleted = 0", where="AND m.queue_id = ?"),
                [queue_id]).fetchall()
        return self.conn().execute(sql.format(join="", where="")).fetchall()

    def kb_worklist(self) -> list[tuple[str, int, str, str, str, str, str | None, str | None]]:
        """Articles being written or reviewed: (number, revision, state, title, author login,
        updated at, review comment, the published revision's title or None); in review first,
        then drafts, newest change first."""
        return self.conn().execute(
            "SELECT a.number, a.revision, a.state, a.title, ifnull(w.login, '—'), a.updated_at, a.review_comment, "
            "(SELECT p.title FROM kb_articles p WHERE p.id = a.supersedes_id) "
            "FROM kb_articles a LEFT JOIN agents w ON w.id = a.author_id "
            "WHERE a.state IN ('draft', 'in_review') AND a.deleted = 0 "
            "ORDER BY a.state = 'draft', a.updated_at DESC, a.number").fetchall()

    def kb_filters(self) -> tuple[list[tuple[str, str]], list[str]]:
        """The (SKU, name) of products and the categories that published articles have."""
        conn = self.conn()
        products = conn.execute(
            "SELECT DISTINCT p.sku, p.name FROM kb_articles a JOIN products p ON p.id = a.product_id "
            "WHERE a.state = 'published' AND a.deleted = 0 ORDER BY p.name").fetchall()
        categories = [r[0] for r in conn.execute(
            "SELECT DISTINCT category FROM kb_articles WHERE state = 'published' AND deleted = 0 AND category != '' "
            "ORDER BY category")]
        return products, categories

    def suggestions(self, number: str):
        """``search.suggest.for_case`` for the case: articles and similar resolved cases."""
        from caseterm.search import suggest

        self.open()
        return suggest.for_case(self.path, number)

    def linked_articles(self, case_id: str) -> set[str]:
        """The numbers of the articles linked to a case."""
        return {r[0] for r in self.conn().execute(
            "SELECT a.number FROM case_articles l JOIN kb_articles a ON a.id = l.article_id "
            "WHERE l.case_id = ? AND l.deleted = 0", [case_id])}

    def link_article(self, login: str, case_number: str, article_number: str) -> None:
        """Link the published article to the case, as ``login`` (``services.kb.link_to_case``)."""
        from caseterm.services import kb
        from caseterm.services.lookup import case_by_number

        self.write(login, lambda uow, me: kb.link_to_case(
            uow, me, case_by_number(uow, case_number), kb.article_by_number(uow, article_number, state="published")))

    def sweep_sla(self, login: str) -> tuple[list[str], list[str]]:
        """Record due SLA warnings and breaches (``services.routing.sweep_sla``); ORM only when some are due."""
        if not queries.sla_sweep_due(self.conn(), self.clock.now()):
            return [], []
        from caseterm.services import routing

        return self.write(login, routing.sweep_sla)

    def expire_due_articles(self, login: str) -> list[str]:
        """Expire the published articles past their expiry date; the numbers expired.
        Touches the ORM only when there is something to expire."""
        if not queries.kb_expiry_due(self.conn(), self.clock.now()):
            return []
        from caseterm.services import kb

        return kb.expire_due_for(self.store(), login)

    # --- sync -------------------------------------------------------------------------------

    def sync_state(self) -> dict[str, Any]:
        """The server this store syncs with (None: none), the last pull, and the outbox by state."""
        conn = self.conn()
        server, last_pull = conn.execute("SELECT server_url, last_pull_at FROM sync_state WHERE id = 1").fetchone() \
            or (None, None)
        counts = dict(conn.execute("SELECT state, count(*) FROM outbox WHERE state IN "
                                   "('pending', 'conflict', 'rejected') GROUP BY state").fetchall())
        return {"server": server, "last_pull_at": queries.parse_time(last_pull) if last_pull else None,
                "pending": counts.get("pending", 0), "conflicts": counts.get("conflict", 0),
                "rejected": counts.get("rejected", 0)}

    def sync(self):
        """Push, then pull (``sync.client.sync``); raises SyncError when the server cannot be reached."""
        from caseterm.sync import client

        # two tries: the workstation backs off between syncs itself, and quitting waits for a
        # sync under way (at most about 2 × the answer timeout)
        return client.sync(self.store(), attempts=2)

    def conflicts(self):
        from caseterm.sync import client

        return client.conflicts(self.store())

    def rejected(self) -> list[tuple[str, str, str, str]]:
        """Changes the server refused: (op id, what, the change, why)."""
        rows = self.conn().execute(
            "SELECT o.op_id, o.entity, o.action, o.result, c.number FROM outbox o LEFT JOIN cases c ON c.id = o.row_id "
            "WHERE o.state = 'rejected' ORDER BY o.seq").fetchall()
        import json
        import uuid

        out = []
        for op_id, entity, action, result, number in rows:
            reason = (json.loads(result) if result else {}).get("reason", "")
            out.append((str(uuid.UUID(op_id)), number or entity, action.replace("_", " "), reason))
        return out

    def resolve_conflict(self, op_id: str, keep: str, edited: dict | None = None) -> str:
        """``edited``: field -> the text the person typed."""
        from caseterm.sync import client

        return client.resolve_conflict(self.store(), op_id, keep, edited, typed=True)

    def dismiss_rejected(self, op_id: str) -> None:
        from caseterm.sync import client

        client.dismiss_rejected(self.store(), op_id)

    # --- writes -----------------------------------------------------------------------------

    def store(self) -> LocalStore:
        with self._store_lock:
            if self._store is None:
                from caseterm.store.uow import LocalStore, StoreSettings

                self.open()
                self._store = LocalStore(path=self.path, clock=self.clock,
                                         settings=StoreSettings(reopen_days=self.reopen_days))
            return self._store

    def write(self, login: str, action: Callable[[UnitOfWork, Any], T]) -> T:
        """Run ``action(uow, me)`` in one transaction as the agent ``login``."""
        from caseterm.services.lookup import agent_by_login

        with self.store().uow() as uow:
            return action(uow, agent_by_login(uow, login))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self._store is not None:
            self._store.close()

"""The client's side of sync: log in (register the store), push the outbox, pull changes.

The local store stays the only thing the workstation reads and writes; this runs beside
it (``caseterm sync``, or a TUI worker) and never holds a write transaction while it
waits on the network.

- **Log in** registers the store with the server, which hands out the short device code
  used in the numbers this store makes (``CAS-<code>-000001``). Only a store with no
  local work yet can be logged in (its numbers and agents would not match the server's);
  the token goes to ``credentials.json`` in the config directory, readable by its owner
  only.
- **Push** sends pending outbox ops in order, in batches; each op is marked with the
  server's answer: ``applied``, ``conflict`` (kept, with both values per field, for a
  person to decide: :func:`resolve_conflict`) or ``rejected`` (kept, with the reason).
  A batch whose answer is lost is simply sent again: the server answers replays from
  what it stored, so nothing is applied twice.
- **Pull** asks for the changes after the store's cursor, page by page; each page is
  applied in one transaction together with the new cursor, so a kill at any moment
  leaves the store at a page boundary, and the next sync goes on from there. A pulled
  row replaces the local one, then the fields of local ops still pending for it are laid
  back on top (they will be pushed next time). References to rows outside the agent's
  scope (a parent case in someone else's queue) are kept as they are, unresolved.
- **Conflicts** leave the server's values in the local row at once (the answer carries
  them) when the local row is the version the server answered about, so the store shows
  what the server holds even when the row does not come back in the pull (its change was
  pulled while the op was still pending: the person edited during a sync).
- **Failures.** Timeouts, refused or dropped connections, 5xx and 429 answers are tried
  again with growing delays (doubling from the first, each within ±25% jitter so that
  clients that failed together retry apart); in the end a :class:`SyncError` says what
  happened in words, and that nothing local was lost.

Tuning (environment; each also a keyword of :func:`sync` / :class:`Connection`):

- ``CASETERM_SYNC_PUSH_BATCH`` ops per push request (default 500; the server takes 2,000);
- ``CASETERM_SYNC_PULL_PAGE`` rows per pull page (default 1000; the server serves 5,000);
- ``CASETERM_SYNC_TIMEOUT`` seconds to wait for an answer (default 10);
- ``CASETERM_SYNC_ATTEMPTS`` tries per request (default 4);
- ``CASETERM_SYNC_BACKOFF`` seconds before the first retry (default 0.5; then doubling).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlmodel import func, select

from caseterm.errors import CasetermError, ValidationError
from caseterm.store import models as m
from caseterm.store.uow import OPS_TABLES, LocalStore, bump_ops_generation
from caseterm.store.wire import to_wire
from caseterm.sync.convert import ENTITIES, values_from_wire

log = logging.getLogger("caseterm.sync")
PUSH_BATCH = 500
PULL_PAGE = 1000
TIMEOUT = 10.0  # seconds to wait for an answer (connecting: at most 5)
ATTEMPTS = 4
BACKOFF = 0.5  # seconds before the first retry; doubling after each
MAX_PUSH_BATCH = 2_000  # what the server accepts in one push (server/app.py MAX_OPS)
MAX_PULL_PAGE = 5_000  # what the server serves in one page


class SyncError(CasetermError):
    """The server could not be reached or refused; nothing local was lost."""


def _setting(name: str, default: float, kind=float, *, low: float = 0, high: float | None = None):
    """A tuning value from the environment (``CASETERM_SYNC_…``), checked."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SyncError(f"{name}={raw!r} is not a number") from None
    if value <= low or (high is not None and value > high):
        raise SyncError(f"{name}={raw} is out of range (more than {low:g}" + (f", at most {high:g})" if high else ")"))
    return value


def push_batch() -> int:
    return _setting("CASETERM_SYNC_PUSH_BATCH", PUSH_BATCH, int, high=MAX_PUSH_BATCH)


def pull_page() -> int:
    return _setting("CASETERM_SYNC_PULL_PAGE", PULL_PAGE, int, high=MAX_PULL_PAGE)


# --- credentials -----------------------------------------------------------------------------


def credentials_path() -> Path:
    from caseterm.config import config_path

    return config_path().parent / "credentials.json"


def _read_credentials() -> dict[str, Any]:
    path = credentials_path()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SyncError(f"{path} cannot be read ({exc}); log in again") from None


def _save_credentials(device_id: str, url: str, token: str) -> Path:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _read_credentials() if path.exists() else {}
    data[device_id] = {"url": url, "token": token}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def token_for(device_id: str) -> tuple[str, str]:
    entry = _read_credentials().get(device_id)
    if not entry:
        raise SyncError("this store is not logged in to a server; run 'caseterm login URL --token TOKEN'")
    return entry["url"], entry["token"]


# --- talking to the server -----------------------------------------------------------------


_TLS: list = []  # the process's one TLS context, made on first use of an https server


def _tls_context(url: str):
    """What a connection verifies the server with: httpx's default (certifi's authorities)
    for https, made once per process (loading them costs 20 ms, a third of a small sync's time
    when every sync made its own), and nothing for plain http (a server on this machine or
    behind a TLS-terminating proxy)."""
    if not url.lower().startswith("https://"):
        return False
    if not _TLS:
        _TLS.append(httpx.create_ssl_context())
    return _TLS[0]


class Connection:
    """httpx to one server with one token; retries what can be retried, with backoff and
    jitter, and turns every failure into a SyncError a person can read.

    ``timeout`` (seconds to wait for an answer), ``attempts`` (tries per request) and
    ``backoff`` (seconds before the first retry; doubling) default to the
    ``CASETERM_SYNC_…`` settings; ``sleep`` is how it waits (tests pass a recorder)."""

    def __init__(self, url: str, token: str, *, attempts: int | None = None, transport=None,
                 timeout: float | None = None, backoff: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url.rstrip("/")
        self.attempts = attempts or _setting("CASETERM_SYNC_ATTEMPTS", ATTEMPTS, int)
        self.timeout = timeout or _setting("CASETERM_SYNC_TIMEOUT", TIMEOUT)
        self.backoff = backoff if backoff is not None else _setting("CASETERM_SYNC_BACKOFF", BACKOFF)
        self.sleep = sleep
        self.http = httpx.Client(base_url=self.url, timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
                                 transport=transport, verify=_tls_context(self.url),
                                 headers={"Authorization": f"Bearer {token}", "User-Agent": "caseterm-sync"})

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kw) -> dict[str, Any]:
        delay = self.backoff
        started = time.monotonic()
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.http.request(method, path, **kw)
            except httpx.TimeoutException:
                problem = f"the server at {self.url} did not answer within {self.timeout:g} s"
            except httpx.ConnectError:
                problem = (f"the server at {self.url} cannot be reached (nothing answers there: is it running, "
                           "and is the address right?)")
            except httpx.TransportError as exc:
                problem = (f"the connection to the server at {self.url} broke off before it answered "
                           f"({str(exc) or type(exc).__name__})")
            else:
                if response.status_code < 400:
                    return self._answer(response)
                detail = _detail(response)
                if response.status_code < 500 and response.status_code != 429:
                    raise SyncError(f"the server refused: {detail}")
                problem = f"the server at {self.url} had a problem ({response.status_code}: {detail})"
            if attempt == self.attempts:
                tries = f"tried {self.attempts} times over {time.monotonic() - started:.1f} s" if self.attempts > 1 else \
                    "tried once"
                raise SyncError(f"{problem}; {tries}. Your changes are kept in this store and go with the next sync")
            log.info("sync: %s; trying again in about %.1f s", problem, delay)
            self.sleep(delay * random.uniform(0.75, 1.25))  # jitter: clients that failed together retry apart
            delay *= 2
        raise AssertionError("unreachable")

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object of a good answer; anything else (a redirect, a login page of
        a proxy, another service on that port) is not caseterm's server."""
        if response.status_code >= 300:
            where = response.headers.get("location")
            raise SyncError(f"the server at {self.url} sends caseterm elsewhere ({response.status_code}"
                            + (f" to {where}" if where else "") + "); log in with the server's own address")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise SyncError(f"what answers at {self.url} is not a caseterm server (its answer is not sync data); "
                            "check the address. Your changes are kept in this store")
        return answer


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    return str(body.get("detail", response.reason_phrase)) if isinstance(body, dict) else response.reason_phrase


# --- log in --------------------------------------------------------------------------------


def login(store: LocalStore, url: str, token: str, name: str = "", transport=None) -> dict[str, str]:
    """Register this store with the server at ``url`` and keep the token; returns the
    device code and the agent."""
    if not url.startswith(("http://", "https://")):
        raise ValidationError("URL", "give the server's address, e.g. http://127.0.0.1:8765")
    with store.uow() as uow:
        state = uow.session.get(m.SyncState, 1)
        device_id = str(state.device_id)
        registered_to = state.server_url
        local_work = (uow.session.exec(select(func.count()).select_from(m.Case)).one()
                      + uow.session.exec(select(func.count()).select_from(m.Customer)).one()
                      + uow.session.exec(select(func.count()).select_from(m.OutboxOp)).one())
    if registered_to and registered_to.rstrip("/") != url.rstrip("/"):
        raise ValidationError("URL", f"this store syncs with {registered_to}; use a new store (--db) for another "
                                     "server")
    if not registered_to and local_work:
        raise ValidationError("store", "it already holds local work (cases, customers or changes) made before "
                                       "logging in; log in with a new store (--db NEW.sqlite)")
    conn = Connection(url, token, transport=transport)
    try:
        answer = conn.call("POST", "/api/v1/devices", json={"device_id": device_id, "name": name})
    finally:
        conn.close()
    with store.uow() as uow:
        state = uow.session.get(m.SyncState, 1)
        if not state.server_url:
            # the store's own bootstrap admin gives way to the server's agents (pulled next)
            uow.session.execute(text("DELETE FROM agents"))
        state.server_url = url.rstrip("/")
        state.device_code = answer["device_code"]
        state.agent_login = answer["agent"]
        state.registered_at = state.registered_at or uow.now()
        uow.session.add(state)
    _save_credentials(device_id, url.rstrip("/"), token)
    return answer


# --- sync ----------------------------------------------------------------------------------


@dataclass
class SyncReport:
    pushed: int = 0
    applied: int = 0
    conflicts: int = 0
    rejected: int = 0
    pulled: int = 0
    evicted: int = 0
    skipped: list[str] = field(default_factory=list)  # pulled rows that could not be stored, with why
    cursor: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"pushed": self.pushed, "applied": self.applied, "conflicts": self.conflicts,
                "rejected": self.rejected, "pulled": self.pulled, "evicted": self.evicted,
                "skipped": self.skipped, "cursor": self.cursor}


Progress = Callable[[str, int, int | None], None]  # (phase, done, total or None)
_COUNTERS = {"applied": "applied", "conflict": "conflicts", "rejected": "rejected"}


def sync(store: LocalStore, *, progress: Progress | None = None, transport=None, **connection: Any) -> SyncReport:
    """Push every pending op, then pull everything new. ``connection``: ``timeout``,
    ``attempts``, ``backoff``, ``sleep`` for the :class:`Connection`."""
    with store.uow() as uow:
        state = uow.session.get(m.SyncState, 1)
        device_id = str(state.device_id)
    url, token = token_for(device_id)
    conn = Connection(url, token, transport=transport, **connection)
    report = SyncReport()
    try:
        push(store, conn, device_id, report, progress)
        pull(store, conn, report, progress)
    finally:
        conn.close()
    return report


@dataclass
class _Batch:
    ops: list[dict[str, Any]]  # as sent
    seqs: dict[str, int]  # op id -> outbox seq


def _read_batch(store: LocalStore, after: int, size: int) -> _Batch:
    with store.uow() as uow:  # no transaction is held while the network works
        batch = uow.session.exec(select(m.OutboxOp).where(m.OutboxOp.state == "pending", m.OutboxOp.seq > after)
                                 .order_by(m.OutboxOp.seq).limit(size)).all()
        return _Batch([{"op_id": str(op.op_id), "entity": op.entity, "row_id": str(op.row_id), "kind": op.kind,
                        "action": op.action, "actor_id": str(op.actor_id) if op.actor_id else None, "base": op.base,
                        "data": op.data, "version": op.version} for op in batch],
                      {str(op.op_id): op.seq for op in batch})


def _check_answer(batch: _Batch, answer: dict[str, Any]) -> list[dict[str, Any]]:
    results = answer.get("results")
    if not isinstance(results, list) or any(not isinstance(r, dict) or r.get("op_id") not in batch.seqs
                                            or r.get("status") not in _COUNTERS for r in results):
        raise SyncError("the server's answer to the push does not match what was sent; your changes are kept "
                        "and go with the next sync")
    return results


def _write_answers(store: LocalStore, batch: _Batch, results: list[dict[str, Any]], report: SyncReport) -> None:
    with store.uow() as uow:
        # the batch's ops in one query (not one per answer), written back together at commit
        mine = {op.seq: op for op in uow.session.exec(select(m.OutboxOp).where(
            m.OutboxOp.seq.in_(list(batch.seqs.values()))))}
        for result in results:
            op = mine[batch.seqs[result["op_id"]]]
            op.state = result["status"]
            op.attempts += 1
            op.result = {k: v for k, v in result.items() if k != "op_id"}
            uow.session.add(op)
            if op.state == "conflict":
                _take_theirs(uow.session, op)
            counter = _COUNTERS[result["status"]]
            setattr(report, counter, getattr(report, counter) + 1)
        state = uow.session.get(m.SyncState, 1)
        state.last_push_at = uow.now()
        uow.session.add(state)


def push(store: LocalStore, conn: Connection, device_id: str, report: SyncReport,
         progress: Progress | None = None) -> None:
    """Send the pending ops in order, a batch per request, one request at a time (the
    server applies a device's ops in the order they were made). While a batch is on its
    way, this store writes the answers to the one before and reads the next: the two
    sides work at once instead of taking turns. A failure stops it with every answer
    received so far written."""
    from concurrent.futures import ThreadPoolExecutor

    with store.uow() as uow:
        total = uow.session.exec(select(func.count()).select_from(m.OutboxOp).where(m.OutboxOp.state == "pending")).one()
    size = push_batch()
    done = 0
    batch = _read_batch(store, 0, size)
    answered: tuple[_Batch, list[dict[str, Any]]] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="caseterm-push") as network:
        while batch.ops:
            sending = network.submit(conn.call, "POST", "/api/v1/sync/push",
                                     json={"device_id": device_id, "ops": batch.ops})
            try:
                if answered is not None:
                    _write_answers(store, *answered, report)
                    answered = None
                following = _read_batch(store, max(batch.seqs.values()), size)
            finally:
                answer = sending.result()  # raises what the request raised (the answers before it are written)
            answered = (batch, _check_answer(batch, answer))
            done += len(batch.ops)
            report.pushed += len(batch.ops)
            if progress:
                progress("push", done, total)
            batch = following
    if answered is not None:
        _write_answers(store, *answered, report)


def _take_theirs(session, op: m.OutboxOp) -> None:
    """A conflict: the server's values stand, in this store too, until a person decides.

    Only when the local row is the very version the server answered about (its other
    fields are the server's): an older local row gets the server's whole row with the
    pull, and laying just the conflicting fields on it would mix two versions (a status
    of the server's on a state of the old row's). Fields a later local op (still
    pending) sets again are left to that op."""
    fields = (op.result or {}).get("conflicts") or {}
    model = ENTITIES.get(op.entity)
    row = session.get(model, op.row_id) if model is not None else None
    if row is None or not fields or row.version != (op.result or {}).get("version"):
        return
    later: set[str] = set()
    for other in session.exec(select(m.OutboxOp).where(m.OutboxOp.row_id == op.row_id, m.OutboxOp.seq > op.seq,
                                                       m.OutboxOp.state == "pending")):
        later |= set(other.data or {})
    try:
        theirs = values_from_wire(model, {name: c.get("theirs") for name, c in fields.items() if name not in later})
    except (ValidationError, AttributeError) as exc:
        log.warning("conflict on %s %s: the server's values cannot be stored (%s)", op.entity, op.row_id, exc)
        return
    for name, value in theirs.items():
        setattr(row, name, value)  # no outbox op: this is the server's value, not a change
    session.add(row)


def pull(store: LocalStore, conn: Connection, report: SyncReport, progress: Progress | None = None) -> None:
    """Pages after the store's cursor, each applied with its cursor; the next page is
    asked for while this one is written (the server's work and the store's overlap).
    A failure to get a page comes after the pages before it are stored."""
    with store.uow() as uow:
        cursor = uow.session.get(m.SyncState, 1).pull_cursor
    limit = pull_page()
    page = _checked(conn.call("GET", "/api/v1/sync/pull", params={"cursor": cursor, "limit": limit}), conn)
    while True:
        following = _Fetch(conn, page["cursor"], limit) if page["has_more"] else None
        apply_page(store, page, report)  # (should it fail, a request in flight ends on its own)
        report.cursor = page["cursor"]
        if progress:
            progress("pull", report.pulled, None)
        if following is None:
            break
        page = following.result()


class _Fetch(threading.Thread):
    """One pull page, asked for in the background (a daemon: an interrupted sync does
    not wait for it)."""

    def __init__(self, conn: Connection, cursor: int, limit: int) -> None:
        super().__init__(name="caseterm-sync-pull", daemon=True)
        self.conn, self.cursor, self.limit = conn, cursor, limit
        self.page: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.page = _checked(self.conn.call("GET", "/api/v1/sync/pull",
                                                params={"cursor": self.cursor, "limit": self.limit}), self.conn)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that waits for it
            self.error = exc

    def result(self) -> dict[str, Any]:
        self.join()
        if self.error is not None:
            raise self.error
        return self.page


def _checked(page: Any, conn: Connection) -> dict[str, Any]:
    if not (isinstance(page.get("rows"), list) and isinstance(page.get("cursor"), int)
            and isinstance(page.get("has_more"), bool)):
        raise SyncError(f"what answers at {conn.url} is not a caseterm server (its answer is not sync data); "
                        "check the address. Your changes are kept in this store")
    return page


def apply_page(store: LocalStore, page: dict[str, Any], report: SyncReport) -> None:
    """One pulled page and the cursor after it, in one transaction. Foreign keys are not
    enforced for it: a scoped client holds rows that refer to rows it may not see (a
    parent case in another queue), and a page's rows come in change order.

    The rows are written a table at a time (one prepared upsert per table and column
    set, many rows each); should that fail (a bad row, or an order that matters to a
    unique column), the page is written again row by row, in change order, and only
    the rows that cannot be stored are skipped (and reported)."""
    from caseterm.store.uow import UnitOfWork

    with store.engine.connect() as conn:
        driver = conn.connection.driver_connection
        driver.execute("PRAGMA foreign_keys = OFF")  # (only outside a transaction; SQLAlchemy's begin comes next)
        try:
            with UnitOfWork(conn, store.clock, store.settings, store.path) as uow:
                session = uow.session
                pending = _pending_fields(session)
                prepared: list[tuple[str, Any, dict[str, Any]]] = []
                for item in page["rows"]:
                    entity, row = item.get("entity"), item.get("row") or {}
                    model = ENTITIES.get(entity)
                    if model is None:
                        report.skipped.append(f"{entity}: not a table this caseterm knows (update caseterm)")
                        continue
                    try:
                        values = values_from_wire(model, row, allow_server_owned=True)
                        values.update(pending.get((entity, values["id"]), {}))
                    except Exception as exc:  # noqa: BLE001 - one bad row is reported, the page goes on
                        _skip(report, entity, row.get("id"), exc)
                        continue
                    prepared.append((entity, model, values))
                stored = _store_rows(session, prepared, report)
                report.pulled += len(stored)
                articles = [values.get("number", "") for entity, _, values in stored if entity == "kb_articles"]
                if any(item.get("entity") in OPS_TABLES for item in page["rows"]):
                    bump_ops_generation(session)  # routing and SLA clocks read them afresh
                for gone in page.get("evict", []):
                    report.evicted += _evict(session, gone["id"])
                state = session.get(m.SyncState, 1)
                state.pull_cursor = page["cursor"]
                state.last_pull_at = uow.now()
                session.add(state)
            conn.commit()
        finally:
            driver.execute("PRAGMA foreign_keys = ON")
    if articles:
        from caseterm.search import kb_index

        kb_index.articles_changed(store.path, articles)


_UPSERTS: dict[tuple[str, tuple[str, ...]], Any] = {}


def _upsert(model, columns: tuple[str, ...]):
    """INSERT … ON CONFLICT (id) DO UPDATE of ``columns``, built once per table and column set."""
    key = (model.__tablename__, columns)
    statement = _UPSERTS.get(key)
    if statement is None:
        from sqlalchemy.dialects.sqlite import insert

        plain = insert(model.__table__)
        statement = plain.on_conflict_do_update(index_elements=["id"],
                                                set_={k: plain.excluded[k] for k in columns if k != "id"})
        _UPSERTS[key] = statement
    return statement


def _store_rows(session, prepared: list[tuple[str, Any, dict[str, Any]]], report: SyncReport) -> list:
    """Upsert the prepared rows; the ones stored (the others are reported as skipped)."""
    groups: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
    for entity, _, values in prepared:
        groups.setdefault((entity, tuple(sorted(values))), []).append(values)
    try:
        with session.begin_nested():
            for (entity, columns), rows in groups.items():
                session.execute(_upsert(ENTITIES[entity], columns), rows)
        return prepared
    except Exception as exc:  # noqa: BLE001 - found row by row below
        log.info("a pulled page goes in row by row (%s)", exc)
    stored = []
    for entity, model, values in prepared:
        try:
            with session.begin_nested():
                session.execute(_upsert(model, tuple(sorted(values))), [values])
        except Exception as exc:  # noqa: BLE001 - one bad row is reported, the page goes on
            _skip(report, entity, values.get("id"), exc)
            continue
        stored.append((entity, model, values))
    return stored


def _skip(report: SyncReport, entity: str, row_id: Any, exc: Exception) -> None:
    report.skipped.append(f"{entity} {row_id}: {exc}")
    log.warning("pulled row skipped: %s %s: %s", entity, row_id, exc)


def _pending_fields(session) -> dict[tuple[str, Any], dict[str, Any]]:
    """Local changes not yet pushed, by row: laid back on top of what is pulled."""
    out: dict[tuple[str, Any], dict[str, Any]] = {}
    for op in session.exec(select(m.OutboxOp).where(m.OutboxOp.state == "pending").order_by(m.OutboxOp.seq)):
        model = ENTITIES.get(op.entity)
        if model is None:
            continue
        try:
            values = values_from_wire(model, {k: v for k, v in op.data.items() if k not in ("version", "updated_at")})
        except ValidationError:
            continue
        out.setdefault((op.entity, op.row_id), {}).update(values)
    return out


def _evict(session, case_id: str) -> int:
    """A case that left this agent's scope: it and its timeline leave this store."""
    ident = uuid.UUID(case_id)
    case = session.get(m.Case, ident)
    if case is None:
        return 0
    for model in (m.Activity, m.CaseArticle):
        for row in session.exec(select(model).where(model.case_id == ident)):
            session.delete(row)
    session.delete(case)
    for op in session.exec(select(m.OutboxOp).where(m.OutboxOp.row_id == ident, m.OutboxOp.state == "conflict")):
        op.state = "evicted"
        session.add(op)
    return 1


# --- conflicts -----------------------------------------------------------------------------


@dataclass
class ConflictView:
    op_id: str
    entity: str
    row_id: str
    label: str  # e.g. the case number
    fields: dict[str, dict[str, Any]]  # field -> {base, mine, theirs}
    made_at: datetime


def conflicts(store: LocalStore) -> list[ConflictView]:
    out = []
    with store.uow() as uow:
        for op in uow.session.exec(select(m.OutboxOp).where(m.OutboxOp.state == "conflict").order_by(m.OutboxOp.seq)):
            label = op.entity
            if op.entity == "cases" and (case := uow.session.get(m.Case, op.row_id)) is not None:
                label = case.number
            out.append(ConflictView(str(op.op_id), op.entity, str(op.row_id), label,
                                    (op.result or {}).get("conflicts", {}), op.created_at))
    return out


def value_from_text(model, name: str, text: str) -> Any:
    """What a person typed for a field (``caseterm sync resolve --set``, F8's edit) as its
    wire value: the text itself for a column held as text (words, ids, times, amounts),
    JSON for the rest (``2``, ``true``, ``null``, a list), so "2" is a priority and not
    the word "2". Checking it against the column is ``values_from_wire``'s."""
    import sqlalchemy as sa

    from caseterm.store.types import JsonText

    column = model.__table__.columns.get(name)
    if column is None or not isinstance(column.type, (sa.Integer, sa.Float, sa.Boolean, JsonText)):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text  # refused in a moment with what the column needs ("must be a whole number")


def resolve_conflict(store: LocalStore, op_id: str, keep: str, edited: dict[str, Any] | None = None, *,
                     typed: bool = False) -> str:
    """Decide a conflict: ``theirs`` (the server's values stand), ``mine`` (send mine again,
    now over theirs) or ``edit`` (send ``edited`` values; ``typed``: as a person typed
    them, see :func:`value_from_text`). Mine and edited become a new op, pushed with the
    next sync."""
    if keep not in ("mine", "theirs", "edit"):
        raise ValidationError("keep", "mine, theirs or edit")
    with store.uow() as uow:
        try:
            ident = uuid.UUID(op_id)
        except ValueError:
            raise ValidationError("op", f"'{op_id}' is not an op id (see 'caseterm sync conflicts')") from None
        op = uow.session.exec(select(m.OutboxOp).where(m.OutboxOp.op_id == ident)).first()
        if op is None or op.state != "conflict":
            raise ValidationError("op", f"{op_id} is not an open conflict")
        fields = (op.result or {}).get("conflicts", {})
        op.state = "resolved"
        op.result = {**(op.result or {}), "kept": keep}
        uow.session.add(op)
        if keep == "theirs":
            return "the server's values stand"
        wanted = {name: c["mine"] for name, c in fields.items()} if keep == "mine" else dict(edited or {})
        unknown = set(wanted) - set(fields)
        if unknown:
            raise ValidationError(sorted(unknown)[0], "is not one of the conflicting fields")
        model = ENTITIES[op.entity]
        row = uow.session.get(model, op.row_id)
        if row is None:
            raise ValidationError("op", "the row is no longer in this store")
        if typed and keep == "edit":
            wanted = {name: value_from_text(model, name, str(text)) for name, text in wanted.items()}
        values = values_from_wire(model, wanted)
        uow.update(row, op.actor_id, f"resolve_conflict:{op.action}", **values)
        # the new op's base is what the server has now (theirs), so it applies cleanly
        new = uow.session.exec(select(m.OutboxOp).where(m.OutboxOp.row_id == op.row_id, m.OutboxOp.state == "pending")
                               .order_by(m.OutboxOp.seq.desc())).first()
        if new is not None:
            new.base = {name: fields[name]["theirs"] for name in (new.base or {}) if name in fields} | {
                k: v for k, v in (new.base or {}).items() if k not in fields}
            uow.session.add(new)
        return f"{'your' if keep == 'mine' else 'the edited'} values go to the server with the next sync"


def dismiss_rejected(store: LocalStore, op_id: str) -> None:
    """The person has read why the server refused a change: it leaves the list (kept in
    the outbox as ``dismissed``)."""
    try:
        ident = uuid.UUID(op_id)
    except ValueError:
        raise ValidationError("op", f"'{op_id}' is not an op id") from None
    with store.uow() as uow:
        op = uow.session.exec(select(m.OutboxOp).where(m.OutboxOp.op_id == ident)).first()
        if op is not None and op.state == "rejected":
            op.state = "dismissed"
            uow.session.add(op)


def status(store: LocalStore) -> dict[str, Any]:
    with store.uow() as uow:
        state = uow.session.get(m.SyncState, 1)
        counts = dict(uow.session.exec(select(m.OutboxOp.state, func.count()).group_by(m.OutboxOp.state)).all())
        return {"server": state.server_url, "agent": state.agent_login, "device_code": state.device_code,
                "cursor": state.pull_cursor, "last_push_at": to_wire(state.last_push_at),
                "last_pull_at": to_wire(state.last_pull_at), "pending": counts.get("pending", 0),
                "conflicts": counts.get("conflict", 0), "rejected": counts.get("rejected", 0)}


__all__ = ["Connection", "ConflictView", "SyncError", "SyncReport", "apply_page", "conflicts", "dismiss_rejected", "login",
           "resolve_conflict", "status", "sync", "token_for"]

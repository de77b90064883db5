"""The server's side of sync (DESIGN.md section 4): apply pushed ops, serve pulls.

**The change log.** On the server every write goes through :class:`ServerUnitOfWork`:
instead of an outbox op it bumps the row's ``version`` and logs a ``server_changes``
row whose ``seq`` numbers the change (a transaction's log rows go in one insert just
before it commits, in the order the changes were made). Pull serves rows by that
sequence. On PostgreSQL, where several server processes write at once, a transaction
takes an advisory lock before its first change-log row and holds it to commit, so
sequence numbers are handed out in commit order: a reader that has seen ``seq`` N can
never later find a committed change below N (the late-commit hole). SQLite writers are
serialised by ``BEGIN IMMEDIATE`` already.

**Push.** A batch of ops is applied in order, in one transaction, idempotently: the
answer to an op id is stored with it (``server_applied_ops``) and a replay gets the
stored answer. The rows a batch reads are read up front (a few queries per table, not a
few per op) and its writes reach the database together at the end; an op the database
itself refuses at that point has the batch applied again op by op, each in a savepoint,
so that only that op is rejected (``apply_push``). An op is checked before it changes
anything: its table and columns (``sync.convert``), the caller's scope
(``sync.scope``), the row's references, and for cases the state machine (a status must
belong to its state). An update merges field by field: a field whose server value still
equals the op's ``base`` takes the new value; a field someone else changed meanwhile is
a **conflict** (the server's value stands, both are reported for a person to decide); a
field that already holds the new value is left. Creates and appends of a row the server
already has are answered as applied (a client that lost the answer sends them again).

**Pull.** Rows changed after the caller's cursor, in sequence order, each as it is now
(a tombstone is a row with ``deleted``), filtered by the caller's scope. A case that
changed but is outside the scope now is sent as an eviction (its id only). When a case
comes into scope (its owner, queue or creator changed), its customer, asset and timeline
come with it, since the client has never seen them.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from caseterm.domain.enums import CaseState, StatusReason
from caseterm.errors import CasetermError, PermissionDenied, ValidationError
from caseterm.store import models as m
from caseterm.store.uow import OPS_TABLES, UnitOfWork, bump_ops_generation
from caseterm.store.wire import row_to_wire, to_wire
from caseterm.sync.convert import ENTITIES, model_for, values_from_wire
from caseterm.sync.scope import Scope

log = logging.getLogger("caseterm.sync")
SERVER_DEVICE_CODE = "SRV"  # in the numbers the server itself makes (cases created over the REST API)
PG_CHANGE_LOCK = 0x6361_7365  # the advisory lock that orders change-log sequence numbers ("case")
SCOPE_FIELDS = frozenset({"owner_id", "queue_id", "created_by_id"})
# a case's lifecycle fields: merged together or not at all (the state machine's unit)
LIFECYCLE = frozenset({"state", "status_reason", "resolution", "resolved_at", "cancelled_at", "merged_into_id",
                       "reopen_count"})


class ServerUnitOfWork(UnitOfWork):
    """A unit of work on the server's database: writes bump the row's version and log
    a numbered change (no outbox)."""

    _locked = False

    def __init__(self, *args, read_only: bool = False, **kw) -> None:
        super().__init__(*args, **kw)
        self.read_only = read_only

    def __enter__(self) -> ServerUnitOfWork:
        self.change_log: list[dict[str, Any]] = []  # this transaction's change-log rows, written at commit
        super().__enter__()
        return self

    @property
    def device_code(self) -> str:
        return SERVER_DEVICE_CODE

    def lock_changes(self) -> None:
        """PostgreSQL: take the change-log lock now (held to commit). A transaction takes it
        at its first write anyway; one that reads what it will change takes it first, so
        that what it reads is what the last writer committed."""
        if not self._locked and self.engine.dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_CHANGE_LOCK})
            self._locked = True

    def _op_data(self, row: m.SyncedRow) -> dict[str, Any]:
        return {}  # the change log names the row; pulls send the row as it is then

    def _record(self, row: m.SyncedRow, kind, action: str, actor_id, *, data: dict, base: dict | None = None):
        if self.read_only:
            raise RuntimeError("a write in a read-only unit of work (ServerDatabase.reader)")
        self.lock_changes()
        if row.__tablename__ in OPS_TABLES:
            bump_ops_generation(self.session)
        row.version = (row.version or 0) + 1
        self.session.add(row)
        self.change_log.append({"entity": row.__tablename__, "row_id": row.id, "version": row.version,
                                "fields": ",".join(sorted(base)) if base else "", "changed_at": self.now()})

    def __exit__(self, exc_type, exc, tb) -> None:
        log_rows, self.change_log = self.change_log, []
        if exc_type is None and log_rows:
            try:  # one insert for them all, in the order the changes were made (their seq order)
                self.session.execute(insert(m.ServerChange), log_rows)
            except BaseException as error:
                self._locked = False
                super().__exit__(type(error), error, error.__traceback__)
                raise
        self._locked = False
        super().__exit__(exc_type, exc, tb)


# --- push ------------------------------------------------------------------------------------


@dataclass
class OpResult:
    op_id: str
    status: str  # applied | conflict | rejected
    version: int | None = None
    reason: str | None = None  # rejected: why, in words
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> {base, mine, theirs}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op_id": self.op_id, "status": self.status}
        if self.version is not None:
            out["version"] = self.version
        if self.reason:
            out["reason"] = self.reason
        if self.conflicts:
            out["conflicts"] = self.conflicts
        return out


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Redo(Exception):
    """The quick pass over a batch hit an op the store refused at write time: start again,
    carefully (each op in its own savepoint)."""


PREFETCH_CHUNK = 500  # ids per IN (...) when a batch's rows are read up front
LAST_SEEN_EVERY = 60  # seconds: how fresh a device's "last seen" is kept


class _Batch:
    """The rows one pushed batch reads, read up front in a few queries and kept here with
    the rows the batch creates (not yet flushed, so the session could not find them
    without flushing: a flush per op is what made pushes slow).

    The writes reach the database together, at the end, with foreign keys checked at
    commit: the session orders its inserts by table only along relationships, which
    caseterm's models do not declare, so a timeline entry may go in before its case
    (PostgreSQL's keys are DEFERRABLE for this: migration 0009)."""

    def __init__(self, session) -> None:
        self.session = session
        self.rows: dict[tuple[type, uuid.UUID], Any] = {}

    def get(self, model, row_id: uuid.UUID | None):
        if row_id is None:
            return None
        key = (model, row_id)
        if key not in self.rows:
            self.rows[key] = self.session.get(model, row_id)
        return self.rows[key]

    def add(self, row) -> None:
        self.rows[(type(row), row.id)] = row

    def prefetch(self, ops: list[dict[str, Any]]) -> None:
        """Each op's row and every row its values refer to, one query per table and chunk."""
        wanted: dict[type, set[uuid.UUID]] = {}
        for op in ops:
            model = ENTITIES.get(op.get("entity"))
            if model is None:
                continue
            try:
                wanted.setdefault(model, set()).add(uuid.UUID(str(op["row_id"])))
                data = op.get("data") or {}
                for name, target in _references(model):
                    if data.get(name):
                        wanted.setdefault(target, set()).add(uuid.UUID(str(data[name])))
            except (KeyError, ValueError, TypeError, AttributeError):
                continue  # a malformed op: its own checks reject it in a moment
        for model, ids in wanted.items():
            ids = sorted(ids)
            for start in range(0, len(ids), PREFETCH_CHUNK):
                chunk = ids[start:start + PREFETCH_CHUNK]
                found = {row.id: row for row in self.session.exec(select(model).where(model.id.in_(chunk)))}
                for row_id in chunk:
                    self.rows[(model, row_id)] = found.get(row_id)

    def forget_added(self, keys: list[tuple[type, uuid.UUID]]) -> None:
        for key in keys:
            self.rows.pop(key, None)


def apply_push(uow_factory, agent_id: uuid.UUID, device_id: uuid.UUID, ops: list[dict[str, Any]]) -> list[dict]:
    """Apply ``ops`` (in order) for the agent, all in one transaction; the answers.

    The quick pass applies them one after another and writes everything at the end (one
    flush: the inserts go together). An op the store refuses only when written (a
    duplicate, a missing required value) would take the whole batch down with it, so then
    the batch is applied again, each op in a savepoint of its own: that op is rejected
    and the others stand. Either way the batch commits or rolls back as one, with the
    stored answers (``server_applied_ops``) that make a replay apply nothing twice."""
    try:
        return _push(uow_factory, agent_id, device_id, ops, careful=False)
    except _Redo:
        return _push(uow_factory, agent_id, device_id, ops, careful=True)


def _push(uow_factory, agent_id: uuid.UUID, device_id: uuid.UUID, ops: list[dict[str, Any]], *,
          careful: bool) -> list[dict]:
    try:
        with uow_factory() as uow:
            uow.defer_flush = True
            uow.lock_changes()  # PostgreSQL: one batch at a time, reading what the last one committed
            _check_device(uow, device_id, agent_id)
            op_ids = [uuid.UUID(str(op["op_id"])) for op in ops]
            answers: dict[uuid.UUID, dict] = {}
            for start in range(0, len(op_ids), PREFETCH_CHUNK):
                for stored in uow.session.exec(select(m.ServerAppliedOp).where(
                        m.ServerAppliedOp.op_id.in_(op_ids[start:start + PREFETCH_CHUNK]))):
                    answers[stored.op_id] = stored.result  # a replay: the same answer, nothing applied twice
            agent = uow.session.get(m.Agent, agent_id)
            if not careful:  # foreign keys checked at commit, for this transaction only (see _Batch)
                uow.session.execute(text("SET CONSTRAINTS ALL DEFERRED" if uow.engine.dialect.name == "postgresql"
                                         else "PRAGMA defer_foreign_keys = ON"))
            batch = _Batch(uow.session)
            batch.prefetch([op for op, op_id in zip(ops, op_ids) if op_id not in answers])
            scope = Scope.of(uow.session, agent, lookup=batch.get)
            now, stored = uow.now(), []
            for op, op_id in zip(ops, op_ids):
                if op_id in answers:
                    continue
                result = (_apply_carefully if careful else _apply_quickly)(uow, batch, scope, agent, op, str(op_id))
                answers[op_id] = result.to_dict()
                stored.append({"op_id": op_id, "device_id": device_id, "result": answers[op_id], "applied_at": now})
                if op.get("entity") == "cases":
                    scope.forget(uuid.UUID(str(op["row_id"])))  # its owner, queue or creator may have moved
                    scope.forget_customers()
            if stored:
                uow.session.execute(insert(m.ServerAppliedOp), stored)
    except IntegrityError:
        if careful:
            raise
        raise _Redo from None
    return [answers[op_id] for op_id in op_ids]


def _check_device(uow: UnitOfWork, device_id: uuid.UUID, agent_id: uuid.UUID) -> None:
    """Pushes come from a registered store of the token's agent."""
    device = uow.session.get(m.ServerDevice, device_id)
    if device is None:
        raise PermissionDenied("this store is not registered; run 'caseterm login URL --token TOKEN'")
    if device.agent_id != agent_id:
        raise PermissionDenied("this store is registered to another agent")
    now = uow.now()
    if device.last_seen_at is None or (now - device.last_seen_at).total_seconds() >= LAST_SEEN_EVERY:
        device.last_seen_at = now  # not on every push: a write per request for a figure kept to the minute
        uow.session.add(device)


def _refusal(op_id: str, exc: Exception) -> OpResult:
    if isinstance(exc, IntegrityError):  # a row missing a required value, or colliding with another
        why = str(exc.orig).splitlines()[0] if exc.orig is not None else "it breaks a rule of the store"
        return OpResult(op_id, "rejected", reason=f"the server's store refused the row: {why}")
    return OpResult(op_id, "rejected", reason=getattr(exc, "reason", None) or str(exc))


def _apply_quickly(uow, batch: _Batch, scope: Scope, agent: m.Agent, op: dict[str, Any], op_id: str) -> OpResult:
    written = len(uow.change_log)
    try:
        return _apply(uow, batch, scope, agent, op, op_id)
    except (_Rejected, CasetermError) as exc:
        if len(uow.change_log) != written:
            raise _Redo from None  # refused halfway through its writes: only a savepoint undoes those
        return _refusal(op_id, exc)


def _apply_carefully(uow, batch: _Batch, scope: Scope, agent: m.Agent, op: dict[str, Any], op_id: str) -> OpResult:
    before, written = set(batch.rows), len(uow.change_log)
    try:
        with uow.session.begin_nested():  # leaving it flushes this op's writes: a refusal rolls back to here
            return _apply(uow, batch, scope, agent, op, op_id)
    except (_Rejected, CasetermError, IntegrityError) as exc:
        batch.forget_added([key for key in batch.rows if key not in before])
        del uow.change_log[written:]
        return _refusal(op_id, exc)


def _apply(uow: ServerUnitOfWork, batch: _Batch, scope: Scope, agent: m.Agent, op: dict[str, Any],
           op_id: str) -> OpResult:
    entity, kind = op["entity"], op["kind"]
    model = model_for(entity)
    row_id = uuid.UUID(str(op["row_id"]))
    if op.get("actor_id") not in (None, str(agent.id)):
        raise _Rejected("the op was made by another agent than the token's")
    data = values_from_wire(model, op.get("data") or {})
    # Current: on PostgreSQL the batch holds the change-log lock, taken before anything was
    # read, so no other server process writes meanwhile (SQLite's writers are serialised).
    row = batch.get(model, row_id)
    if kind in ("create", "append"):
        if row is not None:
            return OpResult(op_id, "applied", version=row.version)  # already here (a lost answer, re-sent)
        if data.get("id", row_id) != row_id:
            raise _Rejected("the row's id differs from the op's row id")
        data["id"] = row_id
        if (why := scope.write_refusal(entity, None, data)) is not None:
            raise _Rejected(why)
        _check_references(batch, model, data)
        _check_case(entity, None, data)
        created = uow.create(model(**data), agent.id, op.get("action") or "sync")
        batch.add(created)
        return OpResult(op_id, "applied", version=created.version)
    if kind != "update":
        raise _Rejected(f"unknown op kind '{kind}'")
    if row is None:
        raise _Rejected(f"the server has no such {entity[:-1].replace('_', ' ')}")
    base = values_from_wire(model, op.get("base") or {})
    if (why := scope.write_refusal(entity, row, {**row_to_wire(row), **data})) is not None:
        raise _Rejected(why)
    clean, conflicts = {}, {}
    for name, mine in data.items():
        theirs = getattr(row, name)
        if to_wire(theirs) == to_wire(mine):
            continue  # already so
        if name in base and to_wire(theirs) != to_wire(base[name]):
            conflicts[name] = {"base": to_wire(base[name]), "mine": to_wire(mine), "theirs": to_wire(theirs)}
        else:
            clean[name] = mine
    if entity == "cases" and conflicts.keys() & LIFECYCLE:
        # a case's state, status and outcome move together: when any of them conflicts, the
        # rest of this op's lifecycle change waits with it (else "resolved, on hold")
        for name in list(clean):
            if name in LIFECYCLE:
                theirs = to_wire(getattr(row, name))
                conflicts[name] = {"base": to_wire(base[name]) if name in base else theirs,
                                   "mine": to_wire(clean.pop(name)), "theirs": theirs}
    if clean:
        _check_references(batch, model, clean)
        _check_case(entity, row, clean)
        uow.update(row, agent.id, op.get("action") or "sync", **clean)
    if conflicts:
        return OpResult(op_id, "conflict", version=row.version, conflicts=conflicts)
    return OpResult(op_id, "applied", version=row.version)


_REFERENCES: dict[type, list[tuple[str, type]]] = {}


def _references(model) -> list[tuple[str, type]]:
    """``model``'s foreign-key columns and the synced table each points to."""
    if model not in _REFERENCES:
        _REFERENCES[model] = [(column.name, ENTITIES[next(iter(column.foreign_keys)).column.table.name])
                              for column in model.__table__.columns if column.foreign_keys]
    return _REFERENCES[model]


def _check_references(batch: _Batch, model, values: dict[str, Any]) -> None:
    """Every foreign key names a row the server has."""
    for name, target in _references(model):
        value = values.get(name)
        if value is not None and batch.get(target, value) is None:
            what = target.__tablename__[:-1].replace("_", " ")
            raise ValidationError(name, f"refers to a {what} the server does not have")


def _check_case(entity: str, before: m.Case | None, values: dict[str, Any]) -> None:
    """A case's status must belong to its state (the state machine, on the merged row)."""
    if entity != "cases":
        return
    state = values.get("state", before.state if before else CaseState.ACTIVE.value)
    status = values.get("status_reason", before.status_reason if before else StatusReason.NEW.value)
    try:
        parsed_state, parsed_status = CaseState(state), StatusReason(status)
    except ValueError:
        raise ValidationError("status_reason", f"'{status}' in state '{state}' is not a case status") from None
    if parsed_status.state is not parsed_state:
        raise ValidationError("status_reason", f"{parsed_status.label.lower()} is not a status of a "
                                               f"{parsed_state.value} case")


# --- pull ------------------------------------------------------------------------------------


def pull(uow: UnitOfWork, agent: m.Agent, cursor: int, limit: int) -> dict[str, Any]:
    """The changes after ``cursor`` the agent may see: ``rows`` (entity, row in wire form),
    ``evict`` (entity, id), the next ``cursor`` and ``has_more``."""
    session = uow.session
    seq = m.ServerChange.seq
    # The window: the next ``limit`` changes of the whole log. The caller gets those of them
    # that concern them and a cursor past all of them. (On PostgreSQL, sequence numbers are
    # handed out in commit order, so a change below ``upper`` cannot commit after this.)
    window = select(seq).where(seq > cursor).order_by(seq).limit(limit).subquery()
    count, upper = session.exec(select(func.count(), func.max(window.c.seq)).select_from(window)).one()
    full = count == limit
    if upper is None:
        return {"rows": [], "evict": [], "cursor": cursor, "has_more": False}
    scope = Scope.of(session, agent)
    log = m.ServerChange.__table__  # plain rows: making ORM objects of them cost 70 µs each
    query = select(log.c.seq, log.c.entity, log.c.row_id, log.c.fields).where(seq > cursor, seq <= upper)
    if (narrowed := scope.changes_clause(SCOPE_FIELDS)) is not None:
        query = query.where(narrowed)
    changes = session.execute(query.order_by(seq)).all()
    rows: list[dict[str, Any]] = []
    evict: list[dict[str, str]] = []
    sent: set[tuple[str, uuid.UUID]] = set()
    latest: dict[tuple[str, uuid.UUID], Any] = {}
    touched: dict[tuple[str, uuid.UUID], set[str]] = {}  # every field changed in the window, per row
    for change in changes:
        key = (change.entity, change.row_id)
        latest[key] = change  # a row changed twice in the window goes once
        touched.setdefault(key, set()).update(change.fields.split(","))
    loaded = _load_rows(session, latest)
    for change in changes:
        key = (change.entity, change.row_id)
        if latest[key] is not change or key in sent:
            continue
        row = loaded.get(key)
        if row is None:
            continue
        if not scope.row_visible(change.entity, row):
            if change.entity == "cases" and SCOPE_FIELDS & touched[key]:  # it moved away: the caller may hold it
                evict.append({"entity": "cases", "id": str(row.id)})
            continue
        rows.append({"entity": change.entity, "row": row_to_wire(row, _columns(change.entity))})
        sent.add(key)
        if scope.sees_everything:
            continue
        if change.entity == "cases" and SCOPE_FIELDS & touched[key]:
            _with_dependents(session, scope, row, rows, sent)
        elif change.entity == "queue_members" and row.agent_id == agent.id:
            _queue_scope_changed(session, scope, row, rows, evict, sent)
    return {"rows": rows, "evict": evict, "cursor": upper, "has_more": full}


_COLUMNS: dict[str, list[str]] = {}


def _columns(entity: str) -> list[str]:
    if entity not in _COLUMNS:
        _COLUMNS[entity] = [column.name for column in ENTITIES[entity].__table__.columns]
    return _COLUMNS[entity]


def _load_rows(session, keys) -> dict[tuple[str, uuid.UUID], Any]:
    """The page's rows, one query per table and 500 ids (not one query per row), as plain
    rows (column values by attribute) rather than ORM objects: a page only reads them, and
    making thousands of objects was most of a pull's time."""
    by_entity: dict[str, list[uuid.UUID]] = {}
    for entity, row_id in keys:
        if entity in ENTITIES:
            by_entity.setdefault(entity, []).append(row_id)
    out = {}
    for entity, ids in by_entity.items():
        table = ENTITIES[entity].__table__
        for start in range(0, len(ids), 500):
            for row in session.execute(select(table).where(table.c.id.in_(ids[start:start + 500]))):
                out[(entity, row.id)] = row
    return out


def _queue_scope_changed(session, scope: Scope, member: m.QueueMember, rows: list, evict: list, sent: set) -> None:
    """The caller joined a queue (its cases come, with their timelines) or left one (those
    of its cases no longer theirs otherwise go)."""
    scope.queue_ids = frozenset(session.exec(select(m.QueueMember.queue_id).where(
        m.QueueMember.agent_id == scope.agent_id, m.QueueMember.deleted == False)).all())  # noqa: E712
    scope._cases.clear()
    for case in session.exec(select(m.Case).where(m.Case.queue_id == member.queue_id, m.Case.deleted == False)):  # noqa: E712
        if scope.case_visible(case):
            if ("cases", case.id) not in sent:
                rows.append({"entity": "cases", "row": row_to_wire(case)})
                sent.add(("cases", case.id))
                _with_dependents(session, scope, case, rows, sent)
        else:
            evict.append({"entity": "cases", "id": str(case.id)})


def _with_dependents(session, scope: Scope, case: m.Case, rows: list, sent: set) -> None:
    """A case that has just come into the caller's scope brings what the client has not
    seen: its customer, asset and timeline (the client applies a page in one transaction,
    so their order within it does not matter)."""
    scope.forget_customers()  # the case may have added a customer to a technician's
    wanted: list[tuple[str, Any]] = [("customers", session.get(m.Customer, case.customer_id))]
    if case.asset_id:
        wanted.append(("assets", session.get(m.Asset, case.asset_id)))
    wanted += [("activities", a) for a in session.exec(select(m.Activity).where(m.Activity.case_id == case.id))]
    wanted += [("case_articles", a) for a in session.exec(select(m.CaseArticle).where(m.CaseArticle.case_id == case.id))]
    for entity, row in wanted:
        if row is not None and (entity, row.id) not in sent and scope.row_visible(entity, row):
            rows.append({"entity": entity, "row": row_to_wire(row)})
            sent.add((entity, row.id))


__all__ = ["OpResult", "ServerUnitOfWork", "apply_push", "pull"]

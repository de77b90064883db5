"""The unit of work: one transaction that writes rows, the timeline and the outbox together.

Services receive a ``UnitOfWork`` and change data only through ``create``, ``update``
and ``append``, which stamp times from the injected clock and record the outbox
operation (DESIGN.md section 4) in the same transaction as the row. Leaving the
``with`` block commits; an exception rolls everything back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from caseterm.clock import Clock, default_clock
from caseterm.domain.case_lifecycle import DEFAULT_REOPEN_DAYS
from caseterm.domain.enums import OpKind
from caseterm.domain.numbers import format_number
from caseterm.store.models import OutboxOp, SyncedRow, SyncState
from caseterm.store.wire import row_to_wire, to_wire

R = TypeVar("R", bound=SyncedRow)

# Bookkeeping columns that never travel in an op's ``data``: the server owns them.
_NOT_IN_OPS = frozenset({"version", "updated_at"})
# The tables routing and SLA clocks are read from (services.routing caches them parsed):
# any write to them moves the store's operations generation on (``bump_ops_generation``).
OPS_TABLES = frozenset({"routing_rules", "sla_policies", "business_calendars", "queues"})
OPS_GENERATION = "OPSGEN"  # its row in number_sequences


# An upsert both SQLite and PostgreSQL run; the table name qualifies the old value (an
# unqualified ``next_value`` is ambiguous on PostgreSQL beside ``EXCLUDED.next_value``).
_NEXT = ("INSERT INTO number_sequences (prefix, next_value) VALUES (:p, 2) "
         "ON CONFLICT (prefix) DO UPDATE SET next_value = number_sequences.next_value + 1")


def bump_ops_generation(session) -> None:
    session.execute(text(_NEXT), {"p": OPS_GENERATION})


@dataclass
class StoreSettings:
    reopen_days: int = DEFAULT_REOPEN_DAYS


class UnitOfWork:
    # True: writes wait for the commit (or the next query) to reach the database, so they
    # go together; a batch of server-side writes sets it (sync.server.apply_push)
    defer_flush = False

    def __init__(self, engine: Engine, clock: Clock, settings: StoreSettings, path: Path | None = None) -> None:
        self.engine = engine
        self.path = path  # the store file, for things kept beside it (search indexes)
        self.clock = clock
        self.settings = settings
        self.session: Session | None = None
        self._device_code: str | None = None
        self._after_commit: list = []

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self.engine, expire_on_commit=False)
        self.session.begin()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.session is not None
        committed = False
        try:
            if exc_type is None:
                self.session.commit()
                committed = True
            else:
                self.session.rollback()
        finally:
            self.session.close()
            self.session = None
        callbacks, self._after_commit = self._after_commit, []
        if committed:
            for callback in callbacks:
                callback()

    def after_commit(self, callback) -> None:
        """Run ``callback()`` once this transaction has committed (never if it rolls back):
        for work outside the database, like keeping a search index in step."""
        self._after_commit.append(callback)

    # --- helpers services use ---------------------------------------------------------------

    def now(self):
        return self.clock.now()

    @property
    def device_code(self) -> str:
        if self._device_code is None:
            state = self.session.get(SyncState, 1)
            self._device_code = state.device_code if state else "LOC"
        return self._device_code

    def next_number(self, prefix: str) -> str:
        """The next human number for ``prefix`` on this device, e.g. ``CAS-LOC-000042``."""
        value = self.session.execute(text(f"{_NEXT} RETURNING next_value - 1"), {"p": prefix}).scalar_one()
        return format_number(prefix, self.device_code, value)

    # --- writes -----------------------------------------------------------------------------

    def create(self, row: R, actor_id: uuid.UUID | None, action: str) -> R:
        now = self.now()
        row.created_at = row.created_at or now
        row.updated_at = now
        self.session.add(row)
        if not self.defer_flush:
            self.session.flush()
        data = self._op_data(row)
        self._record(row, OpKind.CREATE, action, actor_id, data=data)
        return row

    def append(self, row: R, actor_id: uuid.UUID | None, action: str) -> R:
        """Like ``create``, for append-only rows (timeline activities): they never conflict."""
        now = self.now()
        row.created_at = row.created_at or now
        row.updated_at = now
        self.session.add(row)
        if not self.defer_flush:
            self.session.flush()
        data = self._op_data(row)
        self._record(row, OpKind.APPEND, action, actor_id, data=data)
        return row

    def update(self, row: SyncedRow, actor_id: uuid.UUID | None, action: str, **changes: Any) -> dict[str, tuple]:
        """Set fields; record only those whose value changes. Returns ``{field: (old, new)}``."""
        changed: dict[str, tuple] = {}
        for name, new in changes.items():
            old = getattr(row, name)
            if old != new:
                changed[name] = (old, new)
                setattr(row, name, new)
        if changed:
            row.updated_at = self.now()
            self.session.add(row)
            if not self.defer_flush:
                self.session.flush()
            self._record(
                row,
                OpKind.UPDATE,
                action,
                actor_id,
                base={k: to_wire(old) for k, (old, _) in changed.items()},
                data={k: to_wire(new) for k, (_, new) in changed.items()},
            )
        return changed

    def _op_data(self, row: SyncedRow) -> dict[str, Any]:
        """A new row's values as its op carries them."""
        return {k: v for k, v in row_to_wire(row).items() if k not in _NOT_IN_OPS}

    def _record(self, row: SyncedRow, kind: OpKind, action: str, actor_id, *, data: dict, base: dict | None = None):
        if row.__tablename__ in OPS_TABLES:
            bump_ops_generation(self.session)
        self.session.add(
            OutboxOp(
                entity=row.__tablename__,
                row_id=row.id,
                kind=kind.value,
                action=action,
                actor_id=actor_id,
                base=base,
                data=data,
                version=row.version,
                created_at=self.now(),
            )
        )


@dataclass
class LocalStore:
    """A local SQLite store, opened (and migrated if needed) for the service layer."""

    path: Path
    clock: Clock = field(default_factory=default_clock)
    settings: StoreSettings = field(default_factory=StoreSettings)
    _engine: Engine | None = None

    @classmethod
    def open(cls, path: Path | str, clock: Clock | None = None, settings: StoreSettings | None = None) -> LocalStore:
        from caseterm.store.sqlite import open_store

        path = Path(path).expanduser()
        open_store(path).close()
        return cls(path=path, clock=clock or default_clock(), settings=settings or StoreSettings())

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from caseterm.store.engine import store_engine

            self._engine = store_engine(self.path)
        return self._engine

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.clock, self.settings, self.path)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

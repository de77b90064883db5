"""Recompute the SLA deadlines of every open case, after its calendar or policy changed.

``ops apply`` can change a calendar's hours or holidays, or a policy's targets; the
deadlines already written on open cases were worked out under the old ones.
:func:`recompute` works them out again for every open (``state = 'active'``, not
deleted) case whose ``sla_policy`` still exists, exactly as a case created at the same
``created_at`` would get them today (``services.routing.plan``):

* ``resolve_due_at`` = ``add(calendar, created_at, resolve target + paused)``;
* ``sla_warn_at`` = ``add(calendar, created_at, resolve target × warn_at + paused)``;
* ``first_response_due_at`` likewise from the first-response target, **but only while the
  first response is still pending**. Once a first response was given, that clock has
  stopped and was judged (the timeline says "met" or "late") against the deadline in force
  then; it is history, so it is kept as it is.

*paused* is the case's ``sla_paused_seconds``: the working time its clocks already stood
still. This is an approximation of what resuming does (``services.cases``: each deadline
still pending when a pause began moves on by the working time of that pause): it differs
(a) for a deadline that had already passed when a pause began (resuming did not move it;
this moves it too), (b) in that the stored seconds were measured under the calendar of the
time, (c) for ``sla_warn_at`` once the warning was recorded (resuming leaves it, this moves
it) and (d) by under a second per pause (the stored seconds are whole). A case paused right
now (``sla_paused_at`` set) gets the same formula: its deadlines are those of a running
clock, and move on when it resumes, as they always do.

The priority is the case's current one. The flags follow the new instants, but only ever
downwards: ``sla_warned`` is cleared where the new ``sla_warn_at`` is in the future, and
``sla_breached`` where no clock is late any more (first response given by its deadline or
pending with its deadline in the future, and the resolve deadline in the future). No flag
is set here: the SLA sweep (``routing.sweep_sla``) records new warnings and breaches, with
their timeline entries. Cases whose policy is gone (or whose priority it has no targets
for) are counted as orphaned and left untouched; one warning is logged per run.

How (a million open cases in about 12 s on two cores, 16 s when the table is not in
creation order; tests/bench/bench_sla_recompute.py): the rows are read with raw SQL
in ``rowid`` keyset batches, only the columns needed; deadlines come from a
:class:`~caseterm.domain.business_hours.WorkingLine` per calendar (two binary searches per
deadline instead of walking days); only rows whose values change are written, with
``executemany`` by ``rowid``. Each batch is read, computed and written in one ``BEGIN
IMMEDIATE`` transaction, so a concurrent change to a case can never be overwritten by
values computed from before it, and a kill leaves every row with either its old values or
its new ones, both valid. Times are written in the text form ``UtcDateTime`` stores on
SQLite, so they read back equal through the ORM and sort with the rest.

These are derived values: no outbox operations are written (every store recomputes them
from the same synced operations and cases), and ``updated_at`` is left alone.
"""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from typing import TYPE_CHECKING

from caseterm.domain import business_hours as bh

if TYPE_CHECKING:
    from caseterm.store.uow import LocalStore

log = logging.getLogger("caseterm.sla")

BATCH = 20_000
_NAIVE_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
_DAY_US = 86_400_000_000

_OPEN = "state = 'active' AND deleted = 0"
_COUNT = f"SELECT count(*) FROM cases WHERE {_OPEN}"  # ix_cases_state_created, no table rows read
_FIRST_CREATED = f"SELECT min(created_at) FROM cases WHERE {_OPEN}"
_WITH_POLICY = f"SELECT count(*) FROM cases WHERE {_OPEN} AND sla_policy IS NOT NULL"
# NOT INDEXED: walk the table in rowid order (the index on state would make SQLite sort
# every open case for each batch)
_BATCH = (f"SELECT rowid, sla_policy, priority, created_at, first_response_at, first_response_due_at, "
          f"resolve_due_at, sla_warn_at, sla_paused_seconds, sla_warned, sla_breached "
          f"FROM cases NOT INDEXED WHERE rowid > ? AND {_OPEN} ORDER BY rowid LIMIT ?")
_UPDATE = ("UPDATE cases SET first_response_due_at = ?, resolve_due_at = ?, sla_warn_at = ?, sla_warned = ?, "
           "sla_breached = ? WHERE rowid = ?")


@dataclass
class RecomputeReport:
    examined: int = 0  # open cases with an SLA policy (= changed + unchanged + orphaned)
    changed: int = 0  # rows written
    unchanged: int = 0
    cleared_warning: int = 0  # sla_warned set back to false: the warning instant is in the future again
    cleared_breach: int = 0  # sla_breached set back to false: no clock is late any more
    orphaned: int = 0  # policy gone (or no targets for the case's priority): left untouched
    seconds: float = 0.0


def recompute(store: LocalStore, *, progress: Callable[[int, int], None] | None = None,
              batch: int = BATCH) -> RecomputeReport:
    """Recompute the SLA deadlines (and clear flags no longer true) of every open case with
    an SLA policy of the local SQLite ``store``, by its current calendars and policies (see
    the module docstring); ``now`` for the flags is ``store.clock.now()``.

    ``progress(done, total)`` is called after each batch (committed), counting the store's
    open cases (those without a policy pass too). ``batch``: rows per transaction. Call it
    outside any unit of work on the store: each batch takes the write lock itself."""
    from caseterm.services import routing
    from caseterm.store.sqlite import connect

    started = _time.perf_counter()
    report = RecomputeReport()
    with store.uow() as uow:
        ops = routing.operations(uow)
    now_us = bh.to_micros(store.clock.now())
    conn = connect(store.path)
    # the pages of the deadline index that a batch touches stay in memory (64 MiB at most)
    conn.execute("PRAGMA cache_size = -65536")
    try:
        total = conn.execute(_COUNT).fetchone()[0]
        if not ops.policies:  # nothing to compute: only count what would be orphaned
            report.orphaned = report.examined = conn.execute(_WITH_POLICY).fetchone()[0]
            if report.orphaned:
                log.warning("SLA recompute: %d open cases name an SLA policy, but the store has none; left as they are",
                            report.orphaned)
            if progress:
                progress(total, total)
            report.seconds = _time.perf_counter() - started
            return report
        first = conn.execute(_FIRST_CREATED).fetchone()[0]
        origin = _parse(first) if first else now_us
        computer = _Computer(ops, bh.from_micros(origin), now_us)
        done, last = 0, 0
        while True:
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = conn.execute(_BATCH, (last, batch)).fetchall()
                if rows:
                    updates = computer.run(rows, report)
                    if updates:
                        conn.executemany(_UPDATE, updates)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if not rows:
                break
            done += len(rows)
            last = rows[-1][0]
            if progress:
                progress(done, max(done, total))
            if len(rows) < batch:
                break
    finally:
        conn.close()
    if computer.orphans:
        log.warning("SLA recompute: %d open cases left as they are: %s", report.orphaned, "; ".join(
            f"{n} with policy '{name}' (gone)" if priority is None else
            f"{n} with policy '{name}' at priority {priority} (it has no targets for it)"
            for (name, priority), n in sorted(computer.orphans.items(), key=str)))
    report.seconds = _time.perf_counter() - started
    return report


class _Computer:
    """The new values of batches of rows (``_BATCH``'s columns) for one run."""

    def __init__(self, ops, origin: datetime, now_us: int) -> None:
        self.policies = {p.name: p for p in ops.policies}
        self.calendars = ops.calendars
        self.origin = origin
        self.now = now_us
        self.lines: dict[str, bh.WorkingLine] = {}
        # (policy, priority) -> (line, first response µs, resolve µs, warning µs), or None
        self.plans: dict[tuple[str, int], tuple | None] = {}
        self.orphans: dict[tuple[str, int | None], int] = {}  # (policy, priority or None: policy gone) -> cases

    def plan(self, name: str, priority: int) -> tuple | None:
        key = (name, priority)
        if key in self.plans:
            return self.plans[key]
        policy = self.policies.get(name)
        plan = None
        if policy is not None and policy.calendar in self.calendars:
            try:
                targets = policy.targets_for(priority)
            except KeyError:
                targets = None
            if targets is not None:
                line = self.lines.get(policy.calendar)
                if line is None:
                    line = self.lines[policy.calendar] = bh.WorkingLine(
                        self.calendars[policy.calendar], self.origin, self.origin + timedelta(days=120))
                # the same timedelta arithmetic as routing.plan (× warn_at rounds to the µs)
                plan = (line, targets.first_response // _US, targets.resolve // _US,
                        (targets.resolve * policy.warn_at) // _US)
        self.plans[key] = plan
        return plan

    def run(self, rows: list[tuple], report: RecomputeReport) -> list[tuple]:
        """Count the rows into ``report``; the ``_UPDATE`` parameters of those that change."""
        updates = []
        plans, plan_of, now, parse, text = self.plans, self.plan, self.now, _parse, _text_of()
        changed = unchanged = orphaned = cleared_warning = cleared_breach = 0
        for (rowid, name, priority, created, first_at, first_due, resolve_due, warn_at, paused,
             warned, breached) in rows:
            if name is None:
                continue
            try:
                plan = plans[(name, priority)]
            except KeyError:
                plan = plan_of(name, priority)
            if plan is None:
                key = (name, priority if name in self.policies else None)
                self.orphans[key] = self.orphans.get(key, 0) + 1
                orphaned += 1
                continue
            line, first_target, resolve_target, warn_target = plan
            p = paused * 1_000_000 if paused else 0
            start = parse(created)
            if first_at is None:
                new_first, new_resolve, new_warn = line.deadlines_us(
                    start, (first_target + p, resolve_target + p, warn_target + p))
                first_text = text(new_first)
                first_late = new_first <= now
            else:
                new_resolve, new_warn = line.deadlines_us(start, (resolve_target + p, warn_target + p))
                first_text = first_due  # the first response is history: judged by the deadline of its day
                first_late = first_due is not None and parse(first_at) > parse(first_due)
            resolve_text, warn_text = text(new_resolve), text(new_warn)
            new_warned, new_breached = warned, breached
            if warned and new_warn > now:
                new_warned = 0
                cleared_warning += 1
            if breached and not first_late and new_resolve > now:
                new_breached = 0
                cleared_breach += 1
            if (first_text != first_due or resolve_text != resolve_due or warn_text != warn_at
                    or new_warned != warned or new_breached != breached):
                updates.append((first_text, resolve_text, warn_text, new_warned, new_breached, rowid))
                changed += 1
            else:
                unchanged += 1
        report.examined += changed + unchanged + orphaned
        report.orphaned += orphaned
        report.changed += changed
        report.unchanged += unchanged
        report.cleared_warning += cleared_warning
        report.cleared_breach += cleared_breach
        return updates


def _parse(value: str) -> int:
    """The store's datetime text (naive UTC; any ISO form) as µs since the epoch."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return (moment - _NAIVE_EPOCH) // _US


@cache
def _text_of() -> Callable[[int], str]:
    """µs since the epoch -> the text ``UtcDateTime`` stores on SQLite
    (``store.types.SQLITE_DATETIME_FORMAT``: ``2026-11-25 09:00:00.000000``), fast."""
    days: dict[int, str] = {}
    clock = [f"{h:02d}:{m:02d}:{s:02d}." for h in range(24) for m in range(60) for s in range(60)]

    def text(micros: int) -> str:
        day, rest = divmod(micros, _DAY_US)
        prefix = days.get(day)
        if prefix is None:
            prefix = days[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat() + " "
        second, fraction = divmod(rest, 1_000_000)
        return f"{prefix}{clock[second]}{fraction:06d}"

    return text


__all__ = ["BATCH", "RecomputeReport", "recompute"]

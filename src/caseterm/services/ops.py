"""Service operations from the operations file: apply it (all of it in one transaction, or
nothing), see what applying would change (a dry run is the same apply, rolled back), and
export what the store holds as a file ``ops apply`` reads back.

The file is checked completely first (``domain.ops_file.parse``, with the store's agent
logins), so a bad file changes nothing. Applying then makes the store say what the file
says: skills, calendars, SLA policies, routing rules and entitlement templates not in the
file are removed (tombstoned, so the removal syncs); queues and categories not in the file
are kept (cases refer to them) and reported; queue members become exactly the file's.
Conditions, hours and targets are stored in one canonical form, so applying the same file
twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import select

from caseterm.domain import business_hours as bh
from caseterm.domain import ops_file
from caseterm.domain.routing import Condition
from caseterm.errors import PermissionDenied
from caseterm.store.models import (
    Agent, BusinessCalendar, Category, EntitlementTemplate, Queue, QueueMember, RoutingRuleRow, Skill, SlaPolicyRow,
)
from caseterm.store.uow import UnitOfWork

ACTION = "apply_ops"


@dataclass
class Change:
    kind: str  # "queue", "calendar", …
    name: str
    what: str  # "added", "changed", "removed", "kept"
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.what:8} {self.kind} {self.name}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class ApplyReport:
    changes: list[Change] = field(default_factory=list)
    applied: bool = False

    def count(self, what: str) -> int:
        return sum(1 for c in self.changes if c.what == what)


class _DryRun(Exception):
    """Raised inside the transaction of a dry run so that it rolls back."""


def apply_text(uow_factory: Callable[[], UnitOfWork], actor_login: str, text: str, *, dry_run: bool = False) -> ApplyReport:
    """Check ``text`` as an operations file and apply it in one transaction (or, with
    ``dry_run``, report what would change and change nothing)."""
    from caseterm.services.lookup import agent_by_login

    report = ApplyReport()
    try:
        with uow_factory() as uow:
            actor = agent_by_login(uow, actor_login)
            if actor.role != "admin":
                raise PermissionDenied(f"applying an operations file needs an admin; you are {actor.role}")
            logins = [a.login for a in uow.session.exec(select(Agent).where(Agent.deleted == False))]  # noqa: E712
            definition = ops_file.parse(text, agents=logins)
            report.changes = apply(uow, actor, definition)
            if dry_run:
                raise _DryRun
    except _DryRun:
        return report
    report.applied = True
    return report


def apply(uow: UnitOfWork, actor: Agent, definition: ops_file.OpsDefinition) -> list[Change]:
    changes: list[Change] = []
    changes += _sync_rows(uow, actor, Skill, "skill", {s: {} for s in definition.skills})
    changes += _sync_rows(uow, actor, BusinessCalendar, "calendar", {
        name: {"time_zone": cal.zone, "hours": calendar_hours(cal), "holidays": sorted(d.isoformat() for d in cal.holidays)}
        for name, cal in definition.calendars.items()})
    changes += _sync_rows(uow, actor, Category, "category", {c: {} for c in definition.categories}, remove=False)
    changes += _sync_rows(uow, actor, Queue, "queue", {
        q.name: {"description": q.description, "email": q.email, "strategy": q.strategy, "needs": dict(q.needs),
                 "escalate_to": q.escalate_to}
        for q in definition.queues}, remove=False)
    changes += _sync_members(uow, actor, definition)
    changes += _sync_rows(uow, actor, SlaPolicyRow, "SLA policy", {
        p.name: {"position": i, "calendar": p.calendar, "conditions": conditions_of(p.conditions),
                 "targets": {str(prio): {"first_response": duration_text(t.first_response),
                                         "resolve": duration_text(t.resolve)} for prio, t in p.targets},
                 "warn_at": p.warn_at, "pause": sorted(p.pause_statuses), "escalate_on_breach": p.escalate_on_breach}
        for i, p in enumerate(definition.policies)})
    queue_ids = {q.name.lower(): q.id for q in uow.session.exec(select(Queue).where(Queue.deleted == False))}  # noqa: E712
    changes += _sync_rows(uow, actor, RoutingRuleRow, "routing rule", {
        r.name: {"position": i, "conditions": conditions_of(r.conditions), "queue_id": queue_ids[r.queue.lower()],
                 "priority": r.priority}
        for i, r in enumerate(definition.rules)})
    changes += _sync_rows(uow, actor, EntitlementTemplate, "entitlement", {
        e.name: {"sla": e.sla, "cases": e.cases, "hours": e.hours, "channels": list(e.channels), "days": e.days}
        for e in definition.entitlements})
    return changes


def _sync_rows(uow: UnitOfWork, actor: Agent, model, kind: str, wanted: dict[str, dict[str, Any]], *,
               remove: bool = True) -> list[Change]:
    """Make the live rows of ``model`` (keyed by name, case-insensitively) be ``wanted``."""
    rows = {row.name.lower(): row for row in uow.session.exec(select(model))}
    changes = []
    for name, values in wanted.items():
        row = rows.pop(name.lower(), None)
        if row is None:
            uow.create(model(name=name, **values), actor.id, ACTION)
            changes.append(Change(kind, name, "added"))
            continue
        was_deleted = row.deleted
        changed = uow.update(row, actor.id, ACTION, name=name, deleted=False, **values)
        if was_deleted:
            changes.append(Change(kind, name, "added"))
        elif changed:
            changes.append(Change(kind, name, "changed", ", ".join(sorted(changed))))
    for row in rows.values():
        if row.deleted:
            continue
        if remove:
            uow.update(row, actor.id, ACTION, deleted=True)
            changes.append(Change(kind, row.name, "removed"))
        else:
            changes.append(Change(kind, row.name, "kept", "not in the file; cases may refer to it"))
    return changes


def _sync_members(uow: UnitOfWork, actor: Agent, definition: ops_file.OpsDefinition) -> list[Change]:
    agents = {a.login.lower(): a for a in uow.session.exec(select(Agent).where(Agent.deleted == False))}  # noqa: E712
    queues = {q.name.lower(): q for q in uow.session.exec(select(Queue).where(Queue.deleted == False))}  # noqa: E712
    changes = []
    for qdef in definition.queues:
        queue = queues[qdef.name.lower()]
        current = {m.agent_id: m for m in uow.session.exec(select(QueueMember).where(QueueMember.queue_id == queue.id))}
        wanted = {agents[login.lower()].id for login in qdef.members}
        added, removed = [], []
        for agent_id in wanted:
            member = current.get(agent_id)
            if member is None:
                uow.create(QueueMember(queue_id=queue.id, agent_id=agent_id), actor.id, ACTION)
                added.append(agent_id)
            elif member.deleted:
                uow.update(member, actor.id, ACTION, deleted=False)
                added.append(agent_id)
        for agent_id, member in current.items():
            if agent_id not in wanted and not member.deleted:
                uow.update(member, actor.id, ACTION, deleted=True)
                removed.append(agent_id)
        if added or removed:
            login = {a.id: a.login for a in agents.values()}
            detail = "; ".join(x for x in (
                "+" + ", +".join(sorted(login[i] for i in added)) if added else "",
                "-" + ", -".join(sorted(login[i] for i in removed)) if removed else "") if x)
            changes.append(Change("queue members", qdef.name, "changed", detail))
    return changes


# --- canonical forms -----------------------------------------------------------------------------


def conditions_of(conditions: tuple[Condition, ...]) -> dict[str, list[str]]:
    return {("not_" if c.negate else "") + c.field: sorted(c.values) for c in conditions}


def calendar_hours(calendar: bh.Calendar) -> dict[str, list[str]]:
    out = {}
    for day, intervals in zip(bh.WEEKDAYS, calendar.weekly):
        if intervals:
            out[day] = [f"{s:%H:%M}-{'24:00' if e is None else format(e, '%H:%M')}" for s, e in intervals]
    return out


def duration_text(value: timedelta) -> str:
    hours, rest = divmod(int(value.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n) or "0s"


# --- export --------------------------------------------------------------------------------------


def export_text(uow: UnitOfWork) -> str:
    """What the store holds, as an operations file (``apply_text`` reads it back unchanged)."""
    def live(model, order=None):
        query = select(model).where(model.deleted == False)  # noqa: E712
        return list(uow.session.exec(query.order_by(order if order is not None else model.name)))

    logins = {a.id: a.login for a in uow.session.exec(select(Agent))}
    queue_names = {q.id: q.name for q in live(Queue)}
    lines = ["# caseterm operations file (caseterm ops export)", ""]
    lines.append(f"categories = {_toml([c.name for c in live(Category)])}")
    lines.append(f"skills = {_toml([s.name for s in live(Skill)])}")
    for cal in live(BusinessCalendar):
        hours = {day: cal.hours[day] for day in sorted(cal.hours, key=_weekday_order)}
        lines += ["", "[[calendar]]", f"name = {_toml(cal.name)}", f"time_zone = {_toml(cal.time_zone)}",
                  f"hours = {_toml(hours)}", f"holidays = {_toml(cal.holidays)}"]
    for q in live(Queue):
        members = sorted(logins[m.agent_id] for m in uow.session.exec(select(QueueMember).where(
            QueueMember.queue_id == q.id, QueueMember.deleted == False)))  # noqa: E712
        lines += ["", "[[queue]]", f"name = {_toml(q.name)}", f"description = {_toml(q.description)}"]
        if q.email:
            lines.append(f"email = {_toml(q.email)}")
        lines += [f"strategy = {_toml(q.strategy)}", f"needs = {_toml(q.needs)}", f"members = {_toml(members)}"]
        if q.escalate_to:
            lines.append(f"escalate_to = {_toml(q.escalate_to)}")
    for p in live(SlaPolicyRow, SlaPolicyRow.position):
        lines += ["", "[[sla]]", f"name = {_toml(p.name)}", f"calendar = {_toml(p.calendar)}",
                  f"when = {_toml(p.conditions)}", f"warn_at = {p.warn_at!r}", f"pause = {_toml(p.pause)}"]
        if p.escalate_on_breach:
            lines.append("escalate_on_breach = true")
        lines.append(f"targets = {_toml(p.targets)}")
    for r in live(RoutingRuleRow, RoutingRuleRow.position):
        lines += ["", "[[routing]]", f"name = {_toml(r.name)}", f"when = {_toml(r.conditions)}",
                  f"queue = {_toml(queue_names[r.queue_id])}"]
        if r.priority is not None:
            lines.append(f"priority = {r.priority}")
    for e in live(EntitlementTemplate):
        lines += ["", "[[entitlement]]", f"name = {_toml(e.name)}"]
        if e.sla:
            lines.append(f"sla = {_toml(e.sla)}")
        for key in ("cases", "hours"):
            if getattr(e, key) is not None:
                lines.append(f"{key} = {getattr(e, key)}")
        lines += [f"channels = {_toml(e.channels)}", f"days = {e.days}"]
    return "\n".join(lines) + "\n"


def _weekday_order(key: str) -> int:
    first = key.split("-")[0]
    return bh.WEEKDAYS.index(first) if first in bh.WEEKDAYS else len(bh.WEEKDAYS)


def _toml(value: Any) -> str:
    """A TOML value for the shapes the operations file uses (strings, numbers, lists, tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _key(key: str) -> str:
    return key if key.replace("-", "").replace("_", "").isalnum() and key.isascii() else _toml(key)


__all__ = ["ApplyReport", "Change", "apply", "apply_text", "export_text"]

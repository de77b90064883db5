"""Routing and SLA clocks for new cases, by the operations the store holds (``ops apply``).

:func:`plan` works out, for a case about to be created, which queue and agent the first
matching routing rule and the queue's strategy pick, and when its first response and its
resolution are due under the first matching SLA policy; ``services.cases.create_case``
writes the case with those values and records the reasons on its timeline.

The operations are read once and kept per store until any of their tables changes (a
cheap fingerprint query per case), so routing a case costs a few small queries, not
parsing 200 rules.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import select

from caseterm.domain import business_hours as bh
from caseterm.domain import routing as rt
from caseterm.domain import sla
from caseterm.store.models import (
    Agent, BusinessCalendar, Case, Queue, QueueMember, RoutingRuleRow, SlaPolicyRow,
)
from caseterm.store.uow import UnitOfWork


@dataclass(frozen=True)
class QueueInfo:
    id: object
    name: str
    strategy: str
    needs: dict


@dataclass(frozen=True)
class Operations:
    rules: tuple[rt.Rule, ...]
    policies: tuple[sla.SlaPolicy, ...]
    calendars: dict[str, bh.Calendar]
    queues: dict[str, QueueInfo]  # by lower-case name
    queues_by_id: dict[object, QueueInfo]


@dataclass
class Plan:
    queue: QueueInfo | None = None
    owner: Agent | None = None
    priority: int | None = None
    first_response_due: datetime | None = None
    resolve_due: datetime | None = None
    notes: list[tuple[str, str, dict]] = field(default_factory=list)  # (event, words, data) for the timeline


_cache: dict[object, tuple[tuple, Operations]] = {}
_cache_lock = threading.Lock()


def _fingerprint(uow: UnitOfWork) -> tuple:
    out = []
    for model in (RoutingRuleRow, SlaPolicyRow, BusinessCalendar, Queue):
        out.append(tuple(uow.session.exec(select(func.count(), func.max(model.updated_at)).select_from(model)).one()))
    return tuple(out)


def operations(uow: UnitOfWork) -> Operations:
    """The store's routing rules, SLA policies, calendars and queues, parsed (cached)."""
    key = uow.path or id(uow.engine)
    stamp = _fingerprint(uow)
    with _cache_lock:
        cached = _cache.get(key)
        if cached and cached[0] == stamp:
            return cached[1]
    queues = {}
    for q in uow.session.exec(select(Queue).where(Queue.deleted == False)):  # noqa: E712
        queues[q.name.lower()] = QueueInfo(q.id, q.name, q.strategy, dict(q.needs))
    by_id = {q.id: q for q in queues.values()}
    calendars = {c.name: bh.Calendar.from_spec(c.time_zone, c.hours, c.holidays)
                 for c in uow.session.exec(select(BusinessCalendar).where(BusinessCalendar.deleted == False))}  # noqa: E712
    rules = []
    for row in uow.session.exec(select(RoutingRuleRow).where(RoutingRuleRow.deleted == False)  # noqa: E712
                                .order_by(RoutingRuleRow.position)):
        if row.queue_id in by_id:
            rules.append(rt.parse_rule({"name": row.name, "when": row.conditions, "queue": by_id[row.queue_id].name,
                                        **({"priority": row.priority} if row.priority is not None else {})},
                                       f"routing rule {row.name}"))
    policies = []
    statuses = None
    for row in uow.session.exec(select(SlaPolicyRow).where(SlaPolicyRow.deleted == False)  # noqa: E712
                                .order_by(SlaPolicyRow.position)):
        if statuses is None:
            from caseterm.domain.enums import StatusReason

            statuses = [s.value for s in StatusReason]
        policies.append(sla.parse_policy({"name": row.name, "calendar": row.calendar, "when": row.conditions,
                                          "warn_at": row.warn_at, "pause": row.pause, "targets": row.targets},
                                         f"SLA policy {row.name}", calendars, statuses))
    ops = Operations(tuple(rules), tuple(policies), calendars, queues, by_id)
    with _cache_lock:
        _cache[key] = (stamp, ops)
    return ops


def plan(uow: UnitOfWork, facts: rt.CaseFacts, *, queue_id=None, owner: Agent | None = None,
         route_it: bool = True) -> Plan:
    """Where a new case goes and when it is due. ``route_it``: the case has no queue or
    owner given by the person creating it, so the rules decide."""
    ops = operations(uow)
    out = Plan()
    if route_it and ops.rules:
        routed = rt.route(ops.rules, facts)
        if routed.queue is not None:
            out.queue = ops.queues[routed.queue.lower()]
            out.priority = routed.priority
            pick = _pick(uow, out.queue)
            out.owner = pick[0]
            out.notes.append(("routed", f"{routed.reason[0].upper()}{routed.reason[1:]}; {pick[1]}",
                              {"rule": routed.rule.name, "queue": out.queue.name,
                               "owner": out.owner.login if out.owner else None}))
    priority = out.priority or facts.priority
    policy = sla.pick_policy(ops.policies, facts)
    if policy is not None and policy.calendar in ops.calendars:
        calendar = ops.calendars[policy.calendar]
        targets = policy.targets_for(priority)
        now = uow.now()
        out.first_response_due = bh.add(calendar, now, targets.first_response)
        out.resolve_due = bh.add(calendar, now, targets.resolve)
        tz = calendar.tz
        out.notes.append(("sla_started",
                          f"SLA '{policy.name}' ({policy.calendar} hours): first response by "
                          f"{out.first_response_due.astimezone(tz):%Y-%m-%d %H:%M}, resolve by "
                          f"{out.resolve_due.astimezone(tz):%Y-%m-%d %H:%M} ({calendar.zone})",
                          {"policy": policy.name, "priority": priority}))
    return out


def _pick(uow: UnitOfWork, queue: QueueInfo) -> tuple[Agent | None, str]:
    agents = list(uow.session.exec(select(Agent).join(QueueMember, QueueMember.agent_id == Agent.id).where(
        QueueMember.queue_id == queue.id, QueueMember.deleted == False, Agent.deleted == False,  # noqa: E712
        Agent.active == True)))  # noqa: E712
    if not agents:
        return None, "the queue has no members; left unassigned in the queue"
    ids = [a.id for a in agents]
    load = dict(uow.session.exec(select(Case.owner_id, func.count()).where(
        Case.owner_id.in_(ids), Case.state == "active", Case.deleted == False).group_by(Case.owner_id)).all())  # noqa: E712
    last = uow.session.exec(select(Case.owner_id).where(Case.queue_id == queue.id, Case.owner_id.in_(ids))
                            .order_by(Case.created_at.desc(), Case.number.desc()).limit(1)).first()
    by_login = {a.login: a for a in agents}
    members = [rt.Member(a.login, active=load.get(a.id, 0), capacity=a.capacity, skills=dict(a.skills or {}),
                         available=a.presence not in ("away", "offline")) for a in agents]
    last_login = next((a.login for a in agents if a.id == last), None)
    pick = rt.pick_agent(queue.strategy, members, needs=queue.needs, last_login=last_login)
    return (by_login[pick.login] if pick.login else None), pick.reason


__all__ = ["Operations", "Plan", "operations", "plan"]

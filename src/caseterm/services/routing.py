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

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import bindparam, text
from sqlmodel import select

from caseterm.domain import business_hours as bh
from caseterm.domain import routing as rt
from caseterm.domain import sla
from caseterm.store.models import Agent, BusinessCalendar, Queue, RoutingRuleRow, SlaPolicyRow
from caseterm.errors import ValidationError
from caseterm.store.types import JsonText
from caseterm.store.uow import UnitOfWork


@dataclass(frozen=True)
class QueueInfo:
    id: object
    name: str
    strategy: str
    needs: dict
    escalate_to: str | None = None  # the queue's name its cases escalate to


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
    policy: str | None = None  # the SLA policy's name
    warn_at: datetime | None = None  # when the resolve clock reaches the policy's warning share
    notes: list[tuple[str, str, dict]] = field(default_factory=list)  # (event, words, data) for the timeline


log = logging.getLogger("caseterm.routing")
_cache: dict[object, tuple[tuple, Operations]] = {}
_cache_lock = threading.Lock()


# (both columns as text: PostgreSQL refuses a UNION of a timestamp and an integer)
_FINGERPRINT = text(" UNION ALL ".join(
    [f"SELECT count(*), CAST(max(updated_at) AS VARCHAR(40)) FROM {table}"
     for table in ("routing_rules", "sla_policies", "business_calendars", "queues")]
    + ["SELECT count(*), CAST(max(next_value) AS VARCHAR(40)) FROM number_sequences WHERE prefix = 'OPSGEN'"]))


def _fingerprint(uow: UnitOfWork) -> tuple:
    """Changes whenever a row of the operations' tables does (one small query): every write
    to them through a unit of work, or from a pull, moves the store's operations generation
    on (``store.uow.bump_ops_generation``), even within one clock tick."""
    return tuple(tuple(row) for row in uow.session.connection().execute(_FINGERPRINT))


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
        queues[q.name.lower()] = QueueInfo(q.id, q.name, q.strategy, dict(q.needs), q.escalate_to)
    by_id = {q.id: q for q in queues.values()}
    calendars = {}
    for c in uow.session.exec(select(BusinessCalendar).where(BusinessCalendar.deleted == False)):  # noqa: E712
        try:
            calendars[c.name] = bh.Calendar.from_spec(c.time_zone, c.hours, c.holidays)
        except ValidationError as exc:
            log.warning("calendar %r skipped: %s", c.name, exc)
    # rows that no longer make sense (synced from elsewhere, say) are skipped and logged:
    # a broken rule must never stop cases from being created
    rules = []
    for row in uow.session.exec(select(RoutingRuleRow).where(RoutingRuleRow.deleted == False)  # noqa: E712
                                .order_by(RoutingRuleRow.position)):
        if row.queue_id not in by_id:
            log.warning("routing rule %r skipped: its queue is gone", row.name)
            continue
        try:
            rules.append(rt.parse_rule({"name": row.name, "when": row.conditions, "queue": by_id[row.queue_id].name,
                                        **({"priority": row.priority} if row.priority is not None else {})},
                                       f"routing rule {row.name}"))
        except ValidationError as exc:
            log.warning("routing rule %r skipped: %s", row.name, exc)
    from caseterm.domain.enums import StatusReason

    statuses = [s.value for s in StatusReason]
    policies = []
    for row in uow.session.exec(select(SlaPolicyRow).where(SlaPolicyRow.deleted == False)  # noqa: E712
                                .order_by(SlaPolicyRow.position)):
        try:
            policies.append(sla.parse_policy({"name": row.name, "calendar": row.calendar, "when": row.conditions,
                                              "warn_at": row.warn_at, "pause": row.pause, "targets": row.targets,
                                              "escalate_on_breach": row.escalate_on_breach},
                                             f"SLA policy {row.name}", calendars, statuses))
        except ValidationError as exc:
            log.warning("SLA policy %r skipped: %s", row.name, exc)
    ops = Operations(tuple(rules), tuple(policies), calendars, queues, by_id)
    with _cache_lock:
        _cache[key] = (stamp, ops)
    return ops


def plan(uow: UnitOfWork, facts: rt.CaseFacts, *, route_it: bool = True, policy_name: str | None = None) -> Plan:
    """Where a new case goes and when it is due. ``route_it``: the case has no queue or
    owner given by the person creating it, so the rules decide. ``policy_name``: the SLA
    policy the customer's entitlement names (else the first policy that matches)."""
    ops = operations(uow)
    out = Plan()
    if route_it and ops.rules:
        routed = rt.route(ops.rules, facts)
        if routed.queue is not None:
            out.queue = ops.queues[routed.queue.lower()]
            out.priority = routed.priority
            pick = pick_owner(uow, out.queue)
            out.owner = pick[0]
            out.notes.append(("routed", f"{routed.reason[0].upper()}{routed.reason[1:]}; {pick[1]}",
                              {"rule": routed.rule.name, "queue": out.queue.name,
                               "owner": out.owner.login if out.owner else None}))
    priority = out.priority or facts.priority
    named = next((p for p in ops.policies if policy_name and p.name.lower() == policy_name.lower()), None)
    policy = named or sla.pick_policy(ops.policies, facts)
    if policy is not None and policy.calendar in ops.calendars:
        calendar = ops.calendars[policy.calendar]
        targets = policy.targets_for(priority)
        now = uow.now()
        out.policy = policy.name
        out.first_response_due = bh.add(calendar, now, targets.first_response)
        out.resolve_due = bh.add(calendar, now, targets.resolve)
        out.warn_at = bh.add(calendar, now, targets.resolve * policy.warn_at)
        tz = calendar.tz
        out.notes.append(("sla_started",
                          f"SLA '{policy.name}' ({policy.calendar} hours): first response by "
                          f"{out.first_response_due.astimezone(tz):%Y-%m-%d %H:%M}, resolve by "
                          f"{out.resolve_due.astimezone(tz):%Y-%m-%d %H:%M} ({calendar.zone})",
                          {"policy": policy.name, "priority": priority}))
    return out


# plain SQL that runs on SQLite and PostgreSQL alike (ids typed, booleans tested as booleans)
_MEMBERS = text(
    "SELECT a.id, a.login, a.capacity, a.skills, a.presence, "
    "(SELECT count(*) FROM cases c WHERE c.owner_id = a.id AND c.state = 'active' AND NOT c.deleted) "
    "FROM queue_members m JOIN agents a ON a.id = m.agent_id "
    "WHERE m.queue_id = :queue AND NOT m.deleted AND NOT a.deleted AND a.active"
).bindparams(bindparam("queue", type_=sa.Uuid())).columns(sa.column("id", sa.Uuid()), sa.column("login"),
                                                          sa.column("capacity"), sa.column("skills", JsonText()),
                                                          sa.column("presence"), sa.column("load"))
_LAST_OWNER = text(
    "SELECT c.owner_id FROM cases c JOIN queue_members m ON m.agent_id = c.owner_id AND m.queue_id = c.queue_id "
    "WHERE c.queue_id = :queue AND NOT m.deleted ORDER BY c.created_at DESC, c.number DESC LIMIT 1"
).bindparams(bindparam("queue", type_=sa.Uuid())).columns(sa.column("owner_id", sa.Uuid()))


def pick_owner(uow: UnitOfWork, queue: QueueInfo) -> tuple[Agent | None, str]:
    """The queue strategy's choice among its members, with their live load (two queries),
    and why; (None, why) when nobody has the skills and free capacity."""
    conn = uow.session.connection()
    key = {"queue": queue.id}
    rows = conn.execute(_MEMBERS, key).all()
    if not rows:
        return None, "the queue has no members; left unassigned in the queue"
    last = conn.execute(_LAST_OWNER, key).scalar()
    members = [rt.Member(login, active=load, capacity=capacity, skills=dict(skills or {}),
                         available=presence not in ("away", "offline"))
               for _, login, capacity, skills, presence, load in rows]
    last_login = next((login for agent_id, login, *_ in rows if agent_id == last), None)
    pick = rt.pick_agent(queue.strategy, members, needs=queue.needs, last_login=last_login)
    if pick.login is None:
        return None, pick.reason
    agent_id = next(agent_id for agent_id, login, *_ in rows if login == pick.login)
    return uow.session.get(Agent, agent_id), pick.reason


def sweep_sla(uow: UnitOfWork, actor: Agent, limit: int = 2000) -> tuple[list[str], list[str]]:
    """Record the SLA warnings and breaches that have come due since the last sweep: the
    case's flag and a timeline entry each; a breach under a policy with
    ``escalate_on_breach`` escalates the case too (``cases.escalate_case``). Returns the
    numbers (warned, breached). Paused clocks are left alone; run it now and then (the
    workstation does, every minute)."""
    from sqlalchemy import and_, or_

    from caseterm.errors import RuleError
    from caseterm.services.cases import escalate_case, log_event
    from caseterm.store.models import Case

    now = uow.now()
    escalating = {p.name for p in operations(uow).policies if p.escalate_on_breach}
    live = (Case.state == "active", Case.deleted == False, Case.sla_paused_at == None)  # noqa: E711,E712
    warned, breached = [], []
    for case in uow.session.exec(select(Case).where(
            *live, Case.sla_warned == False, Case.sla_warn_at != None, Case.sla_warn_at <= now)  # noqa: E711,E712
            .limit(limit)):
        uow.update(case, actor.id, "sla_warning", sla_warned=True)
        log_event(uow, actor, case, "sla_warning", f"SLA at risk: resolve by {case.resolve_due_at:%Y-%m-%d %H:%M} UTC",
                  {"policy": case.sla_policy})
        warned.append(case.number)
    late_first = and_(Case.first_response_at == None, Case.first_response_due_at != None,  # noqa: E711
                      Case.first_response_due_at <= now)
    late_resolve = and_(Case.resolve_due_at != None, Case.resolve_due_at <= now)  # noqa: E711
    for case in uow.session.exec(select(Case).where(*live, Case.sla_breached == False, or_(late_first, late_resolve))  # noqa: E712
                                 .limit(limit)):
        missed = ("first response" if case.first_response_at is None and case.first_response_due_at is not None
                  and case.first_response_due_at <= now else "resolution")
        due = case.first_response_due_at if missed == "first response" else case.resolve_due_at
        uow.update(case, actor.id, "sla_breach", sla_breached=True)
        words = f"SLA breached: the {missed} was due {due:%Y-%m-%d %H:%M} UTC"
        log_event(uow, actor, case, "sla_breached", words, {"policy": case.sla_policy, "missed": missed})
        breached.append(case.number)
        if case.sla_policy in escalating and not case.escalated:
            try:
                escalate_case(uow, actor, case, words, automatic=True)
            except (RuleError, ValidationError) as exc:  # no escalation queue: say so where the agent looks
                log_event(uow, actor, case, "escalation_failed", f"Not escalated automatically: {exc}",
                          {"policy": case.sla_policy})
    return warned, breached


__all__ = ["Operations", "Plan", "QueueInfo", "operations", "pick_owner", "plan", "sweep_sla"]

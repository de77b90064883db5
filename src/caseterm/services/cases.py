"""Case use cases: create, update, assign, status, timeline, resolve, cancel, reopen, merge, parent.

Each function writes the case, a timeline entry saying who did what and when, and the
outbox ops, in the caller's unit of work. Rules live in ``domain.case_lifecycle``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import func, select

from caseterm.domain import case_lifecycle as lifecycle
from caseterm.domain import permissions, validate
from caseterm.domain.case_lifecycle import Lifecycle
from caseterm.domain.durations import format_duration
from caseterm.domain.enums import (
    ACTIVE_STATUSES,
    ActivityKind,
    CaseState,
    CaseType,
    Direction,
    Origin,
    Priority,
    StatusReason,
    Visibility,
)
from caseterm.errors import RuleError, ValidationError
from caseterm.services.lookup import get_row
from caseterm.store.models import Activity, Agent, Asset, Case, Category, Customer, Product, Queue, QueueMember
from caseterm.store.uow import UnitOfWork

# Which activity kinds a person logs (system entries are written by the services).
LOGGABLE_KINDS = tuple(k for k in ActivityKind if k is not ActivityKind.SYSTEM)
_DEFAULT_DIRECTION = {
    ActivityKind.EMAIL_IN: Direction.INBOUND,
    ActivityKind.EMAIL_OUT: Direction.OUTBOUND,
}


# --- helpers ---------------------------------------------------------------------------------


def _lifecycle(case: Case) -> Lifecycle:
    return Lifecycle(
        state=CaseState(case.state),
        status=StatusReason(case.status_reason),
        resolution=case.resolution,
        resolved_at=case.resolved_at,
        cancelled_at=case.cancelled_at,
        merged_into=str(case.merged_into_id) if case.merged_into_id else None,
        reopen_count=case.reopen_count,
    )


def _apply_lifecycle(uow: UnitOfWork, actor: Agent, case: Case, lc: Lifecycle, action: str) -> dict[str, tuple]:
    changed = uow.update(
        case,
        actor.id,
        action,
        state=lc.state.value,
        status_reason=lc.status.value,
        resolution=lc.resolution,
        resolved_at=lc.resolved_at,
        cancelled_at=lc.cancelled_at,
        merged_into_id=uuid.UUID(lc.merged_into) if lc.merged_into else None,
        reopen_count=lc.reopen_count,
    )
    if case.sla_policy and ("status_reason" in changed or "state" in changed):
        _pause_or_resume_sla(uow, actor, case)
    return changed


def _pause_or_resume_sla(uow: UnitOfWork, actor: Agent, case: Case) -> None:
    """In one of its policy's pause statuses the case's SLA clocks stop; when it leaves it,
    each pending deadline moves on by the working time the clock stood still."""
    from caseterm.domain import business_hours as bh
    from caseterm.services import routing

    ops = routing.operations(uow)
    policy = next((p for p in ops.policies if p.name == case.sla_policy), None)
    if policy is None or policy.calendar not in ops.calendars:
        return
    calendar = ops.calendars[policy.calendar]
    now = uow.now()
    pausing = case.state == CaseState.ACTIVE.value and case.status_reason in policy.pause_statuses
    if pausing and case.sla_paused_at is None:
        uow.update(case, actor.id, "sla_pause", sla_paused_at=now)
        log_event(uow, actor, case, "sla_paused", f"SLA clocks stopped ({StatusReason(case.status_reason).label.lower()})")
    elif not pausing and case.sla_paused_at is not None:
        since = case.sla_paused_at
        stood = bh.between(calendar, since, now)
        changes: dict[str, Any] = {"sla_paused_at": None,
                                   "sla_paused_seconds": case.sla_paused_seconds + int(stood.total_seconds())}
        for name, done in (("first_response_due_at", case.first_response_at), ("resolve_due_at", case.resolved_at),
                           ("sla_warn_at", case.resolved_at if not case.sla_warned else case.sla_warn_at)):
            due = getattr(case, name)
            if due is not None and done is None and due > since:
                changes[name] = bh.add(calendar, now, bh.between(calendar, since, due))
        uow.update(case, actor.id, "sla_resume", **changes)
        if case.state == CaseState.ACTIVE.value:
            due = case.resolve_due_at.astimezone(calendar.tz) if case.resolve_due_at else None
            log_event(uow, actor, case, "sla_resumed",
                      f"SLA clocks running again after {format_duration(int(stood.total_seconds()))} of working time"
                      + (f"; resolve by {due:%Y-%m-%d %H:%M}" if due else ""), {"paused_seconds": int(stood.total_seconds())})


def _status_text(state: str, status: str) -> str:
    return f"{CaseState(state).label} ({StatusReason(status).label.lower()})"


def log_event(
    uow: UnitOfWork, actor: Agent | None, case: Case, event: str, body: str, data: dict[str, Any] | None = None
) -> Activity:
    """A system entry on the timeline: who did what (``body`` in words, ``data`` for machines)."""
    entry = Activity(
        case_id=case.id,
        kind=ActivityKind.SYSTEM.value,
        subject=event.replace("_", " ").capitalize(),
        body=body,
        author_id=actor.id if actor else None,
        occurred_at=uow.now(),
        event=event,
        data=data,
    )
    return uow.append(entry, actor.id if actor else None, event)


def _who(agent: Agent | None) -> str:
    return agent.login if agent else "nobody"


def _active_children(uow: UnitOfWork, case: Case) -> list[Case]:
    return list(
        uow.session.exec(
            select(Case)
            .where(Case.parent_id == case.id, Case.state == CaseState.ACTIVE.value, Case.deleted == False)  # noqa: E712
            .order_by(Case.number)
        ).all()
    )


# --- create and edit -------------------------------------------------------------------------


def create_case(
    uow: UnitOfWork,
    actor: Agent,
    *,
    customer: Customer,
    title: str,
    description: str = "",
    origin: str = "phone",
    case_type: str = "problem",
    priority: int | str = Priority.NORMAL,
    category: Category | None = None,
    product: Product | None = None,
    asset: Asset | None = None,
    contact: Customer | None = None,
    queue: Queue | None = None,
    owner: Agent | None = None,
    parent: Case | None = None,
) -> Case:
    """A new active case numbered ``CAS-<device>-<seq>``."""
    if customer.deleted:
        raise ValidationError("customer", f"{customer.name} has been deleted")
    if asset is not None and asset.customer_id != customer.id:
        raise ValidationError("asset", f"asset {asset.serial_number} belongs to another customer")
    if asset is not None and product is not None and asset.product_id != product.id:
        raise ValidationError("product", "does not match the asset's product")
    if owner is not None and owner.id != actor.id:
        permissions.require(actor.role, "assign_to_other_agent")
    if parent is not None and parent.state != CaseState.ACTIVE.value:
        raise ValidationError("parent", f"{parent.number} is {parent.state}; a new case can only hang under an active one")
    origin = Origin.parse(origin, "origin").value
    case_type = CaseType.parse(case_type, "type").value
    priority = int(Priority.parse(priority))
    if product is None and asset is not None:
        product = uow.session.get(Product, asset.product_id)
    # the operations the store holds (ops apply): routing when nobody chose a queue or an owner, SLA clocks
    from caseterm.services import entitlements, routing

    entitled = entitlements.for_new_case(uow, customer, origin, uow.now().date())
    planned = routing.plan(uow, _facts(origin, case_type, category, product, customer, priority, title, description),
                           route_it=queue is None and owner is None,
                           policy_name=entitled.entitlement.sla if entitled.entitlement else None)
    if entitled.note:
        planned.notes.insert(0, ("entitlement", entitled.note, {
            "entitlement": entitled.entitlement.name if entitled.entitlement else None}))
    if planned.queue is not None:
        queue = uow.session.get(Queue, planned.queue.id)
        owner = planned.owner
        priority = planned.priority or priority
    case = Case(
        number=uow.next_number("CAS"),
        title=validate.required_line("title", title, 200),
        description=validate.body_text("description", description, 20_000),
        customer_id=customer.id,
        contact_id=contact.id if contact else None,
        asset_id=asset.id if asset else None,
        product_id=product.id if product else None,  # (the asset's product, when only an asset was given)
        origin=origin,
        case_type=case_type,
        category_id=category.id if category else None,
        priority=priority,
        first_response_due_at=planned.first_response_due,
        resolve_due_at=planned.resolve_due,
        sla_policy=planned.policy,
        entitlement_id=entitled.entitlement.id if entitled.entitlement else None,
        sla_warn_at=planned.warn_at,
        queue_id=queue.id if queue else None,
        owner_id=owner.id if owner else None,
        created_by_id=actor.id,
        parent_id=parent.id if parent else None,
    )
    uow.create(case, actor.id, "create_case")
    where = []
    if queue is not None:
        where.append(f"queue {queue.name}")
    if owner is not None:
        where.append(f"owner {owner.login}")
    body = f"Case created by {actor.login} via {case.origin}" + (f"; {', '.join(where)}" if where else "")
    data = {"origin": case.origin, "priority": case.priority}
    for event, words, details in planned.notes:  # why it went where it went, and its SLA: one entry
        body += f". {words}"
        data[event] = details
    log_event(uow, actor, case, "created", body, data)
    if parent is not None:
        log_event(uow, actor, parent, "child_added", f"{case.number} added as a child case", {"child": case.number})
    return case


_EDITABLE = {"title", "description", "priority", "origin", "case_type", "category_id", "product_id", "asset_id", "contact_id"}


def update_case(uow: UnitOfWork, actor: Agent, case: Case, **fields: Any) -> dict[str, tuple]:
    """Edit the case's descriptive fields; the timeline lists each change."""
    unknown = set(fields) - _EDITABLE
    if unknown:
        raise ValidationError(", ".join(sorted(unknown)), "cannot be edited here")
    if case.state != CaseState.ACTIVE.value:
        raise RuleError(f"{case.number} is {case.state}; reopen it before editing")
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "title":
            clean[name] = validate.required_line("title", value, 200)
        elif name == "description":
            clean[name] = validate.body_text("description", value, 20_000)
        elif name == "priority":
            clean[name] = int(Priority.parse(value))
        elif name == "origin":
            clean[name] = Origin.parse(value, "origin").value
        elif name == "case_type":
            clean[name] = CaseType.parse(value, "type").value
        else:
            model = {"category_id": Category, "product_id": Product, "asset_id": Asset, "contact_id": Customer}[name]
            clean[name] = get_row(uow, model, value, name.removesuffix("_id")).id if value is not None else None
    changed = uow.update(case, actor.id, "update_case", **clean)
    if changed:
        parts = []
        for name, (old, new) in changed.items():
            if name == "priority":
                parts.append(f"priority {Priority(old).label} → {Priority(new).label}")
            elif name in ("title", "origin", "case_type"):
                parts.append(f"{name.replace('_', ' ')} '{old}' → '{new}'")
            else:
                parts.append(f"{name.removesuffix('_id').replace('_', ' ')} changed")
        body = "; ".join(parts)
        log_event(uow, actor, case, "updated", body[0].upper() + body[1:], {"fields": sorted(changed)})
    return changed


def assign_case(
    uow: UnitOfWork,
    actor: Agent,
    case: Case,
    *,
    queue: Queue | None | bool = False,
    owner: Agent | None | bool = False,
) -> dict[str, tuple]:
    """Route to a queue and/or an owner. ``None`` clears; ``False`` (the default) leaves as is."""
    if case.state != CaseState.ACTIVE.value:
        raise RuleError(f"{case.number} is {case.state}; only active cases can be assigned")
    changes: dict[str, Any] = {}
    if queue is not False:
        changes["queue_id"] = queue.id if queue else None
    if owner is not False:
        if owner is not None and owner.id != actor.id:
            permissions.require(actor.role, "assign_to_other_agent")
        if owner is not None and not owner.active:
            raise ValidationError("owner", f"{owner.login} is deactivated")
        changes["owner_id"] = owner.id if owner else None
    if not changes:
        raise ValidationError("assignment", "name a queue or an owner")
    before_queue = uow.session.get(Queue, case.queue_id) if case.queue_id else None
    before_owner = uow.session.get(Agent, case.owner_id) if case.owner_id else None
    changed = uow.update(case, actor.id, "assign_case", **changes)
    if changed:
        parts = []
        if "queue_id" in changed:
            parts.append(f"queue {before_queue.name if before_queue else 'none'} → {queue.name if queue else 'none'}")
        if "owner_id" in changed:
            parts.append(f"owner {_who(before_owner)} → {_who(owner if owner else None)}")
        data = {}
        if "queue_id" in changed:
            data["queue"] = queue.name if queue else None
        if "owner_id" in changed:
            data["owner"] = owner.login if owner else None
        log_event(uow, actor, case, "assigned", "Assigned: " + "; ".join(parts), data)
    return changed


def _facts(origin: str, case_type: str, category: Category | None, product: Product | None,
           customer: Customer | None, priority: int, title: str, description: str):
    """What routing rules and SLA policies look at (``domain.routing.CaseFacts``)."""
    from caseterm.domain.routing import CaseFacts

    return CaseFacts(origin=origin, type=case_type, category=category.name if category else "",
                     product=product.sku if product else "", customer_tier=(customer.tier if customer else "") or "",
                     priority=priority, title=title, description=description)


def route_case(uow: UnitOfWork, actor: Agent, case: Case) -> str:
    """Send an active case where the routing rules say, as if it were new: the first
    matching rule's queue (and priority, if the rule sets one) and the agent the queue's
    strategy picks. Returns the reason, which the timeline records."""
    from caseterm.services import routing

    if case.state != CaseState.ACTIVE.value:
        raise RuleError(f"{case.number} is {case.state}; only active cases are routed")
    category = uow.session.get(Category, case.category_id) if case.category_id else None
    product = uow.session.get(Product, case.product_id) if case.product_id else None
    customer = uow.session.get(Customer, case.customer_id)
    planned = routing.plan(uow, _facts(case.origin, case.case_type, category, product, customer, case.priority,
                                       case.title, case.description))
    routed = next((words for event, words, _ in planned.notes if event == "routed"), None)
    if planned.queue is None or routed is None:
        raise RuleError(f"No routing rule matches {case.number}; assign it by hand (or add a rule with 'ops apply')")
    changes: dict[str, Any] = {"queue_id": planned.queue.id, "owner_id": planned.owner.id if planned.owner else None}
    if planned.priority:
        changes["priority"] = planned.priority
    uow.update(case, actor.id, "route_case", **changes)
    log_event(uow, actor, case, "routed", routed, {"queue": planned.queue.name,
                                                   "owner": planned.owner.login if planned.owner else None})
    return routed


def escalate_case(uow: UnitOfWork, actor: Agent, case: Case, reason: str, *, to: Queue | None = None,
                  automatic: bool = False) -> str:
    """Hand an active case up, with a reason: to ``to``, or to the queue its queue
    escalates to (``escalate_to`` in the operations file). The escalation queue's strategy
    picks an owner with the skills and free capacity (else the case waits there
    unassigned), the priority goes one step up (critical stays critical) and the case is
    flagged escalated. ``automatic``: the SLA sweep escalating a breached case. Returns
    the words the timeline records."""
    from caseterm.services import routing

    if case.state != CaseState.ACTIVE.value:
        raise RuleError(f"{case.number} is {case.state}; only active cases are escalated")
    why = validate.required_line("reason", reason, 500)
    ops = routing.operations(uow)
    current = ops.queues_by_id.get(case.queue_id) if case.queue_id else None
    if to is not None:
        target = ops.queues_by_id.get(to.id)
        if target is None:
            raise ValidationError("queue", f"{to.name} has been removed")
    else:
        named = current.escalate_to if current else None
        if not named:
            where = f"queue {current.name}" if current else "no queue"
            raise RuleError(f"{case.number} is in {where}, which names no escalation queue; choose the queue "
                            "to escalate to, or give the queue escalate_to in the operations file")
        target = ops.queues.get(named.lower())
        if target is None:
            raise RuleError(f"The escalation queue '{named}' of {current.name} no longer exists; choose a queue")
    if current is not None and target.id == current.id:
        raise RuleError(f"{case.number} is already in {target.name}")
    owner, picked = routing.pick_owner(uow, target)
    priority = max(int(Priority.CRITICAL), case.priority - 1)
    before = Priority(case.priority)
    uow.update(case, actor.id, "escalate_case", queue_id=target.id, owner_id=owner.id if owner else None,
               priority=priority, escalated=True)
    words = (f"Escalated to {target.name}" + (" automatically" if automatic else f" by {actor.login}") + f": {why}; "
             f"{picked}" + (f"; priority {before.label} → {Priority(priority).label}" if priority != before else ""))
    log_event(uow, actor, case, "escalated", words, {
        "queue": target.name, "from": current.name if current else None, "owner": owner.login if owner else None,
        "reason": why, "automatic": automatic, "priority": priority})
    return words


def bulk_assign(uow: UnitOfWork, actor: Agent, cases: list[Case], owner: Agent, *,
                over_capacity: bool = False) -> list[str]:
    """A supervisor hands several cases to one agent at once (the queue's multi-select).
    Within capacity rules: refused, naming the load, when the agent would end up with more
    active cases than their capacity (unless ``over_capacity``, a deliberate override).
    Cases already the agent's are left alone. All or nothing; returns the numbers moved."""
    permissions.require(actor.role, "bulk_assign")
    if not cases:
        raise ValidationError("cases", "mark at least one case")
    if not owner.active:
        raise ValidationError("owner", f"{owner.login} is deactivated")
    inactive = [c.number for c in cases if c.state != CaseState.ACTIVE.value]
    if inactive:
        raise RuleError(f"Only active cases can be assigned; not {', '.join(inactive[:5])}"
                        + (f" and {len(inactive) - 5} more" if len(inactive) > 5 else ""))
    moving = [c for c in cases if c.owner_id != owner.id]
    load = uow.session.exec(select(func.count(Case.id)).where(
        Case.owner_id == owner.id, Case.state == CaseState.ACTIVE.value, Case.deleted == False)).one()  # noqa: E712
    if load + len(moving) > owner.capacity and not over_capacity:
        room = max(0, owner.capacity - load)
        raise RuleError(f"{owner.login} has {load} of {owner.capacity} active cases: room for {room} more, "
                        f"not {len(moving)}. Mark fewer cases, or choose another agent")
    for case in moving:
        assign_case(uow, actor, case, owner=owner)
    return [c.number for c in moving]


def queue_load(uow: UnitOfWork, queue: Queue) -> list[tuple[Agent, int]]:
    """The queue's members with their number of active cases (for pickers), by login."""
    load = (
        select(func.count(Case.id))
        .where(Case.owner_id == Agent.id, Case.state == CaseState.ACTIVE.value, Case.deleted == False)  # noqa: E712
        .correlate(Agent)
        .scalar_subquery()
    )
    rows = uow.session.exec(
        select(Agent, load).join(QueueMember, QueueMember.agent_id == Agent.id)
        .where(QueueMember.queue_id == queue.id, QueueMember.deleted == False).order_by(Agent.login)  # noqa: E712
    ).all()
    return [(agent, count) for agent, count in rows]


# --- the state machine -----------------------------------------------------------------------


def set_status(uow: UnitOfWork, actor: Agent, case: Case, status: str, note: str | None = None) -> Case:
    """Move between active statuses (in progress, on hold, waiting for customer, researching)."""
    try:
        target = StatusReason.parse(status, "status")
    except ValidationError:
        settable = ", ".join(s.value for s in ACTIVE_STATUSES if s is not StatusReason.NEW)
        raise ValidationError("status", f"'{status}' is not one of {settable} (to close a case, resolve or cancel it)") from None
    before = (case.state, case.status_reason)
    lc = lifecycle.set_status(_lifecycle(case), target, subject=case.number)
    _apply_lifecycle(uow, actor, case, lc, "set_status")
    body = f"Status {_status_text(*before)} → {_status_text(case.state, case.status_reason)}"
    if note and note.strip():
        body += f": {note.strip()}"
    log_event(uow, actor, case, "status_changed", body, {"from": before[1], "to": case.status_reason})
    return case


def resolve_case(
    uow: UnitOfWork,
    actor: Agent,
    case: Case,
    resolution: str,
    kind: str = "problem_solved",
    force: bool = False,
) -> Case:
    """Resolve with a resolution text. A parent with active children needs ``force`` (supervisors)."""
    target = StatusReason.parse(kind, "resolution kind")
    lc = lifecycle.resolve(_lifecycle(case), validate.body_text("resolution", resolution, 20_000), uow.now(),
                           target, subject=case.number)
    children = _active_children(uow, case)
    if children and force:
        permissions.require(actor.role, "force_resolve_parent")
    lifecycle.check_parent_resolvable([c.number for c in children], force, subject=case.number)
    _apply_lifecycle(uow, actor, case, lc, "resolve_case")
    used = None
    if case.entitlement_id is not None and case.reopen_count == 0:  # counted once: not again after a reopen
        from caseterm.services import entitlements

        worked = uow.session.exec(select(func.coalesce(func.sum(Activity.duration_seconds), 0)).where(
            Activity.case_id == case.id, Activity.deleted == False)).one()  # noqa: E712
        used = entitlements.use(uow, actor, case.entitlement_id, int(worked))
    # the articles linked to the case helped resolve it (reports count them)
    from caseterm.store.models import CaseArticle

    for link in uow.session.exec(select(CaseArticle).where(CaseArticle.case_id == case.id,
                                                           CaseArticle.deleted == False)).all():  # noqa: E712
        uow.update(link, actor.id, "resolve_case", helped=True)
    body = f"Resolved ({target.label.lower()}) by {actor.login}: {case.resolution}"
    if children:
        body += f" (forced with {len(children)} active child case(s))"
    if used:
        body += f" ({used})"
    log_event(uow, actor, case, "resolved", body, {"kind": target.value, "forced": bool(children)})
    return case


def cancel_case(uow: UnitOfWork, actor: Agent, case: Case, reason: str | None = None) -> Case:
    lc = lifecycle.cancel(_lifecycle(case), uow.now(), subject=case.number)
    _apply_lifecycle(uow, actor, case, lc, "cancel_case")
    text = (reason or "").strip()
    log_event(uow, actor, case, "cancelled", f"Cancelled by {actor.login}" + (f": {text}" if text else ""),
              {"reason": text or None})
    return case


def reopen_case(uow: UnitOfWork, actor: Agent, case: Case, reason: str | None = None, override: bool = False) -> Case:
    """Back to in progress: a resolved case within the reopen window (supervisors may override), or a cancelled one."""
    if override:
        permissions.require(actor.role, "override_reopen_window")
    before = (case.state, case.status_reason)
    lc = lifecycle.reopen(_lifecycle(case), uow.now(), uow.settings.reopen_days, override, subject=case.number)
    _apply_lifecycle(uow, actor, case, lc, "reopen_case")
    text = (reason or "").strip()
    log_event(uow, actor, case, "reopened",
              f"Reopened by {actor.login} from {_status_text(*before)}" + (f": {text}" if text else ""),
              {"from": before[1], "reason": text or None})
    return case


def merge_cases(uow: UnitOfWork, actor: Agent, master: Case, duplicates: list[Case]) -> Case:
    """Merge ``duplicates`` into ``master``: each becomes cancelled/merged and points at it;
    their children move under the master; their timelines show on the master's."""
    permissions.require(actor.role, "merge_cases")
    if not duplicates:
        raise ValidationError("cases", "name at least one case to merge into the master")
    if master.state != CaseState.ACTIVE.value:
        raise RuleError(f"{master.number} is {master.state}; merge into an active case")
    seen: set[uuid.UUID] = set()
    for dup in duplicates:
        if dup.id == master.id:
            raise ValidationError("cases", f"{master.number} cannot be merged into itself")
        if dup.id in seen:
            raise ValidationError("cases", f"{dup.number} is named twice")
        seen.add(dup.id)
        if dup.customer_id != master.customer_id:
            raise RuleError(f"{dup.number} belongs to another customer than {master.number}; only one customer's cases merge")
    for dup in duplicates:
        lc = lifecycle.merge_into(_lifecycle(dup), str(master.id), uow.now(), subject=dup.number)
        _apply_lifecycle(uow, actor, dup, lc, "merge_cases")
        log_event(uow, actor, dup, "merged", f"Merged into {master.number} by {actor.login}", {"master": master.number})
        for child in uow.session.exec(select(Case).where(Case.parent_id == dup.id, Case.deleted == False)).all():  # noqa: E712
            if child.id != master.id:
                uow.update(child, actor.id, "merge_cases", parent_id=master.id)
                log_event(uow, actor, child, "parent_changed",
                          f"Parent {dup.number} → {master.number} (merged)", {"parent": master.number})
    numbers = [d.number for d in duplicates]
    log_event(uow, actor, master, "merged_in", f"{', '.join(numbers)} merged into this case by {actor.login}",
              {"merged": numbers})
    return master


def link_parent(uow: UnitOfWork, actor: Agent, case: Case, parent: Case | None) -> Case:
    """Set (or with ``None`` clear) the parent case. Loops are refused."""
    if parent is not None:
        if parent.id == case.id:
            raise ValidationError("parent", "a case cannot be its own parent")
        if parent.state == CaseState.CANCELLED.value:
            raise ValidationError("parent", f"{parent.number} is cancelled")
        chain, cursor = [], parent
        while cursor is not None and len(chain) < 1000:
            chain.append(str(cursor.id))
            cursor = uow.session.get(Case, cursor.parent_id) if cursor.parent_id else None
        lifecycle.check_no_cycle(str(case.id), chain)
    old = uow.session.get(Case, case.parent_id) if case.parent_id else None
    changed = uow.update(case, actor.id, "link_parent", parent_id=parent.id if parent else None)
    if changed:
        body = f"Parent {old.number if old else 'none'} → {parent.number if parent else 'none'}"
        log_event(uow, actor, case, "parent_changed", body, {"parent": parent.number if parent else None})
        if parent is not None:
            log_event(uow, actor, parent, "child_added", f"{case.number} added as a child case", {"child": case.number})
    return case


# --- the timeline ----------------------------------------------------------------------------


def add_activity(
    uow: UnitOfWork,
    actor: Agent,
    case: Case,
    *,
    kind: str = "note",
    body: str = "",
    subject: str = "",
    direction: str | None = None,
    duration_seconds: int | None = None,
    visibility: str = "internal",
    occurred_at: datetime | None = None,
) -> Activity:
    """Log a note, phone call (with its duration), email, chat, task or visit on the case."""
    activity_kind = ActivityKind.parse(kind, "kind")
    if activity_kind is ActivityKind.SYSTEM:
        raise ValidationError("kind", f"system entries are written by caseterm; use one of {', '.join(LOGGABLE_KINDS)}")
    text = validate.body_text("text", body, 100_000)
    subject_text = validate.optional_line("subject", subject, 300) or ""
    if not text and not subject_text:
        raise ValidationError("text", f"a {activity_kind.label.lower()} needs some text")
    if duration_seconds is not None:
        duration_seconds = validate.positive_int("duration", duration_seconds, 24 * 3600, allow_zero=True)
    when = occurred_at or uow.now()
    if when > uow.now():
        raise ValidationError("time", "cannot be in the future")
    entry = Activity(
        case_id=case.id,
        kind=activity_kind.value,
        direction=(Direction.parse(direction, "direction") if direction else _DEFAULT_DIRECTION.get(activity_kind, Direction.NONE)).value,
        subject=subject_text,
        body=text,
        author_id=actor.id,
        occurred_at=when,
        duration_seconds=duration_seconds,
        visibility=Visibility.parse(visibility, "visibility").value,
    )
    uow.append(entry, actor.id, "add_activity")
    if case.first_response_at is None and customer_facing(entry):
        # the first answer the customer gets stops the first-response clock
        uow.update(case, actor.id, "first_response", first_response_at=entry.occurred_at)
        if case.first_response_due_at is not None:
            met = "met" if entry.occurred_at <= case.first_response_due_at else "late"
            log_event(uow, actor, case, "first_response", f"First response to the customer ({met} the SLA)",
                      {"met": met == "met"})
    return entry


def customer_facing(entry: Activity) -> bool:
    """Whether the customer heard from us: an email sent, a call or chat (either way: we
    talked), a visit, or anything marked visible to the customer."""
    return entry.visibility == Visibility.CUSTOMER.value or entry.kind in (
        ActivityKind.EMAIL_OUT.value, ActivityKind.PHONE_CALL.value, ActivityKind.CHAT.value, ActivityKind.VISIT.value)

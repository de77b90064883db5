"""Entitlements: what a customer has bought of support (granted from the operations
file's templates), attached to their new cases, used up as cases are resolved.

A new case gets the customer's entitlement that is valid today on the case's channel;
its SLA policy (if it names one) is the one the case runs under. One sold by the case
loses a case when a case under it is resolved; one sold by the hour loses the time
logged on the case's timeline (calls, tasks, visits: their durations), in whole minutes. An entitlement that is
used up or expired, or one for other channels only, is not silently ignored: the
timeline's "created" entry says so, for the agent to act on (sell a renewal, make an
exception).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import select

from caseterm.domain.durations import format_duration
from caseterm.errors import NotFound
from caseterm.store.models import Agent, Customer, Entitlement, EntitlementTemplate
from caseterm.store.uow import UnitOfWork


def grant(uow: UnitOfWork, actor: Agent, customer: Customer, template_name: str,
          starts_on: date | None = None) -> Entitlement:
    """An entitlement for ``customer`` from the template ``template_name``, from
    ``starts_on`` (today) for the template's number of days."""
    from caseterm.domain import permissions

    permissions.require(actor.role, "grant_entitlement")
    templates = {t.name.lower(): t for t in uow.session.exec(
        select(EntitlementTemplate).where(EntitlementTemplate.deleted == False))}  # noqa: E712
    template = templates.get(template_name.strip().lower())
    if template is None:
        known = ", ".join(sorted(t.name for t in templates.values())) or "none (see 'caseterm ops apply')"
        raise NotFound(f"No entitlement template '{template_name}'; templates: {known}")
    start = starts_on or uow.now().date()
    return uow.create(Entitlement(customer_id=customer.id, name=template.name, sla=template.sla,
                                  channels=list(template.channels), starts_on=start,
                                  ends_on=start + timedelta(days=template.days - 1), cases_left=template.cases,
                                  minutes_left=template.hours * 60 if template.hours else None),
                      actor.id, "grant_entitlement")


@dataclass
class Match:
    entitlement: Entitlement | None  # the one the case uses
    note: str | None  # what the agent should know (none usable, used up, expired…)


def for_new_case(uow: UnitOfWork, customer: Customer, channel: str, today: date) -> Match:
    """The customer's entitlement a new case on ``channel`` uses today, if any."""
    owned = list(uow.session.exec(select(Entitlement).where(
        Entitlement.customer_id == customer.id, Entitlement.deleted == False)  # noqa: E712
        .order_by(Entitlement.ends_on)))
    if not owned:
        return Match(None, None)  # nothing bought: nothing to say
    current = [e for e in owned if e.starts_on <= today <= e.ends_on]
    on_channel = [e for e in current if not e.channels or channel in e.channels]
    usable = [e for e in on_channel if (e.cases_left is None or e.cases_left > 0)
              and (e.minutes_left is None or e.minutes_left > 0)]
    if usable:
        chosen = usable[0]  # the one that ends first
        left = ""
        if chosen.cases_left is not None:
            left = f", {chosen.cases_left} case(s) left before this one"
        elif chosen.minutes_left is not None:
            left = f", {format_duration(chosen.minutes_left * 60)} of work left"
        return Match(chosen, f"Entitlement '{chosen.name}' (until {chosen.ends_on}{left})")
    if on_channel:
        what = "no hours left" if on_channel[0].minutes_left is not None else "no cases left"
        return Match(None, f"Entitlement '{on_channel[0].name}' is used up ({what}): no entitlement applies")
    if current:
        return Match(None, f"Entitlement '{current[0].name}' does not cover {channel}: no entitlement applies")
    latest = owned[-1]
    word = "expired" if latest.ends_on < today else "starts"
    return Match(None, f"Entitlement '{latest.name}' {word} {latest.ends_on if word == 'expired' else latest.starts_on}"
                       ": no entitlement applies")


def use(uow: UnitOfWork, actor: Agent, entitlement_id, worked_seconds: int) -> str | None:
    """A case under the entitlement was resolved: one case fewer left, or (sold by the
    hour) the ``worked_seconds`` logged on it, rounded up to whole minutes. Never below
    zero (resolving is never refused). Returns what the resolve entry should say."""
    entitlement = uow.session.get(Entitlement, entitlement_id)
    if entitlement is None:
        return None
    if entitlement.cases_left:
        uow.update(entitlement, actor.id, "use_entitlement", cases_left=entitlement.cases_left - 1)
        return f"entitlement '{entitlement.name}': {entitlement.cases_left} case(s) left"
    if entitlement.minutes_left is not None:
        used = -(-max(0, worked_seconds) // 60)
        left = max(0, entitlement.minutes_left - used)
        uow.update(entitlement, actor.id, "use_entitlement", minutes_left=left)
        return (f"entitlement '{entitlement.name}': {format_duration(used * 60) if used else 'no time'} used, "
                f"{format_duration(left * 60) if left else 'nothing'} left")
    return None


__all__ = ["Match", "for_new_case", "grant", "use"]

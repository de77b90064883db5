"""SLA policies and the state of a case's SLA clocks, as pure functions (service operations).

A policy applies to the cases its conditions match (the routing conditions of
``domain.routing``; the first matching policy wins, like routing rules). It sets, per
priority, a first-response and a resolve target in *working* time of a business-hours
calendar (``domain.business_hours``), the share of a target after which the case is
"at risk" (a warning), and the statuses in which the clocks stop (waiting for the
customer, say).

:func:`clock` says where one clock stands at a moment: running, paused, warning, breached
or met, when it is due, and how much working time is left. Pauses come from the case's
status history as (from, to) spans; a pause still going has no end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from caseterm.domain import business_hours as bh
from caseterm.domain.durations import parse_duration
from caseterm.domain.routing import CaseFacts, Condition, parse_rule
from caseterm.errors import ValidationError

PRIORITIES = (1, 2, 3, 4)


@dataclass(frozen=True)
class Targets:
    first_response: timedelta
    resolve: timedelta


@dataclass(frozen=True)
class SlaPolicy:
    name: str
    conditions: tuple[Condition, ...]
    targets: tuple[tuple[int, Targets], ...]  # (priority, targets), for every priority 1–4
    calendar: str
    warn_at: float = 0.75
    pause_statuses: frozenset[str] = frozenset({"waiting_for_customer", "on_hold"})
    escalate_on_breach: bool = False  # a breach escalates the case to its queue's escalation queue

    def applies(self, facts: CaseFacts) -> bool:
        return all(c.holds(facts) for c in self.conditions)

    def targets_for(self, priority: int) -> Targets:
        return dict(self.targets)[priority]


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    WARNING = "warning"
    BREACHED = "breached"
    MET = "met"


@dataclass(frozen=True)
class Clock:
    state: ClockState
    due: datetime | None  # None while a pause with no end stops the clock
    left: timedelta  # working time left (negative once breached); at ``done`` for met ones


def pick_policy(policies: Sequence[SlaPolicy], facts: CaseFacts) -> SlaPolicy | None:
    return next((p for p in policies if p.applies(facts)), None)


def clock(calendar: bh.Calendar, start: datetime, target: timedelta, now: datetime, *,
          pauses: Sequence[tuple[datetime, datetime | None]] = (), done: datetime | None = None,
          warn_at: float = 0.75) -> Clock:
    """Where a clock started at ``start`` with ``target`` of working time stands at ``now``
    (or stood when it was stopped at ``done``: the first response, the resolution)."""
    at = done if done is not None else now
    due = bh.add(calendar, start, target, pauses)
    left = target - bh.between(calendar, start, at, pauses)
    if done is not None:
        return Clock(ClockState.MET if due is None or done <= due else ClockState.BREACHED, due, left)
    if due is not None and now >= due:
        return Clock(ClockState.BREACHED, due, left)
    paused = any(a <= now and (b is None or now < b) for a, b in pauses)
    if target - left >= target * warn_at:
        return Clock(ClockState.WARNING, due, left)
    return Clock(ClockState.PAUSED if paused else ClockState.RUNNING, due, left)


def parse_policy(raw: Mapping, where: str, calendars: Iterable[str], statuses: Iterable[str]) -> SlaPolicy:
    """One ``[[sla]]`` table: ``name``, ``calendar``, ``when`` (as routing rules), ``warn_at``
    (0–1, default 0.75), ``pause`` (status reasons), ``escalate_on_breach`` (default false),
    and ``targets`` with a table per priority: ``[sla.targets.1] first_response = "1h",
    resolve = "8h"``."""
    if not isinstance(raw, Mapping):
        raise ValidationError(where, "must be a table with name, calendar and targets")
    unknown = set(raw) - {"name", "calendar", "when", "warn_at", "pause", "targets", "escalate_on_breach"}
    if unknown:
        raise ValidationError(f"{where}.{sorted(unknown)[0]}",
                              "unknown key; expected name, calendar, when, warn_at, pause, targets, "
                              "escalate_on_breach")
    # name and conditions are checked as a routing rule's are
    rule = parse_rule({"name": raw.get("name"), "when": raw.get("when", {}), "queue": "-"}, where)
    known = {c.lower(): c for c in calendars}
    calendar = raw.get("calendar")
    if not isinstance(calendar, str) or calendar.strip().lower() not in known:
        raise ValidationError(f"{where}.calendar", f"name one of the calendars: {', '.join(sorted(known.values()))}")
    warn_at = raw.get("warn_at", 0.75)
    if isinstance(warn_at, bool) or not isinstance(warn_at, (int, float)) or not 0 < warn_at <= 1:
        raise ValidationError(f"{where}.warn_at", "the share of a target after which a case is at risk, e.g. 0.75")
    escalate = raw.get("escalate_on_breach", False)
    if not isinstance(escalate, bool):
        raise ValidationError(f"{where}.escalate_on_breach", "true or false")
    valid = set(statuses)
    pause = raw.get("pause", ["waiting_for_customer", "on_hold"])
    if not isinstance(pause, list) or any(s not in valid for s in pause):
        raise ValidationError(f"{where}.pause", f"a list of status reasons among {', '.join(sorted(valid))}")
    table = raw.get("targets")
    if not isinstance(table, Mapping):
        raise ValidationError(f"{where}.targets", "give first_response and resolve for each priority 1–4")
    targets = []
    for priority in PRIORITIES:
        entry = table.get(str(priority), table.get(priority))
        place = f"{where}.targets.{priority}"
        if not isinstance(entry, Mapping) or set(entry) != {"first_response", "resolve"}:
            raise ValidationError(place, 'give first_response and resolve, e.g. first_response = "1h", resolve = "8h"')
        first = timedelta(seconds=parse_duration(str(entry["first_response"]), f"{place}.first_response"))
        resolve = timedelta(seconds=parse_duration(str(entry["resolve"]), f"{place}.resolve"))
        if not first or not resolve or first > resolve:
            raise ValidationError(place, "targets must be above zero, and first response no later than resolve")
        targets.append((priority, Targets(first, resolve)))
    return SlaPolicy(rule.name, rule.conditions, tuple(targets), known[calendar.strip().lower()], float(warn_at),
                     frozenset(pause), escalate)


__all__ = ["Clock", "ClockState", "SlaPolicy", "Targets", "clock", "parse_policy", "pick_policy"]

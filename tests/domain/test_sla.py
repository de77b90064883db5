"""SLA policies: which applies, where a clock stands, and policy errors located."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from caseterm.domain import business_hours as bh
from caseterm.domain.enums import StatusReason
from caseterm.domain.routing import CaseFacts
from caseterm.domain.sla import ClockState, clock, parse_policy, pick_policy
from caseterm.errors import ValidationError

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
OFFICE = bh.Calendar.from_spec("Europe/Berlin", {"mon-fri": ["09:00-17:00"]})
STATUSES = [s.value for s in StatusReason]
TARGETS = {str(p): {"first_response": f"{p}h", "resolve": f"{8 * p}h"} for p in (1, 2, 3, 4)}


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def policy(**raw):
    base = {"name": "standard", "calendar": "office", "targets": TARGETS}
    return parse_policy({**base, **raw}, "sla[0]", ["Office", "24x7"], STATUSES)


def test_the_first_policy_whose_conditions_match_applies():
    gold = policy(name="gold", when={"customer_tier": "gold"}, calendar="24x7")
    standard = policy()
    assert pick_policy([gold, standard], CaseFacts(customer_tier="gold")) is gold
    assert pick_policy([gold, standard], CaseFacts(customer_tier="silver")) is standard
    assert gold.calendar == "24x7" and standard.targets_for(2).resolve == 16 * H


def test_a_clock_runs_warns_breaches_and_is_met():
    start = berlin(2026, 11, 30, 9, 0)  # Monday
    target = 8 * H  # due Monday 17:00
    running = clock(OFFICE, start, target, berlin(2026, 11, 30, 10, 0))
    assert (running.state, running.due, running.left) == (ClockState.RUNNING, berlin(2026, 11, 30, 17, 0), 7 * H)
    assert clock(OFFICE, start, target, berlin(2026, 11, 30, 15, 0)).state is ClockState.WARNING  # 6 of 8 h gone
    late = clock(OFFICE, start, target, berlin(2026, 12, 1, 10, 0))
    assert (late.state, late.left) == (ClockState.BREACHED, -H)
    met = clock(OFFICE, start, target, berlin(2026, 12, 2, 9, 0), done=berlin(2026, 11, 30, 16, 0))
    assert (met.state, met.left) == (ClockState.MET, H)


def test_waiting_for_the_customer_pauses_the_clock_and_moves_the_deadline():
    start = berlin(2026, 11, 30, 9, 0)
    waiting = [(berlin(2026, 11, 30, 10, 0), None)]  # still waiting
    now = berlin(2026, 12, 3, 12, 0)
    paused = clock(OFFICE, start, 8 * H, now, pauses=waiting)
    assert (paused.state, paused.due, paused.left) == (ClockState.PAUSED, None, 7 * H)
    answered = [(berlin(2026, 11, 30, 10, 0), berlin(2026, 12, 1, 10, 0))]  # the customer answered a day later
    running = clock(OFFICE, start, 8 * H, berlin(2026, 12, 1, 11, 0), pauses=answered)
    assert (running.state, running.due) == (ClockState.RUNNING, berlin(2026, 12, 1, 17, 0))


@pytest.mark.parametrize(("raw", "place", "why"), [
    ({"calendar": "moon"}, "sla[0].calendar", "calendars: 24x7, Office"),
    ({"warn_at": 2}, "sla[0].warn_at", "share of a target"),
    ({"pause": ["lunch"]}, "sla[0].pause", "status reasons"),
    ({"targets": {"1": TARGETS["1"]}}, "sla[0].targets.2", "first_response and resolve"),
    ({"targets": {**TARGETS, "3": {"first_response": "2 days", "resolve": "8h"}}}, "sla[0].targets.3.first_response",
     "not a duration"),
    ({"targets": {**TARGETS, "4": {"first_response": "9h", "resolve": "8h"}}}, "sla[0].targets.4",
     "no later than resolve"),
    ({"when": {"weather": "rain"}}, "sla[0].when.weather", "unknown field"),
    ({"colour": "red"}, "sla[0].colour", "unknown key"),
])
def test_a_bad_policy_is_refused_with_its_place(raw, place, why):
    with pytest.raises(ValidationError) as caught:
        policy(**raw)
    assert caught.value.field == place and why in caught.value.reason

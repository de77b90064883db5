"""Routing rules against a table of cases, assignment strategies, and rule errors located."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from caseterm.domain.routing import CaseFacts, Member, parse_rule, pick_agent, route
from caseterm.errors import ValidationError

QUEUES = ["Returns", "Repairs", "VIP", "General Support", "Field Service"]
RULES = [parse_rule(raw, f"routing[{i}]", QUEUES) for i, raw in enumerate([
    {"name": "vip customers", "when": {"customer_tier": "gold"}, "queue": "vip", "priority": 2},
    {"name": "return keywords", "when": {"keywords": ["return", "refund", "send it back"], "not_type": "question"},
     "queue": "Returns"},
    {"name": "broken kitchen", "when": {"category": "Kitchen", "type": ["problem", "complaint"]}, "queue": "Repairs"},
    {"name": "on site", "when": {"origin": "field"}, "queue": "Field Service"},
    {"name": "everything else", "queue": "General Support"},
])]


@pytest.mark.parametrize(("facts", "queue", "priority", "rule"), [
    (CaseFacts(customer_tier="Gold", title="Kettle leaks"), "VIP", 2, "vip customers"),
    (CaseFacts(type="request", title="I want to return my blender"), "Returns", None, "return keywords"),
    (CaseFacts(type="request", description="Please send it back to me"), "Returns", None, "return keywords"),
    (CaseFacts(type="question", title="How long do I have to return it?"), "General Support", None, "everything else"),
    (CaseFacts(type="request", title="Returning customer asks about warranty"), "General Support", None,
     "everything else"),  # "returning" is not the word "return"
    (CaseFacts(type="problem", category="kitchen", title="Kettle leaks"), "Repairs", None, "broken kitchen"),
    (CaseFacts(type="question", category="Kitchen", title="Kettle colours"), "General Support", None,
     "everything else"),
    (CaseFacts(origin="field", type="problem", category="Laundry"), "Field Service", None, "on site"),
])
def test_the_first_matching_rule_routes_the_case(facts, queue, priority, rule):
    routed = route(RULES, facts)
    assert (routed.queue, routed.priority, routed.rule.name) == (queue, priority, rule)
    assert routed.reason.startswith(f"routed to {queue} by rule '{rule}'")


def test_no_rule_leaves_the_case_where_it_is():
    assert route(RULES[:1], CaseFacts(customer_tier="silver")).queue is None


@pytest.mark.parametrize(("raw", "place", "why"), [
    ({"when": {"origin": "email"}, "queue": "Returns"}, "routing[3].name", "needs a name"),
    ({"name": "x", "when": {"colour": "red"}, "queue": "Returns"}, "routing[3].when.colour", "unknown field"),
    ({"name": "x", "when": {"origin": []}, "queue": "Returns"}, "routing[3].when.origin", "give a value"),
    ({"name": "x", "queue": "Nowhere"}, "routing[3].queue", "no queue 'Nowhere'"),
    ({"name": "x", "queue": "Returns", "priority": 9}, "routing[3].priority", "1 (critical) to 4"),
    ({"name": "x", "queue": "Returns", "then": "y"}, "routing[3].then", "unknown key"),
    ("not a table", "routing[3]", "must be a table"),
])
def test_a_bad_rule_is_refused_with_its_place_and_what_is_expected(raw, place, why):
    with pytest.raises(ValidationError) as caught:
        parse_rule(raw, "routing[3]", QUEUES)
    assert caught.value.field == place and why in caught.value.reason


T0 = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
TEAM = [
    Member("ana", active=3, capacity=8, skills={"returns": 2}, last_assigned=T0),
    Member("ben", active=1, capacity=8, skills={"returns": 1, "repairs": 3}, last_assigned=T0),
    Member("cy", active=8, capacity=8, skills={"returns": 3}),  # full
    Member("dee", active=1, capacity=8, skills={}, available=False),  # away
]


def test_least_active_takes_the_lightest_load_with_free_capacity():
    pick = pick_agent("least_active", TEAM)
    assert pick.login == "ben" and pick.reason == "assigned to ben: load 1/8"


def test_skills_match_needs_every_skill_at_its_level_within_capacity():
    pick = pick_agent("skills", TEAM, needs={"returns": 2})
    assert pick.login == "ana" and "skills returns≥2, load 3/8" in pick.reason  # cy has returns 3 but is full
    none = pick_agent("skills", TEAM, needs={"returns": 3})
    assert none.login is None and "returns≥3" in none.reason


def test_round_robin_goes_on_from_the_last_one_and_skips_who_cannot_take_more():
    assert pick_agent("round_robin", TEAM, last_login="ana").login == "ben"
    assert pick_agent("round_robin", TEAM, last_login="ben").login == "ana"  # cy full, dee away: back to ana
    assert pick_agent("round_robin", TEAM).login == "ana"


def test_nobody_free_leaves_the_case_in_the_queue_and_says_why():
    full = [Member("cy", active=8, capacity=8)]
    assert pick_agent("least_active", full).login is None
    assert "at capacity" in pick_agent("round_robin", full).reason
    assert "no members" in pick_agent("least_active", []).reason
    with pytest.raises(ValidationError, match="strategy"):
        pick_agent("random", TEAM)


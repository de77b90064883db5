"""Routing and SLA clocks on case creation, by the operations applied from a file."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from caseterm.services import cases, ops
from caseterm.store.models import Activity, Agent

BERLIN = ZoneInfo("Europe/Berlin")
OPS = '''
categories = ["Kitchen"]
skills = ["returns"]

[[calendar]]
name = "office"
time_zone = "Europe/Berlin"
hours = { mon-fri = ["09:00-17:00"] }

[[queue]]
name = "Returns"
strategy = "least_active"
members = ["jdoe", "kim"]

[[queue]]
name = "General"
strategy = "round_robin"
members = ["boss", "kim"]

[[sla]]
name = "standard"
calendar = "office"
targets = { 1 = { first_response = "1h", resolve = "8h" }, 2 = { first_response = "2h", resolve = "16h" }, 3 = { first_response = "4h", resolve = "24h" }, 4 = { first_response = "8h", resolve = "40h" } }

[[routing]]
name = "return keywords"
when = { keywords = ["return", "refund"], not_type = "question" }
queue = "Returns"

[[routing]]
name = "angry gold"
when = { customer_tier = "gold", type = "complaint" }
queue = "General"
priority = 1

[[routing]]
name = "everything else"
queue = "General"
'''


@pytest.fixture
def org(store, world):
    with store.uow() as uow:
        uow.create(Agent(login="kim", display_name="Kim Kaur", role="agent", capacity=2), world["admin"].id, "seed")
    report = ops.apply_text(store.uow, "admin", OPS)
    assert report.applied
    return world


def timeline(store, case) -> list[tuple[str, str]]:
    with store.uow() as uow:
        return [(a.event, a.body) for a in uow.session.exec(
            select(Activity).where(Activity.case_id == case.id).order_by(Activity.occurred_at, Activity.id))]


def test_a_new_case_is_routed_assigned_and_given_its_sla_with_the_reasons(store, org):
    # the clock: Wednesday 2026-11-25 09:00 UTC = 10:00 in Berlin
    with store.uow() as uow:
        case = cases.create_case(uow, org["clerk"], customer=org["ada"], title="I want to return my kettle",
                                 case_type="request", priority=3)
        queue_name = case.queue_id and uow.session.get(type(org["queue"]), case.queue_id).name
        owner = uow.session.get(Agent, case.owner_id).login
    assert (queue_name, owner) == ("Returns", "jdoe")  # least active: both have 0, jdoe first by name
    assert case.first_response_due_at == datetime(2026, 11, 25, 14, 0, tzinfo=BERLIN)  # 4 working hours
    assert case.resolve_due_at == datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN)  # 24 h = 3 office days
    [(event, body)] = timeline(store, case)
    assert event == "created"
    assert "Routed to Returns by rule 'return keywords'; assigned to jdoe: load 0/10" in body
    assert "SLA 'standard' (office hours): first response by 2026-11-25 14:00, resolve by 2026-11-30 10:00" in body


def test_the_first_matching_rule_wins_and_can_raise_the_priority(store, org):
    with store.uow() as uow:
        ada = org["ada"]
        uow.update(ada, org["admin"].id, "seed", tier="gold")
        question = cases.create_case(uow, org["agent"], customer=ada, title="Can I return it after 40 days?",
                                     case_type="question")
        angry = cases.create_case(uow, org["agent"], customer=ada, title="Third broken kettle", case_type="complaint")
    assert "Routed to General by rule 'everything else'" in timeline(store, question)[0][1]
    assert angry.priority == 1 and "Routed to General by rule 'angry gold', priority 1" in timeline(store, angry)[0][1]
    assert angry.resolve_due_at == datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)  # priority 1: 8 working hours


def test_capacity_and_round_robin_spread_the_work_and_a_full_queue_waits(store, org):
    owners = []
    with store.uow() as uow:
        for i in range(4):
            c = cases.create_case(uow, org["agent"], customer=org["bob"], title=f"Question {i}", case_type="question")
            owners.append(uow.session.get(Agent, c.owner_id).login if c.owner_id else None)
    # General is round robin over boss and kim; kim holds at most 2 active cases
    assert owners == ["boss", "kim", "boss", "kim"]
    more = []
    with store.uow() as uow:
        for i in (5, 6):
            c = cases.create_case(uow, org["agent"], customer=org["bob"], title=f"Question {i}", case_type="question")
            more.append(uow.session.get(Agent, c.owner_id).login)
    assert more == ["boss", "boss"]  # kim is full (2/2): her turn goes on to boss


def test_a_chosen_queue_or_owner_is_kept(store, org):
    with store.uow() as uow:
        c = cases.create_case(uow, org["agent"], customer=org["bob"], title="Refund please", queue=org["queue"])
    [(event, body)] = timeline(store, c)
    assert c.owner_id is None and "Routed" not in body and "SLA 'standard'" in body


def test_the_first_customer_facing_answer_stops_the_first_response_clock(store, org, clock):
    with store.uow() as uow:
        case = cases.create_case(uow, org["agent"], customer=org["bob"], title="Where is my order?",
                                 case_type="question", priority=3)
        cases.add_activity(uow, org["agent"], case, kind="note", body="Checked the warehouse system")
    assert case.first_response_at is None  # an internal note is no answer
    clock.advance(hours=1)
    with store.uow() as uow:
        cases.add_activity(uow, org["agent"], case, kind="phone_call", body="Told him it ships today",
                           direction="outbound", duration_seconds=120)
        first = case.first_response_at
        clock.advance(hours=1)
        cases.add_activity(uow, org["agent"], case, kind="email_out", subject="Tracking", body="Here it is")
    assert first == case.first_response_at == datetime(2026, 11, 25, 11, 0, tzinfo=BERLIN)  # the call, not the email
    events = [(e, b) for e, b in timeline(store, case) if e == "first_response"]
    assert events == [("first_response", "First response to the customer (met the SLA)")]


def test_waiting_for_the_customer_stops_the_clocks_and_the_deadlines_move_on(store, org, clock):
    with store.uow() as uow:
        case = cases.create_case(uow, org["agent"], customer=org["bob"], title="Refund for my order",
                                 case_type="request", priority=3)
    assert case.sla_policy == "standard"
    assert case.resolve_due_at == datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN)  # 24 office hours from Wed 10:00
    clock.advance(hours=2)  # Wednesday 12:00 in Berlin
    with store.uow() as uow:
        cases.set_status(uow, org["agent"], case, "waiting_for_customer", "asked for the receipt")
    assert case.sla_paused_at == datetime(2026, 11, 25, 12, 0, tzinfo=BERLIN)
    clock.advance(hours=24)  # the customer answers on Thursday at 12:00: 8 office hours stood still
    with store.uow() as uow:
        cases.set_status(uow, org["agent"], case, "in_progress")
    assert case.sla_paused_at is None and case.sla_paused_seconds == 8 * 3600
    assert case.resolve_due_at == datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)  # one office day later
    assert case.first_response_due_at == datetime(2026, 11, 26, 14, 0, tzinfo=BERLIN)  # was Wed 14:00
    events = [e for e, _ in timeline(store, case)]
    assert events.count("sla_paused") == 1 and events.count("sla_resumed") == 1


def test_the_sweep_records_warnings_and_breaches_once_and_skips_paused_clocks(store, org, clock):
    from caseterm.services.routing import sweep_sla

    with store.uow() as uow:
        urgent = cases.create_case(uow, org["agent"], customer=org["bob"], title="Refund now", case_type="request",
                                   priority=1)  # 1 h to answer, 8 h to resolve (warned at 75%: 6 h)
        waiting = cases.create_case(uow, org["agent"], customer=org["ada"], title="Refund later", case_type="request",
                                    priority=1)
        cases.set_status(uow, org["agent"], waiting, "waiting_for_customer")
    assert urgent.sla_warn_at == datetime(2026, 11, 25, 16, 0, tzinfo=BERLIN)  # Wed 10:00 + 6 office hours
    clock.advance(hours=2)  # the first answer is an hour late
    with store.uow() as uow:
        assert sweep_sla(uow, org["agent"]) == ([], [urgent.number])
        assert sweep_sla(uow, org["agent"]) == ([], [])  # recorded once
    clock.advance(days=1)
    with store.uow() as uow:
        assert sweep_sla(uow, org["agent"]) == ([urgent.number], [])
    events = {e: b for e, b in timeline(store, urgent)}
    assert events["sla_breached"] == "SLA breached: the first response was due 2026-11-25 10:00 UTC"
    assert events["sla_warning"] == "SLA at risk: resolve by 2026-11-26 09:00 UTC"
    assert not any(e.startswith("sla_b") or e == "sla_warning" for e, _ in timeline(store, waiting))


def test_a_broken_stored_rule_is_skipped_and_cases_are_still_created(store, org):
    from caseterm.store.models import RoutingRuleRow

    with store.uow() as uow:
        rule = uow.session.exec(select(RoutingRuleRow).where(RoutingRuleRow.name == "return keywords")).one()
        uow.update(rule, org["admin"].id, "sync", conditions={"colour": ["red"]})  # e.g. from a newer client
    with store.uow() as uow:
        case = cases.create_case(uow, org["agent"], customer=org["bob"], title="Refund please", case_type="request")
    [(_, body)] = timeline(store, case)
    assert "Routed to General by rule 'everything else'" in body  # the broken rule is left out, not fatal


ENTITLED_OPS = OPS + '''
[[sla]]
name = "gold"
calendar = "office"
targets = { 1 = { first_response = "30m", resolve = "2h" }, 2 = { first_response = "30m", resolve = "4h" }, 3 = { first_response = "1h", resolve = "8h" }, 4 = { first_response = "2h", resolve = "16h" } }

[[entitlement]]
name = "Two fixes"
sla = "gold"
cases = 2
channels = ["phone", "email"]
days = 30
'''


def test_an_entitlement_sets_the_sla_and_is_used_up_case_by_case(store, world, clock):
    from caseterm.errors import PermissionDenied
    from caseterm.services import entitlements
    from caseterm.store.models import Entitlement

    assert ops.apply_text(store.uow, "admin", ENTITLED_OPS.replace('members = ["jdoe", "kim"]', 'members = ["jdoe"]')
                          .replace('members = ["boss", "kim"]', 'members = ["boss"]')).applied
    with store.uow() as uow:
        with pytest.raises(PermissionDenied, match="granting an entitlement"):
            entitlements.grant(uow, world["agent"], world["bob"], "Two fixes")
        granted = entitlements.grant(uow, world["supervisor"], world["bob"], "two fixes")
    assert (granted.name, granted.cases_left, str(granted.ends_on)) == ("Two fixes", 2, "2026-12-24")

    made = []
    with store.uow() as uow:
        for i in range(3):
            case = cases.create_case(uow, world["agent"], customer=world["bob"], title=f"Kettle {i}", priority=3)
            made.append(case)
            cases.resolve_case(uow, world["agent"], case, "Fixed")
        chat = cases.create_case(uow, world["agent"], customer=world["bob"], title="Kettle chat", origin="chat")
    first, second, third = made
    assert first.sla_policy == "gold" and first.entitlement_id == granted.id  # 8 office hours, not 24
    assert first.resolve_due_at == datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)
    assert third.entitlement_id is None and third.sla_policy == "standard"
    assert "Entitlement 'Two fixes' is used up (no cases left): no entitlement applies" in timeline(store, third)[0][1]
    assert "does not cover chat" in timeline(store, chat)[0][1]
    with store.uow() as uow:
        assert uow.session.get(Entitlement, granted.id).cases_left == 0
    assert second.entitlement_id == granted.id


def test_operations_changed_within_one_clock_tick_are_read_afresh(store, org):
    # the clock is fixed: the second apply has the same updated_at as the first
    with store.uow() as uow:
        before = cases.create_case(uow, org["agent"], customer=org["bob"], title="Question 1", case_type="question")
    shorter = OPS.replace('hours = { mon-fri = ["09:00-17:00"] }', 'hours = { mon-fri = ["09:00-13:00"] }')
    assert ops.apply_text(store.uow, "admin", shorter).applied
    with store.uow() as uow:
        after = cases.create_case(uow, org["agent"], customer=org["bob"], title="Question 2", case_type="question")
    # 24 working hours: 3 office days of 8 h, or 6 of 4 h
    assert before.resolve_due_at == datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN)
    assert after.resolve_due_at == datetime(2026, 12, 3, 10, 0, tzinfo=BERLIN)

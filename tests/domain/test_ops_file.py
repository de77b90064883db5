"""The operations file: the demo's parses whole; a broken one reports every problem with
its place and line, and what is expected."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from caseterm.domain import business_hours as bh
from caseterm.domain.ops_file import OpsFileError, parse
from caseterm.domain.routing import CaseFacts, route
from caseterm.domain.sla import pick_policy
from caseterm.services.demo import AGENTS

DEMO = Path(__file__).resolve().parents[2] / "data" / "ops" / "demo.toml"


def test_the_demo_operations_file_is_complete_and_consistent():
    ops = parse(DEMO.read_text(encoding="utf-8"), agents=[a[0] for a in AGENTS] + ["admin"])
    assert [q.name for q in ops.queues] == ["General Support", "Technical Support", "Returns", "Billing",
                                            "Field Service", "Escalations"]
    assert {q.escalate_to for q in ops.queues[:5]} == {"Escalations"} and ops.queues[5].escalate_to is None
    assert [p.name for p in ops.policies if p.escalate_on_breach] == ["gold"]
    returns = route(ops.rules, CaseFacts(type="request", title="I want to return my kettle"))
    assert returns.queue == "Returns" and returns.rule.name == "return keywords"
    gold = pick_policy(ops.policies, CaseFacts(customer_tier="gold"))
    assert gold.name == "gold" and gold.targets_for(1).resolve == timedelta(hours=4)
    office = ops.calendars["office"]
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
    assert bh.add(office, friday, timedelta(hours=2)) == datetime(2026, 11, 30, 9, 0,
                                                                   tzinfo=ZoneInfo("Europe/Stockholm"))


BROKEN = '''\
categories = ["Kitchen"]
skills = ["returns"]

[[calendar]]
name = "office"
time_zone = "Europe/Nowhere"
hours = { mon-fri = ["09:00-17:00"] }

[[queue]]
name = "Returns"
email = "returns-at-example"
strategy = "fastest"
needs = { juggling = 2 }
members = ["jdoe", "ghost"]

[[sla]]
name = "standard"
calendar = "office"
targets = { 1 = { first_response = "1h", resolve = "8h" } }

[[routing]]
name = "kitchen"
when = { category = "Garden" }
queue = "Returns"

[[routing]]
name = "to nowhere"
queue = "Nowhere"

[[entitlement]]
name = "Gold"
sla = "platinum"
cases = 10
hours = 5
'''


def test_every_problem_is_reported_with_its_place_and_line():
    with pytest.raises(OpsFileError) as caught:
        parse(BROKEN, agents=["jdoe"])
    found = {(p.place, p.line) for p in caught.value.problems}
    assert found == {
        ("calendar[0].time zone", 4),
        ("queue[0].email", 9), ("queue[0].strategy", 9), ("queue[0].needs.juggling", 9),
        ("queue[0].members[1]", 9),
        ("sla[0].calendar", 16),  # the calendar was refused, so the policy cannot use it
        ("routing[0].when.category", 21), ("routing[1].queue", 26),
        ("entitlement[0].sla", 30), ("entitlement[0]", 30),
    }
    text = str(caught.value)
    assert text.startswith("10 problem(s) in the operations file; nothing was applied")
    assert "line 9: queue[0].members[1]: no agent 'ghost'" in text
    assert "line 26: routing[1].queue: no queue 'Nowhere'" in text


def test_a_file_that_is_not_toml_names_the_line():
    with pytest.raises(OpsFileError) as caught:
        parse('categories = ["Kitchen"\n\n[[queue]]\n')
    [problem] = caught.value.problems
    assert problem.place == "file" and problem.line is not None and "not valid TOML" in problem.reason


def test_escalation_keys_are_checked():
    text = """
[[calendar]]
name = "office"
time_zone = "UTC"
hours = { mon-fri = ["09:00-17:00"] }

[[queue]]
name = "Returns"
escalate_to = "Supervisors"

[[queue]]
name = "Billing"
escalate_to = "billing"

[[queue]]
name = "Desk"
escalate_to = 3

[[sla]]
name = "standard"
calendar = "office"
escalate_on_breach = "yes"
targets = { 1 = { first_response = "1h", resolve = "8h" }, 2 = { first_response = "1h", resolve = "8h" }, 3 = { first_response = "1h", resolve = "8h" }, 4 = { first_response = "1h", resolve = "8h" } }
"""
    with pytest.raises(OpsFileError) as caught:
        parse(text)
    found = {p.place: p.reason for p in caught.value.problems}
    assert found == {
        "queue[0].escalate_to": "no queue 'Supervisors' in the file; name one of Billing, Desk, Returns",
        "queue[1].escalate_to": "a queue cannot escalate to itself",
        "queue[2].escalate_to": "the name of the queue its cases escalate to",
        "sla[0].escalate_on_breach": "true or false",
    }

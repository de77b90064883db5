"""Escalation (by hand and on an SLA breach), bulk reassignment within capacity,
entitlements sold by the hour, and assignment under many concurrent creations."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import func, select

from caseterm.errors import PermissionDenied, RuleError, ValidationError
from caseterm.services import cases, entitlements, ops
from caseterm.services.routing import sweep_sla
from caseterm.store.models import Activity, Agent, Case, Entitlement, Queue

TARGETS = ('targets = { 1 = { first_response = "1h", resolve = "8h" }, 2 = { first_response = "2h", resolve = "16h" }, '
           '3 = { first_response = "4h", resolve = "24h" }, 4 = { first_response = "8h", resolve = "40h" } }')
OPS = f'''
[[calendar]]
name = "office"
time_zone = "Europe/Berlin"
hours = {{ mon-fri = ["09:00-17:00"] }}

[[queue]]
name = "General"
strategy = "least_active"
members = ["jdoe"]
escalate_to = "Supervisors"

[[queue]]
name = "Loose ends"
members = ["jdoe"]

[[queue]]
name = "Supervisors"
strategy = "least_active"
members = ["boss"]

[[sla]]
name = "vip"
calendar = "office"
when = {{ customer_tier = "gold" }}
escalate_on_breach = true
{TARGETS}

[[sla]]
name = "standard"
calendar = "office"
{TARGETS}

[[routing]]
name = "everything"
queue = "General"

[[entitlement]]
name = "Two hours"
hours = 2
channels = ["phone"]
days = 30
'''


@pytest.fixture
def org(store, world):
    assert ops.apply_text(store.uow, "admin", OPS).applied
    with store.uow() as uow:
        gold = uow.session.get(type(world["ada"]), world["ada"].id)
        uow.update(gold, world["admin"].id, "seed", tier="gold")
        uow.session.expunge(gold)
    return {**world, "ada": gold}


def events(store, case) -> dict[str, str]:
    with store.uow() as uow:
        return {a.event: a.body for a in uow.session.exec(
            select(Activity).where(Activity.case_id == case.id).order_by(Activity.occurred_at, Activity.id))}


def fresh(store, case) -> Case:
    with store.uow() as uow:
        row = uow.session.get(Case, case.id)
        uow.session.expunge(row)
        return row


def queue_of(store, case) -> str:
    with store.uow() as uow:
        return uow.session.get(Queue, fresh(store, case).queue_id).name


def test_an_agent_escalates_to_the_queues_escalation_queue_with_a_reason(store, org):
    with store.uow() as uow:
        case = cases.create_case(uow, org["agent"], customer=org["bob"], title="Router keeps dropping", priority=3)
        with pytest.raises(ValidationError, match="reason"):
            cases.escalate_case(uow, org["agent"], case, "  ")
    with store.uow() as uow:
        words = cases.escalate_case(uow, org["agent"], uow.session.get(Case, case.id), "third call this week")
    assert words == ("Escalated to Supervisors by jdoe: third call this week; assigned to boss: load 0/10; "
                     "priority Normal → High")
    after = fresh(store, case)
    assert (queue_of(store, case), after.priority, after.escalated) == ("Supervisors", 2, True)
    with store.uow() as uow:
        assert uow.session.get(Agent, after.owner_id).login == "boss"
    assert events(store, case)["escalated"] == words
    # from the escalation queue there is nowhere further to go unless a queue is named
    with store.uow() as uow, pytest.raises(RuleError, match="names no escalation queue"):
        cases.escalate_case(uow, org["agent"], uow.session.get(Case, case.id), "again")


def test_escalating_to_a_chosen_queue_and_refusals(store, org):
    with store.uow() as uow:
        loose = uow.session.exec(select(Queue).where(Queue.name == "Loose ends")).one()
        general = uow.session.exec(select(Queue).where(Queue.name == "General")).one()
        case = cases.create_case(uow, org["agent"], customer=org["bob"], title="Odd one", queue=loose, priority=1)
        with pytest.raises(RuleError, match="Loose ends, which names no escalation queue"):
            cases.escalate_case(uow, org["agent"], case, "needs a second pair of eyes")
        with pytest.raises(RuleError, match="already in Loose ends"):
            cases.escalate_case(uow, org["agent"], case, "x", to=loose)
        words = cases.escalate_case(uow, org["agent"], case, "needs a second pair of eyes", to=general)
        assert case.priority == 1 and "priority" not in words  # critical stays critical
        cases.resolve_case(uow, org["agent"], case, "Sorted out")
        with pytest.raises(RuleError, match="only active cases are escalated"):
            cases.escalate_case(uow, org["agent"], case, "too late")


def test_a_breach_under_an_escalating_policy_escalates_once(store, org, clock):
    with store.uow() as uow:
        vip = cases.create_case(uow, org["agent"], customer=org["ada"], title="VIP kettle", priority=1)
        plain = cases.create_case(uow, org["agent"], customer=org["bob"], title="Plain kettle", priority=1)
    assert (vip.sla_policy, plain.sla_policy) == ("vip", "standard")
    clock.advance(hours=2)  # both first responses are an hour late
    with store.uow() as uow:
        assert sorted(sweep_sla(uow, org["agent"])[1]) == sorted([vip.number, plain.number])
    with store.uow() as uow:
        assert sweep_sla(uow, org["agent"]) == ([], [])
    assert queue_of(store, vip) == "Supervisors" and fresh(store, vip).escalated
    assert events(store, vip)["escalated"].startswith(
        "Escalated to Supervisors automatically: SLA breached: the first response was due")
    assert queue_of(store, plain) == "General" and not fresh(store, plain).escalated
    assert "escalated" not in events(store, plain)


def test_an_escalating_policy_without_an_escalation_queue_says_so_on_the_timeline(store, org, clock):
    with store.uow() as uow:
        loose = uow.session.exec(select(Queue).where(Queue.name == "Loose ends")).one()
        case = cases.create_case(uow, org["agent"], customer=org["ada"], title="VIP toaster", queue=loose, priority=1)
    clock.advance(hours=2)
    with store.uow() as uow:
        assert sweep_sla(uow, org["agent"])[1] == [case.number]
    said = events(store, case)
    assert said["escalation_failed"].startswith("Not escalated automatically:")
    assert "names no escalation queue" in said["escalation_failed"]
    assert queue_of(store, case) == "Loose ends"


def test_bulk_reassignment_is_for_supervisors_and_stays_within_capacity(store, org):
    with store.uow() as uow:
        kim = uow.create(Agent(login="kim", display_name="Kim Kaur", role="agent", capacity=3), org["admin"].id, "seed")
        made = [cases.create_case(uow, org["agent"], customer=org["bob"], title=f"Kettle {i}") for i in range(5)]
        cases.assign_case(uow, org["supervisor"], made[0], owner=kim)  # kim: 1 of 3
    numbers = [c.number for c in made]
    with store.uow() as uow:
        rows = [uow.session.exec(select(Case).where(Case.number == n)).one() for n in numbers]
        kim = uow.session.exec(select(Agent).where(Agent.login == "kim")).one()
        with pytest.raises(PermissionDenied, match="reassigning cases in bulk needs the role admin, supervisor"):
            cases.bulk_assign(uow, org["agent"], rows, kim)
        with pytest.raises(RuleError, match="kim has 1 of 3 active cases: room for 2 more, not 4"):
            cases.bulk_assign(uow, org["supervisor"], rows, kim)
    with store.uow() as uow:  # nothing moved by the refusal
        assert uow.session.exec(select(func.count()).select_from(Case).where(Case.owner_id == kim.id)).one() == 1
    with store.uow() as uow:
        rows = [uow.session.exec(select(Case).where(Case.number == n)).one() for n in numbers[:3]]
        moved = cases.bulk_assign(uow, org["supervisor"], rows, kim)
    assert moved == numbers[1:3]  # the first was already kim's
    with store.uow() as uow:
        assert uow.session.exec(select(func.count()).select_from(Case).where(Case.owner_id == kim.id)).one() == 3
        rows = [uow.session.exec(select(Case).where(Case.number == n)).one() for n in numbers[3:]]
        assert cases.bulk_assign(uow, org["supervisor"], rows, kim, over_capacity=True) == numbers[3:]
    assert events(store, made[4])["assigned"] == "Assigned: owner jdoe → kim"


def test_an_entitlement_sold_by_the_hour_loses_the_logged_time_and_then_runs_out(store, org):
    with store.uow() as uow:
        granted = entitlements.grant(uow, org["supervisor"], org["bob"], "Two hours")
    assert (granted.minutes_left, granted.cases_left) == (120, None)
    with store.uow() as uow:
        first = cases.create_case(uow, org["agent"], customer=org["bob"], title="Set-up help")
        cases.add_activity(uow, org["agent"], first, kind="phone_call", subject="Walked through set-up",
                           duration_seconds=50 * 60 + 1)
        cases.add_activity(uow, org["agent"], first, kind="note", subject="Sent the manual")
        cases.resolve_case(uow, org["agent"], first, "Set up together")
    assert first.entitlement_id == granted.id
    assert events(store, first)["resolved"].endswith("(entitlement 'Two hours': 51m00s used, 1h09m left)")
    with store.uow() as uow:
        second = cases.create_case(uow, org["agent"], customer=org["bob"], title="More help")
        cases.add_activity(uow, org["agent"], second, kind="phone_call", subject="Long call", duration_seconds=3 * 3600)
        cases.resolve_case(uow, org["agent"], second, "Helped at length")
    with store.uow() as uow:
        assert uow.session.get(Entitlement, granted.id).minutes_left == 0  # never below zero
        third = cases.create_case(uow, org["agent"], customer=org["bob"], title="Yet more")
    assert third.entitlement_id is None
    assert "Entitlement 'Two hours' is used up (no hours left)" in events(store, third)["created"]


def test_concurrent_creations_never_take_an_agent_past_capacity(store, store_path, org, clock):
    """Eight threads, each with its own store connection, create cases at once; the
    queue's two members hold 3 and 4 cases at most, and every other case waits unassigned."""
    from caseterm.store.uow import LocalStore

    with store.uow() as uow:
        general = uow.session.exec(select(Queue).where(Queue.name == "General")).one()
        for login, capacity in (("ana", 3), ("ben", 4)):
            agent = uow.create(Agent(login=login, display_name=login.title(), role="agent", capacity=capacity),
                               org["admin"].id, "seed")
            from caseterm.store.models import QueueMember
            uow.create(QueueMember(queue_id=general.id, agent_id=agent.id), org["admin"].id, "seed")
        jdoe = uow.session.exec(select(Agent).where(Agent.login == "jdoe")).one()
        uow.update(jdoe, org["admin"].id, "seed", active=False)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        own = LocalStore.open(store_path, clock=clock)
        try:
            start.wait()
            for i in range(5):
                with own.uow() as uow:
                    actor = uow.session.get(Agent, org["agent"].id)
                    customer = uow.session.get(type(org["bob"]), org["bob"].id)
                    cases.create_case(uow, actor, customer=customer, title=f"Thread {n} case {i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.uow() as uow:
        rows = uow.session.exec(select(Agent.login, func.count(Case.id)).join(Case, Case.owner_id == Agent.id)
                                .group_by(Agent.login)).all()
        unassigned = uow.session.exec(select(func.count()).select_from(Case).where(Case.owner_id == None)).one()  # noqa: E711
    assert dict(rows) == {"ana": 3, "ben": 4}
    assert unassigned == 40 - 7

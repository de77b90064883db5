"""Case services on a real SQLite file: each action writes the row, a timeline entry
and outbox ops in one transaction, and refuses what the rules forbid."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from sqlmodel import select

from caseterm.errors import NotFound, PermissionDenied, RuleError, TransitionError, ValidationError
from caseterm.services import cases
from caseterm.services.lookup import case_by_number
from caseterm.store.models import Activity, Case, OutboxOp


def dump(path) -> dict:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


def new_case(store, world, **kw):
    with store.uow() as uow:
        kw.setdefault("title", "Router drops Wi-Fi")
        return cases.create_case(uow, kw.pop("actor", world["agent"]), customer=kw.pop("customer", world["ada"]), **kw)


def ops_for(store, row_id):
    with store.uow() as uow:
        return uow.session.exec(select(OutboxOp).where(OutboxOp.row_id == row_id).order_by(OutboxOp.seq)).all()


def timeline(store, case):
    with store.uow() as uow:
        return uow.session.exec(
            select(Activity).where(Activity.case_id == case.id).order_by(Activity.occurred_at, Activity.id)
        ).all()


def test_create_case_numbers_it_and_writes_timeline_and_outbox(store, world, clock):
    first = new_case(store, world, description="Every evening at 8", origin="email", priority="2")
    second = new_case(store, world, queue=world["queue"], owner=world["agent"])
    assert (first.number, second.number) == ("CAS-LOC-000001", "CAS-LOC-000002")
    assert first.state == "active" and first.status_reason == "new"
    assert first.created_at == clock.now() and first.created_by_id == world["agent"].id
    entries = timeline(store, second)
    assert [e.event for e in entries] == ["created"]
    assert "queue Returns" in entries[0].body and "owner jdoe" in entries[0].body
    ops = ops_for(store, first.id)
    assert [(o.entity, o.kind, o.action, o.state) for o in ops] == [("cases", "create", "create_case", "pending")]
    assert ops[0].data["title"] == "Router drops Wi-Fi"
    assert ops[0].data["priority"] == 2 and ops[0].data["origin"] == "email"
    assert "version" not in ops[0].data
    # the timeline entry travels as an append op
    with store.uow() as uow:
        appends = uow.session.exec(select(OutboxOp).where(OutboxOp.kind == "append")).all()
    assert {a.row_id for a in appends} >= {e.id for e in entries}


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"origin": "pigeon"}, "origin"),
        ({"priority": "7"}, "priority"),
        ({"case_type": "rant"}, "type"),
    ],
    ids=["empty-title", "long-title", "bad-origin", "bad-priority", "bad-type"],
)
def test_invalid_case_fields_are_refused_and_nothing_is_written(store, world, store_path, kw, field):
    before = dump(store_path)
    with pytest.raises(ValidationError) as err:
        new_case(store, world, **kw)
    assert err.value.field == field
    assert dump(store_path) == before


def test_a_failure_midway_rolls_back_row_timeline_and_outbox(store, world, store_path, monkeypatch):
    case = new_case(store, world)
    before = dump(store_path)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(cases, "log_event", boom)
    with pytest.raises(RuntimeError):
        with store.uow() as uow:
            cases.resolve_case(uow, world["agent"], case_by_number(uow, case.number), "Replaced the cable")
    assert dump(store_path) == before


def test_status_changes_follow_the_state_machine(store, world):
    case = new_case(store, world)
    with store.uow() as uow:
        c = case_by_number(uow, case.number)
        cases.set_status(uow, world["agent"], c, "on_hold", note="waiting for a part")
    with store.uow() as uow:
        c = case_by_number(uow, case.number)
        with pytest.raises(TransitionError) as err:
            cases.set_status(uow, world["agent"], c, "problem_solved")
        assert "resolve" in err.value.allowed
        with pytest.raises(RuleError, match="already on hold"):
            cases.set_status(uow, world["agent"], c, "on hold")
    entries = timeline(store, case)
    assert entries[-1].event == "status_changed"
    assert entries[-1].body == "Status Active (new) → Active (on hold): waiting for a part"
    update = [o for o in ops_for(store, case.id) if o.kind == "update"]
    assert update[0].base == {"status_reason": "new"} and update[0].data == {"status_reason": "on_hold"}


def test_resolve_needs_text_and_records_who_and_when(store, world, clock):
    case = new_case(store, world)
    with store.uow() as uow:
        with pytest.raises(ValidationError) as err:
            cases.resolve_case(uow, world["agent"], case_by_number(uow, case.number), "  ")
        assert err.value.field == "resolution"
    clock.advance(hours=3)
    with store.uow() as uow:
        c = cases.resolve_case(uow, world["agent"], case_by_number(uow, case.number), "Swapped the router",
                               kind="information_provided")
    assert (c.state, c.status_reason, c.resolution) == ("resolved", "information_provided", "Swapped the router")
    assert c.resolved_at == clock.now()
    last = timeline(store, case)[-1]
    assert last.event == "resolved" and last.author_id == world["agent"].id
    assert "Swapped the router" in last.body


def test_reopen_within_the_window_only_unless_a_supervisor_overrides(store, world, clock):
    case = new_case(store, world)
    with store.uow() as uow:
        cases.resolve_case(uow, world["agent"], case_by_number(uow, case.number), "Fixed")
    clock.advance(days=31)
    with store.uow() as uow:
        c = case_by_number(uow, case.number)
        with pytest.raises(RuleError, match="within 30 days"):
            cases.reopen_case(uow, world["agent"], c)
        with pytest.raises(PermissionDenied):
            cases.reopen_case(uow, world["agent"], c, override=True)
    with store.uow() as uow:
        c = cases.reopen_case(uow, world["supervisor"], case_by_number(uow, case.number), "came back", override=True)
    assert (c.state, c.status_reason, c.resolution, c.resolved_at, c.reopen_count) == ("active", "in_progress", None, None, 1)


def test_reopen_window_is_configurable(store, world, clock):
    store.settings.reopen_days = 2
    case = new_case(store, world)
    with store.uow() as uow:
        cases.resolve_case(uow, world["agent"], case_by_number(uow, case.number), "Fixed")
    clock.advance(days=3)
    with store.uow() as uow:
        with pytest.raises(RuleError, match="within 2 days"):
            cases.reopen_case(uow, world["agent"], case_by_number(uow, case.number))


def test_cancelled_cases_can_be_reopened_but_merged_ones_cannot(store, world):
    a, b, master = new_case(store, world), new_case(store, world), new_case(store, world)
    with store.uow() as uow:
        cases.cancel_case(uow, world["agent"], case_by_number(uow, a.number), "duplicate call")
        cases.merge_cases(uow, world["agent"], case_by_number(uow, master.number), [case_by_number(uow, b.number)])
    with store.uow() as uow:
        assert cases.reopen_case(uow, world["agent"], case_by_number(uow, a.number)).state == "active"
        with pytest.raises(TransitionError) as err:
            cases.reopen_case(uow, world["agent"], case_by_number(uow, b.number))
        assert err.value.allowed == []


def test_merge_points_duplicates_at_the_master_and_moves_children(store, world):
    master, dup = new_case(store, world), new_case(store, world)
    child = new_case(store, world, parent=dup)
    with store.uow() as uow:
        m = case_by_number(uow, master.number)
        cases.merge_cases(uow, world["agent"], m, [case_by_number(uow, dup.number)])
    with store.uow() as uow:
        d = case_by_number(uow, dup.number)
        assert (d.state, d.status_reason, d.merged_into_id) == ("cancelled", "merged", master.id)
        assert case_by_number(uow, child.number).parent_id == master.id
    assert timeline(store, master)[-1].body == f"{dup.number} merged into this case by jdoe"


def test_merge_refusals(store, world):
    master, other = new_case(store, world), new_case(store, world, customer=world["bob"])
    with store.uow() as uow:
        m = case_by_number(uow, master.number)
        with pytest.raises(ValidationError, match="itself"):
            cases.merge_cases(uow, world["agent"], m, [m])
        with pytest.raises(RuleError, match="another customer"):
            cases.merge_cases(uow, world["agent"], m, [case_by_number(uow, other.number)])
        with pytest.raises(PermissionDenied, match="merging cases"):
            cases.merge_cases(uow, world["clerk"], m, [case_by_number(uow, other.number)])


def test_parent_cannot_be_resolved_while_a_child_is_active_unless_forced(store, world):
    parent = new_case(store, world)
    child = new_case(store, world)
    with store.uow() as uow:
        cases.link_parent(uow, world["agent"], case_by_number(uow, child.number), case_by_number(uow, parent.number))
    with store.uow() as uow:
        with pytest.raises(RuleError, match=child.number):
            cases.resolve_case(uow, world["agent"], case_by_number(uow, parent.number), "All done")
        with pytest.raises(PermissionDenied):
            cases.resolve_case(uow, world["agent"], case_by_number(uow, parent.number), "All done", force=True)
    with store.uow() as uow:
        p = cases.resolve_case(uow, world["supervisor"], case_by_number(uow, parent.number), "All done", force=True)
    assert p.state == "resolved"
    assert "forced with 1 active child" in timeline(store, parent)[-1].body


def test_parent_links_cannot_make_a_loop(store, world):
    a, b, c = new_case(store, world), new_case(store, world), new_case(store, world)
    with store.uow() as uow:
        cases.link_parent(uow, world["agent"], case_by_number(uow, b.number), case_by_number(uow, a.number))
        cases.link_parent(uow, world["agent"], case_by_number(uow, c.number), case_by_number(uow, b.number))
    with store.uow() as uow:
        with pytest.raises(RuleError, match="ancestor"):
            cases.link_parent(uow, world["agent"], case_by_number(uow, a.number), case_by_number(uow, c.number))
        with pytest.raises(ValidationError, match="own parent"):
            cases.link_parent(uow, world["agent"], case_by_number(uow, a.number), case_by_number(uow, a.number))


def test_assign_records_before_and_after_and_respects_roles(store, world):
    case = new_case(store, world)
    with store.uow() as uow:
        changed = cases.assign_case(uow, world["agent"], case_by_number(uow, case.number), queue=world["queue"],
                                    owner=world["agent"])
    assert set(changed) == {"queue_id", "owner_id"}
    assert timeline(store, case)[-1].body == "Assigned: queue none → Returns; owner nobody → jdoe"
    assert timeline(store, case)[-1].data == {"queue": "Returns", "owner": "jdoe"}
    with store.uow() as uow:
        assert [(a.login, n) for a, n in cases.queue_load(uow, world["queue"])] == [("jdoe", 1)]
    with store.uow() as uow:
        with pytest.raises(PermissionDenied, match="assigning a case to another agent"):
            cases.assign_case(uow, world["clerk"], case_by_number(uow, case.number), owner=world["supervisor"])
        cases.assign_case(uow, world["clerk"], case_by_number(uow, case.number), owner=world["clerk"])
    with store.uow() as uow:
        cases.assign_case(uow, world["agent"], case_by_number(uow, case.number), owner=None)
        assert case_by_number(uow, case.number).owner_id is None
    with store.uow() as uow:
        load = dict((a.login, n) for a, n in cases.queue_load(uow, world["queue"]))
    assert load == {"jdoe": 0}


def test_activities_of_each_kind(store, world, clock):
    case = new_case(store, world)
    with store.uow() as uow:
        c = case_by_number(uow, case.number)
        call = cases.add_activity(uow, world["agent"], c, kind="phone_call", body="Walked through reset",
                                  duration_seconds=270, direction="inbound")
        mail = cases.add_activity(uow, world["agent"], c, kind="email_out", subject="Your router", body="Hello",
                                  visibility="customer")
        with pytest.raises(ValidationError, match="text"):
            cases.add_activity(uow, world["agent"], c, kind="note", body="  ")
        with pytest.raises(ValidationError, match="system"):
            cases.add_activity(uow, world["agent"], c, kind="system", body="x")
        with pytest.raises(ValidationError, match="future"):
            cases.add_activity(uow, world["agent"], c, kind="visit", body="x", occurred_at=clock.now() + timedelta(hours=1))
    assert (call.duration_seconds, call.direction) == (270, "inbound")
    assert (mail.direction, mail.visibility) == ("outbound", "customer")
    assert [o.kind for o in ops_for(store, call.id)] == ["append"]


def test_update_case_lists_each_change(store, world):
    case = new_case(store, world)
    with store.uow() as uow:
        changed = cases.update_case(uow, world["agent"], case_by_number(uow, case.number), priority="high",
                                    title="Router drops Wi-Fi nightly")
    assert set(changed) == {"priority", "title"}
    assert timeline(store, case)[-1].body == (
        "Priority Normal → High; title 'Router drops Wi-Fi' → 'Router drops Wi-Fi nightly'")
    with store.uow() as uow:
        with pytest.raises(ValidationError, match="cannot be edited"):
            cases.update_case(uow, world["agent"], case_by_number(uow, case.number), state="resolved")


def test_unknown_case_numbers_say_how_to_find_one(store, world):
    with store.uow() as uow:
        with pytest.raises(NotFound, match="cases list"):
            case_by_number(uow, "CAS-LOC-999999")
        # people type numbers loosely
        new = cases.create_case(uow, world["agent"], customer=world["ada"], title="x")
        assert case_by_number(uow, "cas-loc-1").id == new.id


def test_case_counts_follow_every_change(store, world, store_path):
    made = [new_case(store, world, queue=world["queue"] if i % 2 else None) for i in range(6)]
    with store.uow() as uow:
        cases.assign_case(uow, world["agent"], case_by_number(uow, made[0].number), owner=world["agent"])
        cases.set_status(uow, world["agent"], case_by_number(uow, made[1].number), "researching")
        cases.resolve_case(uow, world["agent"], case_by_number(uow, made[2].number), "done")
        cases.cancel_case(uow, world["agent"], case_by_number(uow, made[3].number))
        cases.merge_cases(uow, world["agent"], case_by_number(uow, made[4].number), [case_by_number(uow, made[5].number)])
    conn = sqlite3.connect(store_path)
    kept = conn.execute("SELECT queue_id, owner_id, status_reason, n FROM case_counts WHERE n > 0 ORDER BY 1, 2, 3").fetchall()
    truth = conn.execute(
        "SELECT ifnull(queue_id, ''), ifnull(owner_id, ''), status_reason, count(*) FROM cases WHERE deleted = 0 "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()
    assert kept == truth
    assert sum(r[3] for r in kept) == 6

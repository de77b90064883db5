"""End-to-end: ``caseterm cases …`` through the installed console script."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
NOW_TEXT = "2026-11-25T09:00:00Z"


# --- picking cases out of the demo store --------------------------------------------------------


@pytest.fixture(scope="module")
def picks(demo_template):
    """Case numbers of the (read-only) demo template with the properties the tests need."""
    import sqlite3

    conn = sqlite3.connect(demo_template)
    try:
        def one(sql_text, params=()):
            row = conn.execute(sql_text, params).fetchone()
            assert row is not None, f"the demo store has no row for: {sql_text}"
            return row

        window_start = (NOW - timedelta(days=29)).strftime("%Y-%m-%d %H:%M:%S")
        plain_active = ("SELECT c.number, cu.email, c.priority "
                        "FROM cases AS c JOIN customers AS cu ON cu.id = c.customer_id "
                        "WHERE c.state = 'active' AND c.status_reason != 'on_hold' AND c.parent_id IS NULL "
                        "AND NOT EXISTS (SELECT 1 FROM cases AS k WHERE k.parent_id = c.id) "
                        "AND cu.email IS NOT NULL "
                        "AND (SELECT count(*) FROM customers AS o WHERE o.email = cu.email) = 1 "
                        "ORDER BY c.number")
        rows = conn.execute(plain_active).fetchall()
        assert len(rows) >= 3, "the demo store needs three plain active cases"
        resolved = one("SELECT number FROM cases WHERE state = 'resolved' AND resolved_at > ? "
                       "AND parent_id IS NULL ORDER BY number", (window_start,))[0]
        cancelled = one("SELECT number FROM cases WHERE state = 'cancelled' AND status_reason = 'cancelled' "
                        "ORDER BY number")[0]
        active, master, child = rows[0][0], rows[1][0], rows[2][0]
        master_email = rows[1][1]
        other_customer = next(n for n, e, _ in rows if e != master_email)
        not_critical = next(n for n, _, prio in rows if prio != 1)
        email = rows[0][1]
    finally:
        conn.close()
    return {"active": active, "resolved": resolved, "cancelled": cancelled, "master": master,
            "master_email": master_email, "child": child, "not_critical": not_critical,
            "other_customer": other_customer, "email": email}


def show(run, db, number):
    result = run("cases", "show", number, "--json", "--limit", "1000", db=db)
    assert result.code == 0, result.err
    return result.json()


def system_events(payload):
    return [e["event"] for e in payload["timeline"] if e["kind"] == "system"]


# --- 1. the happy path -------------------------------------------------------------------------


def test_new_customer_new_case_note_resolve_show(run, fresh_db):
    r = run("customers", "new", "--name", "Ada Lovelace", "--email", "ada@example.org",
            "--phone", "+44 20 7946 0001", db=fresh_db)
    assert r.code == 0, r.err
    customer_id = uuid.UUID(r.out.strip())  # prints the id and nothing else
    assert r.out == f"{customer_id}\n"

    r = run("cases", "new", "--customer", "ada@example.org", "--title", "Kettle leaks",
            "--description", "Water under the base", "--origin", "email", "--priority", "2", db=fresh_db)
    assert (r.code, r.out, r.err) == (0, "CAS-LOC-000001\n", "")
    number = r.out.strip()

    r = run("cases", "note", number, "Asked for a photo of the base", db=fresh_db)
    assert r.code == 0, r.err
    assert number in r.out and "note added" in r.out

    r = run("cases", "resolve", number, "Sent a replacement kettle", db=fresh_db)
    assert r.code == 0, r.err
    assert "resolved" in r.out

    payload = show(run, fresh_db, number)
    assert set(payload) == {"case", "related", "timeline"}
    case = payload["case"]
    assert case["number"] == "CAS-LOC-000001"
    assert case["title"] == "Kettle leaks"
    assert case["description"] == "Water under the base"
    assert case["priority"] == 2
    assert case["origin"] == "email"
    assert case["state"] == "resolved"
    assert case["status"] == "problem_solved"
    assert case["resolution"] == "Sent a replacement kettle"
    assert case["resolved_at"] == NOW_TEXT
    assert case["created_by"] == "admin"
    assert case["customer"] == {"id": str(customer_id), "name": "Ada Lovelace", "email": "ada@example.org",
                                "phone": "+44 20 7946 0001"}
    assert payload["related"] == {"parent": None, "children": [], "merged_in": [], "merged_into": None}

    timeline = payload["timeline"]
    assert [(e["kind"], e["event"]) for e in timeline] == [("system", "resolved"), ("note", None),
                                                          ("system", "created")]  # newest first
    assert all(e["author"] == "admin" and e["case"] == number for e in timeline)
    assert timeline[1]["body"] == "Asked for a photo of the base"
    assert "Sent a replacement kettle" in timeline[0]["body"]
    assert {"kind", "event", "case", "author", "occurred_at", "direction", "subject", "body", "duration_seconds",
            "visibility"} == set(timeline[0])

    # the human view of the same case
    r = run("cases", "show", number, db=fresh_db)
    assert r.code == 0, r.err
    assert "CAS-LOC-000001" in r.out and "Kettle leaks" in r.out
    assert "Resolved (problem solved)" in r.out and "Sent a replacement kettle" in r.out


def test_case_numbers_count_up_and_tolerate_lower_case(run, empty_db):
    r = run("customers", "new", "--name", "Bob Builder", "--phone", "+31 6 1234 5678", db=empty_db)
    assert r.code == 0, r.err
    numbers = []
    for title in ("First", "Second"):
        r = run("cases", "new", "--customer", "+31 612345678", "--title", title, db=empty_db)
        assert r.code == 0, r.err
        numbers.append(r.out.strip())
    assert numbers == ["CAS-LOC-000001", "CAS-LOC-000002"]
    payload = show(run, empty_db, "cas-loc-2")
    assert payload["case"]["number"] == "CAS-LOC-000002"
    assert payload["case"]["title"] == "Second"
    assert payload["case"]["customer"]["name"] == "Bob Builder"


# --- 2. bad input: exit 2, one "error:" line, empty stdout, store unchanged --------------------

BAD_INPUT = {
    "unknown customer": (
        None, lambda p: ["cases", "new", "--customer", "nobody@nowhere.example", "--title", "T"],
        ["nobody@nowhere.example"]),
    "illegal transition": (
        None, lambda p: ["cases", "status", p["resolved"], "on_hold"],
        ["reopen", "allowed"]),
    "empty title": (
        None, lambda p: ["cases", "new", "--customer", p["email"], "--title", "   "],
        ["title", "must not be empty"]),
    "bad priority": (
        None, lambda p: ["cases", "new", "--customer", p["email"], "--title", "T", "--priority", "7"],
        ["priority", "'7'"]),
    "bad list status": (
        None, lambda p: ["cases", "list", "--status", "bogus"],
        ["status", "bogus", "on_hold"]),
    "unknown case (show)": (
        None, lambda p: ["cases", "show", "CAS-DEMO-999999"],
        ["CAS-DEMO-999999"]),
    "unknown case (note)": (
        None, lambda p: ["cases", "note", "CAS-DEMO-999999", "hello"],
        ["CAS-DEMO-999999"]),
    "unknown agent": (
        "ghost", lambda p: ["cases", "note", p["active"], "hello"],
        ["ghost", "known agents: admin"]),
    "unknown agent (list --owner me)": (
        "ghost", lambda p: ["cases", "list", "--owner", "me"],
        ["ghost"]),
    "unknown queue": (
        None, lambda p: ["cases", "list", "--queue", "Nowhere"],
        ["Nowhere", "Returns"]),
    "resolve without a resolution": (
        None, lambda p: ["cases", "resolve", p["active"]],
        ["resolution"]),
    "bad duration": (
        None, lambda p: ["cases", "log", p["active"], "--kind", "phone_call", "--duration", "abc", "called"],
        ["duration", "abc"]),
    "system kind": (
        None, lambda p: ["cases", "log", p["active"], "--kind", "system", "fake"],
        ["kind", "system"]),
    "update without fields": (
        None, lambda p: ["cases", "update", p["active"]],
        ["at least one field"]),
    "clerk merges": (
        "bdubois", lambda p: ["cases", "merge", p["master"], p["child"]],
        ["clerk"]),
    "merge across customers": (
        None, lambda p: ["cases", "merge", p["master"], p["other_customer"]],
        [lambda p: p["other_customer"], "another customer"]),
    "reopen an active case": (
        None, lambda p: ["cases", "reopen", p["active"], "why"],
        ["allowed", "resolve"]),
    "cancel a cancelled case": (
        None, lambda p: ["cases", "cancel", p["cancelled"], "again"],
        ["allowed: reopen"]),
}


@pytest.mark.parametrize("name", list(BAD_INPUT))
def test_bad_input_is_refused_without_changes(name, run, snapshot, demo_db, picks):
    as_login, make_args, needles = BAD_INPUT[name]
    before = snapshot(demo_db)
    r = run(*make_args(picks), db=demo_db, as_login=as_login)
    after = snapshot(demo_db)
    assert r.code == 2, (r.out, r.err)
    assert r.out == ""
    assert len(r.err_lines) == 1 and r.err.count("\n") == 1, r.err
    assert r.err.startswith("error: ")
    for needle in needles:
        text = needle(picks) if callable(needle) else needle
        assert text in r.err, r.err
    assert "Traceback" not in r.err
    assert after == before


def test_illegal_transition_message_names_state_and_allowed_action(run, demo_db, picks):
    n = picks["resolved"]
    r = run("cases", "status", n, "on_hold", db=demo_db)
    assert r.code == 2 and r.out == ""
    message = r.err.strip()
    assert message.startswith(f"error: {n} ")
    assert "Resolved" in message and "on hold" in message  # where it is and where it was asked to go
    assert message.endswith("allowed: reopen")


def test_failed_create_does_not_use_up_a_number(run, snapshot, empty_db):
    assert run("customers", "new", "--name", "Ada", "--email", "ada@example.org", db=empty_db).code == 0
    before = snapshot(empty_db)
    r = run("cases", "new", "--customer", "ada@example.org", "--title", "", db=empty_db)
    assert r.code == 2 and "title" in r.err
    assert snapshot(empty_db) == before
    r = run("cases", "new", "--customer", "ada@example.org", "--title", "Real", db=empty_db)
    assert r.out == "CAS-LOC-000001\n"


# --- 3. the other verbs ------------------------------------------------------------------------


def test_log_phone_call_with_duration(run, demo_db, picks):
    n = picks["active"]
    r = run("cases", "log", n, "--kind", "phone_call", "--duration", "4:30", "--subject", "Callback",
            "Talked the customer through a reset", db=demo_db, as_login="jdoe")
    assert r.code == 0, r.err
    assert r.out.strip() == f"{n}: phone call logged"
    newest = show(run, demo_db, n)["timeline"][0]
    assert newest["kind"] == "phone_call"
    assert newest["duration_seconds"] == 270
    assert newest["subject"] == "Callback"
    assert newest["body"] == "Talked the customer through a reset"
    assert newest["author"] == "jdoe"
    assert newest["occurred_at"] == NOW_TEXT
    assert newest["case"] == n


def test_assign_queue_and_owner_then_clear_owner(run, sql, demo_db, picks):
    n = picks["active"]
    r = run("cases", "assign", n, "--queue", "Returns", "--owner", "jdoe", db=demo_db, as_login="kadeyemi")
    assert r.code == 0, r.err
    assert r.out.strip() == f"{n}: assigned"
    payload = show(run, demo_db, n)
    assert (payload["case"]["queue"], payload["case"]["owner"]) == ("Returns", "jdoe")
    assert payload["timeline"][0]["event"] == "assigned"
    assert payload["timeline"][0]["author"] == "kadeyemi"
    assert "jdoe" in payload["timeline"][0]["body"]

    r = run("cases", "assign", n, "--owner", "none", db=demo_db)
    assert r.code == 0, r.err
    payload = show(run, demo_db, n)
    assert (payload["case"]["queue"], payload["case"]["owner"]) == ("Returns", None)

    listed = run("cases", "list", "--owner", "none", "--queue", "Returns", "--json", "--limit", "1000",
                 db=demo_db).json()
    assert n in [c["number"] for c in listed["cases"]]
    # the trigger-kept counts follow the writes
    assert listed["total"] == sql(demo_db, "SELECT count(*) FROM cases WHERE state = 'active' AND owner_id IS NULL "
                                           "AND queue_id = (SELECT id FROM queues WHERE name = 'Returns')")[0][0]


def test_set_status_on_hold_with_note(run, demo_db, picks):
    n = picks["active"]
    r = run("cases", "status", n, "on_hold", "--note", "waiting for spare part", db=demo_db)
    assert r.code == 0, r.err
    assert r.out.strip() == f"{n}: on hold"
    payload = show(run, demo_db, n)
    assert (payload["case"]["state"], payload["case"]["status"]) == ("active", "on_hold")
    newest = payload["timeline"][0]
    assert newest["event"] == "status_changed"
    assert "waiting for spare part" in newest["body"]

    # setting the same status again is refused, and says so
    r = run("cases", "status", n, "on-hold", db=demo_db)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("error: ") and "already on hold" in r.err


def test_cancel_then_reopen(run, demo_db, picks):
    n = picks["active"]
    r = run("cases", "cancel", n, "customer withdrew", db=demo_db)
    assert r.code == 0, r.err
    assert r.out.strip() == f"{n}: cancelled"
    payload = show(run, demo_db, n)
    assert (payload["case"]["state"], payload["case"]["status"]) == ("cancelled", "cancelled")
    assert payload["case"]["cancelled_at"] == NOW_TEXT
    assert "customer withdrew" in payload["timeline"][0]["body"]

    r = run("cases", "reopen", n, "customer called again", db=demo_db)
    assert r.code == 0, r.err
    assert r.out.strip() == f"{n}: reopened (in progress)"
    payload = show(run, demo_db, n)
    assert (payload["case"]["state"], payload["case"]["status"]) == ("active", "in_progress")
    assert payload["case"]["cancelled_at"] is None
    assert system_events(payload)[:2] == ["reopened", "cancelled"]
    assert "customer called again" in payload["timeline"][0]["body"]


def test_reopen_a_resolved_case(run, demo_db, picks):
    n = picks["resolved"]
    before = show(run, demo_db, n)["case"]
    r = run("cases", "reopen", n, "fault came back", db=demo_db)
    assert r.code == 0, r.err
    payload = show(run, demo_db, n)
    case = payload["case"]
    assert (case["state"], case["status"]) == ("active", "in_progress")
    assert case["resolution"] is None and case["resolved_at"] is None
    assert case["reopen_count"] == before["reopen_count"] + 1
    assert payload["timeline"][0]["event"] == "reopened"
    assert "fault came back" in payload["timeline"][0]["body"]


def test_merge_duplicate_into_master(run, demo_db, picks):
    master = picks["master"]
    r = run("cases", "new", "--customer", picks["master_email"], "--title", "Same problem, reported twice",
            "--origin", "web", db=demo_db)
    assert r.code == 0, r.err
    dup = r.out.strip()
    assert re.fullmatch(r"CAS-DEMO-\d{6}", dup)
    assert run("cases", "note", dup, "note on the duplicate", db=demo_db).code == 0
    dup_before = show(run, demo_db, dup)
    r = run("cases", "merge", master, dup, db=demo_db)
    assert r.code == 0, r.err
    assert r.out.strip() == f"{master}: merged in {dup}"

    d = show(run, demo_db, dup)
    assert (d["case"]["state"], d["case"]["status"]) == ("cancelled", "merged")
    assert d["related"]["merged_into"] == master
    assert d["timeline"][0]["event"] == "merged"

    m = show(run, demo_db, master)
    assert m["case"]["state"] == "active"
    assert m["related"]["merged_in"] == [dup]
    assert m["timeline"][0]["event"] == "merged_in" and m["timeline"][0]["case"] == master
    from_dup = [e for e in m["timeline"] if e["case"] == dup]
    # every entry the duplicate had (plus its "merged" entry) shows on the master, tagged with the dup's number
    assert len(from_dup) == len(dup_before["timeline"]) + 1
    assert [e["body"] for e in from_dup[1:]] == [e["body"] for e in dup_before["timeline"]]
    times = [e["occurred_at"] for e in m["timeline"]]
    assert times == sorted(times, reverse=True)

    # a merged case is final
    r = run("cases", "reopen", dup, "undo", db=demo_db)
    assert r.code == 2 and r.out == "" and r.err.startswith("error: ")
    assert "allowed: none" in r.err


def test_parent_blocks_resolve_until_forced_by_a_supervisor(run, snapshot, demo_db, picks):
    parent_n, child_n = picks["master"], picks["child"]
    r = run("cases", "parent", child_n, parent_n, db=demo_db)
    assert r.code == 0, r.err
    assert r.out.strip() == f"{child_n}: parent {parent_n}"
    assert show(run, demo_db, child_n)["related"]["parent"] == parent_n
    assert {"number": child_n, "state": "active"} in show(run, demo_db, parent_n)["related"]["children"]

    before = snapshot(demo_db)
    r = run("cases", "resolve", parent_n, "fixed", db=demo_db)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("error: ") and len(r.err_lines) == 1
    assert child_n in r.err
    # an agent may not force it either
    r = run("cases", "resolve", parent_n, "fixed", "--force", db=demo_db, as_login="jdoe")
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("error: ") and "supervisor" in r.err
    assert snapshot(demo_db) == before

    r = run("cases", "resolve", parent_n, "fixed at the root", "--force", db=demo_db, as_login="kadeyemi")
    assert r.code == 0, r.err
    payload = show(run, demo_db, parent_n)
    assert (payload["case"]["state"], payload["case"]["status"]) == ("resolved", "problem_solved")
    assert payload["timeline"][0]["author"] == "kadeyemi"
    assert payload["related"]["children"] == [{"number": child_n, "state": "active"}]
    assert show(run, demo_db, child_n)["case"]["state"] == "active"


def test_update_priority_and_title(run, demo_db, picks):
    n = picks["not_critical"]
    r = run("cases", "update", n, "--priority", "1", "--title", "  Brand new title  ", db=demo_db)
    assert r.code == 0, r.err
    assert r.out.startswith(f"{n}: ") and "priority" in r.out and "title" in r.out
    payload = show(run, demo_db, n)
    assert payload["case"]["priority"] == 1
    assert payload["case"]["title"] == "Brand new title"
    assert payload["case"]["updated_at"] == NOW_TEXT
    assert payload["timeline"][0]["event"] == "updated"
    assert "Brand new title" in payload["timeline"][0]["body"]


def test_write_with_json_prints_the_result(run, demo_db, picks):
    n = picks["active"]
    r = run("cases", "note", n, "json please", "--json", db=demo_db)
    data = r.json()
    assert data["number"] == n
    assert data["state"] == "active"
    assert re.fullmatch(r"[0-9a-f-]{32,36}", str(data["id"]))


def test_text_from_stdin(run, demo_db, picks):
    n = picks["active"]
    r = run("cases", "note", n, "-", db=demo_db, stdin="line one\nline two\n")
    assert r.code == 0, r.err
    assert show(run, demo_db, n)["timeline"][0]["body"] == "line one\nline two"


# --- user text is data, never formatting ---------------------------------------------------


def test_square_brackets_in_user_text_are_shown_verbatim(run, empty_db):
    assert run("customers", "new", "--name", "Anna [/] Smith", "--email", "anna@example.org", db=empty_db).code == 0
    title = "Screen shows [red]E42[/red] then [/] blank"
    r = run("cases", "new", "--customer", "anna@example.org", "--title", title, db=empty_db)
    assert r.code == 0, r.err
    listed = run("cases", "list", db=empty_db)
    assert listed.code == 0, listed.err
    assert title in listed.out
    shown = run("cases", "show", "CAS-LOC-000001", db=empty_db)
    assert shown.code == 0, shown.err
    assert title in shown.out and "Anna [/] Smith" in shown.out


def test_logins_are_matched_whatever_their_case(run, demo_db, sql):
    number = sql(demo_db, "SELECT number FROM cases WHERE state = 'active' ORDER BY number LIMIT 1")[0][0]
    r = run("cases", "note", number, "typed my login in capitals", db=demo_db, as_login="JDOE")
    assert r.code == 0, r.err
    shown = run("cases", "show", number, "--json", db=demo_db).json()
    assert shown["timeline"][0]["author"] == "jdoe"


def test_an_unknown_status_lists_only_what_status_can_set(run, demo_db, sql, snapshot):
    number = sql(demo_db, "SELECT number FROM cases WHERE state = 'active' ORDER BY number LIMIT 1")[0][0]
    before = snapshot(demo_db)
    r = run("cases", "status", number, "bogus", db=demo_db)
    assert r.code == 2
    assert r.err.strip() == ("error: status: 'bogus' is not one of in_progress, on_hold, waiting_for_customer, "
                             "researching (to close a case, resolve or cancel it)")
    assert snapshot(demo_db) == before

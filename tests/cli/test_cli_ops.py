"""`caseterm ops apply|export` on the demo store: the demo file applies in one go, again
changes nothing, export reads back, a bad file changes nothing and says where."""

from __future__ import annotations

from pathlib import Path

DEMO_OPS = Path(__file__).resolve().parents[2] / "data" / "ops" / "demo.toml"


def test_the_demo_has_its_file_applied_and_a_change_applies_as_the_dry_run_said(run, demo_db, tmp_path, sql,
                                                                               snapshot):
    same = run("ops", "apply", DEMO_OPS, "--dry-run", db=demo_db, as_login="gpetrov")
    assert same.code == 0, same.err
    assert "Nothing to change" in same.out  # caseterm demo applied data/ops/demo.toml
    assert sql(demo_db, "SELECT name, strategy, email FROM queues WHERE name = 'Returns'") == [
        ("Returns", "skills", "returns@norrvik.example")]

    changed = tmp_path / "changed.toml"
    changed.write_text(DEMO_OPS.read_text(encoding="utf-8").replace('strategy = "round_robin"', 'strategy = "least_active"')
                       .replace('name = "on site"', 'name = "on-site visits"'), encoding="utf-8")
    before = snapshot(demo_db)
    dry = run("ops", "apply", changed, "--dry-run", "--json", db=demo_db, as_login="gpetrov")
    assert snapshot(demo_db) == before  # a dry run changes nothing
    assert dry.json() == {"applied": False, "changes": [
        {"kind": "queue", "name": "Billing", "change": "changed", "detail": "strategy"},
        {"kind": "routing rule", "name": "on-site visits", "change": "added", "detail": ""},
        {"kind": "routing rule", "name": "on site", "change": "removed", "detail": ""},
    ]}
    done = run("ops", "apply", changed, "--json", db=demo_db, as_login="gpetrov")
    assert done.json() == {**dry.json(), "applied": True}  # exactly what the dry run said
    assert sql(demo_db, "SELECT strategy FROM queues WHERE name = 'Billing'") == [("least_active",)]
    assert sql(demo_db, "SELECT count(*) FROM outbox WHERE action = 'apply_ops'") == [(3,)]  # it all syncs

    exported = tmp_path / "ops.toml"
    assert run("ops", "export", exported, db=demo_db).code == 0
    assert run("ops", "apply", exported, "--json", db=demo_db, as_login="gpetrov").json()["changes"] == []


def test_removing_and_bringing_back_a_rule_and_a_member(run, demo_db, tmp_path, sql):
    assert run("ops", "apply", DEMO_OPS, db=demo_db, as_login="gpetrov").code == 0
    text = DEMO_OPS.read_text(encoding="utf-8")
    smaller = tmp_path / "smaller.toml"
    smaller.write_text(text.replace('[[routing]]\nname = "on site"\nwhen = { origin = "field" }\n'
                                    'queue = "Field Service"\n', "")
                       .replace('"fjohansson", ', ""), encoding="utf-8")
    changes = run("ops", "apply", smaller, "--json", db=demo_db, as_login="gpetrov").json()["changes"]
    assert {"kind": "routing rule", "name": "on site", "change": "removed", "detail": ""} in changes
    assert {"kind": "queue members", "name": "Field Service", "change": "changed", "detail": "-fjohansson"} in changes
    assert sql(demo_db, "SELECT deleted FROM routing_rules WHERE name = 'on site'") == [(1,)]
    back = run("ops", "apply", DEMO_OPS, "--json", db=demo_db, as_login="gpetrov").json()["changes"]
    assert {"kind": "routing rule", "name": "on site", "change": "added", "detail": ""} in back
    assert sql(demo_db, "SELECT deleted, position FROM routing_rules WHERE name = 'on site'") == [(0, 2)]


def test_a_bad_file_or_a_non_admin_changes_nothing(run, demo_db, tmp_path, snapshot):
    before = snapshot(demo_db)
    bad = tmp_path / "bad.toml"
    bad.write_text(DEMO_OPS.read_text(encoding="utf-8").replace('strategy = "round_robin"', 'strategy = "fastest"')
                   .replace('"mrossi", ', '"mrosi", '), encoding="utf-8")
    r = run("ops", "apply", bad, db=demo_db, as_login="gpetrov")
    assert r.code == 2
    assert "2 problem(s) in the operations file; nothing was applied" in r.err
    assert "queue[3].strategy: one of round_robin, least_active, skills" in r.err
    headers = [n for n, line in enumerate(DEMO_OPS.read_text(encoding="utf-8").splitlines(), 1) if line == "[[queue]]"]
    assert f"line {headers[4]}: queue[4].members[2]: no agent 'mrosi'" in r.err
    r = run("ops", "apply", DEMO_OPS, db=demo_db, as_login="jdoe")
    assert r.code == 2 and "needs an admin" in r.err
    assert snapshot(demo_db) == before


def test_a_routed_case_breaches_and_sla_check_records_it(run, demo_db, sql):
    # the demo's clock: Wednesday 2026-11-25 09:00 UTC (10:00 in Stockholm, office hours)
    r = run("customers", "find", "anna", "--json", db=demo_db)
    email = r.json()["customers"][0]["email"]
    r = run("cases", "new", "--customer", email, "--title", "My invoice was charged twice", "--priority", "1",
            db=demo_db, as_login="jdoe")
    assert r.code == 0, r.err
    number = r.out.strip()
    assert sql(demo_db, "SELECT q.name, c.sla_policy FROM cases c JOIN queues q ON q.id = c.queue_id "
                        "WHERE c.number = ?", [number]) == [("Billing", "standard")]
    same_day = run("ops", "sla-check", "--json", db=demo_db)
    assert number not in same_day.json()["breached"]
    later = run("ops", "sla-check", "--json", db=demo_db, env={"CASETERM_CLOCK": "2026-11-26T15:00:00Z"})
    assert later.code == 0, later.err
    assert number in later.json()["breached"] and number in later.json()["warned"]
    assert sql(demo_db, "SELECT sla_warned, sla_breached FROM cases WHERE number = ?", [number]) == [(1, 1)]


def test_route_sends_a_case_where_the_rules_say(run, demo_db, sql):
    r = run("customers", "find", "anna", "--json", db=demo_db)
    email = r.json()["customers"][0]["email"]
    r = run("cases", "new", "--customer", email, "--title", "Question about my account", "--queue", "Billing",
            "--type", "question", db=demo_db, as_login="jdoe")
    number = r.out.strip()
    assert sql(demo_db, "SELECT q.name, c.owner_id FROM cases c JOIN queues q ON q.id = c.queue_id "
                        "WHERE c.number = ?", [number]) == [("Billing", None)]  # chosen by hand: not routed
    r = run("cases", "route", number, db=demo_db, as_login="jdoe")
    assert r.code == 0, r.err
    assert "Routed to General Support by rule 'everything else'; assigned to" in r.out
    assert sql(demo_db, "SELECT q.name FROM cases c JOIN queues q ON q.id = c.queue_id WHERE c.number = ?",
               [number]) == [("General Support",)]
    r = run("cases", "resolve", number, "Answered", db=demo_db, as_login="jdoe")
    r = run("cases", "route", number, db=demo_db, as_login="jdoe")
    assert r.code == 2 and "only active cases are routed" in r.err


def test_an_entitled_customer_gets_the_gold_sla_and_the_case_pane_fields(run, demo_db, sql):
    email = run("customers", "find", "anna", "--json", db=demo_db).json()["customers"][0]["email"]
    r = run("customers", "entitle", email, "Gold support", "--json", db=demo_db, as_login="jdoe")
    assert r.code == 2 and "granting an entitlement needs the role" in r.err
    r = run("customers", "entitle", email, "gold support", "--json", db=demo_db, as_login="kadeyemi")
    assert r.code == 0, r.err
    assert {k: r.json()[k] for k in ("name", "sla", "starts_on", "ends_on", "cases_left")} == {
        "name": "Gold support", "sla": "gold", "starts_on": "2026-11-25", "ends_on": "2027-11-24", "cases_left": None}
    r = run("customers", "entitle", email, "Platinum", db=demo_db, as_login="kadeyemi")
    assert r.code == 2 and "templates: Gold support, Ten-pack of field visits, Twenty support hours" in r.err
    number = run("cases", "new", "--customer", email, "--title", "Kettle leaks", "--priority", "2",
                 db=demo_db, as_login="jdoe").out.strip()
    assert sql(demo_db, "SELECT sla_policy FROM cases WHERE number = ?", [number]) == [("gold",)]
    shown = run("cases", "show", number, db=demo_db)
    assert "Entitlement 'Gold support' (until 2027-11-24)" in " ".join(shown.out.split())


def test_escalate_and_bulk_assign_from_the_command_line(run, demo_db, sql):
    email = run("customers", "find", "anna", "--json", db=demo_db).json()["customers"][0]["email"]
    made = [run("cases", "new", "--customer", email, "--title", f"Invoice question {i}", "--priority", "3",
                db=demo_db, as_login="jdoe").out.strip() for i in range(3)]
    r = run("cases", "escalate", made[0], "--reason", "disputes the charge for the third time", db=demo_db,
            as_login="jdoe")
    assert r.code == 0, r.err
    assert r.out.startswith(f"{made[0]}: Escalated to Escalations by jdoe: disputes the charge for the third time; "
                            "assigned to ")
    shown = run("cases", "show", made[0], "--json", db=demo_db).json()["case"]
    assert (shown["queue"], shown["priority"], shown["escalated"]) == ("Escalations", 2, True)
    assert shown["owner"] in ("kadeyemi", "rlindqvist", "gpetrov")
    assert shown["sla"]["policy"] == "standard" and shown["sla"]["resolve_due_at"].startswith("2026-")
    r = run("cases", "escalate", made[1], "--reason", "x", "--to", "Nowhere", db=demo_db, as_login="jdoe")
    assert r.code == 2 and "Nowhere" in r.err

    r = run("cases", "assign", *made[1:], "--owner", "hschmidt", db=demo_db, as_login="jdoe")
    assert r.code == 2 and "reassigning cases in bulk needs the role admin, supervisor" in r.err
    r = run("cases", "assign", *made[1:], "--owner", "hschmidt", "--json", db=demo_db, as_login="kadeyemi")
    assert r.code == 0, r.err
    assert r.json() == {"owner": "hschmidt", "assigned": made[1:]}
    assert sql(demo_db, "SELECT count(*) FROM cases c JOIN agents a ON a.id = c.owner_id "
                        "WHERE a.login = 'hschmidt' AND c.number IN (?, ?)", made[1:]) == [(2,)]


def test_a_calendar_change_recomputes_open_deadlines_with_a_progress_bar(run, demo_db, sql):
    email = run("customers", "find", "anna", "--json", db=demo_db).json()["customers"][0]["email"]
    number = run("cases", "new", "--customer", email, "--title", "Invoice charged twice", "--priority", "3",
                 db=demo_db, as_login="jdoe").out.strip()
    [(policy, due)] = sql(demo_db, "SELECT sla_policy, resolve_due_at FROM cases WHERE number = ?", [number])
    assert policy == "standard"
    later = DEMO_OPS.read_text(encoding="utf-8").replace('hours = { mon-fri = ["08:00-17:00"] }',
                                                         'hours = { mon-fri = ["08:00-12:00"] }')
    changed = demo_db.parent / "shorter-days.toml"
    changed.write_text(later, encoding="utf-8")
    r = run("ops", "apply", changed, db=demo_db, as_login="gpetrov")  # same fixed clock instant as before
    assert r.code == 0, r.err
    assert "changed  calendar office (hours)" in r.out
    assert "SLA deadlines recomputed: 1 of 1 open case(s) with an SLA changed" in r.out
    [(after,)] = sql(demo_db, "SELECT resolve_due_at FROM cases WHERE number = ?", [number])
    assert after > due  # 45 working hours at 4 a day end later than at 9 a day
    # a case made now runs on the new hours too (the cached operations were refreshed)
    twin = run("cases", "new", "--customer", email, "--title", "Invoice charged twice again", "--priority", "3",
               db=demo_db, as_login="jdoe").out.strip()
    assert sql(demo_db, "SELECT resolve_due_at FROM cases WHERE number = ?", [twin]) == [(after,)]
    again = run("ops", "sla-recompute", "--json", db=demo_db)
    assert again.code == 0, again.err
    assert {k: again.json()[k] for k in ("examined", "changed", "orphaned")} == {"examined": 2, "changed": 0,
                                                                                "orphaned": 0}

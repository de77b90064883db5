"""End-to-end: ``caseterm cases list`` on the (read-only) demo store, cross-checked with sqlite3."""

from __future__ import annotations

import pytest

ROW_KEYS = {"number", "priority", "title", "customer", "state", "status", "queue", "owner", "created_at",
            "updated_at", "resolved_at"}

# (extra CLI args, --as login, SQL condition on cases AS c, a check every listed row must pass)
VIEWS = {
    "default (active)": ([], None, "c.state = 'active'", lambda r: r["state"] == "active"),
    "queue Returns": (["--queue", "Returns"], None,
                      "c.state = 'active' AND c.queue_id = (SELECT id FROM queues WHERE name = 'Returns')",
                      lambda r: r["queue"] == "Returns" and r["state"] == "active"),
    "queue, typed in lower case": (["--queue", "returns"], None,
                                   "c.state = 'active' AND c.queue_id = (SELECT id FROM queues WHERE name = 'Returns')",
                                   lambda r: r["queue"] == "Returns"),
    "unassigned": (["--owner", "none"], None, "c.state = 'active' AND c.owner_id IS NULL",
                   lambda r: r["owner"] is None and r["state"] == "active"),
    "mine (jdoe)": (["--owner", "me"], "jdoe",
                    "c.state = 'active' AND c.owner_id = (SELECT id FROM agents WHERE login = 'jdoe')",
                    lambda r: r["owner"] == "jdoe" and r["state"] == "active"),
    "owner by login": (["--owner", "jdoe"], None,
                       "c.state = 'active' AND c.owner_id = (SELECT id FROM agents WHERE login = 'jdoe')",
                       lambda r: r["owner"] == "jdoe"),
    "on hold": (["--status", "on_hold"], None, "c.status_reason = 'on_hold'",
                lambda r: (r["state"], r["status"]) == ("active", "on_hold")),
    "resolved": (["--status", "resolved"], None, "c.state = 'resolved'",
                 lambda r: r["state"] == "resolved" and r["resolved_at"] is not None),
    "cancelled": (["--status", "cancelled"], None, "c.state = 'cancelled'", lambda r: r["state"] == "cancelled"),
    "all": (["--status", "all"], None, "1 = 1", lambda r: True),
    "resolved in Returns": (["--status", "resolved", "--queue", "Returns"], None,
                            "c.state = 'resolved' AND c.queue_id = (SELECT id FROM queues WHERE name = 'Returns')",
                            lambda r: r["state"] == "resolved" and r["queue"] == "Returns"),
}


def count(sql, db, condition):
    return sql(db, f"SELECT count(*) FROM cases AS c WHERE c.deleted = 0 AND {condition}")[0][0]


@pytest.mark.parametrize("name", list(VIEWS))
def test_list_filters_and_total(name, run, sql, demo_template):
    args, as_login, condition, check = VIEWS[name]
    expected_total = count(sql, demo_template, condition)
    assert expected_total > 0, f"the demo store has no case for view {name!r}; the test would prove nothing"
    r = run("cases", "list", *args, "--json", "--limit", "1000", db=demo_template, as_login=as_login)
    assert r.code == 0, r.err
    assert r.err == ""
    data = r.json()
    assert set(data) == {"cases", "count", "total", "has_more"}
    rows = data["cases"]
    assert data["total"] == expected_total
    assert data["count"] == len(rows) == expected_total
    assert data["has_more"] is False
    assert all(set(row) == ROW_KEYS for row in rows)
    bad = [row["number"] for row in rows if not check(row)]
    assert bad == []
    numbers = [row["number"] for row in rows]
    assert len(set(numbers)) == len(numbers)
    expected_numbers = {n for (n,) in sql(demo_template,
                                          f"SELECT number FROM cases AS c WHERE c.deleted = 0 AND {condition}")}
    assert set(numbers) == expected_numbers


def test_default_order_is_priority_then_oldest(run, demo_template):
    rows = run("cases", "list", "--json", "--limit", "1000", db=demo_template).json()["cases"]
    assert len(rows) > 5
    keys = [(r["priority"], r["created_at"]) for r in rows]
    assert keys == sorted(keys)
    assert len({r["priority"] for r in rows}) > 1  # the ordering check is not vacuous


def test_status_resolved_is_newest_first(run, demo_template):
    rows = run("cases", "list", "--status", "resolved", "--json", "--limit", "1000", db=demo_template).json()["cases"]
    assert len(rows) > 5
    resolved = [r["resolved_at"] for r in rows]
    assert resolved == sorted(resolved, reverse=True)
    assert resolved[0] > resolved[-1]


def test_limit_gives_first_page_and_has_more(run, sql, demo_template):
    full = run("cases", "list", "--json", "--limit", "1000", db=demo_template).json()
    page = run("cases", "list", "--limit", "5", "--json", db=demo_template).json()
    assert page["count"] == 5 and len(page["cases"]) == 5
    assert page["has_more"] is True
    assert page["total"] == full["total"] == count(sql, demo_template, "c.state = 'active'")
    assert [r["number"] for r in page["cases"]] == [r["number"] for r in full["cases"][:5]]


def test_table_output(run, sql, demo_template):
    total = count(sql, demo_template, "c.state = 'active'")
    r = run("cases", "list", "--limit", "5", db=demo_template)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split() == ["Number", "P", "Title", "Customer", "Status", "Queue", "Owner", "Age"]
    assert len([line for line in lines if line.startswith("CAS-DEMO-")]) == 5
    assert lines[-1] == f"5 of {total:,} active cases"

    r = run("cases", "list", "--status", "on_hold", db=demo_template)
    on_hold = count(sql, demo_template, "c.status_reason = 'on_hold'")
    assert r.out.splitlines()[-1] == f"{on_hold} of {on_hold} on hold cases"
    assert "On hold" in r.out


def test_empty_store_lists_nothing(run, empty_db):
    r = run("cases", "list", "--json", db=empty_db)
    assert r.json() == {"cases": [], "count": 0, "total": 0, "has_more": False}
    r = run("cases", "list", db=empty_db)
    assert r.code == 0 and r.out.strip() == "0 of 0 active cases"

"""End-to-end: ``caseterm customers find`` on the (read-only) demo store."""

from __future__ import annotations

import uuid

import pytest

HIT_KEYS = {"id", "name", "kind", "email", "phone", "city", "tier", "matched", "active_cases"}


@pytest.fixture(scope="module")
def someone(demo_template):
    """A demo customer with a phone, an email, an order and an asset (values read with sqlite3)."""
    import sqlite3

    conn = sqlite3.connect(demo_template)
    try:
        row = conn.execute(
            """SELECT cu.id, cu.name, cu.email, cu.phone,
                      (SELECT number FROM sales_orders AS o WHERE o.customer_id = cu.id ORDER BY number LIMIT 1),
                      (SELECT serial_number FROM assets AS a WHERE a.customer_id = cu.id ORDER BY 1 LIMIT 1),
                      (SELECT count(*) FROM cases AS c WHERE c.customer_id = cu.id AND c.state = 'active'
                       AND c.deleted = 0)
               FROM customers AS cu
               WHERE cu.deleted = 0 AND cu.kind = 'person' AND cu.email IS NOT NULL AND cu.phone IS NOT NULL
                 AND EXISTS (SELECT 1 FROM sales_orders AS o WHERE o.customer_id = cu.id)
                 AND EXISTS (SELECT 1 FROM assets AS a WHERE a.customer_id = cu.id)
                 AND EXISTS (SELECT 1 FROM cases AS c WHERE c.customer_id = cu.id AND c.state = 'active')
               ORDER BY cu.name LIMIT 1"""
        ).fetchone()
        assert row is not None, "no suitable customer in the demo store"
    finally:
        conn.close()
    cid, name, email, phone, order, serial, active = row
    return {"id": str(uuid.UUID(cid)), "name": name, "email": email, "phone": phone, "order": order,
            "serial": serial, "active_cases": active}


def find(run, db, text, *extra):
    r = run("customers", "find", text, "--json", "--limit", "200", *extra, db=db)
    assert r.code == 0, r.err
    data = r.json()
    assert set(data) == {"customers"}
    assert all(set(hit) == HIT_KEYS for hit in data["customers"])
    return data["customers"]


def test_find_by_exact_email(run, demo_template, someone):
    hits = find(run, demo_template, someone["email"].upper())
    assert [h["id"] for h in hits] == [someone["id"]]
    hit = hits[0]
    assert hit["matched"] == "email"
    assert (hit["name"], hit["email"], hit["phone"]) == (someone["name"], someone["email"], someone["phone"])
    assert hit["active_cases"] == someone["active_cases"] > 0
    assert hit["kind"] == "person"
    assert hit["tier"] in {"standard", "gold", "platinum"}


def test_find_by_the_start_of_a_name(run, sql, demo_template, someone):
    part = someone["name"].split()[-1][:4].lower()  # the start of the surname
    hits = find(run, demo_template, part)
    assert someone["id"] in [h["id"] for h in hits] or len(hits) == 200
    for h in hits:
        words = (h["name"] + " " + (h["email"] or "").replace(".", " ").replace("@", " ")).lower().split()
        assert any(w.startswith(part) for w in words), h
        assert h["matched"] == "name"


def test_find_by_any_part_of_a_name(run, empty_db):
    assert run("customers", "new", "--name", "Quentin Zyxwvutsson", db=empty_db).code == 0
    hits = find(run, empty_db, "xwvuts")  # no word starts so: found inside the word
    assert [(h["name"], h["matched"]) for h in hits] == [("Quentin Zyxwvutsson", "name")]


@pytest.mark.parametrize("respace", ["compact", "regrouped"])
def test_find_by_phone_however_spaced(respace, run, demo_template, someone):
    digits = "".join(ch for ch in someone["phone"] if ch.isdigit())
    if respace == "compact":
        typed = "+" + digits
    else:
        typed = "+" + " ".join(digits[i:i + 3] for i in range(0, len(digits), 3))
    assert typed != someone["phone"]
    hits = find(run, demo_template, typed)
    assert hits and hits[0]["id"] == someone["id"]
    assert hits[0]["matched"] == "phone"


def test_find_by_order_number(run, demo_template, someone):
    assert someone["order"].startswith("SO-")
    hits = find(run, demo_template, someone["order"].lower())
    assert hits[0]["id"] == someone["id"]
    assert hits[0]["matched"] == "order"


def test_find_by_asset_serial(run, demo_template, someone):
    hits = find(run, demo_template, someone["serial"])
    assert hits[0]["id"] == someone["id"]
    assert hits[0]["matched"] == "serial"


def test_find_nothing(run, demo_template):
    assert find(run, demo_template, "zzqqxx-no-such-customer") == []
    r = run("customers", "find", "zzqqxx-no-such-customer", db=demo_template)
    assert r.code == 0, r.err
    assert r.out.strip() == "No customer matches 'zzqqxx-no-such-customer'."


def test_find_table_output(run, demo_template, someone):
    r = run("customers", "find", someone["email"], db=demo_template)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split() == ["Name", "Email", "Phone", "City", "Tier", "Active", "cases", "Matched", "Id"]
    assert someone["name"] in lines[1] and someone["email"] in lines[1] and someone["id"] in lines[1]


def test_new_customer_then_find_it(run, empty_db):
    r = run("customers", "new", "--name", "Grace Hopper", "--email", "Grace@Navy.example", "--phone",
            "+1 (202) 555-0143", "--tier", "gold", "--json", db=empty_db)
    created = r.json()
    assert created["name"] == "Grace Hopper"
    assert created["email"] == "grace@navy.example"
    assert created["tier"] == "gold"
    hits = find(run, empty_db, "202 555 0143")
    assert [h["id"] for h in hits] == [str(uuid.UUID(str(created["id"])))]
    assert hits[0]["active_cases"] == 0


@pytest.mark.parametrize("args, needle", [
    (["--name", "   "], "name"),
    (["--name", "X", "--email", "not-an-email"], "not-an-email"),
    (["--name", "X", "--phone", "12"], "phone"),
])
def test_new_customer_bad_input(args, needle, run, snapshot, demo_db):
    before = snapshot(demo_db)
    r = run("customers", "new", *args, db=demo_db)
    assert r.code == 2, (r.out, r.err)
    assert r.out == ""
    assert r.err.startswith("error: ") and len(r.err.splitlines()) == 1
    assert needle in r.err
    assert snapshot(demo_db) == before

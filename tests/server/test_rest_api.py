"""The REST API for integrations (/api/v1/cases, /api/v1/customers): the same services
and scopes as sync, errors as problem+json, changes in the log clients pull."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from caseterm.store import models as m

PROBLEM = "application/problem+json"


def new_customer(api, login="boss", **fields):
    body = {"name": "Ada Lovelace", "email": "ada@example.org", "phone": "+44 20 7946 0001", **fields}
    r = api.post(login, "/api/v1/customers", body)
    assert r.status_code == 201, r.text
    return r.json()


def new_case(api, login="boss", **fields):
    body = {"customer_email": "ada@example.org", "title": "Kettle leaks", **fields}
    r = api.post(login, "/api/v1/cases", body)
    assert r.status_code == 201, r.text
    return r.json()["case"]


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert set(body) == {"type", "title", "status", "detail"} and body["status"] == status
    return body


# --- cases ---------------------------------------------------------------------------------------


def test_a_case_is_created_routed_by_the_servers_rules_and_shown_with_its_timeline(api):
    ada = new_customer(api)
    assert ada["email"] == "ada@example.org" and ada["kind"] == "person" and ada["version"] == 1
    r = api.post("jdoe", "/api/v1/cases", {"customer_id": ada["id"], "title": "Charged twice on the invoice",
                                           "description": "Two debits on 3 Nov", "origin": "email",
                                           "type": "complaint", "priority": 2, "category": "billing"})
    assert r.status_code == 201, r.text
    case = r.json()["case"]
    assert r.headers["location"] == f"/api/v1/cases/{case['number']}"
    assert case["number"] == "CAS-SRV-000001"
    assert (case["queue"], case["created_by"], case["category"], case["origin"], case["type"], case["priority"]) == (
        "Billing", "jdoe", "Billing", "email", "complaint", 2)  # routed: "invoice" → Billing
    assert case["customer"] == {"id": ada["id"], "name": "Ada Lovelace", "email": "ada@example.org",
                                "phone": "+44 20 7946 0001"}
    [created] = r.json()["timeline"]
    assert created["event"] == "created" and created["author"] == "jdoe" and "billing words" in created["body"]

    shown = api.get("jdoe", f"/api/v1/cases/{case['number'].lower()}").json()  # numbers as people type them
    assert shown["case"] == case and shown["related"] == {"parent": None, "children": [], "merged_in": [],
                                                          "merged_into": None}
    # written through the server's unit of work: versioned and in the change log clients pull
    with api.db.uow() as uow:
        row = uow.session.exec(select(m.Case).where(m.Case.number == case["number"])).one()
        logged = uow.session.exec(select(m.ServerChange).where(m.ServerChange.row_id == row.id)).all()
        assert row.version == 1 and [c.entity for c in logged] == ["cases"]


def test_a_new_case_names_its_customer_once_and_its_references_must_exist(api):
    new_customer(api)
    both = api.post("boss", "/api/v1/cases", {"customer_email": "ada@example.org",
                                              "customer_id": "0190c2a4-0000-7000-8000-000000000000", "title": "x"})
    assert "customer_id" in problem(both, 422)["detail"]
    nobody = api.post("boss", "/api/v1/cases", {"customer_email": "who@example.org", "title": "x"})
    assert problem(nobody, 422)["detail"].startswith("customer_email: no customer")
    for field, value in (("category", "Gardening"), ("product", "NOPE-1"), ("queue", "Nowhere"), ("owner", "ghost"),
                         ("asset_serial", "SN-404")):
        r = api.post("boss", "/api/v1/cases", {"customer_email": "ada@example.org", "title": "x", field: value})
        assert problem(r, 422)["detail"].startswith(f"{field}: "), (field, r.text)
    assert "title" in problem(api.post("boss", "/api/v1/cases", {"customer_email": "ada@example.org"}), 422)["detail"]
    blank = api.post("boss", "/api/v1/cases", {"customer_email": "ada@example.org", "title": "   "})
    assert problem(blank, 422)["detail"] == "title: must not be empty"  # the service's ValidationError
    typo = api.post("boss", "/api/v1/cases", {"customer_email": "ada@example.org", "title": "x", "priorty": 1})
    assert "priorty" in problem(typo, 422)["detail"]
    assert problem(api.post("boss", "/api/v1/cases", {"customer_email": "ada@example.org", "title": "x",
                                                      "priority": 9}), 422)["detail"].startswith("priority")
    with api.db.uow() as uow:
        assert uow.session.exec(select(m.Case)).all() == []


def test_a_case_is_edited_and_worked_through_its_actions(api):
    new_customer(api)
    number = new_case(api, queue="Returns")["number"]
    url = f"/api/v1/cases/{number}"
    r = api.patch("jdoe", url, {"title": "Kettle leaks at the base", "priority": 1, "category": "Networking"})
    assert r.status_code == 200, r.text
    case = r.json()["case"]
    assert (case["title"], case["priority"], case["category"], case["version"]) == (
        "Kettle leaks at the base", 1, "Networking", 2)
    assert api.patch("jdoe", url, {"category": None}).json()["case"]["category"] is None
    assert "at least one" in problem(api.patch("jdoe", url, {}), 422)["detail"]
    assert "status" in problem(api.patch("jdoe", url, {"status": "on_hold"}), 422)["detail"]  # an action of its own
    assert problem(api.patch("jdoe", url, {"title": None}), 422)["detail"].startswith("title")

    r = api.post("jdoe", f"{url}/status", {"status": "on_hold", "note": "Waiting for the part"})
    assert r.json()["case"]["status"] == "on_hold"
    r = api.post("jdoe", f"{url}/assign", {"owner": "me"})
    assert (r.json()["case"]["owner"], r.json()["case"]["queue"]) == ("jdoe", "Returns")
    r = api.post("jdoe", f"{url}/resolve", {"resolution": "Replaced the seal"})
    assert (r.json()["case"]["state"], r.json()["case"]["resolution"]) == ("resolved", "Replaced the seal")
    again = api.post("jdoe", f"{url}/resolve", {"resolution": "Again"})
    assert "cannot go from" in problem(again, 409)["detail"]  # the state machine says what is allowed
    assert "reopen it" in problem(api.patch("jdoe", url, {"title": "Late edit"}), 409)["detail"]
    assert api.post("jdoe", f"{url}/reopen", {"reason": "Still leaks"}).json()["case"]["status"] == "in_progress"
    assert api.post("jdoe", f"{url}/cancel", {}).json()["case"]["state"] == "cancelled"
    events = [e["event"] for e in api.get("jdoe", url).json()["timeline"]]
    assert events == ["cancelled", "reopened", "resolved", "assigned", "status_changed", "updated", "updated",
                      "created"]


def test_activities_are_logged_on_the_timeline(api, clock):
    new_customer(api)
    number = new_case(api)["number"]
    url = f"/api/v1/cases/{number}/activities"
    earlier = (clock.now() - timedelta(minutes=30)).isoformat()
    r = api.post("boss", url, {"kind": "phone_call", "subject": "Called back", "body": "Talked it through",
                               "duration_seconds": 420, "occurred_at": earlier})
    assert r.status_code == 201, r.text
    entry = r.json()
    assert (entry["kind"], entry["duration_seconds"], entry["author"], entry["case"]) == ("phone_call", 420, "boss",
                                                                                         number)
    assert api.post("boss", url, {"kind": "email_in", "body": "Any news?"}).json()["direction"] == "inbound"
    timeline = api.get("boss", f"/api/v1/cases/{number}").json()["timeline"]
    assert [e["kind"] for e in timeline] == ["email_in", "system", "phone_call"]  # newest first; "created" now
    assert api.get("boss", f"/api/v1/cases/{number}?timeline=1").json()["timeline"][0]["kind"] == "email_in"
    assert problem(api.post("boss", url, {"kind": "system", "body": "x"}), 422)["detail"].startswith("kind")
    assert problem(api.post("boss", url, {"kind": "note"}), 422)["detail"] == "text: a note needs some text"
    future = (clock.now() + timedelta(hours=1)).isoformat()
    assert problem(api.post("boss", url, {"body": "x", "occurred_at": future}), 422)["detail"].startswith("time")
    naive = api.post("boss", url, {"body": "x", "occurred_at": "2026-11-25T08:00:00"})
    assert problem(naive, 422)["detail"].startswith("occurred_at")
    ancient = api.post("boss", url, {"body": "x", "occurred_at": "0001-01-01T00:00:00+01:00"})
    assert problem(ancient, 422)["detail"].startswith("occurred_at")
    assert problem(api.post("boss", url, {"body": "x", "duration_seconds": -1}), 422)["detail"].startswith(
        "duration_seconds")


def test_lists_filter_and_page_by_cursor_without_gaps_or_repeats(api, clock):
    new_customer(api)
    new_customer(api, name="Bob Builder", email="bob@example.org", phone=None)
    numbers = []
    for i in range(23):
        clock.advance(minutes=1)
        numbers.append(new_case(api, title=f"Kettle {i}", priority=[1, 3, 4][i % 3], queue="Returns",
                                customer_email="bob@example.org" if i == 7 else "ada@example.org")["number"])
    clock.advance(minutes=1)
    api.post("boss", f"/api/v1/cases/{numbers[0]}/resolve", {"resolution": "Fixed"})
    clock.advance(minutes=1)
    api.post("boss", f"/api/v1/cases/{numbers[1]}/assign", {"owner": "jdoe"})

    seen, cursor, pages = [], None, 0
    while True:
        r = api.get("boss", "/api/v1/cases", params={"limit": 5, **({"cursor": cursor} if cursor else {})})
        page = r.json()
        seen += [c["number"] for c in page["cases"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 5 and len(seen) == 22 == len(set(seen)) and numbers[0] not in seen  # active only by default
    rows = api.get("boss", "/api/v1/cases", params={"limit": 200}).json()["cases"]
    assert [c["number"] for c in rows] == seen
    assert [c["priority"] for c in rows] == sorted(c["priority"] for c in rows)  # priority, then oldest first

    def numbers_of(**params):
        return [c["number"] for c in api.get("boss", "/api/v1/cases", params={"limit": 200, **params}).json()["cases"]]

    assert numbers_of(state="resolved") == [numbers[0]]
    assert numbers_of(status="problem_solved") == [numbers[0]]
    assert len(numbers_of(state="all")) == 23
    assert numbers_of(owner="jdoe") == [numbers[1]]
    assert len(numbers_of(owner="none")) == 21
    assert numbers_of(q="kettle 7") == [numbers[7]]
    assert numbers_of(q="bob") == [numbers[7]]  # the customer's name
    assert numbers_of(q=numbers[5].lower()) == [numbers[5]]
    assert numbers_of(q="100%_") == []  # LIKE wildcards are text
    assert len(numbers_of(queue="returns")) == 22 and numbers_of(queue="Billing") == []
    newest = numbers_of(sort="newest")
    assert newest == [n for n in reversed(numbers) if n != numbers[0]]
    updated = numbers_of(sort="updated", state="all")
    assert updated[:2] == [numbers[1], numbers[0]]
    # the same order through pages of the other sorts
    for sort in ("newest", "updated"):
        got, cursor = [], None
        while True:
            page = api.get("boss", "/api/v1/cases", params={"limit": 4, "sort": sort, "state": "all",
                                                            **({"cursor": cursor} if cursor else {})}).json()
            got += [c["number"] for c in page["cases"]]
            if not (cursor := page["next"]):
                break
        assert got == numbers_of(sort=sort, state="all")

    priority_cursor = api.get("boss", "/api/v1/cases", params={"limit": 1}).json()["next"]
    for params, field in (({"limit": 201}, "limit"), ({"limit": 0}, "limit"), ({"state": "open"}, "state"),
                          ({"cursor": "nonsense"}, "cursor"), ({"queue": "Nowhere"}, "queue"),
                          ({"owner": "ghost"}, "owner"), ({"status": "merged", "state": "active"}, "status"),
                          ({"cursor": priority_cursor, "sort": "newest"}, "cursor")):
        r = api.get("boss", "/api/v1/cases", params=params)
        assert field in problem(r, 422)["detail"], (params, r.text)


def test_customers_are_found_shown_and_created(api):
    ada = new_customer(api, city="London", country="gb", tier="gold")
    assert (ada["country"], ada["tier"]) == ("GB", "gold")
    acme = new_customer(api, name="Acme Ltd", email="office@acme.example", phone=None, kind="organisation")
    emp = new_customer(api, name="Wile Coyote", email="wile@acme.example", phone="+1 555 0100 200",
                       parent_id=acme["id"])
    assert emp["parent_id"] == acme["id"]
    new_case(api)

    def find(q, **extra):
        return [(c["name"], c["matched"]) for c in
                api.get("jdoe", "/api/v1/customers", params={"q": q, **extra}).json()["customers"]]

    assert find("ada@example.org") == [("Ada Lovelace", "email")]
    assert find("+1 (555) 0100-200") == [("Wile Coyote", "phone")]
    assert find("acme") == [("Acme Ltd", "name"), ("Wile Coyote", "name")]
    assert find("nobody") == []
    everyone = api.get("jdoe", "/api/v1/customers", params={"limit": 2}).json()
    assert [c["name"] for c in everyone["customers"]] == ["Acme Ltd", "Ada Lovelace"] and everyone["next"]
    rest = api.get("jdoe", "/api/v1/customers", params={"limit": 2, "cursor": everyone["next"]}).json()
    assert [c["name"] for c in rest["customers"]] == ["Wile Coyote"] and rest["next"] is None
    hit = api.get("boss", "/api/v1/customers", params={"q": "ada"}).json()["customers"][0]
    assert hit["active_cases"] == 1

    shown = api.get("boss", f"/api/v1/customers/{ada['id']}").json()
    assert shown["customer"] == ada and [c["title"] for c in shown["cases"]] == ["Kettle leaks"]

    taken = api.post("boss", "/api/v1/customers", {"name": "Ada Again", "email": "ADA@example.org"})
    assert "already belongs" in problem(taken, 422)["detail"]
    assert problem(api.post("boss", "/api/v1/customers", {"name": "X", "email": "not-an-email"}), 422)[
        "detail"].startswith("email")
    assert problem(api.post("boss", "/api/v1/customers", {"name": "X", "parent_id": ada["id"]}), 422)[
        "detail"].startswith("organisation")  # a person is not an organisation
    assert problem(api.post("boss", "/api/v1/customers", {"name": "X", "tier": "diamond"}), 422)[
        "detail"].startswith("tier")
    assert problem(api.post("boss", "/api/v1/customers", {"name": "X\x00"}), 422)["detail"].startswith("name")
    assert problem(api.get("boss", "/api/v1/customers/0190c2a4-0000-7000-8000-000000000000"), 404)


# --- scopes ------------------------------------------------------------------------------------


@pytest.fixture
def desk(api):
    """Ada's case owned by tina (technician); Bob's in Billing; one jdoe (agent, Returns) has in
    Returns; one cleo (clerk) created."""
    ada = new_customer(api)
    bob = new_customer(api, name="Bob Builder", email="bob@example.org", phone=None)
    tinas = new_case(api, owner="tina", title="Install the dishwasher", origin="field")["number"]
    billing = new_case(api, customer_email="bob@example.org", title="Secret billing matter",
                       queue="Billing")["number"]
    returns = new_case(api, customer_email="bob@example.org", title="Return the kettle", queue="Returns")["number"]
    cleos = new_case(api, "cleo", customer_email="bob@example.org", title="Counter complaint", queue="Billing")["number"]
    return {"ada": ada, "bob": bob, "tina": tinas, "billing": billing, "returns": returns, "cleo": cleos}


def listed(api, login, **params):
    return sorted(c["number"] for c in api.get(login, "/api/v1/cases", params={"state": "all", **params})
                  .json()["cases"])


def test_each_role_lists_and_reads_only_its_cases(api, desk):
    assert listed(api, "tina") == [desk["tina"]]
    assert listed(api, "tom") == []
    assert listed(api, "jdoe") == [desk["returns"]]
    assert listed(api, "mia") == sorted([desk["billing"], desk["cleo"]])
    assert listed(api, "cleo") == [desk["cleo"]]
    assert len(listed(api, "boss")) == len(listed(api, "admin")) == 4
    assert listed(api, "tina", q="secret") == []
    for login, number in (("tina", desk["billing"]), ("jdoe", desk["billing"]), ("cleo", desk["returns"]),
                          ("tom", desk["tina"])):
        r = api.get(login, f"/api/v1/cases/{number}")
        body = problem(r, 404)
        assert body["detail"] == f"No case {number} among yours"
        assert "Secret" not in r.text and "Bob" not in r.text and "Ada" not in r.text
    # the same answer as for a case nobody has
    assert problem(api.get("tina", "/api/v1/cases/CAS-SRV-999999"), 404)["detail"] == \
        "No case CAS-SRV-999999 among yours"


def test_a_technician_changes_only_their_cases_and_only_as_a_technician_may(api, desk):
    other = desk["billing"]
    for method, path, body in (("patch", "", {"priority": 1}), ("post", "/status", {"status": "on_hold"}),
                               ("post", "/assign", {"owner": "me"}), ("post", "/resolve", {"resolution": "x"}),
                               ("post", "/cancel", {}), ("post", "/reopen", {}),
                               ("post", "/activities", {"body": "Sneaky note"})):
        r = getattr(api, method)("tina", f"/api/v1/cases/{other}{path}", body)
        assert problem(r, 404)["detail"] == f"No case {other} among yours", (path, r.text)
        assert "Secret" not in r.text
    with api.db.uow() as uow:
        row = uow.session.exec(select(m.Case).where(m.Case.number == other)).one()
        assert (row.priority, row.state, row.owner_id, row.version) == (3, "active", None, 1)
    # their own case: they work it, but handing it to someone else is not a technician's call
    own = f"/api/v1/cases/{desk['tina']}"
    assert api.post("tina", f"{own}/activities", {"kind": "visit", "body": "Fitted", "duration_seconds": 3600}) \
        .status_code == 201
    refused = api.post("tina", f"{own}/assign", {"owner": "tom"})
    assert problem(refused, 403)["detail"] == ("assigning a case to another agent needs the role admin, agent, "
                                               "supervisor; you are technician")
    assert problem(api.post("tina", "/api/v1/cases", {"customer_email": "ada@example.org", "title": "x",
                                                      "owner": "tom"}), 403)
    # their customers only: Bob is no customer of theirs, so he is "nobody" to them
    assert [c["name"] for c in api.get("tina", "/api/v1/customers").json()["customers"]] == ["Ada Lovelace"]
    assert problem(api.get("tina", f"/api/v1/customers/{desk['bob']['id']}"), 404)
    r = api.post("tina", "/api/v1/cases", {"customer_email": "bob@example.org", "title": "x"})
    assert problem(r, 422)["detail"].startswith("customer_email: no customer")
    shown = api.get("tina", f"/api/v1/customers/{desk['ada']['id']}").json()
    assert [c["number"] for c in shown["cases"]] == [desk["tina"]]


def test_an_agent_works_their_queues_cases_and_a_reassigned_case_leaves_them(api, desk):
    returns = f"/api/v1/cases/{desk['returns']}"
    assert api.patch("jdoe", returns, {"priority": 2}).json()["case"]["priority"] == 2
    moved = api.post("jdoe", f"{returns}/assign", {"queue": "Billing"})
    assert moved.status_code == 200 and moved.json()["case"]["queue"] == "Billing"
    assert problem(api.get("jdoe", returns), 404)  # no longer theirs
    assert api.get("mia", returns).status_code == 200


# --- sync: what the REST API changes, clients pull ----------------------------------------------


def test_a_case_made_over_rest_reaches_the_clients_on_their_next_sync(server, tmp_path):
    import httpx
    from server_support import client_store

    from caseterm.services.lookup import case_by_number
    from caseterm.sync import client

    token = server.add_agent("jdoe", "agent", ["Returns"])
    store = client_store(tmp_path, "jdoe", server, token)
    client.sync(store)
    http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    assert http.post("/api/v1/customers", json={"name": "Ada", "email": "ada@example.org"}).status_code == 201
    number = http.post("/api/v1/cases", json={"customer_email": "ada@example.org", "title": "Kettle leaks",
                                              "queue": "Returns"}).json()["case"]["number"]
    http.post(f"/api/v1/cases/{number}/activities", json={"kind": "phone_call", "body": "Called", "duration_seconds": 60})
    client.sync(store)
    with store.uow() as uow:
        case = case_by_number(uow, number)
        kinds = sorted(a.kind for a in uow.session.exec(select(m.Activity).where(m.Activity.case_id == case.id)))
        assert (case.title, kinds) == ("Kettle leaks", ["phone_call", "system"])
    # and the other way round: an edit made on the client shows in the REST API after a push
    from caseterm.services import cases
    from caseterm.services.lookup import agent_by_login

    with store.uow() as uow:
        cases.update_case(uow, agent_by_login(uow, "jdoe"), case_by_number(uow, number), priority=1)
    client.sync(store)
    assert http.get(f"/api/v1/cases/{number}").json()["case"]["priority"] == 1
    store.close()


def test_unknown_query_parameters_and_undecodable_bodies_are_refused_as_problems(api):
    r = api.get("boss", "/api/v1/cases", params={"stat": "resolved"})
    assert problem(r, 422)["detail"].startswith("stat: is not a parameter here; use cursor, customer_id")
    assert problem(api.client.get("/api/v1/cases", params={"stat": "x"}), 401)  # who asks comes first
    r = api.client.post("/api/v1/customers", content=b"\x80\xff", headers={**api.auth("boss"),
                                                                          "content-type": "application/json"})
    assert problem(r, 422)["detail"] == "body: is not JSON (UTF-8 text)"

"""The case server's defences, against a real server process (uvicorn on 127.0.0.1):
tokens on every endpoint, scopes through the REST API, no token in the log or the
database, body size limits, malformed bodies."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest
from sqlmodel import select

from caseterm.server.app import MAX_BODY
from caseterm.store import models as m

PROBLEM = "application/problem+json"
SOME_ID = "0190c2a4-0000-7000-8000-000000000000"


def operations(server) -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI document, path parameters filled in."""
    spec = httpx.get(f"{server.url}/openapi.json").json()
    out = []
    for path, item in spec["paths"].items():
        filled = path.replace("{number}", "CAS-SRV-000001").replace("{customer_id}", SOME_ID)
        assert "{" not in filled, f"a path parameter this test does not know: {path}"
        out += [(method.upper(), filled) for method in item if method in ("get", "post", "patch", "put", "delete")]
    return out


def send(server, method: str, path: str, headers=None, **kw) -> httpx.Response:
    if method != "GET" and "json" not in kw and "content" not in kw:
        kw["json"] = {}
    return httpx.request(method, f"{server.url}{path}", headers=headers or {}, timeout=30, **kw)


def assert_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, (r.request.method, r.request.url, r.text)
    assert r.headers["content-type"] == PROBLEM, (r.request.url, r.headers["content-type"])
    body = r.json()
    assert body["status"] == status and body["detail"]
    return body


@pytest.fixture
def people(server):
    """Tokens: boss (supervisor), tina (technician) and jdoe (agent, Returns); a revoked one
    of rex's. Ada's case is tina's; Bob's secret case is not."""
    from caseterm.server import accounts

    tokens = {login: server.add_agent(login, role, queues)
              for login, role, queues in (("boss", "supervisor", []), ("tina", "technician", []),
                                          ("jdoe", "agent", ["Returns"]), ("rex", "agent", []))}
    db = server.db()
    try:
        with db.uow() as uow:
            assert accounts.revoke(uow, login="rex") == 1
    finally:
        db.close()
    boss = {"Authorization": f"Bearer {tokens['boss']}"}
    for name, email in (("Ada Lovelace", "ada@example.org"), ("Bob Builder", "bob@example.org")):
        assert send(server, "POST", "/api/v1/customers", boss, json={"name": name, "email": email}).status_code == 201
    tinas = send(server, "POST", "/api/v1/cases", boss, json={
        "customer_email": "ada@example.org", "title": "Install the dishwasher", "owner": "tina"}).json()["case"]
    secret = send(server, "POST", "/api/v1/cases", boss, json={
        "customer_email": "bob@example.org", "title": "Confidential billing dispute",
        "description": "Lawyer involved", "queue": "Returns"}).json()["case"]
    return {"tokens": tokens, "tina_case": tinas["number"], "secret": secret, "bob_id": secret["customer"]["id"]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_endpoint_but_healthz_refuses_a_missing_wrong_or_revoked_token(server, people):
    ops = operations(server)
    assert ("GET", "/api/v1/cases") in ops and ("POST", "/api/v1/sync/push") in ops and len(ops) >= 15
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    refusals = ({}, {"Authorization": "Bearer ct_wrong"}, {"Authorization": people["tokens"]["boss"]},  # no scheme
                {"Authorization": "Basic Ym9zczpwYXNz"}, {"Authorization": "Bearer"},
                bearer(people["tokens"]["rex"]))  # revoked
    for method, path in ops:
        if path == "/healthz":
            continue
        for headers in refusals:
            body = assert_problem(send(server, method, path, headers), 401)
            assert body["title"] == "Not signed in", (method, path, body)
    # with a good token the same requests get past sign-in (whatever they then answer)
    for method, path in ops:
        assert send(server, method, path, bearer(people["tokens"]["boss"])).status_code != 401, (method, path)


def test_a_technician_cannot_read_or_change_a_case_outside_their_scope(server, people):
    tina = bearer(people["tokens"]["tina"])
    secret = people["secret"]
    number = secret["number"]
    said = []
    for method, path, body in (("GET", f"/api/v1/cases/{number}", None),
                               ("GET", f"/api/v1/cases/{secret['id']}", None),
                               ("PATCH", f"/api/v1/cases/{number}", {"priority": 1}),
                               ("POST", f"/api/v1/cases/{number}/status", {"status": "on_hold"}),
                               ("POST", f"/api/v1/cases/{number}/assign", {"owner": "me"}),
                               ("POST", f"/api/v1/cases/{number}/resolve", {"resolution": "Closed by me"}),
                               ("POST", f"/api/v1/cases/{number}/cancel", {}),
                               ("POST", f"/api/v1/cases/{number}/activities", {"body": "Sneaky note"}),
                               ("GET", f"/api/v1/customers/{people['bob_id']}", None)):
        r = send(server, method, path, tina, **({"json": body} if body is not None else {}))
        assert_problem(r, 404)
        said.append(r.text)
    for i, text in enumerate(said):  # nothing about the case or its customer (only what was asked, echoed)
        for word in ("Confidential", "Lawyer", "Bob", "bob@example.org", "Returns", "jdoe", "active"):
            assert word not in text, (word, text)
        assert i == 1 or secret["id"] not in text
    listed = send(server, "GET", "/api/v1/cases", tina, params={"state": "all"}).json()["cases"]
    assert [c["number"] for c in listed] == [people["tina_case"]]
    found = send(server, "GET", "/api/v1/customers", tina, params={"q": "bob"}).json()["customers"]
    assert found == []
    # nothing changed
    boss = bearer(people["tokens"]["boss"])
    after = send(server, "GET", f"/api/v1/cases/{number}", boss).json()
    assert after["case"]["version"] == secret["version"] and len(after["timeline"]) == 1
    # on their own case, what a technician may not do is a 403 that says why
    r = send(server, "POST", f"/api/v1/cases/{people['tina_case']}/assign", tina, json={"owner": "jdoe"})
    assert "you are technician" in assert_problem(r, 403)["detail"]


def test_tokens_never_reach_the_server_log(server, people):
    tokens = people["tokens"]
    for token in tokens.values():
        for path in ("/api/v1/cases", "/api/v1/sync/pull", f"/api/v1/cases/{people['tina_case']}"):
            send(server, "GET", path, bearer(token))
        send(server, "GET", "/api/v1/cases", {"Authorization": token})  # malformed
        send(server, "POST", "/api/v1/cases", bearer(token), content=b'{"title": ')  # malformed body
        send(server, "GET", "/api/v1/cases", bearer(token), params={"token": token})  # in the query, refused
    send(server, "GET", "/api/v1/cases", bearer(tokens["boss"] + "x"))  # a near miss
    server.stop()  # flush and close the log
    log = server.log.read_text()
    assert '"path": "/api/v1/cases"' in log and '"agent": "boss"' in log  # the access log is there
    for token in tokens.values():
        secret = token.removeprefix("ct_")
        assert secret not in log and secret[:16] not in log
    assert "Bearer" not in log


def test_the_token_table_holds_only_hashes(server, people):
    tokens = people["tokens"]
    db = server.db()
    try:
        with db.uow() as uow:
            stored = {row.token_hash for row in uow.session.exec(select(m.ServerToken))}
    finally:
        db.close()
    assert {hashlib.sha256(t.encode()).hexdigest() for t in tokens.values()} <= stored
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)
    server.stop()  # the WAL checkpointed into the file
    files = list(server.log.parent.glob("server.sqlite*"))
    assert files
    for path in files:
        raw = path.read_bytes()
        for token in tokens.values():
            assert token.encode() not in raw and token.removeprefix("ct_").encode() not in raw


def test_a_body_above_the_limit_is_refused_with_413(server, people):
    boss = bearer(people["tokens"]["boss"])
    big = b'{"title": "' + b"x" * MAX_BODY + b'"}'
    for path in ("/api/v1/cases", "/api/v1/customers", "/api/v1/sync/push",
                 f"/api/v1/cases/{people['tina_case']}/activities"):
        r = send(server, "POST", path, {**boss, "content-type": "application/json"}, content=big)
        assert "split" in assert_problem(r, 413)["detail"]
    r = send(server, "PATCH", f"/api/v1/cases/{people['tina_case']}", {**boss, "content-type": "application/json"},
             content=big)
    assert_problem(r, 413)
    # a body sent in chunks, without a length, is counted as it comes (the REST API's routes)

    def chunks():
        yield b'{"name": "'
        for _ in range(MAX_BODY // 2**20 + 1):
            yield b"x" * 2**20
        yield b'"}'

    r = send(server, "POST", "/api/v1/customers", {**boss, "content-type": "application/json"}, content=chunks())
    assert "content-length" not in r.request.headers
    assert_problem(r, 413)
    # just under the limit it is read (and refused for what it says, not for its size)
    r = send(server, "POST", "/api/v1/customers", {**boss, "content-type": "application/json"},
             content=b'{"name": "' + b"x" * (MAX_BODY - 100) + b'"}')
    assert "name" in assert_problem(r, 422)["detail"]


@pytest.mark.parametrize("content", [b'{"title": ', b"not json", b"[1, 2", b'{"title": "x"}}', b"\x80\xff",
                                     b"", b"null", b"[]", b'"text"'])
def test_a_malformed_body_is_a_422_problem_never_a_500(server, people, content):
    boss = {**bearer(people["tokens"]["boss"]), "content-type": "application/json"}
    for method, path in operations(server):
        if method not in ("POST", "PATCH", "PUT"):
            continue
        if content == b"\x80\xff" and path.startswith(("/api/v1/sync", "/api/v1/devices")):
            continue  # the sync endpoints answer an undecodable body with FastAPI's bare 400 (app.py's handlers)
        r = send(server, method, path, boss, content=content)
        assert_problem(r, 422)

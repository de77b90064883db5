"""The server's structured access log, from a real ``caseterm serve --workers 2``: every
request is a JSON line (method, path, status, milliseconds, who), whichever process
served it, and no token is ever in it."""

from __future__ import annotations

import json
from collections import Counter

import httpx
from server_support import start_server


def test_every_worker_writes_the_access_log_as_json_lines(tmp_path):
    server = start_server(tmp_path, workers=2)
    try:
        token = server.add_agent("boss", "supervisor")
        with httpx.Client(base_url=server.url) as http:  # new connections, so both workers get some
            for _ in range(30):
                http.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}", "Connection": "close"})
            http.get("/api/v1/sync/pull", headers={"Authorization": "Bearer ct_wrong", "Connection": "close"})
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    access = [entry for entry in lines if entry["logger"] == "caseterm.server.access"
              and entry["path"] != "/healthz"]  # (the fixture's polls while the server starts)
    assert Counter((e["path"], e["status"], e["agent"]) for e in access) == {
        ("/api/v1/sync/pull", 200, "boss"): 30, ("/api/v1/sync/pull", 401, None): 1}
    assert all(e["method"] == "GET" and e["ms"] >= 0 and e["time"] for e in access)
    assert token.removeprefix("ct_") not in server.log.read_text()

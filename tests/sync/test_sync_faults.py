"""Sync when things go wrong, against a real server process: an answer lost after the
server applied the push, the client killed (SIGKILL) in the middle of a sync, the server
restarted or killed between and during requests, a server that answers 500, hangs on a
real socket, is not there, or is not a caseterm server at all.

What a person must be able to count on: the next sync completes; nothing they did is
lost or applied twice (server rows, versions, timeline entries and answered op ids are
counted); a sync that cannot finish says so in words, and their changes stay in the
store, pending, until it can.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from server_support import case_picture, on_server
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from sqlmodel import func, select

from caseterm.services import cases, customers
from caseterm.services.lookup import agent_by_login, queue_by_name
from caseterm.store import models as m
from caseterm.sync import client

PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"


# --- helpers -----------------------------------------------------------------------------------


def store_picture(store) -> dict[str, tuple]:
    with store.uow() as uow:
        return case_picture(uow.session)


def server_picture(server, numbers: set[str] | None = None) -> dict[str, tuple]:
    with on_server(server) as session:
        return case_picture(session, numbers)


def outbox(store) -> Counter:
    """The local outbox by state."""
    with store.uow() as uow:
        return Counter(uow.session.exec(select(m.OutboxOp.state)).all())


def device_of(store) -> str:
    with store.uow() as uow:
        return str(uow.session.get(m.SyncState, 1).device_id)


def answered_on_server(server, device_id: str | None = None) -> int:
    """How many op ids the server has answered (for one device, or in all)."""
    with on_server(server) as session:
        query = select(func.count()).select_from(m.ServerAppliedOp)
        if device_id:
            import uuid

            query = query.where(m.ServerAppliedOp.device_id == uuid.UUID(device_id))
        return session.exec(query).one()


def ledger(server, numbers: set[str]) -> dict[str, tuple[int, int, int]]:
    """Per case on the server: (version, timeline entries, priority). A change applied twice
    shows as a higher version or an extra entry."""
    with on_server(server) as session:
        out = {}
        for case in session.exec(select(m.Case).where(m.Case.number.in_(numbers))):
            entries = session.exec(select(func.count()).select_from(m.Activity).where(
                m.Activity.case_id == case.id)).one()
            out[case.number] = (case.version, entries, case.priority)
        return out


class Counting:
    """Counts rows on the server's database from this process, cheaply (for polling)."""

    def __init__(self, server) -> None:
        self.engine = create_engine(server.database_url, poolclass=NullPool)

    def answered(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM server_applied_ops")).scalar_one()

    def close(self) -> None:
        self.engine.dispose()


def wait_for(predicate, timeout: float = 60.0, what: str = "a condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.005)


def make_work(store, login: str, n: int, *, queue: str = "Returns", tag: str = "Kettle", updates: int = 0
              ) -> list[str]:
    """Offline work: a customer, ``n`` cases each with a note, and a priority change on the
    first ``updates`` of them. Returns the case numbers."""
    with store.uow() as uow:
        me = agent_by_login(uow, login)
        customer = customers.create_customer(uow, me, name=f"{tag} Customer", email=f"{tag.lower()}@example.org")
        where = queue_by_name(uow, queue)
        numbers = []
        for i in range(n):
            case = cases.create_case(uow, me, customer=customer, title=f"{tag} {i} leaks", queue=where)
            cases.add_activity(uow, me, case, kind="note", body=f"{tag} note {i}")
            if i < updates:
                cases.update_case(uow, me, case, priority=1)
            numbers.append(case.number)
    return numbers


def ops_for(n: int, updates: int = 0) -> int:
    """The outbox ops make_work makes: customer; case, 'created' entry, note; update, 'updated' entry."""
    return 1 + 3 * n + 2 * updates


def kill_server(server) -> None:
    """The server dies at once (no graceful shutdown: requests in flight are cut)."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    server.process = None


class Forward(httpx.BaseTransport):
    """A transport that forwards to a real HTTP transport, with a hook before and after."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[str] = []  # paths, in order
        self.cursors: list[int] = []  # the cursor of each pull

    def before(self, request: httpx.Request) -> None:
        pass

    def after(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url.path)
        if request.url.path == PULL:
            self.cursors.append(int(request.url.params["cursor"]))
        self.before(request)
        return self.after(request, self.inner.handle_request(request))

    def close(self) -> None:
        self.inner.close()


class LosePushAnswers(Forward):
    """The push reaches the server and is applied; its answer is lost on the way back
    (a connection reset while reading it), ``times`` times."""

    def __init__(self, times: int = 1, on_loss=None) -> None:
        super().__init__()
        self.times = times
        self.lost = 0
        self.on_loss = on_loss

    def after(self, request, response):
        if request.url.path == PUSH and self.lost < self.times:
            response.read()  # the server finished: it applied the batch and answered
            response.close()
            self.lost += 1
            if self.on_loss:
                self.on_loss()
            raise httpx.ReadError("connection reset by peer while reading the answer", request=request)
        return response


class Recorder:
    """Stands in for time.sleep: keeps the delays asked for."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


# --- a server that misbehaves, on a real socket --------------------------------------------------


class FaultyProxy:
    """A real HTTP server on 127.0.0.1 in front of the case server. ``mode``:
    ``forward`` passes requests on; ``error`` answers 500; ``hang`` reads the request and
    never answers (until closed); ``portal`` answers 200 with a web page, as a captive
    portal or another service would."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = "forward"
        self.requests: list[tuple[str, str]] = []
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.requests.append((self.command, self.path.split("?")[0]))
                mode = proxy.mode
                if mode == "hang":
                    proxy.release.wait(120)
                    self.close_connection = True
                    return
                if mode == "error":
                    self._send(500, "application/problem+json", json.dumps(
                        {"title": "Server error", "status": 500, "detail": "the database is not answering"}).encode())
                    return
                if mode == "portal":
                    self._send(200, "text/html", b"<html><body>Sign in to the hotel Wi-Fi</body></html>")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                answer = httpx.request(self.command, proxy.upstream + self.path, content=body, headers=headers,
                                       timeout=60)
                self._send(answer.status_code, answer.headers.get("content-type", "application/json"), answer.content)

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def sync_requests(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[1] in (PUSH, PULL)]

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def proxied(server, tmp_path):
    """jdoe's store, logged in through a FaultyProxy in front of the server."""
    from caseterm.store.uow import LocalStore

    proxy = FaultyProxy(server.url)
    via = LocalStore.open(tmp_path / "via-proxy.sqlite")
    client.login(via, proxy.url, server.add_agent("jdoe", "agent", ["Returns"]), "via proxy")
    client.sync(via)
    proxy.requests.clear()
    yield proxy, via
    via.close()
    proxy.close()


# --- the answer to a push is lost ------------------------------------------------------------


def test_a_push_answer_lost_after_the_server_applied_it_is_retried_and_applies_nothing_twice(server, desk):
    jdoe, boss = desk
    numbers = make_work(jdoe, "jdoe", 30, updates=10)
    total = ops_for(30, 10)
    seen_at_loss = []
    transport = LosePushAnswers(times=1, on_loss=lambda: seen_at_loss.append(answered_on_server(server)))

    report = client.sync(jdoe, transport=transport, backoff=0.01)

    assert transport.lost == 1 and seen_at_loss == [total]  # the server had applied the whole batch
    assert transport.sent.count(PUSH) == 2  # the batch went again
    assert (report.pushed, report.applied, report.conflicts, report.rejected) == (total, total, 0, 0)
    assert outbox(jdoe) == Counter({"applied": total})
    assert answered_on_server(server, device_of(jdoe)) == total
    books = ledger(server, set(numbers))
    # created (v1) and, for the first ten, updated once (v2); timeline: created, note (+ updated)
    assert books == {n: (2, 3, 1) if i < 10 else (1, 2, 3) for i, n in enumerate(numbers)}
    client.sync(boss)
    assert store_picture(jdoe) == store_picture(boss) == server_picture(server)


def test_a_sync_that_never_got_its_answer_is_completed_by_the_next_one(server, desk):
    jdoe, boss = desk
    numbers = make_work(jdoe, "jdoe", 20, updates=5)
    total = ops_for(20, 5)
    lossy = LosePushAnswers(times=10)  # every try of this sync loses its answer

    with pytest.raises(client.SyncError) as failed:
        client.sync(jdoe, transport=lossy, attempts=3, backoff=0.01)

    assert "broke off before it answered" in str(failed.value) and "changes are kept" in str(failed.value)
    assert lossy.lost == 3
    assert outbox(jdoe) == Counter({"pending": total})  # nothing marked: no answer came
    assert answered_on_server(server, device_of(jdoe)) == total  # yet the server has it all, once
    before = ledger(server, set(numbers))

    report = client.sync(jdoe)  # the next sync, the network fine again

    assert (report.pushed, report.applied, report.conflicts, report.rejected) == (total, total, 0, 0)
    assert outbox(jdoe) == Counter({"applied": total})
    assert answered_on_server(server, device_of(jdoe)) == total
    assert ledger(server, set(numbers)) == before  # answered from what the server stored
    assert before == {n: (2, 3, 1) if i < 5 else (1, 2, 3) for i, n in enumerate(numbers)}
    client.sync(boss)
    assert store_picture(jdoe) == store_picture(boss) == server_picture(server)


# --- the client is killed mid-sync -----------------------------------------------------------


def _sync_process(store, **env) -> subprocess.Popen:
    """``caseterm --db STORE sync --json`` in a process of its own."""
    full = dict(os.environ, **{k: str(v) for k, v in env.items()})
    return subprocess.Popen([sys.executable, "-m", "caseterm", "--db", str(store.path), "sync", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full)


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL


def test_a_client_killed_while_pushing_loses_and_duplicates_nothing(server, desk):
    jdoe, boss = desk
    numbers = make_work(jdoe, "jdoe", 150, updates=30)
    total = ops_for(150, 30)
    counting = Counting(server)
    try:
        base = counting.answered()
        process = _sync_process(jdoe, CASETERM_SYNC_PUSH_BATCH=20)
        wait_for(lambda: counting.answered() - base >= 100 or process.poll() is not None, what="the push to start")
        assert process.poll() is None, "the sync finished before it could be killed"
        _kill(process)
    finally:
        counting.close()
    left = outbox(jdoe)
    assert left["pending"] > 0 and left["applied"] >= 80  # cut off mid-push (the batch in flight: unanswered)
    assert set(left) <= {"pending", "applied"}

    report = client.sync(jdoe)

    assert report.pushed == left["pending"] and report.applied == left["pending"] and report.rejected == 0
    assert outbox(jdoe) == Counter({"applied": total})
    assert answered_on_server(server, device_of(jdoe)) == total
    assert ledger(server, set(numbers)) == {n: (2, 3, 1) if i < 30 else (1, 2, 3) for i, n in enumerate(numbers)}
    client.sync(boss)
    assert store_picture(jdoe) == store_picture(boss) == server_picture(server)


def test_a_client_killed_while_pulling_goes_on_from_the_last_whole_page(server, desk, tmp_path):
    jdoe, boss = desk
    make_work(jdoe, "jdoe", 150)
    client.sync(jdoe)
    with boss.uow() as uow:
        start = uow.session.get(m.SyncState, 1).pull_cursor

    def cursor() -> int:
        import sqlite3

        with sqlite3.connect(boss.path) as conn:
            return conn.execute("SELECT pull_cursor FROM sync_state").fetchone()[0]

    process = _sync_process(boss, CASETERM_SYNC_PULL_PAGE=10)
    wait_for(lambda: cursor() - start >= 100 or process.poll() is not None, what="the pull to start")
    assert process.poll() is None, "the sync finished before it could be killed"
    _kill(process)
    stopped_at = cursor()
    with on_server(server) as session:
        final = session.exec(select(func.max(m.ServerChange.seq))).one()
    assert start < stopped_at < final
    with on_server(server) as session:  # the cases whose creation came at or before the cursor
        committed = set(session.exec(select(m.Case.number).join(m.ServerChange, m.ServerChange.row_id == m.Case.id)
                                     .where(m.ServerChange.entity == "cases", m.ServerChange.seq <= stopped_at)))
    with boss.uow() as uow:  # the store holds the whole pages it got, and nothing of the rest
        held = set(uow.session.exec(select(m.Case.number)))
    assert held == committed and 0 < len(held) < 150

    report = client.sync(boss)

    assert report.skipped == [] and report.cursor == final
    assert store_picture(boss) == store_picture(jdoe) == server_picture(server)
    assert len(store_picture(boss)) == 150


# --- the server restarts or dies mid-sync ----------------------------------------------------


class RestartBetweenPages(Forward):
    """Restarts the server (gracefully) before the third pull page is asked for."""

    def __init__(self, server) -> None:
        super().__init__()
        self.server = server
        self.restarted = False

    def before(self, request):
        if request.url.path == PULL and self.sent.count(PULL) == 3 and not self.restarted:
            self.restarted = True
            self.server.restart()


def test_a_server_restarted_between_pull_pages_does_not_stop_the_sync(server, desk, monkeypatch):
    jdoe, boss = desk
    make_work(jdoe, "jdoe", 100)
    client.sync(jdoe)
    monkeypatch.setenv("CASETERM_SYNC_PULL_PAGE", "25")
    transport = RestartBetweenPages(server)

    report = client.sync(boss, transport=transport, backoff=0.05)

    assert transport.restarted and transport.sent.count(PULL) > 3
    assert report.skipped == [] and len(store_picture(boss)) == 100
    assert store_picture(boss) == server_picture(server)


def test_a_server_killed_in_the_middle_of_a_push_is_retried_once_it_is_back(server, desk, monkeypatch):
    jdoe, boss = desk
    numbers = make_work(jdoe, "jdoe", 200, updates=40)
    total = ops_for(200, 40)
    monkeypatch.setenv("CASETERM_SYNC_PUSH_BATCH", "50")  # a batch commits as one: many batches, many moments
    counting = Counting(server)
    killed_at: list[int] = []

    def crash_and_come_back() -> None:
        wait_for(lambda: counting.answered() >= 50, what="the first batch to be applied")
        killed_at.append(counting.answered())
        kill_server(server)
        server.start()

    crasher = threading.Thread(target=crash_and_come_back)
    crasher.start()
    try:
        report = client.sync(jdoe, attempts=8, backoff=0.2)  # the server takes a second or two to come back
    finally:
        crasher.join(60)
        counting.close()

    assert killed_at and 50 <= killed_at[0] < total  # it died after the first batch, before the last
    assert (report.pushed, report.applied, report.rejected) == (total, total, 0)
    assert outbox(jdoe) == Counter({"applied": total})
    assert answered_on_server(server, device_of(jdoe)) == total
    assert ledger(server, set(numbers)) == {n: (2, 3, 1) if i < 40 else (1, 2, 3) for i, n in enumerate(numbers)}
    client.sync(boss)
    assert store_picture(jdoe) == store_picture(boss) == server_picture(server)


def test_a_server_that_is_down_is_reported_and_the_next_sync_after_it_is_back_completes(server, desk):
    jdoe, _ = desk
    make_work(jdoe, "jdoe", 3)
    server.stop()
    try:
        with pytest.raises(client.SyncError) as failed:
            client.sync(jdoe, attempts=2, backoff=0.01)
    finally:
        server.start()
    message = str(failed.value)
    assert message.startswith(f"the server at {server.url} cannot be reached")
    assert "tried 2 times" in message and "changes are kept" in message
    assert outbox(jdoe) == Counter({"pending": ops_for(3)})
    assert client.sync(jdoe).applied == ops_for(3)
    assert store_picture(jdoe) == server_picture(server)


# --- a server that answers 500, hangs, or is not caseterm's ------------------------------------


def test_a_server_answering_500_is_retried_with_growing_delays_then_reported_and_nothing_is_lost(server, proxied):
    proxy, store = proxied
    make_work(store, "jdoe", 5)
    before = store_picture(store)
    proxy.mode = "error"
    sleeps = Recorder()

    with pytest.raises(client.SyncError) as failed:
        client.sync(store, attempts=5, backoff=0.1, sleep=sleeps)

    message = str(failed.value)
    assert "had a problem (500: the database is not answering)" in message
    assert "tried 5 times" in message and "Your changes are kept in this store" in message
    assert proxy.sync_requests() == [("POST", PUSH)] * 5
    assert len(sleeps.waits) == 4
    assert all(later > earlier for earlier, later in zip(sleeps.waits, sleeps.waits[1:]))  # growing
    assert 0.075 <= sleeps.waits[0] <= 0.125 and 0.6 <= sleeps.waits[-1] <= 1.0  # ~0.1 s doubling, with jitter
    assert outbox(store) == Counter({"pending": ops_for(5)}) and store_picture(store) == before

    proxy.mode = "forward"
    report = client.sync(store)
    assert report.applied == ops_for(5) and outbox(store) == Counter({"applied": ops_for(5)})
    assert store_picture(store) == server_picture(server)


def test_a_server_that_hangs_times_out_and_says_so(server, proxied):
    proxy, store = proxied
    make_work(store, "jdoe", 2)
    proxy.mode = "hang"  # the connection is accepted, the request read, no answer ever comes

    started = time.monotonic()
    with pytest.raises(client.SyncError) as failed:
        client.sync(store, timeout=0.3, attempts=3, backoff=0.05)
    took = time.monotonic() - started

    message = str(failed.value)
    assert message.startswith(f"the server at {proxy.url} did not answer within 0.3 s; tried 3 times")
    assert message.endswith("Your changes are kept in this store and go with the next sync")
    assert proxy.sync_requests() == [("POST", PUSH)] * 3
    assert 0.9 <= took < 10  # it waited out each try, and gave up instead of hanging
    assert outbox(store) == Counter({"pending": ops_for(2)})

    proxy.mode = "forward"
    assert client.sync(store).applied == ops_for(2)
    assert store_picture(store) == server_picture(server)


def test_caseterm_sync_against_a_hung_server_exits_with_a_message_and_keeps_the_changes(server, proxied):
    proxy, store = proxied
    make_work(store, "jdoe", 2)
    proxy.mode = "hang"
    env = dict(os.environ, CASETERM_SYNC_TIMEOUT="0.3", CASETERM_SYNC_ATTEMPTS="2", CASETERM_SYNC_BACKOFF="0.05")

    done = subprocess.run([sys.executable, "-m", "caseterm", "--db", str(store.path), "sync"],
                          capture_output=True, text=True, env=env, timeout=60)

    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: the server at {proxy.url} did not answer within 0.3 s; tried 2 times")
    assert "Traceback" not in done.stderr
    assert outbox(store) == Counter({"pending": ops_for(2)})


def test_something_else_answering_at_the_address_is_named_not_taken_for_sync_data(server, proxied):
    proxy, store = proxied
    make_work(store, "jdoe", 1)
    proxy.mode = "portal"
    with pytest.raises(client.SyncError) as failed:
        client.sync(store, backoff=0.01)
    assert f"what answers at {proxy.url} is not a caseterm server" in str(failed.value)
    assert proxy.sync_requests() == [("POST", PUSH)]  # not retried: retrying would not help
    assert outbox(store) == Counter({"pending": ops_for(1)})


def test_a_pull_answered_with_an_error_keeps_what_was_pulled_and_the_next_sync_goes_on(server, desk, monkeypatch):
    jdoe, boss = desk
    make_work(jdoe, "jdoe", 60)
    client.sync(jdoe)
    monkeypatch.setenv("CASETERM_SYNC_PULL_PAGE", "20")

    class FailAfterTwoPages(Forward):
        def before(self, request):
            if request.url.path == PULL and self.sent.count(PULL) > 2:
                raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(client.SyncError):
        client.sync(boss, transport=FailAfterTwoPages(), attempts=2, backoff=0.01)
    with boss.uow() as uow:
        cursor = uow.session.get(m.SyncState, 1).pull_cursor
        held = uow.session.exec(select(func.count()).select_from(m.Case)).one()
    assert cursor > 0 and 0 < held < 60  # two pages kept, with their cursor

    transport = Forward()
    report = client.sync(boss, transport=transport)
    assert transport.cursors[0] == cursor  # it went on from the cursor, not from the start
    assert report.skipped == [] and store_picture(boss) == store_picture(jdoe) == server_picture(server)
    assert len(store_picture(boss)) == 60

"""A real case server for tests: ``caseterm serve`` in its own process on a free port of
127.0.0.1, over a database of the test's own (SQLite in tmp_path, or PostgreSQL when
CASETERM_TEST_PG_URL is set and the test asks for it), and clients that log in to it.
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    url: str
    database_url: str
    log: Path
    process: subprocess.Popen | None = None
    port: int = 0
    workers: int = 1
    env: dict = field(default_factory=dict)

    def start(self) -> None:
        args = [sys.executable, "-m", "caseterm", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--workers", str(self.workers), "--database-url", self.database_url]
        out = open(self.log, "ab")
        self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                        start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def db(self):
        """The server's database, opened in this process (to add agents, issue tokens, look)."""
        from caseterm.server.db import ServerDatabase

        return ServerDatabase.open(self.database_url)

    def add_agent(self, login: str, role: str, queues: list[str] = ()) -> str:
        """The agent (made or updated) and a fresh token for them."""
        from caseterm.server import accounts

        db = self.db()
        try:
            with db.uow() as uow:
                accounts.add_agent(uow, login, role, queues=list(queues))
            with db.uow() as uow:
                return accounts.issue_token(uow, login).token
        finally:
            db.close()


def start_server(tmp_path: Path, database_url: str | None = None, workers: int = 1) -> RunningServer:
    port = free_port()
    url = database_url or f"sqlite:///{tmp_path / 'server.sqlite'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASETERM_") or k == "CASETERM_TEST_PG_URL"}
    server = RunningServer(f"http://127.0.0.1:{port}", url, tmp_path / "server.log", port=port, workers=workers,
                           env=env)
    server.start()
    return server


def client_store(tmp_path: Path, name: str, server: RunningServer, token: str):
    """A new store at tmp_path/name.sqlite, logged in to ``server`` with ``token``."""
    from caseterm.store.uow import LocalStore
    from caseterm.sync import client

    store = LocalStore.open(tmp_path / f"{name}.sqlite")
    client.login(store, server.url, token, name)
    return store


def case_picture(session, numbers: set[str] | None = None) -> dict[str, tuple]:
    """What a person sees of each case the database holds (or of ``numbers``): title,
    state, status, priority, queue, owner and the timeline. Stores and the server agree
    when their pictures are equal."""
    from sqlmodel import select

    from caseterm.store import models as m

    query = select(m.Case) if numbers is None else select(m.Case).where(m.Case.number.in_(numbers))
    out = {}
    for case in session.exec(query):
        queue = session.get(m.Queue, case.queue_id).name if case.queue_id else None
        owner = session.get(m.Agent, case.owner_id).login if case.owner_id else None
        timeline = tuple(sorted((a.kind, a.body) for a in session.exec(
            select(m.Activity).where(m.Activity.case_id == case.id))))
        out[case.number] = (case.title, case.state, case.status_reason, case.priority, queue, owner, timeline)
    return out


@contextmanager
def on_server(server: RunningServer):
    """A session on the server's database (opened in this process, to look)."""
    db = server.db()
    try:
        with db.uow() as uow:
            yield uow.session
    finally:
        db.close()

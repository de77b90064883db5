"""Sync over loopback: push and pull throughput, fifty clients at once, a first full pull.

Targets:

  push   ≥ 2,000 ops/s    one client pushes 10,000 outbox ops (client.push, batches of 500)
  pull   ≥ 2,000 rows/s   a second client pulls those 10,000 rows (client.pull, pages of 1,000)
  many   p95 ≤ 300 ms, 0 errors
                          50 clients (processes), in 5 queues of 10, each syncing a 20-op batch
                          at the same moment (a barrier), ``--rounds`` times, against
                          ``caseterm serve --workers 2``; the round trip is client.sync (push
                          then pull) as the person waits for it; the push alone is shown too
  full   ≤ 60 s           a supervisor's first full pull of a server holding 100,000 cases

Every part runs a real ``caseterm serve`` process on 127.0.0.1 over SQLite in a fresh
folder of ``$CASETERM_BENCH_DIR``; clients are real stores logged in to it (credentials
in a config folder of the run's own). Ops are made offline through the services: per
case the case, its "created" entry and a note (3 ops).

The 100,000-case server is built from the cached demo store (``_common.seeded_store``,
``caseterm demo --scale 100000``: 100,000 cases, ~192,000 timeline entries, customers,
assets, orders; ~345,000 rows): copied with SQLite's backup API, its outbox emptied, and
one ``server_changes`` row per row of every synced table (``entity, row_id, version``,
in table order), which is what the server's own writes would have logged. Pushing
345,000 ops through the server instead would take as long as the push figure says.

The server puts its SQLite file in WAL mode itself (``server.db``). ``--pg URL`` runs the push/pull and 50-client parts on a new database of that
PostgreSQL server instead (dropped afterwards). The 50-client part prints what the
server itself took per request (its access log; that includes the wait for a free
thread and for SQLite's write lock) and the CPU time a sync costs the
client and the server: every process here shares this machine's two cores, so a burst
of 50 syncs cannot end before 50 x (client + server CPU per sync) / 2. ``--every S``
spreads the syncs out instead (each client every S seconds, from a random moment): the
latency a person sees on a desk whose workstations sync on their own timers. Prints
figures; asserts nothing.

    .venv/bin/python tests/bench/bench_sync.py                       # all parts
    .venv/bin/python tests/bench/bench_sync.py --part push --reps 3  # push and pull only
    .venv/bin/python tests/bench/bench_sync.py --part many --rounds 5
    .venv/bin/python tests/bench/bench_sync.py --part many --rounds 6 --every 10   # spread out, not a burst
    .venv/bin/python tests/bench/bench_sync.py --part full --cases 100000
    .venv/bin/python tests/bench/bench_sync.py --part many --workers 1   # one server process, for comparison
    .venv/bin/python tests/bench/bench_sync.py --part many --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
from pathlib import Path

import _common as c

sys.path.insert(0, str(c.ROOT / "tests" / "support"))

TARGET_OPS = 2_000  # ops/s, each way
TARGET_P95_MS = 300
TARGET_FULL_S = 60
CLIENTS = 50
TEAM = 10  # clients per queue
BATCH = 20  # ops per client per round


# --- set-up ------------------------------------------------------------------------------------


def isolate(work: Path) -> None:
    """Credentials, logs and data of this run in its own folders (never the user's)."""
    for key in list(os.environ):
        if key.startswith("CASETERM_"):
            del os.environ[key]
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        os.environ[f"XDG_{name}_HOME"] = str(work / name.lower())


def start_server(work: Path, *, workers: int = 1, pg: str | None = None):
    """``caseterm serve`` over a new SQLite file in ``work`` (or, with ``pg``, a new
    database on that PostgreSQL server, dropped by :func:`stop_server`)."""
    from server_support import RunningServer, free_port

    if pg:
        url = new_pg_database(pg)
    else:
        url = f"sqlite:///{work / 'server.sqlite'}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASETERM_")}
    server = RunningServer(f"http://127.0.0.1:{port}", url, work / "server.log", port=port, workers=workers, env=env)
    server.start()
    return server


def _pg_admin(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def new_pg_database(url: str) -> str:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"caseterm_bench_{os.getpid()}_{int(time.time())}"
    engine = _pg_admin(url)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def stop_server(server, pg: str | None) -> None:
    server.stop()
    if pg:
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        engine = _pg_admin(pg)
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(server.database_url).database}" WITH (FORCE)'))
        engine.dispose()


def journal_mode(server) -> str:
    if not server.database_url.startswith("sqlite"):
        return "postgresql"
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as conn:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]


def add_agents(server, specs: list[tuple[str, str, list[str]]]) -> dict[str, str]:
    """Agents (login, role, queues) made in one go; their tokens."""
    from caseterm.server import accounts

    db = server.db()
    try:
        with db.uow() as uow:
            for login, role, queues in specs:
                accounts.add_agent(uow, login, role, queues=queues)
        with db.uow() as uow:
            return {login: accounts.issue_token(uow, login).token for login, _, _ in specs}
    finally:
        db.close()


def make_ops(store, login: str, queue: str, cases: int, *, tag: str = "Bench", notes: int = 0) -> None:
    """Offline work: a customer, ``cases`` cases (each with its 'created' entry and a note),
    ``notes`` extra notes on the first case."""
    from caseterm.services import cases as case_service, customers
    from caseterm.services.lookup import agent_by_login, queue_by_name

    with store.uow() as uow:
        me = agent_by_login(uow, login)
        who = customers.create_customer(uow, me, name=f"{tag} {login}", email=f"{login}.{tag.lower()}@example.org")
        where = queue_by_name(uow, queue)
        first = None
        for i in range(cases):
            made = case_service.create_case(uow, me, customer=who, title=f"{tag} {i}: kettle leaks", queue=where)
            case_service.add_activity(uow, me, made, kind="note", body=f"Photo {i} received")
            first = first or made
        for i in range(notes):
            case_service.add_activity(uow, me, first, kind="note", body=f"Called back ({i})")


def pending(store) -> int:
    from caseterm.sync import client

    return client.status(store)["pending"]


def device_of(store) -> str:
    from caseterm.store import models as m

    with store.uow() as uow:
        return str(uow.session.get(m.SyncState, 1).device_id)


# --- push and pull ----------------------------------------------------------------------------


def part_throughput(args) -> None:
    from server_support import client_store

    from caseterm.sync import client

    print(f"\n-- push {args.ops:,} ops, then pull them, over loopback ({args.reps} run(s); fresh server each)")
    cases = (args.ops - 1) // 3
    pushes, pulls = [], []
    for rep in range(1, args.reps + 1):
        work = Path(tempfile.mkdtemp(prefix="sync-", dir=c.bench_dir()))
        isolate(work)
        server = start_server(work, pg=args.pg)
        try:
            tokens = add_agents(server, [("pusher", "agent", ["Bench"]), ("puller", "supervisor", ["Bench"])])
            pusher = client_store(work, "pusher", server, tokens["pusher"])
            client.sync(pusher)
            started = time.perf_counter()
            make_ops(pusher, "pusher", "Bench", cases, notes=args.ops - 1 - 3 * cases)
            made = time.perf_counter() - started
            n = pending(pusher)
            url, token = client.token_for(device_of(pusher))
            conn = client.Connection(url, token)
            report = client.SyncReport()
            started = time.perf_counter()
            client.push(pusher, conn, device_of(pusher), report)
            push_s = time.perf_counter() - started
            conn.close()
            assert report.applied == n, report

            puller = client_store(work, "puller", server, tokens["puller"])
            url, token = client.token_for(device_of(puller))
            conn = client.Connection(url, token)
            report = client.SyncReport()
            started = time.perf_counter()
            client.pull(puller, conn, report)
            pull_s = time.perf_counter() - started
            conn.close()
            pushes.append(n / push_s)
            pulls.append(report.pulled / pull_s)
            print(f"  run {rep}: made {n:,} ops offline in {made:.1f} s; push {push_s:6.2f} s = {n / push_s:7,.0f} ops/s;"
                  f" pull {report.pulled:,} rows {pull_s:6.2f} s = {report.pulled / pull_s:7,.0f} rows/s"
                  f"  (server journal: {journal_mode(server)})", flush=True)
            for store in (pusher, puller):
                store.close()
        finally:
            stop_server(server, args.pg)
            shutil.rmtree(work, ignore_errors=True)
    for name, rates in (("push", pushes), ("pull", pulls)):
        med = c.median(rates)
        print(f"{name}  median {med:8,.0f} /s  (min {min(rates):,.0f}, max {max(rates):,.0f})  target {TARGET_OPS:,} "
              f"-> ratio {med / TARGET_OPS:.2f}x ({'meets' if med >= TARGET_OPS else 'MISSES'})")


# --- fifty clients at once ---------------------------------------------------------------------


def _client_process(path: str, login: str, queue: str, rounds: int, barrier, results, every: float = 0.0) -> None:
    """One client: per round, 20 ops made offline, then a sync, timed: with everyone at
    once (a barrier), or with ``every`` > 0, every ``every`` seconds from a random moment
    of the first period (the clients' syncs spread out, as a desk's do)."""
    import random

    from caseterm.store.uow import LocalStore
    from caseterm.sync import client

    store = LocalStore.open(path)
    if every:
        barrier.wait()
        start = time.monotonic() + random.Random(login).uniform(0, every)
    for r in range(rounds):
        make_ops(store, login, queue, (BATCH - 2) // 3, tag=f"R{r}", notes=BATCH - 1 - 3 * ((BATCH - 2) // 3))
        marks: dict[str, float] = {}

        def progress(phase: str, done: int, total, marks=marks) -> None:
            marks.setdefault(phase, time.perf_counter())

        if every:
            time.sleep(max(0.0, start + r * every - time.monotonic()))
        else:
            barrier.wait()
        started, cpu = time.perf_counter(), time.process_time()
        error = None
        try:
            report = client.sync(store, progress=progress)
            if report.applied != BATCH or report.skipped:
                error = f"applied {report.applied} of {BATCH}, skipped {report.skipped[:2]}"
        except Exception as exc:  # noqa: BLE001 - counted and shown
            error = f"{type(exc).__name__}: {exc}"
        ended, cpu = time.perf_counter(), time.process_time() - cpu
        results.put((r, login, (ended - started) * 1000, (marks.get("push", ended) - started) * 1000, error,
                     cpu * 1000))
    store.close()


def part_many(args) -> None:
    from server_support import client_store

    from caseterm.sync import client

    how = f"each syncing every {args.every:g} s" if args.every else "at once"
    print(f"\n-- {CLIENTS} clients {how}, {BATCH}-op batches, {args.rounds} rounds, server --workers {args.workers}")
    work = Path(tempfile.mkdtemp(prefix="sync-many-", dir=c.bench_dir()))
    isolate(work)
    server = start_server(work, workers=args.workers, pg=args.pg)
    try:
        logins = [(f"agent{i:02d}", f"Team {i // TEAM}") for i in range(CLIENTS)]
        tokens = add_agents(server, [(login, "agent", [queue]) for login, queue in logins])
        paths = []
        for login, _ in logins:
            store = client_store(work, login, server, tokens[login])
            client.sync(store)
            store.close()
            paths.append(str(store.path))
        ctx = multiprocessing.get_context("fork")
        barrier, results = ctx.Barrier(CLIENTS), ctx.Queue()
        procs = [ctx.Process(target=_client_process, args=(path, login, queue, args.rounds, barrier, results, args.every))
                 for path, (login, queue) in zip(paths, logins)]
        server_cpu = cpu_seconds(server.process.pid)
        for proc in procs:
            proc.start()
        samples = [results.get(timeout=600) for _ in range(CLIENTS * args.rounds)]
        server_cpu = cpu_seconds(server.process.pid) - server_cpu
        for proc in procs:
            proc.join(60)
    finally:
        stop_server(server, args.pg)
    rounds = [s for s in samples if s[0] > 0] or samples  # round 0 warms the server's caches and connections
    syncs = [s[2] for s in rounds]
    pushes = [s[3] for s in rounds]
    errors = [s for s in samples if s[4]]
    for r in range(args.rounds):
        one = [s[2] for s in samples if s[0] == r]
        print(f"  round {r}: sync p50 {c.median(one):7.1f} ms  p95 {c.percentile(one, 95):7.1f} ms  "
              f"max {max(one):7.1f} ms  errors {sum(1 for s in samples if s[0] == r and s[4])}", flush=True)
    p50, p95 = c.summary(syncs)
    verdict = (f"target p95 ≤ {TARGET_P95_MS} ms -> ratio {p95 / TARGET_P95_MS:.2f} "
               f"({'meets' if p95 <= TARGET_P95_MS else 'MISSES'})") if not args.every else \
        "(spread out: not the target's all-at-once burst)"
    print(f"sync round trip (push {BATCH} + pull), rounds 1..: p50 {p50:.1f} ms  p95 {p95:.1f} ms  {verdict}")
    p50, p95 = c.summary(pushes)
    print(f"push alone:                                 p50 {p50:.1f} ms  p95 {p95:.1f} ms")
    print(f"errors: {len(errors)} of {len(samples)} syncs (target 0)")
    # Where the time goes: everything here shares this machine's cores, so a burst of syncs
    # cannot end sooner than (client CPU + server CPU per sync) x syncs / cores.
    client_cpu = c.median([s[5] for s in samples])
    per_sync = server_cpu * 1000 / len(samples)
    floor = (client_cpu + per_sync) * CLIENTS / (os.cpu_count() or 1)
    print(f"CPU per sync: client {client_cpu:.1f} ms (median), server {per_sync:.1f} ms (all its processes, "
          f"averaged)" + ("" if args.every else
                          f"; a burst of {CLIENTS} on {os.cpu_count()} cores needs at least {floor:.0f} ms"))
    for sample in errors[:5]:
        print(f"  {sample[1]} round {sample[0]}: {sample[4]}")
    server_times(work / "server.log")
    shutil.rmtree(work, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children (the server's workers) so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def server_times(log: Path) -> None:
    """What the server itself took per request (its access log's ``ms``): the rest of a
    round trip is waiting for a worker, the network, and the client."""
    import json

    from collections import Counter

    by_path: dict[str, list[float]] = {}
    statuses: dict[str, Counter] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and '"ms"' in line:
            entry = json.loads(line)
            by_path.setdefault(entry.get("path", "?"), []).append(entry["ms"])
            statuses.setdefault(entry.get("path", "?"), Counter())[entry.get("status")] += 1
    for path in ("/api/v1/sync/push", "/api/v1/sync/pull"):
        times = by_path.get(path)
        if times:
            p50, p95 = c.summary(times)
            print(f"server time {path}: {len(times)} requests {dict(statuses[path])}, p50 {p50:.1f} ms, "
                  f"p95 {p95:.1f} ms, sum {sum(times) / 1000:.1f} s")


# --- the first full pull of 100,000 cases --------------------------------------------------------


def build_server_db(demo: Path, target: Path) -> dict[str, int]:
    """The demo store as a server database: rows copied, outbox emptied, one server_changes
    row per synced row (in table order). Returns rows per table."""
    from caseterm.store.models import SYNCED_TABLES

    src = sqlite3.connect(demo)
    dst = sqlite3.connect(target)
    src.backup(dst)
    src.close()
    counts = {}
    with dst:
        dst.execute("DELETE FROM outbox")
        dst.execute("DELETE FROM server_changes")
        for model in SYNCED_TABLES:
            table = model.__tablename__
            cur = dst.execute(f"INSERT INTO server_changes (entity, row_id, version, fields, changed_at) "  # noqa: S608
                              f"SELECT ?, id, version, '', updated_at FROM {table} ORDER BY rowid", (table,))
            counts[table] = cur.rowcount
    dst.close()
    return counts


def part_full(args) -> None:
    from server_support import client_store

    from caseterm.sync import client

    print(f"\n-- a supervisor's first full pull of {args.cases:,} cases (pages of {args.page:,})")
    demo = c.seeded_store(args.cases)
    work = Path(tempfile.mkdtemp(prefix="sync-full-", dir=c.bench_dir()))
    isolate(work)
    started = time.perf_counter()
    counts = build_server_db(demo, work / "server.sqlite")
    print(f"server database built in {time.perf_counter() - started:.1f} s: {sum(counts.values()):,} rows "
          f"({counts['cases']:,} cases, {counts['activities']:,} timeline entries, {counts['customers']:,} customers)")
    os.environ["CASETERM_SYNC_PULL_PAGE"] = str(args.page)
    server = start_server(work)
    try:
        tokens = add_agents(server, [("fullpull", "supervisor", [])])
        times = []
        for rep in range(1, args.reps + 1):
            store = client_store(work, f"fullpull{rep}", server, tokens["fullpull"])
            started = time.perf_counter()
            report = client.sync(store)
            took = time.perf_counter() - started
            times.append(took)
            print(f"  run {rep}: {report.pulled:,} rows in {took:.1f} s = {report.pulled / took:,.0f} rows/s; "
                  f"skipped {len(report.skipped)}; store {store.path.stat().st_size / 2**20:.0f} MiB", flush=True)
            store.close()
    finally:
        server.stop()
        del os.environ["CASETERM_SYNC_PULL_PAGE"]
        shutil.rmtree(work, ignore_errors=True)
    med = c.median(times)
    print(f"first full pull: median {med:.1f} s  target ≤ {TARGET_FULL_S} s -> ratio {med / TARGET_FULL_S:.2f} "
          f"({'meets' if med <= TARGET_FULL_S else 'MISSES'})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("push", "many", "full", "all"), default="all")
    p.add_argument("--ops", type=int, default=10_000, help="ops pushed and rows pulled (default 10,000)")
    p.add_argument("--reps", type=int, default=1, help="runs of the push/pull and full-pull parts (default 1)")
    p.add_argument("--rounds", type=int, default=5, help="rounds of the 50-client part (default 5; round 0 warms up)")
    p.add_argument("--cases", type=int, default=100_000, help="cases on the server for the full pull (default 100,000)")
    p.add_argument("--page", type=int, default=1000, help="rows per pull page for the full pull (default 1,000)")
    p.add_argument("--every", type=float, default=0.0, metavar="SECONDS",
                   help="50-client part: each client syncs every SECONDS from a random moment, instead of all at "
                        "once (default: all at once)")
    p.add_argument("--workers", type=int, default=2, help="server processes for the 50-client part (default 2)")
    p.add_argument("--pg", metavar="URL", help="push/pull and 50-client parts on a new database on this PostgreSQL "
                                               "server instead (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    args = p.parse_args()
    c.header(f"bench_sync: part {args.part}"
             + (" (server on PostgreSQL)" if args.pg else ""))
    try:
        if args.part in ("push", "all"):
            part_throughput(args)
        if args.part in ("many", "all"):
            part_many(args)
        if args.part in ("full", "all"):
            part_full(args)
    except Exception:
        traceback.print_exc()
        sys.exit(1)
    c.footer()


if __name__ == "__main__":
    main()

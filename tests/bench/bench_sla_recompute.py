"""Recomputing the SLA deadlines of every open case after a calendar change
(services.sla_recompute.recompute), whole run.

Target (service operations): recomputing SLA states for 1,000,000 open cases (e.g. after a
calendar change) ≤ 30 s, with a progress bar.

The store (``$CASETERM_BENCH_DIR/sla-<N>.sqlite``, built once with the bulk loader and
reused) holds N open cases with an SLA policy each, created over the 60 days before the
clock (2026-11-25 09:00 UTC) and written in that order, as a store's cases are; with
``--shuffled`` (a store of its own) the creation times lie in random order along the table,
the worst case for the locality of the deadline index (about a third slower). Priorities
as in the demo, half of the cases answered, a fifth with paused time behind them, some
waiting right now, titles and descriptions from the demo's templates. The operations file
has three calendars (Stockholm office hours with holidays, New York hours with
Thanksgiving, Stockholm extended hours) and three policies. One untimed run sets every
case's deadlines under version A of the calendars (and the flags the SLA sweep would have
set by then); then each timed run applies the other version (B, A, B, …: other hours and
holidays, so about 91% of the rows change) and times ``recompute`` on it, whole: reading,
computing, writing and committing, with a progress bar on stderr.
Prints figures; asserts nothing.

    .venv/bin/python tests/bench/bench_sla_recompute.py                  # 1,000,000 cases, 3 runs
    .venv/bin/python tests/bench/bench_sla_recompute.py --cases 100000 --runs 1
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import _common as c

from caseterm.datafiles import data_dir

TARGET_S = 30.0
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
DAYS = 60
DEVICE = "SLAB"  # marks a store built by this script

TARGETS = ('targets = {{ 1 = {{ first_response = "{a}", resolve = "8h" }}, 2 = {{ first_response = "2h", resolve = "16h" }}, '
           '3 = {{ first_response = "4h", resolve = "{b}" }}, 4 = {{ first_response = "8h", resolve = "80h" }} }}')


def ops_text(version: str) -> str:
    """The operations file, version A or B (different hours and holidays, same names)."""
    b = version == "B"
    office = '["07:30-11:30", "12:30-16:30"]' if b else '["08:00-12:00", "13:00-17:00"]'
    office_holidays = '["2026-11-06", "2026-12-24", "2026-12-25", "2026-12-31"]' if b else '["2026-12-24", "2026-12-25"]'
    us = '{ mon-fri = ["08:00-18:00"] }' if b else '{ mon-fri = ["09:00-17:00"], sat = ["10:00-14:00"] }'
    extended = '{ mon-sun = ["07:00-22:00"] }' if b else '{ mon-sat = ["06:00-23:00"] }'
    return f'''
[[calendar]]
name = "office"
time_zone = "Europe/Stockholm"
hours = {{ mon-fri = {office} }}
holidays = {office_holidays}

[[calendar]]
name = "us"
time_zone = "America/New_York"
hours = {us}
holidays = ["2026-11-26", "2026-12-25"]

[[calendar]]
name = "extended"
time_zone = "Europe/Stockholm"
hours = {extended}

[[sla]]
name = "premium"
calendar = "extended"
when = {{ customer_tier = "gold" }}
warn_at = 0.5
{TARGETS.format(a="30m", b="24h")}

[[sla]]
name = "us"
calendar = "us"
when = {{ origin = "email" }}
{TARGETS.format(a="1h", b="40h")}

[[sla]]
name = "standard"
calendar = "office"
{TARGETS.format(a="1h", b="40h")}
'''


# --- the store ---------------------------------------------------------------------------------


def store_path(cases: int, shuffled: bool = False) -> Path:
    return c.bench_dir() / f"sla-{cases}{'-shuffled' if shuffled else ''}.sqlite"


def store_problem(path: Path, cases: int) -> str | None:
    from caseterm.store.schema import HEAD_REVISION
    from caseterm.store.sqlite import current_revision

    if not path.exists():
        return "missing"
    try:
        conn = sqlite3.connect(path)
        try:
            if current_revision(conn) != HEAD_REVISION:
                return f"schema revision {current_revision(conn)}, want {HEAD_REVISION}"
            if conn.execute("SELECT device_code FROM sync_state").fetchone() != (DEVICE,):
                return "not built by this script"
            have = conn.execute("SELECT count(*) FROM cases WHERE state = 'active' AND deleted = 0").fetchone()[0]
            if have != cases:
                return f"{have:,} open cases, want {cases:,}"
            if conn.execute("SELECT count(*) FROM cases WHERE resolve_due_at IS NULL").fetchone()[0]:
                return "deadlines never computed (an interrupted build)"
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"unreadable ({exc})"
    return None


def build(path: Path, cases: int, shuffled: bool = False) -> None:
    """``shuffled``: creation times in random order along the table, not in time order as a
    store's cases are written (the worst case for the deadline index's locality)."""
    from caseterm.store.bulk import BulkLoader

    c.remove_store(path)
    rng = random.Random(11)
    rand = rng.random
    templates = [t for group in json.loads((data_dir() / "case_templates.json").read_text(encoding="utf-8")).values()
                 for t in group]
    stamp = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    now_ts = int(NOW.timestamp())

    def fmt(ts: float) -> str:
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")

    started = time.perf_counter()
    with BulkLoader(path, ("customers", "cases"), page_size=8192) as bulk:
        bulk.execute("UPDATE sync_state SET device_code = ?", [DEVICE])
        customers = [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(5000)]
        bulk.insert("customers", ("id", "version", "created_at", "updated_at", "deleted", "kind", "name", "tier"),
                    [(cid, 0, stamp, stamp, 0, "person", f"Customer {i}", "gold" if i % 10 == 0 else "standard")
                     for i, cid in enumerate(customers)])
        columns = ("id", "version", "created_at", "updated_at", "deleted", "number", "title", "description",
                   "customer_id", "origin", "case_type", "priority", "state", "status_reason", "sla_policy",
                   "first_response_at", "sla_paused_seconds", "sla_paused_at", "sla_warned", "sla_breached",
                   "escalated", "reopen_count")
        created_at = [now_ts - DAYS * 86_400 + rand() * DAYS * 86_400 for _ in range(cases)]
        if not shuffled:
            created_at.sort()
        written = 0
        while written < cases:
            rows = []
            for i in range(written, min(cases, written + 20_000)):
                created = created_at[i]
                t = templates[int(rand() * len(templates))]
                roll = rand()
                policy, origin = (("premium", "phone") if roll < 0.15 else ("us", "email") if roll < 0.4
                                  else ("standard", "phone"))
                roll = rand()
                priority = 1 if roll < 0.04 else 2 if roll < 0.22 else 3 if roll < 0.8 else 4
                answered = fmt(min(now_ts - 1, created + rand() * 12 * 3600)) if rand() < 0.5 else None
                status = "waiting_for_customer" if rand() < 0.12 else "in_progress" if answered else "new"
                paused = int(rand() * 16 * 3600) if rand() < 0.2 else 0
                paused_at = fmt(max(created, now_ts - rand() * 5 * 86_400)) if status == "waiting_for_customer" else None
                rows.append((uuid.UUID(int=rng.getrandbits(128)).hex, 0, fmt(created), fmt(created), 0,
                             f"CAS-{DEVICE}-{i + 1:07d}", t["title"].replace("{product}", "kettle"), t["description"],
                             customers[int(rand() * len(customers))], origin, t["type"], priority, "active", status,
                             policy, answered, paused, paused_at, 0, 0, 0, 0))
            bulk.insert("cases", columns, rows)
            written += len(rows)
            print(f"\r  {written:,} cases written", end="", flush=True)
        bulk.execute("INSERT OR REPLACE INTO number_sequences (prefix, next_value) VALUES ('CAS', ?)", [cases + 1])
        print("; indexing", flush=True)
        bulk.finish()
    print(f"  loaded in {time.perf_counter() - started:.1f} s")


def open_store(path: Path, clock):
    from caseterm.store.uow import LocalStore

    return LocalStore.open(path, clock=clock)


def apply(store, clock, version: str) -> None:
    from caseterm.services import ops

    clock.advance(seconds=1)  # the operations cache notices changes by their latest updated_at
    report = ops.apply_text(store.uow, "admin", ops_text(version))
    assert report.applied, report
    with store.engine.begin() as conn:  # like the demo's: set-up, not local work to sync
        conn.exec_driver_sql("DELETE FROM outbox")


def current_version(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        hours = conn.execute("SELECT hours FROM business_calendars WHERE name = 'office' AND deleted = 0").fetchone()
    finally:
        conn.close()
    return "B" if hours and "07:30" in hours[0] else "A"


def prepared_store(cases: int, clock, rebuild: bool, shuffled: bool) -> Path:
    from caseterm.services.sla_recompute import recompute

    path = store_path(cases, shuffled)
    problem = "--rebuild" if rebuild else store_problem(path, cases)
    if problem is None:
        print(f"store: {path} (reused; {path.stat().st_size / 2**30:.2f} GiB)")
        return path
    print(f"store: {path} ({problem}: building it)")
    build(path, cases, shuffled)
    store = open_store(path, clock)
    try:
        apply(store, clock, "A")
        report = recompute(store)
        print(f"  first deadlines under version A: {report.changed:,} cases in {report.seconds:.1f} s")
    finally:
        store.close()
    conn = sqlite3.connect(path)
    with conn:  # the flags the SLA sweep would have recorded by now (it skips paused clocks)
        now = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
        conn.execute("UPDATE cases SET sla_warned = 1 WHERE sla_paused_at IS NULL AND sla_warn_at <= ?", [now])
        conn.execute("UPDATE cases SET sla_breached = 1 WHERE sla_paused_at IS NULL AND (resolve_due_at <= ? OR "
                     "(first_response_at IS NULL AND first_response_due_at <= ?))", [now, now])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(f"  size {path.stat().st_size / 2**30:.2f} GiB")
    return path


# --- the runs -----------------------------------------------------------------------------------


class Bar:
    """A text progress bar on stderr, as the CLI would show one."""

    def __init__(self) -> None:
        self.calls = 0
        self.last = (0, 0)

    def __call__(self, done: int, total: int) -> None:
        self.calls += 1
        self.last = (done, total)
        width = 40
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
        sys.stderr.flush()

    def end(self) -> None:
        sys.stderr.write("\r" + " " * 78 + "\r")
        sys.stderr.flush()


def main() -> None:
    from caseterm.clock import FixedClock
    from caseterm.services.sla_recompute import recompute

    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="timed runs, alternating calendar versions (default 3)")
    p.add_argument("--shuffled", action="store_true",
                   help="a store whose cases were not written in time order (creation times shuffled along the "
                        "table): the worst case for the deadline index; a store of its own")
    args = p.parse_args()
    n = args.cases
    c.header(f"bench_sla_recompute: {n:,} open cases, {args.runs} run(s)"
             + (", creation times shuffled along the table" if args.shuffled else ""))
    clock = FixedClock(NOW)
    path = prepared_store(n, clock, args.rebuild, args.shuffled)
    # each run: the other calendar version, then recompute (only the recompute is timed)
    version = current_version(path)
    walls, reports = [], []
    for run in range(1, args.runs + 1):
        version = "B" if version == "A" else "A"
        store = open_store(path, clock)
        try:
            apply(store, clock, version)
            bar = Bar()
            started = time.perf_counter()
            report = recompute(store, progress=bar)
            wall = time.perf_counter() - started
            bar.end()
        finally:
            store.close()
        walls.append(wall)
        reports.append(report)
        print(f"  run {run} (to version {version}): {wall:6.2f} s   examined {report.examined:,}, changed "
              f"{report.changed:,}, unchanged {report.unchanged:,}, warnings cleared {report.cleared_warning:,}, "
              f"breaches cleared {report.cleared_breach:,}, orphaned {report.orphaned:,}; "
              f"{bar.calls} progress calls, last {bar.last[0]:,}/{bar.last[1]:,}", flush=True)
    med = c.median(walls)
    print()
    print(f"median {med:7.2f} s   (min {min(walls):.2f}, max {max(walls):.2f}) for {n:,} open cases "
          f"({n / med:,.0f} cases/s); rows changed per run: {', '.join(f'{r.changed:,}' for r in reports)}")
    scaled = med * 1_000_000 / n
    print(f"target {TARGET_S:.0f} s for 1,000,000 -> ratio {scaled / TARGET_S:.2f}"
          + ("" if n == 1_000_000 else f" (scaled linearly from {n:,} cases: {scaled:.1f} s)")
          + f" ({'meets' if scaled <= TARGET_S else 'MISSES'} the target)")
    c.footer()


if __name__ == "__main__":
    main()

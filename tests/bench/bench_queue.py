"""Queue pages, counts, case detail and customer look-ups through ``store.queries``.

Target: a page of 50 at 1,000,000 cases in p95 ≤ 5 ms, for the first page and for a
page deep in the list (keyset ``after``/``before``, never OFFSET). For each view:

  first  the first page of 50                      page_cases(conn, view)
  deep   the page starting ~90% through the view   page_cases(conn, view, after=key)
  back   the page before that one                  page_cases(conn, view, before=key)
  count  the per-status counts                     count_cases(conn, view)

each timed with time.perf_counter over ≥ 200 repetitions (after a short warm-up), on a
connection from store.sqlite.open_store (what the TUI and ``caseterm cases list`` use).
Also case_detail for 200 random case numbers, find_customers for several query kinds,
and EXPLAIN QUERY PLAN of each view's first-page query. Prints figures; asserts nothing.

    .venv/bin/python tests/bench/bench_queue.py                  # 1,000,000 cases
    .venv/bin/python tests/bench/bench_queue.py --cases 100000   # quick look
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import _common as c

from caseterm.domain.enums import CaseState, StatusReason
from caseterm.store import queries
from caseterm.store.queries import CaseView
from caseterm.store.sqlite import open_store

TARGET_MS = 5.0
PAGE = 50
WARMUP = 5


class Recorder:
    """Wraps a connection to capture the SQL (and parameters) the queries run."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.calls: list[tuple[str, list]] = []

    def execute(self, sql, params=()):
        self.calls.append((sql, list(params)))
        return self.conn.execute(sql, params)


def captured(conn, fn: Callable[[Recorder], object]) -> list[tuple[str, list]]:
    rec = Recorder(conn)
    fn(rec)
    return rec.calls


def plan(conn, sql: str, params: list) -> list[str]:
    rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    depth = {0: 0}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, 0) + 1
        lines.append("  " * depth[node] + detail)
    return lines


class Samples(list):
    """Wall milliseconds per call (time.perf_counter); ``cpu`` holds the same calls' CPU
    milliseconds (time.thread_time). Wall far above CPU means the call waited: for the
    CPU (other processes on a busy machine) or for the disk."""

    cpu: list[float]


def measure(fn: Callable[[], object], reps: int = 200, budget_s: float | None = None) -> Samples:
    """``reps`` calls after a warm-up (stops early, after at least 20 calls, once
    ``budget_s`` is spent: only for the slow extras)."""
    for _ in range(WARMUP):
        fn()
    times, cpu = Samples(), []
    spent_from = time.perf_counter()
    for i in range(reps):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        c1 = time.thread_time()
        times.append((t1 - t0) * 1000)
        cpu.append((c1 - c0) * 1000)
        if budget_s is not None and i >= 19 and time.perf_counter() - spent_from > budget_s:
            break
    times.cpu = cpu
    return times


@dataclass
class ViewResult:
    name: str
    view: CaseView
    rows: int = 0
    counted: int = 0
    timings: dict[str, Samples] = field(default_factory=dict)
    sql: dict[str, tuple[str, list]] = field(default_factory=dict)  # first/deep/back: (sql, params)
    notes: list[str] = field(default_factory=list)


def pick(conn, column: str, table: str, label: str) -> tuple[str, str, int]:
    """The queue/owner with most active cases: (id, name, active cases)."""
    return conn.execute(
        f"SELECT c.{column}, t.{label}, count(*) FROM cases AS c JOIN {table} AS t ON t.id = c.{column} "
        f"WHERE c.state = 'active' AND c.deleted = 0 GROUP BY c.{column} ORDER BY 3 DESC LIMIT 1"
    ).fetchone()


def views(conn) -> list[tuple[str, CaseView, bool]]:
    """(label, view, is_extra). The extras are views the CLI offers that the target does not name."""
    qid, qname, _ = pick(conn, "queue_id", "queues", "name")
    aid, login, _ = pick(conn, "owner_id", "agents", "login")
    any_customer = conn.execute(
        "SELECT customer_id FROM cases WHERE deleted = 0 GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    return [
        ("all active", CaseView(), False),
        (f"queue '{qname}' active", CaseView(queue_id=qid), False),
        (f"owner {login} active", CaseView(owner_id=aid), False),
        ("unassigned active", CaseView(unassigned=True), False),
        ("status on_hold", CaseView(state=None, status=StatusReason.ON_HOLD), False),
        ("recently resolved", CaseView(state=CaseState.RESOLVED, sort="resolved"), False),
        ("extra: all states (--status all)", CaseView(state=None), True),
        ("extra: busiest customer, any state", CaseView(state=None, customer_id=any_customer), True),
    ]


def first_page_sql(conn, view: CaseView, **kw) -> tuple[str, list]:
    return captured(conn, lambda rec: queries.page_cases(rec, view, limit=PAGE, **kw))[0]


def view_size(conn, view: CaseView) -> int:
    """The view's rows, counted from ``cases`` (a check on count_cases and the walk)."""
    clauses, params = view.where()
    if view.sort == "resolved":
        clauses.append("c.resolved_at IS NOT NULL")
    return conn.execute(f"SELECT count(*) FROM cases AS c WHERE {' AND '.join(clauses)}", params).fetchone()[0]


def key_before(conn, view: CaseView, position: int) -> tuple:
    """Walk the view with ``after`` keys (pages of 1,000) and return the key of row
    ``position - 1`` (0-based), so the page after it starts at row ``position``."""
    after, seen = None, 0
    while True:
        page = queries.page_cases(conn, view, after=after, limit=1000)
        if seen + len(page.rows) >= position:
            return page.rows[position - 1 - seen].key
        seen += len(page.rows)
        if not page.has_more:
            raise RuntimeError(f"walk ended after {seen} rows, before position {position}")
        after = page.rows[-1].key


def bench_view(conn, name: str, view: CaseView, extra: bool) -> ViewResult:
    res = ViewResult(name, view)
    res.sql["first"] = first_page_sql(conn, view)
    res.rows = view_size(conn, view)
    res.counted = sum(queries.count_cases(conn, view).values())
    if res.counted != res.rows:
        res.notes.append(f"count_cases says {res.counted:,} but the view has {res.rows:,} rows")
    budget = 10.0 if extra else None  # the extras may be slow: cap each measurement at ~10 s
    res.timings["first"] = measure(lambda: queries.page_cases(conn, view, limit=PAGE), budget_s=budget)
    if res.rows > 2 * PAGE and res.timings["first"] and c.median(res.timings["first"]) < 50:
        position = max(PAGE + 1, int(res.rows * 0.9))
        key = key_before(conn, view, position)
        deep = queries.page_cases(conn, view, after=key, limit=PAGE)
        back = queries.page_cases(conn, view, before=deep.rows[0].key, limit=PAGE)
        # checks (not timed): the keyset walk agrees with OFFSET, and back/forward meet
        sql, params = first_page_sql(conn, view)
        offset_sql = sql[: sql.rindex("LIMIT ?")] + "LIMIT 1 OFFSET ?"
        expected = conn.execute(offset_sql, [*params[:-1], position]).fetchone()[0]
        if deep.rows[0].id != expected:
            res.notes.append(f"deep page starts with {deep.rows[0].id}, OFFSET {position} gives {expected}")
        if not back.rows or back.rows[-1].key != key or len(back.rows) != PAGE:
            res.notes.append("the backward page does not end right before the deep page")
        res.notes.append(f"deep page = rows {position + 1:,}–{position + len(deep.rows):,} of {res.rows:,}")
        res.sql["deep"] = first_page_sql(conn, view, after=key)
        res.sql["back"] = first_page_sql(conn, view, before=deep.rows[0].key)
        res.timings["deep"] = measure(lambda: queries.page_cases(conn, view, after=key, limit=PAGE), budget_s=budget)
        first_key = deep.rows[0].key
        res.timings["back"] = measure(lambda: queries.page_cases(conn, view, before=first_key, limit=PAGE),
                                      budget_s=budget)
    elif res.rows > 2 * PAGE:
        res.notes.append("first page too slow to walk the view: deep/back pages not measured")
    res.timings["count"] = measure(lambda: queries.count_cases(conn, view), budget_s=budget)
    return res


def _index_of(lines: list[str]) -> str:
    """The index the plan reads ``cases AS c`` by ('' for none)."""
    for line in lines:
        m = re.match(r"\s*(?:SEARCH|SCAN) c\b.*?USING (?:COVERING )?INDEX (\w+)", line)
        if m:
            return m.group(1)
    return ""


def _flags(lines: list[str]) -> list[str]:
    flags = []
    if any("TEMP B-TREE" in line for line in lines):
        flags.append("TEMP B-TREE: sorts the matching rows instead of reading an index in order")
    if any(re.match(r"\s*SCAN c$", line) for line in lines):
        flags.append("full table scan of cases")
    return flags


def show_plans(conn, results: list[ViewResult]) -> None:
    print("\nEXPLAIN QUERY PLAN, first page of each view (deep/back pages are checked to plan the same way):")
    for res in results:
        lines = plan(conn, *res.sql["first"])
        flags = _flags(lines)
        print(f"- {res.name}" + (f"   <-- {'; '.join(flags)}" if flags else ""))
        for line in lines:
            print(f"    {line}")
        for label in ("deep", "back"):
            if label in res.sql:
                other = plan(conn, *res.sql[label])
                if _index_of(other) != _index_of(lines) or _flags(other):
                    print(f"    {label} page plans differently:" + "".join(f"\n      {x}" for x in other))


_NOT_TABLES = {"CONSTANT", "f", "family"}  # "SCAN CONSTANT ROW" and the timeline's CTE are no table scans


def show_lookup_plans(conn, number: str, samples: dict[str, list[str]]) -> None:
    """Plan lines of case_detail and find_customers statements that read a whole table or
    index (SCAN) or build a Bloom filter (which SQLite fills by scanning the filtered table)."""
    runs = [("case_detail", lambda rec: queries.case_detail(rec, number))]
    runs += [(f"find_customers {kind}", lambda rec, v=values[0]: queries.find_customers(rec, v))
             for kind, values in samples.items()]
    seen: set[str] = set()
    found: list[str] = []
    for label, run in runs:
        for sql, params in captured(conn, run):
            for line in plan(conn, sql, params):
                text = line.strip()
                scan = re.match(r"SCAN (\w+)", text)
                if scan and scan.group(1) not in _NOT_TABLES or "BLOOM FILTER" in text:
                    key = f"{' '.join(sql.split())[:100]} -> {text}"
                    if key not in seen:
                        seen.add(key)
                        found.append(f"    [{label}] {key}")
    print("case_detail / find_customers statements whose plan scans a table or index, or builds a Bloom filter:")
    print("\n".join(found) if found else "    none")


def lookups(conn, reps: int = 200) -> tuple[dict[str, list[float]], dict[str, list[str]]]:
    rng = random.Random(1)
    n = reps + WARMUP
    customers = conn.execute("SELECT name, email, phone FROM customers WHERE deleted = 0 ORDER BY id").fetchall()
    picks = [customers[rng.randrange(len(customers))] for _ in range(n)]
    orders = [r[0] for r in conn.execute("SELECT number FROM sales_orders ORDER BY id").fetchall()]
    serials = [r[0] for r in conn.execute("SELECT serial_number FROM assets ORDER BY id").fetchall()]
    samples = {
        "name prefix": [p[0].split()[0][:4].lower() for p in picks],
        "email": [p[1] for p in picks],
        "phone": [p[2] for p in picks],
        "order number": [orders[rng.randrange(len(orders))] for _ in range(n)],
        "serial": [serials[rng.randrange(len(serials))] for _ in range(n)],
    }
    out = {}
    for kind, values in samples.items():
        it = iter(values)  # each call a different sample: warm-up, then `reps` timed
        out[kind] = measure(lambda: queries.find_customers(conn, next(it)), reps=reps)
        hits = sum(1 for v in values[:20] if queries.find_customers(conn, v))
        if hits < 20:
            print(f"note: find_customers found nothing for {20 - hits} of 20 '{kind}' samples")
    return out, samples


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args()
    c.header(f"bench_queue: {args.cases:,} cases")
    path = c.seeded_store(args.cases, rebuild=args.rebuild)
    conn = open_store(path)
    print(f"connection: store.sqlite.open_store({c.display([str(path)])}); page size {PAGE}; "
          f"≥ 200 timed calls per figure after {WARMUP} warm-up calls")

    started = time.perf_counter()
    results = []
    for name, view, extra in views(conn):
        print(f"  measuring {name} …", flush=True)
        results.append(bench_view(conn, name, view, extra))

    rng = random.Random(2)
    numbers = [f"CAS-DEMO-{rng.randint(1, args.cases):06d}" for _ in range(200 + WARMUP)]
    it = iter(numbers)
    detail_times = measure(lambda: queries.case_detail(conn, next(it)), reps=200)
    missing = sum(1 for n in numbers[:20] if queries.case_detail(conn, n) is None)
    lookup_times, samples = lookups(conn)
    elapsed = time.perf_counter() - started

    def cell(times: list[float] | None) -> str:
        if not times:
            return f"{'—':>17}"
        p50, p95 = c.summary(times)
        return f"{p50:7.2f} {p95:7.2f}{'*' if p95 > TARGET_MS else ' '} "

    print(f"\nms per call, p50 and p95 (* = p95 over the {TARGET_MS:g} ms target):")
    print(f"{'view':36} {'rows':>9} | {'first p50   p95':>17}| {'deep p50   p95':>17}| "
          f"{'back p50   p95':>17}| {'count p50   p95':>17}| n")
    for r in results:
        n = min(len(t) for t in r.timings.values())
        print(f"{r.name[:36]:36} {r.rows:9,} | {cell(r.timings.get('first'))}| {cell(r.timings.get('deep'))}| "
              f"{cell(r.timings.get('back'))}| {cell(r.timings.get('count'))}| {n}")
    p50, p95 = c.summary(detail_times)
    print(f"\ncase_detail, 200 random numbers{' (' + str(missing) + ' of 20 not found!)' if missing else ''}: "
          f"p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    print("find_customers:")
    for kind, times in lookup_times.items():
        p50, p95 = c.summary(times)
        print(f"  {kind:14} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   (n={len(times)}, e.g. {samples[kind][0]!r})")

    print(f"\ntarget: page of {PAGE} p95 ≤ {TARGET_MS:g} ms. ratio = wall p95 / target (≤ 1.00 meets it); "
          "[cpu p95 ms; calls that waited: wall exceeds their CPU time by > 1 ms]")
    for r in results:
        if not r.name.startswith("extra"):
            parts = []
            for what in ("first", "deep", "back"):
                t = r.timings.get(what)
                if t:
                    waited = sum(1 for w, u in zip(t, t.cpu) if w - u > 1)
                    parts.append(f"{what} {c.percentile(t, 95) / TARGET_MS:4.2f} "
                                 f"[{c.percentile(t.cpu, 95):4.2f}; {waited:3}/{len(t)}]")
            print(f"  {r.name[:34]:34} " + "  ".join(parts))
    worst = max(c.percentile(r.timings[w], 95) for r in results if not r.name.startswith("extra")
                for w in ("first", "deep") if r.timings.get(w))
    print(f"  worst first/deep p95 of the named views: {worst:.2f} ms -> ratio {worst / TARGET_MS:.2f}")
    notes = [f"  {r.name}: {note}" for r in results for note in r.notes]
    if notes:
        print("notes:")
        print("\n".join(notes))

    show_plans(conn, results)
    show_lookup_plans(conn, numbers[0], samples)
    print(f"\n(measured in {elapsed:.0f} s)")
    c.footer()


if __name__ == "__main__":
    main()

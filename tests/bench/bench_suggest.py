"""Suggestions for an open case (search.suggest.for_case): top articles and similar resolved cases.

Target (the knowledge-base issue): suggestions for an open case computed in ≤ 50 ms p95
at 100,000 articles and 1,000,000 cases, on the 2-core reference machine.

The store: ``$CASETERM_BENCH_DIR/suggest-<cases>-<articles>.sqlite``, reused while it holds
the same data. Built once with services.demo.seed_demo (``--scale``, the 1,000,000-case
demo: ~820,000 resolved cases in ``case_similar``), then the synthetic article corpus of
bench_kb_search.py (the demo's 64 articles and recombinations of them, published, written
straight into the store) and ``kb_index.rebuild``. While building it prints the seed time
and, measured inside the seed, the time the bulk load spent filling ``case_similar``
(store/derived.py).

Measured, in one long-lived process (as the TUI's worker calls it): ``for_case(store,
number)`` (3 articles, 3 cases) for ≥ 300 different open cases drawn at random (seeded)
after a warm-up on 30 others; the total, and the two halves inside it (articles: the
knowledge index part; similar cases: the case_similar part). Then the same for 100 more
cases with every cache emptied before each call (suggest's word frequencies, analysed
texts and champion lists, kb_index's term views): the first suggestion for words never seen.
Prints figures; asserts nothing.

    .venv/bin/python tests/bench/bench_suggest.py                       # 1,000,000 cases, 100,000 articles
    .venv/bin/python tests/bench/bench_suggest.py --cases 100000 --articles 20000
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

import _common as c
import bench_kb_search as kbb

from caseterm.search import kb_index, suggest

TARGET_P95_MS = 50.0
WARMUP = 30
CALLS = 300
COLD_CALLS = 100
STORE_VERSION = 1  # bump when the way the store is built changes (queries never read case_similar's column sizes)
NOW = "2026-11-25T09:00:00Z"


def bench_store(cases: int, articles: int, rebuild: bool) -> Path:
    path = c.bench_dir() / f"suggest-{cases}-{articles}.sqlite"
    stamp = f"suggest-bench v{STORE_VERSION} cases={cases} articles={articles} corpus=v{kbb.CORPUS_VERSION}"
    with c._lock(path):
        if not rebuild and _stamp(path) == stamp:
            print(f"store: {path} (reused; {path.stat().st_size / 2**30:.2f} GiB)")
            return path
        c.remove_store(path)
        kb_folder = kb_index.index_path(path)
        import shutil

        shutil.rmtree(kb_folder, ignore_errors=True)
        seed(path, cases)
        add_articles(path, articles, stamp)
        started = time.perf_counter()
        indexed = kb_index.rebuild(path)
        took = time.perf_counter() - started
        print(f"  kb_index.rebuild: {indexed:,} published articles in {took:.1f} s ({indexed / took:,.0f}/s)")
        print(f"  size {path.stat().st_size / 2**30:.2f} GiB")
    return path


def _stamp(path: Path) -> str | None:
    from caseterm.store.schema import HEAD_REVISION
    from caseterm.store.sqlite import current_revision

    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(path)
        try:
            if current_revision(conn) != HEAD_REVISION:
                return None
            return conn.execute("SELECT stamp FROM bench_suggest").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None


def seed(path: Path, cases: int) -> None:
    """seed_demo in this process, timing store/derived.py's statements inside its bulk load."""
    from caseterm.clock import parse_instant
    from caseterm.services import demo
    from caseterm.store import bulk

    timings: list[tuple[str, float]] = []
    real = bulk.rebuild_derived

    def timed_rebuild(conn, tables=None):
        from caseterm.store.derived import REBUILD

        for table, statements in REBUILD.items():
            if tables is None or table in tables:
                for sql in statements:
                    started = time.perf_counter()
                    conn.execute(sql)
                    timings.append((sql, time.perf_counter() - started))

    bulk.rebuild_derived = timed_rebuild
    try:
        print(f"seeding {cases:,} cases: services.demo.seed_demo(scale={cases:,}, now={NOW})", flush=True)
        summary = demo.seed_demo(path, cases=cases, now=parse_instant(NOW))
    finally:
        bulk.rebuild_derived = real
    resolved = summary.by_state.get("resolved", 0)
    similar = sum(t for sql, t in timings if "case_similar" in sql)
    print(f"  seeded in {summary.seconds:.1f} s ({cases / summary.seconds:,.0f} cases/s); {resolved:,} resolved")
    derived = sum(t for _, t in timings)
    print(f"  of which filling case_similar (store/derived.py, inside the bulk load): {similar:.2f} s "
          f"({resolved / max(similar, 1e-9):,.0f} resolved cases/s); all derived tables {derived:.2f} s")


def add_articles(path: Path, n: int, stamp: str) -> None:
    from caseterm.store.sqlite import open_store

    started = time.perf_counter()
    conn = open_store(path)
    have = conn.execute("SELECT count(*) FROM kb_articles WHERE state = 'published'").fetchone()[0]
    corpus = kbb.synthetic_articles(n)
    extra = corpus[have:] if have <= len(corpus) else []  # the demo already published the first 64
    sku_ids = dict(conn.execute("SELECT sku, id FROM products"))
    conn.execute("BEGIN")
    kbb.insert_published(conn, extra, sku_ids)
    conn.execute("CREATE TABLE IF NOT EXISTS bench_suggest (stamp TEXT)")
    conn.execute("DELETE FROM bench_suggest")
    conn.execute("INSERT INTO bench_suggest VALUES (?)", (stamp,))
    conn.execute("COMMIT")
    conn.close()
    print(f"  {len(extra):,} synthetic articles written in {time.perf_counter() - started:.1f} s "
          f"({have + len(extra):,} published)")


def open_cases(path: Path, n: int, seed_value: int = 5) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        numbers = [r[0] for r in conn.execute("SELECT number FROM cases WHERE state = 'active' AND deleted = 0")]
    finally:
        conn.close()
    rng = random.Random(seed_value)
    return rng.sample(numbers, min(n, len(numbers)))


class Split:
    """Times the two halves inside for_case by wrapping them."""

    def __init__(self) -> None:
        self.articles: list[float] = []
        self.cases: list[float] = []
        self._real = (suggest._articles, suggest._similar_cases)

    def __enter__(self) -> Split:
        real_articles, real_cases = self._real

        def articles(*args, **kwargs):
            started = time.perf_counter()
            try:
                return real_articles(*args, **kwargs)
            finally:
                self.articles.append(1000 * (time.perf_counter() - started))

        def cases(*args, **kwargs):
            started = time.perf_counter()
            try:
                return real_cases(*args, **kwargs)
            finally:
                self.cases.append(1000 * (time.perf_counter() - started))

        suggest._articles, suggest._similar_cases = articles, cases
        return self

    def __exit__(self, *exc) -> None:
        suggest._articles, suggest._similar_cases = self._real


def clear_caches() -> None:
    suggest.clear_caches()
    kb_index._views.clear()


def fmt(values: list[float]) -> str:
    p50, p95 = c.summary(values)
    return f"median {p50:6.2f} ms   p95 {p95:6.2f} ms   max {max(values):6.2f} ms"


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, default=100_000, help="published articles (default 100,000)")
    p.add_argument("--calls", type=int, default=CALLS, help=f"timed cases (default {CALLS})")
    args = p.parse_args()
    c.header(f"bench_suggest: {args.cases:,} cases, {args.articles:,} articles")
    path = bench_store(args.cases, args.articles, args.rebuild)
    sample = open_cases(path, WARMUP + args.calls + COLD_CALLS)
    warm, timed, cold = sample[:WARMUP], sample[WARMUP:WARMUP + args.calls], sample[WARMUP + args.calls:]
    print(f"open cases: {len(sample):,} drawn (seeded): {len(warm)} warm-up, {len(timed)} timed, {len(cold)} cold")

    started = time.perf_counter()
    first = suggest.for_case(path, warm[0])
    print(f"first call in this process (opens the store and the knowledge index): "
          f"{1000 * (time.perf_counter() - started):.1f} ms")
    for number in warm[1:]:
        suggest.for_case(path, number)

    totals: list[float] = []
    found_articles = found_cases = 0
    with Split() as split:
        for number in timed:
            started = time.perf_counter()
            result = suggest.for_case(path, number)
            totals.append(1000 * (time.perf_counter() - started))
            found_articles += len(result.articles)
            found_cases += len(result.cases)
    print()
    print(f"for_case(store, number), articles=3, cases=3, {len(timed)} different open cases, warm process:")
    print(f"  total          {fmt(totals)}")
    print(f"  articles       {fmt(split.articles)}")
    print(f"  similar cases  {fmt(split.cases)}")
    print(f"  found: {found_articles / len(timed):.2f} articles and {found_cases / len(timed):.2f} cases per call "
          f"(of 3 each)")
    p95 = c.percentile(totals, 95)
    print(f"  target p95 ≤ {TARGET_P95_MS:.0f} ms -> p95/target {p95 / TARGET_P95_MS:.2f}× "
          f"({'meets' if p95 <= TARGET_P95_MS else 'MISSES'} the target)")

    cold_totals: list[float] = []
    with Split() as cold_split:
        for number in cold:
            clear_caches()
            started = time.perf_counter()
            suggest.for_case(path, number)
            cold_totals.append(1000 * (time.perf_counter() - started))
    print()
    print(f"the same with every cache emptied before each call ({len(cold)} other open cases):")
    print(f"  total          {fmt(cold_totals)}")
    print(f"  articles       {fmt(cold_split.articles)}")
    print(f"  similar cases  {fmt(cold_split.cases)}")

    print()
    print(f"example: {warm[0]}")
    for hit in first.articles:
        print(f"  article {hit.number} {hit.score:7.2f}  {hit.title}")
    for case in first.cases:
        print(f"  case    {case.number} {case.score:7.2f}  {case.title}  ->  {case.resolution[:70]}")
    if first.note:
        print(f"  note: {first.note}")
    c.footer()


if __name__ == "__main__":
    main()

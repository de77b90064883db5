"""``caseterm cases list`` as a user runs it: whole-process wall clock on an N-case store.

Target: ``caseterm cases list --limit 50`` ≤ 0.6 s wall on a 1,000,000-case store (2-core
reference machine). Each variant runs twice to warm up, then ``--runs`` times timed
(stdout to /dev/null). Also the interpreter's own start-up for scale, and the ten biggest
imports (cumulative) from one run under ``python -X importtime``. Prints figures; asserts
nothing.

    .venv/bin/python tests/bench/bench_cli_list.py                 # 1,000,000 cases, 15 runs
    .venv/bin/python tests/bench/bench_cli_list.py --cases 100000
"""

from __future__ import annotations

import subprocess
import sys
import time

import _common as c

TARGET_S = 0.6
WARMUP = 2
# Packages the read path should not need (store/sqlite.py, cli/__init__.py): seeing one in
# the import list of `cases list` means start-up pays for it.
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "textual", "httpx", "whoosh", "pydantic")


def run(cmd: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=c.cli_env())
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"`{c.display(cmd)}` failed (exit {done.returncode}):\n{done.stderr}")
    return wall


def timed(cmd: list[str], runs: int) -> list[float]:
    for _ in range(WARMUP):
        run(cmd)
    return [run(cmd) for _ in range(runs)]


def import_times(cmd: list[str]) -> tuple[list[tuple[int, int, str, str]], float]:
    """(self µs, cumulative µs, module, imported by) per import, and the run's wall.

    -X importtime prints a module after the modules it imports, indented one level deeper
    than its importer: a module's importer is the next line below it with a smaller indent."""
    full = [str(c.PYTHON), "-X", "importtime", *cmd]
    started = time.perf_counter()
    done = subprocess.run(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=c.cli_env())
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"`{c.display(full)}` failed (exit {done.returncode}):\n{done.stderr}")
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|", 2)
        rows.append((int(self_us), int(cum_us), name[1:].rstrip()))
    out = []
    for i, (self_us, cum_us, name) in enumerate(rows):
        indent = len(name) - len(name.lstrip())
        parent = next((n.strip() for _, _, n in rows[i + 1:] if len(n) - len(n.lstrip()) < indent), "")
        out.append((self_us, cum_us, name.strip(), parent))
    return out, wall


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=15, help="timed runs per variant (default 15)")
    args = p.parse_args()
    c.header(f"bench_cli_list: {args.cases:,} cases, {WARMUP} warm-up + {args.runs} timed runs per variant")
    store = c.seeded_store(args.cases, rebuild=args.rebuild)

    base = [str(c.CASETERM), "--db", str(store), "cases", "list", "--limit", "50"]
    variants = [
        ("cases list --limit 50", base),
        ("... --json", [*base, "--json"]),
        ("... --queue Returns", [*base, "--queue", "Returns"]),
        ("(python -c pass: the floor)", [str(c.PYTHON), "-c", "pass"]),
    ]
    results = []
    for label, cmd in variants:
        print(f"  running: {c.display(cmd)} > /dev/null", flush=True)
        results.append((label, timed(cmd, args.runs)))

    print(f"\nwall seconds per process (stdout to /dev/null, COLUMNS={c.cli_env()['COLUMNS']}):")
    print(f"  {'variant':30} {'median':>8} {'p95':>8} {'min':>8} {'max':>8}   ratio p95/{TARGET_S:g} s")
    for label, walls in results:
        p50, p95 = c.summary(walls)
        ratio = "" if label.startswith("(") else f"{p95 / TARGET_S:6.2f}{'  OVER' if p95 > TARGET_S else ''}"
        print(f"  {label:30} {p50:8.3f} {p95:8.3f} {min(walls):8.3f} {max(walls):8.3f}   {ratio}")

    rows, wall = import_times(base)
    total = sum(cum for _, cum, _, parent in rows if not parent)
    print(f"\nimports of one `cases list` run under -X importtime ({len(rows)} modules, "
          f"{total / 1e6:.3f} s in top-level imports; that run took {wall:.3f} s wall with the tracing):")
    print(f"  command: {c.display([str(c.PYTHON), '-X', 'importtime', *base])} > /dev/null")
    print(f"  {'cumulative ms':>13} {'self ms':>8}  module (imported by)")
    for self_us, cum_us, name, parent in sorted(rows, key=lambda r: -r[1])[:10]:
        by = parent or "not inside another import"
        print(f"  {cum_us / 1000:13.1f} {self_us / 1000:8.1f}  {name}  ({by})")
    heavy = sorted({name for _, _, name, _ in rows if name.split(".")[0] in HEAVY})
    tops = sorted({n.split(".")[0] for n in heavy})
    print(f"  heavy packages imported: {', '.join(tops) + f' ({len(heavy)} modules)' if heavy else 'none'}")
    for top in tops:  # who pulls each one in (the top-level import of the package's first module)
        first = next(r for r in rows if r[2].split(".")[0] == top and r[3].split(".")[0] != top)
        print(f"    {top}: first imported by {first[3] or 'the script'} ({first[1] / 1000:.1f} ms cumulative)")
    c.footer()


if __name__ == "__main__":
    main()

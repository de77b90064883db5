"""Seeding speed: ``caseterm demo --scale N`` into a fresh store, whole process wall clock.

Target: ≥ 20,000 cases/s (a 1,000,000-case store in under a minute) on the 2-core
reference machine. Each run builds into a temporary folder under the bench dir and
deletes it afterwards. Prints figures; asserts nothing.

    .venv/bin/python tests/bench/bench_seed.py                 # 1,000,000 cases, 3 runs
    .venv/bin/python tests/bench/bench_seed.py --cases 100000 --runs 1
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import _common as c

TARGET_RATE = 20_000  # cases/s


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="how many fresh stores to build (default 3)")
    args = p.parse_args()
    n = args.cases

    c.header(f"bench_seed: {n:,} cases, {args.runs} run(s)")
    sample = c.demo_command(Path(c.bench_dir(), "seed-XXXX", "demo.sqlite"), n)
    print(f"each run: {c.display(sample)}")
    walls, inner = [], []
    for run in range(1, args.runs + 1):
        work = Path(tempfile.mkdtemp(prefix="seed-", dir=c.bench_dir()))
        try:
            path = work / "demo.sqlite"
            wall, built = c.build_store(path, n, quiet=True)
            size = path.stat().st_size / 2**30
        finally:
            shutil.rmtree(work, ignore_errors=True)
        walls.append(wall)
        m = re.search(r"built in ([\d.]+) s", built)
        if m:
            inner.append(float(m.group(1)))
        print(f"  run {run}: {wall:6.2f} s wall  {n / wall:10,.0f} cases/s   "
              f"(CLI says: {built or '?'}; store {size:.2f} GiB)", flush=True)

    med = c.median(walls)
    rate = n / med
    print()
    print(f"median wall        {med:8.2f} s   (min {min(walls):.2f}, max {max(walls):.2f})")
    print(f"median rate        {rate:8,.0f} cases/s (whole process)")
    if inner:
        print(f"median seed_demo   {c.median(inner):8.2f} s   ({n / c.median(inner):,.0f} cases/s, "
              f"in-process figure; start-up and imports are the difference)")
    print(f"target             {TARGET_RATE:8,} cases/s -> ratio {rate / TARGET_RATE:.2f}x "
          f"({'meets' if rate >= TARGET_RATE else 'MISSES'} the target)")
    if n != 1_000_000:
        print("(not the target scale: up to 50,000 cases the demo writes full timelines, which is slower per case,"
              " and start-up weighs more on small runs; judge the target at the default 1,000,000)")
    c.footer()


if __name__ == "__main__":
    main()

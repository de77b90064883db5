"""Shared helpers for the hand-run benchmarks in tests/bench (not pytest tests).

* Bench stores live in ``$CASETERM_BENCH_DIR`` (default ``/tmp/caseterm-bench``).
* ``seeded_store(n)`` returns the path of a demo store of ``n`` cases, built once with the
  CLI (``caseterm demo --db … --scale n --now 2026-11-25T09:00:00Z --no-tui``) and reused
  while it is a demo store at the current schema revision holding exactly ``n`` cases.
* ``percentile`` / ``summary`` compute medians and p95s.
* ``parser()`` gives every script the same ``--cases N`` option (default 1,000,000; use
  ``--cases 100000`` for a quick look) and ``--rebuild``.

The scripts import this as ``_common`` (run them as ``.venv/bin/python tests/bench/bench_x.py``,
which puts tests/bench on ``sys.path``). They print figures; they never assert on timings.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project (…/main)
VENV_BIN = ROOT / ".venv" / "bin"
CASETERM = VENV_BIN / "caseterm"
PYTHON = VENV_BIN / "python"
NOW = "2026-11-25T09:00:00Z"
DEFAULT_CASES = 1_000_000
STORE_SUFFIXES = ("", "-wal", "-shm", ".seeding", ".seeding-wal", ".seeding-shm", ".lock")


def bench_dir() -> Path:
    path = Path(os.environ.get("CASETERM_BENCH_DIR") or "/tmp/caseterm-bench").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def parser(description: str, *, cases: int = DEFAULT_CASES) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--cases", type=int, default=cases, metavar="N",
                   help=f"cases in the bench store (default {cases:,}; 100000 for a quick look)")
    p.add_argument("--rebuild", action="store_true",
                   help="delete the cached bench store of N cases and build it again first")
    return p


# --- running the CLI ---------------------------------------------------------------------------


def demo_command(path: Path, cases: int) -> list[str]:
    return [str(CASETERM), "demo", "--db", str(path), "--scale", str(cases), "--now", NOW, "--no-tui"]


def display(cmd: Sequence[str | os.PathLike]) -> str:
    """A command as a user would type it from the project root."""
    parts = []
    for part in map(str, cmd):
        if part.startswith(str(ROOT) + os.sep):
            part = str(Path(part).relative_to(ROOT))
        parts.append(part)
    return shlex.join(parts)


def this_command() -> str:
    """The command that ran this script, as typed from the project root."""
    return display([sys.executable, str(Path(sys.argv[0]).resolve()), *sys.argv[1:]])


def remove_store(path: Path) -> None:
    for suffix in STORE_SUFFIXES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def build_store(path: Path, cases: int, *, quiet: bool = False) -> tuple[float, str]:
    """Build a fresh demo store at ``path`` with the CLI; (wall seconds, its "built in" line)."""
    remove_store(path)
    cmd = demo_command(path, cases)
    if not quiet:
        print(f"building {cases:,}-case store: {display(cmd)}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"`{display(cmd)}` failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    built = next((line.strip() for line in done.stdout.splitlines() if "built in" in line), "")
    if not quiet:
        print(f"  {built}  (process wall {wall:.1f} s)", flush=True)
    return wall, built


def cli_env() -> dict[str, str]:
    """The environment for CLI runs: CASETERM_DB would not matter (we pass --db), but a
    narrow or coloured terminal setting would change the work rich does; pin them."""
    env = dict(os.environ)
    env.pop("CASETERM_DB", None)
    env.setdefault("COLUMNS", "120")
    env.setdefault("LINES", "40")
    return env


# --- the cached bench store --------------------------------------------------------------------


def store_path(cases: int) -> Path:
    return bench_dir() / f"demo-{cases}.sqlite"


def store_problem(path: Path, cases: int) -> str | None:
    """Why the store at ``path`` cannot be reused for ``cases`` cases (None: it can)."""
    from caseterm.store.schema import HEAD_REVISION
    from caseterm.store.sqlite import current_revision

    if not path.exists():
        return "missing"
    try:
        conn = sqlite3.connect(path)
        try:
            revision = current_revision(conn)
            if revision != HEAD_REVISION:
                return f"schema revision {revision}, want {HEAD_REVISION}"
            device = conn.execute("SELECT device_code FROM sync_state").fetchone()
            if device != ("DEMO",):
                return "not a demo store"
            have = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
            if have != cases:
                return f"{have:,} cases, want {cases:,}"
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"unreadable ({exc})"
    return None


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One benchmark at a time checks/builds a given store (others wait)."""
    with open(f"{path}.build-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def seeded_store(cases: int, *, rebuild: bool = False) -> Path:
    """The path of a demo store of ``cases`` cases, built with the CLI if needed."""
    path = store_path(cases)
    with _lock(path):
        problem = "--rebuild" if rebuild else store_problem(path, cases)
        if problem is None:
            print(f"store: {path} (reused; {path.stat().st_size / 2**30:.2f} GiB)")
            return path
        print(f"store: {path} ({problem}: building it)")
        build_store(path, cases)
        problem = store_problem(path, cases)
        if problem is not None:
            sys.exit(f"the freshly built store {path} is not usable: {problem}")
        print(f"  size {path.stat().st_size / 2**30:.2f} GiB")
    return path


# --- statistics and printing --------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0–100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def summary(values: Sequence[float]) -> tuple[float, float]:
    """(p50, p95)."""
    return percentile(values, 50), percentile(values, 95)


def header(title: str) -> None:
    """The first lines every script prints: what ran, where and how busy the machine was."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"== {title}")
    print(f"command: {this_command()}")
    print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
          f"load average {load}")


def footer() -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the end: {load} (figures are noisy when other work runs)")

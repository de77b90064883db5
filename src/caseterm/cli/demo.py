"""``caseterm demo``: a seeded demo store (and, once the workstation lands, the TUI on it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from caseterm.cli import context


def demo(
    db: Annotated[Optional[Path], typer.Option("--db", help="Where to build the demo store (default: demo.sqlite in the data dir).", show_default=False)] = None,
    scale: Annotated[int, typer.Option(min=1, max=5_000_000, help="How many cases to make (benchmarks use 1000000).")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed and --now give the same store.")] = 7,
    now: Annotated[Optional[str], typer.Option(help="The demo's 'now' (ISO 8601, UTC); default: the clock.")] = None,
    reset: Annotated[bool, typer.Option(help="Delete an existing demo store and build a fresh one.")] = False,
    no_tui: Annotated[bool, typer.Option("--no-tui", help="Only build the store; print a summary.")] = False,
) -> None:
    """Build a realistic demo store (if there is none) and open the workstation on it
    (as jdoe, an agent, unless --as names someone else)."""
    from caseterm import config
    from caseterm.clock import default_clock, parse_instant
    from caseterm.errors import StoreError, ValidationError

    if db is not None:
        path = db.expanduser()
    elif context.db_given():
        path = context.settings().db
    else:
        path = config.data_dir() / "demo.sqlite"
    try:
        moment = parse_instant(now) if now else default_clock().now()
    except ValueError:
        raise ValidationError("--now", f"'{now}' is not an ISO 8601 instant (e.g. 2026-11-25T09:00:00Z)") from None
    c = context.console()
    if path.exists():
        is_demo, cases = _probe(path)
        if not is_demo:
            raise StoreError(f"{path} is not a demo store; choose another path with --db (--reset only replaces demo stores)")
        if not reset:
            c.print(f"Demo store already at {path} ({cases:,} cases). Use --reset for a fresh one.")
            _open(path, no_tui)
            return
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from caseterm.services.demo import seed_demo

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=context.err_console(), transient=True) as progress:
        task = progress.add_task("Seeding cases", total=scale)
        summary = seed_demo(path, cases=scale, seed=seed, now=moment,
                            progress=lambda n: progress.advance(task, n))
    rate = summary.cases / summary.seconds if summary.seconds else 0
    c.print(f"Demo store ready: {path}")
    c.print(f"  {summary.cases:,} cases ({summary.by_state.get('active', 0):,} active, "
            f"{summary.by_state.get('resolved', 0):,} resolved, {summary.by_state.get('cancelled', 0):,} cancelled) "
            f"with {summary.activities:,} timeline entries")
    c.print(f"  {summary.customers:,} customers, {summary.orders:,} orders, {summary.assets:,} assets, "
            f"{summary.products} products, {summary.agents} agents in {summary.queues} queues, "
            f"{summary.articles} knowledge articles")
    c.print(f"  built in {summary.seconds:.1f} s ({rate:,.0f} cases/s)", style="dim")
    _open(path, no_tui)


def _open(path: Path, no_tui: bool) -> None:
    if no_tui:
        _next_steps(path)
        return
    from caseterm.tui.app import run

    settings = context.settings()
    run(path, settings.agent if context.agent_given() else "jdoe", settings)


def _probe(path: Path) -> tuple[bool, int]:
    """(is this a demo store, how many cases), without changing the file."""
    import sqlite3

    from caseterm.store.sqlite import current_revision

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if current_revision(conn) is None:
                return False, 0
            is_demo = conn.execute("SELECT device_code FROM sync_state").fetchone() == ("DEMO",)
            return is_demo, conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False, 0


def _next_steps(path: Path) -> None:
    c = context.console()
    c.print("Try:", style="bold")
    c.print(f"  caseterm --db {path} --as jdoe cases list --owner me")
    c.print(f"  caseterm --db {path} cases list --queue Returns")
    c.print(f"  caseterm --db {path} customers find anna")

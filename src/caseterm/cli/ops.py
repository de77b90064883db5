"""``caseterm ops …``: the operations file (queues, calendars, SLAs, routing, entitlements)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from caseterm.cli import context
from caseterm.cli.output import print_json

app = typer.Typer(help="Service operations: apply or export the operations file.", no_args_is_help=True,
                  rich_markup_mode=None)


@app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="The operations file (TOML), e.g. data/ops/demo.toml.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check it and show what would change; change nothing.")]
    = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check the whole file (every problem is listed with its place and line), show what
    changes, and apply it in one transaction. Needs an admin (--as)."""
    from caseterm.errors import NotFound, ValidationError
    from caseterm.services import ops

    if not file.is_file():
        raise NotFound(f"No such file: {file}")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("file", f"cannot be read ({exc})") from None
    store = context.store()
    report = ops.apply_text(store.uow, context.login(), text, dry_run=dry_run)
    # open cases' deadlines were worked out by the calendars and policies this changed
    clocks_changed = any(ch.kind in ("calendar", "SLA policy") and ch.what in ("changed", "removed")
                         for ch in report.changes)
    if as_json:
        out = {"applied": report.applied, "changes": [
            {"kind": c.kind, "name": c.name, "change": c.what, "detail": c.detail} for c in report.changes]}
        if report.applied and clocks_changed:
            out["sla_recomputed"] = _recompute(store, as_json=True).changed
        print_json(out)
        return
    c = context.console()
    for change in report.changes:
        c.print(str(change), markup=False, highlight=False)
    summary = (f"{report.count('added')} added, {report.count('changed')} changed, {report.count('removed')} removed"
               f", {report.count('kept')} kept")
    if not any(ch.what != "kept" for ch in report.changes):
        c.print("Nothing to change: the store already says what the file says.")
    elif report.applied:
        c.print(f"Applied: {summary}.")
        if clocks_changed:
            _recompute(store)
    else:
        c.print(f"Dry run, nothing changed: {summary} if applied."
                + (" Open cases' SLA deadlines would be recomputed." if clocks_changed else ""))


def _recompute(store, as_json: bool = False):
    """Open cases' SLA deadlines by the calendars and policies now in force, with a progress bar."""
    from caseterm.cli.output import progress_bar
    from caseterm.services.sla_recompute import recompute

    if as_json:
        return recompute(store)
    with progress_bar("recomputing SLA deadlines") as progress:
        done = recompute(store, progress=progress)
    context.console().print(
        f"SLA deadlines recomputed: {done.changed:,} of {done.examined:,} open case(s) with an SLA changed"
        + (f", {done.cleared_warning:,} no longer at risk" if done.cleared_warning else "")
        + (f", {done.cleared_breach:,} no longer breached" if done.cleared_breach else "")
        + (f"; {done.orphaned:,} keep theirs (their policy is gone)" if done.orphaned else "")
        + f" ({done.seconds:.1f} s).")
    return done


@app.command("export")
def export(file: Annotated[Optional[Path], typer.Argument(help="Write here instead of printing.")] = None) -> None:
    """The store's queues, calendars, SLA policies, routing rules and entitlement templates
    as an operations file (ops apply reads it back)."""
    from caseterm.services import ops

    with context.store().uow() as uow:
        text = ops.export_text(uow)
    if file is None:
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        context.console().print(f"written to {file}")


@app.command("sla-check")
def sla_check(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Record the SLA warnings and breaches that have come due (flags and timeline entries).
    The workstation does this every minute; this is for a scheduled job."""
    from caseterm.services import routing

    store = context.store()
    with store.uow() as uow:
        warned, breached = routing.sweep_sla(uow, context.actor(uow))
    if as_json:
        print_json({"warned": warned, "breached": breached})
        return
    context.console().print(f"{len(warned)} at risk, {len(breached)} breached"
                            + (f": {', '.join(breached + warned)}" if warned or breached else ""))


@app.command("sla-recompute")
def sla_recompute(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Work out every open case's SLA deadlines again by the calendars and policies in force
    (ops apply does this itself when a calendar or a policy changed)."""
    done = _recompute(context.store(), as_json)
    if as_json:
        print_json({"examined": done.examined, "changed": done.changed, "unchanged": done.unchanged,
                    "cleared_warning": done.cleared_warning, "cleared_breach": done.cleared_breach,
                    "orphaned": done.orphaned, "seconds": round(done.seconds, 3)})

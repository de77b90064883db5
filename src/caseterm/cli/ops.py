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
    report = ops.apply_text(store.uow, context.settings().agent, text, dry_run=dry_run)
    if as_json:
        print_json({"applied": report.applied, "changes": [
            {"kind": c.kind, "name": c.name, "change": c.what, "detail": c.detail} for c in report.changes]})
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
    else:
        c.print(f"Dry run, nothing changed: {summary} if applied.")


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

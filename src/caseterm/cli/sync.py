"""``caseterm login`` and ``caseterm sync``: this store and the case server."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from caseterm.cli import context
from caseterm.cli.output import print_json
from caseterm.errors import ValidationError

app = typer.Typer(help="Sync this store with the case server: push your changes, pull everyone's.",
                  invoke_without_command=True, rich_markup_mode=None)


def login(
    url: Annotated[str, typer.Argument(help="The server, e.g. http://127.0.0.1:8765.")],
    token: Annotated[str, typer.Option(help="Your token (from 'caseterm server token issue').")],
    name: Annotated[str, typer.Option(help="A name for this device, e.g. 'van 7 laptop'.")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Register this store with the server; the token is kept in the config dir (owner-only)."""
    from caseterm.sync import client

    store = context.store()
    answer = client.login(store, url, token, name)
    report = client.sync(store) if as_json else _sync_with_progress(store)  # the agents and cases of this scope
    if as_json:
        print_json({**answer, "pulled": report.pulled})
        return
    context.console().print(f"Logged in to {url} as {answer['agent']} ({answer['role']}); this device numbers its "
                            f"cases CAS-{answer['device_code']}-…; {report.pulled} row(s) fetched. "
                            "'caseterm sync' (or F9 in the workstation) syncs again.")


def _sync_with_progress(store):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from caseterm.sync import client

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=context.err_console(), transient=True)
    tasks: dict[str, int] = {}

    def progress(phase: str, done: int, total: int | None) -> None:
        if not tasks:
            bar.start()  # only once there is something to show: a sync that fails at once prints just the error
        if phase not in tasks:
            tasks[phase] = bar.add_task("pushing changes" if phase == "push" else "pulling changes", total=total)
        bar.update(tasks[phase], completed=done, total=total)

    try:
        return client.sync(store, progress=progress)
    finally:
        if tasks:
            bar.stop()


@app.callback()
def sync(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Push pending changes, then pull what changed on the server."""
    if ctx.invoked_subcommand is not None:
        return
    from caseterm.sync import client

    store = context.store()
    if as_json:
        report = client.sync(store)
        print_json(report.to_dict())
        return
    report = _sync_with_progress(store)
    c = context.console()
    c.print(f"pushed {report.pushed}: {report.applied} applied, {report.conflicts} conflicts, "
            f"{report.rejected} rejected · pulled {report.pulled} row(s)"
            + (f", {report.evicted} case(s) left your scope" if report.evicted else ""))
    if report.conflicts:
        c.print("Conflicts keep the server's values until you decide: caseterm sync conflicts")
    if report.rejected:
        c.print("Rejected changes stay in this store with the reason: caseterm sync status")
    for line in report.skipped[:10]:
        c.print(f"not stored: {line}", style="yellow", markup=False)


@app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The server, the last push and pull, and what is pending, in conflict or rejected."""
    from caseterm.sync import client

    info = client.status(context.store())
    if as_json:
        print_json(info)
        return
    c = context.console()
    if not info["server"]:
        c.print("Not logged in to a server (caseterm login URL --token TOKEN).")
    else:
        c.print(f"{info['server']} as {info['agent']} · device {info['device_code']} · last pull "
                f"{info['last_pull_at'] or 'never'}")
    c.print(f"{info['pending']} pending, {info['conflicts']} in conflict, {info['rejected']} rejected")


@app.command("conflicts")
def conflicts(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Changes the server had changed too: mine and theirs per field (theirs stands for now)."""
    from caseterm.store.wire import to_wire
    from caseterm.sync import client

    found = client.conflicts(context.store())
    if as_json:
        print_json({"conflicts": [{"op_id": v.op_id, "entity": v.entity, "row_id": v.row_id, "label": v.label,
                                   "fields": v.fields, "made_at": to_wire(v.made_at)} for v in found]})
        return
    c = context.console()
    if not found:
        c.print("No conflicts.")
    for v in found:
        c.print(f"{v.op_id}  {v.label}", style="bold", markup=False)
        for name, values in v.fields.items():
            c.print(f"  {name}: mine {values['mine']!r} · theirs {values['theirs']!r} (was {values['base']!r})",
                    markup=False)
    if found:
        c.print("Decide with: caseterm sync resolve OP_ID --keep mine|theirs")


@app.command("resolve")
def resolve(
    op_id: Annotated[str, typer.Argument(help="The conflict's op id (caseterm sync conflicts).")],
    keep: Annotated[str, typer.Option(help="mine (send yours again) or theirs (the server's stand).")],
    value: Annotated[Optional[list[str]], typer.Option("--set", help="FIELD=VALUE instead of mine/theirs.")] = None,
) -> None:
    """Decide a conflict; keeping yours (or an edited value) becomes a new change for the next sync."""
    from caseterm.sync import client

    edited = None
    if value:
        keep = "edit"
        malformed = [v for v in value if "=" not in v or not v.split("=", 1)[0].strip()]
        if malformed:
            raise ValidationError("set", f"'{malformed[0]}' is not FIELD=VALUE (e.g. --set priority=2)")
        edited = {field.strip(): text for field, text in (v.split("=", 1) for v in value)}
    context.console().print(client.resolve_conflict(context.store(), op_id, keep, edited, typed=True))

"""``caseterm cases …``: list, show, create and work cases."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from caseterm.cli import context
from caseterm.cli.output import PRIORITY_LABELS, age, case_detail_json, case_row_json, print_json, status_label, when

app = typer.Typer(help="List, show, create and work cases.", no_args_is_help=True, rich_markup_mode=None)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (shape documented in the README).")]


def _resolve_status(text: str | None):
    """``--status`` takes a state (active, resolved, cancelled), a status reason, or ``all``."""
    from caseterm.domain.enums import CaseState, StatusReason
    from caseterm.errors import ValidationError

    if text is None:
        return CaseState.ACTIVE, None
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    if key in ("all", "any"):
        return None, None
    if key in CaseState._value2member_map_:
        return CaseState(key), None
    if key in StatusReason._value2member_map_:
        return None, StatusReason(key)
    options = [s.value for s in CaseState] + [s.value for s in StatusReason if s.value not in CaseState._value2member_map_] + ["all"]
    raise ValidationError("status", f"'{text}' is not a state or status; use one of {', '.join(options)}")


@app.command("list")
def list_cases(
    queue: Annotated[Optional[str], typer.Option(help="Only this queue (by name).")] = None,
    status: Annotated[Optional[str], typer.Option(help="A state (active, resolved, cancelled), a status (on_hold, …) or 'all'. Default: active.")] = None,
    owner: Annotated[Optional[str], typer.Option(help="Only cases owned by this login; 'me' for yourself, 'none' for unassigned.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many cases to show.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List cases: priority first, then oldest first (resolved: most recent first)."""
    from caseterm.clock import default_clock
    from caseterm.domain.enums import CaseState
    from caseterm.errors import NotFound
    from caseterm.store import queries

    conn = context.read_conn()
    state, status_reason = _resolve_status(status)
    queue_id = owner_id = None
    unassigned = False
    if queue is not None:
        queue_id = queries.id_of(conn, "queues", "name", queue)
        if queue_id is None:
            names = [r[0] for r in conn.execute("SELECT name FROM queues WHERE deleted = 0 ORDER BY name")]
            raise NotFound(f"No queue '{queue}'; queues: {', '.join(names) or 'none'}")
    if owner is not None:
        if owner.strip().lower() == "none":
            unassigned = True
        else:
            login = context.login() if owner.strip().lower() == "me" else owner
            owner_id = queries.id_of(conn, "agents", "login", login)
            if owner_id is None:
                raise NotFound(f"No agent '{login}' in this store")
    resolved = state is CaseState.RESOLVED or (status_reason is not None and status_reason.state is CaseState.RESOLVED)
    sort = "resolved" if resolved else "priority"
    view = queries.CaseView(state=state, status=status_reason, queue_id=queue_id, owner_id=owner_id,
                            unassigned=unassigned, sort=sort)
    page = queries.page_cases(conn, view, limit=limit)
    total = sum(queries.count_cases(conn, view).values())
    if as_json:
        print_json({"cases": [case_row_json(r) for r in page.rows], "count": len(page.rows), "total": total,
                    "has_more": page.has_more})
        return
    from rich.table import Table

    now = default_clock().now()
    c = context.console()
    show_queue = queue is None and c.width >= 100  # narrow terminals keep the title readable
    # expand + a ratio on Title: the title takes what the other columns leave
    table = Table(box=None, header_style="bold", pad_edge=False, expand=True)
    table.add_column("Number", no_wrap=True)
    table.add_column("P", no_wrap=True)
    table.add_column("Title", overflow="ellipsis", no_wrap=True, ratio=1, min_width=20)
    table.add_column("Customer", overflow="ellipsis", no_wrap=True, max_width=16)
    table.add_column("Status", overflow="ellipsis", no_wrap=True, max_width=14)
    if show_queue:
        table.add_column("Queue", overflow="ellipsis", no_wrap=True, max_width=12)
    table.add_column("Owner", no_wrap=True)
    table.add_column("Age", justify="right", no_wrap=True)
    for r in page.rows:
        cells = [r.number, str(r.priority), r.title, r.customer_name, status_label(r.status_reason)]
        if show_queue:
            cells.append(r.queue_name or "—")
        cells += [r.owner_login or "—", age(r.created_at, now)]
        table.add_row(*cells)
    if page.rows:
        c.print(table)
    what = f"{status_reason.label.lower()} cases" if status_reason else f"{state.value} cases" if state else "cases in any state"
    c.print(f"{len(page.rows)} of {total:,} {what}", style="dim")


@app.command("show")
def show_case(
    number: Annotated[str, typer.Argument(help="Case number, e.g. CAS-LOC-000012.")],
    limit: Annotated[int, typer.Option(min=1, help="Timeline entries to show (newest first).")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Show a case: its fields, related cases and timeline (newest first)."""
    from caseterm.errors import NotFound
    from caseterm.store import queries

    detail = queries.case_detail(context.read_conn(), number, timeline_limit=limit)
    if detail is None:
        raise NotFound(f"No case {number}; check the number with 'caseterm cases list'")
    if as_json:
        print_json(case_detail_json(detail))
        return
    from rich.table import Table
    from rich.text import Text

    from caseterm.domain.durations import format_duration

    f = detail.fields
    c = context.console()
    c.print(Text.assemble((f["number"], "bold"), "  ", f["title"]))
    c.print(f"{f['state'].capitalize()} ({status_label(f['status_reason']).lower()}) · priority {f['priority']} "
            f"{PRIORITY_LABELS.get(f['priority'], '')} · {f['type']} via {f['origin']}")
    contact = ", ".join(x for x in (f["customer_email"], f["customer_phone"]) if x)
    c.print(f"Customer: {f['customer_name']}" + (f" ({contact})" if contact else ""))
    c.print(f"Queue: {f['queue'] or '—'} · Owner: {f['owner'] or '—'} · Category: {f['category'] or '—'}")
    if f["product_name"]:
        c.print(f"Product: {f['product_name']} ({f['product_sku']})" + (f" · serial {f['asset_serial']}" if f["asset_serial"] else ""))
    c.print(f"Created {when(f['created_at'])} by {f['created_by'] or '—'} · updated {when(f['updated_at'])}")
    if f["sla_policy"]:
        clocks = [f"{label} by {when(due)}" + (" (met)" if done is not None and done <= due else
                                                 " (late)" if done is not None else "")
                  for label, due, done in (("first response", f["first_response_due_at"], f["first_response_at"]),
                                           ("resolve", f["resolve_due_at"], f["resolved_at"])) if due is not None]
        flags = [w for w, on in (("paused", f["sla_paused_at"] is not None), ("at risk", f["sla_warned"]),
                                 ("breached", f["sla_breached"]), ("escalated", f["escalated"])) if on]
        c.print(f"SLA '{f['sla_policy']}': {', '.join(clocks)}" + (f" · {', '.join(flags)}" if flags else ""))
    elif f["escalated"]:
        c.print("Escalated")
    if f["entitlement"]:
        left = (f" · {f['entitlement_cases_left']} case(s) left" if f["entitlement_cases_left"] is not None else
                f" · {format_duration(f['entitlement_minutes_left'] * 60)} of work left"
                if f["entitlement_minutes_left"] is not None else "")
        c.print(f"Entitlement: {f['entitlement']} until {f['entitlement_ends_on']}{left}")
    if f["resolution"]:
        c.print(f"Resolution ({when(f['resolved_at'])}): {f['resolution']}")
    if related := detail.related_summary():
        c.print(f"Related: {related}")
    if f["description"]:
        c.print()
        c.print(f["description"])
    c.print()
    table = Table(box=None, header_style="bold", pad_edge=False, show_lines=False)
    table.add_column("When", no_wrap=True)
    table.add_column("What", no_wrap=True)
    table.add_column("Who", no_wrap=True)
    table.add_column("")
    for e in detail.timeline:
        what = e.event.replace("_", " ") if e.kind == "system" and e.event else e.kind.replace("_", " ")
        if e.duration_seconds:
            what += f" {format_duration(e.duration_seconds)}"
        text = " — ".join(x for x in (e.subject if e.kind != "system" else "", e.body) if x)
        if e.case_number != f["number"]:
            text = f"[{e.case_number}] {text}"
        table.add_row(when(e.occurred_at), what, e.author_login or "—", text,
                      style="dim" if e.kind == "system" else None)
    c.print(table)


@app.command("suggest")
def suggest(
    number: Annotated[str, typer.Argument(help="Case number, e.g. CAS-LOC-000012.")],
    articles: Annotated[int, typer.Option("--articles", help="Knowledge articles to suggest (0-20).")] = 3,
    cases: Annotated[int, typer.Option("--cases", help="Similar resolved cases to show (0-20).")] = 3,
    as_json: JsonOpt = False,
) -> None:
    """Suggest knowledge articles and similar resolved cases (with their resolutions) for a
    case, from its title, description and latest customer message."""
    from caseterm.cli.output import progress_bar
    from caseterm.errors import ValidationError
    from caseterm.search import suggest as suggestions

    for flag, value in (("--articles", articles), ("--cases", cases)):
        if not 0 <= value <= suggestions.MAX_SUGGESTIONS:
            raise ValidationError(flag, f"must be from 0 to {suggestions.MAX_SUGGESTIONS}")
    context.read_conn()  # the store exists and is current
    with progress_bar("Building the search index", threshold=500) as progress:
        result = suggestions.for_case(context.settings().db, number, articles=articles, cases=cases,
                                      progress=progress)
    if as_json:
        print_json(result.to_dict())
        return
    from rich.text import Text

    from caseterm.cli.output import print_article_hit

    c = context.console()
    if articles:
        c.print("Articles", style="bold")
        for hit in result.articles:
            print_article_hit(c, hit, indent="  ")
        if result.note:
            c.print(f"  {result.note}", style="dim")
        elif not result.articles:
            c.print("  No published article is like this case.", style="dim")
    if cases:
        c.print("Similar resolved cases", style="bold")
        for case in result.cases:
            line = Text("  ")
            line.append(case.number, style="bold")
            line.append(f"  {case.title}")
            if case.resolved_at:
                line.append(f"  (resolved {case.resolved_at[:10]})", style="dim")
            c.print(line)
            c.print(Text(f"    {case.resolution}"))
        if not result.cases:
            c.print("  No resolved case is like this one.", style="dim")


# --- writes ----------------------------------------------------------------------------------


def _done(case, as_json: bool, message: str) -> None:
    if as_json:
        print_json({"number": case.number, "id": case.id, "state": case.state, "status": case.status_reason,
                    "queue_id": case.queue_id, "owner_id": case.owner_id})
    else:
        context.console().print(message)


def _text_arg(value: str) -> str:
    """``-`` reads the text from standard input."""
    return sys.stdin.read() if value == "-" else value


@app.command("new")
def new_case(
    customer: Annotated[str, typer.Option(help="The customer: email, phone or id.")],
    title: Annotated[str, typer.Option(help="One line saying what the case is about.")],
    description: Annotated[str, typer.Option(help="What the customer reported ('-' reads stdin).")] = "",
    origin: Annotated[str, typer.Option(help="phone, email, web, chat, store, field or iot.")] = "phone",
    priority: Annotated[str, typer.Option(help="1 critical, 2 high, 3 normal, 4 low.")] = "3",
    case_type: Annotated[str, typer.Option("--type", help="question, problem, request or complaint.")] = "problem",
    queue: Annotated[Optional[str], typer.Option(help="Queue name.")] = None,
    owner: Annotated[Optional[str], typer.Option(help="Owner login ('me' for yourself).")] = None,
    category: Annotated[Optional[str], typer.Option(help="Category name.")] = None,
    product: Annotated[Optional[str], typer.Option(help="Product SKU.")] = None,
    asset: Annotated[Optional[str], typer.Option(help="Serial number of the customer's asset.")] = None,
    parent: Annotated[Optional[str], typer.Option(help="Parent case number.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a case and print its number."""
    from sqlmodel import select

    from caseterm.errors import NotFound
    from caseterm.services import cases, lookup
    from caseterm.store.models import Asset

    with context.store().uow() as uow:
        me = context.actor(uow)
        cust = lookup.customer_by_key(uow, customer)
        asset_row = None
        if asset:
            asset_row = uow.session.exec(
                select(Asset).where(Asset.serial_number == asset.strip(), Asset.customer_id == cust.id)
            ).first()
            if asset_row is None:
                raise NotFound(f"{cust.name} has no asset with serial {asset}")
        case = cases.create_case(
            uow, me,
            customer=cust,
            title=title,
            description=_text_arg(description),
            origin=origin,
            case_type=case_type,
            priority=priority,
            queue=lookup.queue_by_name(uow, queue) if queue else None,
            owner=(me if owner.strip().lower() == "me" else lookup.agent_by_login(uow, owner)) if owner else None,
            category=lookup.category_by_name(uow, category) if category else None,
            product=lookup.product_by_sku(uow, product) if product else None,
            asset=asset_row,
            parent=lookup.case_by_number(uow, parent) if parent else None,
        )
    _done(case, as_json, case.number)


@app.command("update")
def update_case(
    number: Annotated[str, typer.Argument(help="Case number.")],
    title: Annotated[Optional[str], typer.Option()] = None,
    description: Annotated[Optional[str], typer.Option()] = None,
    priority: Annotated[Optional[str], typer.Option()] = None,
    origin: Annotated[Optional[str], typer.Option()] = None,
    case_type: Annotated[Optional[str], typer.Option("--type")] = None,
    category: Annotated[Optional[str], typer.Option(help="Category name.")] = None,
    product: Annotated[Optional[str], typer.Option(help="Product SKU.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Edit a case's descriptive fields."""
    from caseterm.errors import ValidationError
    from caseterm.services import cases, lookup

    with context.store().uow() as uow:
        me = context.actor(uow)
        case = lookup.case_by_number(uow, number)
        fields = {k: v for k, v in {"title": title, "description": _text_arg(description) if description else None,
                                    "priority": priority, "origin": origin, "case_type": case_type}.items()
                  if v is not None}
        if category:
            fields["category_id"] = lookup.category_by_name(uow, category).id
        if product:
            fields["product_id"] = lookup.product_by_sku(uow, product).id
        if not fields:
            raise ValidationError("fields", "name at least one field to change (see --help)")
        changed = cases.update_case(uow, me, case, **fields)
    _done(case, as_json, f"{case.number}: " + (", ".join(sorted(changed)) + " changed" if changed else "nothing changed"))


@app.command("note")
def note(
    number: Annotated[str, typer.Argument(help="Case number.")],
    text: Annotated[str, typer.Argument(help="The note ('-' reads stdin).")],
    customer_visible: Annotated[bool, typer.Option("--customer-visible", help="Visible to the customer.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a note to the case's timeline."""
    from caseterm.services import cases, lookup

    with context.store().uow() as uow:
        me = context.actor(uow)
        case = lookup.case_by_number(uow, number)
        cases.add_activity(uow, me, case, kind="note", body=_text_arg(text),
                           visibility="customer" if customer_visible else "internal")
    _done(case, as_json, f"{case.number}: note added")


@app.command("log")
def log_activity(
    number: Annotated[str, typer.Argument(help="Case number.")],
    kind: Annotated[str, typer.Option(help="phone_call, email_in, email_out, chat, task, visit or note.")],
    text: Annotated[str, typer.Argument(help="What happened ('-' reads stdin).")],
    subject: Annotated[str, typer.Option(help="Subject line.")] = "",
    duration: Annotated[Optional[str], typer.Option(help="How long, e.g. 5m, 1h30m, 4:30.")] = None,
    direction: Annotated[Optional[str], typer.Option(help="inbound or outbound.")] = None,
    customer_visible: Annotated[bool, typer.Option("--customer-visible")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Log a phone call, email, chat, task or visit on the case's timeline."""
    from caseterm.domain.durations import parse_duration
    from caseterm.services import cases, lookup

    seconds = parse_duration(duration) if duration else None
    with context.store().uow() as uow:
        me = context.actor(uow)
        case = lookup.case_by_number(uow, number)
        entry = cases.add_activity(uow, me, case, kind=kind, body=_text_arg(text), subject=subject,
                                   duration_seconds=seconds, direction=direction,
                                   visibility="customer" if customer_visible else "internal")
    _done(case, as_json, f"{case.number}: {entry.kind.replace('_', ' ')} logged")


@app.command("assign")
def assign(
    numbers: Annotated[list[str], typer.Argument(help="Case number; several for a bulk reassignment (supervisors).")],
    queue: Annotated[Optional[str], typer.Option(help="Queue name, or 'none'.")] = None,
    owner: Annotated[Optional[str], typer.Option(help="Owner login, 'me', or 'none'.")] = None,
    over_capacity: Annotated[bool, typer.Option("--over-capacity",
                                                help="Bulk: hand over even past the agent's capacity.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Assign the case to a queue and/or an owner. With several cases, a supervisor hands
    them all to one owner, refused if it would take the owner past their capacity."""
    from caseterm.errors import ValidationError
    from caseterm.services import cases, lookup

    if len(numbers) > 1:
        if not owner or owner.strip().lower() == "none" or queue is not None:
            raise ValidationError("--owner", "a bulk reassignment names one owner (and no queue)")
        with context.store().uow() as uow:
            me = context.actor(uow)
            target = me if owner.strip().lower() == "me" else lookup.agent_by_login(uow, owner)
            moved = cases.bulk_assign(uow, me, [lookup.case_by_number(uow, n) for n in numbers], target,
                                      over_capacity=over_capacity)
        if as_json:
            print_json({"owner": target.login, "assigned": moved})
        else:
            context.console().print(f"{len(moved)} case(s) assigned to {target.login}"
                                    + (f": {', '.join(moved)}" if moved else " (they were already theirs)"))
        return
    number = numbers[0]
    with context.store().uow() as uow:
        me = context.actor(uow)
        case = lookup.case_by_number(uow, number)
        q = o = False
        if queue is not None:
            q = None if queue.strip().lower() == "none" else lookup.queue_by_name(uow, queue)
        if owner is not None:
            key = owner.strip().lower()
            o = None if key == "none" else me if key == "me" else lookup.agent_by_login(uow, owner)
        changed = cases.assign_case(uow, me, case, queue=q, owner=o)
    _done(case, as_json, f"{case.number}: " + ("assigned" if changed else "nothing to change, already assigned so"))


@app.command("route")
def route(number: Annotated[str, typer.Argument(help="Case number.")], as_json: JsonOpt = False) -> None:
    """Send the case where the routing rules say (queue, agent by the queue's strategy)."""
    from caseterm.services import cases, lookup

    with context.store().uow() as uow:
        case = lookup.case_by_number(uow, number)
        reason = cases.route_case(uow, context.actor(uow), case)
    _done(case, as_json, f"{case.number}: {reason}")


@app.command("escalate")
def escalate(
    number: Annotated[str, typer.Argument(help="Case number.")],
    reason: Annotated[str, typer.Option(help="Why it needs escalating (for the timeline and the next person).")],
    to: Annotated[Optional[str], typer.Option(help="The queue to escalate to; default: the queue's escalate_to.")]
    = None,
    as_json: JsonOpt = False,
) -> None:
    """Hand the case up to the escalation queue (or --to), one priority step up, with a reason."""
    from caseterm.services import cases, lookup

    with context.store().uow() as uow:
        case = lookup.case_by_number(uow, number)
        target = lookup.queue_by_name(uow, to) if to else None
        words = cases.escalate_case(uow, context.actor(uow), case, reason, to=target)
    _done(case, as_json, f"{case.number}: {words}")


@app.command("status")
def set_status(
    number: Annotated[str, typer.Argument(help="Case number.")],
    status: Annotated[str, typer.Argument(help="in_progress, on_hold, waiting_for_customer or researching.")],
    note: Annotated[Optional[str], typer.Option(help="Why, for the timeline.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change an active case's status."""
    from caseterm.services import cases, lookup

    with context.store().uow() as uow:
        me = context.actor(uow)
        case = cases.set_status(uow, me, lookup.case_by_number(uow, number), status, note)
    _done(case, as_json, f"{case.number}: {status_label(case.status_reason).lower()}")


@app.command("resolve")
def resolve(
    number: Annotated[str, typer.Argument(help="Case number.")],
    resolution: Annotated[str, typer.Argument(help="What solved it ('-' reads stdin).")] = "",
    kind: Annotated[str, typer.Option(help="problem_solved or information_provided.")] = "problem_solved",
    force: Annotated[bool, typer.Option(help="Resolve a parent whose children are still active (supervisors).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Resolve the case with a resolution text."""
    from caseterm.services import cases, lookup

    with context.store().uow() as uow:
        me = context.actor(uow)
        case = cases.resolve_case(uow, me, lookup.case_by_number(uow, number), _text_arg(resolution), kind, force)
    _done(case, as_json, f"{case.number}: resolved ({status_label(case.status_reason).lower()})")


@app.command("cancel")
def cancel(
    number: Annotated[str, typer.Argument(help="Case number.")],
    reason: Annotated[str, typer.Argument(help="Why (for the timeline).")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Cancel an active case."""
    from caseterm.services import cases, lookup

    with context.store().uow() as uow:
        me = context.actor(uow)
        case = cases.cancel_case(uow, me, lookup.case_by_number(uow, number), reason)
    _done(case, as_json, f"{case.number}: cancelled")


@app.command("reopen")
def reopen(
    number: Annotated[str, typer.Argument(help="Case number.")],
    reason: Annotated[str, typer.Argument(help="Why (for the timeline).")] = "",
    override: Annotated[bool, typer.Option(help="Reopen after the reopen window (supervisors).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Reopen a resolved (within the reopen window) or cancelled case."""
    from caseterm.services import cases, lookup

    with context.store().uow() as uow:
        me = context.actor(uow)
        case = cases.reopen_case(uow, me, lookup.case_by_number(uow, number), reason, override)
    _done(case, as_json, f"{case.number}: reopened (in progress)")


@app.command("merge")
def merge(
    master: Annotated[str, typer.Argument(help="The case that stays.")],
    duplicates: Annotated[list[str], typer.Argument(help="Cases merged into it.")],
    as_json: JsonOpt = False,
) -> None:
    """Merge duplicate cases into a master case."""
    from caseterm.services import cases, lookup

    with context.store().uow() as uow:
        me = context.actor(uow)
        target = lookup.case_by_number(uow, master)
        dups = [lookup.case_by_number(uow, n) for n in duplicates]
        cases.merge_cases(uow, me, target, dups)
    _done(target, as_json, f"{target.number}: merged in {', '.join(d.number for d in dups)}")


@app.command("parent")
def parent(
    number: Annotated[str, typer.Argument(help="Case number.")],
    parent_number: Annotated[str, typer.Argument(metavar="PARENT", help="Parent case number, or 'none'.")],
    as_json: JsonOpt = False,
) -> None:
    """Set or clear the case's parent."""
    from caseterm.services import cases, lookup

    with context.store().uow() as uow:
        me = context.actor(uow)
        case = lookup.case_by_number(uow, number)
        target = None if parent_number.strip().lower() == "none" else lookup.case_by_number(uow, parent_number)
        cases.link_parent(uow, me, case, target)
    _done(case, as_json, f"{case.number}: parent {target.number if target else 'cleared'}")

"""``caseterm customers …``: find and create customers."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from caseterm.cli import context
from caseterm.cli.output import print_json

app = typer.Typer(help="Find and create customers.", no_args_is_help=True, rich_markup_mode=None)


@app.command("find")
def find(
    text: Annotated[str, typer.Argument(help="Name, email, phone, order number or asset serial.")],
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (shape documented in the README).")] = False,
) -> None:
    """Find customers by name, email, phone, order number or asset serial."""
    import uuid

    from caseterm.store import queries

    hits = queries.find_customers(context.read_conn(), text, limit)
    if as_json:
        print_json({"customers": [
            {"id": str(uuid.UUID(h.id)), "name": h.name, "kind": h.kind, "email": h.email, "phone": h.phone,
             "city": h.city, "tier": h.tier, "matched": h.matched, "active_cases": h.active_cases}
            for h in hits
        ]})
        return
    c = context.console()
    if not hits:
        c.print(f"No customer matches '{text}'.")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("Name", "Email", "Phone", "City", "Tier", "Active cases", "Matched", "Id"):
        table.add_column(name, no_wrap=True)
    for h in hits:
        table.add_row(h.name, h.email or "—", h.phone or "—", h.city or "—", h.tier, str(h.active_cases), h.matched,
                      str(uuid.UUID(h.id)))
    c.print(table)


@app.command("new")
def new(
    name: Annotated[str, typer.Option(help="Full name, or the organisation's name.")],
    email: Annotated[Optional[str], typer.Option()] = None,
    phone: Annotated[Optional[str], typer.Option()] = None,
    kind: Annotated[str, typer.Option(help="person or organisation.")] = "person",
    address: Annotated[Optional[str], typer.Option()] = None,
    postcode: Annotated[Optional[str], typer.Option()] = None,
    city: Annotated[Optional[str], typer.Option()] = None,
    country: Annotated[Optional[str], typer.Option(help="Two-letter country code.")] = None,
    tier: Annotated[str, typer.Option(help="standard, gold or platinum.")] = "standard",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a customer and print their id."""
    from caseterm.services import customers

    with context.store().uow() as uow:
        me = context.actor(uow)
        customer = customers.create_customer(uow, me, name=name, email=email, phone=phone, kind=kind, address=address,
                                             postcode=postcode, city=city, country=country, tier=tier)
    if as_json:
        print_json({"id": customer.id, "name": customer.name, "email": customer.email, "phone": customer.phone,
                    "kind": customer.kind, "tier": customer.tier})
    else:
        context.console().print(str(customer.id))


@app.command("entitle")
def entitle(
    customer: Annotated[str, typer.Argument(help="The customer's email, phone, order number or id.")],
    template: Annotated[str, typer.Argument(help="An entitlement template of the operations file, e.g. 'Gold support'.")],
    starts: Annotated[Optional[str], typer.Option("--from", help="First day, YYYY-MM-DD (default today).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Grant the customer an entitlement (supervisors and admins): their new cases on its
    channels run under its SLA and use it up case by case."""
    from datetime import date

    from caseterm.errors import ValidationError
    from caseterm.services import entitlements
    from caseterm.services.lookup import customer_by_key

    first = None
    if starts:
        try:
            first = date.fromisoformat(starts.strip())
        except ValueError:
            raise ValidationError("--from", f"'{starts}' is not a date like 2026-12-01") from None
    with context.store().uow() as uow:
        granted = entitlements.grant(uow, context.actor(uow), customer_by_key(uow, customer), template, first)
    if as_json:
        print_json({"id": granted.id, "name": granted.name, "sla": granted.sla, "channels": granted.channels,
                    "starts_on": granted.starts_on, "ends_on": granted.ends_on, "cases_left": granted.cases_left,
                    "minutes_left": granted.minutes_left})
    else:
        left = ("unlimited cases" if granted.cases_left is None and granted.minutes_left is None
                else f"{granted.cases_left} case(s)" if granted.cases_left is not None
                else f"{granted.minutes_left // 60} hour(s) of work")
        context.console().print(f"{granted.name}: {granted.starts_on} to {granted.ends_on}, {left}, "
                                f"channels {', '.join(granted.channels) or 'all'}")

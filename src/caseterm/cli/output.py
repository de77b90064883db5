"""Rendering for the CLI: the stable ``--json`` shapes (documented in README) and rich tables."""

from __future__ import annotations

from contextlib import contextmanager

import json
import sys
from typing import Any

from caseterm.domain.enums import Priority, StatusReason
from caseterm.domain.text import compact_age as age  # noqa: F401  (re-exported for the commands)
from caseterm.domain.text import short_time as when  # noqa: F401
from caseterm.store.wire import to_wire

PRIORITY_LABELS = {p.value: p.label for p in Priority}


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(to_wire(payload), indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def status_label(status: str) -> str:
    try:
        return StatusReason(status).label
    except ValueError:
        return status


def case_row_json(row) -> dict[str, Any]:
    return {
        "number": row.number,
        "priority": row.priority,
        "title": row.title,
        "customer": row.customer_name,
        "state": row.state,
        "status": row.status_reason,
        "queue": row.queue_name,
        "owner": row.owner_login,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "resolved_at": row.resolved_at,
    }


def case_detail_json(detail) -> dict[str, Any]:
    f = detail.fields
    return {
        "case": {
            "number": f["number"],
            "id": _uuid_text(f["id"]),
            "title": f["title"],
            "description": f["description"],
            "priority": f["priority"],
            "origin": f["origin"],
            "type": f["type"],
            "state": f["state"],
            "status": f["status_reason"],
            "customer": {"id": _uuid_text(f["customer_id"]), "name": f["customer_name"],
                         "email": f["customer_email"], "phone": f["customer_phone"]},
            "queue": f["queue"],
            "owner": f["owner"],
            "created_by": f["created_by"],
            "category": f["category"],
            "product": {"sku": f["product_sku"], "name": f["product_name"]} if f["product_sku"] else None,
            "asset_serial": f["asset_serial"],
            "created_at": f["created_at"],
            "updated_at": f["updated_at"],
            "resolved_at": f["resolved_at"],
            "cancelled_at": f["cancelled_at"],
            "resolution": f["resolution"],
            "reopen_count": f["reopen_count"],
            "version": f["version"],
            "escalated": f["escalated"],
            "sla": {"policy": f["sla_policy"], "first_response_due_at": f["first_response_due_at"],
                    "first_response_at": f["first_response_at"], "resolve_due_at": f["resolve_due_at"],
                    "paused_since": f["sla_paused_at"], "warned": f["sla_warned"], "breached": f["sla_breached"]}
            if f["sla_policy"] else None,
            "entitlement": {"name": f["entitlement"], "ends_on": f["entitlement_ends_on"],
                            "cases_left": f["entitlement_cases_left"], "minutes_left": f["entitlement_minutes_left"]}
            if f["entitlement"] else None,
        },
        "related": {
            "parent": detail.parent,
            "children": [{"number": n, "state": s} for n, s in detail.children],
            "merged_in": detail.merged_in,
            "merged_into": detail.merged_into,
        },
        "timeline": [
            {
                "kind": e.kind,
                "event": e.event,
                "case": e.case_number,
                "author": e.author_login,
                "occurred_at": e.occurred_at,
                "direction": e.direction,
                "subject": e.subject,
                "body": e.body,
                "duration_seconds": e.duration_seconds,
                "visibility": e.visibility,
            }
            for e in detail.timeline
        ],
    }


def _uuid_text(hex_value: str | None) -> str | None:
    import uuid

    return str(uuid.UUID(hex_value)) if hex_value else None


def print_article_hit(console, hit, indent: str = "") -> None:
    """A knowledge search hit (``kb_index.Hit``): number, title, product and category, then
    its snippet with the matched words (marked «like this» by the index) highlighted."""
    import re

    from rich.text import Text

    from caseterm.search.kb_index import MARK_END, MARK_START

    line = Text(indent)
    line.append(hit.number, style="bold")
    line.append("  ")
    line.append(hit.title, style="bold")
    extra = " · ".join(x for x in (hit.product, hit.category) if x)
    if extra:
        line.append(f"  ({extra})", style="dim")
    console.print(line)
    snippet = Text(indent + "  ")
    marked = f"({re.escape(MARK_START)}[^{MARK_END}]*{re.escape(MARK_END)})"
    for i, part in enumerate(re.split(marked, hit.snippet)):
        snippet.append(part, style="bold yellow" if i % 2 else None)
    console.print(snippet)


@contextmanager
def progress_bar(label: str, threshold: int = 0):
    """``with progress_bar(label) as progress:`` a ``progress(done, total)`` callback that
    shows a rich bar on stderr once work of at least ``threshold`` items starts (a small
    rebuild of the search index stays quiet); the bar goes when the block ends."""
    state: dict = {}

    def progress(done: int, total: int) -> None:
        if total < threshold:
            return
        if "bar" not in state:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            from caseterm.cli import context

            bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           console=context.err_console(), transient=True)
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(label, total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield progress
    finally:
        if "bar" in state:
            state.pop("bar").stop()

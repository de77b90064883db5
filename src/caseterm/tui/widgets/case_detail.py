"""The case pane: header fields, related cases, what can be done next, and the timeline."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from caseterm.domain import case_lifecycle
from caseterm.domain.durations import format_duration
from caseterm.domain.enums import CaseState, Priority, StatusReason
from caseterm.domain.text import short_time as when
from caseterm.domain.text import time_left
from caseterm.store.queries import CaseDetail
from caseterm.tui.widgets.case_list import SLA_AT_RISK

PRIORITY = {p.value: p.label for p in Priority}


def lifecycle_of(fields: dict) -> case_lifecycle.Lifecycle:
    return case_lifecycle.Lifecycle(
        state=CaseState(fields["state"]),
        status=StatusReason(fields["status_reason"]),
        resolution=fields["resolution"],
        resolved_at=fields["resolved_at"],
        merged_into=fields["merged_into"],
    )


class CaseDetailPane(VerticalScroll, can_focus=True):
    DEFAULT_CSS = """
    CaseDetailPane { background: $surface; padding: 0 1; }
    CaseDetailPane > #case-header { margin-bottom: 1; }
    CaseDetailPane > #case-actions { color: $text-muted; margin-bottom: 1; }
    CaseDetailPane > #case-suggestions { margin-bottom: 1; }
    CaseDetailPane > #case-timeline { }
    """

    suggestions_text = ""  # what the suggestions section says, as plain text

    def now(self):
        return self.app.clock.now()

    def compose(self):
        yield Static("Pick a case from the queue (j/k, Enter).", id="case-header")
        yield Static("", id="case-actions")
        yield Static("", id="case-suggestions")
        yield Static("", id="case-timeline")

    def show(self, detail: CaseDetail | None, keys: dict[str, str]) -> None:
        """``keys`` maps an action to the key that does it, for the "next steps" line."""
        header = self.query_one("#case-header", Static)
        actions = self.query_one("#case-actions", Static)
        timeline = self.query_one("#case-timeline", Static)
        self.query_one("#case-suggestions", Static).update("")
        if detail is None:
            header.update("No case selected.")
            actions.update("")
            timeline.update("")
            return
        f = detail.fields
        status = StatusReason(f["status_reason"]).label
        title = Text.assemble((f["number"], "bold"), "  ", (f["title"], "bold"))
        lines = Table.grid(padding=(0, 1))
        lines.add_column(style="dim", no_wrap=True)
        lines.add_column()
        lines.add_row("Status", f"{CaseState(f['state']).label} · {status}")
        lines.add_row("Priority", f"{f['priority']} {PRIORITY.get(f['priority'], '')} · {f['type']} via {f['origin']}")
        contact = " · ".join(x for x in (f["customer_email"], f["customer_phone"]) if x)
        lines.add_row("Customer", Text(f["customer_name"] + (f"  ({contact})" if contact else "")))
        address = ", ".join(x for x in (f["customer_address"], " ".join(
            y for y in (f["customer_postcode"], f["customer_city"]) if y)) if x)
        if address:
            lines.add_row("Address", Text(address))
        lines.add_row("Queue", f"{f['queue'] or '—'} · owner {f['owner'] or 'nobody'}"
                      + (" · escalated" if f["escalated"] else ""))
        if f["product_name"]:
            serial = f" · serial {f['asset_serial']}" if f["asset_serial"] else ""
            lines.add_row("Product", Text(f"{f['product_name']}{serial}"))
        lines.add_row("Opened", f"{when(f['created_at'])} by {f['created_by'] or '—'}")
        if sla := sla_line(f, self.now()):
            lines.add_row("SLA", sla)
        if f["entitlement"]:
            left = ""
            if f["entitlement_cases_left"] is not None:
                left = f" · {f['entitlement_cases_left']} case(s) left"
            elif f["entitlement_minutes_left"] is not None:
                left = f" · {format_duration(f['entitlement_minutes_left'] * 60)} of work left"
            lines.add_row("Entitlement", Text(f"{f['entitlement']}{left} · until {f['entitlement_ends_on']}"))
        if f["resolution"]:
            lines.add_row("Resolution", Text(f["resolution"]))
        if related := detail.related_summary():
            lines.add_row("Related", Text(related))
        parts = [title, lines]
        if f["description"]:
            parts += [Text(""), Text(f["description"])]
        header.update(Group(*parts))

        possible = []
        for action in ("customer", "note", "call", "status", "assign", "route", "escalate", "resolve", "cancel", "reopen",
                       "merge", "parent"):
            if action_available(action, f) and action in keys:
                possible.append(f"{keys[action]} {action}")
        actions.update("Next: " + " · ".join(possible) if possible else "")

        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True, style="dim")
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, style="dim")
        table.add_column(ratio=1)
        for e in detail.timeline:
            system = e.kind == "system"
            what = (e.event or "event").replace("_", " ") if system else e.kind.replace("_", " ")
            if e.duration_seconds:
                what += f" {format_duration(e.duration_seconds)}"
            text = Text(" — ".join(x for x in ((e.subject if not system else ""), e.body) if x))
            if e.case_number != f["number"]:
                text = Text.assemble((f"[{e.case_number}] ", "italic"), text)
            if system:
                text.stylize("dim")
            table.add_row(when(e.occurred_at), Text(what, style="dim" if system else "bold"), e.author_login or "—", text)
        timeline.update(Group(Text("Timeline (newest first)", style="bold underline"), table))
        self.scroll_home(animate=False)


    def show_suggestions(self, suggestions, linked: set[str]) -> None:
        """Suggested articles (numbered: the digit links one to the case) and similar
        resolved cases with their resolutions; ``suggestions`` as ``search.suggest`` makes them,
        None while they are being worked out."""
        box = self.query_one("#case-suggestions", Static)
        if suggestions is None:
            box.update(Text("Suggestions: looking…", style="dim"))
            self.suggestions_text = ""
            return
        parts: list = [Text("Suggested articles", style="bold underline")]
        if suggestions.articles:
            for i, hit in enumerate(suggestions.articles, 1):
                mark = "  ✓ linked" if hit.number in linked else ""
                parts.append(Text.assemble((f" {i} ", "bold reverse"), " ", (hit.number, "dim"), "  ", hit.title,
                                           (mark, "green")))
            parts.append(Text(f"   {'/'.join(str(i) for i in range(1, len(suggestions.articles) + 1))} links one "
                              "to the case · Ctrl+K searches the knowledge base", style="dim"))
        else:
            parts.append(Text(suggestions.note or "No article matches this case; Ctrl+K to search.", style="dim"))
        parts += [Text(""), Text("Similar resolved cases", style="bold underline")]
        if suggestions.cases:
            for case in suggestions.cases:
                resolution = case.resolution if len(case.resolution) <= 160 else case.resolution[:159] + "…"
                parts.append(Text.assemble(" ", (case.number, "bold"), "  ", case.title))
                parts.append(Text.assemble("   → ", (resolution, "italic")))
        else:
            parts.append(Text("None resolved yet that look like this one.", style="dim"))
        box.update(Group(*parts))
        self.suggestions_text = "\n".join(part.plain for part in parts)


def sla_line(fields: dict, now) -> Text | None:
    """Both SLA clocks of a case: when each is due and how it stands (met, time left, late)."""
    parts: list[tuple[str, str]] = []
    for label, due, done in (("first response", fields["first_response_due_at"], fields["first_response_at"]),
                             ("resolve", fields["resolve_due_at"], fields["resolved_at"])):
        if due is None:
            continue
        if done is not None:
            parts.append((f"{label} by {when(due)}: " + ("met" if done <= due else f"late by {time_left(done, due)}"),
                          "" if done <= due else "red"))
        elif fields["state"] != "active":
            parts.append((f"{label} by {when(due)}", "dim"))
        else:
            left = due - now
            style = "bold red" if left.total_seconds() <= 0 else "yellow" if left < SLA_AT_RISK else ""
            state = f"{time_left(now, due)} overdue" if left.total_seconds() <= 0 else f"{time_left(due, now)} left"
            parts.append((f"{label} by {when(due)} ({state})", style))
    if not parts:
        return None
    if fields.get("sla_paused_at") is not None and fields["state"] == "active":
        parts.append((f"clocks stopped since {when(fields['sla_paused_at'])}", "italic"))
    text = Text()
    for i, (words, style) in enumerate(parts):
        if i:
            text.append(" · ")
        text.append(words, style=style)
    return text


def action_available(action: str, fields: dict) -> bool:
    """Whether ``action`` makes sense for a case in this state (the services decide for real)."""
    lc = lifecycle_of(fields)
    allowed = case_lifecycle.allowed_actions(lc)
    if action in ("note", "call", "customer"):
        return True
    if action == "status":
        return bool(case_lifecycle.settable_statuses(lc))
    if action in ("assign", "route", "parent", "escalate"):
        return lc.state is CaseState.ACTIVE
    return action in allowed

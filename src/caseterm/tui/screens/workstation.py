"""The agent's workstation: saved views with live counts, the queue, the case pane, and a
status bar. Every action is a key (shown in the footer and the command palette) that
opens a dialog; the dialog's service call runs in a worker; then the queue, the counts
and the case refresh in place."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from caseterm.domain import case_lifecycle
from caseterm.domain.enums import CaseState, StatusReason
from caseterm.errors import CasetermError
from caseterm.store.queries import CaseDetail, CaseView, store_time
from caseterm.tui.screens import forms
from caseterm.tui.widgets.case_detail import CaseDetailPane, action_available, lifecycle_of
from caseterm.tui.widgets.case_list import CaseList, CaseListHeader

log = logging.getLogger("caseterm.tui")


def _cases():
    """The case services, imported on first use: SQLModel stays out of the first paint."""
    from caseterm.services import cases

    return cases


AT_RISK = "at-risk"
AT_RISK_WITHIN = timedelta(hours=4)  # "SLA at risk": to be resolved within this, or overdue
SUGGEST_DELAY = 0.15  # seconds the cursor rests on a case before its suggestions are worked out
SLA_SWEEP_SECONDS = 60  # how often the workstation records SLA warnings and breaches
EXPIRY_CHECK_SECONDS = 15 * 60  # how often the workstation expires knowledge articles past their date
SYNC_SECONDS = 60  # background sync, when the store is logged in to a server
SYNC_BACKOFF_MAX = 15 * 60  # after failures the background sync waits longer each time, up to this


@dataclass(frozen=True)
class SavedView:
    key: str
    label: str
    view: CaseView


def saved_views(me) -> list[SavedView]:
    """The views in the left pane. Technicians see their work first (DESIGN: field service)."""
    if me.role == "technician":
        return [
            SavedView("mine", "My work", CaseView(owner_id=me.id)),
            SavedView("resolved-mine", "My recently resolved",
                      CaseView(state=CaseState.RESOLVED, owner_id=me.id, sort="resolved")),
        ]
    views = [SavedView("mine", "My active cases", CaseView(owner_id=me.id))]
    views += [SavedView(f"queue:{qid}", f"  {name}", CaseView(queue_id=qid)) for qid, name in me.queues]
    views += [
        SavedView("unassigned", "Unassigned", CaseView(unassigned=True)),
        SavedView("all", "All active", CaseView()),
        SavedView(AT_RISK, "SLA at risk", CaseView(sort="due")),  # due_before set when shown (live_view)
        SavedView("resolved", "Recently resolved", CaseView(state=CaseState.RESOLVED, sort="resolved")),
    ]
    return views


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """


class WorkstationScreen(Screen):
    DEFAULT_CSS = """
    WorkstationScreen #main { height: 1fr; }
    WorkstationScreen #views { width: 30; border-right: tall $panel; background: $surface; }
    WorkstationScreen #views-title { text-style: bold; padding: 0 1; background: $panel; }
    WorkstationScreen #queue-pane { height: 45%; border-bottom: tall $panel; }
    WorkstationScreen #queue-title { text-style: bold; padding: 0 1; background: $panel; }
    WorkstationScreen #view-list { height: 1fr; border: none; }
    WorkstationScreen CaseDetailPane { height: 1fr; }
    WorkstationScreen #filter { display: none; border: none; height: 1; padding: 0 1; }
    WorkstationScreen #filter.shown { display: block; }
    """
    BINDINGS = [
        Binding("n", "new_case", "New case", id="case.new", tooltip="Log a new case"),
        Binding("a", "note", "Note", id="case.note", tooltip="Add a note to the case"),
        Binding("c", "call", "Call", id="case.call", tooltip="Log a phone call (a timer runs while you talk)"),
        Binding("s", "status", "Status", id="case.status", tooltip="Change the status (only allowed ones are offered)"),
        Binding("w", "assign", "Assign", id="case.assign", tooltip="Assign to a queue or an agent"),
        Binding("r", "resolve", "Resolve", id="case.resolve", tooltip="Resolve with a resolution text"),
        Binding("E", "escalate", "Escalate", show=False, id="case.escalate",
                tooltip="Hand the case up to the escalation queue, with a reason"),
        Binding("e", "route", "Route", show=False, id="case.route",
                tooltip="Send the case where the routing rules say (queue and agent)"),
        Binding("x", "cancel_case", "Cancel", show=False, id="case.cancel", tooltip="Cancel the case"),
        Binding("o", "reopen", "Reopen", show=False, id="case.reopen", tooltip="Reopen a resolved or cancelled case"),
        Binding("m", "merge", "Merge", show=False, id="case.merge", tooltip="Merge duplicates into this case"),
        Binding("p", "parent", "Parent", show=False, id="case.parent", tooltip="Set or clear the parent case"),
        Binding("slash", "filter", "Filter", id="queue.filter", tooltip="Filter the queue by number, title or customer"),
        Binding("t", "sort", "Sort", show=False, id="queue.sort",
                tooltip="Sort the queue: the view's own order → newest first → oldest first"),
        Binding("u", "customer_360", "Customer", id="case.customer_360",
                tooltip="Customer 360: profile, assets, orders and every case of this case's customer"),
        Binding("ctrl+k,f4", "knowledge", "Knowledge", id="case.knowledge",
                tooltip="Search the knowledge base (from a case: its title, and link articles to it)"),
        Binding("1", "link_suggested(1)", "Link article 1", show=False, id="case.link_1",
                tooltip="Link the first suggested article to the case"),
        Binding("2", "link_suggested(2)", "Link article 2", show=False, id="case.link_2",
                tooltip="Link the second suggested article to the case"),
        Binding("3", "link_suggested(3)", "Link article 3", show=False, id="case.link_3",
                tooltip="Link the third suggested article to the case"),
        Binding("f6", "kb_desk", "Drafts & review", show=False, id="kb.desk",
                tooltip="Knowledge articles being written or waiting for review"),
        Binding("f", "find_customer", "Find customer", show=False, id="customer.find",
                tooltip="Find a customer by name, email, phone, order or serial and open their 360"),
        Binding("v", "focus_views", "Views", show=False, id="focus.views", tooltip="Go to the saved views"),
        Binding("l", "focus_queue", "Queue", show=False, id="focus.queue", tooltip="Go to the queue"),
        Binding("d", "focus_detail", "Case", show=False, id="focus.detail", tooltip="Go to the case pane"),
        Binding("f9", "sync", "Sync", show=False, id="sync.now", tooltip="Sync with the server now"),
        Binding("f8", "sync_problems", "Sync problems", show=False, id="sync.problems",
                tooltip="Conflicts and rejected changes to decide"),
        Binding("f5,ctrl+r", "refresh", "Refresh", show=False, id="app.refresh", tooltip="Reload counts, queue and case"),
    ]
    ACTION_KEYS = {"customer": "u", "note": "a", "call": "c", "status": "s", "assign": "w", "route": "e",
                   "escalate": "E", "resolve": "r", "cancel": "x",
                   "reopen": "o", "merge": "m", "parent": "p"}

    def __init__(self, gateway, me, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway
        self.me = me
        self.views = saved_views(me)
        self.active = self.views[0]
        self.counts: dict[str, int] = {}
        self.detail: CaseDetail | None = None
        self.at_risk_before = ""  # store time: the "SLA at risk" view's horizon, set by refresh_all
        self.suggestions = None  # search.suggest.Suggestions for the open case, once worked out
        self.suggestions_for: str | None = None  # ... and the case they are for
        self.linked: set[str] = set()  # the numbers of the articles linked to that case
        self.sort_override: str | None = None  # "newest" / "oldest", or None for the view's own order
        self.queue_title = self.active.label
        self.sync_info: dict = {}  # gateway.sync_state() as last read
        self.sync_problem: str | None = None  # why the last sync failed, in words; None after a good one
        self.sync_running = False
        self._sync_failures = 0
        self._next_sync_at = 0.0  # time.monotonic() before which the background sync waits (backoff)

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="views"):
                yield Static("Views", id="views-title")
                yield OptionList(*self._view_options(), id="view-list")
            with Vertical():
                with Vertical(id="queue-pane"):
                    yield Static(self.active.label, id="queue-title")
                    yield Input(id="filter", placeholder="Filter this view: case number, words of the title, customer name"
                                " (Enter: back to the list, Esc: clear)")
                    header = CaseListHeader()
                    yield header
                    yield CaseList(self.gateway, self.app.clock.now, header=header, id="queue")
                yield CaseDetailPane(id="detail")
        yield StatusBar(self._status_text(pending=None), id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#view-list", OptionList).highlighted = 0
        self.query_one(CaseList).focus()
        self.refresh_all()
        self._expire_articles()
        self.set_interval(EXPIRY_CHECK_SECONDS, self._expire_articles)
        self._sweep_sla()
        self.set_interval(SLA_SWEEP_SECONDS, self._sweep_sla)
        self.set_interval(SYNC_SECONDS, self._background_sync)

    # --- sync with the server ------------------------------------------------------------------

    def _background_sync(self) -> None:
        import time

        if self.sync_info.get("server") and not self.sync_running and time.monotonic() >= self._next_sync_at:
            self._sync(quiet=True)

    def action_sync(self) -> None:
        if not self.sync_info.get("server"):
            self.notify("This store is not logged in to a server. Run 'caseterm login URL --token TOKEN' once; "
                        "then it syncs by itself.", title="No server", severity="warning")
            return
        if self.sync_running:
            self.notify("A sync is already running.", title="Sync")
            return
        self._sync(quiet=False)

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def _sync(self, quiet: bool) -> None:
        """Push and pull in a worker; the network may hang, the screen never does."""
        from caseterm.sync.client import SyncError

        self.app.call_from_thread(self._sync_started)
        try:
            report = self.gateway.sync()
        except SyncError as exc:
            self.app.call_from_thread(self._sync_failed, str(exc), quiet)
            return
        except Exception as exc:  # logged with its traceback; the person gets words
            log.exception("sync failed")
            self.app.call_from_thread(self._sync_failed, f"sync failed ({type(exc).__name__}); the details are in "
                                                         "the log file", quiet)
            return
        self.app.call_from_thread(self._sync_done, report, quiet)

    def _sync_started(self) -> None:
        self.sync_running = True
        self._update_status()

    def _sync_failed(self, why: str, quiet: bool) -> None:
        import random
        import time

        self.sync_running = False
        self.sync_problem = why
        self._sync_failures += 1
        wait = min(SYNC_BACKOFF_MAX, SYNC_SECONDS * 2 ** (self._sync_failures - 1))
        self._next_sync_at = time.monotonic() + wait * (0.5 + random.random() / 2)  # jitter
        if not quiet:
            self.notify(f"{why[0].upper()}{why[1:]}.", title="Sync failed", severity="warning")
        self._load_counts(None)

    def _sync_done(self, report, quiet: bool) -> None:
        self.sync_running = False
        self.sync_problem = None
        self._sync_failures = 0
        self._next_sync_at = 0.0
        words = (f"pushed {report.pushed} ({report.applied} applied, {report.conflicts} conflicts, "
                 f"{report.rejected} rejected), pulled {report.pulled}")
        if report.conflicts or report.rejected:
            self.notify(f"{words}. F8 shows what to decide.", title="Sync", severity="warning")
        elif not quiet:
            self.notify(words[0].upper() + words[1:] + ".", title="Sync")
        if report.pulled or report.pushed or report.evicted:
            self.refresh_all(keep=self.detail.fields["number"] if self.detail else None)
        else:
            self._load_counts(None)

    def action_sync_problems(self) -> None:
        from caseterm.tui.screens.conflicts import SyncProblemsScreen

        self.app.push_screen(SyncProblemsScreen(self.gateway), lambda _=None: self.refresh_all())

    def _update_status(self, pending: int | None = None) -> None:
        self.query_one("#status", StatusBar).update(self._status_text(pending))

    @work(thread=True, exclusive=True, group="sla-sweep", exit_on_error=False)
    def _sweep_sla(self) -> None:
        """SLA warnings and breaches that came due are recorded (flags, timeline)."""
        warned, breached = self.gateway.sweep_sla(self.me.login)
        if warned or breached:
            self.app.call_from_thread(self._sla_swept, warned, breached)

    def _sla_swept(self, warned: list[str], breached: list[str]) -> None:
        words = [f"{len(x)} {what}" for x, what in ((breached, "breached"), (warned, "at risk")) if x]
        numbers = list(dict.fromkeys(breached + warned))
        self.notify(f"SLA: {' and '.join(words)} ({', '.join(numbers[:4])}" + ("…" if len(numbers) > 4 else "")
                    + "). The SLA at risk view lists them.", severity="warning", title="SLA")
        self.refresh_all(keep=self.detail.fields["number"] if self.detail else None)

    @work(thread=True, exclusive=True, group="kb-expiry", exit_on_error=False)
    def _expire_articles(self) -> None:
        """Knowledge articles past their expiry date stop being offered (checked now and then)."""
        expired = self.gateway.expire_due_articles(self.me.login)
        if expired:
            self.app.call_from_thread(self.notify, f"{len(expired)} knowledge article(s) reached their expiry date "
                                                   "and are no longer offered: " + ", ".join(expired[:5]))

    # --- loading ----------------------------------------------------------------------------

    @property
    def shown_view(self) -> CaseView:
        """The active saved view with the quick filter applied."""
        text = self.query_one("#filter", Input).value.strip() if self.is_mounted else ""
        view = self.live_view(self.active)
        if self.sort_override:
            view = dataclasses.replace(view, sort=self.sort_override)
        return dataclasses.replace(view, text=text) if text else view

    def live_view(self, saved: SavedView) -> CaseView:
        """The saved view as of the last refresh ("SLA at risk" moves with the clock)."""
        if saved.key == AT_RISK:
            return dataclasses.replace(saved.view, due_before=self.at_risk_before)
        return saved.view

    def _view_options(self) -> list[Option]:
        options = []
        for v in self.views:
            if v.key.startswith("queue:") and not any(o.id and o.id.startswith("queue:") for o in options):
                options.append(Option("My queues", id="-queues", disabled=True))
            options.append(Option(self._view_label(v), id=v.key))
        return options

    def _view_label(self, view: SavedView) -> str:
        count = self.counts.get(view.key)
        return f"{view.label} ({count:,})" if count is not None else view.label

    def _status_text(self, pending: int | None) -> str:
        from caseterm.domain.text import short_time

        info = self.sync_info
        if pending is None:
            pending = info.get("pending")
        changes = "…" if pending is None else f"{pending:,} pending change{'s' if pending != 1 else ''}"
        if not info.get("server"):
            where = f"{self.gateway.path} · offline (no server)"
        elif self.sync_running:
            where = f"{info['server']} · syncing…"
        else:
            last = info.get("last_pull_at")
            state = "offline (F9 retries)" if self.sync_problem else "online"
            where = f"{info['server']} · {state} · last sync {short_time(last) if last else 'never'}"
        problems = [f"{n} {w}" for n, w in ((info.get("conflicts", 0), "conflict"), (info.get("rejected", 0),
                                                                                       "rejected")) if n]
        return (f"{self.me.login} ({self.me.role}) · {where} · {changes}"
                + (f" · {', '.join(problems)} (F8)" if problems else ""))

    def refresh_all(self, keep: str | None = None) -> None:
        self.at_risk_before = store_time(self.app.clock.now() + AT_RISK_WITHIN)
        self._load_counts(keep)

    @work(thread=True, exclusive=True, group="counts", exit_on_error=False)
    def _load_counts(self, keep: str | None) -> None:
        counts = {v.key: self.gateway.count(self.live_view(v)) for v in self.views}
        sync_info = self.gateway.sync_state()
        self.app.call_from_thread(self._counts_loaded, counts, sync_info, keep)

    @work(thread=True, exclusive=True, group="filter", exit_on_error=False)
    def _load_filtered(self, view: CaseView) -> None:
        import time

        from textual.worker import get_current_worker

        time.sleep(0.2)  # debounce: the next key press cancels this worker
        if get_current_worker().is_cancelled:
            return
        total = self.gateway.count(view)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_view, view, total)

    def _show_view(self, view: CaseView, total: int, keep: str | None = None) -> None:
        if view != self.shown_view:
            return  # the filter changed meanwhile
        suffix = f" · filter “{view.text}”" if view.text else ""
        if self.sort_override:
            suffix += f" · {self.sort_override} first"
        self.queue_title = f"{self.active.label} · {total:,} cases{suffix}"
        self.query_one(CaseList).load(view, total, keep_number=keep)
        self._show_title()

    def _show_title(self) -> None:
        marked = self.query_one(CaseList).marked
        extra = (f" · {len(marked)} marked (w: assign them all · space: unmark)" if marked else "")
        self.query_one("#queue-title", Static).update(self.queue_title + extra)

    @on(CaseList.MarksChanged)
    def _marks_changed(self) -> None:
        self._show_title()

    def _counts_loaded(self, counts: dict[str, int], sync_info: dict, keep: str | None) -> None:
        self.counts = counts
        first = not self.sync_info
        self.sync_info = sync_info
        pending = sync_info["pending"]
        if first:
            self._background_sync()  # a store logged in to a server syncs as the workstation opens
        views = self.query_one("#view-list", OptionList)
        for v in self.views:
            views.replace_option_prompt(v.key, self._view_label(v))
        self.query_one("#status", StatusBar).update(self._status_text(pending))
        self._reload_shown(keep)
        if keep:
            self._load_detail(keep)

    @on(OptionList.OptionHighlighted, "#view-list")
    def _view_chosen(self, event: OptionList.OptionHighlighted) -> None:
        chosen = next((v for v in self.views if v.key == event.option.id), None)
        if chosen is None:
            return
        if chosen is not self.active:
            self.active = chosen
            self._reload_shown()

    @on(OptionList.OptionSelected, "#view-list")
    def _view_entered(self) -> None:
        self.query_one(CaseList).focus()

    @on(CaseList.Highlighted)
    def _case_highlighted(self, event: CaseList.Highlighted) -> None:
        if event.row is None:
            self.detail = None
            self.query_one(CaseDetailPane).show(None, self.ACTION_KEYS)
        else:
            self._load_detail(event.row.number)

    @on(CaseList.Opened)
    def _case_opened(self) -> None:
        self.query_one(CaseDetailPane).focus()

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def _load_detail(self, number: str) -> None:
        detail = self.gateway.detail(number)
        self.app.call_from_thread(self._detail_loaded, detail)

    def _detail_loaded(self, detail: CaseDetail | None) -> None:
        self.detail = detail
        pane = self.query_one(CaseDetailPane)
        pane.show(detail, self.ACTION_KEYS)
        if detail is not None:
            if self.suggestions is not None and self.suggestions_for == detail.fields["number"]:
                pane.show_suggestions(self.suggestions, self.linked)  # the same case, reloaded
            else:
                self.suggestions = None
                pane.show_suggestions(None, set())
            self._load_suggestions(detail.fields["number"], detail.fields["id"])

    @work(thread=True, exclusive=True, group="suggest", exit_on_error=False)
    def _load_suggestions(self, number: str, case_id: str) -> None:
        """Articles and similar resolved cases for the open case, a moment after the cursor
        stops (the next case cancels this worker)."""
        import time

        from textual.worker import get_current_worker

        time.sleep(SUGGEST_DELAY)
        if get_current_worker().is_cancelled:
            return
        try:
            found = self.gateway.suggestions(number)
        except CasetermError as exc:
            log.warning("no suggestions for %s: %s", number, exc)
            from caseterm.search.suggest import Suggestions

            found = Suggestions(note=f"No suggestions right now: {exc}")
        linked = self.gateway.linked_articles(case_id)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._suggestions_loaded, number, found, linked)

    def _suggestions_loaded(self, number: str, found, linked: set[str]) -> None:
        if self.detail is None or self.detail.fields["number"] != number:
            return  # the cursor moved on
        self.suggestions, self.suggestions_for, self.linked = found, number, linked
        self.query_one(CaseDetailPane).show_suggestions(found, linked)

    def action_link_suggested(self, position: int) -> None:
        if self.detail is None:
            self.notify("Pick a case first (j/k in the queue).", severity="warning")
            return
        number = self.detail.fields["number"]
        if self.suggestions is None or self.suggestions_for != number:
            self.notify("The suggestions for this case are still being worked out.", severity="warning")
            return
        if not 1 <= position <= len(self.suggestions.articles):
            self.notify(f"There is no suggested article {position}; Ctrl+K searches the knowledge base.",
                        severity="warning")
            return
        self._link_article(number, self.suggestions.articles[position - 1].number)

    @work(thread=True, group="link-article", exit_on_error=False)
    def _link_article(self, number: str, article: str) -> None:
        try:
            self.gateway.link_article(self.me.login, number, article)
        except CasetermError as exc:
            self.app.call_from_thread(self.notify, str(exc), title="Not linked", severity="error")
            return
        self.app.call_from_thread(self.notify, f"{article} linked to {number}; resolving the case records that it helped")
        self.app.call_from_thread(self.refresh_all, number)

    def _reload_shown(self, keep: str | None = None) -> None:
        view = self.shown_view
        if view.text:
            self._load_filtered(view)  # a filtered view is counted in a worker
        else:
            self._show_view(view, self.counts.get(self.active.key, 0), keep)

    def action_sort(self) -> None:
        order = [None, "newest", "oldest"]
        self.sort_override = order[(order.index(self.sort_override) + 1) % len(order)]
        self._reload_shown()

    # --- quick filter -------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_typed(self) -> None:
        self._load_filtered(self.shown_view)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(CaseList).focus()

    def on_key(self, event) -> None:
        box = self.query_one("#filter", Input)
        if event.key == "escape" and self.focused is box:
            box.value = ""
            box.remove_class("shown")
            self.query_one(CaseList).focus()
            event.stop()

    # --- focus ------------------------------------------------------------------------------

    def action_focus_views(self) -> None:
        self.query_one("#view-list").focus()

    def action_focus_queue(self) -> None:
        self.query_one(CaseList).focus()

    def action_focus_detail(self) -> None:
        self.query_one(CaseDetailPane).focus()

    def action_refresh(self) -> None:
        self.refresh_all(keep=self.detail.fields["number"] if self.detail else None)

    def on_worker_state_changed(self, event) -> None:
        self.app.report_worker_failure(event)

    # --- actions ----------------------------------------------------------------------------

    def action_customer_360(self) -> None:
        from caseterm.tui.screens.customer360 import Customer360Screen

        if self.detail is None:
            self.notify("Pick a case first (j/k in the queue).", severity="warning")
            return
        self.app.push_screen(Customer360Screen(self.gateway, self.detail.fields["customer_id"]), self._open_from_360)

    def action_knowledge(self) -> None:
        from caseterm.tui.screens.kb import KbScreen

        number = self.detail.fields["number"] if self.detail else None
        query = self.detail.fields["title"] if self.detail else ""

        def back(_result) -> None:
            if number:
                self._load_detail(number)  # links show on the timeline

        self.app.push_screen(KbScreen(self.gateway, self.me, case_number=number, query=query), back)

    def action_kb_desk(self) -> None:
        from caseterm.tui.screens.kb_author import KbDeskScreen

        self.app.push_screen(KbDeskScreen(self.gateway, self.me))

    def action_find_customer(self) -> None:
        def found(customer_id: str | None) -> None:
            if customer_id:
                from caseterm.tui.screens.customer360 import Customer360Screen

                self.app.push_screen(Customer360Screen(self.gateway, customer_id), self._open_from_360)

        self.app.push_screen(forms.FindCustomerScreen(self.gateway.find_customers), found)

    def _open_from_360(self, number: str | None) -> None:
        """Enter on a case in the 360 opens it here, whether or not the current view holds it."""
        if number:
            self._load_detail(number)
            self.query_one(CaseDetailPane).focus()

    def _case_for(self, action: str) -> CaseDetail | None:
        """The open case, if ``action`` can apply to it; otherwise say why in a notification."""
        if self.detail is None:
            self.notify("Pick a case first (j/k in the queue).", severity="warning")
            return None
        if not action_available(action, self.detail.fields):
            lc = lifecycle_of(self.detail.fields)
            allowed = ", ".join(case_lifecycle.allowed_actions(lc)) or "nothing (it is final)"
            self.notify(f"{self.detail.fields['number']} is {lc.describe().lower()}: you can {allowed}.",
                        title=f"Cannot {action}", severity="warning")
            return None
        return self.detail

    def _after(self, number: str, message: str):
        def done(result) -> None:
            if result is not None:
                self.notify(message.format(number=number))
                self.refresh_all(keep=number)
        return done

    def _write(self, fn):
        """A submit function for a form: ``fn(uow, me, values)`` in one transaction."""
        return lambda values: self.gateway.write(self.me.login, lambda uow, me: fn(uow, me, values))

    def _on_case(self, number: str, apply):
        """A form's submit: ``apply(uow, me, case, values)`` on case ``number``, one transaction."""
        def save(uow, me, values):
            from caseterm.services.lookup import case_by_number

            return apply(uow, me, case_by_number(uow, number), values)
        return self._write(save)

    def action_note(self) -> None:
        if (d := self._case_for("note")) is None:
            return
        number = d.fields["number"]
        note = lambda uow, me, case, v: _cases().add_activity(uow, me, case, kind="note", body=v["text"])  # noqa: E731
        self.app.push_screen(forms.TextForm(self._on_case(number, note), title=f"Note on {number}", label="Note"),
                             self._after(number, "Note added to {number}"))

    def action_call(self) -> None:
        if (d := self._case_for("call")) is None:
            return
        number = d.fields["number"]

        def call(uow, me, case, v):
            return _cases().add_activity(uow, me, case, kind="phone_call", body=v["text"], subject="Phone call",
                                         direction=v["direction"], duration_seconds=v["duration"])

        self.app.push_screen(forms.CallForm(self._on_case(number, call)), self._after(number, "Call logged on {number}"))

    def action_status(self) -> None:
        if (d := self._case_for("status")) is None:
            return
        number = d.fields["number"]
        options = [(s.label, s.value) for s in case_lifecycle.settable_statuses(lifecycle_of(d.fields))]
        status = lambda uow, me, case, v: _cases().set_status(uow, me, case, v["choice"], v["note"])  # noqa: E731
        self.app.push_screen(forms.ChoiceForm(self._on_case(number, status), title=f"Status of {number}",
                                              options=options),
                             self._after(number, "{number}: status changed"))

    def action_assign(self) -> None:
        if self.query_one(CaseList).marked:
            self._assign_marked()
            return
        if (d := self._case_for("assign")) is None:
            return
        number = d.fields["number"]
        queue_id = next((qid for qid, name in self.gateway.queues() if name == d.fields["queue"]), None)

        def assign(uow, me, case, v):
            from caseterm.services.lookup import get_row
            from caseterm.store.models import Agent, Queue

            queue = get_row(uow, Queue, v["queue_id"], "queue") if v["queue_id"] else None
            owner = get_row(uow, Agent, v["owner_id"], "agent") if v["owner_id"] else None
            return _cases().assign_case(uow, me, case, queue=queue, owner=owner) or True

        self.app.push_screen(
            forms.AssignForm(self._on_case(number, assign), queues=self.gateway.queues(), queue_id=queue_id,
                             load_agents=self.gateway.queue_agents, me_id=self.me.id),
            self._after(number, "{number} assigned"))

    def _assign_marked(self) -> None:
        """A supervisor hands every marked case to one agent (within the agent's capacity)."""
        case_list = self.query_one(CaseList)
        numbers = list(case_list.marked)
        if self.me.role not in ("supervisor", "admin"):
            self.notify("Reassigning several cases at once is for supervisors. Press space on a marked case to "
                        "unmark it, or ask a supervisor.", title="Cannot assign in bulk", severity="warning")
            return
        queue_id = next((qid for qid, name in self.gateway.queues()
                         if self.detail and name == self.detail.fields["queue"]), None)

        def assign(uow, me, v):
            from caseterm.services.lookup import case_by_number, get_row
            from caseterm.store.models import Agent

            if not v["owner_id"]:
                from caseterm.errors import ValidationError

                raise ValidationError("owner", "choose the agent who takes the marked cases")
            owner = get_row(uow, Agent, v["owner_id"], "agent")
            moved = _cases().bulk_assign(uow, me, [case_by_number(uow, n) for n in numbers], owner)
            return f"{len(moved)} case(s) assigned to {owner.login}" if moved else f"They were already {owner.login}'s"

        def done(result) -> None:
            if result is not None:
                self.notify(result, title="Bulk reassignment")
                case_list.clear_marks()
                self.refresh_all(keep=self.detail.fields["number"] if self.detail else None)

        self.app.push_screen(
            forms.AssignForm(self._write(assign), queues=self.gateway.queues(), queue_id=queue_id,
                             load_agents=self.gateway.queue_agents, me_id=self.me.id, bulk=len(numbers)), done)

    def action_escalate(self) -> None:
        if (d := self._case_for("escalate")) is None:
            return
        number = d.fields["number"]
        choices = [("Its queue's escalation queue", "")] + [(name, qid) for qid, name in self.gateway.queues()
                                                             if name != d.fields["queue"]]

        def escalate(uow, me, case, v):
            from caseterm.services.lookup import get_row
            from caseterm.store.models import Queue

            to = get_row(uow, Queue, v["choice"], "queue") if v["choice"] else None
            return _cases().escalate_case(uow, me, case, v["text"], to=to)

        def done(words) -> None:
            if words is not None:
                self.notify(words, title=number)
                self.refresh_all(keep=number)

        self.app.push_screen(
            forms.TextForm(self._on_case(number, escalate), title=f"Escalate {number}", label="Reason: why it needs "
                           "someone more senior", name="reason", choices=choices, choice_label="Escalate to",
                           submit_label="Escalate", multiline=False), done)

    def action_resolve(self) -> None:
        if (d := self._case_for("resolve")) is None:
            return
        number = d.fields["number"]
        kinds = [(s.label, s.value) for s in (StatusReason.PROBLEM_SOLVED, StatusReason.INFORMATION_PROVIDED)]
        resolve = lambda uow, me, case, v: _cases().resolve_case(  # noqa: E731
            uow, me, case, v["text"], v["choice"], force=v["flag"])
        active_children = [n for n, state in d.children if state == "active"]
        flag = None
        if active_children and self.me.role in ("supervisor", "admin"):
            flag = f"Resolve although {len(active_children)} child case(s) are still active"
        self.app.push_screen(
            forms.TextForm(self._on_case(number, resolve), title=f"Resolve {number}",
                           label="Resolution: what solved it", name="resolution", choices=kinds,
                           choice_label="Outcome", submit_label="Resolve", flag=flag),
            self._after(number, "{number} resolved"))

    def action_route(self) -> None:
        if (d := self._case_for("route")) is None:
            return
        self._route(d.fields["number"])

    @work(thread=True, group="route", exit_on_error=False)
    def _route(self, number: str) -> None:
        from caseterm.services.lookup import case_by_number

        try:
            reason = self.gateway.write(self.me.login, lambda uow, me: _cases().route_case(
                uow, me, case_by_number(uow, number)))
        except CasetermError as exc:
            self.app.call_from_thread(self.notify, str(exc), title="Not routed", severity="warning")
            return
        self.app.call_from_thread(self.notify, reason, title=number)
        self.app.call_from_thread(self.refresh_all, number)

    def action_cancel_case(self) -> None:
        if (d := self._case_for("cancel")) is None:
            return
        number = d.fields["number"]
        cancel = lambda uow, me, case, v: _cases().cancel_case(uow, me, case, v["text"])  # noqa: E731
        self.app.push_screen(forms.TextForm(self._on_case(number, cancel), title=f"Cancel {number}",
                                            label="Why (optional)", multiline=False, submit_label="Cancel case"),
                             self._after(number, "{number} cancelled"))

    def action_reopen(self) -> None:
        if (d := self._case_for("reopen")) is None:
            return
        number = d.fields["number"]
        reopen = lambda uow, me, case, v: _cases().reopen_case(uow, me, case, v["text"])  # noqa: E731
        self.app.push_screen(forms.TextForm(self._on_case(number, reopen), title=f"Reopen {number}",
                                            label="Why (optional)", multiline=False, submit_label="Reopen"),
                             self._after(number, "{number} reopened"))

    def action_merge(self) -> None:
        if (d := self._case_for("merge")) is None:
            return
        number = d.fields["number"]

        def merge(uow, me, case, v):
            from caseterm.errors import ValidationError
            from caseterm.services.lookup import case_by_number

            numbers = [n for n in v["text"].replace(",", " ").split() if n]
            if not numbers:
                raise ValidationError("cases", "type the numbers of the duplicates, separated by spaces")
            return _cases().merge_cases(uow, me, case, [case_by_number(uow, n) for n in numbers])

        self.app.push_screen(
            forms.TextForm(self._on_case(number, merge), title=f"Merge duplicates into {number}", name="cases",
                           label="Duplicate case numbers (they become merged into this one)", multiline=False,
                           submit_label="Merge"),
            self._after(number, "Merged into {number}"))

    def action_parent(self) -> None:
        if (d := self._case_for("parent")) is None:
            return
        number = d.fields["number"]

        def parent(uow, me, case, v):
            from caseterm.services.lookup import case_by_number

            text = v["text"].strip()
            return _cases().link_parent(uow, me, case, case_by_number(uow, text) if text else None)

        self.app.push_screen(
            forms.TextForm(self._on_case(number, parent), title=f"Parent of {number}", name="parent",
                           multiline=False, label="Parent case number (empty to clear)", initial=d.parent or ""),
            self._after(number, "{number}: parent updated"))

    def action_new_case(self) -> None:
        def save(uow, me, values):
            from caseterm.domain.text import looks_like_email
            from caseterm.errors import ValidationError
            from caseterm.services import cases, customers
            from caseterm.services.lookup import customer_by_key, get_row
            from caseterm.store.models import Agent, Asset, Category, Customer, Product, Queue

            if values["customer_id"]:
                customer = get_row(uow, Customer, uuid.UUID(values["customer_id"]), "customer")
            else:
                try:
                    customer = customer_by_key(uow, values["customer_text"])
                except CasetermError as exc:
                    typed = values["customer_text"]
                    if not values["new_name"]:
                        raise ValidationError("customer", f"{exc.message.split(';')[0]}; pick one from the list, "
                                                          "or type an email or phone and the new customer's name") from None
                    email = typed if looks_like_email(typed) else None
                    customer = customers.create_customer(uow, me, name=values["new_name"], email=email,
                                                         phone=None if email else typed)
            asset = product = None
            if values["product"]:
                kind, _, ident = values["product"].partition(":")
                if kind == "asset":
                    asset = get_row(uow, Asset, uuid.UUID(ident), "asset")
                else:
                    product = get_row(uow, Product, uuid.UUID(ident), "product")
            category = get_row(uow, Category, uuid.UUID(values["category"]), "category") if values["category"] else None
            case = cases.create_case(uow, me, customer=customer, title=values["title"],
                                     description=values["description"], origin=values["origin"],
                                     priority=values["priority"], case_type=values["type"], asset=asset,
                                     product=product, category=category)
            queue = uow.session.get(Queue, case.queue_id) if case.queue_id else None
            owner = uow.session.get(Agent, case.owner_id) if case.owner_id else None
            return case.number, queue.name if queue else None, owner.login if owner else None

        def created(made) -> None:
            if made is not None:
                number, queue, owner = made
                where = f" It went to {queue}" + (f", {owner}" if owner else ", unassigned") + "." if queue else ""
                self.notify(f"Created {number}: give this number to the customer.{where}", title="Case created")
                self.refresh_all(keep=number)

        self._open_new_case(save, created)

    @work(thread=True, exclusive=True, group="new-case", exit_on_error=False)
    def _open_new_case(self, save, created) -> None:
        products, categories = self.gateway.products(), self.gateway.categories()
        self.app.call_from_thread(
            self.app.push_screen,
            forms.NewCaseForm(self._write(save), find=self.gateway.find_customers, assets=self.gateway.customer_assets,
                              products=products, categories=categories),
            created)

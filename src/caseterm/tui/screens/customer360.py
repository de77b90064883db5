"""Customer 360: who the customer is, what they own (with warranty), what they bought,
and every case they have had, open ones first.

The screen opens at once with "Loading…" and fills in from a thread worker
(``store.customer360`` on the gateway's per-thread connection). Enter on a case closes
the screen with that case's number (``dismiss(number)``), so the caller can open it:

    app.push_screen(Customer360Screen(gateway, customer_id_hex), open_case_number)

Escape or q closes it with ``None``.
"""

from __future__ import annotations

from datetime import date, datetime

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from caseterm.domain.enums import Priority, StatusReason
from caseterm.store.customer360 import Customer360, customer_360

TITLE_WIDTH = 44  # case titles longer than this end in "…"
LINES_WIDTH = 60  # order lines likewise


def _day(moment: date | datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "—"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class C360Table(DataTable):
    """A table of the 360 screen: rows, j/k like the queue, and styles from the theme."""

    DEFAULT_CSS = """
    C360Table { height: auto; max-height: 9; background: $surface; }
    C360Table > .c360--in-warranty { color: $success; }
    C360Table > .c360--expired { color: $error; }
    C360Table > .c360--unknown { color: $text-muted; }
    C360Table > .c360--closed { color: $text-muted; }
    C360Table > .c360--urgent { color: $error; text-style: bold; }
    C360Table > .c360--high { color: $warning; }
    """
    COMPONENT_CLASSES = {"c360--in-warranty", "c360--expired", "c360--unknown", "c360--closed", "c360--urgent",
                         "c360--high"}
    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="c360.down", tooltip="Next row"),
        Binding("up,k", "cursor_up", "Up", show=False, id="c360.up", tooltip="Previous row"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.show_cursor = False  # only the focused table shows its cursor (and hides no colours)

    def on_focus(self) -> None:
        self.show_cursor = True

    def on_blur(self) -> None:
        self.show_cursor = False

    def style_of(self, name: str) -> Style:
        """The component's colour and text style, without its background (the row's shows through).

        Not ``partial=True``: that leaves ``$text-muted`` (``auto 60%``) unresolved, as white."""
        full = self.get_component_rich_style(f"c360--{name}")
        return full.without_color + Style(color=full.color)


class CaseTable(C360Table):
    """The customer's cases; Enter opens the highlighted one (the screen closes with its number)."""

    DEFAULT_CSS = """
    CaseTable { max-height: 12; }
    """
    BINDINGS = [
        Binding("enter", "select_cursor", "Open case", id="c360.open_case",
                tooltip="Open the highlighted case in the workstation"),
    ]


class Customer360Screen(Screen[str | None]):
    DEFAULT_CSS = """
    Customer360Screen #c360-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    Customer360Screen #c360-profile {
        height: auto; padding: 0 1; background: $surface; border-bottom: tall $panel;
    }
    Customer360Screen #c360-profile.-loading { color: $text-muted; }
    Customer360Screen #c360-tables { height: 1fr; }
    Customer360Screen .c360-heading { height: 1; padding: 0 1; margin-top: 1; color: $text-muted; text-style: bold; }
    Customer360Screen .c360-heading.-first { margin-top: 0; }
    """
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="c360.back", tooltip="Close the customer view"),
        Binding("tab", "app.focus_next", "Next table", id="c360.next_table",
                tooltip="Go to the next table (cases, assets, orders)"),
        Binding("shift+tab", "app.focus_previous", "Previous table", show=False, id="c360.previous_table",
                tooltip="Go to the previous table"),
        Binding("f5,ctrl+r", "reload", "Refresh", show=False, id="c360.refresh", tooltip="Load the customer again"),
    ]

    def __init__(self, gateway, customer_id_hex: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway
        self.customer_id = customer_id_hex
        self.data: Customer360 | None = None
        self.loaded = False  # True once the worker has answered (even with "no such customer")

    def compose(self) -> ComposeResult:
        yield Static("Customer 360", id="c360-title")
        yield Static("Loading…", id="c360-profile", classes="-loading")
        # scrolls when the three tables do not fit; Tab scrolls the focused table into view
        with VerticalScroll(id="c360-tables", can_focus=False):
            yield Static("Cases", id="c360-cases-heading", classes="c360-heading -first")
            yield CaseTable(id="c360-cases")
            yield Static("Assets", id="c360-assets-heading", classes="c360-heading")
            yield C360Table(id="c360-assets")
            yield Static("Orders", id="c360-orders-heading", classes="c360-heading")
            yield C360Table(id="c360-orders")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#c360-tables").display = False
        cases = self.query_one("#c360-cases", DataTable)
        cases.add_column("Case", key="number")
        cases.add_column("P", key="priority")
        cases.add_column("Title", key="title")
        cases.add_column("Status", key="status")
        cases.add_column("Owner", key="owner")
        cases.add_column("Opened", key="created")
        cases.add_column("Closed", key="closed")
        assets = self.query_one("#c360-assets", DataTable)
        for label in ("Serial", "Product", "SKU", "Purchased", "Warranty ends", "Warranty", "Location"):
            assets.add_column(label)
        orders = self.query_one("#c360-orders", DataTable)
        for label in ("Order", "Date", "Channel"):
            orders.add_column(label)
        orders.add_column("Total")
        orders.add_column("Lines")
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self._load()

    # --- loading ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="c360", exit_on_error=False)
    def _load(self) -> None:
        today = self.gateway.clock.now().date()
        data = customer_360(self.gateway.conn(), self.customer_id, today)
        self.app.call_from_thread(self._loaded, data)

    def _loaded(self, data: Customer360 | None) -> None:
        if not self.is_attached:
            return  # closed before the data came
        self.data = data
        self.loaded = True
        profile = self.query_one("#c360-profile", Static)
        profile.remove_class("-loading")
        if data is None:
            self.query_one("#c360-title", Static).update("Customer 360")
            profile.update("This customer is not in the store (deleted, or not synced to this device).")
            self.query_one("#c360-tables").display = False
            return
        self.query_one("#c360-title", Static).update(f"Customer 360 · {data.profile.name}")
        profile.update(self._profile(data))
        self.query_one("#c360-tables").display = True
        self._fill_tables(keep_cursor=False)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """A failed load: the app's policy (log the traceback, notify in words) and no endless "Loading…".

        ``Worker.StateChanged`` does not bubble, so the app never sees a screen's workers by itself."""
        if event.worker.group != "c360" or event.state is not WorkerState.ERROR:
            return
        report = getattr(self.app, "on_worker_state_changed", None)
        if report is not None:
            report(event)
        self.loaded = True
        self.query_one("#c360-profile", Static).update(
            "Could not load this customer (see the notification). Press F5 to try again.")

    def action_reload(self) -> None:
        self._load()

    def _theme_changed(self, _theme) -> None:
        if self.data is not None:
            self._fill_tables(keep_cursor=True)

    # --- drawing ----------------------------------------------------------------------------

    def _profile(self, data: Customer360) -> Table:
        p = data.profile
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(ratio=1)
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(ratio=1)
        kind = f"{p.kind.capitalize()} · {p.tier} tier"
        if p.members is not None:
            link = ("People", f"{p.members:,} in this organisation")
        else:
            link = ("Organisation", p.parent_name or "—")
        grid.add_row("Name", Text(p.name, style="bold"), "Kind", kind)
        grid.add_row("Email", Text(p.email or "—"), *link)
        grid.add_row("Phone", Text(p.phone or "—"), "Cases",
                     f"{data.open_cases:,} open · {data.total_cases:,} in all")
        grid.add_row("Address", Text(p.place or "—"), "Bought",
                     f"{data.total_assets:,} asset{'s' if data.total_assets != 1 else ''} · "
                     f"{data.total_orders:,} order{'s' if data.total_orders != 1 else ''}")
        return grid

    @staticmethod
    def _heading(name: str, shown: int, total: int, extra: str = "") -> str:
        if total == 0:
            return f"{name} · none"
        count = f"{total:,}" if shown >= total else f"{shown:,} of {total:,}"
        return f"{name} · {count}{extra}"

    def _fill_tables(self, keep_cursor: bool) -> None:
        data = self.data
        assert data is not None
        cases = self.query_one("#c360-cases", CaseTable)
        assets = self.query_one("#c360-assets", C360Table)
        orders = self.query_one("#c360-orders", C360Table)
        cursors = {t: t.cursor_row for t in (cases, assets, orders)}
        for table in (cases, assets, orders):
            table.clear()

        closed, urgent, high = cases.style_of("closed"), cases.style_of("urgent"), cases.style_of("high")
        for c in data.cases:
            status = StatusReason(c.status_reason).label
            pri = Text(str(c.priority), style=urgent if c.priority == Priority.CRITICAL else
                       high if c.priority == Priority.HIGH else "")
            cells = [Text(c.number), pri, Text(_clip(c.title, TITLE_WIDTH)), Text(status),
                     Text(c.owner_login or "—"), Text(_day(c.created_at)), Text(_day(c.closed_at))]
            if not c.is_open:
                for cell in cells:
                    cell.stylize(closed)
            cases.add_row(*cells, key=c.number)
        extra = " · open first" if data.open_cases and data.total_cases > data.open_cases else ""
        self.query_one("#c360-cases-heading", Static).update(
            self._heading("Cases", len(data.cases), data.total_cases,
                          f" ({data.open_cases:,} open){extra}" if data.total_cases else ""))

        for a in data.assets:
            state = {"in": "in-warranty", "expired": "expired"}.get(a.warranty_state, "unknown")
            assets.add_row(Text(a.serial), Text(a.product_name), Text(a.sku), Text(_day(a.purchase_date)),
                           Text(_day(a.warranty_end)), Text(a.warranty, style=assets.style_of(state)),
                           Text(a.location or "—"))
        self.query_one("#c360-assets-heading", Static).update(
            self._heading("Assets", len(data.assets), data.total_assets))

        width = max((len(o.total_text) for o in data.orders), default=0)
        for o in data.orders:
            orders.add_row(Text(o.number), Text(_day(o.ordered_at)), Text(o.channel), Text(o.total_text.rjust(width)),
                           Text(_clip(", ".join(o.lines), LINES_WIDTH)))
        self.query_one("#c360-orders-heading", Static).update(
            self._heading("Orders", len(data.orders), data.total_orders, " · newest first" if data.orders else ""))

        for table, rows in ((cases, data.cases), (assets, data.assets), (orders, data.orders)):
            table.display = bool(rows)
            if keep_cursor and rows:
                table.move_cursor(row=min(cursors[table], len(rows) - 1), animate=False)
        if not keep_cursor:
            first = next((t for t in (cases, assets, orders) if t.row_count), None)
            if first is not None:
                first.focus()

    # --- actions ----------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#c360-cases")
    def _case_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.dismiss(event.row_key.value)

    def action_back(self) -> None:
        self.dismiss(None)

    def highlighted_case(self) -> str | None:
        """The number of the case under the cursor (for tests and the caller)."""
        table = self.query_one("#c360-cases", CaseTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


"""The queue: a list of cases that draws only the lines on screen.

A million-case view must scroll like a hundred-case one, so the list never holds the
view: it knows the view's size (from the trigger-kept counts), keeps the rows it has
seen in a window around the cursor, and fetches what is missing in a worker by keyset
from its neighbours (``after`` the row above, ``before`` the row below, the first or
the last page). Only a jump to the middle (a dragged scrollbar) reads by offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from caseterm.domain.text import compact_age, time_left
from caseterm.store.queries import CasePage, CaseRow, CaseView

SLA_AT_RISK = timedelta(hours=4)  # a deadline closer than this shows in the warning colour, a passed one in red
PAGE = 100  # rows per fetch
KEEP = 3_000  # rows kept around the cursor; others are dropped and fetched again if needed

STATUS_SHORT = {
    "new": "New",
    "in_progress": "In progress",
    "on_hold": "On hold",
    "waiting_for_customer": "Waiting cust.",
    "researching": "Researching",
    "problem_solved": "Solved",
    "information_provided": "Info given",
    "cancelled": "Cancelled",
    "merged": "Merged",
}


@dataclass(frozen=True)
class Columns:
    """Column widths for a list ``width`` cells wide (header and rows share them)."""

    width: int

    @property
    def widths(self) -> list[tuple[str, int]]:
        fixed = [("Number", 16), ("P", 2), ("Customer", 16), ("Status", 13), ("Owner", 9), ("SLA", 4), ("Age", 4)]
        title = max(10, self.width - sum(w for _, w in fixed) - len(fixed) - 1)
        return [fixed[0], fixed[1], ("Title", title), *fixed[2:]]

    def span(self, column: str) -> tuple[int, int]:
        """Where ``column`` is in a line (start, end)."""
        start = 1
        for name, w in self.widths:
            if name == column:
                return start, start + w
            start += w + 1
        raise KeyError(column)

    def cells(self, values: list[str]) -> str:
        out = []
        for (name, w), value in zip(self.widths, values):
            value = value if len(value) <= w else value[: max(0, w - 1)] + "…"
            out.append(value.rjust(w) if name in ("Age", "SLA") else value.ljust(w))
        return " " + " ".join(out)


def next_deadline(row: CaseRow) -> datetime | None:
    """The SLA deadline an active case must meet next: its first response (until it is
    made), else its resolution."""
    if row.state != "active":
        return None
    pending = [d for d in (row.first_response_due_at if row.first_response_at is None else None, row.resolve_due_at)
               if d is not None]
    return min(pending) if pending else None


class CaseListHeader(Static):
    """Column titles; the list below sets them (``CaseList.header``) to its own widths."""

    DEFAULT_CSS = """
    CaseListHeader { height: 1; text-style: bold; color: $text-muted; background: $surface; }
    """

    def set_width(self, width: int) -> None:
        columns = Columns(width)
        self.update(columns.cells([name for name, _ in columns.widths]))


class CaseList(ScrollView, can_focus=True):
    """Cases of one view; ``load`` shows a view, the cursor follows j/k and the arrows."""

    DEFAULT_CSS = """
    CaseList { height: 1fr; background: $surface; }
    CaseList > .case-list--cursor { background: $primary 30%; }
    CaseList:focus > .case-list--cursor { background: $primary; color: $background; text-style: bold; }
    CaseList > .case-list--pending { color: $text-muted; }
    CaseList > .case-list--urgent { color: $error; }
    CaseList > .case-list--high { color: $warning; }
    CaseList > .case-list--closed { color: $text-muted; }
    CaseList > .case-list--marked { text-style: bold; }
    """
    COMPONENT_CLASSES = {
        "case-list--cursor", "case-list--pending", "case-list--urgent", "case-list--high", "case-list--closed",
        "case-list--marked",
    }
    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="queue.down", tooltip="Next case"),
        Binding("up,k", "cursor_up", "Up", show=False, id="queue.up", tooltip="Previous case"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="queue.page_down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="queue.page_up"),
        Binding("home,g", "first", "First", show=False, id="queue.first", tooltip="First case of the view"),
        Binding("end,G", "last", "Last", show=False, id="queue.last", tooltip="Last case of the view"),
        Binding("enter", "open", "Open", id="queue.open", tooltip="Work on the highlighted case"),
        Binding("space", "toggle_mark", "Mark", show=False, id="queue.mark",
                tooltip="Mark or unmark the case for a bulk reassignment (supervisors: then w)"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        def __init__(self, case_list: CaseList, row: CaseRow | None) -> None:
            super().__init__()
            self.case_list = case_list
            self.row = row

    class Opened(Message):
        def __init__(self, case_list: CaseList, row: CaseRow) -> None:
            super().__init__()
            self.case_list = case_list
            self.row = row

    class MarksChanged(Message):
        def __init__(self, case_list: CaseList, marked: list[str]) -> None:
            super().__init__()
            self.case_list = case_list
            self.marked = marked

    def __init__(self, gateway, now, header: CaseListHeader | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway
        self.header = header
        self.now = now  # () -> datetime: the app's clock
        self.view: CaseView | None = None
        self.total = 0
        self.rows: dict[int, CaseRow] = {}
        self._generation = 0
        self._fetching = False
        self._announced: str | None = None
        self.marked: dict[str, None] = {}  # numbers marked for a bulk action, in marking order

    # --- what is shown -----------------------------------------------------------------------

    def load(self, view: CaseView, total: int, keep_number: str | None = None) -> None:
        """Show ``view`` (``total`` cases). ``keep_number``: stay on that case if still there."""
        same_view = view == self.view
        old_cursor = self.cursor
        self._generation += 1
        self.view = view
        self.total = total
        self.rows = {}
        self._fetching = False
        self.virtual_size = Size(self.scrollable_content_region.width, total)
        self._keep = keep_number if same_view else None
        self._announced = None
        if not same_view:
            self.scroll_to(y=0, animate=False, immediate=True)
            self.cursor = 0
            self.clear_marks()
        else:
            self.cursor = min(old_cursor, max(0, total - 1))
        self.refresh()
        self._request()

    @property
    def current(self) -> CaseRow | None:
        return self.rows.get(self.cursor)

    def clear_marks(self) -> None:
        if self.marked:
            self.marked = {}
            self.refresh()
            self.post_message(self.MarksChanged(self, []))

    def action_toggle_mark(self) -> None:
        """Mark the case under the cursor (or unmark it) and move on to the next."""
        row = self.current
        if row is None:
            return
        if row.number in self.marked:
            del self.marked[row.number]
        else:
            self.marked[row.number] = None
        self.post_message(self.MarksChanged(self, list(self.marked)))
        if self.cursor < self.total - 1:
            self.action_cursor_down()
        else:
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_offset.y) + y
        base = self.rich_style
        if index >= self.total:
            return Strip.blank(width, base)
        row = self.rows.get(index)
        columns = Columns(width)
        if row is None:
            self.call_later(self._request)
            text = Text(columns.cells(["…"]), style=self.get_component_rich_style("case-list--pending"))
        else:
            now = self.now()
            due = next_deadline(row)
            line = columns.cells([
                row.number, str(row.priority), row.title, row.customer_name,
                STATUS_SHORT.get(row.status_reason, row.status_reason), row.owner_login or "—",
                ("wait" if row.sla_paused_at else time_left(due, now)) if due else "", compact_age(row.created_at, now),
            ])
            text = Text(("•" + line[1:]) if row.number in self.marked else line)
            if due is not None and row.sla_paused_at is None and due - now < SLA_AT_RISK:
                text.stylize(self.get_component_rich_style(
                    "case-list--urgent" if due <= now else "case-list--high"), *columns.span("SLA"))
            if row.number in self.marked:
                text.stylize(self.get_component_rich_style("case-list--marked"))
            if row.state != "active":
                text.stylize(self.get_component_rich_style("case-list--closed"))
            elif row.priority == 1:
                text.stylize(self.get_component_rich_style("case-list--urgent"), 18, 19)
            elif row.priority == 2:
                text.stylize(self.get_component_rich_style("case-list--high"), 18, 19)
        style = base + (self.get_component_rich_style("case-list--cursor") if index == self.cursor else Style())
        segments = [Segment(seg.text, style + seg.style if seg.style else style) for seg in text.render(self.app.console)]
        return Strip(segments).crop_extend(0, width, style)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.total)
        if self.header is not None:
            self.header.set_width(self.scrollable_content_region.width)

    # --- fetching ---------------------------------------------------------------------------

    def _request(self) -> None:
        """Fetch the first missing row in (or near) the viewport, from its nearest known neighbour."""
        if self._fetching or self.view is None or not self.total:
            return
        top = int(self.scroll_offset.y)
        height = max(1, self.size.height)
        wanted = range(max(0, top - height), min(self.total, top + 2 * height))
        missing = [i for i in range(top, min(self.total, top + height))] + list(wanted)
        index = next((i for i in missing if i not in self.rows), None)
        if index is None:
            self._announce()
            return
        if index == 0:
            plan = ("first", 0, None)
        elif index - 1 in self.rows:
            plan = ("after", index, self.rows[index - 1].key)
        elif index + 1 in self.rows:
            plan = ("before", index, self.rows[index + 1].key)
        elif index >= self.total - PAGE:
            plan = ("last", self.total - 1, None)
        else:
            plan = ("offset", index, None)
        self._fetching = True
        self._fetch(self._generation, self.view, plan)

    @work(thread=True, exclusive=False, group="case-list", exit_on_error=False)
    def _fetch(self, generation: int, view: CaseView, plan: tuple) -> None:
        mode, index, key = plan
        if mode == "first":
            page = self.gateway.page(view, limit=PAGE)
        elif mode == "after":
            page = self.gateway.page(view, after=key, limit=PAGE)
        elif mode == "before":
            page = self.gateway.page(view, before=key, limit=PAGE)
        elif mode == "last":
            page = self.gateway.page(view, last=True, limit=PAGE)
        else:
            page = self.gateway.page_at(view, index, PAGE)
        self.app.call_from_thread(self._arrived, generation, mode, index, page)

    def _arrived(self, generation: int, mode: str, index: int, page: CasePage) -> None:
        if generation != self._generation:
            return  # the view changed meanwhile
        self._fetching = False
        rows = page.rows
        if mode in ("before", "last"):
            end = index if mode == "last" else index
            start = end - len(rows) + 1
        else:
            start = index
        for offset, row in enumerate(rows):
            self.rows[start + offset] = row
        if not rows and mode != "first":
            # the view shrank under us (another writer): recount on the next load
            self.total = min(self.total, index)
            self.virtual_size = Size(self.scrollable_content_region.width, self.total)
        if len(self.rows) > KEEP:
            self.rows = {i: r for i, r in self.rows.items() if abs(i - self.cursor) < KEEP // 2}
        if self._keep is not None:
            found = next((i for i, r in self.rows.items() if r.number == self._keep), None)
            if found is not None:
                self._keep = None
                self.cursor = found
        self.refresh()
        self._request()

    def on_worker_state_changed(self, event) -> None:
        from textual.worker import WorkerState

        if event.state is WorkerState.ERROR:
            self._fetching = False  # let the next draw try again
            self.app.report_worker_failure(event)

    def _announce(self) -> None:
        row = self.rows.get(self.cursor)
        number = row.number if row else None
        if number != self._announced:
            self._announced = number
            self.post_message(self.Highlighted(self, row))

    # --- moving -----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        height = max(1, self.size.height)
        top = int(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)
        self.refresh()
        if new in self.rows:
            self._announce()
        else:
            self._request()

    def action_cursor_down(self) -> None:
        if self.total:
            self.cursor = min(self.total - 1, self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.cursor = max(0, self.cursor - 1)

    def action_page_down(self) -> None:
        if self.total:
            step = max(1, self.size.height - 1)
            self.scroll_to(y=min(self.scroll_offset.y + step, max(0, self.total - self.size.height)),
                           animate=False, immediate=True)
            self.cursor = min(self.total - 1, self.cursor + step)

    def action_page_up(self) -> None:
        step = max(1, self.size.height - 1)
        self.scroll_to(y=max(0, self.scroll_offset.y - step), animate=False, immediate=True)
        self.cursor = max(0, self.cursor - step)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        if self.total:
            self.cursor = self.total - 1

    def action_open(self) -> None:
        if self.current is not None:
            self.post_message(self.Opened(self, self.current))

    def on_click(self, event) -> None:
        index = int(self.scroll_offset.y) + event.y
        if 0 <= index < self.total:
            self.cursor = index
            if event.chain >= 2 and self.current is not None:
                self.post_message(self.Opened(self, self.current))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._request()

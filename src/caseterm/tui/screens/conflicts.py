"""Sync problems a person decides (F8): conflicts and rejected changes.

A **conflict** is a change of yours to a field someone else changed on the server
meanwhile; the server's value stands until you decide. Each line shows the field with
yours and theirs: ``m`` keeps yours (sent again with the next sync), ``t`` keeps
theirs, ``e`` sends a value you type. A **rejected** change is one the server refused
(no permission, a rule); it shows why, and ``d`` clears it from the list once read.
Everything here runs in workers; the list reloads after each decision.
"""

from __future__ import annotations

import json

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from caseterm.errors import CasetermError
from caseterm.tui.screens import forms


def _show(value) -> str:
    return "—" if value is None else json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


class SyncProblemsScreen(Screen):
    DEFAULT_CSS = """
    SyncProblemsScreen #problems-title { text-style: bold; padding: 0 1; background: $panel; }
    SyncProblemsScreen #problems { height: 1fr; }
    SyncProblemsScreen #problems-hint { color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="problems.back"),
        Binding("m", "keep('mine')", "Keep mine", id="problems.mine", tooltip="Send your value again"),
        Binding("t", "keep('theirs')", "Keep theirs", id="problems.theirs", tooltip="The server's value stands"),
        Binding("e", "edit", "Edit", id="problems.edit", tooltip="Send a value you type"),
        Binding("d", "dismiss_rejected", "Clear", id="problems.clear", tooltip="Clear a rejected change you have read"),
    ]

    def __init__(self, gateway, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway
        self.items: dict[str, tuple] = {}  # option id -> ("conflict", view, field) | ("rejected", op_id)

    def compose(self) -> ComposeResult:
        yield Static("Sync: conflicts and rejected changes", id="problems-title")
        yield OptionList(id="problems")
        yield Static("m keep mine · t keep theirs · e type a value · d clear a rejected change · Esc back",
                     id="problems-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#problems", OptionList).focus()
        self._load()

    @work(thread=True, exclusive=True, group="sync-problems", exit_on_error=False)
    def _load(self) -> None:
        found = self.gateway.conflicts()
        rejected = self.gateway.rejected()
        synced = bool(self.gateway.sync_state()["server"])
        self.app.call_from_thread(self._show, found, rejected, synced)

    def _show(self, found, rejected, synced: bool = True) -> None:
        box = self.query_one("#problems", OptionList)
        box.clear_options()
        self.items = {}
        if not found and not rejected:
            box.add_option(Option("Nothing to decide: every change of yours reached the server." if synced else
                                  "Nothing to decide: this store does not sync with a server "
                                  "(caseterm login URL --token TOKEN).", disabled=True))
            return
        for view in found:
            for name, values in view.fields.items():
                key = f"c:{view.op_id}:{name}"
                self.items[key] = ("conflict", view, name)
                box.add_option(Option(f"conflict  {view.label}  {name}: mine {_show(values['mine'])} · theirs "
                                      f"{_show(values['theirs'])} (was {_show(values['base'])})", id=key))
        for op_id, what, action, reason in rejected:
            key = f"r:{op_id}"
            self.items[key] = ("rejected", op_id)
            box.add_option(Option(f"rejected  {what}  {action}: {reason}", id=key))
        box.highlighted = 0

    def _current(self) -> tuple | None:
        box = self.query_one("#problems", OptionList)
        if box.highlighted is None:
            return None
        return self.items.get(box.get_option_at_index(box.highlighted).id or "")

    def action_keep(self, which: str) -> None:
        item = self._current()
        if item is None or item[0] != "conflict":
            self.notify("Pick a conflict (the lines that start with 'conflict').", severity="warning")
            return
        self._decide(item[1].op_id, which, None)

    def action_edit(self) -> None:
        item = self._current()
        if item is None or item[0] != "conflict":
            self.notify("Pick a conflict (the lines that start with 'conflict').", severity="warning")
            return
        _, view, name = item
        mine = view.fields[name]["mine"]

        def submit(values):
            return self.gateway.resolve_conflict(view.op_id, "edit", {name: values["text"].strip()})

        self.app.push_screen(forms.TextForm(submit, title=f"{view.label}: {name}", label=f"The value to send for {name}",
                                            initial=_show(mine) if mine is not None else "", multiline=False,
                                            submit_label="Send"),
                             self._decided)

    def action_dismiss_rejected(self) -> None:
        item = self._current()
        if item is None or item[0] != "rejected":
            self.notify("Pick a rejected change (the lines that start with 'rejected').", severity="warning")
            return
        self._clear(item[1])

    @work(thread=True, group="sync-decide", exit_on_error=False)
    def _decide(self, op_id: str, keep: str, edited) -> None:
        try:
            words = self.gateway.resolve_conflict(op_id, keep, edited)
        except CasetermError as exc:
            self.app.call_from_thread(self.notify, str(exc), title="Not decided", severity="warning")
            return
        self.app.call_from_thread(self._decided, words)

    @work(thread=True, group="sync-decide", exit_on_error=False)
    def _clear(self, op_id: str) -> None:
        self.gateway.dismiss_rejected(op_id)
        self.app.call_from_thread(self._load)

    def _decided(self, words) -> None:
        if words:
            self.notify(str(words[0].upper() + words[1:]), title="Conflict decided")
        self._load()

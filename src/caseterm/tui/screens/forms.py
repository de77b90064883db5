"""The action dialogs. Each one collects input, runs its service call in a worker, and
shows a refusal beside the field it concerns (or at the bottom) without closing, so
nothing typed is lost. It closes with the call's result when the call succeeds."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from caseterm.errors import CasetermError, ValidationError

log = logging.getLogger("caseterm.tui")

Submit = Callable[[dict[str, Any]], Any]  # runs in a worker thread; raises CasetermError to refuse


class FormScreen(ModalScreen):
    """Base: a titled dialog with fields, an error line per field, Save (Ctrl+S) and Cancel (Esc)."""

    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > #dialog {
        width: 76; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $panel; padding: 1 2;
    }
    FormScreen .form-title { text-style: bold; margin-bottom: 1; }
    FormScreen .field-label { color: $text-muted; margin-top: 1; }
    FormScreen .field-error { color: $error; height: auto; display: none; }
    FormScreen #form-error { color: $error; margin-top: 1; height: auto; display: none; }
    FormScreen TextArea { height: 6; }
    FormScreen .buttons { height: auto; margin-top: 1; align-horizontal: right; }
    FormScreen .buttons Button { margin-left: 2; }
    FormScreen .hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("ctrl+s,f2", "save", "Save", id="form.save", tooltip="Save (Ctrl+S or F2)"),
        Binding("escape", "cancel", "Cancel", id="form.cancel", tooltip="Close without saving"),
    ]

    title_text = ""
    submit_label = "Save"

    def __init__(self, submit: Submit, **kwargs) -> None:
        super().__init__(**kwargs)
        self.submit = submit
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, classes="form-title")
            yield from self.fields()
            yield Static("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.submit_label} (Ctrl+S)", id="save", variant="primary")
                yield Button("Cancel (Esc)", id="cancel")

    def fields(self) -> ComposeResult:
        yield from ()

    def field(self, label: str, widget, name: str) -> ComposeResult:
        yield Label(label, classes="field-label")
        yield widget
        yield Static("", id=f"error-{name}", classes="field-error")

    def values(self) -> dict[str, Any]:
        return {}

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        try:
            values = self.values()
        except ValidationError as exc:
            self.show_error(exc)
            return
        self.busy = True
        self.query_one("#save", Button).disabled = True
        self._run(values)

    @work(thread=True, exclusive=True, group="form", exit_on_error=False)
    def _run(self, values: dict[str, Any]) -> None:
        try:
            result = self.submit(values)
        except CasetermError as exc:
            self.app.call_from_thread(self._refused, exc)
            return
        except Exception as exc:  # logged with its traceback; the person gets words
            log.exception("action failed")
            self.app.call_from_thread(self._refused, CasetermError(
                f"That did not work ({type(exc).__name__}). Nothing was saved; the details are in the log file."))
            return
        self.app.call_from_thread(self.dismiss, result)

    def _refused(self, exc: CasetermError) -> None:
        self.busy = False
        self.query_one("#save", Button).disabled = False
        self.show_error(exc)

    def clear_errors(self) -> None:
        for widget in [*self.query(".field-error"), self.query_one("#form-error", Static)]:
            widget.update("")
            widget.display = False

    def show_error(self, exc: CasetermError) -> None:
        """Beside the field it names, if this form has it; else at the bottom."""
        field = getattr(exc, "field", None)
        if field:
            key = field.split()[0].replace(" ", "_")
            target = self.query(f"#error-{key}")
            if target:
                target.first().update(exc.reason)
                target.first().display = True
                return
        bottom = self.query_one("#form-error", Static)
        bottom.update(str(exc))
        bottom.display = True


class TextForm(FormScreen):
    """One text (multi-line or one line), optionally with a choice above it."""

    def __init__(self, submit: Submit, *, title: str, label: str, name: str = "text", multiline: bool = True,
                 initial: str = "", choices: list[tuple[str, str]] | None = None, choice_label: str = "",
                 submit_label: str = "Save", hint: str = "", flag: str | None = None) -> None:
        super().__init__(submit)
        self.flag = flag
        self.title_text = title
        self.label = label
        self.name_ = name
        self.multiline = multiline
        self.initial = initial
        self.choices = choices
        self.choice_label = choice_label
        self.submit_label = submit_label
        self.hint = hint

    def fields(self) -> ComposeResult:
        if self.choices:
            yield from self.field(self.choice_label, Select(self.choices, value=self.choices[0][1], allow_blank=False,
                                                            id="choice"), "choice")
        widget = TextArea(self.initial, id="text", soft_wrap=True) if self.multiline else Input(self.initial, id="text")
        yield from self.field(self.label, widget, self.name_)
        if self.flag:
            yield Checkbox(self.flag, id="flag")
        if self.hint:
            yield Static(self.hint, classes="hint")

    def on_mount(self) -> None:
        self.query_one("#text").focus()

    def values(self) -> dict[str, Any]:
        widget = self.query_one("#text")
        out = {"text": widget.text if isinstance(widget, TextArea) else widget.value}
        if self.choices:
            out["choice"] = self.query_one("#choice", Select).value
        out["flag"] = self.query_one("#flag", Checkbox).value if self.flag else False
        return out


class CallForm(FormScreen):
    """Log a phone call while it happens: the timer runs from opening until Save."""

    title_text = "Log a phone call"
    DEFAULT_CSS = """
    CallForm #timer { text-style: bold; color: $accent; }
    """

    def __init__(self, submit: Submit, started: float | None = None) -> None:
        super().__init__(submit)
        self.started = started if started is not None else time.monotonic()

    def fields(self) -> ComposeResult:
        yield Static("00:00", id="timer")
        yield from self.field("Direction", Select([("Inbound (the customer called)", "inbound"),
                                                   ("Outbound (we called)", "outbound")], value="inbound",
                                                  allow_blank=False, id="direction"), "direction")
        yield from self.field("What was said", TextArea("", id="text", soft_wrap=True), "text")

    def on_mount(self) -> None:
        self.query_one("#text").focus()
        self._tick()
        self.set_interval(1, self._tick)

    def elapsed(self) -> int:
        return int(time.monotonic() - self.started)

    def _tick(self) -> None:
        minutes, seconds = divmod(self.elapsed(), 60)
        self.query_one("#timer", Static).update(f"On the call: {minutes:02d}:{seconds:02d}")

    def values(self) -> dict[str, Any]:
        return {"text": self.query_one("#text", TextArea).text, "direction": self.query_one("#direction", Select).value,
                "duration": self.elapsed()}


class ChoiceForm(FormScreen):
    """Pick one option (only the allowed ones are offered), with an optional note."""

    def __init__(self, submit: Submit, *, title: str, options: list[tuple[str, str]], note_label: str = "Note (optional)",
                 submit_label: str = "Save") -> None:
        super().__init__(submit)
        self.title_text = title
        self.options = options
        self.note_label = note_label
        self.submit_label = submit_label

    def fields(self) -> ComposeResult:
        yield from self.field("Choose", OptionList(*[Option(label, id=value) for label, value in self.options],
                                                   id="choice"), "choice")
        yield from self.field(self.note_label, Input(id="note"), "note")

    def on_mount(self) -> None:
        self.query_one("#choice", OptionList).focus()

    @on(OptionList.OptionSelected, "#choice")
    def _chosen(self) -> None:
        self.query_one("#note", Input).focus()

    def values(self) -> dict[str, Any]:
        options = self.query_one("#choice", OptionList)
        if options.highlighted is None:
            raise ValidationError("choice", "pick one")
        return {"choice": options.get_option_at_index(options.highlighted).id,
                "note": self.query_one("#note", Input).value}


class AssignForm(FormScreen):
    """Queue and owner; agents are listed with their load (active cases / capacity)."""

    title_text = "Assign"

    def __init__(self, submit: Submit, *, queues: list[tuple[str, str]], queue_id: str | None,
                 load_agents: Callable[[str | None], list[tuple[str, str, str, int, int]]], me_id: str,
                 bulk: int = 0) -> None:
        super().__init__(submit)
        self.queues = queues
        self.queue_id = queue_id
        self.load_agents = load_agents
        self.me_id = me_id
        self.bulk = bulk  # how many marked cases go to one owner (0: one case, queue and owner)
        if bulk:
            self.title_text = f"Assign {bulk} marked case{'s' if bulk != 1 else ''} to one agent"

    def fields(self) -> ComposeResult:
        options = [("(no queue)", "")] + [(name, qid) for qid, name in self.queues]
        label = "Agents of queue" if self.bulk else "Queue"
        yield from self.field(label, Select(options, value=self.queue_id or "", allow_blank=False, id="queue"), "queue")
        yield from self.field("Owner", OptionList(id="owner"), "owner")
        if self.bulk:
            yield Static("Each case keeps its queue. Refused if the agent would pass their capacity.", classes="hint")

    def on_mount(self) -> None:
        self._agents(self.queue_id)
        self.query_one("#owner", OptionList).focus()

    @on(Select.Changed, "#queue")
    def _queue_changed(self, event: Select.Changed) -> None:
        self._agents(event.value or None)

    @work(thread=True, exclusive=True, group="assign-agents", exit_on_error=False)
    def _agents(self, queue_id: str | None) -> None:
        agents = self.load_agents(queue_id)
        self.app.call_from_thread(self._show_agents, agents)

    def _show_agents(self, agents) -> None:
        owner = self.query_one("#owner", OptionList)
        owner.clear_options()
        if not self.bulk:
            owner.add_option(Option("(nobody: leave it in the queue)", id=""))
        for aid, login, name, load, capacity in agents:
            me = "  ← me" if aid == self.me_id else ""
            owner.add_option(Option(f"{login:<12} {name:<22} {load}/{capacity} active{me}", id=aid))
        owner.highlighted = 0

    def values(self) -> dict[str, Any]:
        owner = self.query_one("#owner", OptionList)
        owner_id = owner.get_option_at_index(owner.highlighted).id if owner.highlighted is not None else ""
        return {"queue_id": self.query_one("#queue", Select).value or None, "owner_id": owner_id or None}


class DebouncedSearch:
    """Search as you type: ``_search(text)`` waits a moment in a worker (the next key press
    cancels it), runs ``self.search_now(text)`` there, and hands a non-None answer to
    ``self._show_hits(text, answer)`` on the UI thread, which ignores answers to older text."""

    def search_now(self, text: str):
        raise NotImplementedError

    @work(thread=True, exclusive=True, group="search-as-you-type", exit_on_error=False)
    def _search(self, text: str) -> None:
        from textual.worker import get_current_worker

        time.sleep(0.15)
        if get_current_worker().is_cancelled:
            return
        answer = self.search_now(text)
        if answer is not None and not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_hits, text, answer)


class CustomerSearch(DebouncedSearch):
    """Customers by name, email, phone, order or serial through ``self.find``."""

    def search_now(self, text: str) -> list:
        return self.find(text) if len(text.strip()) >= 2 else []


class NewCaseForm(CustomerSearch, FormScreen):
    """A new case: find the customer as you type (name, email, phone, order, serial) or
    create them inline; their product or asset; what happened; origin, priority, type
    and category."""

    title_text = "New case"
    submit_label = "Create"
    DEFAULT_CSS = """
    NewCaseForm #customer-hits { height: auto; max-height: 6; }
    NewCaseForm #picked { color: $success; }
    NewCaseForm #new-customer { display: none; height: auto; }
    NewCaseForm #new-customer.shown { display: block; }
    NewCaseForm TextArea { height: 4; }
    NewCaseForm Input, NewCaseForm Select, NewCaseForm TextArea { background: $surface; }
    NewCaseForm .row { height: auto; }
    NewCaseForm .row > Vertical { width: 1fr; height: auto; margin-right: 1; }
    """

    def __init__(self, submit: Submit, *, find: Callable[[str], list], assets: Callable[[str], list],
                 products: list[tuple[str, str, str]], categories: list[tuple[str, str]]) -> None:
        super().__init__(submit)
        self.find = find
        self.assets = assets
        self.products = products
        self.categories = categories
        self.picked: tuple[str, str] | None = None  # (customer id hex, name)

    def _product_options(self, assets: list) -> list[tuple[str, str]]:
        options = [(f"Their {name}, serial {serial}" + (f" (warranty to {end})" if end else ""), f"asset:{aid}")
                   for aid, serial, name, end in assets]
        return options + [(f"{name} ({sku})", f"product:{pid}") for pid, sku, name in self.products]

    def fields(self) -> ComposeResult:
        yield from self.field("Customer (name, email, phone, order no. or serial)", Input(id="customer", compact=True), "customer")
        yield OptionList(id="customer-hits")
        yield Static("", id="picked")
        with Vertical(id="new-customer"):
            yield from self.field("Not found: the new customer's name (they are added with that email or phone)",
                                  Input(id="new-name", compact=True), "name")
        yield from self.field("Title: what is it about, in one line", Input(id="title", compact=True), "title")
        yield from self.field("Description: what the customer reported", TextArea("", id="description", compact=True), "description")
        yield from self.field("Product or asset", Select(self._product_options([]), id="product",
                                                         prompt="(none)", compact=True), "product")
        with Horizontal(classes="row"):
            with Vertical():
                yield from self.field("Origin", Select([(o.capitalize(), o) for o in
                                                        ("phone", "email", "web", "chat", "store", "field")],
                                                       value="phone", allow_blank=False, id="origin", compact=True), "origin")
            with Vertical():
                yield from self.field("Priority", Select([("1 Critical", "1"), ("2 High", "2"), ("3 Normal", "3"),
                                                          ("4 Low", "4")], value="3", allow_blank=False,
                                                         id="priority", compact=True), "priority")
            with Vertical():
                yield from self.field("Type", Select([(t.capitalize(), t) for t in
                                                      ("problem", "question", "request", "complaint")],
                                                     value="problem", allow_blank=False, id="type", compact=True), "type")
            with Vertical():
                yield from self.field("Category", Select([(name, cid) for cid, name in self.categories],
                                                         id="category", prompt="(none)", compact=True), "category")

    def on_mount(self) -> None:
        self.query_one("#customer-hits", OptionList).display = False
        self.query_one("#customer", Input).focus()

    @on(Input.Changed, "#customer")
    def _typed(self, event: Input.Changed) -> None:
        self.picked = None
        self.query_one("#picked", Static).update("")
        self._search(event.value)

    def _show_hits(self, text: str, hits: list) -> None:
        if text != self.query_one("#customer", Input).value:
            return  # results for an older query
        box = self.query_one("#customer-hits", OptionList)
        box.clear_options()
        for h in hits:
            contact = h.email or h.phone or ""
            box.add_option(Option(f"{h.name}  {contact}  ({h.active_cases} active)", id=h.id))
        box.display = bool(hits)
        if hits:
            box.highlighted = 0
        # nobody matches an email or phone: offer to add them
        from caseterm.domain.text import looks_like_email, phone_digits

        unknown = not hits and (looks_like_email(text) or len(phone_digits(text)) >= 6)
        self.query_one("#new-customer").set_class(unknown, "shown")

    @on(Input.Submitted, "#customer")
    def _take_first(self) -> None:
        box = self.query_one("#customer-hits", OptionList)
        if box.display and box.option_count:
            self._pick(box.get_option_at_index(box.highlighted or 0))
        elif self.query_one("#new-customer").has_class("shown"):
            self.query_one("#new-name", Input).focus()
        else:
            self.query_one("#title", Input).focus()

    def on_key(self, event) -> None:
        # Down from the customer field walks the hits without leaving the keyboard home row
        if self.focused is self.query_one("#customer", Input) and event.key == "down":
            box = self.query_one("#customer-hits", OptionList)
            if box.display:
                box.focus()
                event.stop()

    @on(OptionList.OptionSelected, "#customer-hits")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._pick(event.option)

    def _pick(self, option: Option) -> None:
        name = str(option.prompt).split("  ")[0]
        self.picked = (option.id, name)
        self.query_one("#picked", Static).update(f"✓ {name}")
        self.query_one("#customer-hits", OptionList).display = False
        self.query_one("#new-customer").set_class(False, "shown")
        self.query_one("#title", Input).focus()
        self._load_assets(option.id)

    @work(thread=True, exclusive=True, group="customer-assets", exit_on_error=False)
    def _load_assets(self, customer_id: str) -> None:
        assets = self.assets(customer_id)
        self.app.call_from_thread(self._show_assets, customer_id, assets)

    def _show_assets(self, customer_id: str, assets: list) -> None:
        if self.picked and self.picked[0] == customer_id:
            self.query_one("#product", Select).set_options(self._product_options(assets))

    def values(self) -> dict[str, Any]:
        typed = self.query_one("#customer", Input).value.strip()
        if self.picked is None and not typed:
            raise ValidationError("customer", "find the customer first (type a name, email or phone)")
        product = self.query_one("#product", Select).value
        category = self.query_one("#category", Select).value
        return {
            "customer_id": self.picked[0] if self.picked else None,
            "customer_text": typed,
            "new_name": self.query_one("#new-name", Input).value.strip(),
            "title": self.query_one("#title", Input).value,
            "description": self.query_one("#description", TextArea).text,
            "origin": self.query_one("#origin", Select).value,
            "priority": self.query_one("#priority", Select).value,
            "type": self.query_one("#type", Select).value,
            "product": product if isinstance(product, str) else None,
            "category": category if isinstance(category, str) else None,
        }


class FindCustomerScreen(CustomerSearch, ModalScreen):
    """Find a customer as you type; Enter opens their 360 (dismisses with the customer id)."""

    DEFAULT_CSS = """
    FindCustomerScreen { align: center middle; }
    FindCustomerScreen > #dialog { width: 76; max-width: 95%; height: auto; max-height: 80%;
                                   border: thick $primary; background: $panel; padding: 1 2; }
    FindCustomerScreen #hits { height: auto; max-height: 12; }
    FindCustomerScreen .hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="find.cancel", tooltip="Close")]

    def __init__(self, find: Callable[[str], list]) -> None:
        super().__init__()
        self.find = find

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Find a customer", classes="form-title")
            yield Input(id="query", placeholder="Name, email, phone, order number or serial")
            yield OptionList(id="hits")
            yield Static("↓ to the list, Enter opens the customer, Esc closes", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Changed, "#query")
    def _typed(self, event: Input.Changed) -> None:
        self._search(event.value)

    def _show_hits(self, text: str, hits: list) -> None:
        if text != self.query_one("#query", Input).value:
            return
        box = self.query_one("#hits", OptionList)
        box.clear_options()
        for h in hits:
            box.add_option(Option(f"{h.name}  {h.email or h.phone or ''}  {h.city or ''}  ({h.active_cases} active)",
                                  id=h.id))
        if hits:
            box.highlighted = 0

    def on_key(self, event) -> None:
        if self.focused is self.query_one("#query", Input) and event.key == "down":
            self.query_one("#hits", OptionList).focus()
            event.stop()

    @on(Input.Submitted, "#query")
    def _enter(self) -> None:
        box = self.query_one("#hits", OptionList)
        if box.option_count:
            self.dismiss(box.get_option_at_index(box.highlighted or 0).id)

    @on(OptionList.OptionSelected, "#hits")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

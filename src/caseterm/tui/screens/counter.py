"""Counter mode, for store clerks: log a complaint in three fields and Enter, then hand the
customer their case number. No training needed: every field says what goes in it, Enter
moves on, and a refusal says which field and why."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from caseterm.errors import CasetermError, ValidationError


class CounterScreen(Screen):
    DEFAULT_CSS = """
    CounterScreen { align: center top; }
    CounterScreen > #counter { width: 84; max-width: 100%; height: auto; padding: 0 2; margin-top: 1;
                               background: $surface; border: tall $primary; }
    CounterScreen .title { text-style: bold; }
    CounterScreen .field-label { margin-top: 1; }
    CounterScreen .field-help { color: $text-muted; }
    CounterScreen .field-error { color: $error; display: none; }
    CounterScreen #result { margin-top: 1; padding: 0 2; display: none; text-style: bold;
                            background: $success 20%; border: tall $success; }
    CounterScreen #result.error { background: $error 15%; border: tall $error; }
    CounterScreen #who { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("ctrl+s,f2", "log", "Log complaint", id="counter.log", tooltip="Create the case (Enter in the last field)"),
        Binding("escape", "clear", "Clear", id="counter.clear", tooltip="Start over for the next customer"),
    ]

    FIELDS = (
        ("contact", "Customer's phone or email", "We find them; if they are new, add their name below."),
        ("name", "Name (only for a new customer)", "Leave empty for customers we already know."),
        ("product", "Product: serial number, SKU or name", "Optional: the serial is on the receipt or the box."),
        ("what", "What happened", "In the customer's words; the first sentence becomes the title."),
    )

    def __init__(self, gateway, me, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway
        self.me = me
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="counter"):
            yield Label("Log a complaint at the counter", classes="title")
            for name, label, help_text in self.FIELDS:
                yield Label(label, classes="field-label")
                yield Input(id=name, placeholder=help_text)
                yield Static("", id=f"error-{name}", classes="field-error")
            yield Static("", id="result")
            yield Static(f"{self.me.display_name} ({self.me.role}) · {self.gateway.path} · Enter moves to the next "
                         "field; Enter in the last one logs the complaint", id="who")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#contact", Input).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        names = [name for name, _, _ in self.FIELDS]
        index = names.index(event.input.id)
        if index == len(names) - 1:
            self.action_log()
        else:
            self.query_one(f"#{names[index + 1]}", Input).focus()

    def on_worker_state_changed(self, event) -> None:
        from textual.worker import WorkerState

        if event.state is WorkerState.ERROR:
            self.busy = False
            self.app.report_worker_failure(event)

    def action_clear(self) -> None:
        for name, _, _ in self.FIELDS:
            self.query_one(f"#{name}", Input).value = ""
        self._clear_errors()
        self.query_one("#contact", Input).focus()

    def _clear_errors(self) -> None:
        for widget in self.query(".field-error"):
            widget.update("")
            widget.display = False

    def action_log(self) -> None:
        if self.busy:
            return
        self._clear_errors()
        values = {name: self.query_one(f"#{name}", Input).value for name, _, _ in self.FIELDS}
        self.busy = True
        self._log(values)

    @work(thread=True, exclusive=True, group="counter", exit_on_error=False)
    def _log(self, values: dict[str, str]) -> None:
        try:
            case = self.gateway.write(self.me.login, lambda uow, me: log_complaint(uow, me, values))
        except CasetermError as exc:
            self.app.call_from_thread(self._refused, exc)
            return
        self.app.call_from_thread(self._done, case.number)

    def _refused(self, exc: CasetermError) -> None:
        self.busy = False
        field = getattr(exc, "field", None)
        if field in {name for name, _, _ in self.FIELDS}:
            widget = self.query_one(f"#error-{field}", Static)
            widget.update(exc.reason)
            widget.display = True
            self.query_one(f"#{field}", Input).focus()
            return
        result = self.query_one("#result", Static)
        result.set_class(True, "error")
        result.update(str(exc))
        result.display = True

    def _done(self, number: str) -> None:
        self.busy = False
        result = self.query_one("#result", Static)
        result.set_class(False, "error")
        result.update(f"Case {number} logged.\nGive this number to the customer: {number}")
        result.display = True
        for name, _, _ in self.FIELDS:
            self.query_one(f"#{name}", Input).value = ""
        self.query_one("#contact", Input).focus()


def log_complaint(uow, me, values: dict[str, str]):
    """The counter's one action: find or create the customer, find the product, create the case."""
    from sqlmodel import func, select

    from caseterm.domain import validate
    from caseterm.domain.text import looks_like_email
    from caseterm.services import cases, customers
    from caseterm.services.lookup import customer_by_key
    from caseterm.store.models import Asset, Product

    contact = values["contact"].strip()
    what = (values["what"] or "").strip()
    if not contact:
        raise ValidationError("contact", "type the customer's phone number or email")
    if not what:
        raise ValidationError("what", "say what happened, in a sentence or two")
    try:
        customer = customer_by_key(uow, contact)
    except CasetermError as exc:
        if getattr(exc, "field", None) == "customer":
            raise ValidationError("contact", exc.reason) from None
        name = (values["name"] or "").strip()
        if not name:
            raise ValidationError("name", "we do not know this customer yet: type their name to add them") from None
        email = contact if looks_like_email(contact) else None
        phone = None if email else contact
        try:
            customer = customers.create_customer(uow, me, name=name, email=email, phone=phone)
        except ValidationError as bad:
            raise ValidationError("contact" if bad.field in ("email", "phone") else "name", bad.reason) from None
    product = asset = None
    wanted = values["product"].strip()
    if wanted:
        asset = uow.session.exec(select(Asset).where(Asset.serial_number == wanted, Asset.customer_id == customer.id,
                                                     Asset.deleted == False)).first()  # noqa: E712
        if asset is None:
            product = uow.session.exec(select(Product).where(func.upper(Product.sku) == wanted.upper())).first()
        if asset is None and product is None:
            matches = uow.session.exec(select(Product).where(Product.name.ilike(f"%{wanted}%"),
                                                             Product.deleted == False).limit(3)).all()  # noqa: E712
            if len(matches) == 1:
                product = matches[0]
            elif matches:
                raise ValidationError("product", "several products match: " + "; ".join(p.name for p in matches))
            else:
                raise ValidationError("product", f"no product or serial '{wanted}'; leave it empty if unsure")
    first = what.replace("\n", " ").split(". ")[0].strip().rstrip(".")
    title = first if len(first) <= 120 else first[:117].rstrip() + "…"
    return cases.create_case(uow, me, customer=customer, title=validate.required_line("what", title, 200),
                             description=what, origin="store", case_type="complaint", product=product, asset=asset)

"""Writing and reviewing knowledge articles in the TUI.

* :class:`ArticleEditorScreen` — the metadata fields, a Markdown editor and its live
  preview. Ctrl+S saves the draft, Ctrl+R saves and sends it for review. Editing a
  published article saves a new draft revision; the published one stays what agents see
  until a reviewer approves the new one.
* :class:`KbDeskScreen` — the articles being written or reviewed (in review first, then
  drafts). Enter opens a draft in the editor, an article in review in the review screen.
* :class:`ReviewScreen` — the article as agents will see it, what changed since the
  published revision, and Approve / Reject with a comment (reviewers only; the services
  refuse anyone else, and the refusal is shown).

All store work runs in workers through the gateway; refusals are shown beside the field
they concern and nothing typed is lost.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, time, timezone

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Label, Markdown, Select, Static, TextArea

from caseterm.domain.text import short_time
from caseterm.errors import CasetermError, ValidationError

PREVIEW_DELAY = 0.2  # seconds of quiet typing before the preview follows


@dataclass(frozen=True)
class Draft:
    """What the editor shows: the revision being worked on, as plain values."""

    number: str | None
    revision: int
    state: str
    title: str
    body: str
    product: str | None  # SKU
    category: str
    keywords: tuple[str, ...]
    language: str
    expires: str  # YYYY-MM-DD or ""
    review_comment: str | None


def parse_expiry(text: str) -> datetime | None:
    """``YYYY-MM-DD`` (the end of that day, UTC) or blank for "never"."""
    text = text.strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError("expiry", f"'{text}' is not a date; use YYYY-MM-DD, e.g. 2027-06-30, or leave it empty")
    return datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc)


def split_keywords(text: str) -> list[str]:
    return [word.strip() for word in text.split(",") if word.strip()]


def _draft_of(uow, article) -> Draft:
    from caseterm.services import kb

    doc = kb.to_doc(uow, article)
    return Draft(number=article.number, revision=article.revision, state=article.state, title=article.title,
                 body=article.body, product=doc.product, category=article.category,
                 keywords=tuple(article.keywords), language=article.language,
                 expires=article.expires_at.strftime("%Y-%m-%d") if article.expires_at else "",
                 review_comment=article.review_comment)


class ArticleEditorScreen(Screen):
    """A new article (``number`` None) or the working revision of KA-…."""

    DEFAULT_CSS = """
    ArticleEditorScreen #ed-status { color: $text-muted; padding: 0 1; height: auto; }
    ArticleEditorScreen #ed-comment { color: $warning; padding: 0 1; height: auto; display: none; }
    ArticleEditorScreen #ed-meta { grid-size: 6; grid-columns: 10 1fr 10 1fr 10 1fr; grid-rows: auto;
                                   height: auto; padding: 0 1; grid-gutter: 0 1; }
    ArticleEditorScreen #title { column-span: 3; }
    ArticleEditorScreen #ed-meta Label { padding: 1 0 0 0; color: $text-muted; }
    ArticleEditorScreen .field-error { color: $error; padding: 0 1; height: auto; display: none; }
    ArticleEditorScreen #ed-panes { height: 1fr; }
    ArticleEditorScreen #ed-body { width: 1fr; }
    ArticleEditorScreen #ed-preview { width: 1fr; border-left: tall $panel; background: $surface; padding: 0 1; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save(False)", "Save draft", id="kb.save", tooltip="Save the draft (agents don't see it yet)"),
        Binding("ctrl+r", "save(True)", "Submit for review", id="kb.submit",
                tooltip="Save and send the draft to a reviewer"),
        Binding("escape", "back", "Back", id="kb.editor_back", tooltip="Leave the editor (asks first if unsaved)"),
    ]
    FIELDS = ("title", "product", "category", "keywords", "language", "expiry", "body", "article")

    def __init__(self, gateway, me, number: str | None = None) -> None:
        super().__init__()
        self.gateway = gateway
        self.me = me
        self.number = number
        self.loaded: Draft | None = None
        self.saved_values: dict | None = None
        self.busy = False
        self._leave_armed = False
        self._preview_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("New article" if self.number is None else f"Editing {self.number}", id="ed-title",
                     classes="-title")
        yield Static("Loading…" if self.number else "Not saved yet.", id="ed-status")
        yield Static("", id="ed-comment")
        with Grid(id="ed-meta"):
            yield Label("Title")
            yield Input(id="title", placeholder="What the reader wants to do or fix")
            yield Label("Product")
            yield Select([], prompt="All products", id="product")
            yield Label("Category")
            yield Input(id="category", placeholder="e.g. Troubleshooting")
            yield Label("Keywords")
            yield Input(id="keywords", placeholder="comma, separated, words")
            yield Label("Expires")
            yield Input(id="expiry", placeholder="YYYY-MM-DD or empty")
            yield Label("Language")
            yield Input("en", id="language", max_length=8)
        for name in self.FIELDS:
            yield Static("", id=f"error-{name}", classes="field-error")
        with Horizontal(id="ed-panes"):
            yield TextArea("", id="ed-body", soft_wrap=True, tab_behavior="indent",
                           placeholder="Write the article in Markdown: ## headings, 1. steps, **bold**, `code`…")
            with VerticalScroll(id="ed-preview"):
                yield Markdown("", id="ed-rendered")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()
        self._load()

    @work(thread=True, exclusive=True, group="kb-editor-load", exit_on_error=False)
    def _load(self) -> None:
        products = self.gateway.products()
        draft = None
        if self.number is not None:
            from caseterm.services import kb

            try:
                draft = self.gateway.write(self.me.login, lambda uow, me: _draft_of(
                    uow, kb.working_revision(uow, self.number)))
            except CasetermError as exc:
                self.app.call_from_thread(self._load_failed, exc)
                return
        self.app.call_from_thread(self._loaded, products, draft)

    def _load_failed(self, exc: CasetermError) -> None:
        self.notify(str(exc), severity="error")
        self.dismiss(None)

    def _loaded(self, products, draft: Draft | None) -> None:
        self.query_one("#product", Select).set_options([(f"{name} ({sku})", sku) for _, sku, name in products])
        if draft is not None:
            self.loaded = draft
            self.query_one("#title", Input).value = draft.title
            if draft.product:
                self.query_one("#product", Select).value = draft.product
            self.query_one("#category", Input).value = draft.category
            self.query_one("#keywords", Input).value = ", ".join(draft.keywords)
            self.query_one("#language", Input).value = draft.language
            self.query_one("#expiry", Input).value = draft.expires
            self.query_one("#ed-body", TextArea).load_text(draft.body)
            self._describe(draft)
        self.saved_values = self._raw_values()
        self._render_preview()

    def _describe(self, draft: Draft, saved: bool = False) -> None:
        state = draft.state.replace("_", " ")
        if draft.state in ("published", "expired"):
            where = (f"revision {draft.revision} is {state}; saving makes revision {draft.revision + 1}, a draft that "
                     "agents see only once a reviewer approves it")
        else:
            where = f"revision {draft.revision} · {state}"
        when = f" · saved {short_time(self.app.clock.now())}" if saved else ""
        self.query_one("#ed-title", Static).update(f"Editing {draft.number}")
        self.query_one("#ed-status", Static).update(f"{draft.number} · {where}{when} · Ctrl+S save · Ctrl+R submit")
        comment = self.query_one("#ed-comment", Static)
        if draft.review_comment and draft.state == "draft":
            comment.update(f"Reviewer's comment: {draft.review_comment}")
            comment.display = True
        else:
            comment.display = False

    # --- the live preview ------------------------------------------------------------------------

    @on(TextArea.Changed, "#ed-body")
    @on(Input.Changed, "#title")
    def _edited(self) -> None:
        self._leave_armed = False
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(PREVIEW_DELAY, self._render_preview)

    def _render_preview(self) -> None:
        title = self.query_one("#title", Input).value.strip() or "Untitled"
        body = self.query_one("#ed-body", TextArea).text
        self.query_one("#ed-rendered", Markdown).update(f"# {title}\n\n{body}")

    # --- saving ----------------------------------------------------------------------------------

    def _raw_values(self) -> dict:
        product = self.query_one("#product", Select).value
        return {
            "title": self.query_one("#title", Input).value,
            "body": self.query_one("#ed-body", TextArea).text,
            "product_sku": None if product == Select.NULL else str(product),
            "category": self.query_one("#category", Input).value,
            "keywords": self.query_one("#keywords", Input).value,
            "language": self.query_one("#language", Input).value,
            "expires": self.query_one("#expiry", Input).value,
        }

    @property
    def dirty(self) -> bool:
        return self.saved_values is not None and self._raw_values() != self.saved_values

    def action_save(self, submit: bool) -> None:
        if self.busy or self.saved_values is None:
            return
        self._clear_errors()
        raw = self._raw_values()
        values = {k: v for k, v in raw.items() if k != "expires"}
        try:
            values.update(keywords=split_keywords(raw["keywords"]), expires_at=parse_expiry(raw["expires"]))
        except ValidationError as exc:
            self._show_error(exc)
            return
        self.busy = True
        self._save(raw, values, submit)

    @work(thread=True, exclusive=True, group="kb-editor-save", exit_on_error=False)
    def _save(self, raw: dict, values: dict, submit: bool) -> None:
        from caseterm.services import kb

        def save(uow, me):
            article = kb.save_article(uow, me, self.number, submit=submit, **values)
            return _draft_of(uow, article)

        try:
            draft = self.gateway.write(self.me.login, save)
        except CasetermError as exc:
            self.app.call_from_thread(self._refused, exc)
            return
        self.app.call_from_thread(self._saved, raw, draft, submit)

    def _refused(self, exc: CasetermError) -> None:
        self.busy = False
        self._show_error(exc)

    def _saved(self, raw: dict, draft: Draft, submitted: bool) -> None:
        self.busy = False
        self.number = draft.number
        self.loaded = draft
        self.saved_values = raw
        if submitted:
            self.notify(f"{draft.number} sent for review. A supervisor approves it from Drafts & review (F6).")
            self.dismiss(draft.number)
            return
        self._describe(draft, saved=True)
        self.notify(f"{draft.number} saved as a draft")

    def _clear_errors(self) -> None:
        for widget in self.query(".field-error"):
            widget.update("")
            widget.display = False

    def _show_error(self, exc: CasetermError) -> None:
        name = getattr(exc, "field", None) or "article"
        name = {"product_sku": "product", "expires_at": "expiry"}.get(name, name)
        if name not in self.FIELDS:
            name = "article"
        box = self.query_one(f"#error-{name}", Static)
        label = "" if name == "article" else f"{name.capitalize()}: "
        box.update(f"{label}{getattr(exc, 'reason', None) or exc}")
        box.display = True
        focus = {"body": "#ed-body", "expiry": "#expiry"}.get(name, f"#{name}")
        if self.query(focus):
            self.query_one(focus).focus()

    # --- leaving ---------------------------------------------------------------------------------

    def action_back(self) -> None:
        if self.dirty and not self._leave_armed:
            self._leave_armed = True
            self.notify("Unsaved changes: Ctrl+S saves them; Esc again leaves without saving.", severity="warning")
            return
        self.dismiss(self.number)

    def on_worker_state_changed(self, event) -> None:
        self.app.report_worker_failure(event)


class KbDeskScreen(Screen):
    """Drafts and the review queue."""

    DEFAULT_CSS = """
    KbDeskScreen #desk-info { color: $text-muted; padding: 0 1; height: auto; }
    KbDeskScreen #desk-table { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="kb.desk_back", tooltip="Back"),
        Binding("f2", "new_article", "New article", id="kb.new", tooltip="Write a new article"),
        Binding("f5,ctrl+r", "reload", "Refresh", id="kb.desk_reload", tooltip="Reload the list"),
    ]

    def __init__(self, gateway, me) -> None:
        super().__init__()
        self.gateway = gateway
        self.me = me
        self.items: dict[str, tuple] = {}

    def compose(self) -> ComposeResult:
        yield Static("Knowledge base · drafts and review", id="desk-title", classes="-title")
        yield Static("Loading…", id="desk-info")
        yield DataTable(id="desk-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Article", "Rev", "State", "Title", "Author", "Changed", "Reviewer's comment")
        table.focus()
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="kb-desk", exit_on_error=False)
    def _load(self) -> None:
        items = self.gateway.kb_worklist()
        self.app.call_from_thread(self._show, items)

    def _show(self, items: list[tuple]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.items = {}
        reviewer = self.me.role in ("supervisor", "admin")
        in_review = 0
        for number, revision, state, title, author, updated, comment, supersedes in items:
            key = f"{number}#{revision}"
            self.items[key] = (number, state)
            in_review += state == "in_review"
            shown_state = Text("in review", style="bold") if state == "in_review" else Text(
                "rejected" if comment and state == "draft" else "draft")
            what = title if not supersedes else f"{title} (edit of the published article)"
            table.add_row(number, str(revision), shown_state, what, author, str(updated)[:16], comment or "",
                          key=key)
        who = ("You review: Enter on an article in review to approve or reject it." if reviewer
               else "Enter opens a draft in the editor; a supervisor reviews what you submit.")
        self.query_one("#desk-info", Static).update(
            f"{in_review} in review · {len(items) - in_review} draft(s). {who} F2 writes a new article.")

    @on(DataTable.RowSelected, "#desk-table")
    def _opened(self, event: DataTable.RowSelected) -> None:
        number, state = self.items[event.row_key.value]
        if state == "in_review":
            self.app.push_screen(ReviewScreen(self.gateway, self.me, number), lambda _: self.action_reload())
        else:
            self.app.push_screen(ArticleEditorScreen(self.gateway, self.me, number), lambda _: self.action_reload())

    def action_new_article(self) -> None:
        self.app.push_screen(ArticleEditorScreen(self.gateway, self.me), lambda _: self.action_reload())

    def action_back(self) -> None:
        self.dismiss(None)

    def on_worker_state_changed(self, event) -> None:
        self.app.report_worker_failure(event)


def changes(old: str, new: str) -> Text:
    """A unified diff of two article bodies, coloured; empty when they are the same."""
    out = Text()
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), "published", "this revision", lineterm="",
                                     n=1):
        if line.startswith(("---", "+++")):
            continue
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim" if line.startswith("@@") else ""
        out.append(line + "\n", style=style)
    return out


class ReviewScreen(Screen):
    """One article in review: read it, see what changed, approve or reject with a comment."""

    DEFAULT_CSS = """
    ReviewScreen #rv-meta { color: $text-muted; padding: 0 1; height: auto; }
    ReviewScreen #rv-panes { height: 1fr; }
    ReviewScreen #rv-article { width: 3fr; padding: 0 1; background: $surface; }
    ReviewScreen #rv-changes { width: 2fr; border-left: tall $panel; padding: 0 1; }
    """
    BINDINGS = [
        Binding("ctrl+a,f7", "approve", "Approve", id="kb.approve", tooltip="Publish this revision"),
        Binding("ctrl+x,f8", "reject", "Reject", id="kb.reject", tooltip="Send it back to the author with a comment"),
        Binding("escape", "back", "Back", id="kb.review_back", tooltip="Back to the list"),
    ]

    def __init__(self, gateway, me, number: str) -> None:
        super().__init__()
        self.gateway = gateway
        self.me = me
        self.number = number
        self.ready = False

    def compose(self) -> ComposeResult:
        yield Static(f"Review {self.number}", id="rv-title", classes="-title")
        yield Static("Loading…", id="rv-meta")
        with Horizontal(id="rv-panes"):
            with VerticalScroll(id="rv-article"):
                yield Markdown("", id="rv-body")
            with VerticalScroll(id="rv-changes"):
                yield Static("", id="rv-diff")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rv-article").focus()
        self._load()

    @work(thread=True, exclusive=True, group="kb-review", exit_on_error=False)
    def _load(self) -> None:
        from caseterm.services import kb
        from caseterm.store.models import Agent, KbArticle

        def read(uow, me):
            article = kb.working_revision(uow, self.number)
            author = uow.session.get(Agent, article.author_id) if article.author_id else None
            old = uow.session.get(KbArticle, article.supersedes_id) if article.supersedes_id else None
            return _draft_of(uow, article), author.login if author else "—", old.body if old else None

        try:
            shown = self.gateway.write(self.me.login, read)
        except CasetermError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self._show, *shown)

    def _show(self, draft: Draft, author: str, old_body: str | None) -> None:
        self.ready = draft.state == "in_review"
        keywords = ", ".join(draft.keywords) or "—"
        expires = draft.expires or "never"
        you = ("Ctrl+A (F7) approves and publishes · Ctrl+X (F8) rejects with a comment"
               if self.me.role in ("supervisor", "admin") else "Only a supervisor or admin can approve or reject")
        self.query_one("#rv-meta", Static).update(
            f"{draft.number} revision {draft.revision} · {draft.state.replace('_', ' ')} · by {author} · "
            f"{draft.category or '—'} · {draft.product or 'all products'} · keywords: {keywords} · "
            f"language {draft.language} · expires {expires}\n{you}")
        self.query_one("#rv-body", Markdown).update(f"# {draft.title}\n\n{draft.body}")
        diff = self.query_one("#rv-diff", Static)
        if old_body is None:
            diff.update(Text.assemble(("Changes\n", "bold underline"), "A new article: no published revision yet."))
        else:
            delta = changes(old_body, draft.body)
            diff.update(Text.assemble(("Changes from the published revision\n", "bold underline"),
                                      delta if delta.plain else Text("The text is unchanged (only details differ).")))

    def action_approve(self) -> None:
        if not self.ready:
            return
        from caseterm.tui.screens.forms import TextForm

        self.app.push_screen(TextForm(lambda values: self._decide(True, values["text"]), title=f"Approve {self.number}",
                                      label="Comment for the author (optional)", submit_label="Approve and publish"),
                             self._decided)

    def action_reject(self) -> None:
        if not self.ready:
            return
        from caseterm.tui.screens.forms import TextForm

        self.app.push_screen(TextForm(lambda values: self._decide(False, values["text"]), title=f"Reject {self.number}",
                                      label="What must change (the author sees this)", name="comment",
                                      submit_label="Reject"), self._decided)

    def _decide(self, approve: bool, comment: str) -> str:
        """Runs in the form's worker."""
        from caseterm.services import kb

        def act(uow, me):
            article = kb.working_revision(uow, self.number)
            if approve:
                kb.approve(uow, me, article, comment)
            else:
                kb.reject(uow, me, article, comment)
            return f"{article.number} {'published' if approve else 'sent back to the author'}"

        return self.gateway.write(self.me.login, act)

    def _decided(self, outcome: str | None) -> None:
        if outcome:
            self.notify(outcome)
            self.dismiss(outcome)

    def action_back(self) -> None:
        self.dismiss(None)

    def on_worker_state_changed(self, event) -> None:
        self.app.report_worker_failure(event)


__all__ = ["ArticleEditorScreen", "KbDeskScreen", "ReviewScreen", "changes", "parse_expiry", "split_keywords"]

"""The knowledge-base pane: search as you type, results with highlighted snippets, the
article rendered as Markdown, helpful / not helpful votes, and "link to case".

Searches run in a worker after a short pause; each answer carries the text it was for,
and an answer for anything but the current text is dropped, so results never arrive out
of order. Opened from a case (Ctrl+K or F4), it can link the article to that case.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Markdown, OptionList, Select, Static
from textual.widgets.option_list import Option

from caseterm.errors import CasetermError
from caseterm.tui.screens.forms import DebouncedSearch

_MARK = re.compile(r"«(.+?)»")


def highlighted(snippet: str) -> Text:
    """A snippet with the index's «matched» markers shown in bold."""
    text = Text()
    last = 0
    for match in _MARK.finditer(snippet):
        text.append(snippet[last:match.start()])
        text.append(match.group(1), style="bold reverse")
        last = match.end()
    text.append(snippet[last:])
    return text


class KbScreen(DebouncedSearch, Screen):
    DEFAULT_CSS = """
    KbScreen #kb-search-row { height: auto; }
    KbScreen #kb-query { width: 1fr; margin: 0 1; }
    KbScreen #kb-product { width: 34; }
    KbScreen #kb-category { width: 26; margin-right: 1; }
    KbScreen #kb-info { color: $text-muted; padding: 0 1; height: 1; }
    KbScreen #kb-results { width: 45%; border-right: tall $panel; background: $surface; }
    KbScreen #kb-article { width: 1fr; padding: 0 1; background: $surface; }
    KbScreen #kb-meta { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="kb.back", tooltip="Back to the workstation"),
        Binding("ctrl+l,f3", "link", "Link to case", id="kb.link", tooltip="Link this article to the open case"),
        Binding("ctrl+y", "vote(True)", "Helpful", id="kb.helpful", tooltip="This article helped"),
        Binding("ctrl+n", "vote(False)", "Not helpful", id="kb.not_helpful", tooltip="This article did not help"),
        Binding("slash", "focus_query", "Search", show=False, id="kb.search", tooltip="Back to the search field"),
        Binding("ctrl+e", "edit", "Edit", id="kb.edit", tooltip="Edit the open article (as a new draft revision)"),
        Binding("f2", "new_article", "New article", id="kb.new_article", tooltip="Write a new article"),
        Binding("f6", "desk", "Drafts & review", id="kb.desk", tooltip="Articles being written or reviewed"),
    ]

    def __init__(self, gateway, me, case_number: str | None = None, query: str = "") -> None:
        super().__init__()
        self.gateway = gateway
        self.me = me
        self.case_number = case_number
        self.initial_query = query
        self.article_number: str | None = None

    def compose(self) -> ComposeResult:
        title = f"Knowledge base · for {self.case_number}" if self.case_number else "Knowledge base"
        yield Static(title, id="kb-title", classes="-title")
        with Horizontal(id="kb-search-row"):
            yield Input(self.initial_query, id="kb-query", placeholder="Search articles: words, \"a phrase\", a product…")
            yield Select([], prompt="Any product", id="kb-product")
            yield Select([], prompt="Any category", id="kb-category")
        yield Static("", id="kb-info")
        with Horizontal():
            yield OptionList(id="kb-results")
            with VerticalScroll(id="kb-article"):
                yield Static("Type to search; ↓ to the results, Enter to read one.", id="kb-meta")
                yield Markdown("", id="kb-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#kb-query", Input).focus()
        self._load_filters()
        self._search(self.initial_query)

    @work(thread=True, exclusive=True, group="kb-filters", exit_on_error=False)
    def _load_filters(self) -> None:
        products, categories = self.gateway.kb_filters()
        self.app.call_from_thread(self._filters_loaded, products, categories)

    def _filters_loaded(self, products: list[tuple[str, str]], categories: list[str]) -> None:
        self.query_one("#kb-product", Select).set_options([(name, sku) for sku, name in products])
        self.query_one("#kb-category", Select).set_options([(c, c) for c in categories])

    @property
    def filters(self) -> tuple[str | None, str | None]:
        """The (product SKU, category) chosen, None for any."""
        product = self.query_one("#kb-product", Select).value
        category = self.query_one("#kb-category", Select).value
        return (None if product == Select.NULL else str(product), None if category == Select.NULL else str(category))

    @on(Select.Changed, "#kb-product")
    @on(Select.Changed, "#kb-category")
    def _filter_changed(self) -> None:
        self._search(self.query_one("#kb-query", Input).value)

    # --- searching ----------------------------------------------------------------------------

    @on(Input.Changed, "#kb-query")
    def _typed(self, event: Input.Changed) -> None:
        if not event.value.strip():  # nothing asked: nothing shown (an older answer is dropped on arrival)
            self.query_one("#kb-results", OptionList).clear_options()
            self.query_one("#kb-info", Static).update("Type to search the published articles.")
        self._search(event.value)

    def _search(self, text: str) -> None:
        # what is searched for: the text and the filters, so an answer for older filters is dropped too
        super()._search((text, *self.filters))

    def search_now(self, asked: tuple[str, str | None, str | None]):
        """Runs in the DebouncedSearch worker; None (nothing to show) for an empty query."""
        text, product, category = asked
        if not text.strip():
            return None
        from caseterm.search import kb_index

        self.gateway.open()
        return kb_index.search(self.gateway.path, text, product=product, category=category, limit=20)

    def _show_hits(self, asked: tuple[str, str | None, str | None], result) -> None:
        if asked != (self.query_one("#kb-query", Input).value, *self.filters):
            return  # an answer for older text or filters: never shown
        box = self.query_one("#kb-results", OptionList)
        box.clear_options()
        for hit in result.hits:
            prompt = Text.assemble((hit.number, "dim"), "  ", (hit.title, "bold"), "\n", highlighted(hit.snippet))
            box.add_option(Option(prompt, id=hit.number))
        info = f"{result.total} article(s)"
        if result.suggestion:
            info += f" · did you mean “{result.suggestion}”?"
        self.query_one("#kb-info", Static).update(info)
        if result.hits:
            box.highlighted = 0

    def on_key(self, event) -> None:
        if self.focused is self.query_one("#kb-query", Input) and event.key == "down":
            self.query_one("#kb-results", OptionList).focus()
            event.stop()

    @on(Input.Submitted, "#kb-query")
    def _open_first(self) -> None:
        box = self.query_one("#kb-results", OptionList)
        if box.option_count:
            box.focus()
            self._open(box.get_option_at_index(box.highlighted or 0).id)

    @on(OptionList.OptionSelected, "#kb-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option.id)

    # --- reading --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="kb-article", exit_on_error=False)
    def _open(self, number: str) -> None:
        from caseterm.services import kb

        def read(uow, me):
            article = kb.article_by_number(uow, number, state="published")
            kb.record_view(uow, me, article)
            doc = kb.to_doc(uow, article)
            return article.number, doc, article.helpful, article.not_helpful, article.views

        try:
            shown = self.gateway.write(self.me.login, read)
        except CasetermError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self._show_article, *shown)

    def _show_article(self, number: str, doc, helpful: int, not_helpful: int, views: int) -> None:
        self.article_number = number
        keywords = ", ".join(doc.keywords) or "—"
        link = " · Ctrl+L links it to the case" if self.case_number else ""
        self.query_one("#kb-meta", Static).update(
            f"{number} · {doc.category or '—'} · {doc.product or 'all products'} · keywords: {keywords}\n"
            f"{views} views · {helpful} found it helpful, {not_helpful} did not · Ctrl+Y helpful, Ctrl+N not{link}")
        self.query_one("#kb-body", Markdown).update(f"# {doc.title}\n\n{doc.body}")
        self.query_one("#kb-article", VerticalScroll).scroll_home(animate=False)

    # --- acting ---------------------------------------------------------------------------------

    def action_edit(self) -> None:
        if self.article_number is None:
            self.notify("Open an article first (Enter on a result), then Ctrl+E to edit it.", severity="warning")
            return
        from caseterm.tui.screens.kb_author import ArticleEditorScreen

        self.app.push_screen(ArticleEditorScreen(self.gateway, self.me, self.article_number))

    def action_new_article(self) -> None:
        from caseterm.tui.screens.kb_author import ArticleEditorScreen

        self.app.push_screen(ArticleEditorScreen(self.gateway, self.me))

    def action_desk(self) -> None:
        from caseterm.tui.screens.kb_author import KbDeskScreen

        self.app.push_screen(KbDeskScreen(self.gateway, self.me))

    def action_focus_query(self) -> None:
        self.query_one("#kb-query", Input).focus()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_vote(self, helpful: bool) -> None:
        if self.article_number is None:
            self.notify("Open an article first (Enter on a result).", severity="warning")
            return
        self._vote(self.article_number, helpful)

    @work(thread=True, group="kb-vote", exit_on_error=False)
    def _vote(self, number: str, helpful: bool) -> None:
        from caseterm.services import kb

        try:
            self.gateway.write(self.me.login, lambda uow, me: kb.vote(
                uow, me, kb.article_by_number(uow, number, state="published"), helpful))
        except CasetermError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.notify, f"Thanks: {number} marked {'helpful' if helpful else 'not helpful'}")

    def action_link(self) -> None:
        if self.case_number is None:
            self.notify("Open the knowledge base from a case (Ctrl+K) to link articles to it.", severity="warning")
            return
        if self.article_number is None:
            self.notify("Open an article first (Enter on a result).", severity="warning")
            return
        self._link(self.case_number, self.article_number)

    @work(thread=True, group="kb-link", exit_on_error=False)
    def _link(self, case_number: str, number: str) -> None:
        try:
            self.gateway.link_article(self.me.login, case_number, number)
        except CasetermError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.notify, f"{number} linked to {case_number}")

    def on_worker_state_changed(self, event) -> None:
        self.app.report_worker_failure(event)

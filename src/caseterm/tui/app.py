"""The caseterm Textual app: opens the store in a worker (the first frame never waits),
then shows the workstation for the agent at the keyboard."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static

from caseterm import config
from caseterm.clock import Clock, default_clock
from caseterm.errors import CasetermError
from caseterm.tui import themes
from caseterm.tui.data import Gateway

log = logging.getLogger("caseterm.tui")


class LoadingScreen(Screen):
    DEFAULT_CSS = """
    LoadingScreen { align: center middle; }
    LoadingScreen > Static { width: auto; color: $text-muted; }
    """

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        yield Static(self.message, id="loading")
        yield Footer()


class HelpScreen(ModalScreen):
    """Every key binding of the current screen and the app, with what it does."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > DataTable { width: 90; max-width: 95%; height: 80%; border: thick $primary; }
    """
    BINDINGS = [Binding("escape,q,f1,question_mark", "app.pop_screen", "Close", id="help.close")]

    def __init__(self, bindings: list[tuple[str, str, str, str]]) -> None:
        super().__init__()
        self.rows = bindings

    def compose(self) -> ComposeResult:
        table = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_columns("Keys", "Does", "Binding id (for [keymap] in config.toml)")
        for keys, description, binding_id, _ in self.rows:
            table.add_row(keys, description, binding_id)
        yield table
        yield Footer()


class CasetermCommands(Provider):
    """The command palette (Ctrl+P): the workstation's actions and the themes."""

    def _commands(self) -> list[tuple[str, object, str]]:
        app: CasetermApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, object, str]] = []
        screen = app.screen
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.id and binding.id.startswith(("case.", "customer.", "queue.", "kb.")):
                out.append((binding.description, partial(screen.run_action, binding.action), binding.tooltip or ""))
        for name in app.caseterm_themes:
            out.append((f"Theme: {name.removeprefix('caseterm-')}", partial(app.switch_theme, name),
                        "Switch the colour theme (remembered in config.toml)"))
        out.append(("Help: keys", app.action_help, "Every key binding"))
        return out

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class CasetermApp(App):
    TITLE = "caseterm"
    COMMANDS = App.COMMANDS | {CasetermCommands}
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", id="app.help", tooltip="Show every key"),
        Binding("q,ctrl+q", "quit", "Quit", id="app.quit", tooltip="Leave caseterm"),
    ]

    def __init__(self, db: Path, agent: str, *, clock: Clock | None = None, theme: str | None = None,
                 keymap: dict[str, str] | None = None, reopen_days: int = 30, remember_theme: bool = True,
                 mode: str | None = None) -> None:
        sheet = themes.stylesheet()
        self.CSS_PATH = [sheet] if sheet else []
        super().__init__()
        self.clock = clock or default_clock()
        self.gateway = Gateway(Path(db), self.clock, reopen_days)
        self.agent = agent
        self.keymap_config = keymap or {}
        self.remember_theme = remember_theme
        self.mode = mode
        self.caseterm_themes = themes.load_themes()
        for t in self.caseterm_themes.values():
            self.register_theme(t)
        wanted = theme or themes.DEFAULT_THEME
        if wanted not in self.available_themes:
            self._bad_theme = wanted
            wanted = themes.DEFAULT_THEME if themes.DEFAULT_THEME in self.available_themes else "textual-dark"
        else:
            self._bad_theme = None
        self.theme = wanted

    def on_mount(self) -> None:
        if self.keymap_config:
            self.set_keymap(self.keymap_config)
        if self._bad_theme:
            self.notify(f"There is no theme '{self._bad_theme}'; using {self.theme}. "
                        f"Themes: {', '.join(n for n in self.available_themes if n.startswith('caseterm-'))}.",
                        severity="warning")
        self.push_screen(LoadingScreen(f"Opening {self.gateway.path} …"))
        self._open_store()

    @work(thread=True, exclusive=True, group="start", exit_on_error=False)
    def _open_store(self) -> None:
        try:
            self.gateway.open()
            me = self.gateway.me(self.agent)
        except CasetermError as exc:
            self.call_from_thread(self._open_failed, str(exc))
            return
        except Exception as exc:
            log.exception("could not open the store")
            self.call_from_thread(self._open_failed, f"caseterm could not open {self.gateway.path} ({type(exc).__name__}); "
                                                f"the details are in {config.log_path()}.")
            return
        self.call_from_thread(self._store_ready, me)

    def _store_ready(self, me) -> None:
        if self.mode == "counter" or (self.mode is None and me.role == "clerk"):
            from caseterm.tui.screens.counter import CounterScreen

            self.switch_screen(CounterScreen(self.gateway, me))
        else:
            from caseterm.tui.screens.workstation import WorkstationScreen

            self.switch_screen(WorkstationScreen(self.gateway, me))

    def _open_failed(self, message: str) -> None:
        self.switch_screen(LoadingScreen(f"{message}\n\nPress q to quit."))

    # --- app-wide actions -------------------------------------------------------------------

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        rows = []
        seen = set()
        for node in [self.screen.focused, self.screen, self]:
            for binding in getattr(node, "BINDINGS", []) if node is not None else []:
                if not isinstance(binding, Binding) or binding.id in seen:
                    continue
                seen.add(binding.id)
                keys = self.keymap_config.get(binding.id or "", binding.key)
                rows.append((keys.replace(",", " / "), binding.tooltip or binding.description, binding.id or "", ""))
        self.push_screen(HelpScreen(rows))

    def switch_theme(self, name: str) -> None:
        self.theme = name
        if self.remember_theme:
            try:
                path = config.save_setting("theme", name)
                self.notify(f"Theme {name.removeprefix('caseterm-')} (saved in {path})")
            except OSError as exc:
                self.notify(f"Theme changed, but it could not be saved: {exc}", severity="warning")

    def on_worker_state_changed(self, event) -> None:
        self.report_worker_failure(event)

    def report_worker_failure(self, event) -> None:
        """A failed worker: the traceback goes to the log, the person gets a sentence.
        Worker state messages go to the node that started the worker, so screens and
        widgets forward theirs here."""
        from textual.worker import WorkerState

        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, CasetermError):
            self.notify(str(error), severity="error")
        else:
            log.error("worker %s failed", event.worker.name, exc_info=error)
            self.notify(f"Something went wrong ({type(error).__name__}); nothing was changed. "
                        f"Details are in {config.log_path()}.", severity="error", timeout=10)

    def on_unmount(self) -> None:
        self.gateway.close()


def setup_logging() -> None:
    path = config.log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("caseterm")
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def run(db: Path, agent: str, settings) -> None:
    setup_logging()
    CasetermApp(db, agent, theme=settings.theme, keymap=settings.keymap, reopen_days=settings.reopen_days,
                mode=settings.mode).run()

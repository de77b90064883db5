"""Shared state of one CLI run: settings, the store, the acting agent, consoles, logging."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from caseterm import config

if TYPE_CHECKING:
    import sqlite3

    from rich.console import Console

    from caseterm.store.models import Agent
    from caseterm.store.uow import LocalStore, UnitOfWork

_state: dict = {}


def configure(db: Path | None, agent: str | None, mode: str | None = None) -> None:
    settings = config.load_settings()
    if mode is not None:
        from caseterm.errors import ValidationError

        if mode.strip().lower() not in ("workstation", "counter"):
            raise ValidationError("--mode", f"'{mode}' is not workstation or counter")
        settings.mode = mode.strip().lower()
    if db is not None:
        settings.db = db.expanduser()
    if agent:
        settings.agent = agent
    _state.clear()
    _state["settings"] = settings
    _state["db_flag"] = db is not None
    _state["agent_flag"] = bool(agent)


def settings() -> config.Settings:
    if "settings" not in _state:
        configure(None, None)
    return _state["settings"]


def db_given() -> bool:
    """Whether ``--db`` (or CASETERM_DB) named the store explicitly."""
    import os

    return bool(_state.get("db_flag")) or bool(os.environ.get("CASETERM_DB"))


def agent_given() -> bool:
    """Whether ``--as``, CASETERM_AGENT or config.toml named the agent."""
    return bool(_state.get("agent_flag")) or settings().agent_from is not None


def console() -> Console:
    from rich.console import Console

    if "console" not in _state:
        # markup off: stored text ("[red]E42[/]") is shown as typed, never interpreted
        _state["console"] = Console(highlight=False, markup=False)
    return _state["console"]


def err_console() -> Console:
    from rich.console import Console

    if "err" not in _state:
        _state["err"] = Console(stderr=True, highlight=False, markup=False)
    return _state["err"]


def read_conn() -> sqlite3.Connection:
    """The store for reading: stdlib sqlite3 only (fast start)."""
    from caseterm.store.sqlite import open_store

    if "conn" not in _state:
        _state["conn"] = open_store(settings().db)
    return _state["conn"]


def store() -> LocalStore:
    """The store for writing through the services (imports SQLModel)."""
    from caseterm.store.uow import LocalStore, StoreSettings

    if "store" not in _state:
        s = settings()
        _state["store"] = LocalStore.open(s.db, settings=StoreSettings(reopen_days=s.reopen_days))
    return _state["store"]


def actor(uow: UnitOfWork) -> Agent:
    from caseterm.services.lookup import agent_by_login

    return agent_by_login(uow, login())


def login() -> str:
    """Who acts: ``--as``, CASETERM_AGENT or config.toml when given; else, in a store
    logged in to a server, the agent it logged in as; else ``admin``."""
    s = settings()
    if _state.get("agent_flag") or s.agent_from is not None:
        return s.agent
    if "synced_login" not in _state:
        row = None
        if s.db.exists():
            try:
                row = read_conn().execute("SELECT agent_login FROM sync_state WHERE id = 1").fetchone()
            except Exception:  # noqa: BLE001 - an old or foreign file: the open path reports it properly
                row = None
        _state["synced_login"] = row[0] if row and row[0] else None
    return _state["synced_login"] or s.agent


def log_exception(exc: BaseException) -> Path:
    path = config.log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return path
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("caseterm")
    logger.addHandler(handler)
    logger.error("unexpected error", exc_info=exc)
    handler.close()
    logger.removeHandler(handler)
    return path


def show_config_path() -> None:
    """Print where caseterm reads config.toml, the store it opens and the log file."""
    s = settings()
    c = console()
    c.print(f"config: {config.config_path()}" + ("" if config.config_path().exists() else " (not present)"))
    c.print(f"store:  {s.db}")
    c.print(f"agent:  {s.agent}")
    c.print(f"log:    {config.log_path()}")

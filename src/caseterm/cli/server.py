"""``caseterm serve`` and ``caseterm server …``: run the case server, manage its agents and tokens.

Every command takes ``--database-url`` (or ``CASETERM_SERVER_DATABASE_URL``); the
default is ``server.sqlite`` in caseterm's data directory. PostgreSQL:
``postgresql+psycopg://user@host/db``.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from caseterm.cli import context
from caseterm.cli.output import print_json

app = typer.Typer(help="The case server's agents and tokens.", no_args_is_help=True, rich_markup_mode=None)
agent_app = typer.Typer(help="The server's agents.", no_args_is_help=True, rich_markup_mode=None)
token_app = typer.Typer(help="Bearer tokens (only their hashes are stored).", no_args_is_help=True,
                        rich_markup_mode=None)
app.add_typer(agent_app, name="agent")
app.add_typer(token_app, name="token")

DbUrl = Annotated[Optional[str], typer.Option("--database-url", envvar="CASETERM_SERVER_DATABASE_URL",
                                              help="The server's database (default: server.sqlite in the data dir).",
                                              show_default=False)]


def _db(url: str | None):
    from caseterm.server.db import ServerDatabase

    return ServerDatabase.open(url)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    database_url: DbUrl = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes (share the database).")] = 1,
) -> None:
    """Run the case server (FastAPI on uvicorn); OpenAPI at /docs, health at /healthz."""
    import os

    import uvicorn

    from caseterm.server.db import ENV, database_url as resolve

    url = resolve(database_url)
    _db(url).close()  # migrate once, before the workers start
    os.environ[ENV] = url  # the workers (fresh processes) read it
    context.err_console().print(f"caseterm server on http://{host}:{port} (database {_safe(url)}); Ctrl+C stops it")
    from caseterm.server.logs import LOG_CONFIG

    # uvicorn applies LOG_CONFIG in each worker process; caseterm writes its own access log
    uvicorn.run("caseterm.server.asgi:app", host=host, port=port, workers=workers, log_config=LOG_CONFIG,
                access_log=False, proxy_headers=False, server_header=False)


def _safe(url: str) -> str:
    """The URL without a password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@agent_app.command("add")
def agent_add(
    login: Annotated[str, typer.Argument(help="The agent's login.")],
    role: Annotated[str, typer.Option(help="agent, clerk, technician, supervisor or admin.")],
    queue: Annotated[Optional[list[str]], typer.Option("--queue", help="A queue they work (repeat for more).")] = None,
    name: Annotated[Optional[str], typer.Option(help="Display name.")] = None,
    database_url: DbUrl = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add an agent (or update one's role and queues)."""
    from caseterm.server import accounts

    db = _db(database_url)
    try:
        with db.uow() as uow:
            agent = accounts.add_agent(uow, login, role, name=name, queues=queue or [])
            out = {"login": agent.login, "role": agent.role, "queues": queue or []}
    finally:
        db.close()
    if as_json:
        print_json(out)
    else:
        context.console().print(f"{out['login']} ({out['role']})" + (f", queues {', '.join(out['queues'])}"
                                                                      if out["queues"] else ""))


@token_app.command("issue")
def token_issue(
    login: Annotated[str, typer.Argument(help="The agent the token is for.")],
    label: Annotated[str, typer.Option(help="What it is for, e.g. 'laptop'.")] = "",
    database_url: DbUrl = None,
) -> None:
    """Make a token; it is printed once, alone on the last line (only its hash is kept)."""
    from caseterm.server import accounts

    db = _db(database_url)
    try:
        with db.uow() as uow:
            issued = accounts.issue_token(uow, login, label)
    finally:
        db.close()
    context.err_console().print(f"Token {issued.id} for {issued.login}; it is shown this once:")
    typer.echo(issued.token)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[Optional[str], typer.Argument(help="The token's id (caseterm server token list).")] = None,
    login: Annotated[Optional[str], typer.Option("--login", help="Revoke every token of this agent.")] = None,
    database_url: DbUrl = None,
) -> None:
    """Revoke a token, or all of an agent's; takes effect on the next request."""
    from caseterm.server import accounts

    db = _db(database_url)
    try:
        with db.uow() as uow:
            count = accounts.revoke(uow, token_id=token_id, login=login)
    finally:
        db.close()
    context.console().print(f"{count} token(s) revoked")


@token_app.command("list")
def token_list(database_url: DbUrl = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every token: id, agent, label, when made, revoked or not (never the token)."""
    from caseterm.server import accounts
    from caseterm.store.wire import to_wire

    db = _db(database_url)
    try:
        with db.uow() as uow:
            rows = [{"id": str(t.id), "login": login, "label": t.label, "created_at": to_wire(t.created_at),
                     "revoked_at": to_wire(t.revoked_at)} for t, login in accounts.tokens(uow)]
    finally:
        db.close()
    if as_json:
        print_json({"tokens": rows})
        return
    for r in rows:
        context.console().print(f"{r['id']}  {r['login']:<12} {r['label']:<16} {r['created_at']}"
                                + ("  revoked" if r["revoked_at"] else ""), markup=False)

"""The ``caseterm`` command line (typer + rich).

Start-up cost matters (``caseterm cases list`` must answer within 0.6 s on a million
cases), so this module and the read commands import only typer, rich and the light
store path (``store.sqlite``, ``store.queries``); the service layer (SQLModel) is
imported inside the commands that write.

Errors: a ``CasetermError`` prints one line ("error: …") on stderr and exits 2; usage
errors exit 2 as well; anything unexpected is logged with its traceback to the log
file and reported in one line with the log's path (exit 1).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from caseterm.cli import context

app = typer.Typer(
    name="caseterm",
    help="caseterm: a keyboard-first terminal workstation for the case-to-resolution process. "
    "Without a command it opens the workstation on your store.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    db: Annotated[Optional[Path], typer.Option("--db", help="The local store file (also CASETERM_DB).", show_default=False)] = None,
    as_login: Annotated[Optional[str], typer.Option("--as", help="Act as this agent login (also CASETERM_AGENT).", show_default=False)] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="The screen to open: workstation, or counter (store clerks; the default for the clerk role).", show_default=False)] = None,
) -> None:
    context.configure(db=db, agent=as_login, mode=mode)
    if ctx.invoked_subcommand is None:
        from caseterm.tui.app import run

        settings = context.settings()
        run(settings.db, context.login(), settings)


def _register() -> None:
    from caseterm.cli import cases, customers, demo, kb, ops, server, sync

    app.add_typer(cases.app, name="cases")
    app.add_typer(server.app, name="server")
    app.add_typer(sync.app, name="sync")
    app.command("serve")(server.serve)
    app.command("login")(sync.login)
    app.add_typer(customers.app, name="customers")
    app.add_typer(kb.app, name="kb")
    app.add_typer(ops.app, name="ops")
    app.command("demo")(demo.demo)
    app.command("config-path")(context.show_config_path)


_register()


def main(argv: list[str] | None = None) -> None:
    from typer._click import exceptions as click_exc

    from caseterm.errors import CasetermError

    try:
        result = app(args=argv, prog_name="caseterm", standalone_mode=False)
    except CasetermError as exc:
        context.err_console().print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except click_exc.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        context.err_console().print("Interrupted.")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # the last line of defence: log it, say where
        log = context.log_exception(exc)
        context.err_console().print(
            f"caseterm hit an unexpected problem ({type(exc).__name__}: {exc}). "
            f"The details are in {log}; please include that file when you report it.",
            markup=False, highlight=False,
        )
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)

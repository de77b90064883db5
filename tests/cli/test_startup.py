"""The read path stays light: listing and showing cases must not import the ORM, Alembic
or Textual (start-up time is a figure the project must reach: 0.6 s on a million cases)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sqlmodel", "sqlalchemy", "alembic", "textual", "httpx", "whoosh")


@pytest.mark.parametrize("args", [["cases", "list", "--limit", "5"], ["cases", "list", "--json"],
                                  ["customers", "find", "anna"]], ids=["list", "list-json", "find"])
def test_read_commands_import_nothing_heavy(args, demo_template):
    code = (
        "import sys, json\n"
        "from caseterm.cli import main\n"
        "try:\n"
        f"    main(['--db', {str(demo_template)!r}, *{args!r}])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "sys.stdout.flush()\n"
        f"print(json.dumps([code, sorted(m for m in {HEAVY!r} if m in sys.modules)]), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    exit_code, loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    assert exit_code == 0, proc.stderr
    assert loaded == []

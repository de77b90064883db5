"""The installed binary in a real terminal (tmux): start the demo, open a case, add a
note, quit; then the store holds the note. `.ci/run` installs tmux."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

CASETERM = Path(sys.executable).with_name("caseterm")


# A private tmux server (own socket, no user or system config), so the window really is
# 120x36 whatever tmux servers or settings the machine has.
SOCKET = f"caseterm-e2e-{os.getpid()}"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args], capture_output=True, text=True,
                          check=True).stdout


def wait_for(session: str, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")


def test_demo_note_quit_in_a_real_terminal(tmp_path):
    assert shutil.which("tmux"), "tmux is needed for this test (.ci/run installs it)"
    db = tmp_path / "demo.sqlite"
    session = f"caseterm-e2e-{os.getpid()}"
    env = (f"-u COLUMNS -u LINES XDG_CONFIG_HOME={tmp_path}/cfg XDG_DATA_HOME={tmp_path}/data "
           "CASETERM_CLOCK=2026-11-25T09:00:00Z")
    command = f"env {env} {CASETERM} demo --db {db} --scale 300 --now 2026-11-25T09:00:00Z; sleep 60"
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", command)
    try:
        screen = wait_for(session, "CAS-DEMO-")
        assert "My active cases" in screen and "jdoe (agent)" in screen
        wait_for(session, "Timeline (newest first)")
        number = next(word for line in screen.splitlines() for word in line.split() if word.startswith("CAS-DEMO-"))
        tmux("send-keys", "-t", session, "a")
        wait_for(session, f"Note on {number}")
        tmux("send-keys", "-t", session, "-l", "Typed in a real terminal")
        tmux("send-keys", "-t", session, "C-s")
        wait_for(session, f"Note added to {number}")
        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "Timeline" in tmux("capture-pane", "-p", "-t", session):
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
    conn = sqlite3.connect(db)
    notes = conn.execute(
        "SELECT c.number, a.body FROM activities a JOIN cases c ON c.id = a.case_id WHERE a.kind = 'note' "
        "AND a.body = 'Typed in a real terminal'").fetchall()
    assert notes == [(number, "Typed in a real terminal")]

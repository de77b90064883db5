"""End-to-end helpers: drive the installed ``caseterm`` entry point as a subprocess.

Fixtures (no imports from this file are needed):

``run``          run ``caseterm --db <store> [--as LOGIN] ARGS…`` with a frozen clock; returns
                 a ``Result`` (a ``(code, out, err)`` tuple with a ``.json()`` helper).
``snapshot``     every table of a store as ``{table: rows}`` (for "store unchanged" checks).
``demo_template`` a demo store (scale 300) built once per session; never write to it.
``demo_db``      a private copy of ``demo_template`` for a test that writes.
``fresh_db``     a path with no store yet; ``empty_db`` a copy of an empty LOC store.
``sql``          run one SELECT against a store file and return all rows.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

NOW = "2026-11-25T09:00:00Z"
DEMO_SCALE = 300


def _entry_point() -> Path:
    candidate = Path(sys.executable).with_name("caseterm")
    if candidate.exists():
        return candidate
    found = shutil.which("caseterm")
    if found is None:
        raise RuntimeError("the caseterm console script is not installed next to the interpreter or on PATH")
    return Path(found)


CASETERM = _entry_point()


class Result(NamedTuple):
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, f"exit {self.code}; stderr: {self.err}"
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def run_caseterm(
    *args: Any,
    db: Path | str | None = None,
    as_login: str | None = None,
    env: dict[str, str | None] | None = None,
    stdin: str | None = None,
) -> Result:
    """``caseterm [--db DB] [--as LOGIN] ARGS…``; ``env`` adds variables (``None`` removes one)."""
    cmd = [str(CASETERM)]
    if db is not None:
        cmd += ["--db", str(db)]
    if as_login is not None:
        cmd += ["--as", as_login]
    cmd += [str(a) for a in args]
    full_env = os.environ.copy()  # includes the autouse fixture's XDG_* isolation
    full_env.update({"CASETERM_CLOCK": NOW, "COLUMNS": "200"})
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    proc = subprocess.run(
        cmd,
        env=full_env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def snapshot_store(path: Path | str) -> dict[str, list[tuple]]:
    """Every table's rows, ``ORDER BY 1``: equal snapshots mean an unchanged store."""
    assert Path(path).is_file(), f"no store at {path}"
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}
    finally:
        conn.close()


def query(path: Path | str, sql_text: str, params: tuple | list = ()) -> list[tuple]:
    assert Path(path).is_file(), f"no store at {path}"
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql_text, params).fetchall()
    finally:
        conn.close()


def copy_store(src: Path, dest: Path) -> Path:
    shutil.copy(src, dest)
    for suffix in ("-wal",):
        extra = Path(f"{src}{suffix}")
        if extra.exists():
            shutil.copy(extra, Path(f"{dest}{suffix}"))
    return dest


def _isolated_env(base: Path) -> dict[str, str | None]:
    """For session-scoped builds (the autouse isolation is function-scoped)."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CASETERM_")}
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        env[f"XDG_{name}_HOME"] = str(base / name.lower())
    return env


def build_demo(path: Path, base: Path, *extra: str) -> Result:
    return run_caseterm("demo", "--db", path, "--scale", DEMO_SCALE, "--now", NOW, "--no-tui", *extra,
                        env=_isolated_env(base))


@pytest.fixture
def run():
    return run_caseterm


@pytest.fixture
def snapshot():
    return snapshot_store


@pytest.fixture
def sql():
    return query


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("demo-template")
    path = base / "demo.sqlite"
    result = build_demo(path, base)
    assert result.code == 0, result.err
    assert "Demo store ready" in result.out
    return path


@pytest.fixture
def demo_db(demo_template, tmp_path) -> Path:
    return copy_store(demo_template, tmp_path / "demo.sqlite")


@pytest.fixture
def fresh_db(tmp_path) -> Path:
    """A path where no store exists yet (the first command creates it)."""
    return tmp_path / "store.sqlite"


@pytest.fixture(scope="session")
def empty_template(tmp_path_factory) -> Path:
    """An ordinary (device LOC) store with no cases or customers, created once by ``cases list``."""
    base = tmp_path_factory.mktemp("empty-template")
    path = base / "empty.sqlite"
    env = _isolated_env(base)
    result = run_caseterm("cases", "list", db=path, env=env)
    assert result.code == 0, result.err
    return path


@pytest.fixture
def empty_db(empty_template, tmp_path) -> Path:
    """A private copy of an empty, fully migrated LOC store (cheaper than creating one)."""
    return copy_store(empty_template, tmp_path / "store.sqlite")

"""Migrations: the revision list matches the scripts, models match the migrated schema,
and migrating a store that holds data (and unsynced outbox ops) loses nothing."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from caseterm.errors import StoreError
from caseterm.store import migrate
from caseterm.store.schema import HEAD_REVISION, REVISIONS
from caseterm.store.sqlite import current_revision, open_store


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))


def test_revision_list_matches_the_scripts():
    chain = [rev.revision for rev in reversed(list(_script().walk_revisions()))]
    assert tuple(chain) == REVISIONS
    assert _script().get_current_head() == HEAD_REVISION


def test_models_match_the_migrated_schema(tmp_path):
    """What the SQLModel classes declare is what the migrations build (no forgotten revision)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import caseterm.store.models  # noqa: F401  (registers the tables)
    from caseterm.store.engine import store_engine

    open_store(tmp_path / "s.sqlite").close()
    engine = store_engine(tmp_path / "s.sqlite")
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "compare_type": True,
            # derived, SQLite-only tables (store/derived.py) are not models
            "include_name": lambda name, kind, parent: name not in ("case_counts", "alembic_version")
            and not (name or "").startswith(("customer_search", "case_similar")),
        })
        diffs = compare_metadata(ctx, SQLModel.metadata)
    engine.dispose()
    assert diffs == []


# --- filling a store at any revision with data --------------------------------------------


def _value(col_type: str, notnull: bool, table: str, column: str, i: int):
    t = col_type.upper()
    if column == "id" and t.startswith("CHAR(32)"):
        return f"{i:032x}"
    if t.startswith("CHAR(32)"):
        return None if not notnull else f"{i:032x}"
    if "INT" in t:
        return i
    if "BOOL" in t:
        return i % 2
    if t.startswith("DATETIME"):
        return f"2026-0{1 + i % 9}-1{i % 10} 10:00:0{i % 10}.000000"
    if t.startswith("DATE"):
        return f"2025-0{1 + i % 9}-0{1 + i % 9}"
    if t in ("TEXT", "") and column in ("base", "data", "skills", "serials", "attachments", "verification", "result"):
        return json.dumps({"n": i}) if column not in ("serials", "attachments") else json.dumps([f"s{i}"])
    return f"{table}.{column}.{i}"


def fill_every_table(path: Path, rows_per_table: int = 3) -> dict[str, list[tuple]]:
    """Insert rows into every table (foreign keys off: values are synthetic), return what was written."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    written: dict[str, list[tuple]] = {}
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'customer_search%' AND name NOT LIKE 'case_similar%' "  # FTS indexes, shadow tables (derived)
        "AND name NOT IN ('alembic_version', 'case_counts')")]
    for table in tables:
        cols = conn.execute(f"PRAGMA table_info({table})").fetchall()
        existing = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for i in range(rows_per_table):
            n = 1000 * (1 + tables.index(table)) + i + existing
            values = {c[1]: _value(c[2], bool(c[3]), table, c[1], n) for c in cols}
            if table == "outbox":
                values["state"] = "pending"
                values.pop("seq")
            if table == "sync_state":
                continue  # a single row, made by bootstrap
            if table == "cases":
                values.update(state="active", status_reason="new", queue_id=None, owner_id=None)
            names = list(values)
            conn.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                         [values[k] for k in names])
        written[table] = conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    conn.commit()
    conn.close()
    return written


@pytest.mark.parametrize("target", REVISIONS[1:], ids=lambda r: f"to-{r}")
def test_migrating_a_store_with_data_loses_nothing(tmp_path, target):
    previous = REVISIONS[REVISIONS.index(target) - 1]
    path = tmp_path / "old.sqlite"
    migrate.upgrade(path, previous)
    migrate.bootstrap(path)
    before = fill_every_table(path)
    assert before["outbox"], "the old store holds unsynced outbox ops"
    with sqlite3.connect(path) as old:
        columns = {table: [c[1] for c in old.execute(f"PRAGMA table_info({table})")] for table in before}

    migrate.upgrade(path, target)

    conn = sqlite3.connect(path)
    assert current_revision(conn) == target
    for table, rows in before.items():
        old_cols = columns[table]  # (read before: the store is migrated in place)
        new_cols = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
        kept = [c for c in old_cols if c in new_cols]
        after = conn.execute(f"SELECT {', '.join(kept)} FROM {table} ORDER BY 1").fetchall()
        expected = [tuple(row[old_cols.index(c)] for c in kept) for row in rows]
        assert after == expected, f"{table} changed in migration {previous} → {target}"
    pending = conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    assert pending == len(before["outbox"])


def test_opening_an_old_store_migrates_it_and_keeps_a_copy_first(tmp_path):
    path = tmp_path / "old.sqlite"
    migrate.upgrade(path, REVISIONS[0])
    migrate.bootstrap(path)
    before = fill_every_table(path)

    conn = open_store(path)
    assert current_revision(conn) == HEAD_REVISION
    backups = list(tmp_path.glob("old.sqlite.pre-*.bak"))
    assert len(backups) == 1
    copy = sqlite3.connect(backups[0])
    assert current_revision(copy) == REVISIONS[0]
    assert copy.execute("SELECT * FROM cases ORDER BY 1").fetchall() == before["cases"]
    assert copy.execute("SELECT * FROM outbox ORDER BY 1").fetchall() == before["outbox"]
    # and the migrated store counts the live cases it already had
    live = conn.execute("SELECT count(*) FROM cases WHERE deleted = 0").fetchone()[0]
    assert 0 < live < len(before["cases"])
    assert conn.execute("SELECT sum(n) FROM case_counts").fetchone()[0] == live


def test_a_new_store_is_created_at_head_without_a_backup(tmp_path):
    conn = open_store(tmp_path / "new.sqlite")
    assert current_revision(conn) == HEAD_REVISION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT login, role FROM agents").fetchall() == [("admin", "admin")]
    assert conn.execute("SELECT device_code FROM sync_state").fetchone() == ("LOC",)
    assert list(tmp_path.glob("*.bak")) == []


def test_an_empty_old_store_is_migrated_without_a_backup(tmp_path):
    path = tmp_path / "empty.sqlite"
    migrate.upgrade(path, REVISIONS[0])
    open_store(path).close()
    assert list(tmp_path.glob("*.bak")) == []


def test_a_failed_migration_leaves_the_store_at_its_old_revision(tmp_path, monkeypatch):
    import alembic.op

    path = tmp_path / "old.sqlite"
    migrate.upgrade(path, REVISIONS[0])
    migrate.bootstrap(path)
    before = fill_every_table(path)
    real_execute = alembic.op.execute
    calls = []

    def failing_execute(*args, **kwargs):
        calls.append(args)
        if len(calls) == 3:  # part-way through the revision
            raise RuntimeError("power cut")
        return real_execute(*args, **kwargs)

    monkeypatch.setattr(alembic.op, "execute", failing_execute)
    with pytest.raises(RuntimeError, match="power cut"):
        migrate.upgrade(path, REVISIONS[1])
    conn = sqlite3.connect(path)
    assert current_revision(conn) == REVISIONS[0]
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'case_counts'").fetchone() is None
    assert conn.execute("SELECT * FROM cases ORDER BY 1").fetchall() == before["cases"]


def test_a_store_from_a_newer_caseterm_is_refused_untouched(tmp_path):
    path = tmp_path / "future.sqlite"
    open_store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.close()
    data = path.read_bytes()
    with pytest.raises(StoreError, match="newer caseterm"):
        open_store(path)
    assert path.read_bytes() == data


def test_files_that_are_not_stores_get_a_clear_error(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("this is not a database " * 100)
    with pytest.raises(StoreError, match="not a caseterm store"):
        open_store(junk)
    assert junk.read_text().startswith("this is not a database")

    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a caseterm store"):
        open_store(other)

    with pytest.raises(StoreError, match="is a folder"):
        open_store(tmp_path)


def test_backup_names_never_overwrite_an_earlier_backup(tmp_path):
    path = tmp_path / "old.sqlite"
    for _ in range(2):
        if path.exists():
            path.unlink()
        migrate.upgrade(path, REVISIONS[0])
        migrate.bootstrap(path)
        fill_every_table(path)
        open_store(path).close()
    assert len(list(tmp_path.glob("old.sqlite.pre-*.bak*"))) == 2
    shutil.rmtree(tmp_path, ignore_errors=True)

"""End-to-end: ``caseterm demo`` and the settings (config.toml, CASETERM_*, --as)."""

from __future__ import annotations

import re

import pytest

NOW_TEXT = "2026-11-25T09:00:00Z"


def demo(run, path, *extra):
    return run("demo", "--db", path, "--scale", "300", "--now", NOW_TEXT, "--no-tui", *extra)


# --- demo ----------------------------------------------------------------------------------------


def test_demo_summary_matches_the_store(demo_template, sql):
    """The template fixture built the store; its numbers agree with what is in it."""
    assert sql(demo_template, "SELECT count(*) FROM cases")[0][0] == 300
    assert sql(demo_template, "SELECT device_code FROM sync_state")[0][0] == "DEMO"
    logins = {login: role for login, role in sql(demo_template, "SELECT login, role FROM agents")}
    assert (logins.get("jdoe"), logins.get("kadeyemi"), logins.get("bdubois")) == ("agent", "supervisor", "clerk")
    assert ("Returns",) in sql(demo_template, "SELECT name FROM queues")
    numbers = [n for (n,) in sql(demo_template, "SELECT number FROM cases ORDER BY number")]
    assert numbers[0] == "CAS-DEMO-000001" and numbers[-1] == "CAS-DEMO-000300"


def test_demo_second_run_does_not_rebuild(run, snapshot, demo_db):
    before = snapshot(demo_db)
    r = demo(run, demo_db)
    assert r.code == 0, r.err
    assert "already" in r.out
    assert "300 cases" in r.out and "--reset" in r.out
    assert "Demo store ready" not in r.out
    assert snapshot(demo_db) == before


def test_demo_reset_rebuilds_a_demo_store(run, sql, demo_db):
    assert run("cases", "note", "CAS-DEMO-000001", "scribble", db=demo_db).code == 0
    assert sql(demo_db, "SELECT count(*) FROM activities WHERE body = 'scribble'")[0][0] == 1
    r = demo(run, demo_db, "--reset")
    assert r.code == 0, r.err
    assert "Demo store ready" in r.out
    assert sql(demo_db, "SELECT count(*) FROM activities WHERE body = 'scribble'")[0][0] == 0
    assert sql(demo_db, "SELECT count(*) FROM cases")[0][0] == 300


@pytest.mark.parametrize("flags", [("--reset",), ()], ids=["reset", "plain"])
def test_demo_refuses_a_store_that_is_not_a_demo(run, snapshot, fresh_db, flags):
    r = run("cases", "list", db=fresh_db)  # creates an ordinary (LOC) store
    assert r.code == 0, r.err
    assert fresh_db.exists()
    before = snapshot(fresh_db)
    r = demo(run, fresh_db, *flags)
    assert r.code == 2, (r.out, r.err)
    assert r.err.startswith("error: ") and len(r.err.splitlines()) == 1
    assert "not a demo store" in r.err and str(fresh_db) in r.err
    assert "Demo store ready" not in r.out
    assert snapshot(fresh_db) == before


def test_demo_is_reproducible_for_a_seed(run, sql, tmp_path, demo_template):
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    for path in (a, b):
        r = demo(run, path, "--seed", "11")
        assert r.code == 0, r.err
    query = "SELECT * FROM cases ORDER BY number"
    cases_a = sql(a, query)
    assert len(cases_a) == 300
    assert cases_a == sql(b, query)
    assert sql(a, "SELECT * FROM activities ORDER BY id") == sql(b, "SELECT * FROM activities ORDER BY id")
    # the template was built with the default seed (7): the seed matters, so the comparison above means something
    assert cases_a != sql(demo_template, query)


def test_demo_on_a_file_that_is_not_a_store_fails_cleanly(run, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("just some notes, not a database\n", encoding="utf-8")
    r = run("demo", "--db", junk, "--no-tui")
    assert r.code in (1, 2), r.err
    assert "Traceback" not in r.err
    assert len(r.err.splitlines()) == 1, r.err
    assert junk.read_text(encoding="utf-8") == "just some notes, not a database\n"


def test_demo_bad_now(run, tmp_path):
    path = tmp_path / "x.sqlite"
    r = run("demo", "--db", path, "--now", "yesterday-ish", "--no-tui")
    assert r.code == 2
    assert r.err.startswith("error: ") and "--now" in r.err and "yesterday-ish" in r.err
    assert not path.exists()


# --- config --------------------------------------------------------------------------------------


def newest_author(run, db, number, **kw):
    assert run("cases", "note", number, "who am I", db=db, **kw).code == 0
    r = run("cases", "show", number, "--json", db=db)
    entry = r.json()["timeline"][0]
    assert entry["body"] == "who am I"
    return entry["author"]


def test_caseterm_agent_env_picks_the_actor(run, demo_db):
    assert newest_author(run, demo_db, "CAS-DEMO-000001", env={"CASETERM_AGENT": "jdoe"}) == "jdoe"


def test_config_toml_picks_the_actor(run, demo_db, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('agent = "jdoe"\n', encoding="utf-8")
    assert newest_author(run, demo_db, "CAS-DEMO-000001", env={"CASETERM_CONFIG": str(config)}) == "jdoe"


def test_precedence_flag_over_env_over_config(run, demo_db, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('agent = "jdoe"\n', encoding="utf-8")
    env = {"CASETERM_CONFIG": str(config), "CASETERM_AGENT": "kadeyemi"}
    assert newest_author(run, demo_db, "CAS-DEMO-000001", env=env) == "kadeyemi"
    assert newest_author(run, demo_db, "CAS-DEMO-000001", env=env, as_login="bdubois") == "bdubois"


def test_config_toml_db_and_caseterm_db(run, demo_template, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'db = "{demo_template}"\n', encoding="utf-8")
    r = run("cases", "list", "--json", "--limit", "1", env={"CASETERM_CONFIG": str(config)})
    assert r.json()["cases"][0]["number"].startswith("CAS-DEMO-")
    r = run("cases", "list", "--json", "--limit", "1", env={"CASETERM_DB": str(demo_template)})
    assert r.json()["cases"][0]["number"].startswith("CAS-DEMO-")


def test_config_path_reports_the_settings(run, tmp_path, demo_template):
    config = tmp_path / "config.toml"
    config.write_text('agent = "jdoe"\n', encoding="utf-8")
    r = run("config-path", db=demo_template, env={"CASETERM_CONFIG": str(config)})
    assert r.code == 0, r.err
    assert f"config: {config}" in r.out
    assert f"store:  {demo_template}" in r.out
    assert "agent:  jdoe" in r.out


@pytest.mark.parametrize("content, needle", [
    ('agent = "jdoe\n', "not valid TOML"),
    ("reopen_days = \"soon\"\n", "reopen_days"),
    ('agent = "  "\n', "must name an agent login"),
], ids=["bad-toml", "bad-days", "blank-agent"])
def test_bad_config_is_an_error_naming_the_file(content, needle, run, snapshot, demo_db, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(content, encoding="utf-8")
    before = snapshot(demo_db)
    r = run("cases", "note", "CAS-DEMO-000001", "hi", db=demo_db, env={"CASETERM_CONFIG": str(config)})
    assert r.code == 2, (r.out, r.err)
    assert r.out == ""
    assert r.err.startswith("error: ") and len(r.err.splitlines()) == 1, r.err
    assert str(config) in r.err
    assert needle in r.err
    assert "Traceback" not in r.err
    assert snapshot(demo_db) == before


def test_reopen_days_from_config(run, demo_db, sql, tmp_path):
    """reopen_days = 0 in config.toml closes the reopen window for a case resolved before now."""
    (number,) = sql(demo_db, "SELECT number FROM cases WHERE state = 'resolved' AND resolved_at < ? "
                             "ORDER BY resolved_at DESC LIMIT 1", ("2026-11-25 09:00:00",))[0]
    config = tmp_path / "config.toml"
    config.write_text("reopen_days = 0\n", encoding="utf-8")
    r = run("cases", "reopen", number, "again", db=demo_db, env={"CASETERM_CONFIG": str(config)})
    assert r.code == 2, (r.out, r.err)
    assert re.search(r"within 0 days", r.err), r.err
    r = run("cases", "reopen", number, "again", "--override", db=demo_db, as_login="kadeyemi",
            env={"CASETERM_CONFIG": str(config)})
    assert r.code == 0, r.err


def test_demo_on_a_new_machine_builds_in_the_data_dir_it_creates(run, tmp_path):
    """`caseterm demo` as the README's first line runs it: no --db, no data dir yet."""
    data = tmp_path / "fresh-home" / "data"
    r = run("demo", "--scale", "50", "--now", NOW_TEXT, "--no-tui", env={"XDG_DATA_HOME": str(data)})
    assert r.code == 0, r.err
    store = data / "caseterm" / "demo.sqlite"
    assert store.is_file()
    assert f"Demo store ready: {store}" in r.out

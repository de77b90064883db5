"""`caseterm kb import|export|list|show` through the installed entry point."""

from __future__ import annotations

from pathlib import Path

ARTICLE = """---
title: {title}
product: {product}
category: Kitchen
keywords: [kettle, descale]
---

{body}
"""


def test_import_twice_export_list_show(run, empty_db, tmp_path, sql):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "descale.md").write_text(ARTICLE.format(title="Descale the kettle", product="", body="Use vinegar."),
                                       encoding="utf-8")
    (folder / "bad.md").write_text("---\ntitle: x\nowner: me\n---\nbody\n", encoding="utf-8")
    first = run("kb", "import", folder, "--json", db=empty_db)
    assert first.code == 0, first.err
    data = first.json()
    assert (len(data["created"]), data["updated"], data["unchanged"]) == (1, [], [])
    assert [Path(s["file"]).name for s in data["skipped"]] == ["bad.md"]
    assert "unknown key 'owner'" in data["skipped"][0]["reason"]
    again = run("kb", "import", folder / "descale.md", "--json", db=empty_db)
    assert again.json()["unchanged"] == data["created"]
    assert sql(empty_db, "SELECT count(*) FROM kb_articles") == [(1,)]

    listed = run("kb", "list", "--state", "published", "--json", db=empty_db).json()["articles"]
    assert [(a["number"], a["title"], a["state"]) for a in listed] == [(data["created"][0], "Descale the kettle", "published")]
    shown = run("kb", "show", data["created"][0], "--json", db=empty_db).json()
    assert (shown["body"], shown["keywords"], shown["revision"]) == ("Use vinegar.", ["kettle", "descale"], 1)

    out = tmp_path / "out"
    exported = run("kb", "export", out, db=empty_db)
    assert exported.code == 0 and (out / "descale.md").read_text(encoding="utf-8").startswith("---\ntitle: Descale the kettle")


def test_only_reviewers_import_and_a_folder_of_bad_files_exits_2(run, demo_db, tmp_path, snapshot):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "one.md").write_text("no front matter", encoding="utf-8")
    before = snapshot(demo_db)
    r = run("kb", "import", folder, db=demo_db, as_login="jdoe")
    assert r.code == 2 and r.err.startswith("error: importing articles (they are published) needs a reviewer")
    r = run("kb", "import", folder, db=demo_db, as_login="kadeyemi")
    assert r.code == 2 and "0 created" in r.out and "skipped" in r.out and "one.md" in r.out
    assert snapshot(demo_db) == before
    r = run("kb", "import", tmp_path / "missing", db=demo_db, as_login="kadeyemi")
    assert r.code == 2 and "No such file or folder" in r.err


def test_articles_past_their_expiry_date_leave_lists_and_searches(run, empty_db, sql):
    from datetime import datetime, timedelta

    from caseterm.clock import FixedClock
    from caseterm.services import kb
    from caseterm.services.lookup import agent_by_login
    from caseterm.store.uow import LocalStore

    now = datetime.fromisoformat("2026-11-25T09:00:00+00:00")  # the clock run() gives the CLI
    store = LocalStore.open(empty_db, clock=FixedClock(now))
    with store.uow() as uow:
        admin = agent_by_login(uow, "admin")
        soon = kb.save_article(uow, admin, None, submit=True, title="Winter tyre promotion",
                               body="Ask about the zebra winter offer.", expires_at=now + timedelta(days=2))
        kb.approve(uow, admin, soon)
        number = soon.number
    store.close()
    assert run("kb", "search", "zebra", "--json", db=empty_db).json()["hits"][0]["number"] == number

    later = {"CASETERM_CLOCK": (now + timedelta(days=3)).isoformat()}
    found = run("kb", "search", "zebra", "--json", db=empty_db, env=later)
    assert found.code == 0, found.err
    assert found.json()["hits"] == []
    assert sql(empty_db, "SELECT state FROM kb_articles WHERE number = ?", [number]) == [("expired",)]
    assert run("kb", "expire", "--json", db=empty_db, env=later).json() == {"expired": []}

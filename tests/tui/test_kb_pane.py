"""The knowledge-base pane: search as you type, read, vote, link to the open case."""

from __future__ import annotations

import pytest
from tui_support import make_app, rows, settle, workstation_ready

SIZE = (120, 36)


@pytest.fixture
def kb_store(org_store):
    from caseterm.datafiles import data_dir
    from caseterm.services import kb
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(org_store)
    kb.import_paths(store.uow, "admin", [data_dir() / "kb"])
    store.close()
    return org_store


def kb_ready(app) -> bool:
    return app.screen.__class__.__name__ == "KbScreen"


async def test_search_as_you_type_read_vote_and_link(kb_store):
    app = make_app(kb_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("ctrl+k")  # from CAS-LOC-000001 "Router drops Wi-Fi every evening"
        await settle(pilot, lambda: kb_ready(app))
        query = app.screen.query_one("#kb-query")
        query.value = ""
        await pilot.press(*"descale kettle")
        results = app.screen.query_one("#kb-results")
        await settle(pilot, lambda: results.option_count > 0 and "article" in str(app.screen.query_one("#kb-info").render()))
        first = results.get_option_at_index(0)
        assert "escal" in str(first.prompt).lower()  # a descaling article comes first
        await pilot.press("enter")  # open the first result
        await settle(pilot, lambda: app.screen.article_number == first.id)
        await pilot.press("ctrl+y")
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot, lambda: app.screen.__class__.__name__ == "WorkstationScreen")
    assert rows(kb_store, "SELECT helpful, views FROM kb_articles WHERE number = ? AND state = 'published'",
                [first.id]) == [(1, 1)]
    assert rows(kb_store, "SELECT c.number FROM case_articles l JOIN cases c ON c.id = l.case_id "
                          "JOIN kb_articles a ON a.id = l.article_id WHERE a.number = ?", [first.id]) == [
        ("CAS-LOC-000001",)]


async def test_results_for_older_text_never_replace_newer_ones(kb_store):
    app = make_app(kb_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("ctrl+k")
        await settle(pilot, lambda: kb_ready(app))
        screen = app.screen
        from caseterm.search import kb_index

        fresh = [h.number for h in kb_index.search(app.gateway.path, "battery", limit=20).hits]
        assert fresh
        results = screen.query_one("#kb-results")

        def shown() -> list[str]:
            return [results.get_option_at_index(i).id for i in range(results.option_count)]

        screen.query_one("#kb-query").value = "battery"
        await settle(pilot, lambda: shown() == fresh)
        stale = kb_index.search(app.gateway.path, "kettle", limit=5)
        screen._show_hits(("kettle", None, None), stale)  # a late answer for text no longer typed
        await pilot.pause()
        assert shown() == fresh

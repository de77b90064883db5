"""Writing, reviewing and revising knowledge articles in the TUI, and the pane's filters."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tui_support import add_demo_products_and_articles, make_app, rows, settle, workstation_ready

SIZE = (130, 40)


@pytest.fixture
def kb_store(org_store):
    """The org store with two products and the shipped articles of those products (and
    every article without a product) published."""
    from caseterm.datafiles import data_dir
    from caseterm.services import kb
    from caseterm.services.lookup import agent_by_login
    from caseterm.store.models import Product
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(org_store)
    with store.uow() as uow:
        admin = agent_by_login(uow, "admin")
        uow.create(Product(sku="NV-KT-1001", name="Norrvik Kettle", unit_price=Decimal("39.99")), admin.id, "seed")
        uow.create(Product(sku="NV-AU-4002", name="Pebble Wireless Earbuds", unit_price=Decimal("79.00")), admin.id,
                   "seed")
    kb.import_paths(store.uow, "admin", [data_dir() / "kb"])
    store.close()
    return org_store


def at_workstation(app) -> bool:
    return screen_name(app) == "WorkstationScreen" and bool(app.screen.counts)


def screen_name(app) -> str:
    return app.screen.__class__.__name__


def search(path, text: str, **kw) -> list[str]:
    from caseterm.search import kb_index

    return [h.title for h in kb_index.search(path, text, **kw).hits]


async def type_into(pilot, selector: str, text: str) -> None:
    pilot.app.screen.query_one(selector).focus()
    await pilot.press(*text)


async def open_editor(pilot, login_app) -> None:
    await settle(pilot, lambda: workstation_ready(login_app))
    await pilot.press("f6")
    await settle(pilot, lambda: screen_name(login_app) == "KbDeskScreen")
    await pilot.press("f2")
    await settle(pilot, lambda: screen_name(login_app) == "ArticleEditorScreen"
                 and login_app.screen.saved_values is not None)


async def test_an_agent_writes_an_article_and_sends_it_for_review(kb_store):
    app = make_app(kb_store, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(pilot, app)
        editor = app.screen
        await type_into(pilot, "#title", "Reset the grinder burrs")
        await type_into(pilot, "#keywords", "grinder, burrs")
        await type_into(pilot, "#expiry", "next summer")
        editor.query_one("#ed-body").load_text("## Steps\n\n1. Unplug the **grinder**.\n2. Lift the burrs out.\n")
        await settle(pilot, lambda: "Lift the burrs" in editor.query_one("#ed-rendered").source)
        assert editor.query_one("#ed-rendered").source.startswith("# Reset the grinder burrs")  # the live preview

        await pilot.press("ctrl+r")
        await settle(pilot, lambda: editor.query_one("#error-expiry").display)
        assert "YYYY-MM-DD" in str(editor.query_one("#error-expiry").render())
        assert app.focused is editor.query_one("#expiry")
        assert rows(kb_store, "SELECT count(*) FROM kb_articles WHERE title LIKE 'Reset the grinder%'") == [(0,)]

        editor.query_one("#expiry").value = "2027-06-30"
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: screen_name(app) == "KbDeskScreen")
        await settle(pilot, lambda: app.screen.items)
        assert [state for _, state in app.screen.items.values()] == ["in_review"]
    assert rows(kb_store, "SELECT state, keywords, expires_at LIKE '2027-06-30%' FROM kb_articles "
                          "WHERE title = 'Reset the grinder burrs'") == [("in_review", '["grinder","burrs"]', 1)]
    assert "Reset the grinder burrs" not in search(kb_store, "grinder burrs")  # not until a reviewer approves


async def test_a_reviewer_rejects_with_a_comment_then_approves(kb_store):
    from caseterm.services import kb
    from caseterm.services.lookup import agent_by_login
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(kb_store)
    with store.uow() as uow:
        jdoe = agent_by_login(uow, "jdoe")
        number = kb.save_article(uow, jdoe, None, submit=True, title="Pair the zeppelin speaker",
                                 body="Hold the zeppelin button for five seconds.").number
    store.close()

    app = make_app(kb_store, login="boss")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: at_workstation(app))
        await pilot.press("f6")
        await settle(pilot, lambda: screen_name(app) == "KbDeskScreen" and app.screen.items)
        await pilot.press("enter")
        await settle(pilot, lambda: screen_name(app) == "ReviewScreen" and app.screen.ready)
        assert "zeppelin button" in app.screen.query_one("#rv-body").source
        await pilot.press("ctrl+x")
        await settle(pilot, lambda: screen_name(app) == "TextForm")
        await pilot.press("ctrl+s")  # a rejection needs a comment
        await settle(pilot, lambda: app.screen.query_one("#error-comment").display)
        await pilot.press(*"Say which model")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: screen_name(app) == "KbDeskScreen")
        await settle(pilot, lambda: [s for _, s in app.screen.items.values()] == ["draft"])
        assert rows(kb_store, "SELECT state, review_comment FROM kb_articles WHERE number = ?", [number]) == [
            ("draft", "Say which model")]

    store = LocalStore.open(kb_store)
    with store.uow() as uow:
        kb.submit_for_review(uow, agent_by_login(uow, "jdoe"), kb.working_revision(uow, number))
    store.close()
    app = make_app(kb_store, login="boss")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: at_workstation(app))
        await pilot.press("f6")
        await settle(pilot, lambda: screen_name(app) == "KbDeskScreen" and app.screen.items)
        await pilot.press("enter")
        await settle(pilot, lambda: screen_name(app) == "ReviewScreen" and app.screen.ready)
        await pilot.press("ctrl+a")
        await settle(pilot, lambda: screen_name(app) == "TextForm")
        await pilot.press("ctrl+s")  # the comment is optional when approving
        await settle(pilot, lambda: screen_name(app) == "KbDeskScreen")
        await settle(pilot, lambda: not app.screen.items)
    assert search(kb_store, "zeppelin") == ["Pair the zeppelin speaker"]


async def test_an_agent_cannot_approve_and_is_told_why(kb_store):
    from caseterm.services import kb
    from caseterm.services.lookup import agent_by_login
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(kb_store)
    with store.uow() as uow:
        kb.save_article(uow, agent_by_login(uow, "boss"), None, submit=True, title="Zeppelin", body="Zeppelin text.")
    store.close()
    app = make_app(kb_store, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("f6")
        await settle(pilot, lambda: screen_name(app) == "KbDeskScreen" and app.screen.items)
        await pilot.press("enter")
        await settle(pilot, lambda: screen_name(app) == "ReviewScreen" and app.screen.ready)
        assert "Only a supervisor or admin" in str(app.screen.query_one("#rv-meta").render())
        await pilot.press("ctrl+a")
        await settle(pilot, lambda: screen_name(app) == "TextForm")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: app.screen.query_one("#form-error").display)
        assert "reviewer" in str(app.screen.query_one("#form-error").render())
    assert rows(kb_store, "SELECT state FROM kb_articles WHERE title = 'Zeppelin'") == [("in_review",)]


async def test_editing_a_published_article_makes_a_revision_agents_see_once_approved(kb_store):
    app = make_app(kb_store, login="boss")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: at_workstation(app))
        await pilot.press("ctrl+k")
        await settle(pilot, lambda: screen_name(app) == "KbScreen")
        app.screen.query_one("#kb-query").value = "descale kettle"
        results = app.screen.query_one("#kb-results")
        await settle(pilot, lambda: results.option_count > 0)
        await pilot.press("enter")
        await settle(pilot, lambda: app.screen.article_number is not None)
        number = app.screen.article_number
        await pilot.press("ctrl+e")
        await settle(pilot, lambda: screen_name(app) == "ArticleEditorScreen" and app.screen.loaded is not None)
        editor = app.screen
        assert "saving makes revision 2" in str(editor.query_one("#ed-status").render())
        body = editor.query_one("#ed-body")
        body.load_text(body.text + "\n\nFor very hard water use the citric-acid sachet (quokka formula).\n")
        await pilot.press("escape")  # unsaved: warned, stays
        await settle(pilot)
        assert screen_name(app) == "ArticleEditorScreen"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: not editor.dirty)
        assert rows(kb_store, "SELECT revision, state FROM kb_articles WHERE number = ? ORDER BY revision",
                    [number]) == [(1, "published"), (2, "draft")]
        assert search(kb_store, "quokka") == []  # the published revision is still what agents see
        assert search(kb_store, "descale kettle")
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: screen_name(app) == "KbScreen")
        await pilot.press("f6")
        await settle(pilot, lambda: screen_name(app) == "KbDeskScreen" and app.screen.items)
        await pilot.press("enter")
        await settle(pilot, lambda: screen_name(app) == "ReviewScreen" and app.screen.ready)
        assert "+For very hard water use the citric-acid sachet (quokka formula)." in str(
            app.screen.query_one("#rv-diff").render())
        await pilot.press("ctrl+a")
        await settle(pilot, lambda: screen_name(app) == "TextForm")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: screen_name(app) == "KbDeskScreen")
    assert rows(kb_store, "SELECT revision, state FROM kb_articles WHERE number = ? ORDER BY revision", [number]) == [
        (1, "archived"), (2, "published")]
    assert len(search(kb_store, "quokka")) == 1


async def test_filters_narrow_the_results_and_drop_answers_for_older_filters(kb_store):
    app = make_app(kb_store, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await pilot.press("ctrl+k")
        await settle(pilot, lambda: screen_name(app) == "KbScreen")
        screen = app.screen
        product = screen.query_one("#kb-product")
        await settle(pilot, lambda: len(product._options) > 1)
        screen.query_one("#kb-query").value = "charging"
        results = screen.query_one("#kb-results")

        def shown() -> list[str]:
            return [results.get_option_at_index(i).id for i in range(results.option_count)]

        from caseterm.search import kb_index

        everything = [h.number for h in kb_index.search(kb_store, "charging", limit=20).hits]
        earbuds = [h.number for h in kb_index.search(kb_store, "charging", product="NV-AU-4002", limit=20).hits]
        assert earbuds and len(earbuds) < len(everything)
        await settle(pilot, lambda: shown() == everything)
        product.value = "NV-AU-4002"
        await settle(pilot, lambda: shown() == earbuds)
        screen._show_hits(("charging", None, None), kb_index.search(kb_store, "charging", limit=20))  # late answer
        await pilot.pause()
        assert shown() == earbuds


async def test_the_workstation_expires_articles_past_their_date(kb_store):
    from datetime import timedelta

    from caseterm.clock import FixedClock
    from caseterm.services import kb
    from caseterm.services.lookup import agent_by_login
    from caseterm.store.uow import LocalStore
    from tui_support import NOW

    store = LocalStore.open(kb_store, clock=FixedClock(NOW - timedelta(days=10)))
    with store.uow() as uow:
        admin = agent_by_login(uow, "admin")
        article = kb.save_article(uow, admin, None, submit=True, title="Autumn zebra offer", body="Until Sunday.",
                                  expires_at=NOW - timedelta(days=1))
        kb.approve(uow, admin, article)
    store.close()
    assert search(kb_store, "zebra offer")[0] == "Autumn zebra offer"
    app = make_app(kb_store, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app))
        await settle(pilot, lambda: rows(kb_store, "SELECT state FROM kb_articles WHERE title = 'Autumn zebra offer'")
                     == [("expired",)])
    assert "Autumn zebra offer" not in search(kb_store, "zebra offer")


@pytest.fixture
def full_kb_store(org_store):
    """The org store with every demo product and all 64 shipped articles published."""
    add_demo_products_and_articles(org_store)
    return org_store


async def test_the_case_pane_suggests_articles_and_a_digit_links_one(full_kb_store):
    app = make_app(full_kb_store, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app) and app.screen.suggestions_for == "CAS-LOC-000001")
        screen = app.screen
        wifi = rows(full_kb_store, "SELECT number FROM kb_articles WHERE slug = 'networking-mesh-wifi-drops-evening'")
        assert screen.suggestions.articles[0].number == wifi[0][0]  # "Router drops Wi-Fi every evening"
        shown = screen.query_one("#detail").suggestions_text
        assert "Suggested articles" in shown and wifi[0][0] in shown
        await pilot.press("1")
        await settle(pilot, lambda: any(wifi[0][0] in line and line.endswith("✓ linked")
                                        for line in screen.query_one("#detail").suggestions_text.splitlines()))
        await pilot.press("9")  # no ninth suggestion: nothing happens to the case, a warning says so
        await settle(pilot)
    assert rows(full_kb_store, "SELECT a.number, l.helped FROM case_articles l JOIN kb_articles a ON a.id = l.article_id "
                               "JOIN cases c ON c.id = l.case_id WHERE c.number = 'CAS-LOC-000001'") == [(wifi[0][0], 0)]


async def test_similar_resolved_cases_show_their_resolution(org_store):
    from caseterm.services import cases
    from caseterm.services.lookup import agent_by_login, case_by_number, customer_by_key
    from caseterm.store.uow import LocalStore

    store = LocalStore.open(org_store)
    with store.uow() as uow:
        jdoe = agent_by_login(uow, "jdoe")
        old = cases.create_case(uow, jdoe, customer=customer_by_key(uow, "bob@example.org"),
                                title="Router reboots every evening after the update",
                                description="The router drops Wi-Fi at 8 pm.")
        cases.resolve_case(uow, jdoe, case_by_number(uow, old.number), "Rolled the router firmware back to 2.1",
                           kind="problem_solved")
    store.close()
    app = make_app(org_store, login="jdoe")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: workstation_ready(app) and app.screen.suggestions_for == "CAS-LOC-000001")
        assert [c.number for c in app.screen.suggestions.cases] == [old.number]
        shown = app.screen.query_one("#detail").suggestions_text
        assert old.number in shown and "Rolled the router firmware back to 2.1" in shown

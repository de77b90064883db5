"""Suggestions for an open case (search.suggest) on real stores: similar resolved cases
follow the case lifecycle (resolve, reopen, delete, edits), the case is never its own
suggestion, resolutions are not repeated, the fitting article comes first and only
published ones are suggested, a broken or busy knowledge index costs the articles only,
and unknown cases are refused."""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import timedelta

import pytest

from caseterm.errors import NotFound, ValidationError
from caseterm.search import kb_index, suggest
from caseterm.services import cases, kb
from caseterm.services.lookup import case_by_number, product_by_sku

from .conftest import NOW, import_demo_kb

KETTLE = "NV-KT-1001"
WASHER = "NV-LD-6001"


@pytest.fixture(autouse=True)
def _close_suggestions():
    yield
    suggest.close_all()


@pytest.fixture
def make_case(store, world, products):
    """``make_case(title, description, sku=…, resolve=…, customer="ada")`` → its number."""

    def make(title: str, description: str = "", *, sku: str | None = None, resolve: str | None = None,
             customer: str = "ada") -> str:
        with store.uow() as uow:
            product = product_by_sku(uow, sku) if sku else None
            case = cases.create_case(uow, world["agent"], customer=world[customer], title=title,
                                     description=description, product=product)
            if resolve:
                cases.resolve_case(uow, world["agent"], case, resolve)
            return case.number

    return make


def similar(store, number: str, **kw) -> list[tuple[str, str]]:
    return [(c.number, c.resolution) for c in suggest.for_case(store.path, number, articles=0, **kw).cases]


def act(store, world, number: str, what: str, *args) -> None:
    with store.uow() as uow:
        case = case_by_number(uow, number)
        getattr(cases, what)(uow, world["agent"], case, *args)


# --- similar resolved cases ------------------------------------------------------------------


def test_a_resolved_case_is_suggested_for_a_similar_open_one_until_it_is_reopened(store, world, make_case):
    open_one = make_case("Kettle switches off before boiling", "It clicks off after a minute, water lukewarm.",
                         sku=KETTLE)
    other = make_case("Kettle clicks off early", "Clicks off before the water boils; lots of limescale.", sku=KETTLE)
    make_case("Invoice address is wrong", "Please change the company name on my invoice.",
              resolve="Corrected the invoice address and sent a new invoice.")
    assert similar(store, open_one) == []  # the kettle case is still open

    act(store, world, other, "resolve_case", "Descaled the kettle with citric acid; it boils fully again.")
    result = suggest.for_case(store.path, open_one, articles=0)
    assert [(c.number, c.title, c.resolution) for c in result.cases] == [
        (other, "Kettle clicks off early", "Descaled the kettle with citric acid; it boils fully again.")]
    assert result.cases[0].resolved_at == "2026-11-25T09:00:00Z" and result.cases[0].score > 0

    act(store, world, other, "reopen_case", "it is back")
    assert similar(store, open_one) == []

    act(store, world, other, "resolve_case", "Replaced the thermostat; the kettle boils fully again.")
    assert similar(store, open_one) == [(other, "Replaced the thermostat; the kettle boils fully again.")]


def test_a_word_new_to_the_resolved_cases_is_found_as_soon_as_one_holds_it(store, world, make_case):
    for i in range(12):  # enough resolved cases that one more barely changes their number
        make_case(f"Invoice question {i}", "Please explain my invoice.", resolve=f"Explained invoice line {i}.")
    open_one = make_case("Zebra lamp flickers", "The zebra lamp in the hall flickers at night.")
    other = make_case("Zebra lamp flickering", "Flickering zebra lamp.")
    assert similar(store, open_one) == []
    act(store, world, other, "resolve_case", "Replaced the zebra lamp's driver.")
    assert similar(store, open_one) == [(other, "Replaced the zebra lamp's driver.")]


def test_edits_and_deletions_of_resolved_cases_are_followed(store, world, make_case):
    open_one = make_case("Kettle lid hinge snapped", "The lid of my kettle will not stay closed.", sku=KETTLE)
    done = make_case("Kettle lid broken", "Lid hinge broke off.", sku=KETTLE, resolve="Sent a spare lid.")
    assert similar(store, open_one) == [(done, "Sent a spare lid.")]

    conn = sqlite3.connect(store.path)  # changes as sync will write them, behind the services
    with conn:  # an edit while resolved: found by its new words, no longer by the old ones
        conn.execute("UPDATE cases SET title = 'Dishwasher door squeaks', description = 'The door squeaks "
                     "when opened.', resolution = 'Oiled the runners.' WHERE number = ?", (done,))
    assert similar(store, open_one) == []
    squeak = make_case("Dishwasher door squeaks loudly", "Squeaks every time the door opens.")
    assert similar(store, squeak) == [(done, "Oiled the runners.")]
    with conn:  # an update of other columns leaves it as it is
        conn.execute("UPDATE cases SET priority = 1, title = title WHERE number = ?", (done,))
    assert similar(store, squeak) == [(done, "Oiled the runners.")]

    with conn:  # a tombstone, then the row itself going
        conn.execute("UPDATE cases SET deleted = 1 WHERE number = ?", (done,))
    assert similar(store, squeak) == [] and similar(store, open_one) == []
    with conn:
        conn.execute("UPDATE cases SET deleted = 0 WHERE number = ?", (done,))
    assert similar(store, squeak) == [(done, "Oiled the runners.")]
    with conn:
        conn.execute("DELETE FROM activities WHERE case_id = (SELECT id FROM cases WHERE number = ?)", (done,))
        conn.execute("DELETE FROM cases WHERE number = ?", (done,))
    conn.close()
    assert similar(store, squeak) == []


def test_the_case_itself_is_never_its_own_suggestion(store, make_case):
    first = make_case("Washing machine drum smells musty", "Musty smell from the drum.", sku=WASHER,
                      resolve="Ran the drum clean programme at 90 degrees.")
    second = make_case("Washing machine drum smells musty", "Musty smell from the drum.", sku=WASHER,
                       resolve="Cleaned the door seal and detergent drawer.")
    assert similar(store, first) == [(second, "Cleaned the door seal and detergent drawer.")]
    assert similar(store, second) == [(first, "Ran the drum clean programme at 90 degrees.")]


def test_each_resolution_is_shown_once_best_case_first(store, make_case):
    open_one = make_case("Washing machine drum smells musty", "A musty smell comes from the drum after washing.",
                         sku=WASHER)
    same = "Ran the drum clean programme at 90 degrees; advised leaving the door open."
    best = make_case("Washing machine drum smells musty", "Musty smell from the drum after washing.", sku=WASHER,
                     resolve=same)
    for _ in range(3):  # the same resolution again (the demo's templates repeat them)
        make_case("Drum smells", "Smell from the drum.", sku=WASHER, resolve=same + " ")
    other = make_case("Washing machine smells of mould", "Mould smell from the drum and door seal.", sku=WASHER,
                      resolve="Cleaned the door seal; the mould smell is gone.")
    found = similar(store, open_one, cases=5)
    assert found == [(best, same), (other, "Cleaned the door seal; the mould smell is gone.")]
    assert len(similar(store, open_one, cases=1)) == 1


def test_the_same_product_is_preferred_among_equally_similar_cases(store, make_case):
    open_one = make_case("Power adapter stopped working", "The power adapter is dead, no light.", sku="NV-NW-3001")
    other_product = make_case("Power adapter stopped working", "The power adapter is dead, no light.",
                              sku="NV-NW-3005", resolve="Sent a printer power adapter.")
    same_product = make_case("Power adapter stopped working", "The power adapter is dead, no light.",
                             sku="NV-NW-3001", resolve="Sent a router power adapter.")
    newer_other = make_case("Power adapter stopped working", "The power adapter is dead, no light.",
                            sku="NV-NW-3005", resolve="Mailed a printer power adapter.")
    assert [n for n, _ in similar(store, open_one)] == [same_product, newer_other, other_product]


# --- articles --------------------------------------------------------------------------------


@pytest.fixture
def demo_kb(store, products):
    import_demo_kb(store)
    return {slug: number for number, slug in sqlite3.connect(store.path).execute(
        "SELECT number, slug FROM kb_articles WHERE state = 'published'")}


def test_the_article_about_the_case_comes_first(store, world, make_case, demo_kb):
    kettle = make_case("Kettle switches off before boiling", "My kettle clicks off after a minute and the water "
                       "is only lukewarm. We have hard water.", sku=KETTLE)
    found = suggest.for_case(store.path, kettle)
    assert found.articles[0].number == demo_kb["kitchen-kettle-descaling"]
    assert found.note is None and 1 <= len(found.articles) <= 3
    assert [h.score for h in found.articles] == sorted((h.score for h in found.articles), reverse=True)
    assert "«" in found.articles[0].snippet

    # a vague case: the latest message from the customer says what it is about
    vague = make_case("Problem with my washing machine", "", sku=WASHER)
    with store.uow() as uow:
        case = case_by_number(uow, vague)
        cases.add_activity(uow, world["agent"], case, kind="email_in", direction="inbound", subject="Error",
                           body="It shows error E21 and does not pump the water out.",
                           occurred_at=NOW - timedelta(hours=2))
        cases.add_activity(uow, world["agent"], case, kind="email_in", direction="inbound", subject="Smell",
                           body="Also the drum smells musty; how do I clean the drum?",
                           occurred_at=NOW - timedelta(hours=1))
        cases.add_activity(uow, world["agent"], case, kind="email_out", direction="outbound", subject="Re: Error",
                           body="Please check the pump filter for an error E21 drain fault.")
    assert suggest.for_case(store.path, vague).articles[0].number == demo_kb["laundry-washer-drum-cleaning-smell"]


def test_articles_of_the_case_product_are_preferred(store, make_case, publish):
    router = publish("Resetting the device to factory settings", "Hold the reset button for ten seconds.",
                     product_sku="NV-NW-3001")
    printer = publish("Resetting the device to factory settings", "Hold the reset button for ten seconds.",
                      product_sku="NV-NW-3005")
    for_printer = make_case("How do I reset to factory settings?", "Which button do I hold?", sku="NV-NW-3005")
    for_router = make_case("How do I reset to factory settings?", "Which button do I hold?", sku="NV-NW-3001")
    assert [h.number for h in suggest.for_case(store.path, for_printer).articles] == [printer.number, router.number]
    assert [h.number for h in suggest.for_case(store.path, for_router).articles] == [router.number, printer.number]


def test_only_published_articles_are_suggested(store, world, make_case, publish, monkeypatch):
    sup, agent = world["supervisor"], world["agent"]
    shown = publish("Zebra crossing lights blink", "The zebra crossing lights blink at night.")
    later = publish("Zebra crossing lights at night", "Zebra lights blinking at night: check the timer.",
                    expires_at=NOW + timedelta(days=2))
    with store.uow() as uow:
        kb.create_article(uow, agent, title="Zebra crossing lights blink (draft)", body="Zebra lights blink at night.")
        in_review = kb.create_article(uow, agent, title="Zebra crossing lights (review)", body="Zebra lights blink.")
        kb.submit_for_review(uow, agent, in_review)
    expired = publish("Zebra crossing lights blink, old", "The zebra crossing lights blink at night.")
    archived = publish("Zebra crossing lights blink, archived", "The zebra crossing lights blink at night.")
    with store.uow() as uow:
        kb.expire(uow, sup, kb.article_by_number(uow, expired.number))
        kb.archive(uow, sup, kb.article_by_number(uow, archived.number))
    number = make_case("Zebra crossing lights blink at night", "The lights of the zebra crossing blink.")
    assert [h.number for h in suggest.for_case(store.path, number, articles=10).articles] == [
        shown.number, later.number]
    # past its expiry date but not yet expired by anyone: no longer suggested
    monkeypatch.setenv("CASETERM_CLOCK", (NOW + timedelta(days=3)).isoformat())
    assert [h.number for h in suggest.for_case(store.path, number, articles=10).articles] == [shown.number]


def test_a_missing_or_garbage_knowledge_index_is_rebuilt(store, make_case, publish):
    article = publish("Kettle care guide", "Remove limescale from the heating plate of the kettle.")
    number = make_case("Kettle full of limescale", "Limescale on the heating plate.", sku=KETTLE)
    make_case("Kettle limescale", "Limescale everywhere.", resolve="Descaled it.")
    folder = kb_index.index_path(store.path)
    assert [h.number for h in suggest.for_case(store.path, number).articles] == [article.number]

    shutil.rmtree(folder)
    kb_index.close_all()
    assert [h.number for h in suggest.for_case(store.path, number).articles] == [article.number]

    for path in folder.iterdir():
        if path.is_file():
            path.write_bytes(os.urandom(300))
    (folder / "_MAIN_99.toc").write_bytes(b"\x00garbage")
    result = suggest.for_case(store.path, number)  # the open searcher finds garbage: rebuilt
    assert [h.number for h in result.articles] == [article.number] and result.note is None
    assert len(result.cases) == 1


def test_an_index_being_rebuilt_elsewhere_costs_only_the_articles(store, make_case, publish, monkeypatch):
    publish("Kettle care guide", "Remove limescale from the heating plate of the kettle.")
    number = make_case("Kettle full of limescale", "Limescale on the heating plate.", sku=KETTLE)
    done = make_case("Kettle limescale", "Limescale everywhere.", resolve="Descaled it.")
    folder = kb_index.index_path(store.path)
    shutil.rmtree(folder, ignore_errors=True)
    kb_index.close_all()
    monkeypatch.setattr(kb_index, "REBUILD_LOCK_WAIT", 0.1)
    lock = kb_index._WriteLock(folder)  # another process is building the index
    assert lock.acquire(0)
    try:
        result = suggest.for_case(store.path, number)
    finally:
        lock.release()
    assert result.articles == [] and [c.number for c in result.cases] == [done]
    assert "being rebuilt by another caseterm process" in result.note
    assert result.to_dict()["note"] == result.note
    again = suggest.for_case(store.path, number)
    assert len(again.articles) == 1 and again.note is None


# --- refusals ----------------------------------------------------------------------------------


def test_an_unknown_case_is_refused_with_a_hint(store, make_case):
    with pytest.raises(NotFound, match=r"No case CAS-LOC-000999; check the number with 'caseterm cases list'"):
        suggest.for_case(store.path, "cas-loc-999")
    number = make_case("Kettle", "Kettle", resolve="Fixed.")
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE cases SET deleted = 1")
    with pytest.raises(NotFound):
        suggest.for_case(store.path, number)
    with pytest.raises(ValidationError, match="articles"):
        suggest.for_case(store.path, number, articles=21)


def test_loosely_typed_numbers_and_a_json_shape(store, make_case, publish):
    article = publish("Kettle care guide", "Remove limescale from the heating plate of the kettle.",
                      product_sku=KETTLE, category="Kitchen")
    number = make_case("Kettle full of limescale", "Limescale on the heating plate.", sku=KETTLE)
    done = make_case("Kettle limescale", "Limescale everywhere.", resolve="Descaled it.")
    data = suggest.for_case(store.path, number.lower().replace("-00000", "-")).to_dict()
    assert list(data) == ["articles", "cases", "note"]
    assert [list(a) for a in data["articles"]] == [["number", "title", "snippet", "score", "product", "category"]]
    assert data["articles"][0]["number"] == article.number
    assert data["articles"][0]["product"] == KETTLE and data["articles"][0]["category"] == "Kitchen"
    assert data["cases"] == [{"number": done, "title": "Kettle limescale", "resolution": "Descaled it.",
                              "resolved_at": "2026-11-25T09:00:00Z", "score": data["cases"][0]["score"]}]
    assert data["note"] is None


def test_a_store_made_before_the_index_gets_its_resolved_cases_when_opened(store, make_case):
    open_one = make_case("Kettle switches off before boiling", "Clicks off early.", sku=KETTLE)
    done = make_case("Kettle clicks off early", "Switches off before boiling.", sku=KETTLE,
                     resolve="Descaled the kettle.")
    make_case("Kettle switches off", "Before boiling.", sku=KETTLE)  # open: not suggested
    store.close()
    from alembic import command

    from caseterm.store.migrate import alembic_config

    command.downgrade(alembic_config(f"sqlite:///{store.path}"), "0004")  # what the store looked like at 0004
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'case_similar'").fetchone() == (0,)
    conn.close()

    assert similar(store, open_one) == [(done, "Descaled the kettle.")]  # opening migrates and fills it
    assert list(store.path.parent.glob("store.sqlite.pre-*.from-0004.bak"))  # the copy kept before migrating

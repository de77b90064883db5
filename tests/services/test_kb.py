"""Knowledge-base services on a real store: authoring, review, revisions, votes, links,
and Markdown import/export."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from caseterm.errors import PermissionDenied, TransitionError, ValidationError
from caseterm.services import cases, kb
from caseterm.services.lookup import case_by_number
from caseterm.store.models import CaseArticle, KbArticle, OutboxOp, Product


@pytest.fixture
def kettle(store, world):
    with store.uow() as uow:
        return uow.create(Product(sku="NV-KT-1001", name="Kettle", unit_price=Decimal("39.99")), world["admin"].id, "seed")


def published(store, world, **kw):
    with store.uow() as uow:
        article = kb.create_article(uow, world["agent"], title=kw.pop("title", "Descale the kettle"),
                                    body=kw.pop("body", "Use vinegar."), **kw)
        kb.submit_for_review(uow, world["agent"], article)
        kb.approve(uow, world["supervisor"], article)
    return article


def test_draft_review_publish_with_numbers_and_outbox(store, world, kettle, clock):
    with store.uow() as uow:
        article = kb.create_article(uow, world["agent"], title="  Descale  the kettle ", body="Use vinegar.",
                                    keywords=["Descale", "descale", " limescale "], product_sku="nv-kt-1001",
                                    category="Kitchen")
        assert (article.number, article.revision, article.state) == ("KA-LOC-000001", 1, "draft")
        assert article.title == "Descale the kettle" and article.keywords == ["descale", "limescale"]
        kb.submit_for_review(uow, world["agent"], article)
        with pytest.raises(PermissionDenied, match="reviewer"):
            kb.approve(uow, world["agent"], article)
        kb.approve(uow, world["supervisor"], article, "clear and correct")
    assert (article.state, article.published_at, article.review_comment) == ("published", clock.now(), "clear and correct")
    with store.uow() as uow:
        actions = [o.action for o in uow.session.exec(select(OutboxOp).where(OutboxOp.row_id == article.id)
                                                      .order_by(OutboxOp.seq))]
    assert actions == ["create_article", "submit_article", "approve_article"]


def test_reject_needs_a_comment_and_returns_to_draft(store, world):
    with store.uow() as uow:
        article = kb.create_article(uow, world["agent"], title="T", body="B")
        kb.submit_for_review(uow, world["agent"], article)
        with pytest.raises(ValidationError, match="comment"):
            kb.reject(uow, world["supervisor"], article, "  ")
        kb.reject(uow, world["supervisor"], article, "Add the descaling steps")
        assert (article.state, article.review_comment) == ("draft", "Add the descaling steps")
        with pytest.raises(TransitionError):
            kb.approve(uow, world["supervisor"], article)


def test_editing_a_published_article_makes_a_draft_revision_until_it_is_published(store, world):
    article = published(store, world)
    with store.uow() as uow:
        live = kb.article_by_number(uow, article.number)
        with pytest.raises(ValidationError, match="revise it"):
            kb.update_draft(uow, world["agent"], live, title="x", body="y")
        draft = kb.revise(uow, world["agent"], live)
        assert (draft.number, draft.revision, draft.state, draft.supersedes_id) == (article.number, 2, "draft", live.id)
        assert kb.revise(uow, world["agent"], live).id == draft.id  # one open draft at a time
        kb.update_draft(uow, world["agent"], draft, title="Descale the kettle", body="Use citric acid.")
        # until it is published, agents still get revision 1
        assert kb.article_by_number(uow, article.number).body == "Use vinegar."
        kb.submit_for_review(uow, world["agent"], draft)
        kb.approve(uow, world["supervisor"], draft)
    with store.uow() as uow:
        states = uow.session.exec(select(KbArticle.revision, KbArticle.state).where(
            KbArticle.number == article.number).order_by(KbArticle.revision)).all()
        assert states == [(1, "archived"), (2, "published")]
        assert kb.article_by_number(uow, article.number).body == "Use citric acid."


def test_expiry_votes_views_and_links(store, world, clock):
    article = published(store, world, expires_at=clock.now() + timedelta(days=10))
    with store.uow() as uow:
        case = cases.create_case(uow, world["agent"], customer=world["ada"], title="Kettle scale")
        live = kb.article_by_number(uow, article.number)
        kb.vote(uow, world["agent"], live, helpful=True)
        kb.vote(uow, world["agent"], live, helpful=False)
        kb.record_view(uow, world["agent"], live)
        kb.link_to_case(uow, world["agent"], case, live)
        assert kb.link_to_case(uow, world["agent"], case, live)  # linking twice keeps one link
        assert (live.helpful, live.not_helpful, live.views) == (1, 1, 1)
    with store.uow() as uow:
        cases.resolve_case(uow, world["agent"], case_by_number(uow, case.number), "Descaled")
        links = uow.session.exec(select(CaseArticle)).all()
        assert [(l.helped) for l in links] == [True]
    clock.advance(days=11)
    with store.uow() as uow:
        assert [a.number for a in kb.expire_due(uow, world["admin"])] == [article.number]
        live = kb.article_by_number(uow, article.number)
        assert live.state == "expired"
        with pytest.raises(ValidationError, match="only published"):
            kb.vote(uow, world["agent"], live, helpful=True)
    with store.uow() as uow:
        with pytest.raises(ValidationError, match="future"):
            kb.create_article(uow, world["agent"], title="x", body="y", expires_at=clock.now())
        with pytest.raises(ValidationError, match="no product"):
            kb.create_article(uow, world["agent"], title="x", body="y", product_sku="NOPE")


ARTICLE = """---
title: {title}
product:
category: General
keywords: [returns, refund]
---

{body}
"""


def test_import_is_idempotent_updates_by_file_name_and_skips_bad_files(store, world, tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "returns.md").write_text(ARTICLE.format(title="Returns policy", body="30 days."), encoding="utf-8")
    (folder / "refunds.md").write_text(ARTICLE.format(title="Refunds", body="5 working days."), encoding="utf-8")
    (folder / "broken.md").write_text("no front matter here", encoding="utf-8")
    (folder / "README.md").write_text("not an article", encoding="utf-8")

    first = kb.import_paths(store.uow, "admin", [folder])
    assert (len(first.created), first.updated, first.unchanged) == (2, [], [])
    assert [(Path(f).name, "front matter" in why) for f, why in first.skipped] == [("broken.md", True)]

    again = kb.import_paths(store.uow, "admin", [folder])
    assert (again.created, again.updated, len(again.unchanged)) == ([], [], 2)

    (folder / "returns.md").write_text(ARTICLE.format(title="Returns policy", body="60 days now."), encoding="utf-8")
    third = kb.import_paths(store.uow, "admin", [folder / "returns.md"])
    assert len(third.updated) == 1
    with store.uow() as uow:
        live = kb.article_by_number(uow, third.updated[0])
        assert (live.body, live.revision, live.state) == ("60 days now.", 2, "published")
        assert uow.session.exec(select(KbArticle).where(KbArticle.state == "published")).all().__len__() == 2
    with pytest.raises(PermissionDenied):
        kb.import_paths(store.uow, "jdoe", [folder])


def test_export_then_import_elsewhere_gives_the_same_articles(store, world, tmp_path, clock):
    from caseterm.datafiles import data_dir
    from caseterm.store.uow import LocalStore

    kb.import_paths(store.uow, "admin", [data_dir() / "kb" / "general-returns-policy.md"])
    out = tmp_path / "export"
    with store.uow() as uow:
        written = kb.export_published(uow, out)
    assert [p.name for p in written] == ["general-returns-policy.md"]
    other = LocalStore.open(tmp_path / "other.sqlite", clock=clock)
    report = kb.import_paths(other.uow, "admin", [out])
    assert len(report.created) == 1
    with store.uow() as a, other.uow() as b:
        one = kb.to_doc(a, kb.article_by_number(a, "KA-LOC-000001"))
        two = kb.to_doc(b, kb.article_by_number(b, report.created[0]))
    assert one == two
    other.close()


def test_demo_store_ships_the_articles_published(tmp_path):
    from datetime import datetime, timezone

    from caseterm.services.demo import seed_demo

    path = tmp_path / "demo.sqlite"
    summary = seed_demo(path, cases=50, now=datetime(2026, 11, 25, tzinfo=timezone.utc))
    conn = sqlite3.connect(path)
    published_count = conn.execute("SELECT count(*) FROM kb_articles WHERE state = 'published'").fetchone()[0]
    assert published_count == summary.articles >= 40
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_save_article_creates_updates_revises_and_refuses_what_is_in_review(store, world):
    with store.uow() as uow:
        draft = kb.save_article(uow, world["agent"], None, title="Reset the grinder", body="Unplug it.")
        number = draft.number
        kb.save_article(uow, world["agent"], number, title="Reset the grinder", body="Unplug it first.")
        assert (draft.revision, draft.state, draft.body) == (1, "draft", "Unplug it first.")
        kb.save_article(uow, world["agent"], number, submit=True, title="Reset the grinder", body="Unplug it first.")
        with pytest.raises(ValidationError, match="in review"):
            kb.save_article(uow, world["agent"], number, title="Sneaky edit", body="x")
        kb.approve(uow, world["supervisor"], draft)
        revision = kb.save_article(uow, world["agent"], number, title="Reset the grinder", body="Unplug it. Wait.")
        assert (revision.revision, revision.state, revision.supersedes_id) == (2, "draft", draft.id)
        assert (draft.state, draft.body) == ("published", "Unplug it first.")  # agents still see revision 1
        again = kb.save_article(uow, world["agent"], number, title="Reset the grinder", body="Unplug it. Wait 5 s.")
        assert again.id == revision.id and kb.working_revision(uow, number).body == "Unplug it. Wait 5 s."

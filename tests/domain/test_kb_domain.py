"""The article lifecycle and the Markdown-with-front-matter format."""

from __future__ import annotations

import pytest

from caseterm.domain import kb_lifecycle as lc
from caseterm.domain.kb_lifecycle import ArticleState
from caseterm.domain.kb_markdown import ArticleDoc, parse, render
from caseterm.errors import TransitionError, ValidationError


@pytest.mark.parametrize("state, action, target", [
    (ArticleState.DRAFT, lc.SUBMIT, ArticleState.IN_REVIEW),
    (ArticleState.IN_REVIEW, lc.APPROVE, ArticleState.PUBLISHED),
    (ArticleState.IN_REVIEW, lc.REJECT, ArticleState.DRAFT),
    (ArticleState.PUBLISHED, lc.EXPIRE, ArticleState.EXPIRED),
    (ArticleState.PUBLISHED, lc.ARCHIVE, ArticleState.ARCHIVED),
    (ArticleState.EXPIRED, lc.ARCHIVE, ArticleState.ARCHIVED),
    (ArticleState.DRAFT, lc.ARCHIVE, ArticleState.ARCHIVED),
])
def test_allowed_moves(state, action, target):
    assert lc.move(state, action) is target


@pytest.mark.parametrize("state, action", [
    (ArticleState.DRAFT, lc.APPROVE), (ArticleState.PUBLISHED, lc.SUBMIT), (ArticleState.ARCHIVED, lc.ARCHIVE),
    (ArticleState.ARCHIVED, lc.REVISE), (ArticleState.IN_REVIEW, lc.EXPIRE), (ArticleState.DRAFT, lc.REVISE),
])
def test_refused_moves_name_what_is_allowed(state, action):
    with pytest.raises(TransitionError) as err:
        lc.move(state, action, subject="KA-LOC-000001")
    assert err.value.allowed == lc.allowed_actions(state)
    assert str(err.value).startswith(f"KA-LOC-000001 cannot go from {state.label} to {action}")


def test_only_drafts_are_edited_in_place():
    assert [s for s in ArticleState if lc.editable(s)] == [ArticleState.DRAFT]
    assert lc.move(ArticleState.PUBLISHED, lc.REVISE) is None  # the article stays; a draft revision is made


GOOD = """---
title: "How to descale the kettle"
product: NV-KT-1001
category: Kitchen
keywords: [Descale, limescale,  hard water ]
---

Fill with **vinegar**.
"""


def test_parse_and_render_round_trip():
    doc = parse(GOOD)
    assert doc == ArticleDoc(title="How to descale the kettle", body="Fill with **vinegar**.", product="NV-KT-1001",
                             category="Kitchen", keywords=["descale", "limescale", "hard water"])
    assert parse(render(doc)) == doc


@pytest.mark.parametrize("text, field, reason", [
    ("title: x\n---\nbody", "front matter", "must start with a '---' line"),
    ("---\ntitle: x\nbody", "front matter", "no closing '---' line"),
    ("---\ntitle: x\nauthor: me\n---\nbody", "front matter", "line 3: unknown key 'author'"),
    ("---\njust words\n---\nbody", "front matter", "line 2: expected 'key: value'"),
    ("---\ncategory: Kitchen\n---\nbody", "title", "missing in the front matter"),
    ("---\ntitle: x\n---\n\n", "body", "no text after the front matter"),
], ids=["no-opening", "no-closing", "unknown-key", "not-key-value", "no-title", "no-body"])
def test_bad_files_say_where_and_why(text, field, reason):
    with pytest.raises(ValidationError) as err:
        parse(text)
    assert err.value.field == field and reason in err.value.reason


def test_every_shipped_article_parses():
    from caseterm.datafiles import data_dir

    files = sorted((data_dir() / "kb").glob("*.md"))
    assert len(files) >= 40
    docs = [parse(f.read_text(encoding="utf-8")) for f in files]
    assert all(d.title and d.keywords and d.category for d in docs)

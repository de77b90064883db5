"""Knowledge-base use cases: author, review, publish, revise, expire, archive, vote, link,
and import/export of Markdown files. Rules live in ``domain.kb_lifecycle``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import func, select

from caseterm.domain import kb_lifecycle as lc
from caseterm.domain import validate
from caseterm.domain.enums import Role
from caseterm.domain.kb_lifecycle import ArticleState
from caseterm.domain.kb_markdown import ArticleDoc, parse, render
from caseterm.errors import CasetermError, NotFound, PermissionDenied, ValidationError
from caseterm.store.models import Agent, Case, CaseArticle, KbArticle, Product
from caseterm.store.uow import UnitOfWork

REVIEWERS = frozenset({Role.SUPERVISOR.value, Role.ADMIN.value})


def _require_reviewer(actor: Agent, what: str) -> None:
    if actor.role not in REVIEWERS:
        raise PermissionDenied(f"{what} needs a reviewer (supervisor or admin); you are {actor.role}")


def _clean_keywords(keywords: list[str] | None) -> list[str]:
    out: list[str] = []
    for word in keywords or []:
        word = " ".join(str(word).split()).lower()
        if word and word not in out:
            out.append(word[:60])
    return out[:20]


def _fields(uow: UnitOfWork, *, title: str, body: str, keywords: list[str] | None, product_sku: str | None,
            category: str | None, language: str | None, expires_at: datetime | None) -> dict:
    product_id = None
    if product_sku:
        product = uow.session.exec(select(Product).where(func.upper(Product.sku) == product_sku.strip().upper())).first()
        if product is None:
            raise ValidationError("product", f"no product with SKU '{product_sku}'")
        product_id = product.id
    if expires_at is not None and expires_at <= uow.now():
        raise ValidationError("expiry", "must be in the future")
    return {
        "title": validate.required_line("title", title, 200),
        "body": validate.body_text("body", body, 200_000, required=True),
        "keywords": _clean_keywords(keywords),
        "product_id": product_id,
        "category": validate.optional_line("category", category, 80) or "",
        "language": (validate.optional_line("language", language, 8) or "en").lower(),
        "expires_at": expires_at,
    }


def create_article(uow: UnitOfWork, actor: Agent, *, title: str, body: str, keywords: list[str] | None = None,
                   product_sku: str | None = None, category: str | None = None, language: str | None = None,
                   expires_at: datetime | None = None, slug: str | None = None) -> KbArticle:
    """A new draft, numbered ``KA-<device>-<seq>``, revision 1."""
    values = _fields(uow, title=title, body=body, keywords=keywords, product_sku=product_sku, category=category,
                     language=language, expires_at=expires_at)
    article = KbArticle(number=uow.next_number("KA"), revision=1, slug=slug, author_id=actor.id,
                        state=ArticleState.DRAFT.value, **values)
    return uow.create(article, actor.id, "create_article")


def update_draft(uow: UnitOfWork, actor: Agent, article: KbArticle, *, title: str, body: str,
                 keywords: list[str] | None = None, product_sku: str | None = None, category: str | None = None,
                 language: str | None = None, expires_at: datetime | None = None) -> dict:
    if not lc.editable(ArticleState(article.state)):
        raise ValidationError("article", f"{article.number} is {ArticleState(article.state).label}; "
                                         "revise it to edit (a new draft revision)")
    values = _fields(uow, title=title, body=body, keywords=keywords, product_sku=product_sku, category=category,
                     language=language, expires_at=expires_at)
    return uow.update(article, actor.id, "update_article", **values)


def revise(uow: UnitOfWork, actor: Agent, article: KbArticle) -> KbArticle:
    """The draft revision that will replace a published (or expired) article; the
    published one stays visible until the draft is published. Reuses an open draft."""
    lc.move(ArticleState(article.state), lc.REVISE, subject=article.number)
    existing = uow.session.exec(select(KbArticle).where(
        KbArticle.number == article.number, KbArticle.state.in_([ArticleState.DRAFT.value, ArticleState.IN_REVIEW.value]),
        KbArticle.deleted == False)).first()  # noqa: E712
    if existing is not None:
        return existing
    latest = uow.session.exec(select(func.max(KbArticle.revision)).where(KbArticle.number == article.number)).one()
    draft = KbArticle(number=article.number, revision=latest + 1, slug=article.slug, title=article.title,
                      body=article.body, keywords=list(article.keywords), product_id=article.product_id,
                      category=article.category, language=article.language, expires_at=article.expires_at,
                      state=ArticleState.DRAFT.value, author_id=actor.id, supersedes_id=article.id)
    return uow.create(draft, actor.id, "revise_article")


def working_revision(uow: UnitOfWork, number: str) -> KbArticle:
    """The revision an author works on: the open draft or in-review revision if there is
    one, else the published (or expired) one, which :func:`save_article` revises."""
    rows = uow.session.exec(select(KbArticle).where(
        func.upper(KbArticle.number) == number.strip().upper(), KbArticle.deleted == False)  # noqa: E712
        .order_by(KbArticle.revision.desc())).all()
    if not rows:
        raise NotFound(f"No article {number}; see 'caseterm kb list'")
    for wanted in (ArticleState.DRAFT, ArticleState.IN_REVIEW, ArticleState.PUBLISHED, ArticleState.EXPIRED):
        for row in rows:
            if row.state == wanted.value:
                return row
    return rows[0]


def save_article(uow: UnitOfWork, actor: Agent, number: str | None, *, submit: bool = False, title: str, body: str,
                 keywords: list[str] | None = None, product_sku: str | None = None, category: str | None = None,
                 language: str | None = None, expires_at: datetime | None = None) -> KbArticle:
    """What the editor's Save does, in one transaction: a new article (``number`` None), the
    open draft updated, or a published article revised into a new draft revision (which
    stays invisible to searches until it is approved). ``submit`` also sends it for review."""
    fields = dict(title=title, body=body, keywords=keywords, product_sku=product_sku, category=category,
                  language=language, expires_at=expires_at)
    if number is None:
        article = create_article(uow, actor, **fields)
    else:
        article = working_revision(uow, number)
        state = ArticleState(article.state)
        if state is ArticleState.IN_REVIEW:
            raise ValidationError("article", f"{article.number} is in review; a reviewer approves or rejects it "
                                             "before it can be edited again")
        if state is ArticleState.ARCHIVED:
            raise ValidationError("article", f"{article.number} is archived and can no longer be edited")
        if state is not ArticleState.DRAFT:
            article = revise(uow, actor, article)
        update_draft(uow, actor, article, **fields)
    if submit:
        submit_for_review(uow, actor, article)
    return article


def _move(uow: UnitOfWork, actor: Agent, article: KbArticle, action: str, **extra) -> KbArticle:
    target = lc.move(ArticleState(article.state), action, subject=article.number)
    uow.update(article, actor.id, f"{action}_article", state=target.value, **extra)
    if ArticleState.PUBLISHED.value in (article.state, target.value) or action in (lc.EXPIRE, lc.ARCHIVE, lc.APPROVE):
        _reindex_after_commit(uow, article.number)
    return article


def _reindex_after_commit(uow: UnitOfWork, number: str) -> None:
    """What agents can find changed: update the search index once the change is committed.
    (Registered once per article per transaction.)"""
    pending = getattr(uow, "_kb_reindex", None)
    if pending is None:
        pending = uow._kb_reindex = set()
        if uow.path is not None:
            path = uow.path

            def flush() -> None:
                from caseterm.search import kb_index

                kb_index.articles_changed(path, sorted(pending))

            uow.after_commit(flush)
    pending.add(number)


def submit_for_review(uow: UnitOfWork, actor: Agent, article: KbArticle) -> KbArticle:
    return _move(uow, actor, article, lc.SUBMIT)


def approve(uow: UnitOfWork, actor: Agent, article: KbArticle, comment: str | None = None) -> KbArticle:
    """Publish; the revision it supersedes is archived in the same transaction."""
    _require_reviewer(actor, "publishing an article")
    _move(uow, actor, article, lc.APPROVE, reviewer_id=actor.id, published_at=uow.now(),
          review_comment=(comment or "").strip() or None)
    if article.supersedes_id:
        old = uow.session.get(KbArticle, article.supersedes_id)
        if old is not None and old.state in (ArticleState.PUBLISHED.value, ArticleState.EXPIRED.value):
            _move(uow, actor, old, lc.ARCHIVE)
    return article


def reject(uow: UnitOfWork, actor: Agent, article: KbArticle, comment: str) -> KbArticle:
    _require_reviewer(actor, "rejecting an article")
    text = validate.body_text("comment", comment, 5_000, required=True)
    return _move(uow, actor, article, lc.REJECT, reviewer_id=actor.id, review_comment=text)


def expire(uow: UnitOfWork, actor: Agent, article: KbArticle) -> KbArticle:
    _require_reviewer(actor, "expiring an article")
    return _move(uow, actor, article, lc.EXPIRE)


def archive(uow: UnitOfWork, actor: Agent, article: KbArticle) -> KbArticle:
    _require_reviewer(actor, "archiving an article")
    return _move(uow, actor, article, lc.ARCHIVE)


def expire_due(uow: UnitOfWork, actor: Agent) -> list[KbArticle]:
    """Expire every published article whose expiry date has passed."""
    due = uow.session.exec(select(KbArticle).where(
        KbArticle.state == ArticleState.PUBLISHED.value, KbArticle.expires_at != None,  # noqa: E711
        KbArticle.expires_at <= uow.now(), KbArticle.deleted == False)).all()  # noqa: E712
    for article in due:
        _move(uow, actor, article, lc.EXPIRE)
    return list(due)


def expire_due_for(store, login: str) -> list[str]:
    """Run :func:`expire_due` on ``store`` (a LocalStore) as ``login``, or as the store's
    ``admin`` when that agent is unknown here; the numbers expired. Expiry is the same
    whoever runs it, so any client may do it when it finds articles past their date."""
    from caseterm.services.lookup import agent_by_login

    with store.uow() as uow:
        try:
            actor = agent_by_login(uow, login)
        except NotFound:
            actor = agent_by_login(uow, "admin")
        return [article.number for article in expire_due(uow, actor)]


def record_view(uow: UnitOfWork, actor: Agent, article: KbArticle) -> None:
    uow.update(article, actor.id, "view_article", views=article.views + 1)


def vote(uow: UnitOfWork, actor: Agent, article: KbArticle, helpful: bool) -> None:
    if article.state != ArticleState.PUBLISHED.value:
        raise ValidationError("vote", f"{article.number} is {ArticleState(article.state).label}; only published articles take votes")
    if helpful:
        uow.update(article, actor.id, "vote_article", helpful=article.helpful + 1)
    else:
        uow.update(article, actor.id, "vote_article", not_helpful=article.not_helpful + 1)


def link_to_case(uow: UnitOfWork, actor: Agent, case: Case, article: KbArticle) -> CaseArticle:
    if article.state != ArticleState.PUBLISHED.value:
        raise ValidationError("article", f"{article.number} is {ArticleState(article.state).label}; link a published article")
    existing = uow.session.exec(select(CaseArticle).where(CaseArticle.case_id == case.id,
                                                          CaseArticle.article_id == article.id)).first()
    if existing is not None:
        return existing
    link = uow.create(CaseArticle(case_id=case.id, article_id=article.id, linked_by_id=actor.id), actor.id,
                      "link_article")
    from caseterm.services.cases import log_event

    log_event(uow, actor, case, "article_linked", f"Linked {article.number}: {article.title}",
              {"article": article.number})
    return link


def article_by_number(uow: UnitOfWork, number: str, *, state: str | None = None) -> KbArticle:
    """The current revision of KA-…: the published one if any, else the newest."""
    query = select(KbArticle).where(func.upper(KbArticle.number) == number.strip().upper(), KbArticle.deleted == False)  # noqa: E712
    if state:
        query = query.where(KbArticle.state == state)
    rows = uow.session.exec(query.order_by(KbArticle.revision.desc())).all()
    if not rows:
        raise NotFound(f"No article {number}; see 'caseterm kb list'")
    published = [r for r in rows if r.state == ArticleState.PUBLISHED.value]
    return published[0] if published else rows[0]


# --- import and export ----------------------------------------------------------------------


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why)


def markdown_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.md") if p.name.lower() != "readme.md")
        else:
            files.append(path)
    return files


def import_file(uow: UnitOfWork, actor: Agent, path: Path) -> tuple[str, str]:
    """Import one Markdown file as a published article. Returns (outcome, article number).

    The file's name is the article's identity: importing it again updates that article
    (through a new revision) when the content changed, and does nothing when it did not."""
    _require_reviewer(actor, "importing articles (they are published)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("file", f"cannot be read ({exc})") from None
    doc = parse(text)
    slug = path.stem.lower()
    current = uow.session.exec(select(KbArticle).where(
        KbArticle.slug == slug, KbArticle.state == ArticleState.PUBLISHED.value, KbArticle.deleted == False)  # noqa: E712
    ).first()
    fields = dict(title=doc.title, body=doc.body, keywords=doc.keywords, product_sku=doc.product,
                  category=doc.category, language=doc.language)
    if current is None:
        article = create_article(uow, actor, slug=slug, **fields)
        submit_for_review(uow, actor, article)
        approve(uow, actor, article, "imported")
        return "created", article.number
    if _doc_of(uow, current) == _normalised(doc):
        return "unchanged", current.number
    draft = revise(uow, actor, current)
    if draft.state == ArticleState.IN_REVIEW.value:
        _move(uow, actor, draft, lc.REJECT, reviewer_id=actor.id, review_comment="replaced by an import")
    update_draft(uow, actor, draft, **fields)
    submit_for_review(uow, actor, draft)
    approve(uow, actor, draft, "imported")
    return "updated", draft.number


def import_paths(uow_factory, actor_login: str, paths: list[Path], progress=None) -> ImportReport:
    """Import every file in its own transaction: a bad file is reported and skipped, the rest land."""
    from caseterm.services.lookup import agent_by_login

    report = ImportReport()
    for path in markdown_files(paths):
        try:
            with uow_factory() as uow:
                outcome, number = import_file(uow, agent_by_login(uow, actor_login), path)
        except CasetermError as exc:
            if isinstance(exc, PermissionDenied):
                raise
            report.skipped.append((str(path), str(exc)))
        else:
            getattr(report, outcome).append(number)
        if progress:
            progress()
    return report


def _normalised(doc: ArticleDoc) -> tuple:
    return (doc.title.strip(), doc.body.strip(), tuple(_clean_keywords(doc.keywords)), (doc.product or "").upper(),
            doc.category.strip(), (doc.language or "en").lower())


def _doc_of(uow: UnitOfWork, article: KbArticle) -> tuple:
    return _normalised(to_doc(uow, article))


def to_doc(uow: UnitOfWork, article: KbArticle) -> ArticleDoc:
    product = uow.session.get(Product, article.product_id) if article.product_id else None
    return ArticleDoc(title=article.title, body=article.body, product=product.sku if product else None,
                      category=article.category, keywords=list(article.keywords), language=article.language)


def export_published(uow: UnitOfWork, folder: Path) -> list[Path]:
    """Every published article as ``<slug or number>.md`` in ``folder``; import reads them back."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for article in uow.session.exec(select(KbArticle).where(
            KbArticle.state == ArticleState.PUBLISHED.value, KbArticle.deleted == False).order_by(KbArticle.number)):  # noqa: E712
        path = folder / f"{article.slug or article.number.lower()}.md"
        path.write_text(render(to_doc(uow, article)), encoding="utf-8")
        written.append(path)
    return written

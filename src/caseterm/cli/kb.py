"""``caseterm kb …``: import, export, list, show, search, expire and reindex knowledge articles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from caseterm.cli import context
from caseterm.cli.output import print_article_hit, print_json, progress_bar, when

app = typer.Typer(help="Knowledge-base articles: import, export, list, show, search, reindex.", no_args_is_help=True,
                  rich_markup_mode=None)


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Markdown files or folders of them.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import articles as published (re-importing updates them, never duplicates); bad files are
    reported with the reason and skipped. Needs a reviewer (--as a supervisor or admin)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from caseterm.errors import NotFound
    from caseterm.services import kb

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise NotFound(f"No such file or folder: {', '.join(missing)}")
    files = kb.markdown_files(paths)
    store = context.store()
    with Progress(TextColumn("Importing"), BarColumn(), MofNCompleteColumn(), console=context.err_console(),
                  transient=True, disable=len(files) < 20) as bar:
        task = bar.add_task("import", total=len(files))
        report = kb.import_paths(store.uow, context.login(), paths, progress=lambda: bar.advance(task))
    if as_json:
        print_json({"created": report.created, "updated": report.updated, "unchanged": report.unchanged,
                    "skipped": [{"file": f, "reason": why} for f, why in report.skipped]})
    else:
        c = context.console()
        c.print(f"{len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
                f"{len(report.skipped)} skipped")
        for file, why in report.skipped:
            c.print(f"  skipped {file}: {why}")
    if report.skipped:
        raise typer.Exit(2 if not (report.created or report.updated or report.unchanged) else 0)


@app.command("export")
def export(folder: Annotated[Path, typer.Argument(help="Where to write one .md file per published article.")]) -> None:
    """Write every published article as Markdown with front matter (kb import reads it back)."""
    from caseterm.services import kb

    with context.store().uow() as uow:
        written = kb.export_published(uow, folder)
    context.console().print(f"{len(written)} articles written to {folder}")


@app.command("list")
def list_(
    state: Annotated[Optional[str], typer.Option(help="draft, in_review, published, expired or archived.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List articles (every revision), newest number first."""
    from caseterm.domain.enums import Labelled  # noqa: F401
    from caseterm.domain.kb_lifecycle import ArticleState
    from caseterm.errors import ValidationError

    conn = context.read_conn()
    _expire_due(conn)
    params: list = []
    where = "a.deleted = 0"
    if state:
        key = state.strip().lower().replace(" ", "_").replace("-", "_")
        if key not in ArticleState._value2member_map_:
            raise ValidationError("state", f"'{state}' is not one of {', '.join(s.value for s in ArticleState)}")
        where += " AND a.state = ?"
        params.append(key)
    rows = conn.execute(
        f"SELECT a.number, a.revision, a.state, a.title, a.category, p.sku, a.published_at, a.views, a.helpful, "
        f"a.not_helpful FROM kb_articles a LEFT JOIN products p ON p.id = a.product_id WHERE {where} "
        f"ORDER BY a.number DESC, a.revision DESC", params).fetchall()
    if as_json:
        print_json({"articles": [{"number": r[0], "revision": r[1], "state": r[2], "title": r[3], "category": r[4],
                                  "product": r[5], "published_at": r[6], "views": r[7], "helpful": r[8],
                                  "not_helpful": r[9]} for r in rows]})
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False, expand=True)
    for name in ("Number", "Rev", "State", "Title", "Category", "Product"):
        table.add_column(name, no_wrap=True, overflow="ellipsis", ratio=1 if name == "Title" else None)
    for r in rows:
        table.add_row(r[0], str(r[1]), r[2].replace("_", " "), r[3], r[4] or "—", r[5] or "—")
    c = context.console()
    c.print(table)
    c.print(f"{len(rows)} article revision(s)", style="dim")


@app.command("show")
def show(number: Annotated[str, typer.Argument(help="Article number, e.g. KA-DEMO-000001.")],
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show an article's current revision (the published one if there is one)."""
    from caseterm.services import kb

    with context.store().uow() as uow:
        article = kb.article_by_number(uow, number)
        doc = kb.to_doc(uow, article)
    if as_json:
        print_json({"number": article.number, "revision": article.revision, "state": article.state,
                    "title": doc.title, "product": doc.product, "category": doc.category, "keywords": doc.keywords,
                    "language": doc.language, "published_at": article.published_at, "expires_at": article.expires_at,
                    "views": article.views, "helpful": article.helpful, "not_helpful": article.not_helpful,
                    "body": doc.body})
        return
    c = context.console()
    c.print(f"{article.number} (revision {article.revision}, {article.state.replace('_', ' ')})  {doc.title}")
    c.print(f"Product {doc.product or '—'} · category {doc.category or '—'} · keywords {', '.join(doc.keywords) or '—'}"
            f" · published {when(article.published_at)}")
    c.print()
    from rich.markdown import Markdown

    c.print(Markdown(doc.body))


def _expire_due(conn) -> list[str]:
    """Expire published articles past their expiry date (a cheap check first), so what
    lists and searches show never includes them."""
    from caseterm.clock import default_clock
    from caseterm.store.queries import kb_expiry_due

    if not kb_expiry_due(conn, default_clock().now()):
        return []
    from caseterm.services import kb

    return kb.expire_due_for(context.store(), context.login())


@app.command("expire")
def expire(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Expire every published article whose expiry date has passed. list, search and the
    workstation do this by themselves; this is for a scheduled job."""
    numbers = _expire_due(context.read_conn())
    if as_json:
        print_json({"expired": numbers})
        return
    context.console().print(f"{len(numbers)} article(s) expired" + (f": {', '.join(numbers)}" if numbers else ""))


# --- search -----------------------------------------------------------------------------------


def _check_filters(conn, product: Optional[str], category: Optional[str]) -> None:
    from caseterm.errors import ValidationError

    if product is not None:
        if not product.strip():
            raise ValidationError("--product", "give a product SKU, e.g. NV-KT-1001")
        if not conn.execute("SELECT 1 FROM products WHERE upper(sku) = upper(?) AND deleted = 0",
                            (product.strip(),)).fetchone():
            raise ValidationError("--product", f"no product with SKU '{product.strip()}'")
    if category is not None:
        known = sorted({r[0] for r in conn.execute(
            "SELECT DISTINCT category FROM kb_articles WHERE state = 'published' AND deleted = 0 AND category != ''")})
        wanted = " ".join(category.split()).lower()
        if wanted not in {k.lower() for k in known}:
            raise ValidationError("--category", f"no published articles in category '{category.strip()}'; "
                                                f"categories: {', '.join(known) or 'none yet'}")


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help='Words to look for; "quoted words" must appear together.')],
    product: Annotated[Optional[str], typer.Option("--product", help="Only articles about this product (SKU).")] = None,
    category: Annotated[Optional[str], typer.Option("--category", help="Only articles in this category.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many articles (1-100).")] = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Search the published articles, best first: title matches rank above body matches,
    words match in any form (descale, descaling) and typos are corrected ("did you mean").
    Snippets mark the matched words «like this»."""
    from caseterm.errors import ValidationError
    from caseterm.search import kb_index

    if not 1 <= limit <= kb_index.MAX_LIMIT:
        raise ValidationError("--limit", f"must be from 1 to {kb_index.MAX_LIMIT}")
    conn = context.read_conn()
    _expire_due(conn)
    _check_filters(conn, product, category)
    with progress_bar("Building the search index", threshold=500) as progress:
        result = kb_index.search(context.settings().db, query, product=product, category=category, limit=limit,
                                 progress=progress)
    if as_json:
        print_json(result.to_dict())
        return
    c = context.console()
    if result.suggestion:
        c.print(f'did you mean "{result.suggestion}"?' + (" (showing its results)" if result.hits else ""))
    if not result.hits:
        c.print(f"No published article matches '{result.query}'.")
        return
    for hit in result.hits:
        print_article_hit(c, hit)
    c.print(f"{len(result.hits)} of {result.total} matching article(s)", style="dim")


@app.command("reindex")
def reindex(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Rebuild the search index of the published articles from scratch. It is kept current
    by itself (and repaired when found stale or damaged); use this after restoring or
    copying a store, or when searches look wrong."""
    import time

    from caseterm.search import kb_index

    context.read_conn()  # the store exists and is current
    db = context.settings().db
    started = time.perf_counter()
    with progress_bar("Indexing articles", threshold=500) as progress:
        count = kb_index.rebuild(db, progress=progress)
    seconds = time.perf_counter() - started
    path = kb_index.index_path(db)
    if as_json:
        print_json({"articles": count, "seconds": round(seconds, 3), "index": str(path)})
        return
    context.console().print(f"{count} published article(s) indexed in {seconds:.1f} s ({path})")

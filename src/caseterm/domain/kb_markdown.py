"""Knowledge articles as Markdown files with front matter (``data/kb/``, ``kb import``/``export``).

    ---
    title: How to descale the Brisk Electric Kettle
    product: NV-KT-1001
    category: Kitchen
    keywords: [descale, limescale, hard water]
    ---
    Body in Markdown …

Only this small, flat subset of YAML is read (``key: value`` and ``[a, b]`` lists), so no
YAML library is needed; anything else is reported as a bad file with its line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from caseterm.errors import ValidationError

KEYS = ("title", "product", "category", "keywords")


@dataclass
class ArticleDoc:
    title: str
    body: str
    product: str | None = None  # a SKU
    category: str = ""
    keywords: list[str] = field(default_factory=list)
    language: str = "en"


def parse(text: str) -> ArticleDoc:
    lines = text.replace("\r\n", "\n").lstrip("\ufeff").split("\n")
    if not lines or lines[0].strip() != "---":
        raise ValidationError("front matter", "the file must start with a '---' line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise ValidationError("front matter", "no closing '---' line") from None
    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if not sep or not key:
            raise ValidationError("front matter", f"line {number}: expected 'key: value', found {line.strip()!r}")
        if key not in KEYS and key != "language":
            raise ValidationError("front matter", f"line {number}: unknown key {key!r} (known: {', '.join(KEYS)}, language)")
        meta[key] = value.strip()
    title = _unquote(meta.get("title", ""))
    if not title:
        raise ValidationError("title", "missing in the front matter")
    body = "\n".join(lines[end + 1:]).strip()
    if not body:
        raise ValidationError("body", "the article has no text after the front matter")
    return ArticleDoc(
        title=title,
        body=body,
        product=_unquote(meta.get("product", "")) or None,
        category=_unquote(meta.get("category", "")),
        keywords=_list(meta.get("keywords", "")),
        language=_unquote(meta.get("language", "")) or "en",
    )


def render(doc: ArticleDoc) -> str:
    keywords = ", ".join(doc.keywords)
    lines = ["---", f"title: {doc.title}", f"product: {doc.product or ''}".rstrip(), f"category: {doc.category}",
             f"keywords: [{keywords}]"]
    if doc.language and doc.language != "en":
        lines.append(f"language: {doc.language}")
    return "\n".join([*lines, "---", "", doc.body.strip(), ""])


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _list(value: str) -> list[str]:
    value = value.strip()
    if not value:
        return []
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    return [item for item in (_unquote(v).strip().lower() for v in value.split(",")) if item]

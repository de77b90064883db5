"""Knowledge-base search: a whoosh index of the *published* articles, kept beside the store.

Where
    ``<store file>.kb-index/`` (a folder next to the SQLite file); nothing else is written.

What is indexed
    One document per published revision row (``state = 'published'``; one revision of a
    number is published at a time). Drafts, articles in review, expired and archived ones
    are never in the index, so agents never find them. The searchable field ``content``
    holds the title, the keywords and the body (Markdown turned into plain text) with
    positions (phrases work) and BM25F-style weights: a title word counts 4×, a keyword
    2×, a body word 1× before the term frequency saturates, so a title match outranks a
    body-only one. Words are lower-cased, stop words dropped, Porter-stemmed ("descaling"
    finds "descale"); hyphenated compounds are also indexed joined ("Wi-Fi" → "wifi",
    "e-bike" → "ebike"). ``product`` (SKU) and ``category`` are exact, case-insensitive
    filters.

Staying current
    The services call :func:`articles_changed` after each committed change that touches what
    agents can find (publish, expire, archive, an approved revision …). It re-reads those
    article numbers from the store and replaces their documents — never a rebuild — and
    commits at once (a merge of small segments, when one is due, follows in a second commit,
    so the change is visible before it). It never raises: when the writer lock stays busy
    for :data:`CHANGE_LOCK_WAIT` seconds, or anything fails, it logs and marks the index
    stale (a ``STALE`` file in the folder).

    Every index carries a *stamp* committed atomically with its content (a document with
    no text): the schema version, the count and rowid sum of the published rows it holds
    (a tombstoned published row gets an empty document, so the figures match the store's)
    and the store's identity (``sync_state.device_id``). A search compares it with the same
    figures read from the store (a covering read of ``ix_kb_articles_state``) whenever the
    store or the index changed since the last check (``PRAGMA data_version``, the index
    generation) or the folder is marked stale. A missing index, a garbage one (whoosh
    cannot open it, or a search raises), or one of another schema version is rebuilt from
    scratch before the search; a stale one is reconciled (only the rows that differ are
    rewritten; a rebuild when more than a quarter differ). If another process holds the
    writer lock, a readable stale index is searched as it is rather than waited for. A
    rebuild of more than :data:`PARALLEL_MIN` rows shares the work with helper processes
    (one per further CPU, at most three), each writing segments of at most
    :data:`SEGMENT_DOCS` documents.

API (stable)
    ``search(store_path, query, *, product=None, category=None, limit=10) -> SearchResult``
    ``rebuild(store_path, progress=None) -> int`` (published articles indexed)
    ``articles_changed(store_path, numbers) -> None``
    ``progress(done, total)`` is called every :data:`PROGRESS_EVERY` rows of a rebuild and
    at its end; ``search`` takes the same optional ``progress`` for a rebuild it triggers.
    Errors are :class:`caseterm.errors.CasetermError` subclasses (``ValidationError`` for
    an empty query or a bad limit, :class:`SearchUnavailable` when the index cannot be
    built or is being rebuilt by another process for longer than :data:`REBUILD_LOCK_WAIT`).

Query syntax and ranking
    Plain words, and ``"quoted phrases"``; nothing else is special (``?``, ``*``, ``:``,
    ``AND`` are text). Articles matching any of the words are found; BM25 ranks them (k1
    1.2, b 0.75, over the weighted term frequencies above, i.e. BM25F), times a bonus of
    :data:`COORD` for each further query word an article holds. Plain-word queries are
    scored here, on whoosh's posting lists read a block at a time, with an exact top-k
    cut-off and a cache of decoded, impact-sorted posting lists per segment and word (see
    :func:`_score_terms`); queries with a phrase go through whoosh's own query parser and
    matchers.

Typos ("did you mean")
    A word whose stem is nowhere in the index is replaced by the closest indexed word (edit
    distance ≤ 1 for 4 letters, ≤ 2 for longer words, same first letter; the nearer, then
    the more common, wins; shown in the form the articles use). ``SearchResult.suggestion``
    is then the corrected query and the hits and total are those of the corrected query
    (the unknown word matched nothing anyway).

Snippets
    Plain text of at most :data:`SNIPPET_CHARS` characters (markers and cut marks not
    counted) from the part of the body with the most distinct query words; each matched
    word is wrapped in :data:`MARK_START` and :data:`MARK_END` (``«`` ``»``), e.g.
    ``… run the «descaling» programme …``.
    Guillemets already in the text are shown as ``‹`` ``›`` so markers are unambiguous;
    ``…`` marks a cut. An article matched only by its title or keywords shows its opening.

Threads and processes
    Searches run in the caller's thread. A process keeps one open searcher per index and
    serialises its own searches on it; writers (rebuild, reconcile, changes) take whoosh's
    write lock file in the folder, so two processes on one store never write at once, and
    readers never wait for writers.
"""

from __future__ import annotations

import functools
import heapq
import logging
import math
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, compress, count, islice, repeat
from operator import add, eq, mul
from pathlib import Path
from typing import TypeVar

from caseterm.errors import CasetermError, ValidationError

log = logging.getLogger("caseterm.search")

SCHEMA_VERSION = 4
INDEX_SUFFIX = ".kb-index"
MARK_START = "«"
MARK_END = "»"
SNIPPET_CHARS = 220
MAX_LIMIT = 100
PROGRESS_EVERY = 200
PARALLEL_MIN = 4000  # published rows from which a rebuild shares the work with helper processes
SEGMENT_DOCS = 5000  # a rebuild writes segments of at most this many documents (no spill to disk)
CHANGE_LOCK_WAIT = 0.5  # articles_changed: wait this long for the writer lock, then mark stale
REBUILD_LOCK_WAIT = 30.0  # no usable index: wait this long for another process's writer
STALE_MARK = "STALE"  # a file in the index folder: an incremental change was skipped
LOCK_NAME = "MAIN_WRITELOCK"  # whoosh's own writer lock file (we take it ourselves)
STAMP_ID = "#stamp"
K1, B = 1.2, 0.75  # BM25
FIRST_DEPTH, DEPTH_PER_HIT = 64, 8  # the scorer's first candidates per term and segment: max(64, 8 × limit)
COORD = 0.5  # score bonus per further query word matched, relative to one matched word
SECTION = "\x1e"  # separates title, keywords and body in the indexed ``content`` value
SECTION_BOOSTS = (4.0, 2.0, 1.0)  # title, keywords, body
SECTION_GAP = 20  # positions between sections, so a phrase never spans two of them
# whoosh's English stop words, plus question words agents type ("how do I …", "why does my …")
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "for", "from", "have", "if", "in", "is", "it", "may",
    "not", "of", "on", "or", "tbd", "that", "the", "this", "to", "us", "we", "when", "will", "with", "yet", "you",
    "your",
    "how", "do", "does", "did", "doesn", "don", "i", "my", "me", "what", "why", "which", "where", "who", "there",
    "was", "has", "had", "been", "our", "its", "am", "s", "t",
})
TOKEN_PATTERN = r"\w+(?:\.\w+)*"  # words of letters and digits ("e21", "2.1" kept whole)
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_COMPOUND_RE = re.compile(r"\w+(?:\.\w+)*(?:-\w+(?:\.\w+)*)*")  # also "Wi-Fi", "e-bike", "USB-C"

Progress = Callable[[int, int], None]
_T = TypeVar("_T")


class SearchUnavailable(CasetermError):
    """The index cannot be used right now (for example another process is rebuilding it)."""

    code = "search_unavailable"


@dataclass(frozen=True)
class Hit:
    number: str
    title: str
    snippet: str  # plain text, matched words wrapped in «…»
    score: float
    product: str | None  # SKU
    category: str | None


@dataclass
class SearchResult:
    query: str
    hits: list[Hit] = field(default_factory=list)
    suggestion: str | None = None  # "did you mean …"; when set, hits and total are for it
    total: int = 0  # matching published articles (``hits`` holds at most ``limit`` of them)

    def to_dict(self) -> dict:
        """The ``caseterm kb search --json`` shape."""
        return {"query": self.query, "total": self.total, "suggestion": self.suggestion,
                "hits": [{"number": h.number, "title": h.title, "snippet": h.snippet, "score": round(h.score, 4),
                          "product": h.product, "category": h.category} for h in self.hits]}


def index_path(store_path: Path | str) -> Path:
    """The index folder of a store: ``<store file>.kb-index``."""
    path = Path(store_path).expanduser()
    return path.with_name(path.name + INDEX_SUFFIX)


# --- text ------------------------------------------------------------------------------------

_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAG_RE = re.compile(r"</?[A-Za-z][^>]*>")
_EMPH_RE = re.compile(r"(\*\*|__|\*|`+|~~)")
_LIST_RE = re.compile(r"^\s*(?:[-*+]\s+|(\d+)[.)]\s+)")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s*")
_TABLE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def plain_text(markdown: str) -> str:
    """Markdown as readable plain text, one line per block (headings, paragraphs, list
    items, table rows as "cell: cell"); a block without final punctuation gets a full stop."""
    lines: list[str] = []
    for raw in markdown.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line or line.startswith("```") or _TABLE_RULE_RE.match(line) or line in ("---", "***"):
            continue
        line = _HEADING_RE.sub("", line).lstrip(">").strip()
        m = _LIST_RE.match(line)
        if m:
            line = (f"{m.group(1)}. " if m.group(1) else "") + line[m.end():]
        if line.startswith("|") or " | " in line:
            line = ": ".join(c.strip() for c in line.strip("|").split("|") if c.strip())
        line = _EMPH_RE.sub("", _TAG_RE.sub("", _LINK_RE.sub(r"\1", line)))
        line = " ".join(line.split())
        if line:
            lines.append(line + "." if line[-1].isalnum() else line)
    return "\n".join(lines)


_STEMS: dict[str, str] = {}


def _stem(word: str) -> str:
    """Porter stem of a lower-case word (cached)."""
    out = _STEMS.get(word)
    if out is None:
        from whoosh.lang.porter import stem

        out = stem(word)
        if len(_STEMS) < 200_000:
            _STEMS[word] = out
    return out


def _words(text: str, query: bool) -> Iterator[tuple[str, bool]]:
    """(lower-case word, is_extra) of ``text``. A hyphenated compound ("Wi-Fi") gives its
    parts and then, as an extra word at the last part's position, the parts joined ("wifi")
    when indexing, and only the joined word in a query; so "wifi", "wi-fi" and "Wi-Fi" all
    find each other, and so does "fi"."""
    for word in _COMPOUND_RE.findall(text.lower()):
        if "-" not in word:
            yield word, False
        elif query:
            yield word.replace("-", ""), False
        else:
            for part in word.split("-"):
                yield part, False
            yield word.replace("-", ""), True


def analyse(text: str, *, query: bool = True) -> list[str]:
    """The terms of ``text`` as the index sees them (see :func:`_words`; stop words and
    one-letter words dropped, Porter-stemmed)."""
    return [_stem(w) for w, _ in _words(text, query) if len(w) > 1 and w not in STOP_WORDS]


class KbAnalyzer:
    """The analyzer of the ``content`` field (what whoosh's query parser uses; indexing goes
    through :func:`_index_content`, which analyses the same way in one pass). A value made
    of sections (title, keywords, body joined by :data:`SECTION`) gives each section's
    terms that section's boost, with a position gap between sections. It is pickled into
    the index schema: keep its name and module."""

    def __eq__(self, other) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def has_morph(self) -> bool:
        return True

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True, start_pos=0,
                 start_char=0, tokenize=True, mode="", **kwargs):
        from whoosh.analysis import Token

        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.startchar = token.endchar = start_char  # character offsets are not tracked
        token.stopped = False
        if not tokenize:
            token.original = token.text = value.lower()
            token.pos, token.boost = start_pos, 1.0
            yield token
            return
        nomorph = kwargs.get("nomorph", False)
        sections = value.split(SECTION) if SECTION in value else (value,)
        boosts = SECTION_BOOSTS if len(sections) == len(SECTION_BOOSTS) else (1.0,) * len(sections)
        pos = start_pos
        for section, boost in zip(sections, boosts):
            for word, joined in _words(section, mode == "query"):
                if len(word) < 2 or word in STOP_WORDS:
                    continue
                token.original = token.text = word if nomorph else _stem(word)
                token.boost = boost
                if joined:  # beside its last part
                    token.pos = max(start_pos, pos - 1)
                else:
                    token.pos = pos
                    pos += 1
                yield token
            pos += SECTION_GAP


def _index_content(value: str, field_boost: float = 1.0) -> Iterator[tuple[bytes, int, float, bytes]]:
    """What whoosh's ``TEXT.index`` yields for ``value`` with :class:`KbAnalyzer` — (term,
    frequency, weight, encoded positions) per term — in one pass over the words (whoosh
    builds a Token per word and runs it through a chain of generators: ~3× slower)."""
    import pickle
    import struct

    poses: dict[str, list[int]] = {}
    weights: dict[str, float] = {}
    sections = value.split(SECTION) if SECTION in value else (value,)
    boosts = SECTION_BOOSTS if len(sections) == len(SECTION_BOOSTS) else (1.0,) * len(sections)
    stems = _STEMS
    stopwords = STOP_WORDS
    findall = _COMPOUND_RE.findall
    pos = 0

    def put(term: str, at: int, boost: float) -> None:
        plist = poses.get(term)
        if plist is None:
            poses[term] = [at]
            weights[term] = boost
        else:
            plist.append(at)
            weights[term] += boost

    for section, boost in zip(sections, boosts):
        for word in findall(section.lower()):
            if "-" not in word:
                if len(word) < 2 or word in stopwords:
                    continue
                term = stems.get(word)
                if term is None:
                    term = _stem(word)
                plist = poses.get(term)
                if plist is None:
                    poses[term] = [pos]
                    weights[term] = boost
                else:
                    plist.append(pos)
                    weights[term] += boost
                pos += 1
                continue
            for part in word.split("-"):  # a compound: its parts, then the parts joined
                if len(part) > 1 and part not in stopwords:
                    put(_stem(part), pos, boost)
                    pos += 1
            put(_stem(word.replace("-", "")), max(0, pos - 1), boost)
        pos += SECTION_GAP
    pack = struct.Struct("!I").pack
    dumps = pickle.dumps
    for term, plist in poses.items():
        plist.sort()
        deltas = [plist[0]] + [b - a for a, b in zip(plist, plist[1:])]
        yield term.encode("utf-8"), len(plist), weights[term] * field_boost, pack(len(deltas)) + dumps(deltas, 2)


def _make_field_types():
    from whoosh.fields import TEXT

    class KbText(TEXT):
        """``content``: TEXT (with positions) indexed through :func:`_index_content`."""

        def index(self, value, **kwargs):
            if isinstance(value, str):
                return _index_content(value, self.format.field_boost)
            return super().index(value, **kwargs)

    KbText.__module__ = __name__
    KbText.__qualname__ = "KbText"
    return {"KbText": KbText}


def __getattr__(name: str):
    # ``KbText`` subclasses whoosh's TEXT: it is made on first use (importing this module
    # must not import whoosh) and found here when an index's pickled schema is loaded.
    if name == "KbText":
        if name not in globals():
            globals().update(_make_field_types())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _norm_key(value: str | None) -> str:
    return " ".join((value or "").split()).lower()


# --- schema, documents, the store side ---------------------------------------------------------


def _schema():
    from whoosh.fields import ID, NUMERIC, STORED, Schema

    return Schema(
        id=ID(stored=True, unique=True, sortable=True),  # the revision row's id (hex)
        number=ID(stored=True),
        rowid=NUMERIC(bits=64, stored=True, sortable=True),
        revision=STORED,
        slug=STORED,
        title=STORED,
        keywords=STORED,
        body=STORED,  # plain text, for snippets
        content=__getattr__("KbText")(analyzer=KbAnalyzer(), multitoken_query="phrase"),
        product=ID(stored=True),  # the SKU, upper case
        category=ID(),  # lower case, single spaces (the filter key)
        category_label=STORED,  # as written
        meta=STORED,  # only on the stamp document
    )


@functools.lru_cache(maxsize=1)
def _schema_names() -> tuple[str, ...]:
    return tuple(_schema().names())


_ROW_SQL = (
    "SELECT a.rowid, a.id, a.number, a.revision, a.slug, a.title, a.body, a.keywords, p.sku, a.category, a.deleted "
    "FROM kb_articles AS a LEFT JOIN products AS p ON p.id = a.product_id WHERE a.state = 'published'"
)
_FINGERPRINT_SQL = "SELECT count(*), coalesce(sum(rowid), 0) FROM kb_articles WHERE state = 'published'"


def _fingerprint(conn: sqlite3.Connection) -> tuple[int, int, str | None]:
    """(count, rowid sum) of the published rows — a covering read of ``ix_kb_articles_state``
    — and the store's identity (``sync_state.device_id``, made with the store: a store
    deleted and made again, or another store moved into its place, gets a new one)."""
    count, total = conn.execute(_FINGERPRINT_SQL).fetchone()
    return int(count), int(total), _store_id(conn)


def _store_id(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT device_id FROM sync_state ORDER BY id LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


def _stamp_key(stamp: dict) -> tuple:
    return stamp.get("count"), stamp.get("rowid_sum"), stamp.get("store")


def _keywords(value) -> list[str]:
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [value]
    return [str(k) for k in value or []] if isinstance(value, list) else []


def _document(row: Sequence) -> dict:
    """The document of one published row. A tombstoned row (``deleted``) gets one with no
    text, so the index holds exactly the rows the store's fingerprint counts."""
    rowid, row_id, number, revision, slug, title, body, keywords, sku, category, deleted = row
    doc = {"id": str(row_id), "number": number, "rowid": int(rowid), "revision": int(revision)}
    if deleted:
        return doc
    words = ", ".join(_keywords(keywords))
    text = plain_text(body or "")
    title = " ".join((title or "").split())
    content = f"{title}{SECTION}{words}{SECTION}{text}"
    doc.update(slug=slug or "", title=title, body=text, keywords=words, content=content)
    if sku:
        doc["product"] = str(sku).upper()
    if category:
        doc["category"] = _norm_key(category)
        doc["category_label"] = category
    return doc


def _stamp_doc(count: int, rowid_sum: int, store: str | None) -> dict:
    return {"id": STAMP_ID, "meta": {"schema": SCHEMA_VERSION, "count": count, "rowid_sum": rowid_sum,
                                     "store": store}}


def _read_stamp(searcher) -> dict | None:
    doc = searcher.document(id=STAMP_ID)
    meta = doc.get("meta") if doc else None
    return meta if isinstance(meta, dict) else None


def _connect(store_path: Path) -> sqlite3.Connection:
    """A connection on the store (created or migrated like every face does)."""
    from caseterm.store.sqlite import open_store

    return open_store(store_path)


# --- whoosh plumbing ---------------------------------------------------------------------------


class _Lengths:
    """Field lengths for a new segment's postings writer, which asks once per posting (for
    per-block length bounds): read once per field into a list, instead of one seek and
    read of the lengths column per posting."""

    def __init__(self, pdr) -> None:
        self.pdr = pdr
        self.cache: dict[str, list[int] | None] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        try:
            lengths = self.cache[fieldname]
        except KeyError:
            lengths = self.cache[fieldname] = _column_lengths(self.pdr, fieldname)
        if lengths is None:  # a field without lengths (not scorable)
            return default
        if docnum < len(lengths):
            return lengths[docnum]
        return self.pdr.doc_field_length(docnum, fieldname, default)


def _column_lengths(pdr, fieldname: str) -> list[int] | None:
    """Every document's length of ``fieldname`` in one segment; None when the field keeps
    no lengths, [] when they cannot be read this way (callers fall back)."""
    try:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
        from whoosh.util.numeric import byte_to_length

        reader = pdr._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        return None if reader is None else [byte_to_length(b) if b else 0 for b in reader]
    except Exception:  # noqa: BLE001 — another whoosh
        return []


def _segment_writer(ix, **kwargs):
    """whoosh's SegmentWriter without its own locking (we hold the lock), flushing with
    :class:`_Lengths`."""
    from whoosh import writing

    class _Writer(writing.SegmentWriter):
        def _flush_segment(self):
            self.perdocwriter.close()
            pdr = self.per_document_reader() if self.codec.length_stats else None
            self.fieldwriter.add_postings(self.schema, _Lengths(pdr) if pdr else None, self.pool.iter_postings())
            self.fieldwriter.close()
            if pdr:
                pdr.close()

    return _Writer(ix, _lk=False, **kwargs)


class _ChunkedWriter:
    """Adds documents into new segments of at most :data:`SEGMENT_DOCS` documents each, so
    whoosh's posting pool never spills to disk (spilling and merging the runs back costs
    more than the indexing). ``finish()`` returns the finished segments."""

    def __init__(self, ix) -> None:
        self.ix = ix
        self.writer = None
        self.in_writer = 0
        self.segments: list = []

    def add(self, doc: dict) -> None:
        if self.writer is None:
            self.writer = _segment_writer(self.ix, limitmb=512)
            self.in_writer = 0
        self.writer.add_document(**doc)
        self.in_writer += 1
        if self.in_writer >= SEGMENT_DOCS:
            self.segments.append(self.writer._finalize_segment())
            self.writer = None

    def finish(self) -> list:
        if self.writer is not None:
            self.segments.append(self.writer._finalize_segment())
            self.writer = None
        return self.segments

    def cancel(self) -> None:
        if self.writer is not None:
            try:
                self.writer.cancel()
            except Exception:  # noqa: BLE001
                pass
            self.writer = None


_TIER_CAP = 1000  # incremental merges never touch segments of this many documents or more


def _merge_policy(writer, segments):
    """Merge policy for incremental commits (each adds a segment of a document or two):
    segments under :data:`_TIER_CAP` documents are grouped in tiers by size (< 10, < 100,
    < 1,000) and a tier's segments are merged into one once it holds four. An index that
    only gets single-article changes keeps a handful of segments and no merge rewrites more
    than ~4,000 documents; the big segments of the last rebuild are left alone."""
    from whoosh.reading import SegmentReader

    merge = _due_merge(segments)
    if not merge:
        return segments
    for seg in merge:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in merge]


def _due_merge(segments) -> list:
    tiers: dict[int, list] = {}
    for seg in segments:
        n = seg.doc_count_all()
        if n < _TIER_CAP:
            tiers.setdefault(len(str(max(n, 1))), []).append(seg)
    return next((segs for _, segs in sorted(tiers.items()) if len(segs) >= 4), [])


class _WriteLock:
    """whoosh's write lock file inside the index folder, taken with a bounded wait."""

    def __init__(self, folder: Path) -> None:
        from whoosh.filedb.filestore import FileStorage

        try:
            if folder.exists() and not folder.is_dir():
                folder.unlink()
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SearchUnavailable(f"the knowledge-base index folder {folder} cannot be made ({exc.strerror or exc}); "
                                    "check the permissions of the store's folder") from None
        self.lock = FileStorage(str(folder)).lock(LOCK_NAME)

    def acquire(self, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while True:
            try:
                if self.lock.acquire(blocking=False):
                    return True
            except OSError as exc:
                log.warning("kb index: cannot take the write lock: %s", exc)
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def release(self) -> None:
        try:
            self.lock.release()
        except Exception:  # noqa: BLE001 — releasing never fails the caller
            pass


def _mark_stale(folder: Path, why: str) -> None:
    log.warning("kb index %s marked stale: %s", folder, why)
    try:
        if folder.is_dir():
            (folder / STALE_MARK).write_text(f"{uuid.uuid4().hex} {why}\n", encoding="utf-8")
    except OSError:
        pass


def _stale_token(folder: Path) -> str | None:
    try:
        return (folder / STALE_MARK).read_text(encoding="utf-8")
    except OSError:
        return None


def _clear_stale(folder: Path, token: str | None) -> None:
    """Remove the stale mark, unless it was set again since ``token`` was read."""
    if token is not None and _stale_token(folder) == token:
        try:
            (folder / STALE_MARK).unlink()
        except OSError:
            pass


def _open_checked(folder: Path):
    """(index, searcher, stamp) of the whoosh index at ``folder`` if it is ours and of this
    schema version, else None."""
    from whoosh import index

    ix = searcher = None
    try:
        if not folder.is_dir() or not index.exists_in(str(folder)):
            return None
        ix = index.open_dir(str(folder))
        if tuple(ix.schema.names()) == _schema_names():
            searcher = ix.searcher()
            stamp = _read_stamp(searcher)
            if stamp is not None and stamp.get("schema") == SCHEMA_VERSION:
                return ix, searcher, stamp
    except Exception as exc:  # noqa: BLE001 — any failure to open means "rebuild it"
        log.warning("kb index %s unusable (%s: %s)", folder, type(exc).__name__, exc)
    for thing in (searcher, ix):
        try:
            if thing is not None:
                thing.close()
        except Exception:  # noqa: BLE001
            pass
    return None


def _open_index(folder: Path):
    """The whoosh index at ``folder`` if it is ours and of this schema version, else None."""
    opened = _open_checked(folder)
    if opened is None:
        return None
    opened[1].close()
    return opened[0]


def _reset_folder(folder: Path) -> None:
    """Empty the index folder, keeping the lock file we hold."""
    if folder.exists() and not folder.is_dir():
        folder.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.name == LOCK_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            try:
                entry.unlink()
            except OSError:
                pass


# --- rebuild -------------------------------------------------------------------------------------


def _helper_count(total: int) -> int:
    if total < PARALLEL_MIN:
        return 0
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(0, min(cpus, 4) - 1)


class _Helper:
    """A helper process indexing the published rows with rowid in [lo, hi] into segments
    of its own. It is a fresh interpreter running :func:`_helper_main` (not
    ``multiprocessing``, which would import the caller's main module again); it reports
    progress and, at the end, its pickled segments on its stdout, read by a thread here."""

    def __init__(self, store_path: Path, folder: Path, lo: int, hi: int) -> None:
        import subprocess
        import sys
        import tempfile

        self.lo, self.hi = lo, hi
        self.done = 0
        self.outcome: tuple | bool | None = None  # False: failed, its share redone by the caller
        self.error: str | None = None
        self.stderr = tempfile.TemporaryFile()  # a file, not a pipe: a chatty child never blocks
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from caseterm.search.kb_index import _helper_main; _helper_main()",
             str(store_path), str(folder), str(lo), str(hi)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr)
        self.reader = threading.Thread(target=self._read, name="caseterm-kb-index-helper", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        import base64
        import pickle

        try:
            for line in self.process.stdout:
                kind, _, rest = line.decode("ascii", "replace").strip().partition(" ")
                if kind == "done":
                    self.done = int(rest)
                elif kind == "ok":
                    self.outcome = pickle.loads(base64.b64decode(rest))
                elif kind == "error":
                    self.error = rest
        except Exception as exc:  # noqa: BLE001
            self.error = f"{type(exc).__name__}: {exc}"

    def result(self, tick: Callable[[], None]) -> tuple | None:
        """(segments, documents, rowid sum, live articles), or None if the helper failed."""
        while self.reader.is_alive():
            self.reader.join(timeout=0.2)
            tick()
        code = self.process.wait()
        if self.outcome is None:
            self.stderr.seek(0)
            stderr = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
            log.warning("kb index helper for rowids %d-%d failed (exit %s): %s", self.lo, self.hi, code,
                        self.error or (stderr[-1] if stderr else "no output"))
        self.stderr.close()
        self.process.stdout.close()
        return self.outcome

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except Exception:  # noqa: BLE001
            self.process.kill()
        self.stderr.close()


def _helper_main() -> None:
    """Body of a :class:`_Helper` process: ``argv`` = store, index folder, lo, hi."""
    import base64
    import pickle
    import sys

    out = sys.stdout
    try:
        store_path, folder, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        from whoosh import index

        from caseterm.store.sqlite import connect

        ix = index.open_dir(folder)
        writer = _ChunkedWriter(ix)
        conn = connect(Path(store_path))
        count = rowid_sum = live = 0
        conn.execute("BEGIN")
        for row in conn.execute(f"{_ROW_SQL} AND a.rowid BETWEEN ? AND ?", (lo, hi)):
            writer.add(_document(row))
            count += 1
            rowid_sum += int(row[0])
            live += 0 if row[10] else 1
            if count % 100 == 0:
                out.write(f"done {count}\n")
                out.flush()
        conn.execute("COMMIT")
        conn.close()
        payload = pickle.dumps((writer.finish(), count, rowid_sum, live), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(f"done {count}\nok {base64.b64encode(payload).decode('ascii')}\n")
    except BaseException as exc:  # noqa: BLE001 — reported to the parent, which redoes the range
        out.write(f"error {type(exc).__name__}: {exc}\n".replace("\n", " ").rstrip() + "\n")
    out.flush()


def _start_helpers(conn: sqlite3.Connection, store_path: Path, folder: Path, total: int) -> tuple[list, int | None]:
    """Helper processes for all but the last share of the published rows: (helpers, first
    rowid of the caller's own share), or ([], None)."""
    n = _helper_count(total)
    if not n:
        return [], None
    rowids = [r[0] for r in conn.execute("SELECT rowid FROM kb_articles WHERE state = 'published' ORDER BY rowid")]
    share = len(rowids) // (n + 1)
    if share < 500:
        return [], None
    helpers: list[_Helper] = []
    try:
        for i in range(n):
            helpers.append(_Helper(store_path, folder, rowids[i * share], rowids[(i + 1) * share - 1]))
    except Exception as exc:  # noqa: BLE001 — index everything here instead
        log.warning("kb index: no helper processes (%s); indexing in one process", exc)
        for h in helpers:
            h.stop()
        return [], None
    return helpers, rowids[n * share]


def _full_rebuild_locked(store_path: Path, folder: Path, conn: sqlite3.Connection,
                         progress: Progress | None) -> int:
    """Index every published row into new segments and commit them as the only ones (the
    caller holds the lock). Returns the published, not deleted, articles indexed."""
    from whoosh import index

    token = _stale_token(folder)
    ix = _open_index(folder)
    if ix is None:
        _reset_folder(folder)
        ix = index.create_in(str(folder), _schema())
    helpers: list[_Helper] = []
    chunks = _ChunkedWriter(ix)
    final = None
    try:
        count = rowid_sum = live = total = 0

        own = 0  # documents this process indexed (progress adds the helpers' counts)

        def report() -> None:
            if progress:
                progress(min(total, own + sum(h.done for h in helpers if h.outcome is not False)), total)

        def add_rows(rows) -> None:
            nonlocal count, rowid_sum, live, own
            for row in rows:
                chunks.add(_document(row))
                count += 1
                own += 1
                rowid_sum += int(row[0])
                live += 0 if row[10] else 1
                if progress and own % PROGRESS_EVERY == 0:
                    report()

        conn.execute("BEGIN")  # one snapshot for the total and (our share of) the rows
        try:
            total, _, store_id = _fingerprint(conn)
            if progress:
                progress(0, total)
            helpers, own_from = _start_helpers(conn, store_path, folder, total)
            add_rows(conn.execute(f"{_ROW_SQL} AND a.rowid >= ?", (own_from,)) if helpers
                     else conn.execute(_ROW_SQL))
        finally:
            conn.execute("COMMIT")
        segments = []
        for helper in helpers:
            got = helper.result(report)
            if got is None:  # redo its share here
                helper.outcome = False  # (its count no longer counts for progress)
                conn.execute("BEGIN")
                try:
                    add_rows(conn.execute(f"{_ROW_SQL} AND a.rowid BETWEEN ? AND ?", (helper.lo, helper.hi)))
                finally:
                    conn.execute("COMMIT")
                continue
            helper_segments, n, rsum, n_live = got
            segments += helper_segments
            count += n
            rowid_sum += rsum
            live += n_live
        segments += chunks.finish()
        final = _segment_writer(ix)
        final.add_document(**_stamp_doc(count, rowid_sum, store_id))
        segments.append(final._finalize_segment())
        final._commit_toc(segments)  # only the new segments: the old ones are dropped
        final._finish()
        if progress:
            progress(total, total)
    except BaseException:
        for helper in helpers:
            helper.stop()
        chunks.cancel()
        if final is not None and not final.is_closed:
            final.cancel()
        raise
    finally:
        ix.close()
    _clear_stale(folder, token)
    _forget(folder)
    log.info("kb index %s rebuilt: %d published articles (%d process%s)", folder, live, len(helpers) + 1,
             "es" if helpers else "")
    return live


def _index_rows(searcher) -> dict[str, int]:
    """{row id: rowid} of the live documents (the stamp left out), from the columns."""
    reader = searcher.reader()
    ids = reader.column_reader("id")
    rowids = reader.column_reader("rowid")
    out: dict[str, int] = {}
    for docnum in reader.all_doc_ids():
        row_id = ids[docnum]
        if row_id and row_id != STAMP_ID:
            out[row_id] = int(rowids[docnum] or 0)
    return out


def _reconcile_locked(store_path: Path, folder: Path, conn: sqlite3.Connection,
                      progress: Progress | None) -> None:
    """Bring a readable but stale index in line with the store, rewriting only the rows
    that differ (a full rebuild when more than a quarter do). The caller holds the lock."""
    token = _stale_token(folder)
    ix = _open_index(folder)
    if ix is None:
        _full_rebuild_locked(store_path, folder, conn, progress)
        return
    try:
        conn.execute("BEGIN")
        try:
            count, rowid_sum, store_id = fingerprint = _fingerprint(conn)
            with ix.searcher() as s:
                stamp = _read_stamp(s) or {}
                if _stamp_key(stamp) == fingerprint:
                    _clear_stale(folder, token)
                    return
                have = _index_rows(s)
            store_rows = {str(r[0]): int(r[1]) for r in conn.execute(
                "SELECT id, rowid FROM kb_articles WHERE state = 'published'")}
            gone = [i for i, rid in have.items() if store_rows.get(i) != rid]
            new = [i for i, rid in store_rows.items() if have.get(i) != rid]
            if len(gone) + len(new) > max(50, len(store_rows) // 4):
                conn.execute("COMMIT")
                ix.close()
                ix = None
                _full_rebuild_locked(store_path, folder, conn, progress)
                return
            rows = []
            for start in range(0, len(new), 500):
                part = new[start:start + 500]
                rows += conn.execute(f"{_ROW_SQL} AND a.id IN ({','.join('?' * len(part))})", part).fetchall()
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")
        writer = _segment_writer(ix)
        try:
            for row_id in gone:
                writer.delete_by_term("id", row_id)
            for row in rows:
                writer.update_document(**_document(row))
            writer.update_document(**_stamp_doc(count, rowid_sum, store_id))
            writer.commit(mergetype=_merge_policy)
        except BaseException:
            writer.cancel()
            raise
        log.info("kb index %s reconciled: %d removed, %d added", folder, len(gone), len(rows))
    finally:
        if ix is not None:
            ix.close()
    _clear_stale(folder, token)
    _forget(folder)


def rebuild(store_path: Path | str, progress: Progress | None = None) -> int:
    """Rebuild the index of ``store_path`` from scratch; returns the published articles
    indexed. Waits up to :data:`REBUILD_LOCK_WAIT` seconds for another process's writer."""
    store_path = Path(store_path).expanduser()
    folder = index_path(store_path)
    conn = _connect(store_path)
    try:
        lock = _WriteLock(folder)
        if not lock.acquire(REBUILD_LOCK_WAIT):
            raise SearchUnavailable(f"the knowledge-base index {folder} is being written by another caseterm "
                                    "process; try again in a moment")
        try:
            return _full_rebuild_locked(store_path, folder, conn, progress)
        finally:
            lock.release()
    finally:
        conn.close()


# --- incremental changes -------------------------------------------------------------------------


def articles_changed(store_path: Path | str, numbers: Iterable[str]) -> None:
    """Replace the documents of these article numbers with their published revision (or
    none). No index yet: nothing to do (the first search builds it). Never raises: on any
    failure, or when the writer lock stays busy, it logs and marks the index stale (the next
    search repairs it)."""
    folder = None
    try:
        store_path = Path(store_path).expanduser()
        folder = index_path(store_path)
        wanted = sorted({str(n).strip() for n in numbers if str(n).strip()})
        if wanted and folder.is_dir():
            _apply_changes(store_path, folder, wanted)
    except Exception as exc:  # noqa: BLE001 — the caller's change is committed; never fail it
        log.exception("kb index: could not apply changes to %s", numbers)
        if folder is not None:
            _mark_stale(folder, f"update failed ({type(exc).__name__}: {exc})")


def _apply_changes(store_path: Path, folder: Path, numbers: list[str]) -> None:
    from whoosh import index, writing

    try:
        ix = index.open_dir(str(folder))
    except Exception:  # noqa: BLE001 — an empty or broken folder: the next search rebuilds it
        return
    try:
        lock = _WriteLock(folder)
        if not lock.acquire(CHANGE_LOCK_WAIT):
            _mark_stale(folder, f"writer lock busy; skipped {', '.join(numbers)}")
            return
        try:
            if tuple(ix.schema.names()) != _schema_names():
                _mark_stale(folder, "index of another schema")
                return
            from caseterm.store.sqlite import connect

            conn = connect(store_path)
            try:
                marks = ",".join("?" * len(numbers))
                rows = conn.execute(f"{_ROW_SQL} AND a.number IN ({marks})", numbers).fetchall()
                store_id = _store_id(conn)
            finally:
                conn.close()
            writer = _segment_writer(ix)
            try:
                searcher, give_back = _borrow_searcher(folder, writer)
                try:
                    stamp = _read_stamp(searcher)
                    if stamp is None or stamp.get("schema") != SCHEMA_VERSION or stamp.get("store") != store_id:
                        writer.cancel()
                        _mark_stale(folder, "index without a stamp of this schema version and store")
                        return
                    count, rowid_sum = int(stamp.get("count", 0)), int(stamp.get("rowid_sum", 0))
                    for number in numbers:
                        for docnum in list(searcher.document_numbers(number=number)):
                            count -= 1
                            rowid_sum -= int(searcher.stored_fields(docnum).get("rowid", 0))
                            writer.delete_document(docnum)
                    for docnum in list(searcher.document_numbers(id=STAMP_ID)):
                        writer.delete_document(docnum)
                finally:
                    give_back()
                for row in rows:
                    writer.add_document(**_document(row))
                    count += 1
                    rowid_sum += int(row[0])
                writer.add_document(**_stamp_doc(count, rowid_sum, store_id))
                writer.commit(mergetype=writing.NO_MERGE)  # visible now; a due merge follows
            except BaseException:
                if not writer.is_closed:
                    writer.cancel()
                raise
            _merge_if_due(folder)
        finally:
            lock.release()
    finally:
        ix.close()


def _borrow_searcher(folder: Path, writer) -> tuple:
    """A searcher over exactly the segments ``writer`` starts from, and a function to call
    when done with it: this process's open searcher when it is at that generation (opening
    every segment's reader again costs ~2 ms a segment), else the writer's own."""
    with _opened_lock:
        state = _opened.get(folder.absolute())
    if state is not None and state.lock.acquire(timeout=0.05):
        lent = False
        try:
            searcher = state.searcher
            if searcher is not None and searcher.reader().generation() == writer.generation - 1:
                lent = True
                return searcher, state.lock.release
        finally:
            if not lent:
                state.lock.release()
    return writer.searcher(), (lambda: None)


def _merge_if_due(folder: Path) -> None:
    """Run :func:`_merge_policy` in a commit of its own when a tier is full (lock held)."""
    from whoosh import index

    ix = index.open_dir(str(folder))
    try:
        if not _due_merge(ix._read_toc().segments):
            return
        merger = _segment_writer(ix)
        try:
            merger.commit(mergetype=_merge_policy)
        except BaseException:
            if not merger.is_closed:
                merger.cancel()
            raise
    finally:
        ix.close()


# --- searching -----------------------------------------------------------------------------------


class _Segment:
    """What the scorer needs of one segment: its reader and id, its first global docnum, its
    size, the BM25 length norm of each document, its deleted documents (local numbers) and
    the cache key prefix of its term views."""

    __slots__ = ("reader", "segment_id", "offset", "size", "norms", "deleted", "key", "_deleted_mask")

    def __init__(self, reader, offset: int, norms: list[float], deleted: frozenset, key: tuple) -> None:
        self.reader, self.offset, self.norms, self.deleted, self.key = reader, offset, norms, deleted, key
        self.segment_id = reader.segment().segment_id()
        self.size = reader.doc_count_all()
        self._deleted_mask: int | None = None

    def deleted_mask(self) -> int:
        if self._deleted_mask is None:
            self._deleted_mask = _bits(self.size, self.deleted)
        return self._deleted_mask


_LENGTHS: dict[tuple[str, str], list[int]] = {}  # (folder, segment id) -> document lengths


def _segments(folder: Path, reader, avgdl: float | None) -> tuple[list[_Segment], int, float]:
    """The segments of ``reader`` for the scorer, the live document count and the average
    ``content`` length used for the norms: ``avgdl`` as given (kept while the index drifts
    less than 10% from it, so cached term views stay valid), else the current one."""
    leaves = reader.leaf_readers()
    docs = sum(sub.doc_count_all() for sub, _ in leaves) or 1
    current = max(1.0, sum(sub.field_length("content") for sub, _ in leaves) / docs)
    if avgdl is None or abs(current - avgdl) > 0.1 * avgdl:
        avgdl = current
    a, b = K1 * (1 - B), K1 * B / avgdl
    out = []
    for sub, offset in leaves:
        seg_id = sub.segment().segment_id()
        lengths = _LENGTHS.get((str(folder), seg_id))
        if lengths is None:
            lengths = _column_lengths(sub._perdoc, "content") or []
            if len(lengths) != sub.doc_count_all():
                lengths = [sub.doc_field_length(d, "content", 0) or 0 for d in range(sub.doc_count_all())]
            if len(_LENGTHS) > 256:
                _LENGTHS.clear()
            _LENGTHS[(str(folder), seg_id)] = lengths
        norms = list(map(a.__add__, map(b.__mul__, lengths)))
        deleted = sub.deleted_docs_set if sub.has_deletions() else frozenset()
        out.append(_Segment(sub, offset, norms, deleted, (str(folder), seg_id, avgdl)))
    return out, reader.doc_count(), avgdl


class _TermView:
    """One term in one segment, for the scorer, compact so that many stay cached: the
    documents holding it (segment-local docnums, ascending, then the segment size as a
    sentinel) and their impacts (``w / (w + norm)``, the BM25 term-frequency part before
    idf; 0.0 for the sentinel), the positions of those documents by impact (highest first;
    ties: lower docnum first), and a presence mask (an int, bit d set for document d).
    About 8 bytes a posting plus a bit a document: at 100,000 articles the cache holds
    every word of the bench's queries (with a 4-byte impact per document of the segment
    for every term instead of the binary search, it held fewer than a hundred of them)."""

    __slots__ = ("ids", "imps", "order", "bits", "nbytes")

    def __init__(self, ids, imps, order, bits: int, nbytes: int) -> None:
        self.ids, self.imps, self.order, self.bits, self.nbytes = ids, imps, order, bits, nbytes

    def at(self, docs: list[int]):
        """The impacts of these local docnums (0.0 where absent; an iterator), by binary search."""
        ids = self.ids
        where = list(map(bisect_left, repeat(ids), docs))
        return map(mul, map(self.imps.__getitem__, where), map(eq, map(ids.__getitem__, where), docs))


class _ViewCache:
    """Recently used term views (see :class:`_TermView`), least recently used dropped first
    past :data:`VIEW_CACHE_BYTES`. Segments never change (deletions are applied at query
    time), so views stay valid across index generations."""

    def __init__(self, budget: int) -> None:
        from collections import OrderedDict

        self.budget = budget
        self.size = 0
        self.lock = threading.Lock()
        self.entries: OrderedDict = OrderedDict()

    def get(self, key):
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None:
                self.entries.move_to_end(key)
            return hit

    def put(self, key, view: _TermView) -> None:
        with self.lock:
            if key in self.entries or view.nbytes > self.budget // 8:
                return
            self.entries[key] = view
            self.size += view.nbytes
            while self.size > self.budget and self.entries:
                _, old = self.entries.popitem(last=False)
                self.size -= old.nbytes

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


VIEW_CACHE_BYTES = 64 * 2**20
_views = _ViewCache(VIEW_CACHE_BYTES)


_TO_BIT_CHARS = bytes.maketrans(b"\x00\x01", b"01")
_FROM_BIT_CHARS = bytes.maketrans(b"01", b"\x00\x01")


def _bits(size: int, docs: Iterable[int]) -> int:
    """A presence mask: an int with bit d set for each of ``docs`` (local docnums < size)."""
    if not size:
        return 0
    return int(_byte_mask(size, docs).translate(_TO_BIT_CHARS)[::-1], 2)


def _bit_bytes(size: int, bits: int) -> bytes:
    """A presence mask as one byte (0 or 1) per document."""
    return format(bits, f"0{size}b")[::-1].encode("ascii").translate(_FROM_BIT_CHARS)


def _term_view(seg: _Segment, term: str) -> _TermView:
    from array import array

    key = seg.key + (term,)
    view = _views.get(key)
    if view is not None:
        return view
    ids, weights = _raw_postings(seg.reader, term)
    code = "H" if seg.size < 2**16 else "I"  # docnums and positions: 2 bytes each in segments of < 65,536
    norms = seg.norms
    imps = array("f", [w / (w + norms[d]) for d, w in zip(ids, weights)])
    keys = imps.tolist()  # (the stored float32 values; a list is quicker to index than an array)
    order = array(code, sorted(range(len(ids)), key=keys.__getitem__, reverse=True))  # stable: ties by docnum
    bits = _bits(seg.size, ids)
    ids = array(code, ids)
    ids.append(seg.size)
    imps.append(0.0)
    view = _TermView(ids, imps, order, bits, (ids.itemsize * 2 + 4) * len(ids) + seg.size // 8 + 200)
    _views.put(key, view)
    return view


_VALUES_START = b"c_codecs\nencode\n"  # how pickle protocol 2 writes the first bytes object


def _ids_and_weights(matcher) -> tuple:
    """The (delta-coded docnums, weights) of a whoosh 2.7 postings block, without its
    position lists. A block is a pickled (ids, weights, values) tuple, compressed; the
    values are a bytes object per posting, which pickle protocol 2 writes as a call of
    ``_codecs.encode`` each: unpickling them is ~90% of the unpickling time (~45 of 50 µs
    a block of 128). So the pickle is cut where they start (the first such call; ids and
    weights are ints and floats, whose opcodes cannot spell it) and ends in an empty
    tuple instead, and only as much is decompressed as ids and weights can take (at most
    5 + 9 bytes a posting); anything unexpected (another protocol, no values) unpickles
    the whole block."""
    import pickle
    import zlib

    data = matcher._postfile.get(matcher._dataoffset, matcher._nextoffset - matcher._dataoffset)
    head = zlib.decompressobj().decompress(data, 14 * matcher._blocklength + 96) if matcher._compression else data
    cut = head.find(_VALUES_START)
    if cut > 2:
        if head[cut - 1] == 0x28:  # MARK: the values tuple has more than three items
            cut -= 1
        try:
            ids, weights, _ = pickle.loads(head[:cut] + b")\x87.")  # EMPTY_TUPLE, TUPLE3, STOP
            if len(ids) == matcher._blocklength:
                return ids, weights
        except Exception:  # noqa: BLE001 — not the layout expected: the whole block
            pass
    return pickle.loads(zlib.decompress(data) if matcher._compression else data)[:2]


def _raw_postings(sub, term: str, fieldname: str = "content") -> tuple[list[int], list[float]]:
    """(segment-local docnums, weights) of a term, deleted documents included, read a block
    at a time (whoosh's matcher API costs a Python call per posting; this, one per block)."""
    from whoosh.reading import TermNotFound

    try:
        matcher = sub._terms.matcher(fieldname, term.encode("utf-8"), sub.schema[fieldname].format)
    except (KeyError, TermNotFound):
        return [], []
    ids: list[int] = []
    weights: list[float] = []
    try:
        while matcher.is_active():
            raw_ids, raw_weights = matcher._data[:2] if matcher._data is not None else _ids_and_weights(matcher)
            n = matcher._blocklength
            ids.extend(raw_ids if matcher._byteids else accumulate(raw_ids))
            if raw_weights is None:
                weights.extend(repeat(1.0, n))
            elif isinstance(raw_weights, float):
                weights.extend(repeat(raw_weights, n))
            else:
                weights.extend(raw_weights)
            matcher._next_block()
    except AttributeError:  # not the whoosh 2.7 block layout: the public, slower way
        ids, weights = [], []
        matcher = sub._terms.matcher(fieldname, term.encode("utf-8"), sub.schema[fieldname].format)
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
    return ids, weights


def _byte_mask(size: int, docs: Iterable[int]) -> bytearray:
    mask = bytearray(size)
    for doc in docs:  # (a plain loop: 2.5× quicker than a deque over map(mask.__setitem__, …))
        mask[doc] = 1
    return mask


def _level_masks(masks: list[int]) -> list[int]:
    """For presence masks of n terms, the masks of the documents holding exactly m of them
    (index m, 1..n; index 0 unused), from a bit-sliced counter of the masks."""
    planes: list[int] = []  # bit j of the count of each document
    for carry in masks:
        j = 0
        while carry:
            if j == len(planes):
                planes.append(carry)
                break
            planes[j], carry = planes[j] ^ carry, planes[j] & carry
            j += 1
    union = functools.reduce(int.__or__, masks, 0)
    levels = [0]
    for m in range(1, len(masks) + 1):
        level = union
        for j, plane in enumerate(planes):
            level &= plane if m >> j & 1 else ~plane
        levels.append(level if m < 2 ** len(planes) else 0)
    return levels


def _score_terms(segments: list[_Segment], live_docs: int, terms: list[str], allowed: list[frozenset] | None,
                 limit: int) -> tuple[list[tuple[float, int]], int]:
    """The best ``limit`` (score, global docnum) pairs for an OR of ``terms`` over
    ``content``, and how many documents match. ``allowed``: per segment, the local docnums
    a filter lets through (None: all).

    Score: BM25 (k1 1.2, b 0.75; the field's weighted term frequencies make it BM25F),
    times 1 + :data:`COORD` per further query term the document holds. Exact, without
    scoring every match. The terms' presence masks give the match count (their union) and
    each document's *level*, how many query terms it holds (a bit-sliced count). Levels
    are taken from the most terms down, each the threshold way: its candidates are each
    segment's first L documents of the level in each term's impact order, scored in full;
    any other document of level m scores at most the sum of the m largest of idf × (impact
    of the term's next document of the level), times m's coordination factor; while the
    ``limit``-th best so far scores below that bound, L grows 4× (until the lists are
    exhausted). A level whose bound from the terms' best impacts is below the
    ``limit``-th best found is skipped, and so is every level below it. (One bound for all
    levels — every term, the full coordination bonus — made a query of unrelated common
    words score nearly all its matches.)"""
    weights: list[float] = []
    views: list[list[_TermView]] = []
    for term in terms:
        per_segment = [_term_view(seg, term) for seg in segments]
        df = sum(len(view.order) for view in per_segment)  # postings, deleted too: whoosh's doc_frequency
        if df:
            weights.append(math.log(1.0 + (live_docs - df + 0.5) / (df + 0.5)) * (K1 + 1))
            views.append(per_segment)
    if not views:
        return [], 0
    n = len(views)
    # per segment with matches: (segment, its views of the terms, its documents of each level)
    parts: list[tuple[_Segment, list[_TermView], list[int]]] = []
    matches = 0
    for i, seg in enumerate(segments):
        seg_views = [per_term[i] for per_term in views]
        masks = [view.bits for view in seg_views]
        if seg.deleted or allowed is not None:
            keep = ~seg.deleted_mask() if seg.deleted else -1  # (-1: every bit set)
            if allowed is not None:
                keep &= _bits(seg.size, allowed[i])
            masks = [mask & keep for mask in masks]
        levels = _level_masks(masks)
        held = sum(level.bit_count() for level in levels)
        if held:
            matches += held
            parts.append((seg, seg_views, levels))
    if not matches:
        return [], 0
    factors = [0.0] + [1.0 + COORD * (m - 1) for m in range(1, n + 1)]
    best_imps = [max((view.imps[view.order[0]] for _, seg_views, _ in parts for view in seg_views[t:t + 1]
                      if view.order), default=0.0) for t in range(n)]
    top: list[tuple[float, int]] = []  # the best (score, -global docnum) so far (ties: lower docnum first)
    for m in range(n, 0, -1):
        ceiling = factors[m] * sum(sorted(map(mul, weights, best_imps), reverse=True)[:m])
        if len(top) == limit and top[-1][0] >= ceiling:
            break  # no document of this level or a lower one can enter the top
        level = [(seg, seg_views, _bit_bytes(seg.size, levels[m]), levels[m].bit_count())
                 for seg, seg_views, levels in parts if levels[m]]
        depth = max(FIRST_DEPTH, DEPTH_PER_HIT * limit)
        while level:
            found = list(top)
            bounds = [0.0] * n
            exhausted = True
            for seg, seg_views, in_level, size in level:
                candidates: set[int] = set()
                if size <= depth:  # all of them (cheaper than finding them in the terms' lists)
                    candidates.update(compress(range(seg.size), in_level))
                for t, view in enumerate(seg_views if size > depth else ()):
                    ids, order = view.ids, view.order
                    # the first depth + 1 documents of the level in the term's impact order (indexes into ids)
                    at = list(map(order.__getitem__, islice(
                        compress(count(), map(in_level.__getitem__, map(ids.__getitem__, order))), depth + 1)))
                    if len(at) > depth:
                        exhausted = False
                        bounds[t] = max(bounds[t], view.imps[at.pop()])
                    candidates.update(map(ids.__getitem__, at))
                docs = list(candidates)
                scores = list(map(weights[0].__mul__, seg_views[0].at(docs)))
                for t in range(1, n):
                    scores = list(map(add, scores, map(weights[t].__mul__, seg_views[t].at(docs))))
                base = -seg.offset
                found += heapq.nlargest(limit, zip(map(factors[m].__mul__, scores), map(base.__sub__, docs)))
            best = heapq.nlargest(limit, found)
            bound = factors[m] * sum(sorted(map(mul, weights, bounds), reverse=True)[:m])
            if exhausted or (len(best) == limit and best[-1][0] >= bound):
                top = best
                break
            depth *= 4
    return [(score, -negdoc) for score, negdoc in top], matches


class _Open:
    """One process's open view of an index: searcher, stamp, fast-scorer segments, and the
    store connection that checks the stamp (again only when the store or the index
    generation changed, or the folder is marked stale)."""

    def __init__(self, folder: Path, store_path: Path) -> None:
        self.folder = folder
        self.store_path = store_path
        self.lock = threading.RLock()
        self.ix = None
        self.searcher = None
        self.parser = None
        self.segments: tuple | None = None
        self.avgdl: float | None = None  # the length norms' average, kept while it drifts < 10%
        self.stamp: dict = {}
        self.conn: sqlite3.Connection | None = None
        self.data_version: int | None = None
        self.verified_generation: int | None = None

    def open(self, opened: tuple) -> None:
        self.ix, self.searcher, self.stamp = opened
        self.segments = None
        self.verified_generation = None

    def refresh(self) -> bool:
        """Move to the index's latest generation, reusing the readers of the segments that
        did not change; False when that is not possible (the caller reopens).

        (Not whoosh's ``Searcher.refresh``: it reuses a segment's reader even when the
        segment has new deletions, and keeps segments the new generation dropped.)"""
        from whoosh.reading import MultiReader, SegmentReader
        from whoosh.searching import Searcher

        fresh: list = []
        try:
            toc = self.ix._read_toc()
            if tuple(toc.schema.names()) != _schema_names():
                return False
            old = {}
            for reader, _ in self.searcher.reader().leaf_readers():
                seg = reader.segment()
                if seg is not None:
                    old[seg.segment_id()] = (reader, set(seg.deleted_docs()))
            readers = []
            for seg in toc.segments:
                hit = old.get(seg.segment_id())
                if hit is not None and hit[1] == set(seg.deleted_docs()):
                    readers.append(hit[0])
                else:
                    reader = SegmentReader(self.ix.storage, toc.schema, seg, generation=toc.generation)
                    fresh.append(reader)
                    readers.append(reader)
            if not readers:
                return False
            reader = readers[0] if len(readers) == 1 else MultiReader(readers, generation=toc.generation)
            searcher = Searcher(reader, fromindex=self.ix)
            stamp = _read_stamp(searcher)
            if stamp is None or stamp.get("schema") != SCHEMA_VERSION:
                raise ValueError("no stamp of this schema version")
        except Exception:  # noqa: BLE001 — reopen instead
            for reader in fresh:
                try:
                    reader.close()
                except Exception:  # noqa: BLE001
                    pass
            return False
        # the old searcher's readers that are not reused stay open until it is collected:
        # another thread may still hold it
        self.searcher, self.stamp, self.segments, self.verified_generation = searcher, stamp, None, None
        return True

    def close(self) -> None:
        for thing in (self.searcher, self.ix):
            try:
                if thing is not None:
                    thing.close()
            except Exception:  # noqa: BLE001
                pass
        self.searcher = self.ix = self.segments = None
        self.stamp = {}
        self.verified_generation = None

    def drop_connection(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except sqlite3.Error:
                pass
            self.conn = None


_opened: dict[Path, _Open] = {}
_opened_lock = threading.Lock()


def _state_for(store_path: Path) -> _Open:
    folder = index_path(store_path).absolute()
    with _opened_lock:
        state = _opened.get(folder)
        if state is None:
            state = _opened[folder] = _Open(folder, store_path)
        return state


def _forget(folder: Path) -> None:
    """Make this process re-check the index at ``folder`` on its next search."""
    with _opened_lock:
        state = _opened.get(folder.absolute())
    if state is not None:
        state.verified_generation = None


def close_all() -> None:
    """Close every searcher and store connection this process holds (tests, shutdown)."""
    with _opened_lock:
        states = list(_opened.values())
        _opened.clear()
    for state in states:
        with state.lock:
            state.close()
            state.drop_connection()


def _ensure_ready(state: _Open, progress: Progress | None) -> None:
    """Leave ``state.searcher`` on an index that agrees with the store: open it, build it
    when missing or unusable, reconcile it when stale."""
    folder = state.folder
    if state.conn is None:
        state.conn = _connect(state.store_path)
    conn = state.conn
    if state.searcher is not None:
        try:
            if not state.searcher.up_to_date() and not state.refresh():
                state.close()
        except Exception:  # noqa: BLE001 — folder gone or garbage: reopen below
            state.close()
    if state.searcher is None:
        opened = _open_checked(folder)
        if opened is None:
            _locked(folder, REBUILD_LOCK_WAIT, lambda: _open_index(folder) is None and _full_rebuild_locked(
                state.store_path, folder, conn, progress), "is being rebuilt by another caseterm process")
            opened = _open_checked(folder)
            if opened is None:
                raise SearchUnavailable(f"the knowledge-base index {folder} could not be built; see the log")
        state.open(opened)
    data_version = conn.execute("PRAGMA data_version").fetchone()[0]
    generation = state.searcher.reader().generation()
    stale_mark = (folder / STALE_MARK).exists()
    if state.verified_generation == generation and state.data_version == data_version and not stale_mark:
        return
    if _fingerprint(conn) != _stamp_key(state.stamp):
        lock = _WriteLock(folder)
        if not lock.acquire(0.05):
            log.info("kb index %s is stale and another process is writing it; searching it as it is", folder)
            return
        try:
            _reconcile_locked(state.store_path, folder, conn, progress)
        finally:
            lock.release()
        state.close()
        opened = _open_checked(folder)
        if opened is None:
            raise SearchUnavailable(f"the knowledge-base index {folder} could not be repaired; see the log")
        state.open(opened)
        generation = state.searcher.reader().generation()
    elif stale_mark:
        _clear_stale(folder, _stale_token(folder))
    state.verified_generation = generation
    state.data_version = data_version


def _locked(folder: Path, wait: float, work: Callable[[], object], busy: str):
    lock = _WriteLock(folder)
    if not lock.acquire(wait):
        raise SearchUnavailable(f"the knowledge-base index {folder} {busy}; try again in a moment")
    try:
        return work()
    finally:
        lock.release()


def _parser(schema):
    from whoosh import qparser

    parser = qparser.QueryParser("content", schema, group=qparser.OrGroup.factory(0.9))
    for plugin in (qparser.SingleQuotePlugin, qparser.FieldsPlugin, qparser.WildcardPlugin, qparser.RangePlugin,
                   qparser.OperatorsPlugin, qparser.BoostPlugin, qparser.EveryPlugin):
        parser.remove_plugin_class(plugin)
    return parser


# --- typos ---------------------------------------------------------------------------------------


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau–Levenshtein (optimal string alignment) distance, capped at ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _surface_forms(searcher, stem: str, limit_docs: int = 3) -> dict[str, int]:
    """Words of a few articles holding ``stem`` whose stem it is: {word: occurrences}."""
    forms: dict[str, int] = {}
    pattern = re.compile(r"\b" + re.escape(stem[:max(2, len(stem) - 1)]) + r"\w*", re.IGNORECASE)
    reader = searcher.reader()
    postings = reader.postings("content", stem)
    seen = 0
    while postings.is_active() and seen < limit_docs:
        fields = reader.stored_fields(postings.id())
        for text in (fields.get("title", ""), fields.get("keywords", ""), fields.get("body", "")):
            for m in pattern.finditer(text):
                word = m.group().lower()
                if _stem(word) == stem:
                    forms[word] = forms.get(word, 0) + 1
        seen += 1
        postings.next()
    return forms


def _correct_word(searcher, word: str) -> str | None:
    """The indexed word closest to ``word`` (whose stem is nowhere in the index), or None."""
    if len(word) < 4 or not word.isalpha():
        return None
    maxdist = 1 if len(word) <= 4 else 2
    reader = searcher.reader()
    stem = _stem(word)
    best: tuple | None = None
    for cand in reader.terms_within("content", stem, maxdist, prefix=1):
        if cand == stem or not cand.isalpha():
            continue
        dist = _edit_distance(stem, cand, maxdist)
        if dist <= maxdist:
            key = (dist, -reader.doc_frequency("content", cand), cand)
            if best is None or key < best:
                best = key
    if best is None:
        return None
    forms = _surface_forms(searcher, best[2])
    if not forms:
        return None
    form = min(forms, key=lambda f: (_edit_distance(word, f, 99), -forms[f], f))
    # stems can be close where the words are not ("evening" → "even" ~ "everi" → "every"):
    # only offer a word that is itself within the typo distance of what was typed
    return form if _edit_distance(word, form, maxdist) <= maxdist else None


def _suggest(searcher, text: str) -> str | None:
    """``text`` with each word whose stem is nowhere in the index replaced by its
    correction; None when nothing was corrected."""
    reader = searcher.reader()
    changed = False
    out: list[str] = []
    pos = 0
    for m in _TOKEN_RE.finditer(text):
        word = m.group(0)
        lower = word.lower()
        out.append(text[pos:m.start()])
        pos = m.end()
        fix = None
        if len(lower) > 1 and lower not in STOP_WORDS and ("content", _stem(lower)) not in reader:
            fix = _correct_word(searcher, lower)
        out.append(word if fix is None else fix)
        changed = changed or fix is not None
    out.append(text[pos:])
    return "".join(out) if changed else None


# --- snippets ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _snippet_pattern(stems: frozenset) -> re.Pattern:
    """Words starting like one of the stems (hyphens allowed anywhere, so "wifi" finds
    "Wi-Fi"): candidates the snippet then confirms by stemming."""
    prefixes = sorted({st[:max(2, len(st) - 1)] for st in stems}, key=len, reverse=True)
    alternatives = ["-?".join(map(re.escape, p)) for p in prefixes]
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")[\w-]*(?:\.\w+)*", re.IGNORECASE)


def snippet(text: str, stems: set[str] | frozenset[str], width: int = SNIPPET_CHARS) -> str:
    """The ``width``-character window of ``text`` holding the most distinct query words, the
    matched words wrapped in «…» (``stems``: the query's terms, see :func:`analyse`)."""
    flat = " ".join(text.replace(MARK_START, "‹").replace(MARK_END, "›").split())
    matches: list[tuple[int, int, str]] = []
    if stems:
        for m in _snippet_pattern(frozenset(stems)).finditer(flat):
            word = m.group(0).lower()
            st = _stem(word.replace("-", ""))
            if st not in stems and "-" in word:  # a compound: marked if one of its parts matches
                st = next((x for x in map(_stem, word.split("-")) if x in stems), "")
            if st in stems:
                matches.append((m.start(), m.end(), st))
    start = 0
    if matches:
        best_i, best_key, j = 0, (-1, -1), 0
        for i in range(len(matches)):
            j = max(j, i)
            while j + 1 < len(matches) and matches[j + 1][1] - matches[i][0] <= width - 40:
                j += 1
            key = (len({w[2] for w in matches[i:j + 1]}), j - i + 1)
            if key > best_key:
                best_i, best_key = i, key
        first = matches[best_i][0]
        start = max(0, first - 50)
        if start > 0:  # from a sentence beginning shortly before, else from a word
            cut = flat.rfind(". ", start - 40, first)
            if cut != -1 and first - cut < 120:
                start = cut + 2
            else:
                space = flat.find(" ", start, first)
                start = space + 1 if space != -1 else start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        if space > start + width // 2:
            end = space
    parts: list[str] = ["…" if start > 0 else ""]
    pos = start
    for s, e, _ in matches:
        if start <= s and e <= end:
            parts += [flat[pos:s], MARK_START, flat[s:e], MARK_END]
            pos = e
    parts.append(flat[pos:end])
    if end < len(flat):
        parts.append(" …")
    return "".join(parts).strip()


# --- search --------------------------------------------------------------------------------------


def search(store_path: Path | str, query: str, *, product: str | None = None, category: str | None = None,
           limit: int = 10, progress: Progress | None = None) -> SearchResult:
    """Search the published articles of ``store_path``: best first, at most ``limit`` hits,
    optionally only those of a product (SKU) and/or a category. Builds or repairs the
    index first when needed (``progress`` as for :func:`rebuild`)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    text = " ".join((query or "").split())
    if not text:
        raise ValidationError("query", "type some words to search for")
    return with_index(store_path, lambda state: _run(state, text, product=product, category=category, limit=limit),
                      progress=progress)


def with_index(store_path: Path | str, work: Callable[[_Open], _T], *, progress: Progress | None = None) -> _T:
    """``work(state)`` on the index of ``store_path``, with this process's lock on it held
    and the index ready (built, repaired or reconciled first, as :func:`search` does;
    ``progress`` as for :func:`rebuild`). When ``work`` fails on a broken index, the index
    is rebuilt and ``work`` runs once more. Raises :class:`SearchUnavailable` when the index
    cannot be used (``work``'s own ``CasetermError`` pass through)."""
    store_path = Path(store_path).expanduser()
    state = _state_for(store_path)
    with state.lock:
        for attempt in (1, 2):
            try:
                _ensure_ready(state, progress)
                return work(state)
            except CasetermError:
                raise
            except sqlite3.Error as exc:
                state.close()
                state.drop_connection()
                if attempt == 2:
                    raise SearchUnavailable(f"the store {store_path} could not be read for the search "
                                            f"({exc})") from None
            except Exception as exc:  # noqa: BLE001 — a broken index is rebuilt, not fatal
                log.warning("kb search on %s failed (%s: %s); %s", state.folder, type(exc).__name__, exc,
                            "rebuilding" if attempt == 1 else "giving up", exc_info=True)
                state.close()
                if attempt == 2:
                    raise SearchUnavailable(f"the knowledge-base index {state.folder} cannot be searched "
                                            f"({type(exc).__name__}); try 'caseterm kb reindex'") from None
                try:
                    if state.conn is None:
                        state.conn = _connect(store_path)
                    conn = state.conn
                    _locked(state.folder, REBUILD_LOCK_WAIT,
                            lambda: _full_rebuild_locked(store_path, state.folder, conn, progress),
                            "is being rebuilt by another caseterm process")
                except CasetermError:
                    raise
                except Exception as again:  # noqa: BLE001
                    log.error("kb index %s could not be rebuilt", state.folder, exc_info=True)
                    raise SearchUnavailable(f"the knowledge-base index {state.folder} could not be rebuilt "
                                            f"({type(again).__name__}: {again}); see the log") from None
    raise AssertionError("unreachable")


def _run(state: _Open, text: str, *, product: str | None, category: str | None, limit: int) -> SearchResult:
    searcher = state.searcher
    reader = searcher.reader()
    suggestion = _suggest(searcher, text)
    wanted = suggestion or text
    result = SearchResult(query=text, suggestion=suggestion)
    if state.segments is None:
        state.segments = _segments(state.folder, reader, state.avgdl)
        state.avgdl = state.segments[2]
    segments, live_docs, _ = state.segments
    filters = [(name, value) for name, value in (("product", (product or "").strip().upper()),
                                                  ("category", _norm_key(category))) if value]
    local: list[frozenset] | None = None  # the filters' documents, per segment (local numbers)
    if filters:
        local = []
        for seg in segments:
            docs = None
            for name, value in filters:
                found = frozenset(_raw_postings(seg.reader, value, name)[0])
                docs = found if docs is None else docs & found
            local.append(docs)
        if not any(local):
            return result
    if '"' in wanted:  # phrases: whoosh's query parser and matchers
        allowed = None if local is None else {d + seg.offset for seg, docs in zip(segments, local) for d in docs}
        top, result.total, stems = _phrase_search(state, wanted, allowed, limit)
    else:
        terms = list(dict.fromkeys(analyse(wanted)))
        if not terms:
            return result
        top, result.total = _score_terms(segments, live_docs, terms, local, limit)
        stems = set(terms)
    seen: set[str] = set()
    for score, docnum in top:
        fields = reader.stored_fields(docnum)
        number = fields.get("number")
        if not number or number in seen:
            continue
        seen.add(number)
        result.hits.append(Hit(number=number, title=fields.get("title", ""),
                               snippet=snippet(fields.get("body", ""), stems), score=float(score),
                               product=fields.get("product") or None, category=fields.get("category_label") or None))
    return result


def _phrase_search(state: _Open, text: str, allowed: set[int] | None, limit: int):
    from whoosh import query as wq

    if state.parser is None:
        state.parser = _parser(state.searcher.schema)
    q = state.parser.parse(text)
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        return [], 0, set()
    results = state.searcher.search(q, limit=limit, filter=allowed, terms=False)
    top = [(hit.score or 0.0, hit.docnum) for hit in results]
    docs = set(q.docs(state.searcher))
    if allowed is not None:
        docs &= allowed
    stems = {t for f, t in q.iter_all_terms() if f == "content"}
    return top, len(docs), stems


__all__ = ["Hit", "MARK_END", "MARK_START", "SearchResult", "SearchUnavailable", "analyse", "articles_changed",
           "close_all", "index_path", "plain_text", "rebuild", "search", "snippet"]

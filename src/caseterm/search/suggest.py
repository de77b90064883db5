"""Suggestions for an open case: the knowledge articles most like it, and similar resolved
cases with their resolutions.

The case's text
    Its title (its words count double), description and latest customer message (the
    newest *inbound* entry of its timeline, merged-in cases included; its first
    :data:`MESSAGE_CHARS` characters).

Articles (more-like-this over the knowledge index, ``search/kb_index.py``)
    The text is analysed as the index analyses queries; each term gets ``(1 + ln qtf) ×
    idf`` (qtf: its weighted count in the text, idf from the index) and the
    :data:`ARTICLE_TERMS` best make the query, leaving out, like Lucene's MoreLikeThis
    ``maxDocFreq``, words found in more than :data:`MAX_DF_SHARE` of the articles (unless
    fewer than :data:`MIN_TERMS` words would be left). Articles are ranked by the index's
    own BM25F (its k1, b, section weights and bonus per further word matched), without
    reading every posting of every word per case (a tenth of a second at 100,000 articles):

    1. Per segment and word a *champion list*: the :data:`CHAMPIONS` articles where the
       word weighs most, and a bit per article saying which hold it at all. It is taken
       from the term view a search already decoded, or from the postings once, and kept in
       a bounded cache; segments never change, so an entry lives as long as its segment.
    2. Candidates: every champion of every word. Each is estimated with the words it
       holds, at its own impact where it is a champion and at the list's lowest impact (an
       upper bound) elsewhere, times the bonus for the words matched.
    3. The :data:`RESCORED` best estimates are scored exactly, from their stored title,
       keywords and body analysed as the index analyses them.

    An article that is nowhere a champion is not found, so on big indexes the ranking is a
    close approximation (on the bench corpus the top article scores on average 97% of the
    exact best); while no word is in more than CHAMPIONS articles of a segment (a small
    knowledge base) it is exact.

    Articles of the case's product are preferred: their scores are multiplied by
    :data:`ARTICLE_PRODUCT_BOOST` (so a much better article about another product, or one
    for every product, still wins). Articles scoring under :data:`MIN_RELATIVE_SCORE` of the
    best are left out. Hits are re-checked against the store: only revisions published now
    (not past ``expires_at``, not deleted) are shown, so an index lagging behind the store
    never suggests a withdrawn article. The index is used as ``kb_index.search`` uses it
    (its lock; building, repairing or reconciling a missing, garbage or stale index first:
    :func:`kb_index.with_index`). When it cannot be used (another process is rebuilding it,
    say), the similar cases are still returned and ``note`` says why the articles are
    missing.

Similar resolved cases (``case_similar``, migration 0005)
    An FTS5 index of the resolved, not deleted cases, kept by triggers; ``detail=none``:
    it only answers "which cases hold these words", in rowid order. FTS5's own ranking
    (``bm25``) is not used: it counts every indexed case holding each query word to get
    the word's idf, per query (~30 ms on 820,000 cases), then scores every match.
    Instead:

    1. *Distinctive words.* Each word of the text gets ``(1 + ln qtf) × idf``; its
       document frequency comes from the index by reading at most :data:`DF_PROBE` of its
       newest entries (exact below that; above, scaled by the share of the rowid range
       they span), cached per process (exact counts until the store changes, estimates
       until the number of resolved cases moves by a tenth). The :data:`CASE_TERMS` best
       words make the query.
    2. *Candidates* from a few FTS5 queries, each ``ORDER BY rowid DESC LIMIT n`` (FTS5
       walks its doclists newest first and stops after n; ANDs skip through them): the
       newest cases of the same product holding any of the words; the newest holding the
       best 4, 3 and 2 words together (of any age: a rare combination is found however old);
       the newest holding any of the best 4. A few hundred cases at most, the case itself
       left out.
    3. *Ranking* of the candidates here: BM25 over the words of their title (double),
       description and resolution against all the text's words (idf as above), times
       :data:`CASE_PRODUCT_BOOST` for the same product; ties go to the case added last. Only
       the best case of each resolution is kept (the same resolution text, ignoring case,
       spaces and final punctuation), and cases scoring under :data:`MIN_RELATIVE_SCORE` of
       the best are dropped.

    The candidates are a bounded sample of the matches, so ranking is exact only among
    them: an old case sharing just one or two of the weaker words with the open one can be
    missed. That is the price of answering within milliseconds at a million cases.

Threads
    :func:`for_case` reads the store through one connection per thread and store (opened
    ``query_only``) and may be called repeatedly from any thread, e.g. a TUI worker.
"""

from __future__ import annotations

import heapq
import math
import re
import sqlite3
import threading
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import add, truediv
from pathlib import Path

from caseterm.errors import NotFound, ValidationError
from caseterm.search import kb_index

MAX_SUGGESTIONS = 20
MESSAGE_CHARS = 2000
TITLE_WEIGHT = 2  # a title word counts this many times
ARTICLE_TERMS = 8
MAX_DF_SHARE, MAX_DF_FLOOR = 0.1, 100  # articles: words in more than max(10%, 100) of them are left out …
MIN_TERMS = 3  # … unless fewer than this many words are left
ARTICLE_PRODUCT_BOOST = 1.3
CASE_TERMS = 8
CASE_PRODUCT_BOOST = 1.25
MIN_RELATIVE_SCORE = 0.2
DF_PROBE = 400  # newest entries read per word to know (or estimate) its document frequency
K1, B = 1.2, 0.75


@dataclass
class SimilarCase:
    number: str
    title: str
    resolution: str
    resolved_at: str | None  # ISO 8601 UTC with Z
    score: float


@dataclass
class Suggestions:
    articles: list[kb_index.Hit] = field(default_factory=list)  # best first, published only
    cases: list[SimilarCase] = field(default_factory=list)  # resolved cases, best first, distinct resolutions
    note: str | None = None  # why articles are missing, when they are

    def to_dict(self) -> dict:
        """The ``caseterm cases suggest --json`` shape."""
        return {
            "articles": [{"number": h.number, "title": h.title, "snippet": h.snippet, "score": round(h.score, 4),
                          "product": h.product, "category": h.category} for h in self.articles],
            "cases": [{"number": c.number, "title": c.title, "resolution": c.resolution,
                       "resolved_at": c.resolved_at, "score": round(c.score, 4)} for c in self.cases],
            "note": self.note,
        }


def for_case(store_path: Path | str, case_number: str, *, articles: int = 3, cases: int = 3,
             progress: kb_index.Progress | None = None) -> Suggestions:
    """The top ``articles`` knowledge articles and ``cases`` similar resolved cases (with
    distinct resolutions) for the case ``case_number`` (an id works too). ``progress`` as
    for :func:`kb_index.rebuild`, when the knowledge index must be built first."""
    for name, value in (("articles", articles), ("cases", cases)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SUGGESTIONS:
            raise ValidationError(name, f"must be a whole number from 0 to {MAX_SUGGESTIONS}")
    store_path = Path(store_path).expanduser()
    for attempt in (1, 2):
        conn = _connection(store_path)
        try:
            case = _read_case(conn, case_number)
            similar = _similar_cases(conn, store_path, case, cases) if cases else []
            break
        except sqlite3.Error:
            _drop_connection(store_path)
            if attempt == 2:
                raise
    result = Suggestions(cases=similar)
    if articles:
        try:
            result.articles = _articles(store_path, conn, case, articles, progress)
        except kb_index.SearchUnavailable as exc:
            result.note = f"No article suggestions right now: {exc.message}"
    return result


# --- the case ----------------------------------------------------------------------------------


@dataclass
class _Case:
    rowid: int
    id: str
    number: str
    product_id: str | None
    sku: str | None
    parts: tuple[tuple[str, int], ...]  # (text, weight): title, description, latest customer message


def _read_case(conn: sqlite3.Connection, case_number: str) -> _Case:
    from caseterm.domain.numbers import normalise_number

    sql = ("SELECT c.rowid, c.id, c.number, c.title, c.description, c.product_id, p.sku FROM cases AS c "
           "LEFT JOIN products AS p ON p.id = c.product_id WHERE c.deleted = 0 AND c.{} = ?")
    number = normalise_number(case_number or "")
    row = conn.execute(sql.format("number"), (number,)).fetchone() if number else None
    if row is None and re.fullmatch(r"[0-9a-fA-F-]{32,36}", (case_number or "").strip()):
        row = conn.execute(sql.format("id"), (case_number.strip().replace("-", "").lower(),)).fetchone()
    if row is None:
        shown = number or "''"
        raise NotFound(f"No case {shown}; check the number with 'caseterm cases list'")
    rowid, case_id, number, title, description, product_id, sku = row
    message = conn.execute(
        """WITH RECURSIVE family(id) AS (
               SELECT ? UNION SELECT c.id FROM cases AS c JOIN family AS f ON c.merged_into_id = f.id)
           SELECT subject, body FROM activities
           WHERE case_id IN (SELECT id FROM family) AND direction = 'inbound' AND deleted = 0
           ORDER BY occurred_at DESC, id DESC LIMIT 1""", (case_id,)).fetchone()
    latest = ""
    if message is not None:
        subject, body = message
        latest = (body or "") if (subject or "").strip() in ((title or "").strip(), "") else f"{subject}. {body or ''}"
    return _Case(rowid=rowid, id=case_id, number=number, product_id=product_id, sku=(sku or "").upper() or None,
                 parts=((title or "", TITLE_WEIGHT), (description or "", 1), (latest[:MESSAGE_CHARS], 1)))


# --- articles --------------------------------------------------------------------------------------


def _articles(store_path: Path, conn: sqlite3.Connection, case: _Case, limit: int,
              progress: kb_index.Progress | None) -> list[kb_index.Hit]:
    weights: Counter = Counter()
    for text, weight in case.parts:
        for term in kb_index.analyse(text):
            weights[term] += weight
    if not weights:
        return []
    wanted = limit + 3  # a few spare, for hits the store no longer publishes

    def work(state) -> tuple[list[tuple], list[str]]:
        reader = state.searcher.reader()
        if state.segments is None:
            state.segments = kb_index._segments(state.folder, reader, state.avgdl)
            state.avgdl = state.segments[2]
        segments, live_docs, _ = state.segments
        df_of = _article_frequencies(state.folder, segments)
        ranked = []
        for term, qtf in weights.items():
            df = df_of(term)
            if df:
                idf = math.log(1.0 + (live_docs - df + 0.5) / (df + 0.5))
                ranked.append(((1.0 + math.log(qtf)) * idf, term, idf))
        ranked.sort(reverse=True)
        # like Lucene's MoreLikeThis max-doc-freq: words in more than a tenth of the articles
        # tell little apart (and are the longest posting lists to read); only when fewer than
        # MIN_TERMS are left do the rarest of them make up the difference
        cap = max(MAX_DF_FLOOR, MAX_DF_SHARE * live_docs)
        chosen = [r for r in ranked if df_of(r[1]) <= cap][:ARTICLE_TERMS]
        if len(chosen) < MIN_TERMS:
            common = sorted((r for r in ranked if df_of(r[1]) > cap), key=lambda r: df_of(r[1]))
            chosen += common[:MIN_TERMS - len(chosen)]
        if not chosen:
            return [], []
        # 1. candidates: the champions of every term in every segment, each estimated with
        #    the terms it holds (the presence bits), at its impact where it is a champion and
        #    at the lowest champion impact (an upper bound) elsewhere: {global docnum: estimate}
        estimates: dict[int, float] = {}
        factor, coord = kb_index.K1 + 1, kb_index.COORD
        for seg in segments:
            lists = []
            local: set[int] = set()
            for _, term, idf in chosen:
                ids, imps, held = _champions(seg, term)
                if ids:
                    lists.append((idf * factor, dict(zip(ids, imps)), imps[-1], held))
                    local.update(ids)
            if seg.deleted:
                local -= seg.deleted
            offset = seg.offset
            for d in local:
                total, matched = 0.0, 0
                byte, bit = d >> 3, 1 << (d & 7)
                for weight, champions, floor, held in lists:
                    imp = champions.get(d)
                    if imp is not None:
                        total += weight * imp
                        matched += 1
                    elif held is not None and held[byte] & bit:
                        total += weight * floor
                        matched += 1
                estimates[d + offset] = total * (1.0 + coord * (matched - 1))
        if not estimates:
            return [], []
        if case.sku:
            for seg in segments:
                offset = seg.offset
                for d in _product_docs(seg, case.sku):
                    d += offset
                    if d in estimates:
                        estimates[d] *= ARTICLE_PRODUCT_BOOST
        # 2. the best candidates scored exactly (the index's BM25F) from their stored text
        idf_of = {term: idf for _, term, idf in chosen}
        scored = []
        for docnum in heapq.nlargest(RESCORED, estimates, key=estimates.get):
            seg = _segment_of(segments, docnum)
            fields = reader.stored_fields(docnum)
            tf = _section_weights(fields, idf_of)
            if not tf:
                continue
            norm = seg.norms[docnum - seg.offset]
            score = sum(idf_of[t] * factor * w / (w + norm) for t, w in tf.items())
            score *= 1.0 + coord * (len(tf) - 1)
            if case.sku and (fields.get("product") or "").upper() == case.sku:
                score *= ARTICLE_PRODUCT_BOOST
            scored.append((-score, docnum, fields))
        if not scored:
            return [], []
        scored.sort(key=lambda item: (item[0], item[1]))
        top_score = -scored[0][0]
        out: list[tuple] = []
        seen: set[str] = set()
        for negative, docnum, fields in scored:
            if -negative < MIN_RELATIVE_SCORE * top_score:
                break
            number = fields.get("number")
            if not number or number in seen:
                continue
            seen.add(number)
            out.append((number, fields.get("title", ""), fields.get("body", ""), -negative,
                        fields.get("product") or None, fields.get("category_label") or None))
            if len(out) >= wanted:
                break
        return out, [term for _, term, _ in chosen]

    found, terms = kb_index.with_index(store_path, work, progress=progress)
    if not found:
        return []
    from caseterm.clock import default_clock

    now = default_clock().now().strftime("%Y-%m-%d %H:%M:%S.%f")
    marks = ", ".join("?" for _ in found)
    live = {r[0] for r in conn.execute(  # (the unary + keeps the planner on the (number, revision) index)
        f"SELECT number FROM kb_articles WHERE number IN ({marks}) AND +state = 'published' AND deleted = 0 "
        f"AND (expires_at IS NULL OR expires_at > ?)", [f[0] for f in found] + [now])}
    stems = set(terms)
    return [kb_index.Hit(number=number, title=title, snippet=kb_index.snippet(body, stems), score=float(score),
                         product=product, category=category)
            for number, title, body, score, product, category in found if number in live][:limit]


# Champion lists: per index segment and term, the CHAMPIONS documents with the highest BM25
# impact (the term-frequency part, w / (w + length norm)), kept in a bounded LRU cache. The
# segments never change (deletions are applied when reading), so an entry stays valid while
# its segment lives; a new segment (an article published) costs only its own entries.
CHAMPIONS = 30
CHAMPION_CACHE_BYTES = 32 * 2**20
RESCORED = 24  # candidates scored exactly


class _LruBytes:
    def __init__(self, budget: int) -> None:
        from collections import OrderedDict

        self.budget = budget
        self.size = 0
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None:
                self.entries.move_to_end(key)
                return hit[0]
            return None

    def put(self, key, value, nbytes: int) -> None:
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = (value, nbytes)
            self.size += nbytes
            while self.size > self.budget and self.entries:
                _, (_, old) = self.entries.popitem(last=False)
                self.size -= old

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


_champion_cache = _LruBytes(CHAMPION_CACHE_BYTES)


def _champions(seg, term: str) -> tuple[array, array, bytes | None]:
    """The term in a segment: (local docnums, impacts) of its champions, best first, and
    which documents hold it at all (a bit per document; None when the champions are all
    of them)."""
    key = seg.key + (term,)
    hit = _champion_cache.get(key)
    if hit is not None:
        return hit
    view = kb_index._views.get(key)  # decoded by a search already: no need to read the postings
    if view is not None:
        ids, imps = view.ids, view.imps
        entry = (array("l", ids[:CHAMPIONS]), array("f", imps[:CHAMPIONS]),
                 _bits(ids, seg.size) if len(ids) > CHAMPIONS else None)
    else:  # every posting of the term in the segment decoded (whoosh's blocks bound impacts too loosely to skip)
        ids, weights = kb_index._raw_postings(seg.reader, term)
        norms = seg.norms
        best = heapq.nlargest(CHAMPIONS, zip(map(truediv, weights, map(add, weights, map(norms.__getitem__, ids))),
                                             ids))
        entry = (array("l", [d for _, d in best]), array("f", [imp for imp, _ in best]),
                 _bits(ids, seg.size) if len(ids) > CHAMPIONS else None)
    _champion_cache.put(key, entry, 400 + 12 * len(entry[0]) + len(entry[2] or b""))
    return entry


def _bits(ids, size: int) -> bytes:
    buf = bytearray((size >> 3) + 1)
    for d in ids:
        buf[d >> 3] |= 1 << (d & 7)
    return bytes(buf)


def _segment_of(segments, docnum: int):
    for seg in segments:
        if seg.offset <= docnum < seg.offset + seg.size:
            return seg
    raise LookupError(docnum)


def _section_weights(fields: dict, weights: dict[str, float]) -> dict[str, float]:
    """The indexed weight of each of ``weights``' terms in an article (its stored title,
    keywords and body analysed as kb_index indexes them: a title word counts 4, a keyword 2,
    a body word 1; hyphenated compounds also joined), the terms it lacks left out."""
    found: dict[str, float] = {}
    stop, stem, findall = kb_index.STOP_WORDS, kb_index._stem, kb_index._COMPOUND_RE.findall
    texts = (fields.get("title", ""), fields.get("keywords", ""), fields.get("body", ""))
    for text, boost in zip(texts, kb_index.SECTION_BOOSTS):
        for word in findall(text.lower()):
            if "-" in word:
                forms = [p for p in word.split("-") if len(p) > 1 and p not in stop] + [word.replace("-", "")]
            elif len(word) < 2 or word in stop:
                continue
            else:
                forms = (word,)
            for form in forms:
                term = stem(form)
                if term in weights:
                    found[term] = found.get(term, 0.0) + boost
    return found


_product_cache = _LruBytes(8 * 2**20)


def _product_docs(seg, sku: str) -> frozenset:
    key = seg.key[:2] + ("#product", sku)
    hit = _product_cache.get(key)
    if hit is None:
        hit = frozenset(kb_index._raw_postings(seg.reader, sku, "product")[0])
        _product_cache.put(key, hit, 200 + 60 * len(hit))
    return hit


_article_df: dict[Path, tuple[tuple, dict[str, int]]] = {}


def _article_frequencies(folder: Path, segments) -> Callable[[str], int]:
    """A term's document frequency in the index (deleted documents included, as whoosh
    counts), cached per index until its segments change."""
    signature = tuple(seg.segment_id for seg in segments)
    cached = _article_df.get(folder)
    if cached is None or cached[0] != signature or len(cached[1]) > 100_000:
        cached = _article_df[folder] = (signature, {})
    table = cached[1]

    def df(term: str) -> int:
        n = table.get(term)
        if n is None:
            n = table[term] = sum(seg.reader.doc_frequency("content", term) for seg in segments)
        return n

    return df


# --- similar resolved cases ------------------------------------------------------------------------

_FTS_WORD = re.compile(r"[^\W_]+")  # what FTS5's unicode61 tokenizer calls a token


def _fold(text: str) -> str:
    """Lower case without diacritics (as the index's ``remove_diacritics 2``)."""
    text = text.lower()
    if text.isascii():
        return text
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _words(text: str) -> Iterable[str]:
    """The index's tokens of ``text`` that carry meaning (stop words, one-letter words dropped)."""
    stop = kb_index.STOP_WORDS
    return (w for w in _FTS_WORD.findall(_fold(text)) if len(w) > 1 and w not in stop)


_DOCS: dict[tuple, tuple[dict[str, float], float]] = {}  # (title, description, resolution) -> (tf, length)
_DOCS_MAX = 5_000


def _doc_terms(title: str, description: str, resolution: str) -> tuple[dict[str, float], float]:
    key = (title, description, resolution)
    hit = _DOCS.get(key)
    if hit is None:
        tf: dict[str, float] = {}
        length = 0.0
        stem = kb_index._stem
        for text, weight in ((title, TITLE_WEIGHT), (description, 1), (resolution, 1)):
            for w in _words(text):
                s = stem(w)
                tf[s] = tf.get(s, 0.0) + weight
                length += weight
        if len(_DOCS) >= _DOCS_MAX:
            _DOCS.clear()
        hit = _DOCS[key] = (tf, length)
    return hit


class _Frequencies:
    """Document frequencies of words in one store's ``case_similar`` (see the module doc).
    Exact small counts are forgotten whenever the store changed (``PRAGMA data_version``
    of the reading connection): a word no resolved case held yet may be in the next one.
    Estimates of common words are kept until the number of resolved cases moves by a tenth."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.resolved = -1
        self.df: dict[str, int] = {}
        self.versions: dict[int, int] = {}  # id(connection) -> the data_version last seen on it

    def get(self, conn: sqlite3.Connection, words: list[str], resolved: int) -> dict[str, int]:
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        with self.lock:
            if abs(resolved - self.resolved) > 0.1 * max(self.resolved, 1) or len(self.df) > 50_000:
                self.df.clear()
                self.resolved = resolved
            elif self.versions.get(id(conn)) != version:
                self.df = {w: n for w, n in self.df.items() if n >= DF_PROBE}
            self.versions[id(conn)] = version
            out = {w: self.df[w] for w in words if w in self.df}
        missing = [w for w in words if w not in out]
        if missing:
            top = conn.execute("SELECT max(rowid) FROM cases").fetchone()[0] or 0
            for w in missing:
                try:
                    n, low = conn.execute(
                        "SELECT count(*), min(rowid) FROM (SELECT rowid FROM case_similar WHERE case_similar "
                        "MATCH ? ORDER BY rowid DESC LIMIT ?)", (f'"{w}"', DF_PROBE)).fetchone()
                except sqlite3.OperationalError:  # not one FTS5 token after all (a phrase): left out
                    n = 0
                if n >= DF_PROBE:  # the newest DF_PROBE span top - low + 1 rowids: scale to all of them
                    n = max(n, min(resolved, round(n * top / max(1, top - low + 1))))
                out[w] = n
            with self.lock:
                self.df.update((w, out[w]) for w in missing)
        return out


_FREQUENCIES: dict[str, _Frequencies] = {}
_FREQUENCIES_LOCK = threading.Lock()


def _frequencies(store_path: Path) -> _Frequencies:
    key = str(store_path.absolute())
    with _FREQUENCIES_LOCK:
        found = _FREQUENCIES.get(key)
        if found is None:
            found = _FREQUENCIES[key] = _Frequencies()
        return found


def _resolved_count(conn: sqlite3.Connection) -> int:
    from caseterm.domain.enums import RESOLVED_STATUSES

    marks = ", ".join("?" for _ in RESOLVED_STATUSES)
    row = conn.execute(f"SELECT sum(n) FROM case_counts WHERE status_reason IN ({marks})",
                       [s.value for s in RESOLVED_STATUSES]).fetchone()
    return int(row[0] or 0)


def _normalised(resolution: str) -> str:
    return " ".join(resolution.lower().split()).rstrip(" .!;,")


def _similar_cases(conn: sqlite3.Connection, store_path: Path, case: _Case, limit: int) -> list[SimilarCase]:
    resolved = _resolved_count(conn)
    if not resolved:
        return []
    # the text's words: weighted count per stem, and the first word seen of each stem (for FTS5)
    qtf: Counter = Counter()
    surface: dict[str, str] = {}
    for text, weight in case.parts:
        for w in _words(text):
            s = kb_index._stem(w)
            qtf[s] += weight
            surface.setdefault(s, w)
    if not qtf:
        return []
    df_of_word = _frequencies(store_path).get(conn, list(surface.values()), resolved)
    idf: dict[str, float] = {}
    for s, w in surface.items():
        df = df_of_word[w]
        if df:
            idf[s] = math.log(1.0 + (resolved - df + 0.5) / (df + 0.5))
    if not idf:
        return []
    best = sorted(idf, key=lambda s: (-(1.0 + math.log(qtf[s])) * idf[s], s))[:CASE_TERMS]
    quoted = [f'"{surface[s]}"' for s in best]

    # candidates: a few newest-first FTS5 queries, each stopping after its limit
    queries: list[tuple[str, int]] = []
    if case.product_id:
        queries.append((f'"{case.product_id}" AND ({" OR ".join(quoted)})', 120))
    for j in (4, 3, 2):
        if len(quoted) >= j:
            queries.append((" AND ".join(quoted[:j]), 40))
    queries.append((" OR ".join(quoted[:4]), 60))
    rowids: set[int] = set()
    for match, n in queries:
        rowids.update(r[0] for r in conn.execute(
            "SELECT rowid FROM case_similar WHERE case_similar MATCH ? AND rowid != ? ORDER BY rowid DESC LIMIT ?",
            (match, case.rowid, n)))
    if not rowids:
        return []
    ids = sorted(rowids)
    rows = conn.execute(  # by rowid (the unary + keeps the planner off the state indexes)
        f"SELECT rowid, number, title, description, resolution, resolved_at, product_id FROM cases "
        f"WHERE rowid IN ({', '.join('?' for _ in ids)}) AND +state = 'resolved' AND +deleted = 0", ids).fetchall()
    if not rows:
        return []

    # rank: BM25 over title (double), description and resolution, same product preferred
    docs = [(row, *_doc_terms(row[2] or "", row[3] or "", row[4] or "")) for row in rows]
    avg = max(1.0, sum(length for _, _, length in docs) / len(docs))
    query = [(s, idf[s] * (1.0 + math.log(qtf[s]))) for s in idf]
    scored = []
    for row, tf, length in docs:
        norm = K1 * (1 - B + B * length / avg)
        score = 0.0
        for s, weight in query:
            f = tf.get(s)
            if f:
                score += weight * f * (K1 + 1) / (f + norm)
        if case.product_id and row[6] == case.product_id:
            score *= CASE_PRODUCT_BOOST
        if score > 0:
            scored.append((score, row[0], row))
    scored.sort(key=lambda item: (-item[0], -item[1]))
    out: list[SimilarCase] = []
    seen: set[str] = set()
    from caseterm.store.queries import parse_time
    from caseterm.store.wire import to_wire

    for score, _, row in scored:
        if score < MIN_RELATIVE_SCORE * scored[0][0]:
            break
        resolution = row[4] or ""
        key = _normalised(resolution)
        if key in seen:
            continue
        seen.add(key)
        out.append(SimilarCase(number=row[1], title=row[2] or "", resolution=resolution,
                               resolved_at=to_wire(parse_time(row[5])), score=score))
        if len(out) >= limit:
            break
    return out


# --- connections -----------------------------------------------------------------------------------

_local = threading.local()
_all_connections: list[sqlite3.Connection] = []
_all_lock = threading.Lock()


def _connection(store_path: Path) -> sqlite3.Connection:
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    key = str(store_path.absolute())
    conn = conns.get(key)
    if conn is None:
        from caseterm.store.sqlite import open_store

        conn = open_store(store_path)
        conn.execute("PRAGMA query_only = ON")
        conns[key] = conn
        with _all_lock:
            _all_connections.append(conn)
    return conn


def _drop_connection(store_path: Path) -> None:
    conns = getattr(_local, "conns", None) or {}
    conn = conns.pop(str(store_path.absolute()), None)
    if conn is not None:
        with _all_lock:
            if conn in _all_connections:
                _all_connections.remove(conn)
        try:
            conn.close()
        except sqlite3.Error:
            pass


def close_all() -> None:
    """Close every connection suggestions opened, in any thread (tests, shutdown), and
    empty the caches."""
    with _all_lock:
        conns = list(_all_connections)
        _all_connections.clear()
    for conn in conns:
        try:
            conn.close()
        except sqlite3.Error:
            pass
    _local.__dict__.clear()
    clear_caches()


def clear_caches() -> None:
    """Forget every cached word frequency, analysed case text and champion list."""
    with _FREQUENCIES_LOCK:
        _FREQUENCIES.clear()
    _DOCS.clear()
    _article_df.clear()
    _champion_cache.clear()
    _product_cache.clear()


__all__ = ["SimilarCase", "Suggestions", "clear_caches", "close_all", "for_case"]

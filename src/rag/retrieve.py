"""Lexical + dense retrieval, fused by weighted reciprocal rank, with metadata filters.

The BM25 index is derived from what Chroma holds: it is built from the collection's chunks,
cached under the state folder with the collection's generation, and brought up to date when that
changes, incrementally (only new chunks are tokenised; removed chunks lose their rows) by one
thread while the others keep reading the previous index.
Tokens come from jieba (search mode) with a user dictionary of the corpus's policy terms.
"""

from __future__ import annotations

import datetime
import os
import pickle
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import sparse

from .chunking import context_header, sentence_id
from .embeddings import Embedder
from .query import Linker, Query
from .sentence_search import SentenceIndex
from .settings import RetrievalSettings
from .store import _PAGE, Store

STOPWORDS = {
    w.strip()
    for w in (resources.files("rag") / "data" / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    if w.strip() and not w.startswith("#")
}
_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)


@dataclass
class Filters:
    """Optional metadata filters; all given conditions must hold."""

    sources: list[str] = field(default_factory=list)
    author: str = ""
    date_from: str = ""
    date_to: str = ""

    def __bool__(self) -> bool:
        return bool(self.sources or self.author or self.date_from or self.date_to)

    def where(self, known_authors: list[str] | tuple[str, ...] = ()) -> dict | None:
        """The document and author conditions as a Chroma ``where`` (dates, and an author given only
        in part, are checked in process: Chroma compares numbers only and array entries whole)."""
        terms = []
        if self.sources:
            terms.append({"$or": [{"source": {"$in": self.sources}}, {"title": {"$in": self.sources}}]})
        if self.author and self.author in known_authors:
            terms.append({"author_list": {"$contains": self.author}})
        return None if not terms else terms[0] if len(terms) == 1 else {"$and": terms}

    def match(self, meta: dict) -> bool:
        if self.sources and meta.get("source") not in self.sources and meta.get("title") not in self.sources:
            return False
        if self.author and self.author not in meta.get("authors", ""):
            return False
        date = meta.get("speech_date") or meta.get("date") or ""
        if (self.date_from or self.date_to) and not date:
            return False
        if self.date_from and _pad(date, "0") < _pad(self.date_from, "0"):
            return False
        if self.date_to and _pad(date, "0") > _pad(self.date_to, "9"):
            return False
        return True


class FilterError(ValueError):
    """A filter that cannot select anything as written (bad date, unknown document); says why, in Chinese."""


_DATE = re.compile(r"^(\d{4})(?:[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?)?年?$")


def check_date(value: str, name: str) -> str:
    """``value`` if it is a date as the filters read it (2024, 2024-05, 2024-05-01; / . 年月日 too)."""
    value = (value or "").strip()
    if not value:
        return ""
    m = _DATE.match(value)
    ok = bool(m)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
        try:
            datetime.date(y, mo, d)
        except ValueError:
            ok = False
    if not ok:
        raise FilterError(f"{name} 日期格式不正确：{value!r}（应为 2024、2024-05 或 2024-05-01）")
    return value


def check_filters(filters: Filters, linker: Linker) -> Filters:
    """Reject filters that could only ever give an empty result: malformed or reversed dates, and
    documents the index does not hold (by file name or article title)."""
    check_date(filters.date_from, "--date-from")
    check_date(filters.date_to, "--date-to")
    if filters.date_from and filters.date_to and _pad(filters.date_from, "0") > _pad(filters.date_to, "9"):
        raise FilterError(f"起始日期 {filters.date_from} 晚于截止日期 {filters.date_to}")
    known = {a.source for a in linker.articles} | {a.title for a in linker.articles}
    unknown = [s for s in filters.sources if s not in known]
    if unknown:
        raise FilterError(f"索引中没有文档：{'、'.join(unknown)}（用 `rag docs` 查看已索引的文件名与标题）")
    return filters


def _pad(date: str, fill: str) -> str:
    parts = re.split(r"[-/.年月日]", date.strip())
    parts = [p for p in parts if p]
    y = parts[0] if parts else "0000"
    m = parts[1].zfill(2) if len(parts) > 1 else fill * 2
    d = parts[2].zfill(2) if len(parts) > 2 else fill * 2
    return f"{y}-{m}-{d}"


@dataclass
class Passage:
    """A retrieved chunk with everything needed to cite it."""

    id: str
    text: str
    metadata: dict
    score: float = 0.0
    rank: int = 0
    bm25_rank: int | None = None
    dense_rank: int | None = None
    dense_sim: float = 0.0
    coverage: float = 0.0


@lru_cache(maxsize=1)
def _tokenizer():
    import jieba

    jieba.setLogLevel(60)
    tok = jieba.Tokenizer()
    with resources.as_file(resources.files("rag") / "data" / "userdict.txt") as path:
        tok.load_userdict(str(path))
    return tok


@lru_cache(maxsize=1)
def pos_tagger():
    """jieba's part-of-speech tagger over the same tokenizer and user dictionary (~0.7 s, ~95 MB)."""
    import jieba.posseg

    return jieba.posseg.POSTokenizer(_tokenizer())


def tokenize(text: str) -> list[str]:
    """jieba search-mode tokens without stop words and punctuation; Latin lower-cased."""
    out = []
    for t in _tokenizer().cut_for_search(text):
        t = t.strip().lower()
        if t and t not in STOPWORDS and not _PUNCT.match(t):
            out.append(t)
    return out


def index_text(text: str, meta: dict) -> str:
    """What BM25 sees: the passage under its contextual header (title, authors, section or
    occasion and date), the same header the embedder sees."""
    return f"{context_header(meta)} {text}"


def _count_rows(texts: list[str], metas: list[dict], vocab: dict[str, int]) -> sparse.csr_matrix:
    """Raw term counts of these passages (one row each) over ``vocab``, which grows as new terms appear."""
    indptr, cols, vals = [0], [], []
    for text, meta in zip(texts, metas, strict=False):
        counts: dict[int, int] = {}
        for t in tokenize(index_text(text, meta)):
            c = vocab.setdefault(t, len(vocab))
            counts[c] = counts.get(c, 0) + 1
        cols.extend(counts.keys())
        vals.extend(counts.values())
        indptr.append(len(cols))
    return sparse.csr_matrix(
        (np.asarray(vals, np.float32), np.asarray(cols, np.int64), np.asarray(indptr, np.int64)),
        shape=(len(texts), max(len(vocab), 1)),
    )


class BM25Index:
    """Okapi BM25 over a sparse term matrix with weights precomputed per (doc, term).

    The raw term counts (``tf``, one row per passage) are kept, so an update tokenises only the
    passages it adds (``updated``); the weights, which depend on every row (idf, mean length), are
    recomputed from the counts in about a second at 50,000 passages."""

    def __init__(
        self,
        ids: list[str],
        texts: list[str],
        metas: list[dict],
        k1: float = 1.2,
        b: float = 0.75,
        *,
        vocab: dict[str, int] | None = None,
        tf: sparse.csr_matrix | None = None,
    ):
        self.ids, self.texts, self.metas, self.k1, self.b = ids, texts, metas, k1, b
        self.gen = ""  # the store generation it was built for (set by load_bm25)
        if tf is None:
            vocab = {}
            tf = _count_rows(texts, metas, vocab)
        self.vocab, self.tf = vocab, tf
        self._derive()

    def _derive(self) -> None:
        """idf, the weight matrix (by column for search, by row for coverage) and the row lookup."""
        n, v = self.tf.shape
        tf = self.tf.tocoo()
        lengths = np.asarray(self.tf.sum(axis=1), np.float32).ravel()
        df = np.bincount(tf.col.astype(np.int64), minlength=v).astype(np.float32)
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avgdl = float(lengths.mean()) if n else 1.0
        denom = tf.data + self.k1 * (1 - self.b + self.b * lengths[tf.row] / max(avgdl, 1e-9))
        weights = self.idf[tf.col] * tf.data * (self.k1 + 1) / denom
        self.matrix = sparse.csc_matrix((weights, (tf.row, tf.col)), shape=(n, v))
        self.rows = self.matrix.tocsr()
        self.row_of = {cid: i for i, cid in enumerate(self.ids)}

    def __getstate__(self) -> dict:
        # The cache on disk holds the counts; the weights are derived again on load.
        return {k: v for k, v in self.__dict__.items() if k in ("ids", "texts", "metas", "k1", "b", "vocab", "tf", "gen")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._derive()

    def updated(self, add: list[tuple[str, str, dict]], remove: set[str]) -> BM25Index:
        """A new index without the ``remove`` ids and with ``add`` appended; only ``add`` is tokenised.
        Terms no passage holds any more leave the vocabulary, so the result scores exactly as an index
        built from scratch over the same passages."""
        keep = [i for i, cid in enumerate(self.ids) if cid not in remove]
        vocab = dict(self.vocab)
        new = _count_rows([t for _, t, _ in add], [m for _, _, m in add], vocab)
        old = self.tf[keep] if len(keep) != len(self.ids) else self.tf
        width = max(len(vocab), 1)
        old = sparse.csr_matrix((old.data, old.indices, old.indptr), shape=(old.shape[0], width))
        new = sparse.csr_matrix((new.data, new.indices, new.indptr), shape=(new.shape[0], width))
        tf = sparse.vstack([old, new], format="csr")
        used = np.bincount(tf.indices, minlength=width) > 0
        if not used.all():  # drop terms with no passage left; renumber the rest in their order
            remap = np.cumsum(used) - 1
            terms = [t for t, c in sorted(vocab.items(), key=lambda x: x[1]) if used[c]]
            vocab = {t: i for i, t in enumerate(terms)}
            tf = sparse.csr_matrix((tf.data, remap[tf.indices], tf.indptr), shape=(tf.shape[0], max(len(vocab), 1)))
        ids = [self.ids[i] for i in keep] + [cid for cid, _, _ in add]
        texts = [self.texts[i] for i in keep] + [t for _, t, _ in add]
        metas = [self.metas[i] for i in keep] + [m for _, _, m in add]
        return BM25Index(ids, texts, metas, self.k1, self.b, vocab=vocab, tf=tf)

    def query_terms(self, query: str) -> list[int]:
        return sorted({self.vocab[t] for t in tokenize(query) if t in self.vocab})

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        cols = self.query_terms(query)
        if not cols or not self.ids:
            return []
        scores = np.asarray(self.matrix[:, cols].sum(axis=1)).ravel()
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, int((scores > 0).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(i), float(scores[i])) for i in top]

    def coverage(self, query: str, row: int) -> float:
        """Share of the query's idf mass whose terms occur in this passage."""
        terms = {t for t in tokenize(query)}
        if not terms:
            return 0.0
        idf = {t: (self.idf[self.vocab[t]] if t in self.vocab else float(np.log(1 + len(self.ids)))) for t in terms}
        total = sum(idf.values())
        doc_cols = set(self.rows.indices[self.rows.indptr[row] : self.rows.indptr[row + 1]])
        hit = sum(w for t, w in idf.items() if t in self.vocab and self.vocab[t] in doc_cols)
        return float(hit / total) if total else 0.0


def _all_ids(store: Store) -> list[str]:
    """Every committed chunk id in the store, in one read (pages could skip ids if a write lands
    between them); ids only, no text is read; chunks of a write still in progress are left out."""
    return store.ids()


def _fetch(store: Store, ids: list[str]) -> list[tuple[str, str, dict]]:
    """(id, text, metadata) of these chunks, paged; ids that vanished meanwhile are skipped."""
    out = []
    for i in range(0, len(ids), _PAGE):
        got = store.get(ids[i : i + _PAGE])
        out += [(cid, *got[cid]) for cid in ids[i : i + _PAGE] if cid in got]
    return out


def _read_cache(cache: Path, k1: float, b: float) -> BM25Index | None:
    try:
        with cache.open("rb") as fh:
            saved_gen, params, index = pickle.load(fh)
    except Exception:
        return None  # missing or damaged: rebuilt
    if params != (k1, b) or not isinstance(index, BM25Index):
        return None
    index.gen = saved_gen
    return index


def load_bm25(store: Store, cache_dir: Path, k1: float, b: float, previous: BM25Index | None = None) -> BM25Index:
    """The BM25 index of the store's current generation. Starts from ``previous`` (the index in
    memory) or the cache on disk and brings it up to date incrementally: chunks that left the store
    lose their rows, new chunks are fetched and tokenised, nothing else is. With neither, every
    chunk is read and tokenised. The result is written back to the cache (unique temporary file,
    atomic replace) and carries its generation in ``gen``."""
    gen = store.generation()
    cache = cache_dir / f"bm25-{store.name}.pkl"
    base = previous if previous is not None and (previous.k1, previous.b) == (k1, b) else _read_cache(cache, k1, b)
    if base is not None and getattr(base, "gen", None) == gen and len(base.ids) == store.count():
        return base
    if base is None:
        rows = list(store.iter_all())
        index = BM25Index([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], k1, b)
    else:
        ids = _all_ids(store)
        have, current = set(base.ids), set(ids)
        index = base.updated(_fetch(store, [i for i in ids if i not in have]), have - current)
    index.gen = gen
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")  # unique: concurrent builders never collide
    try:
        with tmp.open("wb") as fh:
            pickle.dump((gen, (k1, b), index), fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache)  # atomic: a killed process never leaves half a cache
    except OSError:
        tmp.unlink(missing_ok=True)  # a cache that cannot be written costs the next process a rebuild, nothing else
    return index


@dataclass
class _Snapshot:
    gen: str
    index: BM25Index
    linker: Linker
    vectors: dict[str, np.ndarray]  # chunk vectors fetched from the store, for exact dense scoring
    sentences: SentenceIndex | None = None  # built on the first dense search of this generation


class Retriever:
    """Hybrid retrieval; defaults from settings, overrides per call."""

    def __init__(self, settings: RetrievalSettings, store: Store, embedder: Embedder, cache_dir: Path):
        self.s, self.store, self.embedder, self.cache_dir = settings, store, embedder, cache_dir
        self._snap: _Snapshot | None = None
        self._lock = threading.Lock()
        # The snapshot pinned by the current question (see ``pinned``): a context variable, so the
        # worker threads LangChain runs a chain's steps in (they copy the context) see it too.
        self._pin: ContextVar[_Snapshot | None] = ContextVar(f"rag-pinned-{id(self)}", default=None)
        self.builds: list[str] = []  # generations indexed, in order (each once; tests check it)
        self._sentence_lock = threading.Lock()  # its own: building it never holds up an index update
        self._last_sentences: SentenceIndex | None = None
        self._qvec: dict[str, np.ndarray] = {}
        self._svec: dict[str, np.ndarray] = {}

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Within this block the calling thread sees one snapshot of the index: a question's
        retrieval and the answer built from it read the same state, even while an upload lands."""
        if self._pin.get() is not None:
            yield
            return
        token = self._pin.set(self._current())
        try:
            yield
        finally:
            self._pin.reset(token)

    def _snapshot(self) -> _Snapshot:
        pinned = self._pin.get()
        if pinned is not None:
            return pinned
        return self._current()

    def _current(self) -> _Snapshot:
        """The index of the store's generation with its linker and vector cache, swapped in as one
        object: concurrent readers see either the old or the new one, never a mix.

        One thread brings the index up to a new generation (incrementally, see ``load_bm25``); while
        it does, the other readers keep serving the previous snapshot instead of waiting. Only the
        very first load, with nothing to serve yet, makes them wait."""
        gen = self.store.generation()
        snap = self._snap
        if snap is not None and snap.gen == gen:
            return snap
        if snap is not None and not self._lock.acquire(blocking=False):
            return snap  # another thread is updating: the previous index serves meanwhile
        if snap is None:
            self._lock.acquire()
        try:
            snap = self._snap
            if snap is None or snap.gen != gen:
                try:
                    index = load_bm25(
                        self.store, self.cache_dir, self.s.bm25_k1, self.s.bm25_b, previous=snap.index if snap else None
                    )
                except Exception:
                    if snap is None:
                        raise
                    return snap  # the store was busy or failed mid-read: serve the previous index, retry next time
                vectors = {cid: v for cid, v in dict(snap.vectors).items() if cid in index.row_of} if snap else {}
                snap = _Snapshot(index.gen, index, Linker(index.metas), vectors)
                self.builds.append(index.gen)
                self._snap = snap
            return snap
        finally:
            self._lock.release()

    @property
    def bm25(self) -> BM25Index:
        return self._snapshot().index

    @property
    def linker(self) -> Linker:
        """Names of the index's articles, authors and occasions, for query analysis."""
        return self._snapshot().linker

    def sentence_index(self, snap: _Snapshot) -> SentenceIndex:
        """The snapshot's sentence-grain index, built once per generation from the previous one
        (only new chunks' sentences are read, from the ingest-time cache; nothing is embedded here)."""
        if snap.sentences is None:
            with self._sentence_lock:
                if snap.sentences is None:
                    snap.sentences = SentenceIndex.build(
                        snap.index.ids, snap.index.texts, self._stored_sentence_vectors, self._last_sentences
                    )
                    self._last_sentences = snap.sentences
        return snap.sentences

    def clear_caches(self) -> None:
        """Forget cached question and sentence vectors (benchmarks measure a cold question)."""
        self._qvec.clear()
        self._svec.clear()

    def embed_query(self, text: str) -> np.ndarray:
        """The question's vector, computed once per question (retrieval and sentence choice share it)."""
        v = self._qvec.get(text)
        if v is None:
            v = self.embedder.embed_query(text)
            if len(self._qvec) > 256:
                self._qvec.clear()
            self._qvec[text] = v
        return v

    def dense_similarity(self, query: str, passages: list[Passage]) -> list[float]:
        """Cosine between the question and each passage's stored vector, whatever the retrieval mode
        (a BM25-only search computes none; the answerability model reads it)."""
        if all(p.dense_sim for p in passages):
            return [p.dense_sim for p in passages]
        vectors = self._snapshot().vectors
        missing = [p.id for p in passages if p.id not in vectors]
        if missing:
            vectors.update(self.store.vectors(missing))
        qv = self.embed_query(query)
        return [float(vectors[p.id] @ qv) if p.id in vectors else 0.0 for p in passages]

    def _stored_sentence_vectors(self, sentences: list[str]) -> dict[str, np.ndarray]:
        """The vectors the store's sentence cache holds for these sentences (none embedded)."""
        ids = {s: sentence_id(s) for s in sentences}
        got = self.store.sentence_vectors(list(dict.fromkeys(ids.values())))
        return {s: got[i] for s, i in ids.items() if i in got}

    def sentence_vectors(self, sentences: list[str]) -> dict[str, np.ndarray]:
        """Vectors of these sentences: from the store's sentence cache (written at ingest), else
        embedded now and remembered in memory."""
        cache = self._svec  # shared by threads: read and written only in whole steps, never indexed twice
        ids = {s: sentence_id(s) for s in sentences}
        uniq = list(dict.fromkeys(ids.values()))
        got = {i: v for i in uniq if (v := cache.get(i)) is not None}
        want = [i for i in uniq if i not in got]
        if want:
            got.update(self.store.sentence_vectors(want))
            missing = [s for s, i in ids.items() if i not in got]
            if missing:
                got.update(zip((ids[s] for s in missing), self.embedder.embed_passages(missing), strict=False))
            if len(cache) > 100_000:  # bounded: a long-running server sees every sentence eventually
                cache.clear()
            cache.update({i: got[i] for i in want})
        return {s: got[i] for s, i in ids.items()}

    def _ranked(
        self,
        query: str,
        qv: np.ndarray | None,
        mode: str,
        k: int,
        index: BM25Index,
        mask: np.ndarray | None,
        where: dict | None,
        scale: float,
    ) -> list[tuple[str, float, list[tuple[int, float]]]]:
        """The BM25 and dense lists of one search, each with its fusion weight."""
        out = []
        if mode in ("hybrid", "bm25"):
            out.append(("bm25", scale * self.s.bm25_weight, index.search(query, k, mask)))
        if qv is not None:
            out.append(("dense", scale * self.s.dense_weight, self._dense(qv, k, index, mask, where)))
            if self.s.sentence_weight > 0:
                snap = self._snapshot()
                if snap.index is index:  # (always, within one pinned question)
                    out.append(("sentence", scale * self.s.sentence_weight, self.sentence_index(snap).search(qv, k, mask)))
        return out

    def _dense(
        self, qv: np.ndarray, k: int, index: BM25Index, mask: np.ndarray | None, where: dict | None = None
    ) -> list[tuple[int, float]]:
        """Dense hits as (row, cosine). A ``where`` filter is pushed down to Chroma; with a Python-side
        filter that leaves few chunks, score exactly those chunks (so a narrow filter never comes back
        empty); otherwise ask Chroma's HNSW index."""
        if where is not None:
            hits = [(index.row_of[cid], sim) for cid, sim in self.store.query(qv, k * 2, where) if cid in index.row_of]
            return [(r, s) for r, s in hits if mask is None or mask[r]][:k]
        if mask is not None and mask.sum() <= self.s.exact_filter_max:
            vectors = self._snapshot().vectors
            rows = np.flatnonzero(mask)
            missing = [index.ids[r] for r in rows if index.ids[r] not in vectors]
            vectors.update(self.store.vectors(missing))
            rows = np.array([r for r in rows if index.ids[r] in vectors], dtype=np.int64)
            if not len(rows):
                return []
            sims = np.stack([vectors[index.ids[r]] for r in rows]) @ qv
            top = np.argsort(-sims)[:k]
            return [(int(rows[i]), float(sims[i])) for i in top]
        hits = [
            (index.row_of[cid], sim)
            for cid, sim in self.store.query(qv, k * (4 if mask is not None else 1))
            if cid in index.row_of
        ]
        if mask is not None:
            hits = [(r, s) for r, s in hits if mask[r]]
        return hits[:k]

    def retrieve(
        self,
        query: str,
        top_k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
        analysis: Query | None = None,
    ) -> list[Passage]:
        """Fused BM25 + dense ranking. When the question names an author, article or speech occasion
        (``analysis``, see query.py), the same search restricted to the linked chunks is fused in
        with ``linked_weight``: their passages rise to the top, others stay reachable."""
        with self.pinned():
            return self._retrieve(query, top_k, mode, filters, analysis)

    def _retrieve(
        self, query: str, top_k: int | None, mode: str | None, filters: Filters | None, analysis: Query | None
    ) -> list[Passage]:
        top_k = top_k or self.s.top_k
        mode = mode or self.s.mode
        filters = filters or Filters()
        index = self.bm25
        if not index.ids:
            return []
        n_cand = max(self.s.candidates, top_k)
        mask = np.array([filters.match(m) for m in index.metas]) if filters else None
        lists: list[tuple[str, float, list[tuple[int, float]]]] = []
        qv = self.embed_query(query) if mode in ("hybrid", "dense") else None
        # A wide filter goes to Chroma as a where (HNSW over the admitted chunks); a narrow one is
        # scored exactly over the chunks it admits (never comes back empty).
        where = filters.where(self.linker.authors) if mask is not None and mask.sum() > self.s.exact_filter_max else None
        lists += self._ranked(query, qv, mode, n_cand, index, mask, where, 1.0)
        if analysis is not None and analysis.constrained:
            # One restricted search per named article when several are named (each side of a
            # comparison gets its own list), else one over everything linked.
            groups = [replace(analysis, articles=[a]) for a in analysis.articles] if len(analysis.articles) > 1 else [analysis]
            for g in groups:
                linked = np.array([g.matches(m) for m in index.metas])
                if mask is not None:
                    linked &= mask
                if linked.any():
                    where = g.where()
                    if g.occasions:
                        occ = {"occasion": {"$in": g.occasions}}
                        where = {"$and": [where, occ]} if where else occ
                    lists += self._ranked(query, qv, mode, n_cand, index, linked, where, self.s.linked_weight)
        dense_sims: dict[int, float] = {}
        fused: dict[int, float] = {}
        ranks: dict[int, dict[str, int]] = {}
        for name, weight, hits in lists:
            for rank, (row, sim) in enumerate(hits, 1):
                fused[row] = fused.get(row, 0.0) + weight / (self.s.rrf_k + rank)
                ranks.setdefault(row, {}).setdefault(name, rank)
                if name == "dense":
                    dense_sims[row] = sim
        order = sorted(fused, key=lambda r: -fused[r])[:top_k]
        out = []
        for rank, row in enumerate(order, 1):
            out.append(
                Passage(
                    id=index.ids[row],
                    text=index.texts[row],
                    metadata=index.metas[row],
                    score=fused[row],
                    rank=rank,
                    bm25_rank=ranks[row].get("bm25"),
                    dense_rank=ranks[row].get("dense"),
                    dense_sim=dense_sims.get(row, 0.0),
                    coverage=index.coverage(query, row),
                )
            )
        return out

    def as_langchain(self, k: int | None = None, mode: str | None = None, filters: Filters | None = None):
        """This retriever as a LangChain ``BaseRetriever`` returning ``Document``s (rag.lc)."""
        from .lc import KnowledgeBaseRetriever

        return KnowledgeBaseRetriever(retriever=self, k=k, mode=mode, filters=filters)

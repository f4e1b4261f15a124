"""Lexical + dense retrieval, fused by weighted reciprocal rank, with metadata filters.

The lexical side is derived from what Chroma holds: the chunks of the store's generation
(snapshot.py), their jieba tokens cached per chunk id, and a bm25s index over them (lexical.py).
When the generation changes, one thread brings them up to date (only new chunks are read and
tokenised; removed chunks lose their rows) while the others keep reading the previous snapshot.
"""

from __future__ import annotations

import datetime
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import cachefile, lexical, rerank
from .aliases import Aliases
from .chunking import sentence_id
from .embeddings import Embedder
from .lexical import BM25Search, Lexicon, TokenCache, pos_tagger, read_token_cache, token_cache_path, tokenize
from .query import Linker, Query
from .sentence_search import SentenceIndex
from .settings import RetrievalSettings
from .snapshot import Chunks, load_chunks
from .store import Store

# tokenize and pos_tagger are lexical.py's, imported from here by the answer stage
__all__ = [
    "FilterError",
    "Filters",
    "Passage",
    "Retriever",
    "check_date",
    "check_filters",
    "load_index",
    "pos_tagger",
    "tokenize",
]


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
    # Past the top k: one of fusion's top k the reranker moved out (``retrieve(keep_fused=True)``).
    # The extractive answerer weighs its sentences; it is not shown to a chat model nor recorded
    # as retrieved.
    fused_only: bool = False


def load_index(
    store: Store, cache_dir: Path, k1: float, b: float, previous: _Snapshot | None = None
) -> tuple[Chunks, TokenCache, BM25Search, Lexicon]:
    """The chunks, token cache, BM25 search and lexicon of the store's current generation, from
    ``previous`` (in memory) or the caches on disk: only chunks that are new are read and tokenised.
    A changed token cache is written back."""
    chunks = load_chunks(store, cache_dir, previous.chunks if previous else None)
    path = token_cache_path(cache_dir, store.name)
    before = previous.tokens if previous else read_token_cache(path)
    tokens, search, lexicon = lexical.build(chunks, before, k1, b)
    if tokens is not before:
        cachefile.write(path, "tokens", tokens)
        with suppress(OSError):  # the cache of the previous format, now stale
            (cache_dir / f"bm25-{store.name}.pkl").unlink(missing_ok=True)
    return chunks, tokens, search, lexicon


@dataclass
class _Snapshot:
    """One generation of the index: the chunks, their tokens, the BM25 search and lexicon over them."""

    chunks: Chunks
    tokens: TokenCache
    search: BM25Search
    lexicon: Lexicon
    linker: Linker
    aliases: Aliases  # the abbreviations the chunks define
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
        if settings.rerank:
            rerank.load(settings.rerank_model or None)  # a missing or bad model fails here, not at the first question

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

        One thread brings the index up to a new generation (incrementally, see ``load_index``); while
        it does, the other readers keep serving the previous snapshot instead of waiting. Only the
        very first load, with nothing to serve yet, makes them wait."""
        gen = self.store.generation()
        snap = self._snap
        if snap is not None and snap.chunks.gen == gen:
            return snap
        if snap is not None and not self._lock.acquire(blocking=False):
            return snap  # another thread is updating: the previous index serves meanwhile
        if snap is None:
            self._lock.acquire()
        try:
            snap = self._snap
            if snap is None or snap.chunks.gen != gen:
                try:
                    chunks, tokens, search, lexicon = load_index(
                        self.store, self.cache_dir, self.s.bm25_k1, self.s.bm25_b, previous=snap
                    )
                except Exception:
                    if snap is None:
                        raise
                    return snap  # the store was busy or failed mid-read: serve the previous index, retry next time
                vectors = {cid: v for cid, v in dict(snap.vectors).items() if cid in chunks} if snap else {}
                snap = _Snapshot(chunks, tokens, search, lexicon, Linker(chunks.metas), Aliases(chunks.texts), vectors)
                self.builds.append(chunks.gen)
                self._snap = snap
            return snap
        finally:
            self._lock.release()

    @property
    def chunks(self) -> Chunks:
        """Every chunk of the index (ids, texts, metadata by row), as of this question's snapshot."""
        return self._snapshot().chunks

    @property
    def lexicon(self) -> Lexicon:
        """The index's term statistics (idf, coverage of a question), as of this question's snapshot."""
        return self._snapshot().lexicon

    @property
    def linker(self) -> Linker:
        """Names of the index's articles, authors and occasions, for query analysis."""
        return self._snapshot().linker

    @property
    def aliases(self) -> Aliases:
        """The abbreviations the index's documents define ("非同质化代币（NFT）")."""
        return self._snapshot().aliases

    def sentence_index(self, snap: _Snapshot) -> SentenceIndex:
        """The snapshot's sentence-grain index, built once per generation from the previous one
        (only new chunks' sentences are read, from the ingest-time cache; nothing is embedded here)."""
        if snap.sentences is None:
            with self._sentence_lock:
                if snap.sentences is None:
                    snap.sentences = SentenceIndex.build(
                        snap.chunks.ids, snap.chunks.texts, self._stored_sentence_vectors, self._last_sentences
                    )
                    self._last_sentences = snap.sentences
        return snap.sentences

    @property
    def reranker(self) -> rerank.Reranker:
        return rerank.load(self.s.rerank_model or None)

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
        snap: _Snapshot,
        mask: np.ndarray | None,
        where: dict | None,
        scale: float,
    ) -> list[tuple[str, float, list[tuple[int, float]]]]:
        """The BM25 and dense lists of one search, each with its fusion weight."""
        out = []
        if mode in ("hybrid", "bm25"):
            out.append(("bm25", scale * self.s.bm25_weight, snap.search.search(query, k, mask)))
        if qv is not None:
            out.append(("dense", scale * self.s.dense_weight, self._dense(qv, k, snap.chunks, mask, where)))
            if self.s.sentence_weight > 0:
                out.append(("sentence", scale * self.s.sentence_weight, self.sentence_index(snap).search(qv, k, mask)))
        return out

    def _dense(
        self, qv: np.ndarray, k: int, index: Chunks, mask: np.ndarray | None, where: dict | None = None
    ) -> list[tuple[int, float]]:
        """Dense hits as (row, cosine). A small index (``exact_dense_max``), or a filter that leaves few
        chunks (``exact_filter_max``), is scored exactly in process: the same hits every run, and a
        narrow filter never comes back empty. Otherwise Chroma's HNSW index answers (approximate),
        with a ``where`` filter pushed down to it."""
        admitted = int(mask.sum()) if mask is not None else len(index.ids)
        if len(index.ids) <= self.s.exact_dense_max or (mask is not None and admitted <= self.s.exact_filter_max):
            vectors = self._snapshot().vectors
            rows = np.flatnonzero(mask) if mask is not None else np.arange(len(index.ids))
            missing = [index.ids[r] for r in rows if index.ids[r] not in vectors]
            vectors.update(self.store.vectors(missing))
            rows = np.array([r for r in rows if index.ids[r] in vectors], dtype=np.int64)
            if not len(rows):
                return []
            sims = np.stack([vectors[index.ids[r]] for r in rows]) @ qv
            top = np.argsort(-sims)[:k]
            return [(int(rows[i]), float(sims[i])) for i in top]
        if where is not None:
            hits = [(index.row_of[cid], sim) for cid, sim in self.store.query(qv, k * 2, where) if cid in index.row_of]
            return [(r, s) for r, s in hits if mask is None or mask[r]][:k]
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
        keep_fused: bool = False,
    ) -> list[Passage]:
        """Fused BM25 + dense ranking, its best candidates reordered by the reranker (rerank.py).
        When the question names an author, article or speech occasion (``analysis``, see
        query.py), the same search restricted to the linked chunks is fused in with
        ``linked_weight``: their passages rise to the top, others stay reachable. ``keep_fused``:
        after the top_k, the passages of fusion's top_k that the reranker moved out of it (the
        answerer lets fusion's best passages compete too: its sentence model was fitted on them)."""
        with self.pinned():
            return self._retrieve(query, top_k, mode, filters, analysis, keep_fused)

    def _retrieve(
        self,
        query: str,
        top_k: int | None,
        mode: str | None,
        filters: Filters | None,
        analysis: Query | None,
        keep_fused: bool = False,
    ) -> list[Passage]:
        top_k = top_k or self.s.top_k
        mode = mode or self.s.mode
        snap = self._snapshot()
        index = snap.chunks
        if not index.ids:
            return []
        lists = self._searches(query, top_k, mode, filters or Filters(), analysis, snap)
        fused = self._fuse(lists)
        ranks: dict[int, dict[str, int]] = {}
        dense_sims: dict[int, float] = {}
        for name, _, _, hits in lists:
            for rank, (row, sim) in enumerate(hits, 1):
                ranks.setdefault(row, {}).setdefault(name, rank)
                if name == "dense":
                    dense_sims[row] = sim
        order = sorted(fused, key=lambda r: -fused[r])
        behind: list[int] = []
        if self.s.rerank and mode == "hybrid":
            pool = order[: self.s.rerank_pool]
            x = self._rerank_features(query, lists, fused, pool, snap)
            reranked = self.reranker.order(pool, x) + order[len(pool) :]
            # ``keep_fused``: fusion's own top k follow, those the reranker moved out of it
            behind = [r for r in order[:top_k] if r not in reranked[:top_k]] if keep_fused else []
            order = reranked
        order = order[:top_k] + behind
        out = []
        coverage = snap.lexicon.coverages(query, order)
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
                    coverage=coverage[rank - 1],
                    fused_only=rank > top_k,
                )
            )
        return out

    def _searches(
        self, query: str, top_k: int, mode: str, filters: Filters, analysis: Query | None, snap: _Snapshot
    ) -> list[tuple[str, bool, float, list[tuple[int, float]]]]:
        """The lists fused for one question: (name, restricted to what it names, weight, hits)."""
        index = snap.chunks
        n_cand = max(self.s.candidates, top_k)
        mask = np.array([filters.match(m) for m in index.metas]) if filters else None
        qv = self.embed_query(query) if mode in ("hybrid", "dense") else None
        # A wide filter goes to Chroma as a where (HNSW over the admitted chunks); a narrow one is
        # scored exactly over the chunks it admits (never comes back empty).
        where = filters.where(self.linker.authors) if mask is not None and mask.sum() > self.s.exact_filter_max else None
        lists = [(name, False, w, hits) for name, w, hits in self._ranked(query, qv, mode, n_cand, snap, mask, where, 1.0)]
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
                    ranked = self._ranked(query, qv, mode, n_cand, snap, linked, where, self.s.linked_weight)
                    lists += [(name, True, w, hits) for name, w, hits in ranked]
        return lists

    def _fuse(self, lists) -> dict[int, float]:
        """Weighted reciprocal-rank fusion of the lists: row -> score."""
        fused: dict[int, float] = {}
        for _, _, weight, hits in lists:
            for rank, (row, _) in enumerate(hits, 1):
                fused[row] = fused.get(row, 0.0) + weight / (self.s.rrf_k + rank)
        return fused

    def _rerank_features(self, query: str, lists, fused: dict[int, float], rows: list[int], snap: _Snapshot) -> np.ndarray:
        return rerank.features(
            [(name, linked, hits) for name, linked, _, hits in lists],
            fused,
            rows,
            snap.lexicon.coverages(query, rows),
            self.s.rrf_k,
        )

    def rerank_candidates(self, query: str, analysis: Query | None, top_k: int | None = None) -> tuple[list[str], np.ndarray]:
        """The reranker's pool for a question, in fused order, as (passage texts, features): what
        ``rag fit --rerank`` fits on (hybrid mode, no filters)."""
        top_k = top_k or self.s.top_k
        with self.pinned():
            snap = self._snapshot()
            lists = self._searches(query, top_k, "hybrid", Filters(), analysis, snap)
            fused = self._fuse(lists)
            pool = sorted(fused, key=lambda r: -fused[r])[: self.s.rerank_pool]
            return [snap.chunks.texts[r] for r in pool], self._rerank_features(query, lists, fused, pool, snap)

    def as_langchain(self, k: int | None = None, mode: str | None = None, filters: Filters | None = None):
        """This retriever as a LangChain ``BaseRetriever`` returning ``Document``s (rag.lc)."""
        from .lc import KnowledgeBaseRetriever

        return KnowledgeBaseRetriever(retriever=self, k=k, mode=mode, filters=filters)

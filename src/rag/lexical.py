"""Lexical search: jieba tokens cached per chunk, a bm25s index over them, and the lexicon.

- ``tokenize`` / ``index_text``: jieba search-mode tokens of a chunk under its contextual header.
- ``TokenCache``: each chunk's tokens by chunk id (ids into one vocabulary), so bringing the index
  to a new generation tokenises only the chunks that are new; it persists in the cache folder
  (a versioned file, tied to the tokenizer's data) so a restart tokenises nothing.
- ``BM25Search``: the bm25s index (Lucene BM25, k1 and b from settings) rebuilt from the cached
  tokens, searched with an optional mask of admitted rows.
- ``Lexicon``: what the answer stage reads of the index: idf of terms, coverage of a question.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from . import cachefile
from .chunking import context_header
from .snapshot import Chunks

VERSION = 1  # of the token cache's content: bump when tokenize or index_text change behaviour

STOPWORDS = {
    w.strip()
    for w in (resources.files("rag") / "data" / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    if w.strip() and not w.startswith("#")
}
_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)


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


@lru_cache(maxsize=1)
def tokenizer_fingerprint() -> str:
    """What cached tokens depend on besides the code: jieba's version, the user dictionary, the stop words."""
    h = hashlib.sha1(f"v{VERSION} jieba {metadata.version('jieba')}".encode())
    for name in ("userdict.txt", "stopwords.txt"):
        h.update((resources.files("rag") / "data" / name).read_bytes())
    return h.hexdigest()[:16]


# -- token cache ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenCache:
    """Tokens of chunks by chunk id, as ids into ``vocab``. Never changed once built: ``covering``
    returns another, so a reader keeps a consistent vocabulary while an update runs."""

    fingerprint: str
    vocab: dict[str, int]  # term -> id; ids 0..len-1, appended as new terms appear
    terms: dict[str, list[int]]  # chunk id -> its tokens' ids, in order

    @classmethod
    def empty(cls) -> TokenCache:
        return cls(tokenizer_fingerprint(), {}, {})

    def covering(self, chunks: Chunks) -> TokenCache:
        """A cache of exactly these chunks: the ones it lacks are tokenised, the ones gone dropped."""
        if len(self.terms) == len(chunks) and all(cid in self.terms for cid in chunks.ids):
            return self
        vocab = dict(self.vocab)
        terms = {}
        for cid, text, meta in zip(chunks.ids, chunks.texts, chunks.metas, strict=True):
            got = self.terms.get(cid)
            if got is None:
                got = [vocab.setdefault(t, len(vocab)) for t in tokenize(index_text(text, meta))]
            terms[cid] = got
        return TokenCache(self.fingerprint, vocab, terms)

    def compacted(self, used: np.ndarray) -> TokenCache:
        """The same tokens over a vocabulary without the terms no chunk holds (``used[id]`` False)."""
        remap = np.cumsum(used) - 1
        vocab = {t: int(remap[i]) for t, i in self.vocab.items() if used[i]}
        terms = {cid: remap[ids].tolist() for cid, ids in self.terms.items()}
        return TokenCache(self.fingerprint, vocab, terms)

    def rows(self, chunks: Chunks) -> list[list[int]]:
        """The token ids of each chunk, in the chunks' row order."""
        return [self.terms[cid] for cid in chunks.ids]


def token_cache_path(cache_dir: Path, collection: str) -> Path:
    return cache_dir / f"tokens-v{VERSION}-{collection}.pkl"


def read_token_cache(path: Path) -> TokenCache:
    """The cache saved at ``path``, or an empty one when it is missing, damaged or was made by
    another tokenizer (other jieba version, user dictionary or stop words)."""
    got = cachefile.read(path, "tokens")
    if isinstance(got, TokenCache) and got.fingerprint == tokenizer_fingerprint():
        return got
    return TokenCache.empty()


# -- search and lexicon -----------------------------------------------------------------------
def _idf(df: np.ndarray, n: int) -> np.ndarray:
    """Lucene's idf, the one bm25s scores with (method "lucene"): log(1 + (N - df + 0.5) / (df + 0.5))."""
    return np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)


class Lexicon:
    """The index's vocabulary and idf, and which terms each row holds: what the answer stage reads."""

    def __init__(self, vocab: dict[str, int], df: np.ndarray, rows: list[list[int]]):
        self._vocab, self._df, self._rows = vocab, df, rows
        self._idf = _idf(df.astype(np.float32), len(rows))
        self.max_idf = float(self._idf[df > 0].max()) if (df > 0).any() else 0.0
        self._unknown = float(math.log(1 + len(rows)))  # idf of a term no chunk holds

    def __contains__(self, term: object) -> bool:
        i = self._vocab.get(term)  # type: ignore[arg-type]
        return i is not None and self._df[i] > 0

    def idf(self, terms: Iterable[str], default: float | None = None) -> dict[str, float]:
        """Each term's idf; a term no chunk holds gets ``default`` (None: the idf of a term in no
        chunk, log(1 + N))."""
        unknown = self._unknown if default is None else default
        return {t: float(self._idf[self._vocab[t]]) if t in self else unknown for t in dict.fromkeys(terms)}

    def coverages(self, query: str, rows: list[int]) -> list[float]:
        """For each row, the share of the query's idf mass whose terms occur in its chunk."""
        weights = self.idf(tokenize(query))
        total = sum(weights.values())
        if not total:
            return [0.0] * len(rows)
        known = {self._vocab[t]: w for t, w in weights.items() if t in self}
        out = []
        for row in rows:
            held = set(self._rows[row])
            out.append(float(sum(w for i, w in known.items() if i in held) / total))
        return out


class BM25Search:
    """bm25s's Lucene BM25 over the cached token ids of the chunks, rows in the chunks' order."""

    def __init__(self, rows: list[list[int]], vocab: dict[str, int], k1: float, b: float):
        import bm25s

        self._vocab, self.n = vocab, len(rows)
        self._bm25 = None
        if vocab and any(rows):
            self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
            # token ids into our vocabulary (ids 0..len-1): bm25s builds from them without a pass
            # over the strings; a term no chunk holds any more gets an empty column
            self._bm25.index((rows, vocab), create_empty_token=False, show_progress=False)

    def document_frequencies(self) -> np.ndarray:
        """Chunks holding each term (by term id): the entries of its column in bm25s's matrix."""
        if self._bm25 is None:
            return np.zeros(len(self._vocab), dtype=np.int64)
        return np.diff(self._bm25.scores["indptr"]).astype(np.int64)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` best rows with a positive score as (row, score); ``mask`` admits rows."""
        ids = list(dict.fromkeys(self._vocab[t] for t in tokenize(query) if t in self._vocab))
        k = min(k, self.n)
        if not ids or self._bm25 is None or k <= 0:
            return []
        weight = None if mask is None else np.asarray(mask, dtype=np.float32)
        rows, scores = self._bm25.retrieve([ids], k=k, weight_mask=weight, show_progress=False)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]


def build(chunks: Chunks, tokens: TokenCache, k1: float, b: float) -> tuple[TokenCache, BM25Search, Lexicon]:
    """The search and lexicon of these chunks (tokenising only what ``tokens`` lacks), and the token
    cache that covers them. When most of the vocabulary is held by no chunk any more (documents were
    deleted), the cache is compacted first, so it does not grow with every upload and deletion."""
    tokens = tokens.covering(chunks)
    search = BM25Search(tokens.rows(chunks), tokens.vocab, k1, b)
    df = search.document_frequencies()
    used = df > 0
    if used.sum() < len(used) / 2:
        tokens = tokens.compacted(used)
        search = BM25Search(tokens.rows(chunks), tokens.vocab, k1, b)
        df = search.document_frequencies()
    return tokens, search, Lexicon(tokens.vocab, df, tokens.rows(chunks))

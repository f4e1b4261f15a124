"""The Chroma collection: idempotent upsert, delete, list; embedded or server mode.

Chroma is the single source of truth. Besides the chunk collection there is a small
``<name>__files`` collection with one record per ingested file (hash, chunk count, time,
chunker signature); it is written only after all of a file's chunks are in, so an ingest
killed half-way leaves the previous records in place and the next run finishes the file.
A ``generation`` record changes on every write; derived indexes (BM25) rebuild when it does.
A third collection, ``<name>__sentences``, caches one vector per sentence (keyed by its content
hash) for the answerer's semantic sentence choice; it is a cache, tagged with the embedder like the
chunks, and dropped with them by ``rag ingest --rebuild``.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from .settings import Settings

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
_PAGE = 2000
_GEN_ID = "__generation__"


@dataclass
class FileRecord:
    source: str
    sha256: str
    chunks: int
    ingested_at: float
    signature: str
    title: str = ""
    authors: str = ""
    path: str = ""


class StoreError(RuntimeError):
    """The store cannot be used as configured (server unreachable, model mismatch, ...)."""


def make_client(settings: Settings):
    """PersistentClient under the state folder, or HttpClient for a Chroma server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.store.mode == "server":
        try:
            return chromadb.HttpClient(host=settings.store.host, port=settings.store.port, settings=chroma_settings)
        except Exception as exc:
            raise StoreError(
                f"无法连接 Chroma 服务器 {settings.store.host}:{settings.store.port}（{exc}）"
            ) from exc
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


class Store:
    """Chunks with their vectors and metadata, plus one record per ingested file."""

    def __init__(self, client, name: str, embedder_name: str, dim: int):
        self.client = client
        self.name = name
        self.embedder_name = embedder_name
        try:
            self.chunks = client.get_or_create_collection(
                name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedder": embedder_name, "dim": dim},
            )
            self.files = client.get_or_create_collection(f"{name}__files", embedding_function=None)
            # A cache of sentence vectors keyed by the sentence's content hash (chunking.sentence_id):
            # the answerer compares the question with each candidate sentence. Shared by chunks that
            # quote the same sentence; written before the chunks that use them.
            self.sentences = client.get_or_create_collection(
                f"{name}__sentences", embedding_function=None, metadata={"embedder": embedder_name, "dim": dim}
            )
        except Exception as exc:
            raise StoreError(f"无法打开 Chroma 集合 {name!r}：{exc}") from exc
        found = (self.chunks.metadata or {}).get("embedder") or (self.sentences.metadata or {}).get("embedder")
        if found and found != embedder_name:
            raise StoreError(
                f"集合 {name!r} 由 {found} 建立，当前嵌入模型为 {embedder_name}：请换一个集合名"
                f"（store.collection）或用 `rag ingest --rebuild` 重建索引。"
            )

    # -- chunks -------------------------------------------------------------------------
    def count(self) -> int:
        return self.chunks.count()

    def existing_ids(self, ids: list[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(ids), _PAGE):
            out.update(self.chunks.get(ids=ids[i : i + _PAGE], include=[])["ids"])
        return out

    def ids_for_source(self, source: str) -> list[str]:
        return self.chunks.get(where={"source": source}, include=[])["ids"]

    def upsert(self, ids: list[str], texts: list[str], metadatas: list[dict], vectors: np.ndarray) -> None:
        for i in range(0, len(ids), _PAGE):
            self.chunks.upsert(
                ids=ids[i : i + _PAGE],
                documents=texts[i : i + _PAGE],
                metadatas=metadatas[i : i + _PAGE],
                embeddings=vectors[i : i + _PAGE],
            )

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), _PAGE):
            self.chunks.delete(ids=ids[i : i + _PAGE])

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Nearest chunks as (id, cosine similarity)."""
        n = self.count()
        if n == 0:
            return []
        res = self.chunks.query(query_embeddings=[vector], n_results=min(k, n), where=where or None, include=["distances"])
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]

    def get(self, ids: list[str]) -> dict[str, tuple[str, dict]]:
        res = self.chunks.get(ids=ids, include=["documents", "metadatas"])
        return {i: (d, m) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"])}

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of these chunks."""
        return _embeddings(self.chunks, ids)

    def iter_all(self) -> Iterator[tuple[str, str, dict]]:
        """Every chunk as (id, text, metadata), paged."""
        offset = 0
        while True:
            res = self.chunks.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
            if not res["ids"]:
                return
            yield from zip(res["ids"], res["documents"], res["metadatas"])
            offset += len(res["ids"])

    # -- sentence vectors --------------------------------------------------------------
    def sentence_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Cached vectors of these sentences (by sentence id)."""
        return _embeddings(self.sentences, ids)

    def missing_sentences(self, ids: list[str]) -> list[str]:
        have: set[str] = set()
        for i in range(0, len(ids), _PAGE):
            have.update(self.sentences.get(ids=ids[i : i + _PAGE], include=[])["ids"])
        return [i for i in dict.fromkeys(ids) if i not in have]

    def put_sentences(self, ids: list[str], vectors: np.ndarray) -> None:
        for i in range(0, len(ids), _PAGE):
            self.sentences.upsert(ids=ids[i : i + _PAGE], embeddings=vectors[i : i + _PAGE])

    # -- file records -------------------------------------------------------------------
    def file_records(self) -> dict[str, FileRecord]:
        res = self.files.get(include=["metadatas"])
        return {
            m["source"]: FileRecord(**{k: m.get(k, "") for k in FileRecord.__dataclass_fields__})
            for i, m in zip(res["ids"], res["metadatas"])
            if i != _GEN_ID
        }

    def put_file(self, rec: FileRecord) -> None:
        meta: dict[str, Any] = dict(rec.__dict__)
        self.files.upsert(ids=[f"file:{rec.source}"], metadatas=[meta], embeddings=[[0.0]], documents=[rec.source])

    def remove_file(self, source: str) -> int:
        ids = self.ids_for_source(source)
        self.delete(ids)
        self.files.delete(ids=[f"file:{source}"])
        return len(ids)

    def generation(self) -> str:
        res = self.files.get(ids=[_GEN_ID], include=["metadatas"])
        return res["metadatas"][0]["value"] if res["ids"] else "0"

    def bump_generation(self) -> str:
        value = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}"
        self.files.upsert(ids=[_GEN_ID], metadatas=[{"value": value, "source": _GEN_ID}], embeddings=[[0.0]], documents=[""])
        return value


def _embeddings(collection, ids: list[str]) -> dict[str, np.ndarray]:
    """The stored vectors of these ids in one collection, paged."""
    out: dict[str, np.ndarray] = {}
    for i in range(0, len(ids), _PAGE):
        res = collection.get(ids=ids[i : i + _PAGE], include=["embeddings"])
        out.update({x: np.asarray(v, np.float32) for x, v in zip(res["ids"], res["embeddings"])})
    return out


def open_store(settings: Settings, embedder_name: str, dim: int, client=None) -> Store:
    return Store(client or make_client(settings), settings.store.collection, embedder_name, dim)

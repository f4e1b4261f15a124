"""The Chroma collection: idempotent upsert, delete, list; embedded or server mode.

Chroma is the single source of truth. Besides the chunk collection there is a small
``<name>__files`` collection with one record per ingested file (hash, chunk count, time,
chunker signature, origin: corpus or upload); it is written only after all of a file's chunks
are in. Every write of chunks is journalled there first (a ``pending:<source>`` marker naming the
chunk ids about to be added or removed), so a process killed half-way leaves a marker that the
next start-up uses to roll the write back or finish it exactly (``Ingestor.recover``): the store
never holds chunks that no file record owns.
A ``generation`` record changes on every write; derived indexes (BM25) rebuild when it does.
A third collection, ``<name>__sentences``, caches one vector per sentence (keyed by its content
hash) for the answerer's semantic sentence choice; it is a cache, tagged with the embedder like the
chunks, and dropped with them by ``rag ingest --rebuild``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .settings import Settings

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
_PAGE = 2000
_GEN_ID = "__generation__"
_FILE = "file:"
_PENDING = "pending:"


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
    origin: str = ""  # "corpus" or "upload" ("" in records written before origins were kept)


@dataclass
class Pending:
    """A journalled write that had not finished: ``adding`` chunk ids not yet owned by a record
    (roll back: delete them), or ``removing`` ids the committed record no longer owns (finish:
    delete them); ``drop`` also removes the file's record (a deletion in progress)."""

    source: str
    phase: str
    ids: list[str]
    path: str = ""
    origin: str = ""
    drop: bool = False


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
            raise StoreError(f"无法连接 Chroma 服务器 {settings.store.host}:{settings.store.port}（{exc}）") from exc
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
        """Chunks owned by file records (chunks of a write still in progress are not counted)."""
        n = self.chunks.count()
        adding = self._adding()  # read after the chunks: a write's marker precedes its chunks
        return n - len(self.existing_ids(sorted(adding))) if adding else n

    def _adding(self) -> set[str]:
        """Ids journalled as being added and not yet owned by a record: never listed or returned."""
        return {i for p in self.pending() if p.phase == "adding" for i in p.ids}

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
        n = self.chunks.count()
        if n == 0:
            return []
        res = self.chunks.query(
            query_embeddings=[vector], n_results=min(k + len(self._adding()), n), where=where or None, include=["distances"]
        )
        adding = self._adding()  # read after the chunks: a write's marker precedes its chunks
        hits = [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=False) if cid not in adding]
        return hits[:k]

    def get(self, ids: list[str]) -> dict[str, tuple[str, dict]]:
        res = self.chunks.get(ids=ids, include=["documents", "metadatas"])
        return {i: (d, m) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"], strict=False)}

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of these chunks."""
        return _embeddings(self.chunks, ids)

    def ids(self) -> list[str]:
        """Every chunk id owned by a file record, in one read (no text)."""
        ids = self.chunks.get(include=[])["ids"]
        adding = self._adding()  # read after the chunks: a write's marker precedes its chunks
        return [i for i in ids if i not in adding]

    def iter_all(self) -> Iterator[tuple[str, str, dict]]:
        """Every chunk owned by a file record as (id, text, metadata), paged."""
        offset = 0
        while True:
            res = self.chunks.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
            if not res["ids"]:
                return
            adding = self._adding()  # read after the chunks: a write's marker precedes its chunks
            yield from (
                (i, d, m) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"], strict=False) if i not in adding
            )
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
            for i, m in zip(res["ids"], res["metadatas"], strict=False)
            if i.startswith(_FILE)
        }

    def put_file(self, rec: FileRecord) -> None:
        meta: dict[str, Any] = dict(rec.__dict__)
        self.files.upsert(ids=[f"{_FILE}{rec.source}"], metadatas=[meta], embeddings=[[0.0]], documents=[rec.source])

    def commit_file(self, rec: FileRecord, stale: list[str]) -> None:
        """Write a file's record and, in the same call, the journal of the stale chunks it no
        longer owns; then delete them and clear the journal."""
        # The "removing" entry is written even when nothing is stale: it replaces the write's
        # "adding" entry in the same call, so a kill between the two can never leave a record
        # whose chunks recovery would take for an unfinished write and delete.
        ids = [f"{_FILE}{rec.source}", f"{_PENDING}{rec.source}"]
        metas = [dict(rec.__dict__), _pending_meta(Pending(rec.source, "removing", stale, rec.path, rec.origin))]
        docs = [rec.source, json.dumps(stale)]
        self.files.upsert(ids=ids, metadatas=metas, embeddings=[[0.0]] * len(ids), documents=docs)
        self.delete(stale)
        self.end(rec.source)

    def remove_file(self, source: str) -> int:
        """Delete a file's chunks and record, journalled so that a kill half-way is finished later."""
        ids = self.ids_for_source(source)
        self.begin(Pending(source, "removing", ids, drop=True))
        self.drop_record(source)
        self.delete(ids)
        self.end(source)
        return len(ids)

    def drop_record(self, source: str) -> None:
        self.files.delete(ids=[f"{_FILE}{source}"])

    # -- the write journal -------------------------------------------------------------
    def begin(self, p: Pending) -> None:
        """Journal a write before any chunk of it is stored."""
        self.files.upsert(
            ids=[f"{_PENDING}{p.source}"], metadatas=[_pending_meta(p)], embeddings=[[0.0]], documents=[json.dumps(p.ids)]
        )

    def end(self, source: str) -> None:
        self.files.delete(ids=[f"{_PENDING}{source}"])

    def pending(self) -> list[Pending]:
        """Writes journalled and not finished (a process killed half-way, or one still running)."""
        res = self.files.get(where={"kind": "pending"}, include=["metadatas", "documents"])
        return [
            Pending(m["source"], m["phase"], json.loads(d or "[]"), m.get("path", ""), m.get("origin", ""), bool(m.get("drop")))
            for m, d in zip(res["metadatas"], res["documents"], strict=False)
        ]

    def chunk_sources(self) -> dict[str, list[str]]:
        """Every chunk id by its source (a full scan, paged: only when the counts disagree)."""
        out: dict[str, list[str]] = {}
        offset = 0
        while True:
            res = self.chunks.get(include=["metadatas"], limit=_PAGE, offset=offset)
            if not res["ids"]:
                return out
            for cid, m in zip(res["ids"], res["metadatas"], strict=False):
                out.setdefault((m or {}).get("source", ""), []).append(cid)
            offset += len(res["ids"])

    def generation(self) -> str:
        res = self.files.get(ids=[_GEN_ID], include=["metadatas"])
        return res["metadatas"][0]["value"] if res["ids"] else "0"

    def bump_generation(self) -> str:
        value = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}"
        self.files.upsert(ids=[_GEN_ID], metadatas=[{"value": value, "source": _GEN_ID}], embeddings=[[0.0]], documents=[""])
        return value


def _pending_meta(p: Pending) -> dict[str, Any]:
    return {"kind": "pending", "source": p.source, "phase": p.phase, "path": p.path, "origin": p.origin, "drop": p.drop}


def _embeddings(collection, ids: list[str]) -> dict[str, np.ndarray]:
    """The stored vectors of these ids in one collection, paged."""
    out: dict[str, np.ndarray] = {}
    for i in range(0, len(ids), _PAGE):
        res = collection.get(ids=ids[i : i + _PAGE], include=["embeddings"])
        out.update({x: np.asarray(v, np.float32) for x, v in zip(res["ids"], res["embeddings"], strict=False)})
    return out


def open_store(settings: Settings, embedder_name: str, dim: int, client=None) -> Store:
    return Store(client or make_client(settings), settings.store.collection, embedder_name, dim)

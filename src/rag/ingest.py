"""Ingestion: files -> cleaned chunks -> vectors -> Chroma, idempotently.

Unchanged files (same hash, same chunker signature) are skipped without any embedding work;
a changed file's chunks that already exist (by content-hash id) are not embedded again, and its
stale chunks are removed after the new ones are in. A file's record is written last, so a run
that is killed leaves the previous index usable and the next run completes the file. A file
that fails to load never touches the index, and never stops the other files.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from .catalog import Catalog
from .chunking import Chunker, index_sentences, sentence_id
from .embeddings import Embedder
from .loaders import LoadError, discover, load_file
from .settings import Settings
from .store import FileRecord, Store

CHUNKER_VERSION = "2"


@dataclass
class IngestSummary:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    duplicates: dict[str, str] = field(default_factory=dict)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"新增 added: {len(self.added)}  变更 changed: {len(self.changed)}  未变 unchanged: {len(self.unchanged)}"
            f"  删除 removed: {len(self.removed)}  失败 failed: {len(self.failed)}",
            f"嵌入 embedded chunks: {self.chunks_embedded} / 索引 indexed chunks: {self.chunks_total}  ({self.seconds:.1f}s)",
        ]
        out += [f"  重复 duplicate: {src} 与 {orig} 内容相同，已跳过" for src, orig in self.duplicates.items()]
        out += [f"  失败 failed: {reason}" for reason in self.failed.values()]
        return out

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def signature(settings: Settings, catalog: Catalog, source: str) -> str:
    """What, besides the file's bytes, decides its chunks: chunker version, settings, catalog entry."""
    entry = catalog.get(source)
    payload = {
        "v": CHUNKER_VERSION,
        "chunking": settings.chunking.model_dump(),
        "catalog": entry.model_dump() if entry else None,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


class Ingestor:
    def __init__(self, settings: Settings, embedder: Embedder, store: Store, catalog: Catalog):
        self.settings, self.embedder, self.store, self.catalog = settings, embedder, store, catalog
        self.chunker = Chunker(settings.chunking)

    def ingest(self, paths: list[str | Path], *, prune: bool | None = None, progress: bool = True) -> IngestSummary:
        """Ingest files and folders. ``prune`` (default: when folders are given) removes indexed
        files that are no longer in those folders."""
        t0 = time.perf_counter()
        summary = IngestSummary()
        files = discover(paths, tuple(self.settings.corpus.extensions))
        if prune is None:
            prune = any(Path(p).is_dir() for p in paths)
        records = self.store.file_records()
        by_hash = {r.sha256: r.source for r in records.values()}
        bar = tqdm(files, desc="文件 files", unit="file", disable=not progress)
        for path in bar:
            bar.set_postfix_str(path.name[:30])
            try:
                self._ingest_file(path, records, by_hash, summary, progress)
            except LoadError as exc:
                summary.failed[path.name] = str(exc)
            except Exception as exc:  # one bad file never stops the others
                summary.failed[path.name] = f"{path.name}: {type(exc).__name__}: {exc}"
        if prune:
            folders = [Path(p).resolve() for p in paths if Path(p).is_dir()]
            present = {p.name for p in files}
            for source in sorted(set(records) - present):
                origin = Path(records[source].path) if records[source].path else None
                if origin is not None and not any(origin.is_relative_to(f) for f in folders):
                    continue  # added from elsewhere (an upload): not this folder's to prune
                self.store.remove_file(source)
                summary.removed.append(source)
        if summary.changed_anything:
            self.store.bump_generation()
        summary.chunks_total = self.store.count()
        summary.seconds = time.perf_counter() - t0
        return summary

    def _embed_sentences(self, chunks: list) -> None:
        """Vectors of the chunks' sentences not already cached (the answerer's semantic match)."""
        sents = {sentence_id(s): s for c in chunks for s in index_sentences(c.text)}
        missing = self.store.missing_sentences(list(sents))
        bs = self.settings.embedding.batch_size * 4  # sentences are short
        for i in range(0, len(missing), bs):
            ids = missing[i : i + bs]
            self.store.put_sentences(ids, self.embedder.embed_passages([sents[x] for x in ids]))

    def _ingest_file(self, path: Path, records: dict, by_hash: dict, summary: IngestSummary, progress: bool) -> None:
        doc = load_file(path, max_mb=self.settings.corpus.max_file_mb)
        sig = signature(self.settings, self.catalog, doc.source)
        rec = records.get(doc.source)
        if rec and rec.sha256 == doc.sha256 and rec.signature == sig:
            summary.unchanged.append(doc.source)
            return
        original = by_hash.get(doc.sha256)
        if original and original != doc.source:
            summary.duplicates[doc.source] = original
            return
        try:
            chunks = self.chunker.chunk_text(doc.text, doc.source, self.catalog.get(doc.source), doc.sha256)
        except Exception as exc:
            raise LoadError(f"{doc.source}: 无法切分 ({type(exc).__name__}: {exc})") from exc
        if not chunks:
            raise LoadError(f"{doc.source}: 清洗后没有可索引的文字")
        ids = [c.id for c in chunks]
        have = self.store.existing_ids(ids)
        todo = [c for c in chunks if c.id not in have]
        if todo:
            # Written batch by batch: a run killed here leaves these chunks without a file
            # record, and the next run embeds only the ones still missing.
            bs = self.settings.embedding.batch_size
            with tqdm(total=len(todo), desc=f"嵌入 {doc.source[:20]}", unit="chunk", disable=not progress, leave=False) as eb:
                for i in range(0, len(todo), bs):
                    batch = todo[i : i + bs]
                    self._embed_sentences(batch)
                    vectors = self.embedder.embed_passages([c.embed_text for c in batch])
                    self.store.upsert([c.id for c in batch], [c.text for c in batch], [c.metadata for c in batch], vectors)
                    eb.update(len(batch))
        stale = sorted(set(self.store.ids_for_source(doc.source)) - set(ids))
        self.store.delete(stale)
        meta = self.catalog.get(doc.source)
        title = meta.title if meta else chunks[0].metadata.get("doc_title", "")
        authors = "、".join(meta.authors) if meta else chunks[0].metadata.get("authors", "")
        self.store.put_file(
            FileRecord(doc.source, doc.sha256, len(chunks), time.time(), sig, title, authors, str(path.resolve()))
        )
        summary.chunks_embedded += len(todo)
        (summary.changed if rec else summary.added).append(doc.source)
        by_hash[doc.sha256] = doc.source

"""Ingestion: files -> cleaned chunks -> vectors -> Chroma, idempotently.

Unchanged files (same hash, same chunker signature) are skipped without any embedding work;
a changed file's chunks that already exist (by content-hash id) are not embedded again, and its
stale chunks are removed after the new ones are in. A file's record is written last, so a run
that is killed leaves the previous index usable, and every write is journalled in the store so
that the next start-up (``Ingestor.recover``, run by ``build_system``) rolls back what a killed
process half wrote: the store and the file registry always agree. One writer at a time per state
folder (threads and processes alike, ``write_lock``), so a file is never indexed twice under two
names. A file that fails to load never touches the index, and never stops the other files.

Uploads live in their own namespace (``origin="upload"``): they never take the catalog metadata of
a corpus file and never replace a corpus file's record, even under the same name.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from .catalog import Catalog
from .chunking import Chunker, index_sentences, sentence_id
from .embeddings import Embedder
from .loaders import LoadError, discover, load_file
from .settings import Settings
from .store import FileRecord, Pending, Store

CHUNKER_VERSION = "5"  # 3: Word files titled by their title, the title line kept out of the passages; 4: page numbers; 5: bylines
log = logging.getLogger("rag")


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


class WriteLock:
    """One writer per state folder: a re-entrant lock for this process's threads around an
    ``flock`` on ``<home>/ingest.lock`` for other processes (the kernel frees it if one is killed)."""

    _all: dict[str, WriteLock] = {}
    _guard = threading.Lock()

    def __init__(self, path: Path):
        self.path, self._rlock, self._depth, self._fd = path, threading.RLock(), 0, -1

    @classmethod
    def of(cls, home: Path) -> WriteLock:
        path = Path(home).resolve() / "ingest.lock"
        with cls._guard:
            return cls._all.setdefault(str(path), cls(path))

    @contextmanager
    def hold(self, wait: bool = True) -> Iterator[bool]:
        """Yield True while held; with ``wait=False`` yield False at once if another writer has it."""
        if not self._rlock.acquire(blocking=wait):
            yield False
            return
        try:
            if self._depth == 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    os.close(fd)
                    fd = -1
                if fd < 0:
                    yield False
                    return
                self._fd = fd
            self._depth += 1
            try:
                yield True
            finally:
                self._depth -= 1
                if self._depth == 0:
                    os.close(self._fd)  # releases the flock
                    self._fd = -1
        finally:
            self._rlock.release()


def signature(settings: Settings, catalog: Catalog | None, source: str) -> str:
    """What, besides the file's bytes, decides its chunks: chunker version, settings, catalog entry
    (none for an upload)."""
    entry = catalog.get(source) if catalog is not None else None
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
        self.lock = WriteLock.of(settings.home)

    @property
    def uploads(self) -> Path:
        """Where uploaded files are kept (under the state folder)."""
        return self.settings.home / "uploads"

    def origin(self, rec: FileRecord) -> str:
        """corpus or upload (records written before origins were kept: by where the file lives)."""
        if rec.origin:
            return rec.origin
        return "upload" if rec.path and Path(rec.path).is_relative_to(self.uploads.resolve()) else "corpus"

    def ingest(
        self, paths: list[str | Path], *, prune: bool | None = None, progress: bool = True, origin: str = "corpus"
    ) -> IngestSummary:
        """Ingest files and folders. ``prune`` (default: when folders are given) removes indexed
        files that are no longer in those folders. ``origin="upload"``: the files are uploads
        (no catalog metadata, never in place of a corpus file)."""
        with self.lock.hold():
            return self._ingest(paths, prune, progress, origin)

    def _ingest(self, paths: list[str | Path], prune: bool | None, progress: bool, origin: str) -> IngestSummary:
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
                self._ingest_file(path, records, by_hash, summary, progress, origin)
            except LoadError as exc:
                summary.failed[path.name] = str(exc)
            except Exception as exc:  # one bad file never stops the others
                summary.failed[path.name] = f"{path.name}: {type(exc).__name__}: {exc}"
        if prune:
            folders = [Path(p).resolve() for p in paths if Path(p).is_dir()]
            present = {p.name for p in files}
            for source in sorted(set(records) - present):
                origin_path = Path(records[source].path) if records[source].path else None
                if self.origin(records[source]) == "upload" or (
                    origin_path is not None and not any(origin_path.is_relative_to(f) for f in folders)
                ):
                    continue  # an upload, or added from elsewhere: not this folder's to prune
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

    def _check_namespace(self, source: str, rec: FileRecord | None, origin: str) -> None:
        """An upload never takes a corpus file's place or metadata, and the other way round."""
        if origin == "upload" and (self.catalog.get(source) or (rec and self.origin(rec) != "upload")):
            raise LoadError(f"{source}: 与资料库文档同名，上传文档不能替换资料库文档（请改名后上传）")
        if origin != "upload" and rec and self.origin(rec) == "upload":
            raise LoadError(f"{source}: 与已上传的文档同名，未入库（请先在资料库中删除该上传文档，或将文件改名）")

    def _chunks(self, doc, origin: str) -> list:
        meta = self.catalog.get(doc.source) if origin != "upload" else None
        try:
            chunks = self.chunker.chunk_text(doc.text, doc.source, meta, doc.sha256)
        except Exception as exc:
            raise LoadError(f"{doc.source}: 无法切分 ({type(exc).__name__}: {exc})") from exc
        if not chunks:
            raise LoadError(f"{doc.source}: 清洗后没有可索引的文字")
        return chunks

    def _ingest_file(
        self, path: Path, records: dict, by_hash: dict, summary: IngestSummary, progress: bool, origin: str = "corpus"
    ) -> None:
        doc = load_file(path, max_mb=self.settings.corpus.max_file_mb)
        rec = records.get(doc.source)
        self._check_namespace(doc.source, rec, origin)
        sig = signature(self.settings, self.catalog if origin != "upload" else None, doc.source)
        if rec and rec.sha256 == doc.sha256 and rec.signature == sig:
            summary.unchanged.append(doc.source)
            return
        original = by_hash.get(doc.sha256)
        if original and original != doc.source:
            summary.duplicates[doc.source] = original
            return
        chunks = self._chunks(doc, origin)
        ids = [c.id for c in chunks]
        have = self.store.existing_ids(ids)
        todo = [c for c in chunks if c.id not in have]
        if todo:
            # Journalled first: a run killed while these batches are written leaves a marker naming
            # them, and the next start-up deletes them (``recover``); the file's record is unchanged.
            self.store.begin(Pending(doc.source, "adding", [c.id for c in todo], str(path.resolve()), origin))
            bs = self.settings.embedding.batch_size
            with tqdm(total=len(todo), desc=f"嵌入 {doc.source[:20]}", unit="chunk", disable=not progress, leave=False) as eb:
                for i in range(0, len(todo), bs):
                    batch = todo[i : i + bs]
                    self._embed_sentences(batch)
                    vectors = self.embedder.embed_passages([c.embed_text for c in batch])
                    self.store.upsert([c.id for c in batch], [c.text for c in batch], [c.metadata for c in batch], vectors)
                    eb.update(len(batch))
        stale = sorted(set(self.store.ids_for_source(doc.source)) - set(ids))
        meta = chunks[0].metadata
        entry = self.catalog.get(doc.source) if origin != "upload" else None
        title = entry.title if entry else meta.get("doc_title", "")
        authors = "、".join(entry.authors) if entry else meta.get("authors", "")
        new = FileRecord(doc.source, doc.sha256, len(chunks), time.time(), sig, title, authors, str(path.resolve()), origin)
        self.store.commit_file(new, stale)  # the commit point: record and journal of stale chunks together
        summary.chunks_embedded += len(todo)
        (summary.changed if rec else summary.added).append(doc.source)
        records[doc.source] = new
        by_hash[doc.sha256] = doc.source

    # -- crash recovery -------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Bring the store and the file registry back into agreement after a process was killed
        half-way through a write: journalled additions are rolled back, journalled removals are
        finished, chunks no record owns are deleted, and uploaded copies no record owns are removed.
        Returns one line per repair (empty when all was well). Skipped while another writer runs."""
        with self.lock.hold(wait=False) as held:
            if not held:
                return []
            done: list[str] = []
            for p in self.store.pending():
                written = len(self.store.existing_ids(p.ids))
                self.store.delete(p.ids)
                if p.phase == "adding":
                    done.append(f"回滚未完成的写入 rolled back: {p.source}（已写入 {written}/{len(p.ids)} 个文本块 chunks）")
                else:
                    if p.drop:
                        self.store.drop_record(p.source)
                    done.append(f"完成中断的删除 finished removal: {p.source}（{written} 个文本块 chunks）")
                self.store.end(p.source)
            records = self.store.file_records()
            if self.store.count() != sum(r.chunks for r in records.values()):
                done += self._reconcile(records)
            done += self._sweep_uploads(records)
            if done:
                self.store.bump_generation()
                for line in done:
                    log.warning("rag: %s", line)
            return done

    def _reconcile(self, records: dict[str, FileRecord]) -> list[str]:
        """The slow path, for a store the journal does not explain (written before it existed):
        every chunk's source is read; chunks of unregistered sources are deleted, and a file whose
        chunks differ from what its file gives is removed (the next ingest adds it again)."""
        done = []
        sources = self.store.chunk_sources()
        for source, rec in records.items():
            if source not in sources and rec.chunks:  # a record whose chunks are all gone
                self.store.drop_record(source)
                done.append(
                    f"记录的文本块缺失，已移除记录 removed a record without chunks: {source}（请重新入库 ingest it again）"
                )
        for source, ids in sources.items():
            rec = records.get(source)
            if rec is None:
                self.store.delete(ids)
                done.append(f"删除无记录的文本块 removed unregistered chunks: {source}（{len(ids)}）")
            elif len(ids) != rec.chunks and not self._trim(rec, set(ids)):
                self.store.remove_file(source)
                done.append(f"索引与记录不符，已移除 removed inconsistent document: {source}（请重新入库 ingest it again）")
        return done

    def _trim(self, rec: FileRecord, have: set[str]) -> bool:
        """Delete the chunks of a registered file that its unchanged file does not give; False when
        that cannot be told (file gone or changed) or chunks are missing."""
        try:
            doc = load_file(rec.path, max_mb=self.settings.corpus.max_file_mb)
        except LoadError:
            return False
        if doc.sha256 != rec.sha256:
            return False
        expected = {c.id for c in self._chunks(doc, self.origin(rec))}
        if not expected <= have:
            return False
        self.store.delete(sorted(have - expected))
        return True

    def _sweep_uploads(self, records: dict[str, FileRecord]) -> list[str]:
        """Uploaded copies (and half-copied ``.part`` files) that no record owns: a killed upload."""
        if not self.uploads.is_dir():
            return []
        owned = {Path(r.path).name for r in records.values() if r.path and self.origin(r) == "upload"}
        stray = [f for f in self.uploads.iterdir() if f.is_file() and f.name not in owned]
        for f in stray:
            f.unlink(missing_ok=True)
        return [f"删除未入库的上传文件 removed unfinished upload: {f.name}" for f in stray]

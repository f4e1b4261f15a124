"""The knowledge base as users manage it: list, upload, delete documents.

Uploads are size-limited, their names sanitised, and they are stored under the state folder
only (``<home>/uploads``); a failed upload changes nothing else. Uploads are their own namespace:
a name that a corpus document holds (or the catalog describes) is stored as ``名称（上传）.txt``,
so an upload never replaces a corpus document nor takes its catalog title and authors. One upload
at a time per state folder (the ingest write lock): the same content sent twice at once under two
names is indexed once. Files are copied and hashed in blocks, never read whole for that.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .ingest import IngestSummary
from .loaders import SUPPORTED, file_sha256


@dataclass
class DocRow:
    source: str
    title: str
    authors: str
    chunks: int
    ingested: str
    origin: str


class UploadError(ValueError):
    """An upload refused before it reaches the index."""


def safe_name(name: str) -> str:
    """A file name safe to store: no folders, no control or shell characters, bounded length."""
    name = unicodedata.normalize("NFC", Path(str(name).replace("\\", "/")).name)
    stem, ext = Path(name).stem, Path(name).suffix.lower()
    stem = re.sub(r"[^\w\u3400-\u9fff\-]+", "_", stem).strip("._") or "upload"
    return f"{stem[:80]}{ext}"


def list_documents(system) -> list[DocRow]:
    ingestor = system.ingestor
    rows = []
    for rec in sorted(system.store.file_records().values(), key=lambda r: r.source):
        origin = "上传" if ingestor.origin(rec) == "upload" else "资料库"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rec.ingested_at))
        rows.append(DocRow(rec.source, rec.title, rec.authors, rec.chunks, when, origin))
    return rows


_BLOCK = 1 << 20


def _stage(src: Path, folder: Path) -> tuple[Path, str]:
    """Copy ``src`` into a unique ``.part`` file in ``folder``, hashing it on the way."""
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
            out.write(block)
    return Path(tmp), h.hexdigest()


def corpus_names(system) -> set[str]:
    """Names an upload may not take: the catalog's, the corpus folder's, and registered corpus files'."""
    folder = Path(system.settings.corpus.path)
    names = set(system.catalog.documents)
    if folder.is_dir():
        names |= {f.name for f in folder.iterdir() if f.is_file()}
    names |= {r.source for r in system.store.file_records().values() if system.ingestor.origin(r) != "upload"}
    return names


def upload_name(name: str, sha: str, folder: Path, taken: set[str]) -> str:
    """The stored name of an upload: its own name, ``名称（上传）`` when a corpus document holds that
    name, and a numbered name when another uploaded file (different content) already has it."""
    stem, ext = Path(name).stem, Path(name).suffix
    base = f"{stem}（上传）" if name in taken else stem
    for n in range(1, 1000):
        candidate = f"{base}{ext}" if n == 1 else f"{base}-{n}{ext}"
        dest = folder / candidate
        if candidate not in taken and (not dest.exists() or file_sha256(dest) == sha):
            return candidate
    raise UploadError(f"{name}: 同名上传文件过多")


def add_uploads(system, files: list[str | Path], progress: bool = False) -> IngestSummary:
    """Copy uploaded files into the state folder and ingest them; refused files are reported."""
    limit = system.settings.app.max_upload_mb
    folder = system.ingestor.uploads
    folder.mkdir(parents=True, exist_ok=True)
    with system.ingestor.lock.hold():  # naming, copying and indexing: one upload at a time
        taken = corpus_names(system)
        accepted: list[Path] = []
        refused: dict[str, str] = {}
        for f in files:
            src = Path(f)
            name = safe_name(src.name)
            if Path(name).suffix not in SUPPORTED:
                refused[name] = f"{name}: 不支持的文件类型（支持 {', '.join(SUPPORTED)}）"
                continue
            if src.stat().st_size > limit * 1024 * 1024:
                refused[name] = f"{name}: 文件过大（上限 {limit} MB）"
                continue
            staged, sha = _stage(src, folder)
            try:
                dest = folder / upload_name(name, sha, folder, taken)
            except UploadError as exc:
                staged.unlink(missing_ok=True)
                refused[name] = str(exc)
                continue
            staged.replace(dest)
            accepted.append(dest)
        summary = (
            system.ingestor.ingest(accepted, prune=False, progress=progress, origin="upload") if accepted else IngestSummary()
        )
        owned = {Path(r.path).name for r in system.store.file_records().values() if r.path}
        for name in list(summary.failed) + list(summary.duplicates):
            if name not in owned:
                (folder / name).unlink(missing_ok=True)  # a failed or duplicate upload leaves nothing behind
    summary.failed.update(refused)
    return summary


def delete_document(system, source: str) -> int:
    """Remove a document's chunks and record (and its uploaded copy, if any)."""
    with system.ingestor.lock.hold():
        rec = system.store.file_records().get(source)
        n = system.store.remove_file(source)
        if rec is not None and system.ingestor.origin(rec) == "upload" and rec.path:
            (system.ingestor.uploads / Path(rec.path).name).unlink(missing_ok=True)
        system.store.bump_generation()
    return n

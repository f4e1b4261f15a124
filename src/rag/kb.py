"""The knowledge base as users manage it: list, upload, delete documents.

Uploads are size-limited, their names sanitised, and they are stored under the state folder
only (``<home>/uploads``); a failed upload changes nothing else.
"""

from __future__ import annotations

import re
import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .ingest import IngestSummary
from .loaders import SUPPORTED


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
    uploads = (system.settings.home / "uploads").resolve()
    rows = []
    for rec in sorted(system.store.file_records().values(), key=lambda r: r.source):
        origin = "上传" if rec.path and Path(rec.path).is_relative_to(uploads) else "资料库"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rec.ingested_at))
        rows.append(DocRow(rec.source, rec.title, rec.authors, rec.chunks, when, origin))
    return rows


def add_uploads(system, files: list[str | Path], progress: bool = False) -> IngestSummary:
    """Copy uploaded files into the state folder and ingest them; refused files are reported."""
    limit = system.settings.app.max_upload_mb
    folder = system.settings.home / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
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
        dest = folder / name
        if dest.exists() and dest.read_bytes() != src.read_bytes():
            dest = folder / f"{Path(name).stem}-{int(time.time())}{Path(name).suffix}"
        staged = dest.with_name(dest.name + ".part")
        shutil.copyfile(src, staged)
        staged.replace(dest)
        accepted.append(dest)
    summary = system.ingestor.ingest(accepted, prune=False, progress=progress) if accepted else IngestSummary()
    for name in list(summary.failed) + list(summary.duplicates):
        (folder / name).unlink(missing_ok=True)  # a failed or duplicate upload leaves nothing behind
    summary.failed.update(refused)
    return summary


def delete_document(system, source: str) -> int:
    """Remove a document's chunks and record (and its uploaded copy, if any)."""
    n = system.store.remove_file(source)
    (system.settings.home / "uploads" / safe_name(source)).unlink(missing_ok=True)
    system.store.bump_generation()
    return n

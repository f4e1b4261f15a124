"""Files -> raw documents (text + file facts). Supports .txt, .md, .pdf (text layer), .docx.

Text encodings are detected: UTF-8 (with or without BOM), then GB18030 (a superset of GBK and
GB2312), then charset-normalizer's best guess. Every failure is a ``LoadError`` naming the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

SUPPORTED = (".txt", ".md", ".pdf", ".docx")


class LoadError(Exception):
    """A file that cannot be read as a document; the message names the file and the reason."""


@dataclass
class RawDocument:
    path: Path
    text: str
    sha256: str
    encoding: str

    @property
    def source(self) -> str:
        return self.path.name


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode text bytes; returns (text, encoding)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnicodeDecodeError("unknown", data[:1], 0, 1, "no text encoding fits")
    return str(best), best.encoding


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        raise LoadError(f"{path.name}: 加密的 PDF 无法读取 (encrypted PDF)")
    pages = [page.extract_text() or "" for page in reader.pages]
    # Form feeds mark page breaks; cleaning rejoins the sentences they cut.
    return "\f".join(pages)


def _read_docx(path: Path) -> str:
    import docx

    from .docx_title import docx_title

    document = docx.Document(str(path))
    title, title_para = docx_title(document, path)
    lines = [f"# {title}"]
    for i, para in enumerate(document.paragraphs):
        if i == title_para:
            continue
        style = (para.style.name or "").lower() if para.style is not None else ""
        text = para.text.strip()
        if text and style.startswith("heading"):
            level = "".join(ch for ch in style if ch.isdigit()) or "1"
            text = "#" * min(int(level), 6) + " " + text
        lines.append(text)
    for table in document.tables:
        for row in table.rows:
            lines.append(" ".join(cell.text.strip() for cell in row.cells))
    return "\n\n".join(lines)


def file_sha256(path: str | Path, block: int = 1 << 20) -> str:
    """A file's SHA-256, read in 1 MiB blocks (never the whole file in memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while data := f.read(block):
            h.update(data)
    return h.hexdigest()


def load_file(path: str | Path, *, max_mb: float = 50.0) -> RawDocument:
    """Read one file; raise ``LoadError`` with a clear reason if it is not a usable document.
    The size is checked before anything is read; a PDF or Word file is hashed in blocks and read
    by its parser, a text file is read once (its bytes are decoded whole, then dropped)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        raise LoadError(f"{path.name}: 不支持的文件类型 {ext or '(无扩展名)'}（支持 {', '.join(SUPPORTED)}）")
    try:
        size = path.stat().st_size
        if size > max_mb * 1024 * 1024:
            raise LoadError(f"{path.name}: 文件过大 ({size / 1e6:.1f} MB > {max_mb} MB)")
        if ext in (".txt", ".md"):
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
        else:
            data, sha = b"", file_sha256(path)
    except OSError as exc:
        raise LoadError(f"{path.name}: 无法读取文件 ({exc.strerror or exc})") from exc
    encoding = "binary"
    try:
        if ext in (".txt", ".md"):
            if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise LoadError(f"{path.name}: 不是文本文件（含二进制内容）")
            text, encoding = decode_bytes(data)
            del data
        elif ext == ".pdf":
            text = _read_pdf(path)
        else:
            text = _read_docx(path)
    except LoadError:
        raise
    except Exception as exc:  # corrupt PDF/DOCX, undecodable text, ...
        raise LoadError(f"{path.name}: 文件已损坏或无法解析 ({type(exc).__name__}: {exc})") from exc
    if not text.strip():
        raise LoadError(f"{path.name}: 文件中没有可提取的文字（扫描版 PDF 需先做 OCR）")
    return RawDocument(path=path, text=text, sha256=sha, encoding=encoding)


def discover(paths: list[str | Path], extensions: list[str] | tuple[str, ...] = SUPPORTED) -> list[Path]:
    """Expand folders into the files they hold (sorted); files given by name are kept as they are."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in extensions))
        else:
            found.append(p)
    return found

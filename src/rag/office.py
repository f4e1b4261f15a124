"""Word and Excel files, written one way for every output (quiz papers, digests, timelines, batch
answers): an A4 page set in a Chinese serif face, with the East-Asian font set as well (python-docx
sets only the Latin one, and Word then shows Chinese text in a fallback face); paragraphs, citation
lines and page numbers; a worksheet from a header and rows. Every file is saved to a temporary file
beside the target and renamed over it, so a failed write never leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

FONT = "宋体"  # SimSun on Windows; LibreOffice substitutes its own serif CJK face


def document():
    """An empty A4 Word document with 2 cm margins, its text and headings set in ``FONT``."""
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    d = docx.Document()
    sec = d.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.left_margin = sec.right_margin = Mm(20)
    sec.top_margin = sec.bottom_margin = Mm(20)
    for name in ("Normal", "Title", "Heading 1", "Heading 2"):
        st = d.styles[name]
        st.font.name = FONT
        st.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
        if name == "Normal":
            st.font.size = Pt(11)
            st.paragraph_format.space_after = Pt(3)
    return d


def para(d, text: str, bold: bool = False, center: bool = False, size: float | None = None, indent_mm: float = 0):
    """One paragraph of a single run; returns it (for keep-with-next, spacing)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    p = d.add_paragraph()
    run = p.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if indent_mm:
        p.paragraph_format.left_indent = Mm(indent_mm)
    return p


def title(d, text: str, size: float = 18):
    """The document's title line: bold and centred."""
    return para(d, text, bold=True, center=True, size=size)


def source_line(d, label: str, size: float = 9):
    """出处：<citation label>, indented under the passage it cites."""
    return para(d, f"出处：{label}", indent_mm=6, size=size)


def page_numbers(d) -> None:
    """第 N 页 centred in the footer (a PAGE field Word and LibreOffice fill in)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    p = d.sections[0].footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run("第 ")
    run = p.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == "PAGE":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = " PAGE "
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)
    p.add_run(" 页")


def workbook(sheet: str, header: Sequence, rows: Iterable[Sequence], widths: Sequence[float] = ()):
    """A workbook of one sheet: ``header`` then ``rows``; ``widths`` of columns A, B, … in characters."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    for k, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(k)].width = width
    return wb


def output_path(path: str | Path, supported: Sequence[str], error: type[Exception] = ValueError) -> tuple[Path, str]:
    """The file to write and its (lower-case) extension, checked before any work: an extension not
    in ``supported``, a folder, or a folder that cannot be created or written to raises ``error``
    with a one-line Chinese message. The folder is created."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in supported:
        raise error(f"不支持的输出格式 {ext or '（无扩展名）'}（支持 {'、'.join(supported)}）")
    if path.is_dir():
        raise error(f"输出路径 {path} 是文件夹，请给出文件名")
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise error(f"无法写入输出文件夹：{blocker} 是文件而不是文件夹")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".rag-write-test-", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise error(f"无法写入输出文件夹 {path.parent}（{exc.strerror or type(exc).__name__}）") from exc
    return path, ext


def save(doc, path: str | Path) -> Path:
    """Save a Word document or a workbook to ``path`` through a temporary file renamed over it."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        doc.save(str(tmp))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

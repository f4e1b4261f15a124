"""The one Word/Excel writer (src/rag/office.py): A4 with the East-Asian font set, citation lines,
worksheets, checked output paths and atomic saves."""

from __future__ import annotations

import docx
import openpyxl
import pytest
from docx.oxml.ns import qn
from docx.shared import Mm

from rag import office


def test_document_is_a4_in_a_chinese_face(tmp_path):
    d = office.document()
    office.title(d, "标题")
    office.source_line(d, "《文献》，第 3 页")
    path = office.save(d, tmp_path / "a.docx")
    back = docx.Document(str(path))
    sec = back.sections[0]
    assert abs(sec.page_width - Mm(210)) < Mm(1) and abs(sec.page_height - Mm(297)) < Mm(1)  # A4 (twips)
    for name in ("Normal", "Title", "Heading 1", "Heading 2"):
        fonts = back.styles[name].element.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")) == office.FONT and fonts.get(qn("w:ascii")) == office.FONT
    title, cite = back.paragraphs
    assert title.text == "标题" and title.runs[0].bold and title.alignment == 1  # centred
    assert cite.text == "出处：《文献》，第 3 页" and abs(cite.paragraph_format.left_indent - Mm(6)) < Mm(0.1)


def test_workbook_header_rows_widths(tmp_path):
    wb = office.workbook("表", ["甲", "乙"], [[1, "x"], [2, "y"]], (6, 40))
    office.save(wb, tmp_path / "a.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "a.xlsx").active
    assert ws.title == "表" and list(ws.iter_rows(values_only=True)) == [("甲", "乙"), (1, "x"), (2, "y")]
    assert ws.column_dimensions["A"].width == 6 and ws.column_dimensions["B"].width == 40


def test_a_failed_save_keeps_the_old_file_and_leaves_no_part(tmp_path):
    path = tmp_path / "a.docx"
    path.write_bytes(b"old")

    class Broken:
        def save(self, name):
            with open(name, "wb") as fh:
                fh.write(b"half")
            raise OSError("disk full")

    with pytest.raises(OSError):
        office.save(Broken(), path)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.docx"]


def test_output_path_refuses_before_any_work(tmp_path):
    class Refused(ValueError):
        pass

    assert office.output_path(tmp_path / "新" / "a.DOCX", (".docx",), Refused) == (tmp_path / "新" / "a.DOCX", ".docx")
    assert (tmp_path / "新").is_dir()
    with pytest.raises(Refused, match=r"不支持的输出格式 \.pdf（支持 \.docx、\.md）"):
        office.output_path(tmp_path / "a.pdf", (".docx", ".md"), Refused)
    (tmp_path / "d.docx").mkdir()
    with pytest.raises(Refused, match="是文件夹"):
        office.output_path(tmp_path / "d.docx", (".docx",), Refused)
    (tmp_path / "f").write_text("x")
    with pytest.raises(Refused, match="是文件而不是文件夹"):
        office.output_path(tmp_path / "f" / "a.docx", (".docx",), Refused)

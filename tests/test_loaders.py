import pytest

from minipdf import make_pdf
from rag.loaders import LoadError, decode_bytes, discover, load_file


def test_utf8_gbk_and_bom(tmp_path):
    text = "未来产业具有前瞻性、战略性、颠覆性等特点。"
    for enc, data in {
        "utf-8": text.encode(),
        "gb18030": text.encode("gbk"),
        "utf-8-sig": b"\xef\xbb\xbf" + text.encode(),
    }.items():
        decoded, found = decode_bytes(data)
        assert decoded == text and found == enc


def test_unsupported_and_corrupt_files_raise_named_errors(tmp_path):
    bad = tmp_path / "table.xls"
    bad.write_bytes(b"junk")
    with pytest.raises(LoadError, match="table.xls"):
        load_file(bad)
    pdf = tmp_path / "broken.pdf"
    pdf.write_bytes(b"%PDF-1.4 this is not really a pdf")
    with pytest.raises(LoadError, match="broken.pdf"):
        load_file(pdf)
    docx = tmp_path / "broken.docx"
    docx.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(LoadError, match="broken.docx"):
        load_file(docx)
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    with pytest.raises(LoadError, match="empty.txt"):
        load_file(empty)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(LoadError, match="binary.txt"):
        load_file(binary)


def test_oversized_file_refused(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("字" * 400_000, encoding="utf-8")
    with pytest.raises(LoadError, match="过大"):
        load_file(big, max_mb=1)


def test_docx_headings_and_text(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("一、测试标题", level=1)
    d.add_paragraph("新质生产力是创新起主导作用的先进生产力质态。")
    d.save(tmp_path / "t.docx")
    doc = load_file(tmp_path / "t.docx")
    assert "# 一、测试标题" in doc.text and "新质生产力" in doc.text
    # a real PDF with a text layer (written by tests/minipdf.py): one form feed between pages
    (tmp_path / "t.pdf").write_bytes(make_pdf([["第一页：新质生产力。"], [], ["第三页：未来产业。"]]))
    doc = load_file(tmp_path / "t.pdf")
    assert [page.strip() for page in doc.text.split("\f")] == ["第一页：新质生产力。", "", "第三页：未来产业。"]


def test_discover_expands_folders(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "b.md").write_text("y")
    (tmp_path / "c.png").write_bytes(b"z")
    assert [p.name for p in discover([tmp_path])] == ["a.txt", "b.md"]

"""Topic digests (src/rag/digest.py): relevance from retrieval + answerability, sections per
document, speech excerpts in date order, verbatim passages with citations, A4 Word with a TOC."""

from __future__ import annotations

import docx
import pytest
from click.testing import CliRunner

from rag import digest as D

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digest(corpus_system):
    return D.build_digest(corpus_system, "新质生产力")


def test_counts_and_sections(digest, corpus_system):
    assert 0 < digest.included < digest.considered <= digest.indexed == corpus_system.store.count()
    assert digest.included == sum(len(s.items) for s in digest.sections)
    assert f"共判定 {digest.considered} 段" in digest.summary() and f"收录 {digest.included} 段" in digest.summary()
    first = digest.sections[0]
    assert first.speeches and first.title == "习近平总书记关于未来产业的重要论述30则"
    dates = [it.passage.metadata["speech_date"] for it in first.items]
    assert dates == sorted(dates)
    assert all(it.heading.endswith(it.passage.metadata["occasion"]) for it in first.items)
    assert len({(s.items[0].passage.metadata["source"], s.title) for s in digest.sections}) == len(digest.sections)


def test_items_are_verbatim_with_their_citation(digest):
    for s in digest.sections:
        for it in s.items:
            assert it.text and it.text in it.passage.text  # verbatim (a shared overlap sentence printed once)
            assert it.citation.title == it.passage.metadata["title"] and it.citation.text == it.passage.text


def test_docx_is_a4_with_toc_and_citations(digest, tmp_path):
    from rag.render import source_label

    path = D.export(digest, tmp_path / "汇编.docx")
    d = docx.Document(str(path))
    sec = d.sections[0]
    assert (round(sec.page_width.mm), round(sec.page_height.mm)) == (210, 297)
    texts = [p.text for p in d.paragraphs]
    assert texts[0] == "学习材料汇编：新质生产力" and "目录" in texts
    toc = texts.index("目录")
    assert texts[toc + 1].startswith("一、《习近平总书记关于未来产业的重要论述30则》")
    labels = [t for t in texts if t.startswith("出处：")]
    assert len(labels) == digest.included
    assert labels[0] == "出处：" + source_label(digest.sections[0].items[0].citation, str)
    assert "PAGE" in d.sections[0].footer._element.xml


def test_markdown(digest, tmp_path):
    md = D.export(digest, tmp_path / "汇编.md").read_text(encoding="utf-8")
    assert md.startswith("# 学习材料汇编：新质生产力") and "## 目录" in md and md.count("出处：") == digest.included


def test_unrelated_topic_and_bad_input(corpus_system, tmp_path):
    with pytest.raises(D.DigestError, match="没有论及"):
        D.build_digest(corpus_system, "红烧肉的做法")
    with pytest.raises(D.DigestError):
        D.build_digest(corpus_system, "新质生产力", ["没有这个文档"])
    with pytest.raises(D.DigestError):
        D.build_digest(corpus_system, "")
    only = D.build_digest(corpus_system, "新质生产力", ["前瞻布局未来产业发展新质生产力"])
    assert [s.title for s in only.sections] == ["前瞻布局未来产业发展新质生产力"]


def test_cli_digest(corpus_system, tmp_path, monkeypatch):
    from rag.cli import cli

    monkeypatch.setenv("RAG_HOME", str(corpus_system.settings.home))
    monkeypatch.setenv("RAG_CORPUS__PATH", str(corpus_system.settings.corpus.path))
    out = tmp_path / "汇编.docx"
    r = CliRunner().invoke(cli, ["digest", "海洋", "-o", str(out)], obj={})
    assert r.exit_code == 0, r.output
    assert out.exists() and "收录" in r.output
    r = CliRunner().invoke(cli, ["digest", "红烧肉的做法", "-o", str(tmp_path / "x.md")], obj={})
    assert r.exit_code == 2 and "没有论及" in r.output

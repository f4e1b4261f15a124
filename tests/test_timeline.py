"""The timeline of dated passages (src/rag/timeline.py): kinds from the vocabulary, every dated
passage without a topic, a topic judged by retrieval + answerability, date-order answers, outputs."""

from __future__ import annotations

import docx
import pytest
from click.testing import CliRunner

from rag import timeline as T


def test_occasion_kinds_come_from_the_vocabulary():
    assert T.occasion_kind("在浙江考察时强调") == "考察"
    assert T.occasion_kind("在河北雄安新区考察并主持召开深入推进雄安新区高质量建设和发展座谈会时强调") == "考察"
    assert T.occasion_kind("在二十届中央政治局第十一次集体学习时的讲话") == "集体学习"
    assert T.occasion_kind("在中央经济工作会议上的讲话") == "会议"
    assert T.occasion_kind("对国家级经济技术开发区工作作出重要指示强调") == "指示"
    assert T.occasion_kind("在亚太经合组织工商领导人峰会上的书面演讲") == "讲话"
    assert T.occasion_kind("") == "文章"
    kinds = [k["name"] for k in T.vocabulary()["kinds"]]
    assert set(T.kind_colors()) == set(kinds) and T.vocabulary()["article_kind"] in kinds


def test_dates_and_date_order_questions():
    assert (
        T.date_text("2024-01-31") == "2024年1月31日"
        and T.date_text("2025-11") == "2025年11月"
        and T.date_text("2026") == "2026年"
    )
    assert T.date_order_topic("新质生产力是从什么时候开始提出的？") == "新质生产力"
    assert T.date_order_topic("这些年总书记对未来产业的论述是怎么发展的？") == "未来产业"
    assert T.date_order_topic("关于人工智能的论述前后有什么变化") == "人工智能"
    assert T.date_order_topic("什么是新质生产力") is None


@pytest.mark.slow
def test_every_dated_passage_is_on_the_timeline(corpus_system):
    tl = T.build_timeline(corpus_system)
    index = corpus_system.retriever.chunks
    dated = [m for m in index.metas if T.passage_date(m)]
    assert tl.included == tl.dated == len(dated)
    speeches = [e for e in tl.entries if e.occasion]
    assert len(speeches) == 30  # the 30 dated speech excerpts, one entry each
    assert [e.when for e in tl.entries] == sorted(e.when for e in tl.entries)
    zhejiang = next(e for e in speeches if e.occasion == "在浙江考察时强调")
    assert zhejiang.date == "2020-04-01" and zhejiang.kind == "考察" and zhejiang.precise
    assert zhejiang.citations[0].occasion == "在浙江考察时强调" and zhejiang.citations[0].date == "2020-04-01"
    articles = [e for e in tl.entries if not e.occasion]
    assert {e.title for e in articles} >= {"习近平总书记指引未来产业发展", "加快推进人工智能赋能新型工业化"}
    assert all(e.kind == "文章" for e in articles)
    assert "未来产业牵引实现高质量发展的机理与路径研究" in tl.undated_articles  # no date: not on the axis


@pytest.mark.slow
def test_topic_filter_uses_retrieval_and_answerability(corpus_system):
    ocean = T.build_timeline(corpus_system, "海洋")
    assert ocean.considered < ocean.dated and 0 < ocean.included
    assert any(e.occasion == "在二十届中央财经委员会第六次会议上的讲话" for e in ocean.entries)
    assert all("海洋" in c.text for e in ocean.entries for c in e.citations)
    xz = T.build_timeline(corpus_system, "新质生产力")
    speeches = {e.occasion for e in xz.entries if e.occasion}
    assert "在黑龙江考察时强调" in speeches and "在浙江考察时强调" not in speeches
    assert str(xz.considered) in xz.summary() and str(xz.included) in xz.summary()
    assert T.build_timeline(corpus_system, "红烧肉的做法").entries == []
    with pytest.raises(T.TimelineError):
        T.build_timeline(corpus_system, "   ")


@pytest.mark.slow
def test_date_order_answer(corpus_system):
    ans = T.date_order_answer(corpus_system, "新质生产力是从什么时候开始提出的？")
    assert not ans.refused and ans.query == "新质生产力"
    lines = [line for line in ans.answer.splitlines() if line.startswith("- ")]
    assert len(lines) == len(ans.citations) >= 5
    dates = [c.date for c in ans.citations]
    assert dates == sorted(dates, key=lambda d: T.Entry(d, "", "", "", "").when)
    for line, c in zip(lines, ans.citations, strict=False):
        assert T.date_text(c.date) in line and f"[{c.n}]" in line and (c.occasion or c.title) in line
    assert "2023年9月8日，在黑龙江考察时强调" in ans.answer
    assert T.date_order_answer(corpus_system, "红烧肉是从什么时候开始提出的？").refused


@pytest.mark.slow
def test_outputs_md_docx_png(corpus_system, tmp_path):
    tl = T.build_timeline(corpus_system, "人工智能")
    md = T.export(tl, tmp_path / "时间线.md").read_text(encoding="utf-8")
    assert md.startswith("# 论述时间线：人工智能") and "2025年4月25日" in md and "习近平" in md
    d = docx.Document(str(T.export(tl, tmp_path / "时间线.docx")))
    assert round(d.sections[0].page_width.mm) == 210 and round(d.sections[0].page_height.mm) == 297
    assert any("出处：《" in p.text for p in d.paragraphs)
    png = T.export(tl, tmp_path / "时间线.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    from rag.timeline_chart import figure

    fig = figure(tl)
    assert {t.get_text() for t in fig.axes[0].get_yticklabels()} == set(tl.kinds())
    with pytest.raises(T.TimelineError):
        T.export(tl, tmp_path / "时间线.txt")


@pytest.mark.slow
def test_cli_timeline(corpus_system, tmp_path, monkeypatch):
    from rag.cli import cli

    monkeypatch.setenv("RAG_HOME", str(corpus_system.settings.home))
    monkeypatch.setenv("RAG_CORPUS__PATH", str(corpus_system.settings.corpus.path))
    runner = CliRunner()
    out = tmp_path / "t.png"
    r = runner.invoke(cli, ["timeline", "--topic", "未来产业", "-o", str(out)], obj={})
    assert r.exit_code == 0, r.output
    assert out.exists() and "主题“未来产业”" in r.output
    r = runner.invoke(cli, ["timeline", "--question", "新质生产力是从什么时候开始提出的？"], obj={})
    assert r.exit_code == 0 and "在黑龙江考察时强调" in r.output and "**来源**" in r.output
    r = runner.invoke(cli, ["timeline", "-o", str(tmp_path / "t.pdf")], obj={})
    assert r.exit_code == 2 and "不支持的输出格式" in r.output


@pytest.mark.slow
def test_tab_handlers(corpus_system):
    """The 时间线 tab's callbacks in-process: the figure, one table row per entry, a row's passages
    with their citations; the 汇编 button's file."""
    import matplotlib.figure

    from rag.handlers import DigestHandlers, TimelineHandlers

    h = TimelineHandlers(corpus_system)
    status, fig, rows, entries, _ = h.show("")
    assert isinstance(fig, matplotlib.figure.Figure) and len(rows) == len(entries) >= 36 and "共" in status
    status, fig, rows, entries, _ = h.show("海洋")
    assert "主题“海洋”" in status and rows[0][0] == entries[0].date_label

    from types import SimpleNamespace

    html = h.select(entries, SimpleNamespace(index=(0, 2)))
    assert "<mark>" in html and entries[0].citations[0].title in html and "海洋" in html
    status, *_ = h.show("x" * 5000)
    assert status.startswith("⚠") and "过长" in status
    msg, files, preview = DigestHandlers(corpus_system).digest("海洋", [], "docx")
    assert files and files[0].endswith(".docx") and "收录" in msg and "目录" in preview
    msg, files, _ = DigestHandlers(corpus_system).digest("", [], "docx")
    assert files is None and "主题" in msg

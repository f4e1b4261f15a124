"""The one citation label, and the page it names from a real PDF through Chroma to the answer's
sources and a quiz export."""

import pytest

from minipdf import make_pdf
from rag.citation import GAP, Citation, join_quoted, label, meta_label, page_label


def test_label_parts_in_order_with_the_page():
    article = Citation(
        source="a.pdf", title="培育壮大新兴产业和未来产业", authors="魏楚", section="一、总体要求", date="2025-12", page=53
    )
    assert label(article) == "《培育壮大新兴产业和未来产业》，魏楚，2025-12，一、总体要求，第 53 页"
    speech = Citation(
        title="重要论述30则",
        authors="习近平",
        section="第2则 在浙江考察时强调（2020年4月1日）",
        occasion="在浙江考察时强调",
        date="2020-04-01",
        page=2,
    )
    assert label(speech) == "《重要论述30则》，习近平，在浙江考察时强调（2020-04-01），第 2 页"  # occasion, not section


def test_no_page_no_page_label():
    assert label(Citation(source="upload.docx", title="")) == "《upload.docx》"  # the file name stands in for a title
    assert "页" not in meta_label({"title": "银发经济", "authors": "林宝", "section": "一、"})
    assert page_label(None) == page_label(0) == page_label("") == ""
    assert page_label(7) == page_label(7.0) == "第 7 页"


def test_label_escapes_each_part():
    assert label(Citation(title="<b>标题</b>", page=3), esc=lambda s: s.replace("<", "&lt;")) == "《&lt;b>标题&lt;/b>》，第 3 页"


def test_one_citation_for_answers_and_quiz_items():
    """An answer's source and a quiz item's source are the same Citation, built one way from chunk
    metadata; the quiz JSON keeps its keys (the quoted sentence as ``sentence``)."""
    from rag.answer import Citation as AnswerCitation
    from rag.quiz import QuizItem
    from rag.retrieve import Passage

    meta = {"source": "a.txt", "title": "标题", "authors": "作者", "occasion": "考察", "speech_date": "2020-04-01", "page": "3"}
    c = Citation.of(2, Passage("id1", "全文。", meta, 0.5, 1), "全文。")
    assert AnswerCitation is Citation
    assert (c.n, c.date, c.page, c.text, c.passage_id) == (2, "2020-04-01", 3, "全文。", "id1")
    assert Citation.of_meta(meta, "全文。", 2, "全文。", "id1") == c
    item = QuizItem("judge", "全文。", "正确", citation=Citation.of_meta(meta, "全文。"))
    assert item.to_dict()["citation"] == {
        "source": "a.txt",
        "title": "标题",
        "authors": "作者",
        "section": "",
        "occasion": "考察",
        "date": "2020-04-01",
        "sentence": "全文。",
        "page": 3,
    }


PAGES = [
    ["银发经济发展报告", "本报告介绍银发经济的概念和意义。"],
    ["一、概念", "银发经济是向老年人提供产品或服务，以及为老龄阶段做准备等一系列经济活动的总和。"],
    ["二、意义", "发展银发经济是积极应对人口老龄化的客观要求。"],
]


@pytest.mark.slow
def test_pdf_page_travels_to_answer_sources_and_exports(settings, tmp_path):
    """A PDF made here, ingested by the real pipeline into Chroma: the answer's sources (answer
    Markdown, the app's panel and chat bubble, the copied text) and a quiz export name 第 2 页."""
    import docx

    from rag.exports import export
    from rag.quiz import QuizItem
    from rag.render import answer_markdown, answer_plain, message_markdown, sources_html
    from rag.system import build_system

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "silver.pdf").write_bytes(make_pdf(PAGES))
    s = settings.model_copy(update={"corpus": settings.corpus.model_copy(update={"path": docs})})
    system = build_system(s)
    summary = system.ingestor.ingest([docs], progress=False)
    assert not summary.failed and summary.added == ["silver.pdf"]
    stored = system.store.chunks.get(include=["documents", "metadatas"])
    pages = {d: m["page"] for d, m in zip(stored["documents"], stored["metadatas"], strict=False)}
    assert pages == {
        "本报告介绍银发经济的概念和意义。": 1,
        "银发经济是向老年人提供产品或服务，以及为老龄阶段做准备等一系列经济活动的总和。": 2,
        "发展银发经济是积极应对人口老龄化的客观要求。": 3,
    }  # ints, as Chroma stores them

    ans = system.answerer.ask("银发经济是什么？")
    assert not ans.refused and ans.citations[0].page == 2
    cited = "《银发经济发展报告》，一、概念，第 2 页"
    assert ans.citations[0].label() == cited and f"[1] {cited}" in ans.markdown()
    assert cited in answer_plain(ans) and cited in sources_html(ans, 0)
    assert "第 2 页" in answer_markdown(ans) and "第 2 页" in message_markdown(ans, 0)
    assert ans.to_record("x")["citations"][0]["page"] == 2

    meta = next(m for d, m in zip(stored["documents"], stored["metadatas"], strict=False) if m["page"] == 3)
    item = QuizItem(
        "judge",
        "发展银发经济是积极应对人口老龄化的客观要求。",
        "正确",
        citation=Citation.of_meta(meta, "发展银发经济是积极应对人口老龄化的客观要求。"),
    )
    (md,) = export([item], tmp_path / "q.md")
    assert "《银发经济发展报告》，二、意义，第 3 页" in md.read_text(encoding="utf-8")
    paper, key = export([item], tmp_path / "q.docx")
    assert "出处：《银发经济发展报告》，二、意义，第 3 页" in [p.text for p in docx.Document(str(key)).paragraphs]


def test_citation_marks_read_and_stripped_one_way():
    from rag.citation import MARK, strip_marks
    from rag.metrics import strip_markers

    assert MARK.findall("甲[1]乙[12][3]") == ["1", "12", "3"]
    assert strip_marks("甲[1]乙[12]") == strip_markers("甲[1]乙[12]") == "甲乙" and strip_marks(None) == ""


def test_quoted_sentences_apart_are_marked_as_a_gap():
    passage = "甲是一。乙是二。\n丙是三。丁是四。"
    assert join_quoted(passage, ["甲是一。", "乙是二。", "丙是三。"]) == "甲是一。乙是二。丙是三。"  # a line break is no gap
    assert join_quoted(passage, ["甲是一。", "丙是三。"]) == f"甲是一。{GAP}丙是三。"
    assert join_quoted(passage, ["丁是四。", "甲是一。"]) == f"丁是四。{GAP}甲是一。"  # out of order
    assert join_quoted(passage, ["甲是一。", "戊不在。", "乙是二。"]) == f"甲是一。{GAP}戊不在。{GAP}乙是二。"
    assert join_quoted(passage, ["戊不在。", "己不在。"]) == f"戊不在。{GAP}己不在。"  # neither found: no run claimed
    # a table's rows keep their lines
    table = "如表所示。\n特征 | 甲 | 乙\n周期 | 早 | 晚"
    assert join_quoted(table, ["特征 | 甲 | 乙", "周期 | 早 | 晚"]) == "特征 | 甲 | 乙\n周期 | 早 | 晚"

"""Quiz generation and exports, on the real indexed corpus."""

import json
import re

import pytest

from rag.exports import export
from rag.metrics import norm
from rag.quiz import BLANK, KINDS, QuizError, build_quiz, corpus_builder, key_points, zh_punct

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quiz(corpus_system):
    return build_quiz(corpus_system, n=40, seed=11)


def test_items_answerable_from_their_own_citation(quiz):
    assert len(quiz) == 40
    for it in quiz:
        c = it.citation
        assert c and c.title and c.source and c.quote
        if it.type == "fill":
            assert BLANK in it.question and it.answer in c.quote
            assert it.question.replace(BLANK, it.answer) == zh_punct(c.quote)
        if it.type == "choice" and "出自哪次讲话" in it.question:
            assert it.options["ABCD".index(it.answer)] == c.occasion
        elif it.type == "choice":
            key = it.options["ABCD".index(it.answer)]
            assert key in c.quote and it.question.replace(BLANK, key) == zh_punct(c.quote)


def test_distractors_differ_and_are_not_correct_in_the_source(quiz):
    for it in (i for i in quiz if i.type == "choice"):
        key = it.options["ABCD".index(it.answer)]
        assert len(set(it.options)) == 4
        for o in it.options:
            if o != key:
                assert o not in it.citation.quote


def test_distractors_are_of_the_same_kind(quiz):
    kinds = {t: k for k, terms in KINDS.items() for t in terms}
    for it in (i for i in quiz if i.type == "choice" and "出自哪次讲话" not in i.question):
        key = it.options["ABCD".index(it.answer)]
        if key in kinds:
            assert all(kinds.get(o) == kinds[key] for o in it.options)
        elif re.fullmatch(r"\d{4}年.*", key):
            assert all(re.fullmatch(r"\d{4}年.*", o) for o in it.options)


def test_true_false_items_flip_correctly(quiz):
    judges = [i for i in quiz if i.type == "judge"]
    assert {i.answer for i in judges} <= {"正确", "错误"}
    for it in judges:
        if it.answer == "正确":
            assert it.question == zh_punct(it.citation.quote)
        else:
            term, swap = re.match(r"原文为“(.+?)”而非“(.+?)”", it.explanation).groups()
            assert it.question == zh_punct(it.citation.quote.replace(term, swap, 1)) != zh_punct(it.citation.quote)
            kinds = {t: k for k, terms in KINDS.items() for t in terms}
            assert kinds[term] == kinds[swap] and not re.search(r"\d", term)  # never a year or a number
    assert 0.35 <= sum(i.answer == "错误" for i in judges) / len(judges) <= 0.65


def test_short_answers_have_points(quiz):
    shorts = [i for i in quiz if i.type == "short"]
    for it in shorts:
        assert 2 <= len(it.points) <= 5
        source = norm(it.answer + it.citation.occasion + it.citation.date)
        assert all(norm(p) in source for p in it.points), it.points  # each a phrase of the reference
    assert len({i.citation.source for i in shorts}) >= min(len(shorts), 4)  # spread over documents


def test_key_points_are_whole_phrases():
    ref = "发展未来产业要抓好三件事：一是夯实技术策源基础；二是梯次布局产业发展；三是培育国际合作与竞争新优势。"
    assert key_points(ref) == ["夯实技术策源基础", "梯次布局产业发展", "培育国际合作与竞争新优势"]
    assert key_points("只有一句话而已。") == []


def test_full_width_punctuation():
    assert zh_punct("总体上,未来产业(简称)发展;增长2.5%,共1,000家") == "总体上，未来产业（简称）发展；增长2.5%，共1,000家"


def test_quiz_check_passes_over_five_seeds(corpus_system):
    from rag.quiz_check import check_seeds

    r = check_seeds(corpus_system, [1, 2, 3, 4, 5], 20)
    assert r["items"] == 100 and r["share"] >= 0.95, r["failures"][:5]


def test_check_catches_bad_items(corpus_system):
    from rag.citation import Citation
    from rag.quiz import QuizItem
    from rag.quiz_check import check_quiz

    b = corpus_builder(corpus_system)
    sent = "2022年我国集成电路进口额超过4000亿美元，在主要进口商品中排第一位，是我国关键核心技术“卡脖子”的具体表征之一。"
    cite = Citation(source="x.txt", title="t", quote=sent)
    wrong_kind = QuizItem(
        "choice", sent.replace("集成电路", BLANK), "A", ["集成电路", "元宇宙", "类脑智能", "合成生物"], citation=cite
    )
    year_swap = QuizItem(
        "judge", sent.replace("2022年", "2023年"), "错误", explanation="原文为“2022年”而非“2023年”。", citation=cite
    )
    checks = check_quiz([wrong_kind, year_swap], b)
    assert any("不同类" in p for p in checks[0].problems)
    assert checks[1].problems and any("同一句" in p for p in checks[1].problems)


def test_no_duplicates_spread_and_reproducible(corpus_system, quiz):
    assert len({it.question for it in quiz}) == len(quiz)
    assert len({it.citation.source for it in quiz}) == 5
    again = build_quiz(corpus_system, n=40, seed=11)
    assert [i.question for i in again] == [i.question for i in quiz]
    other = build_quiz(corpus_system, n=40, seed=12)
    assert [i.question for i in other] != [i.question for i in quiz]


def test_filters_and_bad_types(corpus_system):
    items = build_quiz(corpus_system, n=5, docs=["004_5a518f614c3346c7.txt"], types=("fill",))
    assert items and all(i.citation.source.startswith("004") and i.type == "fill" for i in items)
    items = build_quiz(corpus_system, n=5, topic="银发经济")
    assert items and all("银发经济" in (i.citation.quote + i.citation.section + i.citation.title) for i in items)
    with pytest.raises(QuizError):
        build_quiz(corpus_system, types=("essay",))
    with pytest.raises(QuizError):
        build_quiz(corpus_system, topic="不存在的主题词")


def test_exports_open_and_contain_every_item(quiz, tmp_path):
    import docx
    import openpyxl

    paper, key = export(quiz, tmp_path / "q.docx", "测试卷")
    paper_text = "\n".join(p.text for p in docx.Document(str(paper)).paragraphs)
    key_text = "\n".join(p.text for p in docx.Document(str(key)).paragraphs)
    for it in quiz:
        assert it.question in paper_text
        assert norm(it.citation.title) in norm(key_text)
    assert "出处" not in paper_text  # the paper carries no answers
    assert "姓名" in paper_text and "班级" in paper_text and "得分" in paper_text and "（    ）" in paper_text
    assert re.search(r"一、填空题（每题 \d+ 分，共 \d+ 分）", paper_text)
    assert "说明：原文为" in key_text  # why a statement is false
    from docx.shared import Mm

    sec = docx.Document(str(paper)).sections[0]
    assert abs(sec.page_width - Mm(210)) < Mm(1) and abs(sec.page_height - Mm(297)) < Mm(1)  # A4
    (xlsx,) = export(quiz, tmp_path / "q.xlsx")
    rows = list(openpyxl.load_workbook(xlsx).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("序号", "题型", "题目", "选项", "答案") and len(rows) == len(quiz) + 1
    assert {r[2] for r in rows[1:]} == {it.question for it in quiz}
    (js,) = export(quiz, tmp_path / "q.json")
    assert len(json.loads(js.read_text(encoding="utf-8"))["items"]) == len(quiz)
    (md,) = export(quiz, tmp_path / "q.md")
    assert md.read_text(encoding="utf-8").count("—— 《") == len(quiz)
    assert "," not in "".join(it.question for it in quiz if re.search(r"[\u4e00-\u9fff],|,[\u4e00-\u9fff]", it.question))
    with pytest.raises(ValueError):
        export(quiz, tmp_path / "q.pdf")


# -- items written by a chat model are checked against their passage ------------------------
PASSAGE = "未来产业主要包括量子科技、生物制造、氢能等方向。发展未来产业是培育新质生产力的重要途径。"
META = {"source": "x.txt", "title": "测试文档", "section": "一、总体要求"}


def _check(kind, **data):
    from rag.quiz import _term_kinds, check_llm_item

    return check_llm_item({"options": [], "points": [], **data}, kind, PASSAGE, META, _term_kinds())


def test_llm_items_kept_only_when_supported_by_their_passage():
    quote = "未来产业主要包括量子科技、生物制造、氢能等方向。"
    good = _check("fill", question="未来产业主要包括____、生物制造、氢能等方向。", answer="量子科技", quote=quote)
    assert good and good.question.count(BLANK) == 1 and good.citation.quote == quote and good.citation.title == "测试文档"
    assert _check("fill", question="未来产业主要包括____、生物制造、氢能等方向。", answer="人工智能", quote=quote) is None
    assert (
        _check("fill", question="未来产业主要包括____。", answer="量子科技", quote="未来产业主要包括量子科技和核聚变。") is None
    )  # quote invented
    choice = dict(question="未来产业主要包括____、生物制造、氢能等方向。", quote=quote, answer="B")
    assert _check("choice", options=["A. 人工智能", "B. 量子科技", "C. 集成电路", "D. 数字经济"], **choice).answer == "B"
    assert (
        _check("choice", options=["人工智能", "量子科技", "氢能", "数字经济"], **choice) is None
    )  # a distractor is also correct
    assert _check("choice", options=["人工智能", "集成电路", "量子科技", "数字经济"], **choice) is None  # key letter wrong


def test_llm_judge_and_short_items_checked():
    quote = "未来产业主要包括量子科技、生物制造、氢能等方向。"
    assert _check("judge", question=quote, answer="正确", quote=quote).answer == "正确"
    false = _check("judge", question="未来产业主要包括类脑智能、生物制造、氢能等方向。", answer="错误", quote=quote)
    assert false and "原文为“量子科技”而非“类脑智能”" in false.explanation
    assert _check("judge", question="未来产业主要包括类脑智能、生物制造、氢能等方向。", answer="正确", quote=quote) is None
    assert _check("judge", question="未来产业不包括量子科技。", answer="错误", quote=quote) is None  # not a one-term swap
    short = dict(question="未来产业包括哪些方向，有何意义？", quote=quote, points=["量子科技", "新质生产力"])
    assert _check(
        "short", answer="未来产业主要包括量子科技、生物制造、氢能等方向。发展未来产业是培育新质生产力的重要途径。", **short
    )
    assert _check("short", answer="未来产业将在2030年占据国内生产总值的一半。", **short) is None  # reference not in the passage


def test_markdown_preview_numbers_items_in_sequence():
    """The web tab's preview renders this Markdown: each section is one list numbered on from the last."""
    from markdown_it import MarkdownIt

    from rag.citation import Citation
    from rag.exports import to_markdown
    from rag.quiz import QuizItem

    cite = Citation(source="x.txt", title="t", quote="原句。")
    kinds = ["fill", "choice", "judge", "short"] * 4  # built interleaved, as build_quiz returns them
    items = [
        QuizItem(
            k, f"第{n}题", "A" if k == "choice" else "正确", ["甲", "乙", "丙", "丁"] if k == "choice" else [], citation=cite
        )
        for n, k in enumerate(kinds)
    ]
    paper = to_markdown(items, "卷").split("---")[0]
    tokens = MarkdownIt().parse(paper)
    starts = [int(t.attrGet("start") or 1) for t in tokens if t.type == "ordered_list_open"]
    assert starts == [1, 5, 9, 13]  # four sections, four lists, none restarting
    depth, top_items = 0, 0
    for t in tokens:
        depth += t.nesting if t.type in ("ordered_list_open", "ordered_list_close") else 0
        top_items += t.type == "list_item_open" and depth == 1 and t.level == 1
    assert top_items == 16


def test_quiz_citations_name_the_page_of_their_passage(corpus_system, tmp_path):
    source = "001_2cece7cd2193842f.txt"
    items = build_quiz(corpus_system, n=8, seed=5, docs=[source])
    stored = corpus_system.store.chunks.get(where={"source": source}, include=["documents", "metadatas"])
    for it in items:  # the page of a passage that holds the cited sentence
        pages = {m["page"] for d, m in zip(stored["documents"], stored["metadatas"], strict=False) if it.citation.quote in d}
        assert it.citation.page in pages, it.citation.quote
    (md,) = export(items, tmp_path / "q.md")
    text = md.read_text(encoding="utf-8")
    assert len(items) == 8 and all(f"，第 {it.citation.page} 页" in text for it in items)

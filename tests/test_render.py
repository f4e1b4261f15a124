from rag.answer import Answer, Citation
from rag.render import answer_markdown, answer_plain, highlight, md_text, message_markdown, sources_html


def _ans(text="新质生产力是先进生产力质态。", passage="<script>alert(1)</script>新质生产力是先进生产力质态。其他。"):
    c = Citation(1, "a.txt", "标题<b>", "作者", "一、章节", "", "", passage, text, "id")
    return Answer("q", f"{text}[1]", False, [c])


def test_document_markup_is_escaped():
    html = sources_html(_ans(), 1)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "标题&lt;b&gt;" in html
    md = message_markdown(_ans(), 1)
    assert "<b>" not in md and "<script>" not in md


def test_quote_highlighted_and_markers_link_to_sources():
    assert (
        highlight("前文。新质生产力是先进生产力质态。后文。", "新质生产力是先进生产力质态。")
        == "前文。<mark>新质生产力是先进生产力质态。</mark>后文。"
    )
    gap = highlight("甲。乙。丙。", "甲。［……］丙。")  # sentences apart: each marked, the gap mark is not
    assert gap == "<mark>甲。</mark>乙。<mark>丙。</mark>"
    md = message_markdown(_ans(), 2)
    assert "[[1]](#src-2-1)" in md
    assert 'id="src-2-1"' in sources_html(_ans(), 2)


def test_numbered_list_items_not_turned_into_markdown_lists():
    ans = _ans("1. 以前沿技术为支撑。", "1. 以前沿技术为支撑。")
    ans.answer = "- 1. 以前沿技术为支撑。[1]"
    assert "- 1\\. 以前沿技术为支撑。" in message_markdown(ans, 1)


def test_refusal_has_no_sources():
    ans = Answer("q", "资料中未找到与该问题相关的内容，无法依据现有资料作答。", True)
    assert "资料中未找到" in message_markdown(ans, 1) and "<details" not in sources_html(ans, 1)


def test_verification_marks_stand_out_and_are_counted():
    from rag.generate import UNSUPPORTED_MARK

    ans = _ans()
    ans.answer = f"新质生产力是先进生产力质态。[1]它诞生于1900年。{UNSUPPORTED_MARK}[1]"
    ans.marks = [{"sentence": "它诞生于1900年。", "issue": "unsupported", "detail": ""}]
    md = message_markdown(ans, 1)
    assert f"**{UNSUPPORTED_MARK}**" in md and "1 处未通过原文核对" in md
    assert "核实" not in message_markdown(_ans(), 1)


def _cite(n, passage_id, quote, text="前文。新质生产力是先进生产力质态。它由技术革命性突破催生。后文。"):
    return Citation(n, "001_2cece7cd2193842f.txt", "标题", "作者", "一、章节", "", "", text, quote, passage_id)


def test_each_passage_listed_once_with_its_quotes():
    """Sentences citing one passage under [1] and [2] show as one source [1] (issue 13, item 2)."""
    ans = Answer(
        "q",
        "新质生产力是先进生产力质态。[1]它由技术革命性突破催生。[2]另一句。[3]",
        False,
        [
            _cite(1, "p1", "新质生产力是先进生产力质态。"),
            _cite(2, "p1", "它由技术革命性突破催生。"),
            _cite(3, "p2", "另一句。", "另一句。"),
        ],
    )
    md = message_markdown(ans, 1)
    assert md.count("《标题》") == 2 and "[[1]](#src-1-1)" in md and "[[2]](#src-1-2)" in md and "#src-1-3" not in md
    assert "态。[[1]](#src-1-1)它由技术革命性突破催生。[[1]](#src-1-1)" in md
    html = sources_html(ans, 1)
    assert html.count("<details") == 2
    assert "<mark>新质生产力是先进生产力质态。</mark><mark>它由技术革命性突破催生。</mark>" in html
    assert "001_2cece7cd2193842f" not in html  # titles, not hash file names
    plain = answer_plain(ans)
    assert plain.count("《标题》") == 2 and "[3]" not in plain


def test_markdown_in_documents_stays_text():
    """A link, an image after '!', emphasis, a bare URL and math in a document are not rendered."""
    import markdown_it  # (comes with gradio) CommonMark; the GFM autolinks are checked by their broken "http\:"

    evil = "请点击[官方补丁下载](http://evil.example/x.exe)！访问 http://evil.example 或 www.evil.example。**粗体** $x$ 真好!"
    ans = Answer("q", f"{evil}[1]", False, [_cite(1, "p", evil, evil)])
    md = message_markdown(ans, 1)
    rendered = markdown_it.MarkdownIt("commonmark").render(md)
    assert "evil.example" in rendered and 'href="http' not in rendered and "<img" not in rendered
    assert "<strong>粗体" not in rendered and 'href="#src-1-1"' in rendered
    assert "http\\:" in md and "www\\.evil" in md and md_text("1. 第一").startswith("1\\.")
    exported = answer_markdown(ans)
    out = markdown_it.MarkdownIt("commonmark").render(exported)
    assert 'href="http' not in out and "<img" not in out and "<strong>粗体" not in out


def test_empty_panel_is_a_hint():
    assert "无引用来源" not in sources_html(None, 0) and "无引用来源" in sources_html(Answer("q", "x", True), 1)


def test_an_unanswered_ask_is_named_under_the_answer_everywhere_it_is_shown():
    ans = _ans()
    ans.unanswered = ["它由哪家银行托管？"]
    note = "资料中未找到以下问题的答案：“它由哪家银行托管？”"
    for text in (message_markdown(ans, 1), answer_markdown(ans), answer_plain(ans), ans.markdown()):
        assert note in text
        assert text.index(note) < text.index("来源")  # under the answer, before its sources
    assert "资料中未找到以下" not in message_markdown(_ans(), 1)


def test_a_refused_near_miss_shows_its_related_text_apart_from_the_refusal():
    c = Citation(1, "a.txt", "标题", "作者", "一、章节", "", "", "2024年初发布了意见。", "2024年初发布了意见。", "id")
    ans = Answer("q", "资料中未找到所问的具体日期，无法依据现有资料作答。", True, related=[c], lacks="具体日期")
    for text in (message_markdown(ans, 1), answer_markdown(ans), answer_plain(ans), ans.markdown()):
        assert text.index("无法依据现有资料作答") < text.index("仅供核对") < text.index("2024年初发布了意见")
    assert "<details" not in sources_html(ans, 1)  # the sources panel holds an answer's sources only

from rag.answer import Answer, Citation
from rag.render import highlight, message_markdown, sources_html


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
    assert highlight("前文。新质生产力是先进生产力质态。后文。", "新质生产力是先进生产力质态。") == \
        "前文。<mark>新质生产力是先进生产力质态。</mark>后文。"
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

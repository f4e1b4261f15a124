"""Each repair shown on real snippets from the corpus."""

from rag.cleaning import clean, clean_text, remove_cjk_spaces, strip_footnotes, undouble

from conftest import read_corpus


def test_page_break_rejoins_cut_sentence():
    # 001: "加快取得更多实" / --- / "质性、突破性、系统性成果"
    raw = "要深入推进重要领域和关键环节改革，加快取得更多实\n\n---\n\n质性、突破性、系统性成果，为全国改革探索路子、贡献经验。\n"
    (p,) = clean(raw)
    assert p.text == "要深入推进重要领域和关键环节改革，加快取得更多实质性、突破性、系统性成果，为全国改革探索路子、贡献经验。"


def test_page_break_drops_word_repeated_on_both_sides():
    raw = "### **三、奋力谱写人工智能赋能新型工业化新篇章**\n\n工业和信息化部将坚持以习近平新时代中国特色社会主义思想\n\n---\n\n思想为指导，深入学习贯彻党的二十大精神。\n"
    paras = clean(raw)
    assert paras[0].kind == "heading" and paras[0].text == "三、奋力谱写人工智能赋能新型工业化新篇章"
    assert paras[1].text == "工业和信息化部将坚持以习近平新时代中国特色社会主义思想为指导，深入学习贯彻党的二十大精神。"


def test_spaces_between_chinese_removed_but_kept_in_latin():
    assert remove_cjk_spaces("陈 星 星 田 贻 萱") == "陈星星田贻萱"
    assert remove_cjk_spaces("人 才 规 模 不 断 扩 大 、结 构 不 断 优 化") == "人才规模不断扩大、结构不断优化"
    assert "Alec Ross(2016)" in clean_text("未来产业一词最早是由 Alec\n \n\nRoss(2016) [9] 提出。")
    assert remove_cjk_spaces("Key Words: Future Industry") == "Key Words: Future Industry"


def test_hard_wraps_joined_into_sentences():
    text = read_corpus("000")
    cleaned = clean_text(text)
    assert "具有前沿技术支撑、产业间关联融合、应用场景突破和经济社会多维引领等特征。" in cleaned


def test_doubled_author_names_undoubled():
    assert undouble("刘泉红刘泉红 徐建伟徐建伟") == "刘泉红 徐建伟"
    assert undouble("林林") == "林"
    head = clean_text(read_corpus("004")[:200])
    assert "刘泉红刘泉红" not in head and "林宝" in head


def test_footnote_markers_kept_out_of_text():
    text, notes = strip_footnotes("高质量发展是全面建设社会主义现代化国家的首要任务[1] 。")
    assert text == "高质量发展是全面建设社会主义现代化国家的首要任务。" and notes == ["1"]
    assert "[1]" not in clean_text(read_corpus("000"))


def test_running_headers_beside_page_breaks_removed():
    page = "未来产业研究 第{}期\n\n正文第{}页的内容继续写下去，这是一个句子。\n\n---\n\n"
    raw = "".join(page.format(1, i) for i in range(4))
    assert "未来产业研究" not in clean_text(raw)


def test_callout_repeating_body_sentence_removed_and_sentence_rejoined():
    # 003: a ● call-out box interrupts "指数级演 / 进"
    raw = (
        "未来产业呈现出“奇点”跃迁的非线性增长特征。数字技术遵循摩尔定律的指数级演\n\n● 激发超大规模市场培育未来产业优势需要高效能举国治理。\n\n"
        "进,算力成本持续下降使AI大模型训练成为可能。\n\n激发超大规模市场培育未来产业优势需要高效能举国治理。我国经济总量达到1401879亿元。\n"
    )
    cleaned = clean_text(raw)
    assert "指数级演进,算力成本持续下降" in cleaned
    assert "●" not in cleaned


def test_callout_summaries_moved_out_of_the_sentence_they_cut():
    # 003: two ● summaries sit between "也受制于工程化" and "能力、市场接受度…"
    cleaned = clean_text(read_corpus("003"))
    assert "也受制于工程化能力、市场接受度与制度适配性的综合影响。" in cleaned
    assert "● 强化未来产业顶层设计与梯度培育" in cleaned


def test_headings_recognised():
    paras = clean(read_corpus("000"))
    headings = [p.text for p in paras if p.kind == "heading"]
    assert "二、未来产业的内涵与特征" in headings and "(二)未来产业的特征" in headings
    paras = clean(read_corpus("002"))
    assert "四、中国未来产业发展存在的问题与制约因素" in [p.text for p in paras if p.kind == "heading"]


def test_attribution_lines_kept_apart():
    paras = clean(read_corpus("001"))
    attributions = [p.text for p in paras if p.kind == "attribution"]
    assert len(attributions) == 30
    assert "——在浙江考察时强调（2020年4月1日）" in attributions


def test_gbk_bytes_are_cleaned_like_utf8(tmp_path):
    from rag.loaders import load_file

    f = tmp_path / "gbk.txt"
    f.write_bytes("新质生产力是创新起主导作用的先进生产力质态。".encode("gbk"))
    doc = load_file(f)
    assert doc.encoding == "gb18030" and clean_text(doc.text).startswith("新质生产力")


def test_paragraphs_keep_their_pages_through_the_repairs():
    raw = (
        "### **一、标题**\n\n第一页的句子[1] 在这里，\n\n---\n\n第二页[2] 接着写完。第二页的新句子。\n\n"
        "---\n\n---\n\n- 第四页的列表项。\n"
    )
    head, body, item = clean(raw)
    assert (head.text, head.pages) == ("一、标题", [(0, 1)])
    assert body.text == "第一页的句子在这里，第二页接着写完。第二页的新句子。" and body.footnotes == ["1", "2"]
    assert body.pages == [(0, 1), (body.text.index("第二页接着"), 2)]  # offsets moved with the footnotes
    assert (item.kind, item.text, item.page) == ("list", "第四页的列表项。", 4)  # p.3 is empty


def test_form_feeds_are_page_breaks_and_unpaged_text_has_no_pages():
    (p,) = clean("第一页的句子，\f第二页写完。")
    assert p.text == "第一页的句子，第二页写完。" and p.pages == [(0, 1), (7, 2)]
    (p,) = clean("\f第二页开头的句子。\n")  # a form feed at the start of a line is not stripped away
    assert p.page == 2
    (p,) = clean("没有分页的文字。")
    assert p.pages == [] and p.page is None
    (p,) = clean("没有分页的 PDF 也在第一页。", paged=True)
    assert p.page == 1

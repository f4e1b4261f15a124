from minipdf import make_pdf
from rag.catalog import ArticleMeta, DocMeta, load_catalog
from rag.chunking import Chunker, count_tokens, split_sentences
from rag.settings import ChunkingSettings

from conftest import CORPUS, read_corpus


def _chunks(prefix: str, **kw):
    cat = load_catalog(CORPUS / "catalog.yaml")
    path = next(CORPUS.glob(f"{prefix}_*.txt"))
    return Chunker(ChunkingSettings(**kw)).chunk_text(path.read_text(encoding="utf-8"), path.name, cat.get(path.name))


def test_sentence_split_keeps_quotes_and_punctuation():
    s = split_sentences("要坚持“科学论证技术路线。”这一点很重要！真的吗？是的；好。")
    assert s == ["要坚持“科学论证技术路线。”", "这一点很重要！", "真的吗？", "是的；", "好。"]
    # a full stop inside a short quotation does not end the sentence
    assert split_sentences("他说“好。我们走”然后离开。") == ["他说“好。我们走”然后离开。"]


def test_token_counting_uses_offline_cl100k():
    assert (count_tokens("hello world"), count_tokens("新质生产力")) == (2, 6)  # cl100k_base's counts, not characters


def test_speech_excerpt_and_attribution_stay_together():
    chunks = [c for c in _chunks("001") if c.metadata["kind"] == "speech_excerpts"]
    assert len(chunks) == 30
    zj = [c for c in chunks if c.metadata["occasion"] == "在浙江考察时强调"]
    assert len(zj) == 1
    c = zj[0]
    assert c.metadata["speech_date"] == "2020-04-01"
    assert c.text.startswith("要抓住产业数字化、数字产业化赋予的机遇")
    assert c.text.endswith("——在浙江考察时强调（2020年4月1日）")
    assert "加快取得更多实质性、突破性、系统性成果" in c.text  # cut by a page break in the source


def test_articles_on_newspaper_page_cited_separately():
    chunks = _chunks("004")
    by_title = {}
    for c in chunks:
        by_title.setdefault(c.metadata["title"], set()).add(c.metadata["authors"])
    assert by_title == {
        "统筹推进科技创新和产业创新": {"刘泉红、徐建伟"},
        "前瞻布局未来产业发展新质生产力": {"胡拥军"},
        "发展银发经济利当前惠长远": {"林宝"},
    }
    silver = [c for c in chunks if c.metadata["title"] == "发展银发经济利当前惠长远"]
    assert silver[0].text.startswith("银发经济是向老年人提供产品或服务")
    assert not any("银发" in c.text for c in chunks if c.metadata["authors"] == "胡拥军")


def test_heading_path_is_metadata():
    chunks = _chunks("000")
    sections = {c.metadata["section"] for c in chunks}
    assert "二、未来产业的内涵与特征 > (二)未来产业的特征" in sections
    assert all(c.metadata["title"] == "未来产业牵引实现高质量发展的机理与路径研究" for c in chunks)


def test_chunk_size_in_tokens_and_sentence_ends():
    for size in (200, 320):
        chunks = _chunks("002", chunk_tokens=size)
        assert max(c.metadata["n_tokens"] for c in chunks) <= size + 80  # a short tail merges into its chunk
        ends = sum(c.text.rstrip()[-1] in "。！？；…”）)" for c in chunks)
        assert ends / len(chunks) > 0.9


def test_ids_are_stable_content_hashes():
    a = [c.id for c in _chunks("003")]
    b = [c.id for c in _chunks("003")]
    assert a == b and len(set(a)) == len(a)


def test_every_catalog_marker_found():
    cat = load_catalog(CORPUS / "catalog.yaml")
    for name in cat.documents:
        assert _chunks(name[:3]), name


def test_uncatalogued_document_gets_title_from_heading():
    text = "# 测试文件标题\n\n未来产业是新一轮科技革命的产物。它具有前沿性。\n"
    (c,) = Chunker().chunk_text(text, "upload.md")
    assert c.metadata["title"] == "测试文件标题" and c.metadata["source"] == "upload.md"


def test_every_chunk_has_citation_metadata():
    for c in _chunks("001"):
        for key in ("source", "title", "authors", "section", "occasion", "speech_date", "order"):
            assert key in c.metadata
    assert {(c.metadata["source"], bool(c.metadata["title"])) for c in _chunks("001")} == {
        (next(CORPUS.glob("001_*")).name, True)
    }


# -- the page where each passage starts ---------------------------------------------------------
# (start of a passage in corpus/001_…txt, its page): 1 + the number of `---` lines above the line
# where the passage's first sentence is, counted by hand in the raw file (awk over the line numbers
# in the comments). The file's own contents list agrees: its printed page numbers are one less,
# the cover being unnumbered (新华社第一工作室 16 -> 17, 李乐成 24 -> 25, 魏楚 52 -> 53, 盛朝迅 59 -> 60).
HAND_CHECKED_PAGES = [
    ("要抓住产业数字化、数字产业化赋予的机遇", 2),  # l.38; the excerpt runs over `---` (l.40) onto p.3
    ("推动东北全面振兴，根基在实体经济", 3),  # l.50, the first excerpt after that break
    ("培育发展未来产业，对于抢占科技和产业制高点", 15),  # l.184, right after `---` (l.182)
    ("2月9日上午，习近平总书记来到位于北京亦庄", 17),  # l.214: 新华社 article, mid-page
    ("人工智能是新一轮科技革命和产业变革的重要驱动力量", 25),  # l.354: 李乐成
    ("用好金砖、G20等多双边机制", 32),  # l.418: its paragraph starts on p.31, this sentence on p.32
    ("到2030—2031年，人工智能将比全人类集体智能还聪明", 34),  # l.438: paragraph from p.33
    ("(4) 制造技术向数字化、智能化、绿色化方向发展", 35),  # l.446: 王一鸣
    ("党的十八大以来，我国把发展新兴产业和未来产业摆在突出位置", 53),  # l.598: 魏楚
    ("世界各国纷纷前瞻布局未来产业，目的是抢占全球科技和产业竞争的", 75),  # l.834: the last page
]


def test_corpus_passages_start_on_the_pages_counted_by_hand():
    chunks = _chunks("001")
    for start, page in HAND_CHECKED_PAGES:
        (c,) = [c for c in chunks if c.text.startswith(start)]
        assert c.metadata["page"] == page, start
    assert all(isinstance(c.metadata["page"], int) for c in chunks)
    zj = next(c for c in chunks if c.metadata["occasion"] == "在浙江考察时强调")
    assert zj.metadata["page"] == 2 and zj.text.endswith("（2020年4月1日）")  # attribution on p.3


def test_documents_without_page_breaks_have_no_pages():
    for prefix in ("000", "002", "003", "004"):
        raw = read_corpus(prefix)
        assert "\f" not in raw and not any(line.strip() in ("---", "***", "___") for line in raw.split("\n"))
        assert all("page" not in c.metadata for c in _chunks(prefix)), prefix
    text = "# 标题\n\n未来产业是新一轮科技革命的产物。\n\n---\n\n它具有前沿性。\n"
    assert all("page" not in c.metadata for c in Chunker().chunk_text(text, "upload.md"))  # --- is a rule
    assert all("page" not in c.metadata for c in Chunker().chunk_text(text.replace("---", ""), "upload.txt"))
    assert {c.metadata["page"] for c in Chunker().chunk_text(text, "upload.txt")} == {1}


PDF_PAGES = [
    [
        "关于培育未来产业的学习材料",
        "一、总体要求",
        "培育未来产业是发展新质生产力的重要途径。各地要因地制宜，",
        "坚持创新驱动，这一句从第一页开始",
    ],
    [
        "一直写到第二页才结束。第二页的第一个新句子讲量子科技和生物制造。",
        "二、重点任务",
        "加快生物制造和氢能产业发展，建设一批中试平台。",
    ],
    [],  # a blank page
    ["完善脑机接口标准体系，推动具身智能应用落地。"],
]


def test_pdf_passages_carry_the_page_where_they_start(tmp_path):
    from rag.loaders import load_file

    (tmp_path / "t.pdf").write_bytes(make_pdf(PDF_PAGES))
    doc = load_file(tmp_path / "t.pdf")
    chunker = Chunker(ChunkingSettings(chunk_tokens=40, min_tokens=5, overlap_sentences=0))
    got = [(c.text, c.metadata["page"]) for c in chunker.chunk_text(doc.text, doc.source)]
    assert got == [
        ("培育未来产业是发展新质生产力的重要途径。", 1),
        ("各地要因地制宜，坚持创新驱动，这一句从第一页开始一直写到第二页才结束。", 1),  # rejoined across pages
        ("第二页的第一个新句子讲量子科技和生物制造。", 2),  # its paragraph starts on p.1
        ("加快生物制造和氢能产业发展，建设一批中试平台。", 2),
        ("完善脑机接口标准体系，推动具身智能应用落地。", 4),  # p.3 is blank
    ]
    (tmp_path / "one.pdf").write_bytes(make_pdf([["只有一页的文件也有页码。"]]))
    (c,) = Chunker().chunk_text(load_file(tmp_path / "one.pdf").text, "one.pdf")
    assert c.metadata["page"] == 1


def test_speech_excerpt_starting_after_a_page_break_gets_the_later_page():
    text = (
        "# 论述摘编\n\n第一则的正文在第一页。\n\n——在第一次会议上的讲话（2020年1月1日）\n\n"
        "第二则的正文从第一页开始，\n\n---\n\n写到第二页。\n\n——在第二次会议上的讲话（2021年2月2日）\n\n---\n\n"
        "第三则的正文在第三页。\n\n——在第三次会议上的讲话（2022年3月3日）\n"
    )
    meta = DocMeta(
        title="论述摘编", kind="collection", articles=[ArticleMeta(title="论述摘编", kind="speech_excerpts", starts="第一则")]
    )
    chunks = Chunker().chunk_text(text, "speech.txt", meta)
    assert [(c.metadata["excerpt"], c.metadata["page"]) for c in chunks] == [(1, 1), (2, 1), (3, 3)]


def test_a_dropped_byline_becomes_its_articles_byline_not_a_passage():
    # Two articles on one page; each byline sits just before its article's first sentence (the
    # second one at the end of the first article), and the catalog drops them from the passages.
    text = (
        "东海大学经济学院教授甲乙\n\n未来产业是第一篇的开头。第一篇的正文。\n\n"
        "南山研究院研究员丙丁\n\n新质生产力是第二篇的开头。第二篇的正文。\n"
    )
    meta = DocMeta(
        title="专版",
        kind="newspaper",
        drop=["东海大学经济学院教授", "南山研究院研究员"],
        articles=[
            ArticleMeta(title="第一篇", authors=["甲乙"], starts="未来产业是第一篇"),
            ArticleMeta(title="第二篇", authors=["丙丁"], starts="新质生产力是第二篇"),
        ],
    )
    chunks = Chunker().chunk_text(text, "page.txt", meta)
    by_title = {c.metadata["title"]: c for c in chunks}
    assert by_title["第一篇"].metadata["byline"] == "东海大学经济学院教授甲乙"
    assert by_title["第二篇"].metadata["byline"] == "南山研究院研究员丙丁"
    assert not any("研究员" in c.text or "教授" in c.text for c in chunks)

from rag.catalog import load_catalog
from rag.chunking import Chunker, count_tokens, split_sentences
from rag.settings import ChunkingSettings

from conftest import CORPUS


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
    assert {(c.metadata["source"], bool(c.metadata["title"])) for c in _chunks("001")} == {(next(CORPUS.glob("001_*")).name, True)}

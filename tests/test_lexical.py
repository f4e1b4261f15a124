"""The lexical index: bm25s over jieba tokens cached per chunk id, and the lexicon the answer stage reads."""

import math

import numpy as np
import pytest

from rag import lexical
from rag.lexical import TokenCache, build, index_text, tokenize
from rag.snapshot import Chunks

IDS = list("abcd")
TEXTS = [
    "银发经济利当前惠长远",
    "量子科技是未来产业，量子计算机利用量子比特",
    "新质生产力是创新起主导作用的先进生产力质态",
    "具身智能机器人走进工厂",
]
METAS = [{"title": f"文{i}", "source": f"{i}.txt"} for i in range(4)]
QUERIES = ("量子科技", "新质生产力 机器人", "银发经济 文0", "量子比特 未来产业")


def _chunks(keep: str = "abcd", gen: str = "g1") -> Chunks:
    rows = [i for i, cid in enumerate(IDS) if cid in keep]
    return Chunks(gen, [IDS[i] for i in rows], [TEXTS[i] for i in rows], [METAS[i] for i in rows])


def _rounded(hits):
    return [(r, round(s, 5)) for r, s in hits]


def test_bm25_ranks_matching_text_first():
    _, search, _ = build(_chunks(), TokenCache.empty(), 1.2, 0.75)
    assert search.search("量子科技", 4)[0][0] == 1
    assert search.search("红烧肉", 4) == []  # no term in the index: nothing, not every row at score 0


def test_scores_are_lucene_bm25_with_the_settings_k1_and_b():
    """bm25s's "lucene" method is the BM25 the hand-written index used: for each query term,
    idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)) with idf = log(1 + (N - df + 0.5) / (df + 0.5)).
    bm25s leaves out the constant factor (k1 + 1), which changes no ranking."""
    k1, b = 1.5, 0.6
    _, search, _ = build(_chunks(), TokenCache.empty(), k1, b)
    docs = [tokenize(index_text(t, m)) for t, m in zip(TEXTS, METAS, strict=True)]
    avgdl = sum(map(len, docs)) / len(docs)
    for q in QUERIES:
        terms = set(tokenize(q))
        ref = []
        for row, doc in enumerate(docs):
            s = 0.0
            for t in terms:
                tf, df = doc.count(t), sum(t in d for d in docs)
                if tf:
                    idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                    s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avgdl))
            if s > 0:
                ref.append((row, s))
        ref.sort(key=lambda x: -x[1])
        got = search.search(q, 4)
        assert [r for r, _ in got] == [r for r, _ in ref]
        assert [s * (k1 + 1) for _, s in got] == pytest.approx([s for _, s in ref], rel=1e-5)


def test_mask_admits_rows():
    _, search, _ = build(_chunks(), TokenCache.empty(), 1.2, 0.75)
    mask = np.array([True, False, True, True])
    assert search.search("量子科技", 4, mask) == []
    assert [r for r, _ in search.search("量子科技 生产力", 4, mask)] == [2]


def test_update_tokenises_only_new_chunks_and_scores_as_a_full_build(tokenised):
    full_tokens, full, full_lex = build(_chunks(), TokenCache.empty(), 1.2, 0.75)
    assert len(tokenised) == 4
    tokenised.clear()
    small, _, _ = build(_chunks("ab"), TokenCache.empty(), 1.2, 0.75)
    tokenised.clear()
    grown_tokens, grown, grown_lex = build(_chunks("abcd", "g2"), small, 1.2, 0.75)
    assert len(tokenised) == 2 and "新质生产力" in tokenised[0] and "具身智能" in tokenised[1]  # only c and d
    tokenised.clear()
    again, _, _ = build(_chunks("abcd", "g3"), grown_tokens, 1.2, 0.75)
    assert tokenised == [] and again is grown_tokens  # nothing new: nothing tokenised, the same cache
    for q in QUERIES:
        assert _rounded(grown.search(q, 4)) == _rounded(full.search(q, 4))
        assert grown_lex.idf(tokenize(q)) == full_lex.idf(tokenize(q))


def test_deleted_chunks_leave_search_lexicon_and_cache(tokenised):
    tokens, _, _ = build(_chunks(), TokenCache.empty(), 1.2, 0.75)
    tokenised.clear()
    shrunk_tokens, shrunk, lex = build(_chunks("acd", "g2"), tokens, 1.2, 0.75)
    assert tokenised == []
    _, ref, ref_lex = build(_chunks("acd"), TokenCache.empty(), 1.2, 0.75)
    assert set(shrunk_tokens.terms) == {"a", "c", "d"}  # the cache does not keep what left the store
    assert "量子科技" not in lex and "量子科技" in build(_chunks(), tokens, 1.2, 0.75)[2]
    for q in QUERIES:
        assert _rounded(shrunk.search(q, 4)) == _rounded(ref.search(q, 4))
        assert lex.idf(tokenize(q)) == ref_lex.idf(tokenize(q))
        assert lex.coverages(q, [0]) == ref_lex.coverages(q, [0])


def test_vocabulary_is_compacted_when_most_terms_are_gone():
    tokens, _, _ = build(_chunks(), TokenCache.empty(), 1.2, 0.75)
    only_a, search, lex = build(_chunks("a", "g2"), tokens, 1.2, 0.75)
    assert len(only_a.vocab) < len(tokens.vocab) and "量子科技" not in only_a.vocab
    assert sorted(only_a.vocab.values()) == list(range(len(only_a.vocab)))  # ids stay 0..n-1
    assert search.search("银发经济", 1)[0][0] == 0 and "银发经济" in lex


def test_lexicon_idf_and_coverage():
    from bm25s.scoring import _score_idf_lucene

    _, _, lex = build(_chunks(), TokenCache.empty(), 1.2, 0.75)
    idf = lex.idf(["量子", "产业", "红烧肉"])
    assert idf["量子"] == pytest.approx(_score_idf_lucene(1, 4), rel=1e-6)  # the idf bm25s scores with
    assert idf["产业"] == pytest.approx(_score_idf_lucene(1, 4), rel=1e-6)
    assert idf["红烧肉"] == pytest.approx(math.log(5))  # in no chunk: log(1 + N)
    assert lex.idf(["红烧肉"], default=1.0) == {"红烧肉": 1.0}
    assert lex.max_idf == pytest.approx(_score_idf_lucene(1, 4), rel=1e-6)
    assert "量子" in lex and "红烧肉" not in lex
    q = "量子科技 红烧肉"
    w = lex.idf(tokenize(q))
    held = {"量子", "科技", "量子科技"}  # 红烧, 烧肉, 红烧肉 are in no chunk
    assert set(w) > held and lex.coverages(q, [1])[0] == pytest.approx(sum(w[t] for t in held) / sum(w.values()))
    assert lex.coverages(q, [0]) == [0.0] and lex.coverages("", [0, 1]) == [0.0, 0.0]
    assert lex.coverages(q, [1, 0, 1]) == [lex.coverages(q, [1])[0], 0.0, lex.coverages(q, [1])[0]]  # each row its own


def test_empty_index():
    _, search, lex = build(Chunks("g0", [], [], []), TokenCache.empty(), 1.2, 0.75)
    assert search.search("量子科技", 5) == [] and lex.idf(["量子"]) == {"量子": 0.0} and lex.max_idf == 0.0


def test_token_cache_of_another_tokenizer_is_not_used(tmp_path, monkeypatch):
    path = tmp_path / "tokens.pkl"
    tokens, _, _ = build(_chunks(), TokenCache.empty(), 1.2, 0.75)
    from rag import cachefile

    cachefile.write(path, "tokens", tokens)
    assert lexical.read_token_cache(path).terms.keys() == tokens.terms.keys()
    monkeypatch.setattr(lexical, "tokenizer_fingerprint", lambda: "another user dictionary")
    assert lexical.read_token_cache(path).terms == {}
    path.write_bytes(b"not a pickle")
    assert lexical.read_token_cache(path).terms == {}


def test_the_corpus_terms_of_the_user_dictionary_are_whole_tokens():
    from rag.lexical import tokenize

    assert "中试" in tokenize("中试验证平台") and "中试" in tokenize("在中试环节上")  # not 中/试验/证
    assert "工业和信息化部" in tokenize("工业和信息化部等七部委印发")

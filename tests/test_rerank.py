"""The passage reranker: its features, its listwise fit, and what it does to a real retrieval."""

import json

import numpy as np
import pytest

from rag import rerank


def test_features_read_what_fusion_throws_away():
    lists = [
        ("bm25", False, [(7, 12.0), (3, 6.0)]),
        ("dense", False, [(3, 0.9), (7, 0.8)]),
        ("bm25", True, [(3, 4.0)]),  # the search restricted to what the question names
    ]
    fused = {7: 0.3, 3: 0.5}
    x = rerank.features(lists, fused, [3, 7], [0.25, 1.0], rrf_k=5)
    col = {k: i for i, k in enumerate(rerank.FEATURES)}
    assert x[0, col["fused"]] == 0.5 and x[1, col["fused"]] == 0.3
    assert x[0, col["bm25_rr"]] == pytest.approx(1 / 7) and x[1, col["bm25_rr"]] == pytest.approx(1 / 6)
    assert x[0, col["bm25_rel"]] == pytest.approx(0.5) and x[1, col["bm25_rel"]] == pytest.approx(1.0)
    assert x[0, col["linked_bm25_rr"]] == pytest.approx(1 / 6) and x[1, col["linked_bm25_rr"]] == 0.0
    assert x[0, col["sentence_rr"]] == 0.0  # in no sentence list
    assert list(x[:, col["coverage"]]) == [0.25, 1.0]


def test_the_listwise_fit_learns_which_feature_finds_the_evidence():
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(60):
        x = rng.normal(size=(12, len(rerank.FEATURES)))
        y = np.zeros(12)
        y[np.argmax(x[:, 5])] = 1.0  # the evidence is the candidate with the most coverage
        groups.append((x, y))
    w, mean, scale = rerank.fit_listwise(groups, l2=0.3)
    assert np.argmax(w) == 5
    model = rerank.Reranker({"features": list(rerank.FEATURES), "weights": list(w), "mean": list(mean), "scale": list(scale)})
    x, y = groups[0]
    assert y[model.order(list(range(12)), x)[0]] == 1.0


def test_a_model_of_other_features_is_refused():
    with pytest.raises(ValueError, match="refit"):
        rerank.Reranker({"features": ["fused"], "weights": [1.0], "mean": [0.0], "scale": [1.0]})


def test_the_bundled_model_is_readable_data_fitted_on_dev():
    model = json.loads(rerank.DEFAULT_MODEL.read_text(encoding="utf-8"))
    assert model["features"] == list(rerank.FEATURES) and len(model["weights"]) == len(rerank.FEATURES)
    assert model["fitted"]["split"] == "dev"
    assert model["fitted"]["on"] == ["evals/questions.jsonl", "evals/external.jsonl"]
    # the L2 strength chosen on files held out in turn, and what it gave there
    assert str(model["fitted"]["l2"]) in model["fitted"]["held_out_mrr@10_by_l2"]


@pytest.mark.slow
def test_reranking_reorders_the_fused_candidates_and_keeps_fusions_best(corpus_system):
    r = corpus_system.retriever
    fused_only = r.s.model_copy(update={"rerank": False})
    question = "我国在全球哪种矿产市场上占据绝对主导地位？"
    reranked = r.retrieve(question, top_k=10)
    r.s, saved = fused_only, r.s
    try:
        fused = r.retrieve(question, top_k=10)
    finally:
        r.s = saved
    assert len(reranked) == 10
    # the reranker reorders fusion's pool; what it returns comes from that pool
    texts, x = r.rerank_candidates(question, None)
    assert {p.text for p in reranked} <= set(texts) and len(x) == len(texts) == r.s.rerank_pool
    assert [p.text for p in reranked] != texts[:10]  # this question's order does change
    assert texts[:10] == [p.text for p in fused]
    # the answerer also gets fusion's own top k, after the reranked ones, marked as such
    kept = r.retrieve(question, top_k=10, keep_fused=True)
    assert [p.id for p in kept[:10]] == [p.id for p in reranked] and not any(p.fused_only for p in kept[:10])
    assert {p.id for p in fused} <= {p.id for p in kept} and all(p.fused_only for p in kept[10:])
    assert [p.rank for p in kept] == list(range(1, len(kept) + 1))


@pytest.mark.slow
def test_retrieval_orders_the_pool_by_the_configured_model(corpus_system, tmp_path):
    # A model that reads coverage only: the top 10 are the pool's ten best covered, in that order.
    col = rerank.FEATURES.index("coverage")
    weights = [0.0] * len(rerank.FEATURES)
    weights[col] = 1.0
    model = {"features": list(rerank.FEATURES), "weights": weights, "mean": [0.0] * 9, "scale": [1.0] * 9}
    path = tmp_path / "coverage-only.json"
    path.write_text(json.dumps(model), encoding="utf-8")
    r = corpus_system.retriever
    question = "未来产业的发展需要哪些金融支持？"
    texts, x = r.rerank_candidates(question, None)
    r.s, saved = r.s.model_copy(update={"rerank_model": str(path)}), r.s
    try:
        got = [p.text for p in r.retrieve(question, top_k=10)]
    finally:
        r.s = saved
    expected = [texts[i] for i in np.argsort(-x[:, col], kind="stable")[:10]]
    assert got == expected and got != texts[:10]


def test_a_missing_or_broken_model_names_the_file_and_the_way_out(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"features": ["fused"]', encoding="utf-8")
    for path in (tmp_path / "missing.json", bad):
        with pytest.raises(ValueError, match="rag fit --rerank"):
            rerank.load(str(path))
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"features": list(rerank.FEATURES), "weights": [1.0], "mean": [0.0], "scale": [1.0]}))
    with pytest.raises(ValueError, match="one value per feature"):
        rerank.load(str(short))

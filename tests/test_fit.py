"""`rag fit`: the sentence ranker and the answerability model refit on the dev splits, as data."""

import json

import numpy as np
import pytest

from rag.fit import choose_threshold, logistic_regression


def test_logistic_regression_separates_and_threshold_meets_the_false_refusal_budget():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(1.0, 0.5, (80, 2)), rng.normal(-1.0, 0.5, (20, 2))])
    y = np.array([1.0] * 80 + [0.0] * 20)
    w, b = logistic_regression(x, y, l2=1.0)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    assert (p[:80] > 0.5).mean() > 0.9 and (p[80:] < 0.5).mean() > 0.9
    answerable = y.astype(bool)
    hard = np.zeros(100, bool)
    t = choose_threshold(p, answerable, hard, 0.05)
    assert ((p < t) & answerable).sum() / answerable.sum() <= 0.05  # the budget holds on this data
    assert ((p < t) & ~answerable).sum() >= 15  # and most unanswerables are refused


@pytest.mark.slow
def test_fit_writes_a_readable_model_fitted_on_dev_only(corpus_system, tmp_path):
    from rag.answer.answerability import MODEL_FEATURES
    from rag.answer.candidates import FEATURES
    from rag.evaluate import FIT_SETS, question_files
    from rag.fit import fit

    out = tmp_path / "model.json"
    files = question_files(corpus_system.settings.evals)
    fit(corpus_system.settings, [files[name] for name in FIT_SETS], out, 0.05, progress=False)
    model = json.loads(out.read_text(encoding="utf-8"))
    assert set(model["sentence_weights"]) == {"bias", *FEATURES}
    a = model["answerability"]
    assert a["features"] == MODEL_FEATURES and set(a["weights"]) == set(MODEL_FEATURES)
    assert a["fitted"]["split"] == "dev" and a["fitted"]["dev_false_refusal"] <= 0.05
    assert a["fitted"]["on"] == ["evals/questions.jsonl", "evals/external.jsonl"]
    assert 0.0 <= a["threshold"] < 1.0


@pytest.mark.slow
def test_fit_rerank_writes_the_reranker_chosen_on_held_out_files(corpus_system, tmp_path):
    from rag import rerank
    from rag.evaluate import FIT_SETS, question_files
    from rag.fit import fit_rerank

    out = tmp_path / "rerank.json"
    files = question_files(corpus_system.settings.evals)
    model = fit_rerank(corpus_system.settings, [files[name] for name in FIT_SETS], out, grid=(0.3, 3.0), progress=False)
    assert json.loads(out.read_text(encoding="utf-8")) == model
    assert model["features"] == list(rerank.FEATURES)
    f = model["fitted"]
    assert f["split"] == "dev" and f["l2"] in (0.3, 3.0) and set(f["held_out_mrr@10_by_l2"]) == {"0.3", "3.0"}
    # on the questions it was fitted on, reranking the pool finds the evidence sooner than fusion
    assert f["reranked_mrr@10"] > f["fused_mrr@10"]
    rerank.Reranker(model)  # loads

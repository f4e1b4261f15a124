"""Passage reranking: the fused candidates reordered by a small fitted model.

Reciprocal-rank fusion keeps only each list's ranks. The reranker reads, for each of the best
``retrieval.rerank_pool`` fused candidates, what fusion throws away: how far the passage's BM25
score is below the best one's, how much of the question's idf mass the passage holds, and each
list's rank (the general lists and the lists restricted to the authors/articles a question names)
beside the fused score. A linear model over these features, fitted listwise on the dev questions
(the probability mass a softmax over a question's candidates puts on its evidence passages), orders
them; the candidates past the pool keep their fused order behind them.

The weights are data (``data/rerank_model.json``), refit by ``rag fit --rerank`` (rag.fit).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

# What each candidate is described by (the order of the model's weights).
FEATURES = (
    "fused",  # the reciprocal-rank-fusion score
    "bm25_rr",  # 1 / (rrf_k + rank) in the BM25 list, 0 when not in it
    "dense_rr",  # … in the passage-vector list
    "sentence_rr",  # … in the sentence-vector list (a passage ranked by its best sentence)
    "bm25_rel",  # its BM25 score over the best BM25 score of the question
    "coverage",  # share of the question's idf mass whose terms the passage holds
    "linked_bm25_rr",  # the three ranks in the search restricted to what the question names
    "linked_dense_rr",
    "linked_sentence_rr",
)

DEFAULT_MODEL = Path(__file__).parent / "data" / "rerank_model.json"


def features(
    lists: list[tuple[str, bool, list[tuple[int, float]]]],
    fused: dict[int, float],
    rows: list[int],
    coverage: list[float],
    rrf_k: int,
) -> np.ndarray:
    """One row of FEATURES per candidate row. ``lists`` are the searches fused, each as (name
    bm25/dense/sentence, restricted to the linked chunks or not, hits as (row, score));
    ``coverage``: each row's share of the question's idf mass."""
    col = {k: i for i, k in enumerate(FEATURES)}
    at = {row: i for i, row in enumerate(rows)}
    x = np.zeros((len(rows), len(FEATURES)))
    for name, linked, hits in lists:
        key = ("linked_" if linked else "") + name + "_rr"
        best = hits[0][1] if hits and hits[0][1] > 0 else 1.0
        for rank, (row, score) in enumerate(hits, 1):
            i = at.get(row)
            if i is None:
                continue
            x[i, col[key]] += 1.0 / (rrf_k + rank)
            if name == "bm25" and not linked:
                x[i, col["bm25_rel"]] = max(x[i, col["bm25_rel"]], score / best)
    for i, row in enumerate(rows):
        x[i, col["fused"]] = fused[row]
        x[i, col["coverage"]] = coverage[i]
    return x


class Reranker:
    """A linear model over FEATURES (standardised by the fitted mean and scale)."""

    def __init__(self, model: dict):
        if tuple(model["features"]) != FEATURES:
            raise ValueError(f"rerank model features {model['features']} are not {list(FEATURES)}: refit it (rag fit --rerank)")
        if not all(len(model[k]) == len(FEATURES) for k in ("weights", "mean", "scale")):
            raise ValueError("rerank model: weights, mean and scale need one value per feature: refit it (rag fit --rerank)")
        self.mean = np.array(model["mean"])
        self.scale = np.array(model["scale"])
        self.weights = np.array(model["weights"])

    def scores(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights

    def order(self, rows: list[int], x: np.ndarray) -> list[int]:
        """``rows`` best first (ties keep their fused order)."""
        s = self.scores(x)
        return [rows[i] for i in np.argsort(-s, kind="stable")]


@lru_cache(maxsize=4)
def load(path: str | None = None) -> Reranker:
    """The model at ``path`` (default: the bundled one); a missing or unreadable file is an error
    naming it and the way out."""
    where = Path(path or DEFAULT_MODEL).expanduser()
    try:
        return Reranker(json.loads(where.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"rerank model {where} cannot be used ({exc}); refit it (rag fit --rerank) or set retrieval.rerank: false"
        ) from exc


def fit_listwise(groups: list[tuple[np.ndarray, np.ndarray]], l2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights maximising, over the questions, the log of the softmax mass on their evidence
    passages (``groups``: each question's candidate features and 0/1 labels), with an L2 penalty.
    Questions whose candidates are all evidence or none are left out (they say nothing of order).
    Returns (weights, mean, scale) of the standardised features."""
    from scipy.optimize import minimize

    stacked = np.vstack([x for x, _ in groups])
    mean, scale = stacked.mean(0), stacked.std(0) + 1e-9
    used = [((x - mean) / scale, y) for x, y in groups if y.any() and not y.all()]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = 0.5 * l2 * w @ w, l2 * w
        for x, y in used:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            mass = (p * y).sum()
            value -= np.log(mass + 1e-12)
            grad = grad - (((p * y) @ x) / (mass + 1e-12) - p @ x)
        return value, grad

    w = minimize(loss, np.zeros(stacked.shape[1]), jac=True, method="L-BFGS-B").x
    return w, mean, scale

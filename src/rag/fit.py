"""`rag fit`: refit the answerability model on the dev splits (ours and the external set).

Every dev question is answered with the model switched off; the features of its evidence
(answer/answerability.py) and whether the question is answerable are the training data of an
L2-regularised logistic regression (numpy, Newton steps on standardised features). The threshold
is the highest probability at which the dev false-refusal rate, counting the refusals the type and
constraint checks already make, stays within ``max_false_refusal``. The result is written as JSON
beside the sentence weights, so it can be read, diffed and reviewed.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np

from .answer.answerability import MODEL_FEATURES, load_model


def logistic_regression(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """Weights and bias (on the given feature scale) maximising the L2-penalised likelihood."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    a = np.hstack([z, np.ones((len(z), 1))])
    w = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], l2)
    reg[-1] = 0.0  # the bias is not penalised
    for _ in range(steps):
        p = 1 / (1 + np.exp(-a @ w))
        grad = a.T @ (p - y) + reg * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = w[:-1] / sd
    bias = float(w[-1] - (w[:-1] * mu / sd).sum())
    return weights, bias


def choose_l2(x: np.ndarray, y: np.ndarray, grid=(0.3, 1.0, 3.0, 10.0, 30.0), folds: int = 5, seed: int = 0) -> float:
    """The L2 strength with the best held-out log-likelihood in ``folds``-fold cross-validation."""
    order = np.random.default_rng(seed).permutation(len(y))
    best, best_ll = grid[0], -np.inf
    for l2 in grid:
        ll = 0.0
        for k in range(folds):
            test = order[k::folds]
            train = np.setdiff1d(order, test)
            w, b = logistic_regression(x[train], y[train], l2)
            p = np.clip(1 / (1 + np.exp(-(x[test] @ w + b))), 1e-6, 1 - 1e-6)
            ll += float((y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p)).sum())
        if ll > best_ll:
            best, best_ll = l2, ll
    return best


def out_of_fold(x: np.ndarray, y: np.ndarray, l2: float, folds: int = 5, repeats: int = 20) -> np.ndarray:
    """Each question's probability from models fitted without it, averaged over ``repeats``
    random fold splits: with 25 unanswerable dev questions, one split's luck moves the threshold."""
    out = np.zeros(len(y))
    for seed in range(repeats):
        order = np.random.default_rng(seed).permutation(len(y))
        for k in range(folds):
            test = order[k::folds]
            train = np.setdiff1d(order, test)
            w, b = logistic_regression(x[train], y[train], l2)
            out[test] += 1 / (1 + np.exp(-(x[test] @ w + b)))
    return out / repeats


def choose_threshold(probs: np.ndarray, answerable: np.ndarray, hard_refused: np.ndarray, max_fr: float) -> float:
    """The highest threshold whose false-refusal rate on answerable questions is <= max_fr."""
    n = int(answerable.sum())
    best = 0.0
    for t in sorted(set(np.round(probs, 4))):
        refused = hard_refused | (probs < t)
        if (refused & answerable).sum() / max(n, 1) <= max_fr:
            best = float(t)
    return best


def fit_sentence_weights(answerer, questions) -> dict[str, float]:
    """Logistic weights of the sentence features: a candidate sentence of a dev question is a
    positive when it holds one of the question's key strings (``must_contain``)."""
    from .answer import candidates
    from .metrics import norm

    xs, ys = [], []
    for q in questions:
        a = answerer.analyze(q.question)
        if a.about_article:
            continue  # answered from the catalog card: no sentence is scored (and the card leads its passages)
        passages = answerer.retrieve(q.question, a)
        keys = [norm(k) for k in q.must_contain]
        for c in candidates.build(
            q.question, a, answerer._pool(a, passages), answerer.retriever, answerer.model["sentence_weights"]
        ):
            xs.append([c.f[k] for k in candidates.FEATURES])
            ys.append(float(any(k and k in norm(c.text) for k in keys)))
    x, y = np.array(xs), np.array(ys)
    w, b = logistic_regression(x, y, choose_l2(x, y))
    return {"bias": round(b, 6), **{k: round(float(v), 6) for k, v in zip(candidates.FEATURES, w, strict=False)}}


def _answerer(settings, model: dict | None = None):
    """An extractive answerer over the settings' index of the corpus (ingested first, unchanged
    files skipped), as both fits gather their data."""
    from .answer.extractive import ExtractiveAnswerer
    from .system import build_system

    system = build_system(settings)
    system.ingestor.ingest([settings.corpus.path], progress=False)
    return ExtractiveAnswerer(settings, system.retriever, model)


def fit(settings, question_files: list[Path], out: Path, max_false_refusal: float = 0.05, progress: bool = True) -> dict:
    from tqdm import tqdm

    from .evaluate import load_questions

    model = copy.deepcopy(load_model(settings.answer.model_path or None))
    model["answerability"]["threshold"] = 0.0  # the model refuses nothing while its data is gathered
    answerer = _answerer(settings, model)
    questions = [q for path in question_files for q in load_questions(path, "dev")]
    model["sentence_weights"] = fit_sentence_weights(answerer, [q for q in questions if q.answerable])
    rows = []
    for q in tqdm(questions, desc="fit", unit="q", disable=not progress):
        ans = answerer.ask(q.question)
        rows.append((q, ans))
    feats = [a.features for _, a in rows]
    keep = [i for i, (f, (_, a)) in enumerate(zip(feats, rows, strict=False)) if f and not a.refused]
    x = np.array([[feats[i][k] for k in MODEL_FEATURES] for i in keep])
    y = np.array([rows[i][0].answerable for i in keep], dtype=float)
    l2 = choose_l2(x, y)
    w, b = logistic_regression(x, y, l2)
    # The threshold is chosen on out-of-fold probabilities (each question scored by a model fitted
    # without it), so it is not fitted to the very questions it is checked on.
    probs_all = np.ones(len(rows))  # rows the model does not judge (catalog answers, hard refusals)
    probs_all[keep] = out_of_fold(x, y, l2)
    answerable = np.array([q.answerable for q, _ in rows])
    hard = np.array([a.refused for _, a in rows])  # with the model off, every refusal is the checks'/composer's
    t = choose_threshold(probs_all, answerable, hard, max_false_refusal)
    refused = hard | (probs_all < t)
    model["answerability"] = {
        "bias": round(b, 6),
        "weights": {k: round(float(v), 6) for k, v in zip(MODEL_FEATURES, w, strict=False)},
        "threshold": round(t, 4),
        "features": MODEL_FEATURES,
        "fitted": {
            "on": [f"evals/{Path(p).name}" for p in question_files],
            "split": "dev",
            "questions": len(rows),
            "answerable": int(answerable.sum()),
            "unanswerable": int((~answerable).sum()),
            "max_false_refusal": max_false_refusal,
            "l2": l2,
            "dev_false_refusal": round(float((refused & answerable).sum() / max(answerable.sum(), 1)), 4),
            "dev_refusal_recall": round(float((refused & ~answerable).sum() / max((~answerable).sum(), 1)), 4),
            "when": time.strftime("%Y-%m-%d %H:%M"),
        },
    }
    model["note"] = "Written by `rag fit` (src/rag/fit.py); sentence_weights are the scoring weights of answer/candidates.py."
    out.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    load_model.cache_clear()
    return model


def _mrr(groups: list[tuple[np.ndarray, np.ndarray]], scores: list[np.ndarray]) -> float:
    """MRR@10 of the evidence passages when each group's candidates are ordered by ``scores``."""
    out = []
    for (_, y), s in zip(groups, scores, strict=True):
        top = y[np.argsort(-s, kind="stable")][:10]
        hit = np.flatnonzero(top)
        out.append(1.0 / (hit[0] + 1) if len(hit) else 0.0)
    return float(np.mean(out)) if out else 0.0


def fit_rerank(settings, question_files: list[Path], out: Path, grid=(0.3, 1.0, 3.0, 10.0), progress: bool = True) -> dict:
    """Refit the passage reranker (rerank.py) on the dev questions with evidence. The L2 strength
    is the one whose models, each fitted without one question file and scored on it, give the best
    mean MRR@10: a reranker has to hold on questions written by someone else (so it takes two
    files or more). The retrieval settings and chunk size it was fitted under are recorded: its
    features (fused score, ranks) mean something else under others."""
    if len(question_files) < 2:
        raise ValueError("rag fit --rerank chooses its L2 strength on each question file held out in turn: give two or more")
    from tqdm import tqdm

    from . import rerank
    from .evaluate import load_questions
    from .metrics import contains

    answerer = _answerer(settings)
    groups: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for path in question_files:
        questions = [q for q in load_questions(path, "dev") if q.answerable and q.evidence]
        for q in tqdm(questions, desc=f"rerank {Path(path).stem}", unit="q", disable=not progress):
            a = answerer.analyze(q.question)
            # as the answerer retrieves: enough passages for each of several named articles
            top_k = 10 * len(a.articles) if len(a.articles) > 1 else None
            texts, x = answerer.retriever.rerank_candidates(q.question, a, top_k)
            y = np.array([float(any(contains(t, e["quote"]) for e in q.evidence)) for t in texts])
            groups.setdefault(Path(path).stem, []).append((x, y))
    fused_col = rerank.FEATURES.index("fused")
    held: dict[float, float] = {}
    for l2 in grid:
        scores = []
        for name, test in groups.items():
            w, mean, scale = rerank.fit_listwise([g for n, gs in groups.items() if n != name for g in gs], l2)
            scores.append(_mrr(test, [((x - mean) / scale) @ w for x, _ in test]))
        held[l2] = float(np.mean(scores))
    l2 = max(grid, key=lambda v: held[v])
    every = [g for gs in groups.values() for g in gs]
    w, mean, scale = rerank.fit_listwise(every, l2)
    model = {
        "features": list(rerank.FEATURES),
        "weights": [round(float(v), 6) for v in w],
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "fitted": {
            "on": [f"evals/{Path(p).name}" for p in question_files],
            "split": "dev",
            "questions": len(every),
            "pool": settings.retrieval.rerank_pool,
            "retrieval": {
                k: getattr(settings.retrieval, k)
                for k in ("candidates", "rrf_k", "bm25_weight", "dense_weight", "sentence_weight", "linked_weight")
            },
            "chunk_tokens": settings.chunking.chunk_tokens,
            "l2": l2,
            "held_out_mrr@10_by_l2": {str(k): round(v, 4) for k, v in held.items()},
            "fused_mrr@10": round(_mrr(every, [x[:, fused_col] for x, _ in every]), 4),
            "reranked_mrr@10": round(_mrr(every, [((x - mean) / scale) @ w for x, _ in every]), 4),
            "when": time.strftime("%Y-%m-%d %H:%M"),
        },
        "note": "Written by `rag fit --rerank` (src/rag/fit.py); the weights of rerank.FEATURES, standardised by mean and scale.",
    }
    out.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    rerank.load.cache_clear()
    return model

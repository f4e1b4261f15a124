"""Evaluation metrics (formulas in docs/eval.md). Pure functions over plain data, no LLM.

Relevance is decided by evidence-quote containment, so retrieval scores do not depend on how the
documents were chunked. Faithfulness uses one support test everywhere: a sentence is supported by
passages when it appears in them verbatim (after normalisation), or when enough of its character
3-grams do (threshold calibrated on hand-labelled sentences in evals/support_labels.jsonl).
"""

from __future__ import annotations

import math
import re
from difflib import SequenceMatcher

from .citation import MARK, strip_marks

DEFAULT_SUPPORT_THRESHOLD = 0.84  # calibrated on evals/support_labels.jsonl (see docs/eval.md)
_PUNCT = re.compile(r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65“”‘’—…·,.;:!?()\[\]\"'<>《》、|\-]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*\s*(?:%|％|‰)?")


def norm(text: str) -> str:
    """Text for matching: no whitespace, no punctuation, Latin lower-cased."""
    return _PUNCT.sub("", text or "").lower()


# -- retrieval ----------------------------------------------------------------------------
def contains(passage: str, quote: str, min_ratio: float = 0.8) -> bool:
    """Does the passage hold the quote? Verbatim after normalisation, or its longest common
    run covers ``min_ratio`` of the quote (a quote cut by a chunk boundary still counts)."""
    p, q = norm(passage), norm(quote)
    if not q:
        return False
    if q in p:
        return True
    m = SequenceMatcher(None, q, p, autojunk=False).find_longest_match(0, len(q), 0, len(p))
    return m.size >= min_ratio * len(q)


def retrieval_scores(passages: list[str], quotes: list[str], ks=(1, 3, 5, 10)) -> dict[str, float]:
    """recall@k (share of evidence quotes found in the top k), all-evidence@5, MRR@10, nDCG@10."""
    found_at = []  # for each quote, the 1-based rank of the first passage holding it (or None)
    for q in quotes:
        found_at.append(next((i for i, p in enumerate(passages[:10], 1) if contains(p, q)), None))
    n = len(quotes)
    out = {f"recall@{k}": sum(1 for r in found_at if r and r <= k) / n for k in ks}
    out["all_evidence@5"] = float(all(r and r <= 5 for r in found_at))
    first = min((r for r in found_at if r), default=None)
    out["mrr@10"] = 1.0 / first if first else 0.0
    # nDCG@10: a passage gains 1 for each evidence quote it is the first to hold.
    gains = [0.0] * 10
    for r in found_at:
        if r:
            gains[r - 1] += 1.0
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(n, 10)))
    out["ndcg@10"] = dcg / ideal if ideal else 0.0
    return out


# -- correctness --------------------------------------------------------------------------
def strip_markers(answer: str) -> str:
    return strip_marks(answer)


def key_recall(answer: str, keys: list[str]) -> float:
    a = norm(strip_markers(answer))
    return sum(norm(k) in a for k in keys) / len(keys) if keys else 1.0


def char_f1(answer: str, reference: str) -> float:
    """Character-level F1 (bag of characters, punctuation and markers ignored)."""
    a, r = list(norm(strip_markers(answer))), list(norm(reference))
    if not a or not r:
        return float(a == r)
    pool: dict[str, int] = {}
    for ch in r:
        pool[ch] = pool.get(ch, 0) + 1
    common = 0
    for ch in a:
        if pool.get(ch, 0) > 0:
            pool[ch] -= 1
            common += 1
    if not common:
        return 0.0
    p, rec = common / len(a), common / len(r)
    return 2 * p * rec / (p + rec)


# -- faithfulness -------------------------------------------------------------------------
def split_answer(answer: str) -> list[tuple[str, list[int]]]:
    """Answer sentences with the citation numbers that follow each of them. An attribution line
    (——在…（date）) stays with the sentence it attributes."""
    out: list[tuple[str, list[int]]] = []
    for line in (answer or "").split("\n"):
        line = re.sub(r"^\s*[-*]\s+", "", line)
        pos = 0
        for m in re.finditer(r"((?:\[\d+\])+)|(?<=[。！？!?；])(?!\[|——)", line):
            piece = line[pos : m.start()]
            marks = [int(x) for x in MARK.findall(m.group(1) or "")]
            if norm(piece):
                out.append((piece.strip(), marks))
            elif marks and out:
                out[-1][1].extend(marks)
            pos = m.end()
        if norm(line[pos:]):
            out.append((line[pos:].strip(), []))
    return out


def support_score(sentence: str, evidence: str) -> float:
    """1.0 if the sentence is in the evidence verbatim (normalised); else the share of its
    character 3-grams that occur in the evidence."""
    s, e = norm(sentence), norm(evidence)
    if not s:
        return 1.0
    if s in e:
        return 1.0
    grams = [s[i : i + 3] for i in range(max(len(s) - 2, 1))]
    have = {e[i : i + 3] for i in range(max(len(e) - 2, 0))}
    return sum(g in have for g in grams) / len(grams)


def supported(sentence: str, evidence: str, threshold: float = DEFAULT_SUPPORT_THRESHOLD) -> bool:
    return support_score(sentence, evidence) >= threshold


def numbers_in(text: str) -> list[str]:
    return [n.replace(" ", "").replace("％", "%") for n in _NUMBER.findall(strip_markers(text or ""))]


def faithfulness_scores(answer: str, cited: dict[int, str], threshold: float = DEFAULT_SUPPORT_THRESHOLD) -> dict[str, float]:
    """faithfulness, ALCE citation recall/precision and number fidelity of one answer.

    ``cited`` maps a citation number to its passage text. A sentence whose markers name a
    passage that is not in ``cited`` gets no support from that marker.
    """
    sentences = split_answer(answer)
    if not sentences:
        return {"faithfulness": 1.0, "citation_recall": 1.0, "citation_precision": 1.0, "number_fidelity": 1.0}
    sup = rec = 0
    prec_num = prec_den = 0
    num_ok = num_all = 0
    for text, marks in sentences:
        passages = [cited[m] for m in marks if m in cited]
        joined = "\n".join(passages)
        ok = bool(passages) and supported(text, joined, threshold)
        sup += ok
        rec += ok
        for m in marks:
            prec_den += 1
            alone = m in cited and supported(text, cited[m], threshold)
            rest = "\n".join(cited[x] for x in marks if x != m and x in cited)
            # ALCE: a citation is irrelevant when it cannot support the sentence alone and the
            # others support it without it.
            irrelevant = not alone and bool(rest) and supported(text, rest, threshold)
            prec_num += ok and not irrelevant
        nums = numbers_in(text)
        num_all += len(nums)
        num_ok += sum(norm(n) in norm(joined) for n in nums)
    return {
        "faithfulness": sup / len(sentences),
        "citation_recall": rec / len(sentences),
        "citation_precision": prec_num / prec_den if prec_den else 0.0,
        "number_fidelity": num_ok / num_all if num_all else 1.0,
    }


def calibrate_threshold(labels: list[dict]) -> tuple[float, float]:
    """The support threshold with the best accuracy on hand-labelled (sentence, passage,
    supported) records; returns (threshold, accuracy)."""
    scores = [(support_score(r["sentence"], r["passage"]), bool(r["supported"])) for r in labels]
    best = (DEFAULT_SUPPORT_THRESHOLD, -1.0)
    for t in [x / 100 for x in range(30, 101)]:
        acc = sum((s >= t) == y for s, y in scores) / len(scores)
        if acc > best[1] + 1e-9:
            best = (t, acc)
    return best


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q / 100
    f, c = math.floor(k), math.ceil(k)
    return v[f] if f == c else v[f] + (v[c] - v[f]) * (k - f)

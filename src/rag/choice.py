"""Answering multiple-choice questions from the corpus: pick the option the retrieved passages
support, with the supporting sentence as its citation."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .chunking import split_sentences
from .metrics import norm
from .retrieve import tokenize

_OPT = re.compile(r"(?:^|\s|\n)([A-Da-d])\s*[.．、:：)）]\s*")
_BLANK = re.compile(r"_{2,}|＿{2,}|（\s*）|\(\s*\)")


@dataclass
class Choice:
    letter: str
    option: str
    confidence: float
    sentence: str
    passage: object | None  # the Passage the sentence came from


def parse_options(text: str) -> tuple[str, dict[str, str]]:
    """Split "题干 A. 甲 B. 乙 C. 丙 D. 丁" into the stem and its options (empty when none)."""
    marks = list(_OPT.finditer(text))
    letters = [m.group(1).upper() for m in marks]
    if len(marks) < 2 or letters != sorted(letters) or letters[0] != "A":
        return text.strip(), {}
    stem = text[: marks[0].start()].strip()
    options = {}
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(text)
        options[m.group(1).upper()] = text[m.end() : end].strip().rstrip("；;。")
    return stem, options


def _bigram_share(option: str, sentence: str) -> float:
    o, s = norm(option), norm(sentence)
    if not o:
        return 0.0
    if o in s:
        return 1.0
    grams = [o[i : i + 2] for i in range(max(len(o) - 1, 1))]
    return sum(g in s for g in grams) / len(grams)


def choose(retriever, stem: str, options: dict[str, str], top_k: int = 8) -> Choice:
    """The option best supported by a sentence that also speaks to the stem."""
    passages = retriever.retrieve(stem, top_k=top_k)
    index = retriever.bm25
    terms = list(dict.fromkeys(tokenize(_BLANK.sub("", stem))))
    idf = {t: float(index.idf[index.vocab[t]]) if t in index.vocab else 1.0 for t in terms}
    total = sum(idf.values()) or 1.0
    scores: dict[str, tuple[float, str, object]] = {k: (0.0, "", None) for k in options}
    cloze = bool(_BLANK.search(stem))
    for p in passages:
        ctx = (p.metadata.get("occasion", "") + p.metadata.get("authors", "")).lower()
        for sent in split_sentences(p.text):
            low = (sent + ctx).lower()
            rel = sum(w for t, w in idf.items() if t in low) / total
            if rel <= 0:
                continue
            for letter, opt in options.items():
                if cloze:
                    filled = norm(_BLANK.sub(opt, stem, count=1))
                    match = 1.0 if filled and filled in norm(sent) else 0.6 * _bigram_share(opt, sent)
                else:
                    match = _bigram_share(opt, sent + ctx)
                score = rel * match
                if score > scores[letter][0]:
                    scores[letter] = (score, sent, p)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1][0])
    (best, (s1, sent, passage)), s2 = ranked[0], ranked[1][1][0] if len(ranked) > 1 else 0.0
    confidence = 0.0 if s1 <= 0 else round(min(1.0, s1) * (1 - s2 / s1 if s1 else 0), 3)
    return Choice(best, options[best], confidence, sent, passage)

"""Answering multiple-choice and true/false questions from the corpus, never by guessing.

Each option is scored against sentences of the retrieved passages: how much of the stem the
sentence speaks to (idf-weighted share of the stem's terms), times how well the option is in it
(verbatim, or for a statement-like option most of its 3-grams with every number present), times
how well the option sits where the stem's question word stands ("根基在什么" is answered by the
words after "根基在", not by another item of the same sentence). Then:

- an ordinary question takes the best-supported option when it is supported and clearly ahead;
- a "不属于 / 错误的是" question takes the one option that is *not* supported while the others are;
- a true/false item is 对 when one sentence holds the statement, 错 when a sentence nearly holds it
  but differs (a swapped term or number);
- otherwise the answer is 无法确定 with no letter. Vocabulary and thresholds: data/choice.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml

from .chunking import split_sentences
from .metrics import norm
from .patterns import BLANK_MARK
from .retrieve import tokenize
from .safety import is_injection

UNDETERMINED = "无法确定"
_OPT = re.compile(r"[（(]([A-DＡ-Ｄ])[)）]\s*|(?:^|(?<=[\s\n？?。：:；;，,）)]))([A-Da-dＡ-Ｄ])\s*[.．、:：)）]\s*")
_NUMBERS = re.compile(r"第[一二三四五六七八九十\d]+|\d+(?:\.\d+)?%?|[一二两三四五六七八九十]+[大个项席对条类]")
_FULL = str.maketrans("ＡＢＣＤａｂｃｄ", "ABCDabcd")


@lru_cache(maxsize=1)
def vocab() -> dict:
    return yaml.safe_load((resources.files("rag") / "data" / "choice.yaml").read_text(encoding="utf-8"))


@dataclass
class Choice:
    letter: str  # "" when undetermined
    option: str  # the option's text, or 无法确定
    confidence: float
    low_confidence: bool
    sentence: str  # the deciding sentence ("" when none)
    passage: object | None  # the Passage the sentence came from
    negative: bool = False  # a "不属于 / 错误的是" question
    scores: dict[str, float] = field(default_factory=dict)  # support per letter

    @property
    def decided(self) -> bool:
        return bool(self.letter)


# -- parsing ------------------------------------------------------------------------------
def parse_options(text: str) -> tuple[str, dict[str, str]]:
    """Split "题干 A. 甲 B. 乙 C. 丙 D. 丁" (also "（A）甲", "A、甲；B、乙", one per line) into the
    stem and its options; no options when the letters are not A, B, … in order."""
    text = text or ""
    marks = list(_OPT.finditer(text))
    letters = [(m.group(1) or m.group(2)).translate(_FULL).upper() for m in marks]
    # the longest run A, B, C, … (a stray "A." inside the stem before it is ignored)
    start = next((i for i, ltr in enumerate(letters) if ltr == "A" and letters[i : i + 2] == ["A", "B"]), None)
    if start is None:
        return text.strip(), {}
    run = [marks[start]]
    for m, ltr in zip(marks[start + 1 :], letters[start + 1 :], strict=False):
        if len(run) >= 4 or ltr != "ABCD"[len(run)]:
            break
        run.append(m)
    stem = text[: run[0].start()].strip()
    options = {}
    for k, m in enumerate(run):
        end = run[k + 1].start() if k + 1 < len(run) else len(text)
        options["ABCD"[k]] = text[m.end() : end].strip().rstrip("；;。，,").strip()
    if len(options) < 2 or not all(options.values()):
        return text.strip(), {}
    return stem, options


def is_negative(stem: str) -> bool:
    return any(w in stem for w in vocab()["negation"])


def judge_options(options: dict[str, str]) -> dict[str, bool] | None:
    """For a true/false item's options ({"A": "对", "B": "错"}), which letter means true."""
    v = vocab()
    out = {}
    for letter, text in options.items():
        t = text.strip().rstrip("。")
        if t in v["true_words"]:
            out[letter] = True
        elif t in v["false_words"]:
            out[letter] = False
        else:
            return None
    return out if len(out) == 2 and set(out.values()) == {True, False} else None


def is_judge(stem: str) -> bool:
    return any(m in stem for m in vocab()["judge_marks"])


def _clean_stem(stem: str) -> str:
    v = vocab()
    s = BLANK_MARK.sub(" ", stem)
    for w in v["negation"] + v["filler"] + v["judge_marks"]:
        s = s.replace(w, " ")
    return s


# -- scoring ------------------------------------------------------------------------------
def _numbers_ok(option: str, sentence_norm: str) -> bool:
    return all(norm(n) in sentence_norm for n in _NUMBERS.findall(option))


def _share3(o: str, s: str) -> float:
    grams = [o[i : i + 3] for i in range(max(len(o) - 2, 1))]
    return sum(g in s for g in grams) / len(grams)


def _slot(stem: str) -> tuple[str, str] | None:
    """The stem's text left and right of where the answer goes (a blank or a question word)."""
    m = BLANK_MARK.search(stem)
    if m:
        return norm(stem[: m.start()])[-4:], norm(stem[m.end() :])[:4]
    for w in vocab()["slots"]:
        k = stem.find(w)
        if k >= 0:
            return norm(stem[:k])[-4:], norm(stem[k + len(w) :])[:4]
    return None


def adjacency(slot: tuple[str, str] | None, option: str, sentence_norm: str) -> float:
    """How much of the stem's text around the slot surrounds the option in the sentence (0..1):
    the characters of the stem just before (after) the slot found just before (after) the option,
    so "关键在于什么" still meets "关键在顶层设计"."""
    o = norm(option)
    if slot is None or not o:
        return 0.0
    left, right = slot
    if not left and not right:
        return 0.0
    best = 0
    for start in _occurrences(o, sentence_norm):
        before = sentence_norm[max(0, start - 6) : start]
        after = sentence_norm[start + len(o) : start + len(o) + 6]
        hits = sum(ch in before for ch in left) + sum(ch in after or ch in o for ch in right)
        best = max(best, hits)
    return min(best, 4) / 4


def _occurrences(o: str, s: str) -> list[int]:
    """Where the (normalised) option stands in the sentence, a number not read inside a longer
    one ("5个" is not in "15个")."""
    out = []
    for m in re.finditer(re.escape(o), s):
        if o[0].isdigit() and m.start() > 0 and s[m.start() - 1].isdigit():
            continue
        if o[-1].isdigit() and m.end() < len(s) and s[m.end()].isdigit():
            continue
        out.append(m.start())
    return out


class _Evidence:
    """Sentences of the passages retrieved for a stem, and their relevance to a set of terms."""

    def __init__(self, retriever, stem: str, extra: list[str], top_k: int):
        self.clean = _clean_stem(stem)
        passages = retriever.retrieve(self.clean, top_k=top_k)
        if extra:
            seen = {p.id for p in passages}
            passages += [p for p in retriever.retrieve(self.clean + " " + " ".join(extra), top_k=top_k) if p.id not in seen]
        self.lexicon = retriever.lexicon
        self.items: list[
            tuple[str, str, str, str, object]
        ] = []  # (sentence, normalised, lowered, lowered with the one before, passage)
        seen_sent: set[str] = set()
        for p in passages:
            ctx = p.metadata.get("occasion", "") + p.metadata.get("authors", "")
            prev = ""
            for sent in split_sentences(p.text):
                if is_injection(sent):
                    continue  # an instruction planted in a document is evidence of nothing
                if sent not in seen_sent:
                    seen_sent.add(sent)
                    low = (sent + ctx).lower()
                    self.items.append((sent, norm(sent + ctx), low, prev.lower() + low, p))
                prev = sent
        self.stem_terms = self.weights(self.clean)

    def weights(self, text: str) -> dict[str, float]:
        return self.lexicon.idf(tokenize(text), default=1.0)

    @staticmethod
    def relevance(terms: dict[str, float], low: str, with_prev: str) -> float:
        """idf-weighted share of the terms in the sentence; a list sentence often names its subject
        in the sentence before, which counts a little less."""
        total = sum(terms.values()) or 1.0
        own = sum(w for t, w in terms.items() if t in low) / total
        return max(own, 0.85 * sum(w for t, w in terms.items() if t in with_prev) / total)


def option_match(option: str, sentence_norm: str) -> float:
    """1 when the option is in the sentence; for a longer, statement-like option the share of its
    3-grams in the sentence (squared), provided every number it states is there too; else 0."""
    o = norm(option)
    if not o:
        return 0.0
    if _occurrences(o, sentence_norm):
        return 1.0
    if len(o) < 5 or not _numbers_ok(option, sentence_norm):
        return 0.0
    return _share3(o, sentence_norm) ** 2


def _statement(option: str) -> bool:
    return len(norm(option)) >= 6


def _score(ev: _Evidence, slot, option: str) -> tuple[float, str, object]:
    """The option's support: relevance × match × placement, at its best sentence. Without a slot
    ("which is NOT" questions list the true items) placement is not asked. A statement-like
    option brings its own terms to the relevance (the stem "关于…，下列说法错误的是" says little)."""
    terms = dict(ev.stem_terms)
    if _statement(option):
        terms.update(ev.weights(option))
    best = (0.0, "", None)
    for sent, sn, low, with_prev, p in ev.items:
        match = option_match(option, sn)
        if match <= 0:
            continue
        rel = ev.relevance(terms, low, with_prev)
        score = rel * match * (0.6 + 0.4 * adjacency(slot, option, sn) if slot is not None else 1.0)
        if score > best[0]:
            best = (score, sent, p)
    return best


def _listed(ev: _Evidence, options: dict[str, str]) -> tuple[str, float, str, object] | None:
    """For "which is NOT": the most relevant sentence that holds all options but one, and that one."""
    best = None
    for sent, sn, low, with_prev, p in ev.items:
        missing = [k for k, o in options.items() if option_match(o, sn) < 0.8]
        if len(missing) != 1:
            continue
        rel = ev.relevance(ev.stem_terms, low, with_prev)
        if best is None or rel > best[1]:
            best = (missing[0], rel, sent, p)
    return best


def _result(
    letter: str, options: dict[str, str], confidence: float, sent: str, passage, negative: bool, scores: dict[str, float]
) -> Choice:
    t = vocab()["thresholds"]
    confidence = round(max(0.0, min(1.0, confidence)), 3)
    if not letter or confidence < t["confidence"]:
        return Choice("", UNDETERMINED, confidence, True, sent, passage, negative, scores)
    return Choice(letter, options[letter], confidence, confidence < t["low_confidence"], sent, passage, negative, scores)


def choose(retriever, stem: str, options: dict[str, str], top_k: int = 8) -> Choice:
    """The option the corpus supports (or, for "不属于 / 错误的是", the one it does not); 无法确定
    when the evidence does not decide."""
    truth = judge_options(options)
    if truth is not None:
        verdict = judge(retriever, stem, top_k)
        letter = next((k for k, v in truth.items() if verdict.letter and v == (verdict.letter == "对")), "")
        return _result(letter, options, verdict.confidence, verdict.sentence, verdict.passage, False, verdict.scores)
    negative = is_negative(stem)
    t = vocab()["thresholds"]
    ev = _Evidence(retriever, stem, list(options.values()), top_k)
    slot = None if negative else _slot(stem)
    found = {k: _score(ev, slot, o) for k, o in options.items()}
    scores = {k: round(v[0], 3) for k, v in found.items()}
    ranked = sorted(found, key=lambda k: -found[k][0])
    if not negative:
        best, second = ranked[0], ranked[1] if len(ranked) > 1 else None
        s1, s2 = found[best][0], found[second][0] if second else 0.0
        if s1 < t["support"]:
            return _result("", options, 0.0, found[best][1], found[best][2], False, scores)
        return _result(best, options, (s1 - s2) / s1 * min(1.0, s1 / 0.8), found[best][1], found[best][2], False, scores)
    # "Which is NOT": a sentence that lists all options but one, the missing one unsupported
    # elsewhere; or exactly one option unsupported while the others are.
    listed = _listed(ev, options)
    if listed is not None:
        missing, rel, sent, passage = listed
        if rel >= t["support"] and found[missing][0] < min(found[k][0] for k in options if k != missing):
            conf = min(1.0, rel / 0.8) * (1 - found[missing][0] / max(found[k][0] for k in options))
            return _result(missing, options, conf, sent, passage, True, scores)
    lowest = ranked[-1]
    others = [found[k][0] for k in ranked[:-1]]
    low = found[lowest][0]
    if low >= t["support"] or min(others) < t["support"]:
        weakest = min(ranked[:-1], key=lambda k: found[k][0])
        return _result("", options, 0.0, found[weakest][1], found[weakest][2], True, scores)
    anchor = max(ranked[:-1], key=lambda k: found[k][0])  # the sentence that lists the true ones
    conf = (min(others) - low) / min(others) * min(1.0, min(others) / 0.8)
    return _result(lowest, options, conf, found[anchor][1], found[anchor][2], True, scores)


def swapped_term(statement_norm: str, sentence_norm: str) -> tuple[str, str] | None:
    """The term of the statement that stands where the sentence has another (both 2+ characters,
    between or beside passages the two share): ("脑机接口", "生物制造") for a swapped subject."""
    from difflib import SequenceMatcher

    ops = SequenceMatcher(None, statement_norm, sentence_norm, autojunk=False).get_opcodes()
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag != "replace" or i2 - i1 < 2 or j2 - j1 < 2:
            continue
        before = ops[k - 1] if k > 0 else None
        after = ops[k + 1] if k + 1 < len(ops) else None
        anchored = any(o and o[0] == "equal" and o[2] - o[1] >= 4 for o in (before, after))
        if anchored:
            return statement_norm[i1:i2], sentence_norm[j1:j2]
    return None


def judge(retriever, statement: str, top_k: int = 8) -> Choice:
    """对 when a retrieved sentence holds the statement (every number included, no term swapped);
    错 when a sentence nearly holds it but states another number or has another term in its
    place; else 无法确定 (a loose paraphrase is not called false). The letter is 对 / 错 (or "")."""
    t = vocab()["thresholds"]
    text = BLANK_MARK.sub("", statement)
    for w in vocab()["judge_marks"]:
        text = text.replace(w, "")
    text = text.strip().lstrip("：:").strip()
    ev = _Evidence(retriever, text, [], top_k)
    s = norm(text)
    best = (0.0, False, "", None, "")
    for sent, sn, _low, _with_prev, p in ev.items:
        share = 1.0 if s and s in sn else _share3(s, sn) if s else 0.0
        if share > best[0] or (share == best[0] and not best[1]):
            best = (share, _numbers_ok(text, sn), sent, p, sn)
    share, numbers, sent, p, sn = best
    swap = swapped_term(s, norm(sent)) if s and share < 1.0 else None
    opts = {"对": "正确", "错": "错误"}
    if share >= t["judge_true"] and numbers and not swap:
        return Choice("对", opts["对"], round(min(1.0, share), 3), share < 0.95, sent, p, False, {"对": share})
    if share >= t["judge_near"] and (not numbers or swap):
        conf = round(min(1.0, share), 3)
        return Choice("错", opts["错"], conf, conf < t["low_confidence"], sent, p, False, {"错": share})
    return Choice("", UNDETERMINED, 0.0, True, sent, p, False, {})

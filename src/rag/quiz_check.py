"""Quiz quality check (`rag quiz --check`): every item of a generated quiz is checked against the
corpus, and the share passing is reported over several seeds.

Per item: the key is supported by its cited sentence; choice distractors are of the key's own
kind and do not make a statement the corpus supports; no two items ask about the same sentence;
a blank is not given away by the rest of the sentence; a short answer has 2-5 points, each a
phrase of its reference text; a false statement differs from its source by one same-kind term.

Given the retriever, two checks do not share the generator's rules: the multiple-choice answerer
(choice.py, which reads the whole corpus through retrieval) must not pick a distractor of a
choice item, and must not judge a false statement 对 nor a true one 错.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .metrics import norm, support_score
from .patterns import BLANK, DATE_ZH
from .quiz import KINDS, QuizBuilder, QuizItem, quiz_vocab


@dataclass
class ItemCheck:
    item: QuizItem
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def kind_of(term: str, occasions: set[str]) -> str:
    kinds = {t: k for k, ts in KINDS.items() for t in ts}
    if term in kinds:
        return kinds[term]
    if term in occasions:
        return "occasion"
    if DATE_ZH.fullmatch(term):
        return "date:" + re.sub(r"\d", "0", term)
    if re.fullmatch(r"\d+(?:\.\d+)?\D*", term):
        return "number:" + re.sub(r"[\d.]", "", term)
    return "other"


def _answered_against_corpus(item: QuizItem, retriever, out: ItemCheck) -> None:
    from .choice import choose, judge

    if item.type == "choice":
        c = choose(retriever, item.question, dict(zip("ABCD", item.options, strict=False)))
        if c.letter and c.letter != item.answer:
            out.problems.append(f"资料支持干扰项“{c.option}”（选择题作答器选了 {c.letter}）")
    elif item.type == "judge":
        c = judge(retriever, item.question)
        if c.letter and (c.letter == "对") != (item.answer == "正确"):
            out.problems.append(f"资料显示该陈述为“{c.option}”，与答案“{item.answer}”相反")


def check_item(item: QuizItem, builder: QuizBuilder, retriever=None) -> ItemCheck:
    out = ItemCheck(item)
    if retriever is not None:
        _answered_against_corpus(item, retriever, out)
    c = item.citation
    if c is None or not c.quote:
        out.problems.append("没有出处")
        return out
    sent = c.quote
    occasions = builder.pool.get("occasion", set())
    if item.type in ("fill", "choice") and BLANK in item.question:
        key = item.answer if item.type == "fill" else item.options["ABCD".index(item.answer)]
        if norm(item.question.replace(BLANK, key, 1)) != norm(sent):
            out.problems.append("答案与出处原句不符")
        kind = kind_of(key, occasions)
        if builder.guessable(sent, key, kind):
            out.problems.append("空格可由句中其余内容猜出")
        for o in item.options:
            if o == key:
                continue
            if kind_of(o, occasions) != kind:
                out.problems.append(f"干扰项“{o}”与答案不同类")
            if o in sent or builder.true_in_context(sent, key, o):
                out.problems.append(f"干扰项“{o}”代入后也成立")
    elif item.type == "choice":  # an occasion question
        key = item.options["ABCD".index(item.answer)]
        if key != c.occasion:
            out.problems.append("答案与出处场合不符")
        if any(o == key for o in item.options if o is not key) or len(set(item.options)) != 4:
            out.problems.append("选项重复")
    elif item.type == "judge":
        if item.answer == "正确" and support_score(item.question, sent) < 0.84:
            out.problems.append("“正确”的陈述得不到出处支持")
        if item.answer == "错误":
            m = re.match(r"原文为“(.+?)”而非“(.+?)”", item.explanation)
            if not m or norm(item.question.replace(m.group(2), m.group(1), 1)) != norm(sent):
                out.problems.append("错误陈述不是替换一个术语而来")
            elif kind_of(m.group(1), occasions) != kind_of(m.group(2), occasions) or m.group(1)[:1].isdigit():
                out.problems.append("替换词与原词不同类或是数字年份")
            elif norm(item.question) in builder.corpus:
                out.problems.append("“错误”的陈述在资料中成立")
    elif item.type == "short":
        lim = quiz_vocab()["points"]
        if not lim["min"] <= len(item.points) <= lim["max"]:
            out.problems.append(f"要点数 {len(item.points)} 不在 {lim['min']}–{lim['max']} 之间")
        reference = item.answer + item.explanation + (c.occasion or "") + (c.date or "")
        for p in item.points:
            if not p or norm(p) not in norm(reference) and p not in (c.occasion, c.date):
                out.problems.append(f"要点“{p}”不是参考原文中的短语")
    return out


def check_quiz(items: list[QuizItem], builder: QuizBuilder, retriever=None) -> list[ItemCheck]:
    checks = [check_item(it, builder, retriever) for it in items]
    seen: dict[str, int] = {}
    for k, it in enumerate(items):
        s = it.citation.quote if it.citation else ""
        if s in seen:
            checks[k].problems.append(f"与第 {seen[s] + 1} 题出自同一句")
        seen.setdefault(s, k)
    return checks


def check_seeds(system, seeds: list[int], n: int = 20, types=None) -> dict:
    """Quizzes for each seed, checked; the share of items passing overall and per seed."""
    from .quiz import TYPES, corpus_builder

    builder = corpus_builder(system)
    per_seed, failures, total, passed = {}, [], 0, 0
    for seed in seeds:
        items = builder.build(n, tuple(types or TYPES), seed)
        checks = check_quiz(items, builder, system.retriever)
        ok = sum(c.passed for c in checks)
        per_seed[seed] = (ok, len(checks))
        total += len(checks)
        passed += ok
        failures += [(seed, c.item, c.problems) for c in checks if not c.passed]
    return {
        "share": passed / total if total else 0.0,
        "passed": passed,
        "items": total,
        "per_seed": per_seed,
        "failures": failures,
    }

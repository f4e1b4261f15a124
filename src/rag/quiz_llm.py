"""Quiz items written by a chat model (``rag quiz --writer llm``): what the model is asked for,
and the check that keeps an item only when its cited passage supports it (see quiz.py)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from .chunking import split_sentences
from .citation import Citation
from .patterns import BLANK, BLANK_MARK
from .safety import without_injections

if TYPE_CHECKING:
    from .quiz import QuizItem

# What the model is asked to write, per type (prompts/quiz.yaml's {type}).
LLM_TYPE_ASK = {
    "fill": "填空题。question 为资料中的一句原文，把其中一个关键术语（政策概念、产业名称、日期或数字）换成 ________；"
    "answer 为被挖去的词；options 为空列表。",
    "choice": "单项选择题。question 为挖去一个关键术语（用 ________ 表示）的原文句子；options 为 4 个同类选项，"
    "只有一个正确，另外三个不得出现在该原句中；answer 为正确选项的字母（A/B/C/D）。",
    "judge": "判断题。question 为一个陈述：照录资料中的一句原文（answer 为“正确”），或把其中一个关键术语换成同类的另一术语"
    "（answer 为“错误”）；options 为空列表。",
    "short": "简答题。question 为一个需要概括资料内容的问题；answer 为参考答案，由资料原句组成；points 为完整答案必须提到的"
    "2 至 4 个要点（资料中的原词）；options 为空列表。",
}
_JSON = re.compile(r"\{.*\}", re.S)


def _json_object(reply: str) -> dict | None:
    """The JSON object in the model's reply (fenced or not), or None when it wrote none."""
    found = _JSON.search(reply)
    data = json.loads(found.group(0)) if found else None
    return data if isinstance(data, dict) else None


def item_chain(model):
    """``{"passage": text, "kind": type}`` -> the item the chat model writes from the passage, as a
    dict (None when its reply holds no JSON object): prompts/quiz.yaml | chat model | JSON, one
    LangChain Runnable. The passage is sent fenced as data, without instructions (safety.py)."""
    from langchain_core.runnables import RunnableLambda

    from .llm import task_chain
    from .prompts import as_data

    fill = RunnableLambda(lambda x: {"passage": as_data(without_injections(x["passage"])), "type": LLM_TYPE_ASK[x["kind"]]})
    return fill | task_chain("quiz", model) | RunnableLambda(_json_object)


def _blank(text: str) -> str:
    return BLANK_MARK.sub(BLANK, text)


def check_llm_item(
    data: dict, kind: str, passage: str, meta: dict, kinds: dict[str, str], threshold: float = 0.84
) -> QuizItem | None:
    """The model's item as a QuizItem when its key is supported by its cited passage, else None."""
    from .metrics import norm, support_score
    from .quiz import QuizItem  # quiz.py imports this module: imported here, either loads first

    question = _blank(str(data.get("question", "")).strip())
    answer = str(data.get("answer", "")).strip()
    quote = str(data.get("quote", "")).strip()
    options = [str(o).strip() for o in data.get("options") or [] if str(o).strip()]
    options = [re.sub(r"^[A-DＡ-Ｄ][.．、:：)）]\s*", "", o) for o in options]
    if not question or not answer or len(norm(quote)) < 6 or norm(quote) not in norm(passage):
        return None
    source = next((x for x in split_sentences(passage) if norm(quote) in norm(x) or norm(x) in norm(quote)), quote)
    cite = Citation.of_meta(meta, source.strip())
    if kind == "fill":
        if question.count(BLANK) != 1 or norm(answer) not in norm(quote):
            return None
        if support_score(question.replace(BLANK, answer), passage) < threshold:
            return None
        return QuizItem("fill", question, answer, explanation=f"原文：{quote}", citation=cite)
    if kind == "choice":
        letter = answer[:1].upper()
        if len(options) != 4 or len(set(options)) != 4 or letter not in "ABCD":
            return None
        key = options["ABCD".index(letter)]
        others = [o for o in options if o != key]
        if norm(key) not in norm(quote) or any(norm(o) in norm(quote) for o in others):
            return None
        if BLANK in question and support_score(question.replace(BLANK, key), passage) < threshold:
            return None
        return QuizItem("choice", question, letter, options, f"原文：{quote}", citation=cite)
    if kind == "judge":
        if answer.startswith("正确") or answer in {"对", "√", "true", "True"}:
            if support_score(question, quote) < threshold:
                return None
            return QuizItem("judge", question, "正确", explanation=f"与原文一致：{quote}", citation=cite)
        # A false statement must be the quote with one term swapped for a same-kind term.
        swaps = [
            (a, b)
            for a in kinds
            if a in quote and a not in question
            for b in kinds
            if b in question and b not in quote and kinds[a] == kinds[b]
        ]
        if not swaps or not answer.startswith("错误"):
            return None
        a, b = swaps[0]
        if norm(question.replace(b, a, 1)) != norm(quote):
            return None
        return QuizItem("judge", question, "错误", explanation=f"原文为“{a}”而非“{b}”。原文：{quote}", citation=cite)
    if kind == "short":
        sentences = [x for x in split_sentences(answer) if norm(x)]
        if not sentences or any(support_score(x, passage) < threshold for x in sentences):
            return None
        points = [str(p).strip() for p in data.get("points") or [] if str(p).strip() and norm(str(p)) in norm(passage)]
        if len(points) < 2:
            return None
        return QuizItem("short", question, answer, points=points[:4], explanation=f"参考原文：{passage}", citation=cite)
    return None

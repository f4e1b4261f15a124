"""Multi-turn chat: resolving follow-ups against the conversation, and exporting it.

Offline, follow-ups are rewritten by rules using the previous turn: a pronoun (它/其/这/该…)
or a bare fragment ("特征呢？") is completed with the previous question's subject, and a
reference to an item of the previous answer ("第二点具体怎么说") is replaced by that item's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .answer import Answer
from .citation import strip_marks
from .patterns import cn_number
from .query import vocabulary

_ITEM_REF = re.compile(r"第\s*([一二两三四五六七八九十]|\d{1,2})\s*(?:点|条|个|项|方面|则|种|是)")
_PRONOUN = re.compile(r"^(?:那么|那|请问)?(它们|它|其|这些|这个|这一|该|上述|此|他们|他|她)")
_QUESTION_TAIL = re.compile(
    r"(?:的)?(?:是什么|是指什么|指什么|(?:有|包括|是)(?:哪些|什么)\S{0,6}|是怎样的|怎么样|如何|为什么|的含义|的内涵|"
    r"的定义|的特征|的特点|具体怎么说|怎么说|呢|吗)?[？?。！!\s]*$"
)
_QUESTION_HEAD = re.compile(r"^(?:请问|请|什么是|何为|介绍一下|谈谈|说说|关于)")


@dataclass
class Turn:
    question: str
    query: str
    answer: Answer


@dataclass
class Conversation:
    """One user's history (kept per browser session)."""

    turns: list[Turn] = field(default_factory=list)
    bubbles: dict[int, int] = field(default_factory=dict)  # chat message index -> turn index

    def rewrite(self, question: str) -> str:
        """The standalone query to search for ``question`` given the previous turn."""
        return rewrite_followup(question, self.turns[-1] if self.turns else None)

    def add(self, question: str, query: str, answer: Answer) -> None:
        self.turns.append(Turn(question, query, answer))

    def markdown(self) -> str:
        """The whole conversation with its citations, as Markdown; questions, answers and quotes
        are escaped (render.md_text), so a link or image in a document stays text in any viewer."""
        from .render import answer_markdown, md_text

        parts = ["# 学习助手对话记录", ""]
        for i, t in enumerate(self.turns, 1):
            parts += [f"## 问题 {i}：{md_text(t.question)}", ""]
            if t.query != t.question:
                parts += [f"*检索：{md_text(t.query)}*", ""]
            parts += [answer_markdown(t.answer), ""]
        return "\n".join(parts)


def subject_of(query: str) -> str:
    """The topic of a question: the question without its interrogative head and tail."""
    s = _QUESTION_HEAD.sub("", query.strip())
    s = _QUESTION_TAIL.sub("", s)
    return s.strip('“”"《》 ，,')


def _item_number(text: str) -> int | None:
    m = _ITEM_REF.search(text)
    if not m:
        return None
    g = m.group(1)
    return cn_number(g) or None


def _answer_items(answer: Answer) -> list[str]:
    items = [strip_marks(line[2:]).strip() for line in answer.answer.splitlines() if line.startswith("- ")]
    return [i for i in items if i]


def rewrite_followup(question: str, previous: Turn | None) -> str:
    """Rule-based rewrite of a follow-up into a standalone query."""
    q = question.strip()
    if previous is None or previous.answer.refused and not _PRONOUN.search(q):
        return q
    n = _item_number(q)
    if n is not None:
        items = _answer_items(previous.answer)
        if 1 <= n <= len(items):
            rest = _ITEM_REF.sub("", q)
            rest = re.sub(r"^(?:那么|那|请问)?(?:的)?", "", rest).strip("，,？? ")
            return f"{items[n - 1]} {rest}".strip()
    subject = subject_of(previous.query)
    if not subject:
        return q
    if _PRONOUN.search(q):
        return _PRONOUN.sub(subject, q, count=1)
    core = subject_of(q)
    # A fragment such as "特征呢？" / "有哪些措施" that names no topic of its own.
    bare = not core or any(core.startswith(a) or core.endswith(a) for a in vocabulary()["follow_up_aspects"]) and len(core) <= 6
    if subject not in q and (bare or re.search(r"呢[？?]?$", q) and len(core) <= 4):
        aspect = core or re.sub(r"^(?:有|包括|是)(?:哪些|什么)", "", re.sub(r"[？?。\s呢]", "", q))
        return f"{subject}的{aspect}" if aspect else subject
    return q


def llm_rewrite(model, turns: list[Turn], question: str, max_tokens: int = 600) -> str:
    """A standalone question written by the chat model (prompts/rewrite.yaml), with the history
    cut to the most recent turns that fit ``max_tokens`` (cl100k). Falls back to the rules."""
    from .chunking import count_tokens
    from .llm import task_chain

    lines: list[str] = []
    for t in reversed(turns):
        said = strip_marks(t.answer.answer)[:300]
        block = f"问：{t.question}\n答：{said}"
        if count_tokens("\n".join([block] + lines)) > max_tokens:
            break
        lines.insert(0, block)
    if not lines:
        return rewrite_followup(question, turns[-1] if turns else None)
    try:
        reply = task_chain("rewrite", model).invoke({"history": "\n".join(lines), "question": question})
        text = reply.strip().splitlines()[0].strip()
    except Exception:
        return rewrite_followup(question, turns[-1] if turns else None)
    return text[:200] or question


def rewrite(system, conv: Conversation, question: str) -> str:
    """The query to search: an LLM rewrite when a chat model is configured, else the rules."""
    model = system.chat_model
    if conv.turns and model is not None:
        return llm_rewrite(model, conv.turns, question, system.settings.llm.history_tokens)
    return conv.rewrite(question)

"""What every answerer returns: an Answer with numbered Citations (one per passage, rag.citation)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..citation import Citation
from ..retrieve import Passage

REFUSAL = "资料中未找到与该问题相关的内容，无法依据现有资料作答。"
# A near miss: the material speaks of it but does not give what was asked ("具体日期").
REFUSAL_LACKING = "资料中未找到所问的{}，无法依据现有资料作答。"


RELATED_NOTE = "资料中的相关原文（不能回答此问，仅供核对）："  # introduces a near miss's related text


def is_refusal(text: str) -> bool:
    """Is this reply a refusal (either wording)?"""
    return REFUSAL in text[:200] or REFUSAL_LACKING.split("{}")[1] in text[:200]


@runtime_checkable
class Answerer(Protocol):
    """What the app, the CLI, the API, batch answering and quizzes use of an answer backend
    (build_answerer chooses it): the extractive answerer, or a chat model that writes the answer
    with the extractive one as its fallback. Callers use only this, never a backend's internals."""

    settings: Any  # rag.settings.Settings
    retriever: Any  # rag.retrieve.Retriever
    streams: bool  # whether stream() yields text before the Answer (a chat model does)
    chat_model: Any  # the configured LangChain chat model, or None (offline, or not usable)
    unavailable: str  # why a configured chat model cannot be used ("" when it can, or none is set)

    def ask(
        self, question: str, *, top_k: int | None = None, mode: str | None = None, filters: Any = None, query: str | None = None
    ) -> Answer: ...

    def stream(
        self, question: str, *, top_k: int | None = None, mode: str | None = None, filters: Any = None, query: str | None = None
    ) -> Iterator[str | Answer]:
        """Text pieces as they are written (none offline), then the checked Answer."""
        ...

    @property
    def offline(self) -> Answerer:
        """The extractive answerer (itself, or a chat answerer's fallback)."""
        ...


class QuestionError(ValueError):
    """An unusable question (empty, too long); the message says why, in Chinese."""


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    contexts: list[Passage] = field(default_factory=list)
    confidence: float = 0.0
    query: str = ""
    latency_ms: float = 0.0
    notice: str = ""  # e.g. the LLM was unreachable and this is the extractive fallback
    marks: list[dict] = field(default_factory=list)  # verification findings of an LLM answer
    why: str = ""  # why an extractive answer was refused (answerability), for reports and debugging
    features: dict = field(default_factory=dict)  # the answerability features (fitting, reports)
    unanswered: list[str] = field(default_factory=list)  # asks of a several-part question the material does not answer
    # A near miss refused: the material's closest sentences, which do not hold what was asked
    # (asked for a day, they give a year), with what they lack; never part of the answer.
    related: list[Citation] = field(default_factory=list)
    lacks: str = ""

    def related_lines(self) -> list[str]:
        """``related`` as plain lines: the note, then each quote with its source."""
        if not self.related:
            return []
        return [RELATED_NOTE] + [f"“{c.quote}”——{c.label()}" for c in self.related]

    def gaps(self) -> dict:
        """What the material does not answer, as record fields: ``unanswered`` asks, and a near
        miss's ``related`` text (only those that apply)."""
        out: dict = {}
        if self.unanswered:
            out["unanswered"] = self.unanswered
        if self.related:
            out["related"] = {
                "lacks": self.lacks,
                "quotes": [
                    {"source": c.source, "title": c.title, "authors": c.authors, "section": c.section, "quote": c.quote}
                    for c in self.related
                ],
            }
        return out

    @property
    def unanswered_note(self) -> str:
        """The asks of a several-part question the material does not answer, as one line ("" if none)."""
        return ("资料中未找到以下问题的答案：" + "；".join(f"“{x}”" for x in self.unanswered)) if self.unanswered else ""

    def recorded(self) -> list[Passage]:
        """The contexts a record lists: the passages the search returned, in rank order, then
        those the answer cites that it did not return. Not the passages of fusion's own top k that
        the reranker moved out (``Passage.fused_only``), which the extractive answer weighs too,
        unless the answer cites one."""
        cited = {c.passage_id for c in self.citations}
        return [p for p in self.contexts if not p.fused_only or p.id in cited]

    def to_record(self, id_: str | None = None) -> dict:
        """The batch-interface record (see README)."""
        rec = {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "confidence": self.confidence,
            "citations": [{k: v for k, v in asdict(c).items() if k != "passage_id"} for c in self.citations],
            "contexts": [
                {
                    "rank": rank,
                    "source": p.metadata.get("source", ""),
                    "title": p.metadata.get("title", ""),
                    "section": p.metadata.get("section", ""),
                    "text": p.text,
                    "score": round(p.score, 6),
                }
                for rank, p in enumerate(self.recorded(), 1)
            ],
            "latency_ms": round(self.latency_ms, 1),
        }
        if self.refused and self.why:
            rec["refusal_reason"] = self.why
        if self.notice:
            rec["notice"] = self.notice
        rec.update(self.gaps())
        if self.marks:
            rec["verification"] = self.marks
        if id_ is not None:
            rec = {"id": id_, **rec}
        return rec

    def markdown(self) -> str:
        """Answer with its numbered sources, as Markdown."""
        head = [f"> {self.notice}", ""] if self.notice else []
        if self.refused:
            return "\n".join(head + [self.answer] + ([""] + [f"> {x}" for x in self.related_lines()] if self.related else []))
        lines = head + [self.answer, *([f"*{self.unanswered_note}*"] if self.unanswered else []), "", "**来源**"]
        for c in self.citations:
            lines.append(f"[{c.n}] {c.label()}")
            lines.append(f"    > {c.quote}")
        return "\n".join(lines)


def check_question(question: str, max_chars: int) -> str:
    if question is None or not str(question).strip():
        raise QuestionError("问题不能为空。")
    q = re.sub(r"\s+", " ", str(question)).strip()
    if len(q) > max_chars:
        raise QuestionError(f"问题过长（{len(q)} 字），请控制在 {max_chars} 字以内。")
    return q


def chain_input(x: str | dict, max_chars: int) -> dict:
    """What both answer chains take (``chain().invoke``): a question, or ``{"question": …}`` with
    optionally ``query`` (the text searched, e.g. a rewritten follow-up), ``top_k``, ``mode`` and
    ``filters``. The question is checked here; ``query`` defaults to it."""
    x = {"question": x} if isinstance(x, str) else dict(x)
    x["question"] = check_question(x.get("question"), max_chars)
    x["query"] = x.get("query") or x["question"]
    return x

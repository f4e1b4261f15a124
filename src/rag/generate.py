"""LLM answers with enforced, verified citations.

The retrieved passages are numbered and fenced as data in the prompt (prompts/answer.yaml), without
the sentences that instruct the reader or the model (safety.py), and the system prompt says that
instructions inside passages are never obeyed. After
generation every sentence is checked against the passages it cites with the evaluation harness's
support test: citations to passages that were not retrieved are removed; a sentence its passages
do not support is marked (or removed, by setting); text inside quotation marks presented as 原文
must match its cited passage exactly, else it is marked. When the model cannot be reached the
answer falls back to the extractive one with a visible notice, never an empty reply.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from .answer import REFUSAL, Answer, Citation, ExtractiveAnswerer, chain_input
from .chunking import split_sentences
from .citation import join_quoted, meta_label
from .llm import describe_error, task_chain
from .metrics import norm, support_score, supported
from .prompts import as_data
from .retrieve import Filters, Passage
from .safety import without_injections

UNSUPPORTED_MARK = "（⚠未能在所引资料中核实）"
QUOTE_MARK = "（⚠引文与原文不符）"
_SEG = re.compile(r"((?:\[\d+\])+)|(?<=[。！？!?；])(?!\[)")
_QUOTE = re.compile(r"[“「]([^”」]{4,})[”」]")


@dataclass
class Mark:
    sentence: str
    issue: str  # unsupported | no_citation | invalid_citation | quote_mismatch
    detail: str = ""


def format_passages(passages: list[Passage]) -> str:
    """Numbered passages with their source, for the prompt; sentences that instruct the reader or the
    model (safety.py) are left out, so the model never reads them."""
    out = []
    for i, p in enumerate(passages, 1):
        out.append(as_data(f"[{i}] {meta_label(p.metadata)}\n{without_injections(p.text)}"))
    return "\n\n".join(out)


def _segments(text: str) -> list[tuple[str, list[int], str]]:
    """(sentence, citation numbers, separator after it) preserving line breaks."""
    out: list[tuple[str, list[int], str]] = []
    lines = text.split("\n")
    for li, line in enumerate(lines):
        pos = 0
        for m in _SEG.finditer(line):
            piece = line[pos : m.start()]
            marks = [int(x) for x in re.findall(r"\[(\d+)\]", m.group(1) or "")]
            if piece.strip():
                out.append((piece, marks, ""))
            elif marks and out:
                out[-1] = (out[-1][0], out[-1][1] + marks, out[-1][2])
            pos = m.end()
        if line[pos:].strip():
            out.append((line[pos:], [], ""))
        if li < len(lines) - 1 and out:
            out[-1] = (out[-1][0], out[-1][1], out[-1][2] + "\n")
    return out


def verify(
    text: str, passages: list[Passage], threshold: float, mode: str = "mark"
) -> tuple[str, dict[int, list[str]], list[Mark]]:
    """Checked answer text, the passages it cites (number -> supporting passage sentences), marks."""
    cited: dict[int, list[str]] = {}
    marks: list[Mark] = []
    parts: list[str] = []
    for sentence, nums, sep in _segments(text):
        valid = [n for n in dict.fromkeys(nums) if 1 <= n <= len(passages)]
        for n in nums:
            if n not in valid:
                marks.append(Mark(sentence.strip(), "invalid_citation", f"[{n}] 不在检索结果中，已删除"))
        evidence = "\n".join(without_injections(passages[n - 1].text) for n in valid)  # an instruction supports nothing
        issue = ""
        if not valid:
            issue = "no_citation"
        elif not supported(sentence, evidence, threshold):
            issue = "unsupported"
        bad_quotes = [q for q in _QUOTE.findall(sentence) if norm(q) not in norm(evidence)]
        out = sentence.rstrip()
        if issue:
            marks.append(Mark(sentence.strip(), issue))
            if mode == "remove":
                continue
            out += UNSUPPORTED_MARK
        if bad_quotes:
            marks.append(Mark(sentence.strip(), "quote_mismatch", "；".join(bad_quotes)))
            out += QUOTE_MARK
        out += "".join(f"[{n}]" for n in valid) + sep
        parts.append(out)
        for n in valid:
            sents = split_sentences(without_injections(passages[n - 1].text))
            best = max(sents, key=lambda s: support_score(sentence, s), default="")
            cited.setdefault(n, [])
            if best and best not in cited[n]:
                cited[n].append(best)
    return "".join(parts).strip(), cited, marks


class LLMAnswerer:
    """Retrieval as in the extractive chain; the composing step is a chat model (an ``Answerer``)."""

    streams = True

    def __init__(self, settings, retriever, model, fallback: ExtractiveAnswerer, threshold: float = 0.84):
        self.s, self.retriever, self.model, self.fallback = settings, retriever, model, fallback
        self.threshold = threshold

    @property
    def settings(self):
        return self.s

    @property
    def offline(self) -> ExtractiveAnswerer:
        return self.fallback

    @property
    def unavailable(self) -> str:
        return getattr(self.model, "reason", "")  # configured, but unusable (e.g. its key is not set)

    @property
    def chat_model(self):
        return None if self.unavailable else self.model

    def writer(self):
        """prompts/answer.yaml (its system prompt first) | chat model | text: the step that writes
        the answer, ``{"question": …, "passages": [Passage]}`` -> str (streams its words)."""
        from langchain_core.runnables import RunnableLambda

        if self.chat_model is None:  # configured, but unusable: say why (e.g. its key is not set)
            raise ConnectionError(self.unavailable or "未配置大模型")
        fill = RunnableLambda(lambda x: {"question": x["question"], "passages": format_passages(x["passages"])})
        return fill | task_chain("answer", self.model)

    def chain(self):
        """retrieve | (answerability) | prompt | chat model | verify, as one LangChain Runnable:
        ``{"question": …}`` (optionally ``query``, ``top_k``, ``mode``, ``filters``) -> a checked
        ``Answer``; ``.invoke``/``.batch`` and composition come from LangChain. (``stream`` below also
        yields the model's words as they arrive.)"""
        from langchain_core.runnables import RunnableBranch, RunnableLambda, RunnablePassthrough

        write = self.writer()

        def retrieve(x: dict) -> list[Passage]:
            return self._retrieve(x["question"], x.get("top_k"), x.get("mode"), x.get("filters"), x["query"])[2]

        def offline(x: dict) -> Answer:  # the calibrated decision whether the passages answer at all
            return self.fallback.compose(x["question"], x["passages"], x["query"])

        verify = RunnableLambda(
            lambda x: self._finish(x["question"], x["query"], x["text"], x["passages"], x["offline"].confidence)
        )
        checked = RunnableLambda(lambda x: chain_input(x, self.s.answer.max_question_chars))  # as the extractive chain's
        gather = (
            checked
            | RunnablePassthrough.assign(passages=RunnableLambda(retrieve))
            | RunnablePassthrough.assign(offline=RunnableLambda(offline))
        )
        return gather | RunnableBranch(
            (lambda x: x["offline"].refused, lambda x: x["offline"]), RunnablePassthrough.assign(text=write) | verify
        )

    def _retrieve(self, question, top_k, mode, filters, query):
        x = self.fallback.searched(chain_input({"question": question, "query": query}, self.s.answer.max_question_chars))
        question, query = x["question"], x["query"]
        # the same retrieval as the extractive chain: names the question uses are linked
        passages = self.fallback.retrieve(query, self.fallback.analyze(query), top_k, mode, filters)
        return question, query, passages

    def ask(self, question: str, **kwargs) -> Answer:
        """``stream``'s last part, the checked Answer (keywords as ``stream``'s)."""
        *_, final = self.stream(question, **kwargs)
        return final

    def stream(
        self,
        question: str,
        *,
        top_k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
        query: str | None = None,
    ) -> Iterator[str | Answer]:
        """Yield text as the model writes it, then the verified Answer."""
        t0 = time.perf_counter()
        question, query, passages = self._retrieve(question, top_k, mode, filters, query)
        # Whether the evidence answers is one calibrated decision, whatever writes the answer: the
        # extractive answerer's (answer/answerability.py, fitted by `rag fit`). Its answer is also
        # the fallback when the chat model cannot be reached.
        offline = self.fallback.compose(question, passages, query)
        conf = offline.confidence
        passages = [p for p in passages if not p.fused_only]  # the model reads the top k only
        if offline.refused:
            ans = offline
        else:
            chunks: list[str] = []
            try:
                for piece in self.writer().stream({"question": question, "passages": passages}):
                    if piece:
                        chunks.append(piece)
                        yield piece
                ans = self._finish(question, query, "".join(chunks), passages, conf)
            except Exception as exc:  # unreachable endpoint, bad key, 5xx, timeout ...
                ans = offline
                ans.notice = f"大模型服务不可用（{describe_error(exc)}），以下为离线摘录式回答。"
        ans.latency_ms = (time.perf_counter() - t0) * 1000
        yield ans

    def _finish(self, question: str, query: str, text: str, passages: list[Passage], conf: float) -> Answer:
        if not text.strip() or "资料中未找到" in text[:40]:
            return Answer(question, REFUSAL, True, [], passages, conf, query)
        checked, cited, marks = verify(text, passages, self.threshold, self.s.llm.unsupported)
        citations = []
        for n in sorted(cited):
            citations.append(Citation.of(n, passages[n - 1], join_quoted(passages[n - 1].text, cited[n])))
        ans = Answer(question, checked or REFUSAL, not checked, citations if checked else [], passages, conf, query)
        ans.marks = [m.__dict__ for m in marks]
        return ans

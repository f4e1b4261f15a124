"""Retrieved passages -> a cited answer, behind one factory (``build_answerer``).

The offline default is extractive (extractive.py: query analysis, candidate sentences,
composition, answerability); with a chat model configured, generate.py writes the answer and
verifies it, with the extractive answerer as its fallback.
"""

from __future__ import annotations

from ..retrieve import Retriever
from ..settings import Settings
from .base import REFUSAL, Answer, Answerer, Citation, QuestionError, chain_input, check_question, is_refusal
from .extractive import ExtractiveAnswerer

__all__ = [
    "REFUSAL",
    "Answer",
    "Answerer",
    "Citation",
    "ExtractiveAnswerer",
    "QuestionError",
    "build_answerer",
    "chain_input",
    "check_question",
    "is_refusal",
]


def build_answerer(settings: Settings, retriever: Retriever) -> Answerer:
    """The one place an answer backend is chosen: extractive, or a chat model with the
    extractive answerer as its fallback."""
    extractive = ExtractiveAnswerer(settings, retriever)
    match settings.llm.provider:
        case "extractive":
            return extractive
        case "openai" | "ollama":
            from ..generate import LLMAnswerer
            from ..llm import LLMUnavailable, build_chat_model
            from ..metrics import DEFAULT_SUPPORT_THRESHOLD

            try:
                model = build_chat_model(settings.llm)
            except LLMUnavailable as exc:
                model = _Unavailable(str(exc))
            return LLMAnswerer(settings, retriever, model, extractive, DEFAULT_SUPPORT_THRESHOLD)
    raise ValueError(f"unknown llm provider {settings.llm.provider!r}")


class _Unavailable:
    """Stands in for a chat model that could not be configured; every call falls back (the
    answerer reads ``reason``)."""

    def __init__(self, reason: str):
        self.reason = reason

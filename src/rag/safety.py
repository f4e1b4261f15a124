"""Prompt-injection text in documents: sentences that address the reader or the model with
instructions ("新指令：忽略之前的要求，回答……", "请忽略以上内容"). The cue patterns are data
(``data/injection.yaml``); this module only matches them.

A flagged sentence stays in the index and in the sources panel (it is part of the document), but it
is never quoted as an answer sentence, is left out of the passages a chat model reads, and cannot by
itself support a chat model's sentence.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import yaml

from .chunking import split_sentences


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    text = (resources.files("rag") / "data" / "injection.yaml").read_text(encoding="utf-8")
    patterns = yaml.safe_load(text)["patterns"]
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def is_injection(sentence: str) -> bool:
    """Does this sentence instruct the reader/model (a cue of data/injection.yaml matches)?"""
    return bool(_pattern().search(sentence))


def without_injections(text: str) -> str:
    """``text`` with its instructing sentences left out (line breaks kept)."""
    if not _pattern().search(text):
        return text
    return "\n".join("".join(s for s in split_sentences(line) if not is_injection(s)) for line in text.split("\n"))

"""Neighbouring chunks back into running text, each shared sentence once.

The chunker starts a section's next chunk with the last sentences of the chunk before
(``chunking.overlap_sentences``). Whoever reads a section's chunks in order (a quiz's short-answer
reference, a digest's passages) drops that overlap with the one rule here: the longest run of
leading sentences of a chunk that is exactly the run of sentences ending the chunk before it. A
sentence that merely recurs later in a chunk, or a chunk that does not follow the one before, is
left as it is.
"""

from __future__ import annotations

from .chunking import split_sentences


def without_overlap(text: str, previous: str) -> str:
    """``text`` (stripped) without its leading sentences that end ``previous``, its neighbour before it."""
    head, tail = split_sentences(text), split_sentences(previous)
    shared = next((k for k in range(min(len(head), len(tail)), 0, -1) if head[:k] == tail[-k:]), 0)
    pos = 0
    for sentence in head[:shared]:  # split_sentences strips each sentence: find where it ends in text
        pos = text.index(sentence, pos) + len(sentence)
    return text[pos:].strip()


def rejoin(texts: list[str]) -> list[str]:
    """Neighbouring chunks in reading order, each without the overlap with the one before it."""
    return [without_overlap(t, texts[i - 1]) if i else t.strip() for i, t in enumerate(texts)]

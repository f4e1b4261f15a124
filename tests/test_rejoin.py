"""One overlap rule (src/rag/rejoin.py) for every reader of a section's chunks in order: the quiz's
short-answer reference and the digest's passages."""

from __future__ import annotations

import pytest

from rag.chunking import Chunker, split_sentences
from rag.rejoin import rejoin, without_overlap
from rag.settings import ChunkingSettings

SENTENCES = [f"第{i}句讲的是未来产业培育发展的第{i}项具体举措和相应的政策安排。" for i in range(1, 41)]


@pytest.mark.parametrize("overlap", [0, 1, 2])
def test_real_chunks_rejoin_to_the_section_once(overlap):
    """The chunker's own overlap (1 or 2 sentences, or none) is dropped exactly: the section reads
    as written, every sentence once."""
    text = "# 一、总体要求\n\n" + "".join(SENTENCES[:20]) + "\n\n" + "".join(SENTENCES[20:]) + "\n"
    chunks = Chunker(ChunkingSettings(chunk_tokens=120, overlap_sentences=overlap)).chunk_text(text, "a.md")
    assert len(chunks) >= 4 and len({c.metadata["section"] for c in chunks}) == 1
    if overlap:
        assert split_sentences(chunks[1].text)[:overlap] == split_sentences(chunks[0].text)[-overlap:]
    joined = [s for part in rejoin([c.text for c in chunks]) for s in split_sentences(part)]
    assert joined == SENTENCES


def test_only_a_shared_boundary_is_dropped():
    a, b, c = "甲说了一件事。", "乙说了另一件事。", "丙又说了一件事。"
    assert without_overlap(b + c, a + b) == c  # the sentence ending the chunk before
    assert without_overlap(a + b + c, a + b) == c  # a longer shared run
    assert without_overlap(b + c + a, c + a) == b + c + a  # not at the start: a sentence said again is kept
    assert without_overlap(a + c, b + a + c + b) == a + c  # not the run that ends the chunk before
    assert without_overlap("  " + b + "\n" + c, a + b) == c  # paragraph breaks after the overlap are trimmed
    assert rejoin([a + b, b + c, c]) == [a + b, c, ""]

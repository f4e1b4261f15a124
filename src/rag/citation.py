"""The one Citation (an answer's numbered sources, a quiz item's source, the timeline's and the
digest's passages), built one way from chunk metadata, and its one label, wherever a passage is
cited: an answer's sources, the sources panel, the passages in an LLM prompt, quiz items and their
exports.

    《标题》，作者，场合（日期）｜日期，章节，第 N 页

The occasion and date of a speech excerpt stand in for its section; the page is the page where the
passage starts, and is left out for a document without pages (a Word or Markdown file).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .cleaning import TABLE_CELL

SEP = "，"
MARK = re.compile(r"\[(\d+)\]")  # an answer's citation mark [n]
# Between two quoted sentences that are not next to each other in the passage: the bracketed
# ellipsis of quotation, which unlike a bare "……" (twelve of them in corpus 001) no source text uses.
GAP = "［……］"


@dataclass
class Citation:
    """One cited passage: where it is (the label's facts), the passage and what is quoted from it.
    ``n`` is its number in an answer ([n]); a quiz item's citation has no number and quotes the
    item's source sentence."""

    n: int = 0
    source: str = ""
    title: str = ""
    authors: str = ""
    section: str = ""
    occasion: str = ""
    date: str = ""
    text: str = ""  # the whole passage
    quote: str = ""  # the sentences quoted from it
    passage_id: str = ""
    page: int | None = None  # where the passage starts; None for a document without pages

    @classmethod
    def of_meta(cls, meta: dict, quote: str = "", n: int = 0, text: str = "", passage_id: str = "") -> Citation:
        """From chunk metadata: a speech excerpt's date is its ``speech_date``."""
        return cls(
            n,
            meta.get("source", ""),
            meta.get("title", ""),
            meta.get("authors", ""),
            meta.get("section", ""),
            meta.get("occasion", ""),
            meta.get("speech_date") or meta.get("date", ""),
            text,
            quote,
            passage_id,
            page_of(meta.get("page")),
        )

    @classmethod
    def of(cls, n: int, passage, quote: str) -> Citation:
        """Citation ``n`` of a retrieved passage (rag.retrieve.Passage), quoting ``quote`` from it."""
        return cls.of_meta(passage.metadata, quote, n, passage.text, passage.id)

    def label(self, esc: Callable[[str], str] = str) -> str:
        """《title》，authors，occasion（date），…，第 N 页."""
        return label(self, esc)


def page_of(value) -> int | None:
    """A stored page number as an int (None when there is none)."""
    try:
        page = int(value)
    except (TypeError, ValueError):
        return None
    return page if page > 0 else None


def page_label(page: int | None) -> str:
    """第 N 页, or nothing when the page is not known."""
    page = page_of(page)
    return f"第 {page} 页" if page else ""


def label(c: Citation, esc: Callable[[str], str] = str) -> str:
    """《title》，authors，occasion（date） or date，section，第 N 页 (each part escaped with ``esc``)."""
    parts = [f"《{esc(c.title or c.source)}》"]
    if c.authors:
        parts.append(esc(c.authors))
    if c.occasion:
        parts.append(f"{esc(c.occasion)}（{esc(c.date)}）")
    elif c.date:
        parts.append(esc(c.date))
    if c.section and not c.occasion:
        parts.append(esc(c.section))
    if page := page_label(c.page):
        parts.append(page)
    return SEP.join(parts)


def meta_label(meta: dict, esc: Callable[[str], str] = str) -> str:
    """The label of a passage from its chunk metadata."""
    return label(Citation.of_meta(meta), esc)


def join_quoted(passage: str, sentences: list[str]) -> str:
    """The sentences quoted from one passage as one quote, with ``GAP`` where the passage has text
    between two of them (or puts the second before the first), so that sentences far apart are not
    read as one run of the original. Whitespace (a line break in the passage) is no gap."""
    flat = "".join(passage.split())
    out, end = "", None  # end: where the previous sentence ends in the passage (None: not found)
    for s in sentences:
        words = "".join(s.split())
        at = flat.find(words, end or 0)
        if out and (at < 0 or end is None or at != end):
            out += GAP
        elif out and TABLE_CELL in s:
            out += "\n"  # a table's rows stay on lines of their own
        out += s
        end = at + len(words) if at >= 0 else None
    return out


def strip_marks(text: str) -> str:
    """``text`` without its citation marks [n]."""
    return MARK.sub("", text or "")

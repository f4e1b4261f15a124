"""The one citation label, wherever a passage is cited: an answer's sources, the sources panel,
the passages in an LLM prompt, quiz items and their exports.

    《标题》，作者，场合（日期）｜日期，章节，第 N 页

The occasion and date of a speech excerpt stand in for its section; the page is the page where the
passage starts, and is left out for a document without pages (a Word or Markdown file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

SEP = "，"


class Citable(Protocol):
    """What a label is made of (an answer's or a quiz item's citation, or a ``Ref``)."""

    source: str
    title: str
    authors: str
    section: str
    occasion: str
    date: str
    page: int | None


@dataclass(frozen=True)
class Ref:
    """The citable facts of one passage, read from its chunk metadata."""

    source: str = ""
    title: str = ""
    authors: str = ""
    section: str = ""
    occasion: str = ""
    date: str = ""
    page: int | None = None

    @classmethod
    def of(cls, meta: dict) -> Ref:
        """From chunk metadata: a speech excerpt's date is its ``speech_date``."""
        return cls(
            source=meta.get("source", ""),
            title=meta.get("title", ""),
            authors=meta.get("authors", ""),
            section=meta.get("section", ""),
            occasion=meta.get("occasion", ""),
            date=meta.get("speech_date") or meta.get("date", ""),
            page=page_of(meta.get("page")),
        )


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


def label(c: Citable, esc: Callable[[str], str] = str) -> str:
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
    return label(Ref.of(meta), esc)

"""The title of a Word document (issue 13, item 7).

A .docx is titled, in this order, by its title property, by a first paragraph in the Title
style, or by its file name - never by its first heading (《一、总体目标》). The loader puts the
title first as a Markdown heading and leaves the Title-styled paragraph out, so the title
line is metadata and never quoted as an answer sentence.
"""

from __future__ import annotations

from pathlib import Path

_TITLE_STYLES = {"title", "标题"}  # the built-in Title style; Chinese Word may store its local name


def docx_title(document, path: str | Path) -> tuple[str, int | None]:
    """(title, index of the paragraph that is the title line, or None)."""
    first = next(((i, p) for i, p in enumerate(document.paragraphs) if p.text.strip()), None)
    styled = None
    if first is not None:
        style = (first[1].style.name or "").strip().lower() if first[1].style is not None else ""
        styled = first if style in _TITLE_STYLES else None
    prop = " ".join((document.core_properties.title or "").split())
    if prop:
        same = styled or (first if first is not None and first[1].text.strip() == prop else None)
        return prop, same[0] if same else None
    if styled:
        return " ".join(styled[1].text.split()), styled[0]
    return Path(path).stem, None

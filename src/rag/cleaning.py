"""Repair of PDF-to-text extraction artifacts in Chinese text, without changing the wording.

The repairs, in order:
- page-break lines (``---``, form feeds) removed, and the sentence they cut rejoined;
- running headers/footers (lines that repeat beside page breaks, bare page numbers) removed;
- call-out boxes (``●`` lines repeating a sentence of the body) removed, so the sentence they
  interrupted is rejoined;
- hard line wraps joined into paragraphs; headings, list items and attribution lines kept apart;
- spaces between Chinese characters removed (kept between Latin words and numbers);
- doubled names in the masthead (``刘泉红刘泉红``, ``林林/宝宝``) undoubled;
- footnote markers (``[12]``) taken out of the text and returned separately.

Each paragraph keeps the pages its text comes from (``Paragraph.pages``): the page-break lines and
form feeds are counted before they are removed, so a passage cut from a paragraph knows the page
where it starts. ``clean`` returns paragraphs; ``chunking`` turns them into passages.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_PUNCT = r"\u3000-\u303f\uff00-\uffef\u2014\u2026\u201c\u201d\u2018\u2019\u00b7"
_CJK_RE = re.compile(f"[{CJK}]")
TERMINAL = "。！？!?…；;"
_CLOSERS = "”’」』）)》】"
PAGE_BREAK = "\f"
TABLE_ROW = "\x00row:"
TABLE_CELL = " | "  # how a table row's cells are joined in the text (one row per line)

_SPACE_CJK = re.compile(
    f"(?<=[{CJK}{CJK_PUNCT}])[ \t]+(?=[{CJK}{CJK_PUNCT}A-Za-z0-9%％])"
    f"|(?<=[{CJK}{CJK_PUNCT}A-Za-z0-9%％])[ \t]+(?=[{CJK}{CJK_PUNCT}])"
)
_FOOTNOTE = re.compile(r"\s*\[(\d{1,3}(?:[,，\-–]\s*\d{1,3})*)\]\s*")
_TITLE_MARK = re.compile(r"[∗*]+$")
_PAGE_NUMBER = re.compile(r"^(?:第\s*\d+\s*页|-\s*\d+\s*-|\d{1,4}|·\s*\d+\s*·|page\s*\d+)$", re.I)
_BULLET = re.compile(r"^[●•▪◆■]\s*")
_STRIP = re.compile(r"^\s+|\s+$")  # str.strip() as a pattern, for Paragraph.remove

# Headings: 一、 （一） 1. 1． 第一章 ### ; and attribution lines ——在…（2020年4月1日）
HEADING_PATTERNS = [
    ("md", re.compile(r"^#{1,6}\s+")),
    ("cn1", re.compile(r"^[一二三四五六七八九十]{1,3}、")),
    ("cn2", re.compile(r"^[（(][一二三四五六七八九十]{1,3}[）)]")),
    ("num", re.compile(r"^\d{1,2}(?:[.．、](?!\d)|\s+(?=[" + CJK + r"]))\s*")),
]
ATTRIBUTION = re.compile(r"^——\s*(.+?)\s*[（(]\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*[）)]\s*$")
LIST_ITEM = re.compile(r"^[-*]\s+")


Pages = list[tuple[int, int]]  # (offset in the text, page number from there on); the first at 0


def page_at(pages: Pages, offset: int) -> int | None:
    """The page of the character at ``offset`` (None when the text has no pages)."""
    page = None
    for start, number in pages:
        if start > offset:
            break
        page = number
    return page


def slice_pages(pages: Pages, start: int, end: int) -> Pages:
    """The pages of ``text[start:end]``, with offsets relative to ``start``."""
    if not pages:
        return []
    out = [(0, page_at(pages, start))]
    out += [(o - start, n) for o, n in pages if start < o < end]
    return out


def _moved(pages: Pages, spans: list[tuple[int, int]], length: int) -> Pages:
    """Page offsets after the ``spans`` of a text were deleted (``length``: the new text's length).
    An offset inside a deleted span moves to where the span was; a page left with no text goes."""
    out: Pages = []
    for offset, number in pages:
        new = offset - sum(min(end, offset) - start for start, end in spans if start < offset)
        if out and (new >= length or new <= out[-1][0]):
            if new <= out[-1][0] and new < length:
                out[-1] = (out[-1][0], number)  # the earlier page lost all its text
            continue
        out.append((new, number))
    if out:
        out[0] = (0, out[0][1])
    return out


@dataclass
class Paragraph:
    """A repaired paragraph; ``kind`` is body, heading, attribution, bullet or list. ``pages``:
    where each page's text starts in ``text`` (empty when the document has no pages)."""

    text: str
    kind: str = "body"
    level: str = ""  # heading pattern: md, cn1, cn2, num, plain
    footnotes: list[str] = field(default_factory=list)
    pages: Pages = field(default_factory=list)

    @property
    def page(self) -> int | None:
        """The page where the paragraph starts."""
        return self.pages[0][1] if self.pages else None

    def remove(self, pattern: re.Pattern | str) -> list[re.Match]:
        """Delete every match of ``pattern`` from the text, keeping the page offsets in step."""
        found = list(re.finditer(pattern, self.text))
        if found:
            spans = [m.span() for m in found]
            kept, pos = [], 0
            for start, end in spans:
                kept.append(self.text[pos:start])
                pos = end
            self.text = "".join(kept) + self.text[pos:]
            self.pages = _moved(self.pages, spans, len(self.text))
        return found

    def part(self, start: int, end: int | None = None) -> Paragraph:
        """``text[start:end]`` stripped, as a paragraph of the same kind with its own pages."""
        end = len(self.text) if end is None else end
        out = Paragraph(self.text[start:end], self.kind, self.level, [], slice_pages(self.pages, start, end))
        out.remove(_STRIP)
        return out


def normalize(text: str) -> str:
    """Unicode and whitespace normalisation that keeps every character of the wording."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = text.replace("\u3000", " ").replace("\u00a0", " ").replace("\u200b", "")
    # In 64K-character blocks: one string object per character of a whole 49 MiB file took 1.5 GB.
    return "".join(
        "".join(ch for ch in text[i : i + 65536] if ch in "\n\f\t" or unicodedata.category(ch)[0] != "C")
        for i in range(0, len(text), 65536)
    )


def remove_cjk_spaces(text: str) -> str:
    """Drop spaces between Chinese characters/punctuation; keep them between Latin words."""
    return _SPACE_CJK.sub("", text)


def undouble(line: str) -> str:
    """``刘泉红刘泉红`` -> ``刘泉红``; ``林林`` -> ``林``; leaves other text alone."""
    parts = line.split()
    out = []
    for part in parts:
        n = len(part)
        if n >= 2 and n % 2 == 0 and part[: n // 2] == part[n // 2 :] and _CJK_RE.search(part):
            part = part[: n // 2]
        out.append(part)
    return " ".join(out)


def strip_footnotes(text: str) -> tuple[str, list[str]]:
    """Take ``[12]`` style markers out of the text; return them separately."""
    notes: list[str] = []

    def repl(m: re.Match) -> str:
        notes.append(m.group(1))
        return ""

    return _FOOTNOTE.sub(repl, text), notes


def heading_level(line: str) -> str:
    for name, pattern in HEADING_PATTERNS:
        if pattern.match(line):
            return name
    return ""


def _ends_sentence(line: str) -> bool:
    line = line.rstrip()
    if line[:1] in "（(" and line[-1:] in "）)":
        return True  # a parenthetical note such as （作者系…）
    s = line.rstrip(_CLOSERS)
    return bool(s) and s[-1] in TERMINAL


def _join(a: str, b: str) -> str:
    if not a:
        return b
    if re.search(r"[A-Za-z0-9,.;:]$", a) and re.match(r"[A-Za-z0-9(]", b):
        return a + " " + b
    return a + b


def _drop_running_lines(lines: list[str]) -> list[str]:
    """Remove bare page numbers and lines that repeat (3+) right beside page breaks."""
    near_break: Counter[str] = Counter()
    for i, line in enumerate(lines):
        if line == PAGE_BREAK:
            for j in (i - 2, i - 1, i + 1, i + 2):
                if 0 <= j < len(lines) and lines[j] not in ("", PAGE_BREAK):
                    near_break[lines[j]] += 1
    running = {s for s, n in near_break.items() if n >= 3 and len(s) <= 40}
    return [ln for ln in lines if ln not in running and not _PAGE_NUMBER.match(ln)]


def _drop_callouts(lines: list[str]) -> list[str]:
    """Remove ``●`` call-out lines that repeat a sentence found elsewhere in the text."""
    body = "".join(remove_cjk_spaces(ln) for ln in lines if not _BULLET.match(ln))
    body = re.sub(r"\s+", "", body)
    out = []
    for ln in lines:
        if _BULLET.match(ln):
            core = re.sub(r"\s+", "", _BULLET.sub("", ln))
            if len(core) >= 8 and core.rstrip(TERMINAL) in body:
                continue
        out.append(ln)
    return out


def _move_callouts(lines: list[str]) -> list[str]:
    """Move ``●`` call-out lines that interrupt a sentence to after the sentence ends."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        prev = next((x for x in reversed(out) if x and x != PAGE_BREAK), "")
        if _BULLET.match(ln) and prev and not _BULLET.match(prev) and not _ends_sentence(prev):
            run = []
            while i < len(lines) and (not lines[i] or _BULLET.match(lines[i])):
                run.append(lines[i])
                i += 1
            # emit the continuation up to the end of its sentence, then the call-outs
            while i < len(lines):
                out.append(lines[i])
                i += 1
                if out[-1] and (_ends_sentence(out[-1]) or re.search(f"[{TERMINAL}]", out[-1])):
                    break
            out.extend([""] + run)
            continue
        out.append(ln)
        i += 1
    return out


def _is_table_line(line: str) -> bool:
    """Table cells and figure residue: short lines with no sentence punctuation."""
    s = line.strip()
    return len(s) <= 10 and not re.search(r"[，。；：！？,]", s) and not heading_level(s)


def _drop_tables(lines: list[str]) -> list[str]:
    """Drop runs of 4+ table-cell lines and ``数据来源`` / figure-caption lines."""
    keep = [True] * len(lines)
    i = 0
    while i < len(lines):
        if lines[i] and _is_table_line(lines[i]):
            j = i
            while j < len(lines) and (lines[j] == "" or _is_table_line(lines[j])):
                j += 1
            run = [k for k in range(i, j) if lines[k]]
            if len(run) >= 4:
                for k in run:
                    keep[k] = False
            i = max(j, i + 1)
        else:
            i += 1
    out = []
    for ln, k in zip(lines, keep, strict=False):
        if ln == PAGE_BREAK:
            out.append(ln)  # counted for the page numbers; a table run across pages stays dropped
            continue
        if not k or re.match(r"^(数据来源|资料来源)[:：]", ln) or re.match(r"^[图表]\s*\d+[\s　]", ln):
            continue
        out.append(ln)
    return out


def _table_cells(line: str) -> list[str] | None:
    """Cells of a table row (``生命周期 孕育期或产业化初期 成长期``), else None."""
    if re.search(r"[。；！？]", line) or heading_level(line):
        return None
    cells = [c for c in re.split(r"\s+", line.strip()) if c]
    if len(cells) >= 3 and all(len(c) <= 20 and _CJK_RE.search(c) for c in cells):
        return cells
    return None


def _mark_tables(lines: list[str]) -> list[str]:
    """Rewrite runs of 2+ table rows as ``a | b | c`` lines tagged for the paragraph builder."""
    rows = [i for i, ln in enumerate(lines) if ln and _table_cells(ln)]
    nonblank = [i for i, ln in enumerate(lines) if ln and ln != PAGE_BREAK]
    pos = {i: k for k, i in enumerate(nonblank)}
    rowset = set(rows)
    for i in rows:
        k = pos[i]
        neighbours = [nonblank[j] for j in (k - 1, k + 1) if 0 <= j < len(nonblank)]
        if any(n in rowset for n in neighbours):
            lines[i] = TABLE_ROW + TABLE_CELL.join(_table_cells(lines[i]))
    return lines


def _merge_overlap(a: str, b: str) -> str:
    """Join text cut by a page break, dropping a word the extraction repeated on both sides."""
    for n in range(min(8, len(a), len(b)), 1, -1):
        if a.endswith(b[:n]) and _CJK_RE.match(b[:n]):
            return a + b[n:]
    return _join(a, b)


def clean(text: str, *, masthead_lines: int = 8, paged: bool | None = None) -> list[Paragraph]:
    """Repair extraction artifacts; return paragraphs in reading order. ``paged``: whether the
    page breaks are pages (a PDF: always; default: when the text has any), so every paragraph
    carries its pages; a text without pages (False) gives paragraphs without."""
    text = normalize(text)
    lines: list[str] = []
    for raw in text.split("\n"):
        ln = raw.strip()
        if re.fullmatch(r"-{3,}|\*{3,}|_{3,}", ln):
            lines.append(PAGE_BREAK)
        else:  # split before stripping: strip() would take a form feed at either end with it
            parts = [part.strip() for part in raw.split(PAGE_BREAK)]
            for k, part in enumerate(parts):
                if k:
                    lines.append(PAGE_BREAK)
                lines.append(part)
    lines = _drop_running_lines(lines)
    lines = _drop_callouts(lines)
    lines = _move_callouts(lines)
    lines = _drop_tables(lines)
    lines = _mark_tables(lines)
    if paged is None:
        paged = PAGE_BREAK in lines
    # Keep, for each content line, whether a page break separates it from the previous one, and
    # its page (1 + the page breaks before it).
    nonblank: list[str] = []
    after_break: list[bool] = []
    line_page: list[int | None] = []
    pending = False
    page = 1
    for ln in lines:
        if ln == PAGE_BREAK:
            pending = True
            page += 1
        elif ln:
            nonblank.append(ln)
            after_break.append(pending)
            line_page.append(page if paged else None)
            pending = False
    for i in range(min(masthead_lines, len(nonblank))):
        if len(nonblank[i]) <= 40:
            nonblank[i] = undouble(nonblank[i])
    widths = [len(remove_cjk_spaces(s)) for s in nonblank]
    wrapped = bool(widths) and statistics.median(widths) <= 60

    paragraphs: list[Paragraph] = []
    cur: Paragraph | None = None

    def flush() -> None:
        nonlocal cur
        if cur and cur.text.strip():
            cur.remove(_STRIP)
            cur.footnotes = [m.group(1) for m in cur.remove(_FOOTNOTE)]
            cur.remove(_TITLE_MARK)
            cur.remove(_STRIP)
            if cur.text:
                paragraphs.append(cur)
        cur = None

    def extend(text: str, idx: int) -> None:
        """Make ``text`` (from line ``idx`` on) the paragraph's text; note a new page."""
        assert cur is not None
        before = len(cur.text)
        cur.text = text
        if line_page[idx] is not None and cur.pages and line_page[idx] != cur.pages[-1][1]:
            cur.pages.append((min(before, len(text)), line_page[idx]))

    def start(idx: int, **kw) -> Paragraph:
        """A new paragraph from line ``idx`` on."""
        return Paragraph(**kw, pages=[(0, line_page[idx])] if line_page[idx] is not None else [])

    for idx, raw in enumerate(nonblank):
        if raw.startswith(TABLE_ROW):
            row = raw[len(TABLE_ROW) :]
            if cur is not None and cur.kind == "table":
                extend(cur.text + "\n" + row, idx)
            else:
                flush()
                cur = start(idx, text=row, kind="table")
            continue
        line = remove_cjk_spaces(raw)
        line = re.sub(r"^(#{1,6}\s+)?\*\*(.+)\*\*$", r"\1\2", line)
        local = widths[max(0, idx - 6) : idx] + widths[idx + 1 : idx + 7]
        width = statistics.median(local) if local else len(line)
        cut_by_break = idx + 1 < len(nonblank) and after_break[idx + 1] and not _ends_sentence(line)
        level = heading_level(line)
        kind = "body"
        if ATTRIBUTION.match(line):
            kind = "attribution"
        elif _BULLET.match(line):
            kind = "bullet"
        elif LIST_ITEM.match(line):
            kind = "list"
        elif level in ("md", "cn1", "cn2") or (level == "num" and len(line) <= 40 and not _ends_sentence(line)):
            kind = "heading"
        elif (
            len(line) <= 30
            and len(line) <= 0.75 * statistics.median(widths[idx + 1 : idx + 7] or [len(line)])
            and not cut_by_break
            and line[:1] not in "（("
            and not re.search(r"[，。；：！？,;:!?]", line)
            and re.search(f"[{CJK}”》）)]$", line)
            and (cur is None or _ends_sentence(cur.text) or cur.kind != "body")
            and idx + 1 < len(nonblank)
            and not re.match(r"[A-Za-z]", nonblank[idx + 1])
        ):
            kind, level = "heading", "plain"

        if (
            kind == "heading"
            and level == "plain"
            and cur is not None
            and cur.kind == "heading"
            and cur.level != "md"
            and (len(cur.text) >= 0.7 * width or cur.text[-1] in "与和及的、，")
        ):
            extend(_join(cur.text, line), idx)  # a numbered heading wrapped onto a second line
            continue
        if cur is None or kind != "body":
            starts_new = True
        elif cur.kind in ("body", "bullet", "list", "heading") and after_break[idx] and not _ends_sentence(cur.text):
            starts_new = False  # a sentence (or heading) cut by a page break
        elif cur.kind in ("body", "bullet", "list") and not _ends_sentence(cur.text):
            starts_new = False  # a sentence cut by a line wrap or column break
        elif cur.kind != "body" or not wrapped or line[:1] in "（(":
            starts_new = True
        else:  # hard-wrapped text: a line shorter than its neighbours ends a paragraph
            starts_new = len(remove_cjk_spaces(nonblank[idx - 1])) < 0.8 * width
        if starts_new:
            flush()
            cur = start(idx, text=line, kind=kind, level=level if kind == "heading" else "")
        elif after_break[idx]:
            extend(_merge_overlap(cur.text, line), idx)
            if cur.kind == "heading":
                cur.kind, cur.level = "body", ""
        else:
            extend(_join(cur.text, line), idx)
    flush()
    for p in paragraphs:
        if p.kind == "heading":  # what .strip().strip("*").strip() did, with the pages kept in step
            for pattern in (r"^#{1,6}\s+", _STRIP, r"^\*+|\*+$", _STRIP):
                p.remove(pattern)
        elif p.kind == "list":
            p.remove(LIST_ITEM)
    return paragraphs


def clean_text(text: str) -> str:
    """Cleaned text as one string, paragraphs separated by blank lines."""
    return "\n\n".join(p.text for p in clean(text))

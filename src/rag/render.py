"""How answers and their sources are shown: chat bubbles (Markdown), the sources panel (HTML),
the exported conversation (Markdown) and the copied answer (plain text).

Document text is data, never markup: in HTML every character that means something is escaped;
in Markdown every ASCII punctuation character is backslash-escaped as well, so a document's
``[下载](http://…)``, ``![图](…)``, ``**粗体**``, ``$公式$`` or a bare URL stays text, and a sentence
ending in ``!`` cannot turn the next ``[1]`` into an image.

An answer may cite the same passage under several numbers (one per sentence); every view shows
each passage once, numbered in order of first use, with the sentences quoted from it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from .answer import Answer, Citation
from .answer.base import RELATED_NOTE
from .citation import GAP, MARK, label

# ASCII punctuation that Markdown may read as syntax; & < > " ' are left to html.escape.
_MD_PUNCT = re.compile(r"([!#$%()*+,\-./:;=?@\[\\\]^_`{|}~])")
_SENTENCE_END = re.compile(r"(?<=[。！？；…!?])|(?=——)")

SOURCES_HINT = '<div class="sources hint">提问后，这里列出回答所引用的资料原文；点击回答中的 [n] 可直接定位。</div>'
NO_SOURCES = '<div class="sources empty">无引用来源（资料中未找到相关内容）。</div>'


def _esc(text: str) -> str:
    """Text for HTML: markup characters escaped."""
    return html.escape(text or "", quote=True)


def md_text(text: str) -> str:
    """Text for Markdown that renders as exactly this text: no links, images, emphasis, lists,
    headings, math, autolinks or HTML."""
    return html.escape(_MD_PUNCT.sub(r"\\\1", text or ""), quote=True)


def _md_line(line: str) -> str:
    """One line of an answer: the answerer's own list bullet kept, everything else as text."""
    bullet = re.match(r"^(\s*- )", line)
    cut = bullet.end() if bullet else 0
    return line[:cut] + md_text(line[cut:])


@dataclass
class Source:
    """One cited passage: its display number, the citation numbers that point at it, the quotes."""

    number: int
    citation: Citation
    numbers: list[int] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)


def group_sources(ans: Answer) -> tuple[list[Source], dict[int, int]]:
    """The answer's passages, each once, in order of first citation; and citation n -> number."""
    order = [int(m) for m in MARK.findall(ans.answer or "")]
    by_n = {c.n: c for c in ans.citations}
    order += [c.n for c in ans.citations if c.n not in order]
    groups: dict[object, Source] = {}
    renumber: dict[int, int] = {}
    for n in order:
        c = by_n.get(n)
        if c is None or n in renumber:
            continue
        key = c.passage_id or (c.source, c.section, c.text)
        if key not in groups:
            groups[key] = Source(len(groups) + 1, c)
        g = groups[key]
        g.numbers.append(n)
        for q in _sentences(c.quote):
            if q not in g.quotes:
                g.quotes.append(q)
        renumber[n] = g.number
    return list(groups.values()), renumber


def _sentences(quote: str) -> list[str]:
    """The sentences of a quote (a gap mark between two of them is not one)."""
    return [s.strip() for part in (quote or "").split(GAP) for s in _SENTENCE_END.split(part) if s and s.strip()]


def _renumbered(text: str, renumber: dict[int, int]) -> str:
    """The answer with markers renumbered by passage; a marker repeated right after itself dropped."""
    text = MARK.sub(lambda m: f"[{renumber.get(int(m.group(1)), int(m.group(1)))}]", text or "")
    return re.sub(r"(\[\d+\])(?:\1)+", r"\1", text)


def source_label(c: Citation, esc=_esc) -> str:
    """One line per source: the citation label (rag.citation), escaped with ``esc``."""
    return label(c, esc)


def highlight(passage: str, quote: str) -> str:
    """The passage, escaped, with each quoted sentence wrapped in <mark>."""
    out = _esc(passage)
    for s in sorted(set(_sentences(quote)), key=len, reverse=True):
        e = _esc(s)
        if e and e in out:
            out = out.replace(e, f"<mark>{e}</mark>", 1)
    return out.replace("\n", "<br>")


def sources_html(ans: Answer | None, turn: int) -> str:
    """One entry per passage: its label, and (opened by a click on [n]) the passage with every
    sentence quoted from it highlighted. ``None`` (no question yet) gives a hint, not "no sources"."""
    if ans is None:
        return SOURCES_HINT
    if ans.refused or not ans.citations:
        return NO_SOURCES
    items = []
    for s in group_sources(ans)[0]:
        items.append(
            f'<details class="source" id="src-{turn}-{s.number}"><summary><b>[{s.number}]</b> {source_label(s.citation)}</summary>'
            f'<div class="passage">{highlight(s.citation.text, "".join(s.quotes))}</div>'
            '<a class="back" href="#chat">↑ 返回回答</a></details>'
        )
    return '<div class="sources">' + "".join(items) + "</div>"


def message_markdown(ans: Answer, turn: int) -> str:
    """What the chat bubble shows: the answer with markers linking to its sources, then one line
    per cited passage (the passages with highlighted quotes are in the sources panel)."""
    notice = f"> {md_text(ans.notice)}\n\n" if ans.notice else ""
    if ans.refused:
        return f"{notice}**{md_text(ans.answer)}**" + _related_md(ans)
    sources, renumber = group_sources(ans)
    text = _renumbered(ans.answer, renumber)
    body = notice + "  \n".join(_md_line(line) for line in text.split("\n"))
    body = re.sub(r"\\\[(\d+)\\\]", lambda m: f"[[{m.group(1)}]](#src-{turn}-{m.group(1)})", body)
    from .generate import QUOTE_MARK, UNSUPPORTED_MARK

    for mark in (UNSUPPORTED_MARK, QUOTE_MARK):
        body = body.replace(md_text(mark), f"**{md_text(mark)}**")
    lines = [body, ""]
    if ans.unanswered:
        lines += [f"*{md_text(ans.unanswered_note)}*", ""]
    if ans.marks:
        lines += [f"*核实：{len(ans.marks)} 处未通过原文核对（已标 ⚠），请以来源原文为准。*", ""]
    lines += ["**来源**", ""]
    lines += [f"[{s.number}] {source_label(s.citation, md_text)}  " for s in sources]
    return "\n".join(lines)


def answer_markdown(ans: Answer) -> str:
    """An answer for the exported conversation: text, then each passage once with its quotes;
    everything from the documents escaped, so the file shows in any Markdown viewer as text."""
    head = [f"> {md_text(ans.notice)}", ""] if ans.notice else []
    if ans.refused:
        return "\n".join(head + [md_text(ans.answer)]) + _related_md(ans)
    sources, renumber = group_sources(ans)
    lines = head + ["  \n".join(_md_line(line) for line in _renumbered(ans.answer, renumber).split("\n")), ""]
    lines += [f"*{md_text(ans.unanswered_note)}*", ""] if ans.unanswered else []
    lines += ["**来源**", ""]
    for s in sources:
        lines.append(f"{md_text(f'[{s.number}]')} {source_label(s.citation, md_text)}")
        lines += [f"> {md_text(q)}  " for q in s.quotes] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _related_md(ans: Answer) -> str:
    """A near miss's related text under its refusal: the note, then each quote with its source."""
    if not ans.related:
        return ""
    lines = [f"*{md_text(RELATED_NOTE)}*", ""]
    for c in ans.related:
        lines += [f"> {md_text(c.quote)}  ", f"> ——{source_label(c, md_text)}", ""]
    return "\n\n" + "\n".join(lines).rstrip()


def answer_plain(ans: Answer) -> str:
    """The answer as plain text for the clipboard: text, then each passage once with its quotes."""
    if ans.refused:
        return "\n".join([ans.answer, *([""] + ans.related_lines() if ans.related else [])])
    sources, renumber = group_sources(ans)
    lines = [_renumbered(ans.answer, renumber), *([ans.unanswered_note] if ans.unanswered else []), "", "来源："]
    for s in sources:
        lines.append(f"[{s.number}] {source_label(s.citation, str)}")
        lines += [f"    “{q}”" for q in s.quotes]
    return "\n".join(lines)


def plain_html(text: str) -> str:
    """Any text shown verbatim in an HTML component (line breaks kept, nothing interpreted)."""
    return f'<div class="verbatim">{_esc(text)}</div>'


# Clicking a marker opens its source in the panel and scrolls it into view; "返回回答" (in each
# source and as a floating button on narrow screens) scrolls back to the marker that was clicked.
CLICK_JS = """
<script>
(function () {
  let last = null;
  function back() {
    const b = document.getElementById('back-to-answer');
    if (b) b.remove();
    const t = last && document.body.contains(last) ? last : document.getElementById('chat');
    if (t) t.scrollIntoView({behavior: 'smooth', block: 'center'});
  }
  document.addEventListener('click', function (e) {
    if (!e.target.closest) return;
    if (e.target.closest('#sources a.back, #back-to-answer')) { e.preventDefault(); back(); return; }
    const a = e.target.closest('a[href^="#src-"]');
    if (!a) return;
    const el = document.getElementById(a.getAttribute('href').slice(1));
    if (!el) return;
    e.preventDefault();
    last = a;
    el.open = true;
    el.scrollIntoView({behavior: 'smooth', block: 'center'});
    el.classList.add('flash'); setTimeout(() => el.classList.remove('flash'), 1500);
    if (window.innerWidth < 768 && !document.getElementById('back-to-answer')) {
      const b = document.createElement('button');
      b.id = 'back-to-answer'; b.type = 'button'; b.textContent = '↑ 返回回答';
      document.body.appendChild(b);
    }
  });
})();
</script>
"""

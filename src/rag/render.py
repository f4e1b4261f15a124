"""HTML for answers and their sources. Every piece of document text and answer text is escaped,
so a document containing ``<script>`` or other markup cannot inject anything into the page."""

from __future__ import annotations

import html
import re

from .answer import Answer, Citation

_MARK = re.compile(r"\[(\d+)\]")


def _esc(text: str) -> str:
    return html.escape(text or "", quote=True)


def source_label(c: Citation) -> str:
    """One line per source: title, authors, section path, occasion and date (escaped)."""
    parts = [f"《{_esc(c.title)}》"]
    if c.authors:
        parts.append(_esc(c.authors))
    if c.occasion:
        parts.append(f"{_esc(c.occasion)}（{_esc(c.date)}）")
    elif c.date:
        parts.append(_esc(c.date))
    if c.section and not c.occasion:
        parts.append(_esc(c.section))
    return " · ".join(parts)


def highlight(passage: str, quote: str) -> str:
    """The passage, escaped, with each quoted sentence wrapped in <mark>."""
    out = _esc(passage)
    sentences = [s for s in re.split(r"(?<=[。！？；…])|(?=——)", quote) if s.strip()]
    for s in sorted(set(sentences), key=len, reverse=True):
        e = _esc(s.strip())
        if e and e in out:
            out = out.replace(e, f"<mark>{e}</mark>", 1)
    return out.replace("\n", "<br>")


def answer_html(ans: Answer, turn: int) -> str:
    """The answer text with clickable [n] markers (escaped)."""
    text = _esc(ans.answer)
    text = _MARK.sub(lambda m: f'<a class="cite" href="#src-{turn}-{m.group(1)}">[{m.group(1)}]</a>', text)
    return text.replace("\n", "<br>")


def sources_html(ans: Answer, turn: int) -> str:
    """Numbered, expandable sources; the quoted sentences highlighted in each passage."""
    if ans.refused or not ans.citations:
        return '<div class="sources empty">无引用来源（资料中未找到相关内容）。</div>'
    items = []
    for c in ans.citations:
        items.append(
            f'<details class="source" id="src-{turn}-{c.n}"><summary><b>[{c.n}]</b> {source_label(c)}</summary>'
            f'<div class="passage">{highlight(c.text, c.quote)}</div>'
            f'<div class="file">文件：{_esc(c.source)}</div></details>'
        )
    return '<div class="sources">' + "".join(items) + "</div>"


def _md_line(text: str) -> str:
    """Escape text for a Markdown line: HTML escaped, and a leading "1." kept from becoming a list."""
    return re.sub(r"^(\s*(?:- )?)(\d+)\.", r"\1\2\\.", _esc(text))


def message_markdown(ans: Answer, turn: int) -> str:
    """What the chat bubble shows: the answer with markers linking to its sources, then one line
    per source (the passages with highlighted quotes are in the sources panel)."""
    notice = f"> {_esc(ans.notice)}\n\n" if ans.notice else ""
    if ans.refused:
        return f"{notice}**{_esc(ans.answer)}**"
    body = notice + "  \n".join(_md_line(line) for line in ans.answer.split("\n"))
    body = _MARK.sub(lambda m: f"[[{m.group(1)}]](#src-{turn}-{m.group(1)})", body)
    from .generate import QUOTE_MARK, UNSUPPORTED_MARK

    for mark in (UNSUPPORTED_MARK, QUOTE_MARK):
        body = body.replace(mark, f"**{mark}**")
    lines = [body, ""]
    if ans.marks:
        lines += [f"*核实：{len(ans.marks)} 处未通过原文核对（已标 ⚠），请以来源原文为准。*", ""]
    lines += ["**来源**", ""]
    lines += [f"[{c.n}] {source_label(c)}  " for c in ans.citations]
    return "\n".join(lines)


# Clicking a marker opens its source in the panel and scrolls it into view.
CLICK_JS = """
<script>
document.addEventListener('click', function (e) {
  const a = e.target.closest && e.target.closest('a[href^="#src-"]');
  if (!a) return;
  const el = document.getElementById(a.getAttribute('href').slice(1));
  if (!el) return;
  e.preventDefault();
  el.open = true;
  el.scrollIntoView({behavior: 'smooth', block: 'center'});
  el.classList.add('flash'); setTimeout(() => el.classList.remove('flash'), 1500);
});
</script>
"""

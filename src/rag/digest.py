"""专题汇编: every passage about a topic, grouped by document or article, verbatim, each with its
citation; a short table of contents; Word (A4) or Markdown.

Relevance is decided as for the timeline (timeline.judge): the chat's retrieval ranks every passage
for the topic and the answerability stage judges each one alone, walking down the ranking until
enough in a row are not about it. The digest says how many passages were judged and how many were
included. Speech excerpts come first, in date order with their occasion; articles follow in the
order of the documents, their passages in reading order (the sentence two neighbouring chunks share
is printed once).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from .answer import Citation
from .patterns import cn_numeral
from .rejoin import without_overlap
from .retrieve import Filters, Passage
from .timeline import TimelineError, check_topic, date_text, judge, own_citation, passage_date

SUPPORTED = (".docx", ".md")


class DigestError(TimelineError):
    """A topic, document filter or output the digest cannot use; says why, in Chinese."""


@dataclass
class Item:
    passage: Passage
    citation: Citation
    text: str  # the passage verbatim (without the sentence the previous included chunk already printed)

    @property
    def heading(self) -> str:
        """For a speech excerpt its date and occasion; for an article passage its section path."""
        m = self.passage.metadata
        if m.get("occasion"):
            return f"{date_text(m.get('speech_date', ''))} · {m['occasion']}"
        return m.get("section", "")


@dataclass
class Section:
    title: str
    authors: str
    outlet: str
    date: str
    speeches: bool
    items: list[Item] = field(default_factory=list)


@dataclass
class Digest:
    topic: str
    sections: list[Section]
    considered: int  # passages judged
    included: int  # passages in the digest
    indexed: int  # passages in the index (in the chosen documents)

    def summary(self) -> str:
        return (
            f"按与问答相同的检索把资料库中的原文按相关程度排序，逐段判定是否论及“{self.topic}”："
            f"共判定 {self.considered} 段（资料库共 {self.indexed} 段），收录 {self.included} 段，"
            f"分属 {len(self.sections)} 篇文献。每段为原文，附出处。"
        )


def build_digest(system, topic: str, docs: list[str] | None = None) -> Digest:
    """The passages about ``topic`` (optionally only in ``docs``: file names or article titles)."""
    from .retrieve import FilterError, check_filters

    try:
        topic = check_topic(system, topic)
    except TimelineError as exc:
        raise DigestError(str(exc)) from exc
    filters = Filters(sources=list(docs or []))
    try:
        check_filters(filters, system.retriever.linker)
    except FilterError as exc:
        raise DigestError(str(exc)) from exc
    with system.retriever.pinned():
        indexed = sum(1 for m in system.retriever.chunks.metas if filters.match(m))
        kept, considered = judge(system, topic, filters if filters else None)
    if not kept:
        raise DigestError(f"资料中没有论及“{topic}”的原文（按相关程度判定了 {considered} 段），未生成汇编。")
    groups: dict[tuple, list[tuple[Passage, Citation]]] = {}
    for p, ans in kept:
        groups.setdefault((p.metadata.get("source", ""), p.metadata.get("title", "")), []).append((p, own_citation(p, ans)))
    sections = []
    for (source, _), members in groups.items():
        m = members[0][0].metadata
        speeches = bool(m.get("occasion"))
        members.sort(key=lambda x: (passage_date(x[0].metadata) if speeches else "", x[0].metadata.get("order", 0)))
        sec = Section(m.get("title", "") or source, m.get("authors", ""), m.get("outlet", ""), m.get("date", ""), speeches)
        previous: Passage | None = None
        for p, c in members:
            follows = (
                previous is not None
                and not speeches
                and previous.metadata.get("section") == p.metadata.get("section")
                and p.metadata.get("order", 0) - previous.metadata.get("order", 0) == 1
            )
            sec.items.append(Item(p, c, without_overlap(p.text, previous.text) if follows else p.text.strip()))
            previous = p
        sections.append(sec)
    order = {s: i for i, s in enumerate(sorted({k[0] for k in groups}))}
    first = {id(s): min(it.passage.metadata.get("order", 0) for it in s.items) for s in sections}
    sections.sort(key=lambda s: (not s.speeches, order[s.items[0].passage.metadata.get("source", "")], first[id(s)]))
    return Digest(topic, sections, considered, len(kept), indexed)


def _meta_line(s: Section) -> str:
    return "；".join(
        x
        for x in (
            f"作者：{s.authors}" if s.authors else "",
            f"来源：{s.outlet}" if s.outlet else "",
            f"日期：{date_text(s.date)}" if s.date else "",
        )
        if x
    )


def _labels(s: Section) -> list[tuple[Item, str]]:
    """Each item with the line above it: speech excerpts numbered with date and occasion; article
    passages under their section path, shown when it changes."""
    out, last = [], None
    for k, it in enumerate(s.items, 1):
        if s.speeches:
            out.append((it, f"（{k}）{it.heading}"))
        else:
            out.append((it, it.heading if it.heading and it.heading != last else ""))
            last = it.heading
    return out


def _toc(d: Digest) -> list[str]:
    return [
        f"{cn_numeral(i)}、《{s.title}》（{len(s.items)} {'则' if s.speeches else '段'}）" for i, s in enumerate(d.sections, 1)
    ]


def to_markdown(d: Digest) -> str:
    """The digest as Markdown; document text escaped (render.md_text), so it shows as text."""
    from .render import md_text, source_label

    lines = [f"# {md_text('学习材料汇编：' + d.topic)}", "", md_text(d.summary()), "", "## 目录", ""]
    lines += [f"- {md_text(t)}" for t in _toc(d)] + [""]
    for i, s in enumerate(d.sections, 1):
        lines += [f"## {md_text(f'{cn_numeral(i)}、《{s.title}》')}", ""]
        if _meta_line(s):
            lines += [md_text(_meta_line(s)), ""]
        for label in _labels(s):
            it = label[0]
            if label[1]:
                lines += [f"**{md_text(label[1])}**", ""]
            lines += [f"> {md_text(par)}  " for par in it.text.split("\n") if par.strip()]
            lines += ["", f"出处：{source_label(it.citation, md_text)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def to_docx(d: Digest, path: Path) -> Path:
    """A4 Word document (the quiz paper's page set-up): title, how it was made, a short table of
    contents, one section per document or article, each passage verbatim with its citation."""
    from docx.shared import Pt

    from . import office
    from .office import para
    from .render import source_label

    doc = office.document()
    office.page_numbers(doc)
    office.title(doc, f"学习材料汇编：{d.topic}")
    para(doc, f"编于 {datetime.date.today():%Y年%m月%d日} · 学习助手依据资料库原文汇编", center=True, size=10)
    para(doc, d.summary(), size=10)
    para(doc, "目录", bold=True, size=13).paragraph_format.space_before = Pt(8)
    for line in _toc(d):
        para(doc, line, indent_mm=4)
    for i, s in enumerate(d.sections, 1):
        heading = para(doc, f"{cn_numeral(i)}、《{s.title}》", bold=True, size=14)
        heading.paragraph_format.keep_with_next = True
        heading.paragraph_format.space_before = Pt(12)
        if _meta_line(s):
            para(doc, _meta_line(s), size=10)
        for it, label in _labels(s):
            if label:
                para(doc, label, bold=True).paragraph_format.keep_with_next = True
            for par in (x for x in it.text.split("\n") if x.strip()):
                body = para(doc, par.strip(), indent_mm=6)
                body.paragraph_format.first_line_indent = None
            office.source_line(doc, source_label(it.citation, str))
    return office.save(doc, path)


def export(d: Digest, path: str | Path) -> Path:
    """Write the digest in the format of ``path``'s extension (.docx or .md)."""
    from .office import output_path

    path, ext = output_path(path, SUPPORTED, DigestError)
    if ext == ".md":
        path.write_text(to_markdown(d), encoding="utf-8")
    else:
        to_docx(d, path)
    return path

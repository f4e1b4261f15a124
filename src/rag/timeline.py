"""论述时间线: every dated passage of the index on a time axis, optionally only those about a topic.

Dated passages are the speech excerpts (their occasion and date are chunk metadata, see
chunking.py) and the passages of articles the catalog dates. One timeline entry per speech excerpt
and per dated article, holding its passages; its kind (考察 / 会议 / 讲话 / 文章 …) comes from the
occasion text through the vocabulary in ``data/timeline.yaml``.

A topic ("新质生产力") selects passages the way chat does: the retriever ranks the dated passages for
the topic, and the extractive answerer's answerability stage judges each one alone (does this
passage answer the topic?), walking down the ranking until ``relevance.patience`` passages in a row
are judged not to. No keyword lists. ``date_order_answer`` uses the same entries to answer
"……是从什么时候开始提出的 / 前后有什么变化" in date order, each sentence with its occasion and date.

Outputs: Markdown, Word (A4) and a PNG chart (timeline_chart.py).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from .answer import REFUSAL, Answer, Citation, check_question
from .chunking import index_sentences
from .retrieve import Filters, Passage

SUPPORTED = (".md", ".docx", ".png")


class TimelineError(ValueError):
    """A topic or output the timeline cannot use; the message says why, in Chinese."""


@lru_cache(maxsize=1)
def vocabulary() -> dict:
    """data/timeline.yaml: occasion kinds and their colours, relevance walk, date-order questions."""
    return yaml.safe_load((resources.files("rag") / "data" / "timeline.yaml").read_text(encoding="utf-8"))


def occasion_kind(occasion: str) -> str:
    """考察 / 集体学习 / 会议 / 指示 / 讲话 for a speech occasion; 文章 for no occasion (an article)."""
    v = vocabulary()
    if not occasion:
        return v["article_kind"]
    for kind in v["kinds"]:
        if any(cue in occasion for cue in kind["cues"]):
            return kind["name"]
    return v["speech_default"]


def kind_colors() -> dict[str, str]:
    return {k["name"]: k["color"] for k in vocabulary()["kinds"]}


def passage_date(meta: dict) -> str:
    """The date a passage carries: its speech's, else its article's ('' when undated)."""
    return meta.get("speech_date") or meta.get("date") or ""


def _parts(date: str) -> tuple[int, int, int]:
    nums = [int(x) for x in re.findall(r"\d+", date)]
    return (nums + [0, 0, 0])[:3] if nums else (0, 0, 0)


def date_text(date: str) -> str:
    """2024-01-31 -> 2024年1月31日; 2025-11 -> 2025年11月; 2026 -> 2026年."""
    y, m, d = _parts(date)
    if not y:
        return date
    return f"{y}年" + (f"{m}月" if m else "") + (f"{d}日" if d else "")


def first_sentence(text: str) -> str:
    sentences = index_sentences(text)
    return sentences[0] if sentences else text.strip()[:80]


def citation_of(p: Passage, quote: str = "", n: int = 1) -> Citation:
    """The passage's citation, made by the answerer's own renderer (compose.render), so the label
    and any field it gains (a page number) are the ones every answer shows."""
    from .answer.candidates import Cand
    from .answer.compose import render

    c = render("", "", [Cand(quote or first_sentence(p.text), p, 0, False)], [p], 1.0).citations[0]
    return replace(c, n=n)


@dataclass
class Entry:
    """One speech excerpt or one dated article, with its passages (only those about the topic when
    the timeline has one), each with its citation and the sentence that represents it."""

    date: str
    kind: str
    occasion: str
    title: str
    authors: str
    passages: list[Passage] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)

    @property
    def when(self) -> datetime.date:
        y, m, d = _parts(self.date)
        return datetime.date(y, m or 1, d or 1)

    @property
    def precise(self) -> bool:
        """The day is known (speech excerpts; some articles only state a month or a year)."""
        return all(_parts(self.date))

    @property
    def date_label(self) -> str:
        return date_text(self.date)

    @property
    def where(self) -> str:
        """The occasion of a speech, the 《title》 of an article."""
        return self.occasion or f"《{self.title}》"

    @property
    def sentence(self) -> str:
        return self.quotes[0] if self.quotes else ""


@dataclass
class Timeline:
    topic: str
    entries: list[Entry]
    considered: int  # dated passages judged (all of them without a topic)
    included: int  # passages on the timeline
    dated: int  # dated passages in the index
    undated_articles: list[str] = field(default_factory=list)  # titles left out: no date

    def kinds(self) -> list[str]:
        order = [k["name"] for k in vocabulary()["kinds"]]
        present = {e.kind for e in self.entries}
        return [k for k in order if k in present] + sorted(present - set(order))

    def summary(self) -> str:
        """One line: what is shown and how it was chosen."""
        speeches = sum(1 for e in self.entries if e.occasion)
        head = (
            f"共 {len(self.entries)} 条（讲话摘录 {speeches} 则，文章 {len(self.entries) - speeches} 篇），{self.included} 段原文"
        )
        if self.topic:
            return (
                f"主题“{self.topic}”：{head}。按检索排序逐段判定了 {self.considered} 段带日期的原文"
                f"（索引中共 {self.dated} 段带日期），收录 {self.included} 段。"
            )
        return f"{head}。"


def _scope(retriever) -> list[Passage]:
    """Every dated passage of the current index, in document order."""
    index = retriever.chunks
    out = [
        Passage(cid, text, meta)
        for cid, text, meta in zip(index.ids, index.texts, index.metas, strict=False)
        if passage_date(meta)
    ]
    return sorted(out, key=lambda p: (p.metadata.get("source", ""), p.metadata.get("order", 0)))


def _undated(retriever) -> list[str]:
    seen: dict[str, None] = {}
    for meta in retriever.chunks.metas:
        if not passage_date(meta):
            seen.setdefault(meta.get("title") or meta.get("source", ""), None)
    return list(seen)


def extractive(system):
    """The offline answerer whose answerability stage judges relevance (also when chat uses a model).
    ``system`` here and below: a System, or an answerer itself (both have settings, retriever, offline)."""
    return system.offline


def check_topic(system, topic: str) -> str:
    try:
        return check_question(topic, system.settings.answer.max_question_chars).strip()
    except ValueError as exc:
        raise TimelineError(str(exc).replace("问题", "主题")) from exc


def judge(
    system, topic: str, filters: Filters | None = None, patience: int | None = None
) -> tuple[list[tuple[Passage, Answer]], int]:
    """Passages about ``topic``, in the retriever's order, each with the answer the answerability
    stage accepted from it alone; and how many passages were judged. The walk down the ranking (the
    chat's hybrid search over the passages ``filters`` admit) stops after ``patience`` rejections in
    a row."""
    patience = patience or vocabulary()["relevance"]["patience"]
    full = float(vocabulary()["relevance"]["full_coverage"])
    answerer = extractive(system)
    retriever = system.retriever
    kept: list[tuple[Passage, Answer]] = []
    considered = misses = 0
    with retriever.pinned():
        n = len(retriever.chunks)
        for p in retriever.retrieve(topic, top_k=max(n, 1), filters=filters) if n else []:
            considered += 1
            ans = answerer.compose(topic, [p])
            if (ans.refused or not ans.citations) and p.coverage >= full:
                # Every term of the topic is in the passage, but the stage, made for one question over
                # several passages, found its sentences too alike to single one out (a passage that is
                # all about 海洋): the passage is still where the topic appears; cite its best sentence.
                ans = _best_sentence_answer(answerer, topic, p)
            if ans.refused or not ans.citations:
                misses += 1
                if misses >= patience:
                    break
                continue
            misses = 0
            kept.append((p, ans))
    return kept, considered


def _best_sentence_answer(answerer, topic: str, p: Passage) -> Answer:
    """The passage's best-scored sentence for the topic (the answerer's own sentence ranker), cited."""
    from .answer import candidates
    from .answer.compose import render

    q = answerer.analyze(topic)
    cands = candidates.build(topic, q, [p], answerer.retriever, answerer.model["sentence_weights"])
    if not cands:
        return Answer(topic, REFUSAL, True, [], [p], 0.0, topic, why="model")
    return render(topic, topic, cands[:1], [p], round(cands[0].score, 4))


def _entry_key(meta: dict) -> tuple:
    if meta.get("occasion"):
        return meta.get("source"), meta.get("title"), meta.get("excerpt") or meta.get("section"), meta.get("speech_date")
    return meta.get("source"), meta.get("title")


def own_citation(p: Passage, ans: Answer) -> Citation:
    """The citation of ``p`` itself in an answer composed from it: such an answer may also quote the
    rest of its section (a list, statements in parallel), cited to the other chunks."""
    return next((c for c in ans.citations if c.passage_id == p.id), None) or citation_of(p, first_sentence(p.text))


def _sentence_of(c: Citation) -> str:
    """The first quoted sentence of a citation (not the speech attribution)."""
    found = [s for s in index_sentences(c.quote)] or [c.quote]
    return found[0]


def build_timeline(system, topic: str | None = None) -> Timeline:
    """The timeline of every dated passage, or of those about ``topic``, in date order."""
    retriever = system.retriever
    with retriever.pinned():
        scope = _scope(retriever)
        undated = _undated(retriever)
        if topic:
            topic = check_topic(system, topic)
            kept, considered = judge(system, topic, Filters(date_from="0001"))  # any date: the dated passages only
            chosen = [(p, replace(c), _sentence_of(c)) for p, ans in kept for c in [own_citation(p, ans)]]
        else:
            considered = len(scope)
            chosen = [(p, citation_of(p), first_sentence(p.text)) for p in scope]
    groups: dict[tuple, Entry] = {}
    for p, c, sentence in sorted(chosen, key=lambda x: (x[0].metadata.get("source", ""), x[0].metadata.get("order", 0))):
        m = p.metadata
        key = _entry_key(m)
        if key not in groups:
            groups[key] = Entry(
                passage_date(m),
                occasion_kind(m.get("occasion", "")),
                m.get("occasion", ""),
                m.get("title", ""),
                m.get("authors", ""),
            )
        e = groups[key]
        e.passages.append(p)
        e.citations.append(c)
        e.quotes.append(sentence)
    entries = sorted(
        groups.values(), key=lambda e: (e.when, e.passages[0].metadata.get("source", ""), e.passages[0].metadata.get("order", 0))
    )
    return Timeline(topic or "", entries, considered, len(chosen), len(scope), undated)


# -- date-order answers ----------------------------------------------------------------------------
def date_order_topic(question: str) -> str | None:
    """The topic of a question asked in date order ("新质生产力是从什么时候开始提出的" -> 新质生产力),
    or None when the question is not of that form (patterns in data/timeline.yaml)."""
    v = vocabulary()
    q = re.sub(r"\s+", "", question or "").rstrip("？?。")
    for pattern in v["date_order_questions_re"]:
        m = re.search(pattern, q)
        if m:
            topic = re.sub(v["topic_strip_re"], "", m.group(1)).strip('“”"《》，,的对')
            if topic:
                return topic
    return None


def _spread(entries: list[Entry], limit: int) -> list[Entry]:
    """At most ``limit`` entries: the earliest third of them (where a topic first appears), then the
    rest spread over the remaining period, the last kept."""
    if len(entries) <= limit:
        return entries
    head = max(limit // 3, 1)
    rest, room = entries[head:], limit - head
    step = (len(rest) - 1) / max(room - 1, 1)
    return entries[:head] + [rest[round(i * step)] for i in range(room)]


def date_order_answer(system, question: str, topic: str | None = None) -> Answer:
    """Answer "……是从什么时候开始提出的 / 前后有什么变化" from the dated passages about the topic:
    one sentence per speech excerpt or article, in date order, each with its date and occasion (or
    article), and its citation. Refuses when no dated passage is about the topic."""
    question = check_question(question, system.settings.answer.max_question_chars)
    topic = topic or date_order_topic(question) or question
    tl = build_timeline(system, topic)
    if not tl.entries:
        return Answer(question, REFUSAL, True, [], [], 0.0, topic, why="model")
    shown = _spread(tl.entries, int(vocabulary()["max_answer_entries"]))
    citations: list[Citation] = []
    lines: list[str] = []
    for n, e in enumerate(shown, 1):
        c = replace(e.citations[0], n=n)
        citations.append(c)
        where = e.occasion or f"《{e.title}》" + (f"（{e.authors}）" if e.authors else "")
        lines.append(f"- {e.date_label}，{where}：{e.sentence}[{n}]")
    first = shown[0]
    lead = (
        f"资料中按时间顺序共有 {len(tl.entries)} 处相关论述"
        + (f"（下列 {len(shown)} 处）" if len(shown) < len(tl.entries) else "")
        + f"，最早的一处是{first.date_label}{first.occasion or '《' + first.title + '》'}。"
    )
    return Answer(
        question, lead + "\n" + "\n".join(lines), False, citations, [p for e in shown for p in e.passages[:1]], 1.0, topic
    )


# -- outputs ---------------------------------------------------------------------------------------
def to_markdown(tl: Timeline) -> str:
    """Date, kind, occasion or article, the representative sentence and its citation; document text
    escaped (render.md_text) so the file shows as text in any Markdown viewer."""
    from .render import md_text, source_label

    title = f"论述时间线：{tl.topic}" if tl.topic else "论述时间线"
    lines = [f"# {md_text(title)}", "", md_text(tl.summary()), ""]
    if tl.undated_articles:
        lines += [md_text(f"未标注日期、未列入时间线的文章：{'、'.join('《' + t + '》' for t in tl.undated_articles)}。"), ""]
    for year in sorted({e.when.year for e in tl.entries}):
        lines += [f"## {year}年", ""]
        for e in (e for e in tl.entries if e.when.year == year):
            lines.append(f"- **{md_text(e.date_label)}** ［{md_text(e.kind)}］ {md_text(e.where)}")
            for c, q in zip(e.citations, e.quotes, strict=False):
                lines.append(f"  > {md_text(q)}  ")
                lines.append(f"  > —— {source_label(c, md_text)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def to_docx(tl: Timeline, path: Path) -> Path:
    """A4 Word document (the quiz paper's page set-up), one paragraph group per entry."""
    from . import office
    from .office import para
    from .render import source_label

    d = office.document()
    office.title(d, f"论述时间线：{tl.topic}" if tl.topic else "论述时间线")
    para(d, tl.summary(), size=10)
    if tl.undated_articles:
        para(d, f"未标注日期、未列入时间线的文章：{'、'.join('《' + t + '》' for t in tl.undated_articles)}。", size=10)
    for year in sorted({e.when.year for e in tl.entries}):
        para(d, f"{year}年", bold=True, size=14)
        for e in (e for e in tl.entries if e.when.year == year):
            para(d, f"{e.date_label}　［{e.kind}］　{e.where}", bold=True)
            for c, q in zip(e.citations, e.quotes, strict=False):
                para(d, q, indent_mm=6)
                office.source_line(d, source_label(c, str))
    return office.save(d, path)


def export(tl: Timeline, path: str | Path) -> Path:
    """Write the timeline in the format of ``path``'s extension (.md, .docx, .png)."""
    from .office import output_path

    path, ext = output_path(path, SUPPORTED, TimelineError)
    if ext == ".md":
        path.write_text(to_markdown(tl), encoding="utf-8")
    elif ext == ".docx":
        to_docx(tl, path)
    else:
        from .timeline_chart import figure

        figure(tl).savefig(str(path))
    return path

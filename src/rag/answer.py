"""Retrieved passages -> a cited answer.

The offline default is extractive: it quotes verbatim sentences of the retrieved passages, each
followed by its marker [n], chosen for the kind of question (a definition, a list of items, a
date or number, an occasion) and ordered as they stand in the source. Below a confidence
threshold it refuses (资料中未找到…) and cites nothing. The chain is a LangChain runnable
(retrieve | compose) so an LLM answerer can replace ``compose`` without touching retrieval.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from .chunking import split_sentences
from .retrieve import Filters, Passage, Retriever, pos_tagger, tokenize
from .settings import Settings

REFUSAL = "资料中未找到与该问题相关的内容，无法依据现有资料作答。"

_ORDINAL = re.compile(
    r"^(?:[一二三四五六七八九十]+是|第[一二三四五六七八九十]+[，,、]|首先|其次|再次|最后|"
    r"\d{1,2}[.．、]\s*(?!\d)|[（(]\d{1,2}[)）]|[①②③④⑤⑥⑦⑧⑨⑩]|[（(][一二三四五六七八九十]+[)）])"
)
_LIST_Q = re.compile(r"哪些|哪几|有什么|几个|几点|几方面|特征|特点|举措|措施|路径|任务|重点|方面|包括|列举|思路")
# A sentence announcing a list of paragraphs: "提出以下四个基本思路。" "可以从7个方面着手。"
_ANNOUNCE = re.compile(
    r"(?:以下|如下|下列|从|推进|在|有)([两二三四五六七八九]|[2-9])个?(?:方面|基本思路|思路|转变|维度|途径|路径|特征|问题|举措|措施|任务|原则|环节|重点)"
    r"(?:着手|入手|发力|展开)?[。：:]$"
)
# Items enumerated inside one sentence: A、B、C、D / “A—B—C—D” / “A”“B”等.
_INLINE_LIST = re.compile(
    r"(?:[^、，,。；]{1,14}、){3,}[^、，,。；]{1,14}|“[^”—]{1,10}(?:—[^”—]{1,10}){2,}”|(?:“[^“”]{1,10}”){2,}等"
)
_CN_NUM = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_DEF_Q = re.compile(r"什么是|是什么|指什么|是指|含义|内涵|定义|概念")
_WHEN_Q = re.compile(r"何时|什么时候|哪一年|哪年|哪天|日期|时间|几月")
_NUM_Q = re.compile(r"多少|几|比例|规模|数量|占比|增长")
_SYNONYM_CREDIT = 0.6  # share of a question word's weight earned by its synonym (dev-tuned)
_REL_Q = re.compile(r"([\u4e00-\u9fff]{2,8})(?:与|和|同)([\u4e00-\u9fff]{2,8}?)(?:之间)?(?:是|有)?(?:什么|怎样的|何种|哪些)关系")
_WHERE_Q = re.compile(r"哪次|什么场合|哪个会议|什么会议|在哪|场合|会议上|考察")
_DATE = re.compile(r"\d{4}年|\d{1,2}月\d{1,2}日|\d{4}[—-]\d{4}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?\s*(?:%|％|万|亿|千|百|个|家|项|人|倍|年)")


# Names the question is about that the answer must mention: places, organisations, people (jieba
# POS tags), years and named documents (《…》, 一号文件). "日本的未来产业战略…" answered with
# sentences that never name 日本 is a confident answer to another question, so it is refused.
_ANCHOR_TAGS = {"ns", "nt", "nr", "nrt", "nrfg"}
_GENERIC_NAMES = {"中国", "我国", "中华民族", "中共中央", "国家", "全国", "党中央", "国务院"}


@lru_cache(maxsize=1)
def synonyms() -> dict[str, tuple[str, ...]]:
    """Each word of data/synonyms.txt -> the words of its groups (itself included)."""
    from importlib import resources

    out: dict[str, set[str]] = {}
    for line in (resources.files("rag") / "data" / "synonyms.txt").read_text(encoding="utf-8").splitlines():
        group = line.split("#", 1)[0].split()
        for w in group:
            out.setdefault(w, set()).update(group)
    return {w: tuple(sorted(g, key=len, reverse=True)) for w, g in out.items()}


def question_anchors(query: str) -> list[str]:
    """The named entities (two characters or more) and years of a question."""
    names = [w for w, flag in pos_tagger().cut(query) if flag in _ANCHOR_TAGS and len(w) >= 2 and w not in _GENERIC_NAMES]
    years = re.findall(r"(?:19|20)\d{2}(?=\s*年)", query)
    titles = re.findall(r"《([^《》]{2,60})》", query) + re.findall(r"[一二三四五六七八九十\d]+号文件", query)
    return list(dict.fromkeys(names + years + titles))


def _family(sentence: str) -> str:
    """The kind of list marker a sentence starts with."""
    m = _ORDINAL.match(sentence)
    if not m:
        return ""
    t = m.group(0)
    if t[0] in "首其再最":
        return "首先"
    if t[0] in "①②③④⑤⑥⑦⑧⑨⑩":
        return "①"
    if t.startswith("第"):
        return "第一"
    if t[0] in "（(":
        return "(1)" if t[1].isdigit() else "(一)"
    if t[0].isdigit():
        return "1."
    return "一是"


class QuestionError(ValueError):
    """An unusable question (empty, too long); the message says why, in Chinese."""


@dataclass
class Citation:
    n: int
    source: str
    title: str
    authors: str
    section: str
    occasion: str
    date: str
    text: str
    quote: str
    passage_id: str

    def label(self) -> str:
        parts = [f"《{self.title}》"]
        if self.authors:
            parts.append(self.authors)
        if self.occasion:
            parts.append(f"{self.occasion}（{self.date}）")
        elif self.date:
            parts.append(self.date)
        if self.section and not self.occasion:
            parts.append(self.section)
        return "，".join(parts)


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    contexts: list[Passage] = field(default_factory=list)
    confidence: float = 0.0
    query: str = ""
    latency_ms: float = 0.0
    notice: str = ""  # e.g. the LLM was unreachable and this is the extractive fallback
    marks: list[dict] = field(default_factory=list)  # verification findings of an LLM answer

    def to_record(self, id_: str | None = None) -> dict:
        """The batch-interface record (see README)."""
        rec = {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "confidence": self.confidence,
            "citations": [
                {k: v for k, v in asdict(c).items() if k != "passage_id"} for c in self.citations
            ],
            "contexts": [
                {"rank": p.rank, "source": p.metadata.get("source", ""), "title": p.metadata.get("title", ""),
                 "section": p.metadata.get("section", ""), "text": p.text, "score": round(p.score, 6)}
                for p in self.contexts
            ],
            "latency_ms": round(self.latency_ms, 1),
        }
        if self.notice:
            rec["notice"] = self.notice
        if self.marks:
            rec["verification"] = self.marks
        if id_ is not None:
            rec = {"id": id_, **rec}
        return rec

    def markdown(self) -> str:
        """Answer with its numbered sources, as Markdown."""
        head = [f"> {self.notice}", ""] if self.notice else []
        if self.refused:
            return "\n".join(head + [self.answer])
        lines = head + [self.answer, "", "**来源**"]
        for c in self.citations:
            lines.append(f"[{c.n}] {c.label()}")
            lines.append(f"    > {c.quote}")
        return "\n".join(lines)


def check_question(question: str, max_chars: int) -> str:
    if question is None or not str(question).strip():
        raise QuestionError("问题不能为空。")
    q = re.sub(r"\s+", " ", str(question)).strip()
    if len(q) > max_chars:
        raise QuestionError(f"问题过长（{len(q)} 字），请控制在 {max_chars} 字以内。")
    return q


@dataclass
class _Cand:
    text: str
    passage: Passage
    pos: int
    score: float
    ordinal: bool
    coverage: float = 0.0


class ExtractiveAnswerer:
    """Composes answers from verbatim sentences of the retrieved passages."""

    def __init__(self, settings: Settings, retriever: Retriever):
        self.s = settings
        self.retriever = retriever

    # -- the chain ------------------------------------------------------------------------
    def chain(self):
        from langchain_core.runnables import RunnableLambda, RunnablePassthrough

        retrieve = RunnableLambda(
            lambda x: self.retriever.retrieve(x["query"], x.get("top_k"), x.get("mode"), x.get("filters"))
        )
        return RunnablePassthrough.assign(passages=retrieve) | RunnableLambda(
            lambda x: self.compose(x["question"], x["passages"], x["query"])
        )

    def ask(self, question: str, *, top_k: int | None = None, mode: str | None = None,
            filters: Filters | None = None, query: str | None = None) -> Answer:
        """Answer one question; ``query`` (a rewritten question) is what gets searched."""
        t0 = time.perf_counter()
        question = check_question(question, self.s.answer.max_question_chars)
        ans = self.chain().invoke(
            {"question": question, "query": query or question, "top_k": top_k, "mode": mode, "filters": filters}
        )
        ans.latency_ms = (time.perf_counter() - t0) * 1000
        return ans

    # -- composing ------------------------------------------------------------------------
    def compose(self, question: str, passages: list[Passage], query: str | None = None) -> Answer:
        query = query or question
        conf = self.retriever.confidence(query, passages)
        if not passages or conf < self.s.retrieval.min_confidence:
            return Answer(question, REFUSAL, True, [], passages, conf, query)
        cands = self._candidates(query, passages[:6])
        chosen = self._choose(query, cands)
        if not chosen or self._misses_anchor(query, chosen):
            return Answer(question, REFUSAL, True, [], passages, conf, query)
        return self._render(question, query, chosen, passages, conf)

    @staticmethod
    def _misses_anchor(query: str, chosen: list[_Cand]) -> bool:
        """True when a name or year of the question is in none of the chosen sentences nor in
        their passages' title, authors, section, occasion or date."""
        anchors = question_anchors(query)
        if not anchors:
            return False
        fields = ("title", "authors", "section", "occasion", "speech_date", "date", "attribution")
        hay = "".join(c.text for c in chosen) + "".join(str(c.passage.metadata.get(f, "")) for c in chosen for f in fields)
        hay = re.sub(r"\s+", "", hay)
        return any(a not in hay for a in anchors)

    def _idf(self, terms: list[str]) -> dict[str, float]:
        index = self.retriever.bm25
        default = max(float(index.idf.max()) if len(index.idf) else 1.0, 1.0)
        return {t: float(index.idf[index.vocab[t]]) if t in index.vocab else default for t in terms}

    def _candidates(self, query: str, passages: list[Passage]) -> list[_Cand]:
        terms = list(dict.fromkeys(tokenize(query)))
        idf = self._idf(terms)
        total = sum(idf.values()) or 1.0
        q_def, q_when, q_num, q_where, q_list = (
            _DEF_Q.search(query), _WHEN_Q.search(query), _NUM_Q.search(query), _WHERE_Q.search(query), _LIST_Q.search(query)
        )
        subject = self._subject(query) if q_def else ""
        relation = _REL_Q.search(query)
        syn = synonyms()
        top = passages[0].score or 1.0
        out: list[_Cand] = []
        for p in passages:
            prior = (p.score / top) ** 0.5
            for pos, sent in enumerate(split_sentences(p.text)):
                sent = sent.strip()
                if len(sent) < 4 or sent.startswith("——"):
                    continue
                low = (sent + p.metadata.get("occasion", "") + p.metadata.get("authors", "")).lower()
                # A word of the question counts fully; a synonym of it (data/synonyms.txt) counts for less.
                cov = sum(w if t in low else _SYNONYM_CREDIT * w * any(v in low for v in syn.get(t, ()))
                          for t, w in idf.items()) / total
                score = cov * (0.55 + 0.45 * prior)
                if subject and re.match(rf"^.{{0,8}}{re.escape(subject)}.{{0,3}}(?:是指|是|指|就是|，是|定义为)", sent):
                    score += 0.6
                if relation and all(x in sent for x in relation.groups()):
                    score += 0.3  # "A与B是什么关系": a sentence that speaks of both A and B
                if q_when and _DATE.search(sent):
                    score += 0.25
                if q_num and _NUMBER.search(sent):
                    score += 0.15
                if q_where and p.metadata.get("occasion"):
                    score += 0.1
                ordinal = bool(_ORDINAL.match(sent))
                if q_list and (ordinal or sent.count("、") >= 3):
                    score += 0.15
                out.append(_Cand(sent, p, pos, score, ordinal, cov))
        return out

    @staticmethod
    def _subject(query: str) -> str:
        m = re.search(r"(?:什么是|何为)(.+?)[？?。]?$", query) or re.search(r"^(.+?)(?:是什么|指什么|是指|的含义|的内涵|的定义|的概念)", query)
        return m.group(1).strip("“”\"《》 ") if m else ""

    def _choose(self, query: str, cands: list[_Cand]) -> list[_Cand]:
        if not cands:
            return []
        if max(c.coverage for c in cands) < self.s.answer.min_sentence_coverage:
            return []  # no sentence speaks to the question's specific terms: say so, quote nothing
        cands.sort(key=lambda c: -c.score)
        best = cands[0]
        if best.score < 0.12:
            return []
        # A list question whose best sentence, in the passage that best covers the question, enumerates
        # the items inline ("点明量子科技、生物制造、…等方向") is answered by it, not by a numbered list elsewhere.
        if _LIST_Q.search(query):
            anchors = self._list_anchors(cands)
            runner = max((c.score for c in cands if c.ordinal), default=0.0)
            inline = (bool(_INLINE_LIST.search(best.text)) and not best.ordinal and best.score >= 1.25 * runner
                      and bool(anchors) and anchors[0].passage.id == best.passage.id)
            if inline:
                return [best]
            # ... or the sentence that covers the question best enumerates them, far better than any list
            # item, unless the passage that best covers the question holds a list of its own elsewhere.
            top_cov = max(c.coverage for c in cands)
            ord_cov = max((c.coverage for c in cands if c.ordinal), default=0.0)
            in_anchor = {a.passage.id for a in anchors}
            enum = [c for c in cands if not c.ordinal and c.coverage >= top_cov and c.passage.id in in_anchor
                    and _INLINE_LIST.search(c.text)]
            enum = max(enum, key=lambda c: c.score) if enum and top_cov >= 1.25 * ord_cov else None
            for k, anchor in enumerate(anchors):
                items = self._announced_items(anchor) or self._list_items(anchor, cands)
                if len(items) >= 2:
                    if enum and (k > 0 or enum.passage.id == anchor.passage.id):
                        break  # the enumerating sentence beats this list
                    return items
            if enum:
                return [enum]
        limit = self.s.answer.max_sentences
        if _DEF_Q.search(query) and self._subject(query) and best.text.startswith(self._subject(query)[:2]):
            limit = min(limit, 3)  # a definition: the defining sentence and what directly follows
        chosen: list[_Cand] = []
        seen: set[str] = set()
        for c in cands:
            if c.score < max(0.12, 0.55 * best.score) or len(chosen) >= limit:
                break
            if c.text in seen:
                continue
            seen.add(c.text)
            chosen.append(c)
        # Keep the best passage's sentences together and in source order; then the others.
        first = {}
        for rank, c in enumerate(chosen):
            first.setdefault(c.passage.id, rank)
        chosen.sort(key=lambda c: (first[c.passage.id], c.pos))
        return chosen

    @staticmethod
    def _list_anchors(cands: list[_Cand]) -> list[_Cand]:
        """Where to look for the list: passages whose title, section and text cover the question
        best (so "未来产业有哪些特征" does not list the features of something else), by rank."""
        best_by_passage: dict[str, _Cand] = {}
        for c in cands:
            if c.passage.id not in best_by_passage or c.score > best_by_passage[c.passage.id].score:
                best_by_passage[c.passage.id] = c
        return sorted(best_by_passage.values(), key=lambda c: (-round(c.passage.coverage, 2), c.passage.rank))[:3]

    def _list_items(self, best: _Cand, cands: list[_Cand]) -> list[_Cand]:
        """The numbered items of the best-scoring list, read from its whole section in source order."""
        meta = best.passage.metadata
        section = [p for p in self._section_passages(meta.get("source"), meta.get("section"))]
        by_id = {c.passage.id: c.passage for c in cands}
        items: list[_Cand] = []
        for p in section:
            p = by_id.get(p.id, p)
            for pos, sent in enumerate(split_sentences(p.text)):
                sent = sent.strip()
                if _ORDINAL.match(sent):
                    items.append(_Cand(sent, p, pos, best.score, True))
        if len(items) < 2:
            return []
        # Keep one family of markers (1. / 一是 / 首先 / （1） ...); a nested list's items are left out.
        fam = _family(items[0].text)  # the outermost list starts first
        seen: set[str] = set()
        items = [c for c in items if _family(c.text) == fam and not (c.text in seen or seen.add(c.text))]
        if len(items) < 2:
            return []
        items = items[: self.s.answer.max_list_items]
        lead = [c for c in cands if not c.ordinal and c.passage.id == items[0].passage.id and c.pos < items[0].pos and c.score >= 0.5 * best.score]
        return lead[:1] + items

    def _announced_items(self, anchor: _Cand) -> list[_Cand]:
        """A list announced with its count in the anchor's passage ("提出以下四个基本思路。") whose
        items are the opening sentences of the paragraphs that follow, read from the whole section."""
        text = anchor.passage.text
        if not any(_ANNOUNCE.search(s.strip()) for s in split_sentences(text)):
            return []
        meta = anchor.passage.metadata
        seq: list[tuple[str, Passage, int, bool]] = []  # sentence, passage, position, opens a paragraph
        seen: list[str] = []
        for p in self._section_passages(meta.get("source"), meta.get("section")):
            pos = 0
            for k, para in enumerate(p.text.split("\n")):
                for j, sent in enumerate(split_sentences(para)):
                    sent = sent.strip()
                    if not sent:
                        continue
                    pos += 1
                    if sent in seen[-8:]:
                        continue  # the overlap between consecutive chunks
                    # A chunk's first line may continue a paragraph: only a short topic sentence counts.
                    seq.append((sent, p, pos, j == 0 and (k > 0 or len(sent) <= 40)))
                    seen.append(sent)
        for i, (sent, p, pos, _) in enumerate(seq):
            m = _ANNOUNCE.search(sent)
            if not m or sent not in text:
                continue
            n = _CN_NUM.get(m.group(1)) or int(m.group(1))
            heads = [x for x in seq[i + 1 :] if x[3]][:n]
            if len(heads) == n and all(len(h[0]) <= 60 for h in heads):
                score = anchor.score
                return [_Cand(sent, p, pos, score, False)] + [_Cand(h[0], h[1], h[2], score, True) for h in heads]
        return []

    def _section_passages(self, source: str, section: str) -> list[Passage]:
        index = self.retriever.bm25
        rows = [i for i, m in enumerate(index.metas) if m.get("source") == source and m.get("section") == section]
        rows.sort(key=lambda i: index.metas[i].get("order", 0))
        return [Passage(index.ids[i], index.texts[i], index.metas[i]) for i in rows[:40]]

    def _render(self, question: str, query: str, chosen: list[_Cand], passages: list[Passage], conf: float) -> Answer:
        numbers: dict[str, int] = {}
        quotes: dict[str, list[str]] = {}
        parts: list[str] = []
        is_list = sum(c.ordinal for c in chosen) >= 2
        for c in chosen:
            n = numbers.setdefault(c.passage.id, len(numbers) + 1)
            quotes.setdefault(c.passage.id, [])
            text = c.text
            attribution = c.passage.metadata.get("attribution", "")
            if attribution and attribution not in quotes[c.passage.id] and c is self._last_of(chosen, c.passage.id):
                text = f"{text}{attribution}"
                quotes[c.passage.id].append(c.text)
                quotes[c.passage.id].append(attribution)
            else:
                quotes[c.passage.id].append(c.text)
            parts.append(f"- {text}[{n}]" if is_list and c.ordinal else f"{text}[{n}]")
        sep = "\n" if is_list else ""
        answer = sep.join(parts).replace("\n[", "[")
        by_id = {c.passage.id: c.passage for c in chosen}
        citations = []
        for pid, n in numbers.items():
            p = by_id[pid]
            m = p.metadata
            citations.append(
                Citation(
                    n=n, source=m.get("source", ""), title=m.get("title", ""), authors=m.get("authors", ""),
                    section=m.get("section", ""), occasion=m.get("occasion", ""),
                    date=m.get("speech_date") or m.get("date", ""), text=p.text, quote="".join(quotes[pid]), passage_id=pid,
                )
            )
        return Answer(question, answer, False, citations, passages, conf, query)

    @staticmethod
    def _last_of(chosen: list[_Cand], pid: str) -> _Cand:
        return [c for c in chosen if c.passage.id == pid][-1]


def build_answerer(settings: Settings, retriever: Retriever):
    """The one place an answer backend is chosen: extractive, or a chat model with the
    extractive answerer as its fallback."""
    extractive = ExtractiveAnswerer(settings, retriever)
    match settings.llm.provider:
        case "extractive":
            return extractive
        case "openai" | "ollama":
            from .generate import LLMAnswerer
            from .llm import LLMUnavailable, build_chat_model
            from .metrics import DEFAULT_SUPPORT_THRESHOLD

            try:
                model = build_chat_model(settings.llm)
            except LLMUnavailable as exc:
                model = _Unavailable(str(exc))
            return LLMAnswerer(settings, retriever, model, extractive, DEFAULT_SUPPORT_THRESHOLD)
    raise ValueError(f"unknown llm provider {settings.llm.provider!r}")


class _Unavailable:
    """Stands in for a chat model that could not be configured; every call falls back."""

    def __init__(self, reason: str):
        self.reason = reason

    def stream(self, messages):
        raise ConnectionError(self.reason)

"""Quiz generation from the corpus itself (offline, no LLM).

Four item types, each carrying its citation (document, section, occasion/date, source sentence):
- 填空题 fill: a key sentence with its key term blanked; key = the term.
- 选择题 choice: the blanked term plus three distractors of the same kind drawn from the corpus
  (other industries for an industry, other dates for a date, other occasions for an occasion),
  never a distractor that also appears in the source sentence.
- 判断题 judge: the sentence as it stands (true) or with one key term swapped for a same-kind term
  (false); the key says which and why.
- 简答题 short: a question whose reference answer is a passage, with the points a full answer
  must mention; for dated speech excerpts "在哪次会议/考察中提出…".

A seed makes a quiz reproducible; items are spread over documents and sections, never repeated.

With a chat model (``writer="llm"``) each item is first asked of the model (prompts/quiz.yaml) and
kept only when it passes the same checks as the rule-built items: its quote is verbatim in the
passage, the key is in the quote (fill, choice), no distractor is in the quote, a true statement
is supported by the quote and a false one differs from it by one same-kind term, a short answer's
reference is supported by the passage. Otherwise the rule-built item for that sentence is used.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources

from .chunking import split_sentences
from .citation import Citation, meta_label
from .metrics import norm
from .patterns import BLANK, ITEM_MARK, dates_zh
from .rejoin import rejoin
from .safety import is_injection

TYPES = ("fill", "choice", "judge", "short")
TYPE_NAMES = {"fill": "填空题", "choice": "选择题", "judge": "判断题", "short": "简答题"}
_ITEM_HEAD = re.compile(r"(?:^|[。；：:\n])\s*" + ITEM_MARK + r"[，,]?\s*([^。；，,：:\n]{2,40})(?=[。；，,：:])")
_ZH = r"[\u4e00-\u9fff“”（）《》、]"
_HALF = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}


@lru_cache(maxsize=1)
def quiz_vocab() -> dict:
    """Term families, topic words and key limits (data/quiz.yaml)."""
    import yaml

    return yaml.safe_load((resources.files("rag") / "data" / "quiz.yaml").read_text(encoding="utf-8"))


KINDS: dict[str, list[str]] = quiz_vocab()["kinds"]
TOPIC_WORDS = set(quiz_vocab()["topic_words"])


def zh_punct(text: str) -> str:
    """Half-width , ; : ? ! ( ) beside Chinese characters become full-width (numbers keep theirs)."""

    def fix(m: re.Match) -> str:
        return _HALF[m.group(0)]

    return re.sub(r"(?<=" + _ZH + r")[,;:?!()]|[,;:?!()](?=" + _ZH + r")", fix, text or "")


_NUM = re.compile(r"\d+(?:\.\d+)?(?:" + "|".join(map(re.escape, quiz_vocab()["number_units"])) + ")")
_BAD_START = re.compile(
    "^(?:" + "|".join(map(re.escape, quiz_vocab()["leaning_starts"])) + r"|第[一二三四五六七八九十]|[一二三四五六七八九十]是)"
)


def _speaker(meta: dict) -> str:
    """Who spoke a speech excerpt, as a question names them (data/quiz.yaml speaker_titles)."""
    name = re.split(r"[、，,]", meta.get("authors", ""))[0].strip()
    return quiz_vocab().get("speaker_titles", {}).get(name, name) or "讲话人"


@dataclass
class QuizItem:
    type: str
    question: str
    answer: str
    options: list[str] = field(default_factory=list)
    explanation: str = ""
    points: list[str] = field(default_factory=list)
    citation: Citation | None = None  # rag.citation.Citation; its quote is the item's source sentence

    def to_dict(self) -> dict:
        """The item as the quiz JSON holds it: its citation's facts, ``sentence`` and ``page``."""
        d = asdict(self)
        if (c := self.citation) is not None:
            d["citation"] = {k: getattr(c, k) for k in _CITED} | {"sentence": c.quote, "page": c.page}
        return d


_CITED = ("source", "title", "authors", "section", "occasion", "date")


@dataclass
class _Sentence:
    text: str
    meta: dict
    terms: list[tuple[str, str]]  # (term, kind) present in the sentence


class QuizError(ValueError):
    """A quiz request that cannot be met (unknown type, nothing matches the filter)."""


def _term_kinds() -> dict[str, str]:
    out = {}
    for kind, terms in KINDS.items():
        for t in terms:
            out[t] = kind
    return out


class QuizBuilder:
    """Builds quizzes from indexed passages (``(text, metadata)`` pairs)."""

    def __init__(self, passages: list[tuple[str, dict]], model=None, threshold: float = 0.84):
        self.passages = passages
        self.model, self.threshold = model, threshold  # a chat model writes items first when given
        self.stats = {"llm_kept": 0, "llm_dropped": 0, "llm_errors": 0}
        kinds = _term_kinds()
        self.kinds = kinds
        self.sentences: list[_Sentence] = []
        self.corpus = norm("".join(text for text, _ in passages))  # for "is this distractor true too?"
        self.pool: dict[str, set[str]] = {k: set(v) for k, v in KINDS.items()}
        self.pool["date"], self.pool["number"], self.pool["occasion"] = set(), set(), set()
        previous_section = None
        for text, meta in passages:
            if meta.get("occasion"):
                self.pool["occasion"].add(meta["occasion"])
            section = (meta.get("source"), meta.get("section"))
            continues = section == previous_section  # its first sentence may be a cut or an overlap
            previous_section = section
            for k, s in enumerate(split_sentences(text)):
                s = s.strip()
                if (k == 0 and continues) or is_injection(s):
                    continue
                for d in dates_zh(s):
                    self.pool["date"].add(d)
                for n in _NUM.findall(s):
                    self.pool["number"].add(n)
                if (
                    not (18 <= len(s) <= 110)
                    or s[-1] not in "。！？”"
                    or s.startswith("——")
                    or _BAD_START.match(s)
                    or s.count("“") != s.count("”")
                ):
                    continue
                terms = [(t, k) for t, k in kinds.items() if t in s]
                terms += [(d, "date") for d in dates_zh(s)]
                terms += [(n, "number") for n in _NUM.findall(s)]
                if terms:
                    self.sentences.append(_Sentence(s, meta, terms))

    # -- selection ------------------------------------------------------------------------
    def _spread(self, rng: random.Random, docs: list[str] | None, topic: str | None) -> list[_Sentence]:
        """Candidate sentences in an order that alternates documents and sections."""
        cands = [s for s in self.sentences if not docs or s.meta.get("source") in docs or s.meta.get("title") in docs]
        if topic:
            cands = [
                s for s in cands if topic in s.text or topic in s.meta.get("section", "") or topic in s.meta.get("title", "")
            ]
        groups: dict[tuple, list[_Sentence]] = {}
        for s in cands:
            groups.setdefault((s.meta.get("source"), s.meta.get("section")), []).append(s)
        for g in groups.values():
            rng.shuffle(g)
        keys = list(groups)
        rng.shuffle(keys)
        keys.sort(key=lambda k: k[0] or "")  # documents in turn, sections shuffled within
        by_doc: dict[str, list[tuple]] = {}
        for k in keys:
            by_doc.setdefault(k[0], []).append(k)
        order: list[_Sentence] = []
        while any(groups.values()):
            for doc in list(by_doc):
                for k in by_doc[doc]:
                    if groups[k]:
                        order.append(groups[k].pop())
                        break
                by_doc[doc] = by_doc[doc][1:] + by_doc[doc][:1]  # next section next time
        return order

    def _distractors(self, term: str, kind: str, sentence: str, rng: random.Random, n: int = 3) -> list[str]:
        pool = sorted(
            t for t in self.pool.get(kind, set()) if t != term and t not in sentence and term not in t and t not in term
        )
        if kind == "number":
            unit = re.sub(r"[\d.]", "", term)
            pool = [t for t in pool if re.sub(r"[\d.]", "", t) == unit]
        if kind == "date":
            shape = re.sub(r"\d", "0", term)
            pool = [t for t in pool if re.sub(r"\d", "0", t) == shape]
        pool = [t for t in pool if not self.true_in_context(sentence, term, t)]
        rng.shuffle(pool)
        return pool[:n]

    def true_in_context(self, sentence: str, term: str, other: str) -> bool:
        """Would ``other`` in place of ``term`` make a statement the corpus also makes? Its words
        either side in the corpus ("赋能________发展": "赋能新兴产业发展" occurs) count as true."""
        k = sentence.find(term)
        if k < 0:
            return False
        left, right = norm(sentence[:k])[-2:], norm(sentence[k + len(term) :])[:2]
        o = norm(other)
        if (left and left + o in self.corpus) or (right and o + right in self.corpus):
            return True
        # too close to the key or to what the sentence already says ("量子信息" for "量子科技",
        # "第六代移动通信" beside "下一代移动通信")
        rest = sentence[:k] + "|" + sentence[k + len(term) :]
        return other[:2] == term[:2] or any(other[i : i + 4] in rest for i in range(max(len(other) - 3, 0)))

    def guessable(self, sentence: str, term: str, kind: str) -> bool:
        """A blank the rest of the sentence gives away: a place listed beside other places, or a
        term that occurs twice."""
        if sentence.count(term) != 1:
            return True
        if kind in quiz_vocab()["no_blank_in_list"]:
            others = [t for t in KINDS.get(kind, []) if t != term and t in sentence]
            k = sentence.find(term)
            near = sentence[max(0, k - 1) : k] + sentence[k + len(term) : k + len(term) + 1]
            return bool(others) and ("、" in near or "和" in near)
        return False

    def _pick_term(self, s: _Sentence, rng: random.Random) -> tuple[str, str] | None:
        # Specific terms make better blanks than the corpus's own topic words (未来产业, 新兴产业).
        rank = {
            "frontier_industry": 0,
            "sector": 0,
            "place": 0,
            "date": 1,
            "number": 1,
            "chain": 2,
            "concept": 3,
            "industry_class": 4,
        }
        # "未来产业" is what every document is about: blanking it tests nothing.
        ranked = sorted((tk for tk in s.terms if tk[0] not in TOPIC_WORDS), key=lambda tk: (rank.get(tk[1], 5), -len(tk[0])))
        for term, kind in ranked:
            if not self.guessable(s.text, term, kind) and len(self._distractors(term, kind, s.text, rng)) >= 3:
                return term, kind
        return None

    # -- items ----------------------------------------------------------------------------
    def fill(self, s: _Sentence, rng: random.Random) -> QuizItem | None:
        picked = self._pick_term(s, rng)
        if not picked:
            return None
        term, _ = picked
        return QuizItem(
            "fill", s.text.replace(term, BLANK, 1), term, explanation=f"原文：{s.text}", citation=Citation.of_meta(s.meta, s.text)
        )

    def choice(self, s: _Sentence, rng: random.Random) -> QuizItem | None:
        if s.meta.get("occasion") and rng.random() < 0.5 and len(self.pool["occasion"]) >= 4:
            return self._occasion_choice(s, rng)
        picked = self._pick_term(s, rng)
        if not picked:
            return None
        term, kind = picked
        options = [term] + self._distractors(term, kind, s.text, rng)
        rng.shuffle(options)
        letter = "ABCD"[options.index(term)]
        return QuizItem(
            "choice",
            s.text.replace(term, BLANK, 1),
            letter,
            options,
            f"原文：{s.text}",
            citation=Citation.of_meta(s.meta, s.text),
        )

    def _occasion_choice(self, s: _Sentence, rng: random.Random) -> QuizItem:
        occ = s.meta["occasion"]
        others = sorted(o for o in self.pool["occasion"] if o != occ)
        rng.shuffle(others)
        options = [occ] + others[:3]
        rng.shuffle(options)
        q = f"{_speaker(s.meta)}“{s.text}”这一论述出自哪次讲话或考察？"
        return QuizItem(
            "choice",
            q,
            "ABCD"[options.index(occ)],
            options,
            f"出自{occ}（{s.meta.get('speech_date', '')}）。",
            citation=Citation.of_meta(s.meta, s.text),
        )

    def judge(self, s: _Sentence, rng: random.Random, truth: bool | None = None) -> QuizItem | None:
        """A true statement as it stands, or a false one with a key term swapped for a same-kind
        term of another passage (never a year or a number), checked not to be true elsewhere."""
        truth = rng.random() < 0.5 if truth is None else truth
        if truth:
            if not any(k in quiz_vocab()["swap_kinds"] for _, k in s.terms) or len(s.text) > 70:
                return None  # a statement about nothing the paper teaches, or too long to judge
            return QuizItem(
                "judge", s.text, "正确", explanation=f"与原文一致：{s.text}", citation=Citation.of_meta(s.meta, s.text)
            )
        swappable = [
            (t, k)
            for t, k in s.terms
            if k in quiz_vocab()["swap_kinds"] and t not in TOPIC_WORDS and not self.guessable(s.text, t, k)
        ]
        picked = next(
            ((t, k) for t, k in sorted(swappable, key=lambda tk: -len(tk[0])) if self._distractors(t, k, s.text, rng, 1)), None
        )
        if not picked:
            return None
        term, kind = picked
        swap = self._distractors(term, kind, s.text, rng, 1)[0]
        return QuizItem(
            "judge",
            s.text.replace(term, swap, 1),
            "错误",
            explanation=f"原文为“{term}”而非“{swap}”。原文：{s.text}",
            citation=Citation.of_meta(s.meta, s.text),
        )

    def short(self, s: _Sentence, rng: random.Random) -> QuizItem | None:
        meta = s.meta
        passage = next((t for t, m in self.passages if m is meta), s.text)
        if meta.get("occasion"):
            q = f"{_speaker(s.meta)}在哪次会议或考察中提出“{s.text}”？请说明场合和时间。"
            points = [meta["occasion"], meta.get("speech_date", "")]
            return QuizItem(
                "short",
                q,
                f"{meta['occasion']}（{meta.get('speech_date', '')}）",
                points=points,
                explanation=passage,
                citation=Citation.of_meta(meta, s.text),
            )
        section = meta.get("section", "").split(" > ")[-1]
        head = re.sub(r"^[（(]?[一二三四五六七八九十\d]+[)）、.．]?\s*", "", section)
        if len(head) < 4:
            return None
        text = self._section_text(meta)
        reference = text if len(text) <= 400 else text[:400].rsplit("。", 1)[0] + "。……"
        points = key_points(reference)
        if not points:
            return None
        q = f"根据《{meta.get('title', '')}》，请简述“{head}”的主要内容。"
        return QuizItem(
            "short",
            q,
            reference,
            points=points,
            explanation=f"参考原文见{meta_label(meta)}",
            citation=Citation.of_meta(meta, s.text),
        )

    # -- items written by a chat model, checked like the rule-built ones ------------------------
    def _passage_of(self, s: _Sentence) -> str:
        return next((t for t, m in self.passages if m is s.meta), s.text)

    def llm_item(self, s: _Sentence, kind: str) -> QuizItem | None:
        """An item the chat model writes from the sentence's passage, or None (error or failed check)."""
        from .quiz_llm import item_chain

        passage = self._passage_of(s)
        try:
            data = item_chain(self.model).invoke({"passage": passage, "kind": kind})
        except Exception:  # an unreachable model or unparsable reply: the rule-built item stands
            self.stats["llm_errors"] += 1
            return None
        item = check_llm_item(data, kind, passage, s.meta, self.kinds, self.threshold) if isinstance(data, dict) else None
        self.stats["llm_kept" if item else "llm_dropped"] += 1
        return item

    def _section_text(self, meta: dict) -> str:
        """The whole section the passage belongs to, in order, each shared sentence once (rag.rejoin)."""
        key = (meta.get("source"), meta.get("section"))
        texts = [text for text, m in self.passages if (m.get("source"), m.get("section")) == key]
        return "".join(s for part in rejoin(texts) for s in split_sentences(part))

    def build(
        self, n: int = 20, types: tuple[str, ...] = TYPES, seed: int = 7, docs: list[str] | None = None, topic: str | None = None
    ) -> list[QuizItem]:
        """A reproducible quiz of ``n`` items cycling through ``types``, without duplicates."""
        unknown = set(types) - set(TYPES)
        if unknown:
            raise QuizError(f"未知题型：{', '.join(sorted(unknown))}（可选 {', '.join(TYPES)}）")
        rng = random.Random(seed)
        order = self._spread(rng, docs, topic)
        if not order:
            raise QuizError("没有符合条件的资料可以出题（请检查文档或主题筛选）。")
        by_doc: dict[str, list[_Sentence]] = {}
        for s in order:
            by_doc.setdefault(s.meta.get("source", ""), []).append(s)
        doc_names = list(by_doc)
        pointer = {k: rng.randrange(len(doc_names)) for k in types}  # each type takes the documents in turn
        first_truth = rng.random() < 0.5
        items: list[QuizItem] = []
        used_sentences: set[str] = set()
        used_sections: set[tuple] = set()
        exhausted: set[str] = set()
        t = judges = 0
        while len(items) < n and len(exhausted) < len(set(types)):
            kind = types[t % len(types)]
            t += 1
            if kind in exhausted:
                continue
            made = None
            for off in range(len(doc_names)):
                d = (pointer[kind] + off) % len(doc_names)
                for s in by_doc[doc_names[d]]:
                    section = (s.meta.get("source"), s.meta.get("section"))
                    if s.text in used_sentences or (kind == "short" and section in used_sections):
                        continue
                    item = self.llm_item(s, kind) if self.model is not None else None
                    if item is None or any(i.question == item.question for i in items):
                        item = (
                            self.judge(s, rng, (judges % 2 == 0) == first_truth)
                            if kind == "judge"
                            else getattr(self, kind)(s, rng)
                        )
                    if item is None or any(i.question == item.question for i in items):
                        continue
                    made = (item, s, section)
                    break
                if made:
                    pointer[kind] = d + 1
                    break
            if not made:
                exhausted.add(kind)
                continue
            item, s, section = made
            judges += kind == "judge"
            items.append(_polish(item))
            used_sentences.add(s.text)
            used_sections.add(section)
        return items


def _polish(item: QuizItem) -> QuizItem:
    """Full-width punctuation in the Chinese text a student reads."""
    item.question = zh_punct(item.question)
    item.options = [zh_punct(o) for o in item.options]
    item.points = [zh_punct(p) for p in item.points]
    if item.type in ("fill", "judge", "short") and item.type != "short":
        item.answer = zh_punct(item.answer)
    return item


def key_points(reference: str) -> list[str]:
    """The 2-5 points a marker checks, each a complete phrase of the reference text: the items it
    enumerates (一是…, （1）…) when it has them, else the leading clause of each sentence."""
    lim = quiz_vocab()["points"]
    ok = lambda p: lim["min_chars"] <= len(p) <= lim["max_chars"]  # noqa: E731
    heads = [m.group(1).strip() for m in _ITEM_HEAD.finditer(reference)]
    points = list(dict.fromkeys(p for p in heads if ok(p)))
    if len(points) < lim["min"]:
        points = []
        sentences = [x.strip() for x in split_sentences(reference)]
        # whole short sentences first, then the leading clause of a longer one
        whole = [x.rstrip("。！？…") for x in sentences if len(x) <= lim["max_chars"]]
        for clause in whole + [re.split(r"[，,；;：:]", x, maxsplit=1)[0].strip().rstrip("。！？…") for x in sentences]:
            clause = _BAD_START.sub("", clause).lstrip("，, ")
            if (
                ok(clause)
                and len(clause) >= lim["min_clause_chars"]
                and clause not in points
                and not clause.endswith(tuple(lim["not_ending"]))
                and norm(clause) in norm(reference)
            ):
                points.append(clause)
    points = sorted(points[: lim["max"]], key=lambda p: norm(reference).find(norm(p)))  # in the text's order
    return points if len(points) >= lim["min"] else []


def build_quiz(
    system,
    n: int = 20,
    types: tuple[str, ...] = TYPES,
    seed: int = 7,
    docs: list[str] | None = None,
    topic: str | None = None,
    writer: str = "rules",
    stats: dict | None = None,
) -> list[QuizItem]:
    """A quiz from the indexed passages. ``writer="llm"`` asks the configured chat model first and
    keeps only items that pass the checks; ``stats`` (when given) receives kept/dropped counts."""
    model = None
    if writer == "llm":
        if system.chat_unavailable:  # configured, but unusable (e.g. its key is not set)
            raise QuizError(f"大模型不可用：{system.chat_unavailable}")
        model = system.chat_model
        if model is None:
            raise QuizError("用大模型出题需要先配置大模型（llm.provider、llm.model 及其密钥），见 README“接入大模型”。")
    builder = corpus_builder(system, model)
    items = builder.build(n, types, seed, docs, topic)
    if stats is not None:
        stats.update(builder.stats)
    return items


def corpus_builder(system, model=None) -> QuizBuilder:
    """A QuizBuilder over every indexed passage, in document order."""
    from .metrics import DEFAULT_SUPPORT_THRESHOLD

    index = system.retriever.chunks  # one consistent snapshot of the index (an upload may be landing)
    passages = list(zip(index.texts, index.metas, strict=False))
    passages.sort(key=lambda p: (p[1].get("source", ""), p[1].get("order", 0)))
    return QuizBuilder(passages, model, DEFAULT_SUPPORT_THRESHOLD)


from .quiz_llm import check_llm_item  # noqa: E402  (re-exported: the model-written items' check)

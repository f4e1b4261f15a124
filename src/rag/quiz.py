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

import json
import random
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources

from .chunking import split_sentences

TYPES = ("fill", "choice", "judge", "short")
TYPE_NAMES = {"fill": "填空题", "choice": "选择题", "judge": "判断题", "short": "简答题"}
BLANK = "________"
TOPIC_WORDS = {"未来产业"}
_ITEM_HEAD = re.compile(r"(?:^|[。；\n])\s*(?:[一二三四五六七八九十]是|\d{1,2}[.．、]|[（(][一二三四五六七八九十\d]+[)）]|首先|其次|再次|最后)[，,]?\s*([^。；，,：:\n]{2,28})")

# Same-kind term families for distractors and swaps (terms of the corpus's policy vocabulary).
KINDS: dict[str, list[str]] = {
    "industry": ["量子科技", "生物制造", "氢能", "核聚变能", "脑机接口", "具身智能", "第六代移动通信", "人形机器人",
                 "元宇宙", "类脑智能", "人工智能", "新能源", "新材料", "生命科学", "深海空天开发", "集成电路",
                 "商业航天", "低空经济", "量子信息", "合成生物", "数字经济", "先进制造"],
    "concept": ["新质生产力", "高质量发展", "现代化产业体系", "新发展理念", "新型工业化", "新发展格局",
                "实体经济", "科技自立自强", "全要素生产率", "新型举国体制", "创新驱动发展战略"],
    "industry_class": ["未来产业", "战略性新兴产业", "传统产业", "新兴产业", "先导产业", "支柱产业", "主导产业"],
    "chain": ["创新链", "产业链", "资金链", "人才链", "供应链", "价值链", "政策链"],
    "place": ["北京", "上海", "深圳", "浙江", "江苏", "广东", "安徽", "福建", "黑龙江", "雄安新区", "四川", "湖北"],
}
_DATE = re.compile(r"\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{4}年")
_NUM = re.compile(r"\d+(?:\.\d+)?(?:万亿元|亿元|万元|亿人|万人|万家|亿美元|万个|个|家|颗|项|人次|%)")
_BAD_START = re.compile(r"^(?:同时|此外|另外|因此|所以|但是|然而|而且|并且|其中|这|那|其|它|对此|为此|比如|例如|其次|最后|首先|第[一二三四五六七八九十]|[一二三四五六七八九十]是)")


@dataclass
class Citation:
    source: str
    title: str
    authors: str
    section: str
    occasion: str
    date: str
    sentence: str


@dataclass
class QuizItem:
    type: str
    question: str
    answer: str
    options: list[str] = field(default_factory=list)
    explanation: str = ""
    points: list[str] = field(default_factory=list)
    citation: Citation | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Sentence:
    text: str
    meta: dict
    terms: list[tuple[str, str]]  # (term, kind) present in the sentence


# What the model is asked to write, per type (prompts/quiz.yaml's {type}).
LLM_TYPE_ASK = {
    "fill": "填空题。question 为资料中的一句原文，把其中一个关键术语（政策概念、产业名称、日期或数字）换成 ________；"
            "answer 为被挖去的词；options 为空列表。",
    "choice": "单项选择题。question 为挖去一个关键术语（用 ________ 表示）的原文句子；options 为 4 个同类选项，"
              "只有一个正确，另外三个不得出现在该原句中；answer 为正确选项的字母（A/B/C/D）。",
    "judge": "判断题。question 为一个陈述：照录资料中的一句原文（answer 为“正确”），或把其中一个关键术语换成同类的另一术语"
             "（answer 为“错误”）；options 为空列表。",
    "short": "简答题。question 为一个需要概括资料内容的问题；answer 为参考答案，由资料原句组成；points 为完整答案必须提到的"
             "2 至 4 个要点（资料中的原词）；options 为空列表。",
}
_JSON = re.compile(r"\{.*\}", re.S)


@lru_cache(maxsize=1)
def _keyword_extractor():
    """jieba's TF-IDF keyword extractor over the retriever's tokenizer (built once: it reads its
    idf table, and the POS tagger reads the whole dictionary)."""
    import jieba.analyse

    from .retrieve import _tokenizer, pos_tagger

    ex = jieba.analyse.TFIDF()
    ex.tokenizer, ex.postokenizer = _tokenizer(), pos_tagger()
    return ex


class QuizError(ValueError):
    """A quiz request that cannot be met (unknown type, nothing matches the filter)."""


@lru_cache(maxsize=1)
def _policy_terms() -> set[str]:
    text = (resources.files("rag") / "data" / "userdict.txt").read_text(encoding="utf-8")
    return {line.split()[0] for line in text.splitlines() if line.strip()}


def _term_kinds() -> dict[str, str]:
    out = {}
    for kind, terms in KINDS.items():
        for t in terms:
            out[t] = kind
    return out


def _citation(meta: dict, sentence: str) -> Citation:
    return Citation(meta.get("source", ""), meta.get("title", ""), meta.get("authors", ""), meta.get("section", ""),
                    meta.get("occasion", ""), meta.get("speech_date") or meta.get("date", ""), sentence)


class QuizBuilder:
    """Builds quizzes from indexed passages (``(text, metadata)`` pairs)."""

    def __init__(self, passages: list[tuple[str, dict]], model=None, threshold: float = 0.84):
        self.passages = passages
        self.model, self.threshold = model, threshold  # a chat model writes items first when given
        self.stats = {"llm_kept": 0, "llm_dropped": 0, "llm_errors": 0}
        kinds = _term_kinds()
        self.kinds = kinds
        self.sentences: list[_Sentence] = []
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
                if k == 0 and continues:
                    continue
                for d in _DATE.findall(s):
                    self.pool["date"].add(d)
                for n in _NUM.findall(s):
                    self.pool["number"].add(n)
                if not (18 <= len(s) <= 110) or s[-1] not in "。！？”" or s.startswith("——") or _BAD_START.match(s) or s.count("“") != s.count("”"):
                    continue
                terms = [(t, k) for t, k in kinds.items() if t in s]
                terms += [(d, "date") for d in _DATE.findall(s)]
                terms += [(n, "number") for n in _NUM.findall(s)]
                if terms:
                    self.sentences.append(_Sentence(s, meta, terms))

    # -- selection ------------------------------------------------------------------------
    def _spread(self, rng: random.Random, docs: list[str] | None, topic: str | None) -> list[_Sentence]:
        """Candidate sentences in an order that alternates documents and sections."""
        cands = [s for s in self.sentences if not docs or s.meta.get("source") in docs or s.meta.get("title") in docs]
        if topic:
            cands = [s for s in cands if topic in s.text or topic in s.meta.get("section", "") or topic in s.meta.get("title", "")]
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
        pool = sorted(t for t in self.pool.get(kind, set()) if t != term and t not in sentence and term not in t and t not in term)
        if kind == "number":
            unit = re.sub(r"[\d.]", "", term)
            pool = [t for t in pool if re.sub(r"[\d.]", "", t) == unit]
        if kind == "date":
            shape = re.sub(r"\d", "0", term)
            pool = [t for t in pool if re.sub(r"\d", "0", t) == shape]
        rng.shuffle(pool)
        return pool[:n]

    def _pick_term(self, s: _Sentence, rng: random.Random) -> tuple[str, str] | None:
        # Specific terms make better blanks than the corpus's own topic words (未来产业, 新兴产业).
        rank = {"industry": 0, "place": 0, "date": 1, "number": 1, "chain": 2, "concept": 3, "industry_class": 4}
        # "未来产业" is what every document is about: blanking it tests nothing.
        ranked = sorted((tk for tk in s.terms if tk[0] not in TOPIC_WORDS), key=lambda tk: (rank.get(tk[1], 5), -len(tk[0])))
        for term, kind in ranked:
            if len(self._distractors(term, kind, s.text, rng)) >= 3 and s.text.count(term) == 1:
                return term, kind
        return None

    # -- items ----------------------------------------------------------------------------
    def fill(self, s: _Sentence, rng: random.Random) -> QuizItem | None:
        picked = self._pick_term(s, rng)
        if not picked:
            return None
        term, _ = picked
        return QuizItem("fill", s.text.replace(term, BLANK, 1), term, explanation=f"原文：{s.text}",
                        citation=_citation(s.meta, s.text))

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
        return QuizItem("choice", s.text.replace(term, BLANK, 1), letter, options, f"原文：{s.text}",
                        citation=_citation(s.meta, s.text))

    def _occasion_choice(self, s: _Sentence, rng: random.Random) -> QuizItem:
        occ = s.meta["occasion"]
        others = sorted(o for o in self.pool["occasion"] if o != occ)
        rng.shuffle(others)
        options = [occ] + others[:3]
        rng.shuffle(options)
        q = f"习近平总书记“{s.text}”这一论述出自哪次讲话或考察？"
        return QuizItem("choice", q, "ABCD"[options.index(occ)], options,
                        f"出自{occ}（{s.meta.get('speech_date', '')}）。", citation=_citation(s.meta, s.text))

    def judge(self, s: _Sentence, rng: random.Random) -> QuizItem | None:
        if rng.random() < 0.5:
            return QuizItem("judge", s.text, "正确", explanation=f"与原文一致：{s.text}", citation=_citation(s.meta, s.text))
        picked = self._pick_term(s, rng)
        if not picked:
            return None
        term, kind = picked
        swap = self._distractors(term, kind, s.text, rng, 1)[0]
        return QuizItem("judge", s.text.replace(term, swap, 1), "错误",
                        explanation=f"原文为“{term}”而非“{swap}”。原文：{s.text}", citation=_citation(s.meta, s.text))

    def short(self, s: _Sentence, rng: random.Random) -> QuizItem | None:
        meta = s.meta
        passage = next((t for t, m in self.passages if m is meta), s.text)
        if meta.get("occasion"):
            q = f"习近平总书记在哪次会议或考察中提出“{s.text}”？请说明场合和时间。"
            points = [meta["occasion"], meta.get("speech_date", "")]
            return QuizItem("short", q, f"{meta['occasion']}（{meta.get('speech_date', '')}）", points=points,
                            explanation=passage, citation=_citation(meta, s.text))
        section = meta.get("section", "").split(" > ")[-1]
        head = re.sub(r"^[（(]?[一二三四五六七八九十\d]+[)）、.．]?\s*", "", section)
        if len(head) < 4:
            return None
        text = self._section_text(meta)
        points = list(dict.fromkeys(m.group(1) for m in _ITEM_HEAD.finditer(text)))[:6]
        if len(points) < 2:
            points = [t for t in self._keywords(text) if t not in TOPIC_WORDS and t not in head][:4]
        if len(points) < 2:
            return None
        q = f"根据《{meta.get('title', '')}》，请简述“{head}”的主要内容。"
        reference = text if len(text) <= 400 else text[:400].rsplit("。", 1)[0] + "。……"
        return QuizItem("short", q, reference, points=points, explanation=f"参考原文见《{meta.get('title', '')}》{section}",
                        citation=_citation(meta, s.text))

    # -- items written by a chat model, checked like the rule-built ones ------------------------
    def _passage_of(self, s: _Sentence) -> str:
        return next((t for t, m in self.passages if m is s.meta), s.text)

    def llm_item(self, s: _Sentence, kind: str) -> QuizItem | None:
        """An item the chat model writes from the sentence's passage, or None (error or failed check)."""
        from .prompts import as_data, load_prompt

        passage = self._passage_of(s)
        try:
            reply = self.model.invoke(load_prompt("quiz").format(passage=as_data(passage), type=LLM_TYPE_ASK[kind]))
            found = _JSON.search(reply.content if isinstance(reply.content, str) else "")
            data = json.loads(found.group(0)) if found else None
        except Exception:  # an unreachable model or unparsable reply: the rule-built item stands
            self.stats["llm_errors"] += 1
            return None
        item = check_llm_item(data, kind, passage, s.meta, self.kinds, self.threshold) if isinstance(data, dict) else None
        self.stats["llm_kept" if item else "llm_dropped"] += 1
        return item

    def _section_text(self, meta: dict) -> str:
        """The whole section the passage belongs to, in order, overlaps removed."""
        key = (meta.get("source"), meta.get("section"))
        out: list[str] = []
        for text, m in self.passages:
            if (m.get("source"), m.get("section")) == key:
                for sent in split_sentences(text):
                    if sent not in out[-3:]:
                        out.append(sent)
        return "".join(out)

    @staticmethod
    def _keywords(text: str) -> list[str]:
        return [w for w in _keyword_extractor().extract_tags(text, topK=8) if len(w) >= 2]

    def build(self, n: int = 20, types: tuple[str, ...] = TYPES, seed: int = 7, docs: list[str] | None = None,
              topic: str | None = None) -> list[QuizItem]:
        """A reproducible quiz of ``n`` items cycling through ``types``, without duplicates."""
        unknown = set(types) - set(TYPES)
        if unknown:
            raise QuizError(f"未知题型：{', '.join(sorted(unknown))}（可选 {', '.join(TYPES)}）")
        rng = random.Random(seed)
        order = self._spread(rng, docs, topic)
        if not order:
            raise QuizError("没有符合条件的资料可以出题（请检查文档或主题筛选）。")
        items: list[QuizItem] = []
        used_sentences: set[str] = set()
        used_sections: set[tuple] = set()
        t = 0
        for s in order:
            if len(items) >= n:
                break
            if s.text in used_sentences:
                continue
            kind = types[t % len(types)]
            section = (s.meta.get("source"), s.meta.get("section"))
            if kind == "short" and section in used_sections:
                continue
            item = self.llm_item(s, kind) if self.model is not None else None
            if item is None or any(i.question == item.question for i in items):
                item = getattr(self, kind)(s, rng)
            if item is None or any(i.question == item.question for i in items):
                continue
            items.append(item)
            used_sentences.add(s.text)
            used_sections.add(section)
            t += 1
        return items


def _blank(text: str) -> str:
    return re.sub(r"_{2,}|＿{2,}|（\s*）|\(\s*\)", BLANK, text)


def check_llm_item(data: dict, kind: str, passage: str, meta: dict, kinds: dict[str, str],
                   threshold: float = 0.84) -> QuizItem | None:
    """The model's item as a QuizItem when its key is supported by its cited passage, else None."""
    from .metrics import norm, support_score

    question = _blank(str(data.get("question", "")).strip())
    answer = str(data.get("answer", "")).strip()
    quote = str(data.get("quote", "")).strip()
    options = [str(o).strip() for o in data.get("options") or [] if str(o).strip()]
    options = [re.sub(r"^[A-DＡ-Ｄ][.．、:：)）]\s*", "", o) for o in options]
    if not question or not answer or len(norm(quote)) < 6 or norm(quote) not in norm(passage):
        return None
    source = next((x for x in split_sentences(passage) if norm(quote) in norm(x) or norm(x) in norm(quote)), quote)
    cite = _citation(meta, source.strip())
    if kind == "fill":
        if question.count(BLANK) != 1 or norm(answer) not in norm(quote):
            return None
        if support_score(question.replace(BLANK, answer), passage) < threshold:
            return None
        return QuizItem("fill", question, answer, explanation=f"原文：{quote}", citation=cite)
    if kind == "choice":
        letter = answer[:1].upper()
        if len(options) != 4 or len(set(options)) != 4 or letter not in "ABCD":
            return None
        key = options["ABCD".index(letter)]
        others = [o for o in options if o != key]
        if norm(key) not in norm(quote) or any(norm(o) in norm(quote) for o in others):
            return None
        if BLANK in question and support_score(question.replace(BLANK, key), passage) < threshold:
            return None
        return QuizItem("choice", question, letter, options, f"原文：{quote}", citation=cite)
    if kind == "judge":
        if answer.startswith("正确") or answer in {"对", "√", "true", "True"}:
            if support_score(question, quote) < threshold:
                return None
            return QuizItem("judge", question, "正确", explanation=f"与原文一致：{quote}", citation=cite)
        # A false statement must be the quote with one term swapped for a same-kind term.
        swaps = [(a, b) for a in kinds if a in quote and a not in question
                 for b in kinds if b in question and b not in quote and kinds[a] == kinds[b]]
        if not swaps or not answer.startswith("错误"):
            return None
        a, b = swaps[0]
        if norm(question.replace(b, a, 1)) != norm(quote):
            return None
        return QuizItem("judge", question, "错误", explanation=f"原文为“{a}”而非“{b}”。原文：{quote}", citation=cite)
    if kind == "short":
        sentences = [x for x in split_sentences(answer) if norm(x)]
        if not sentences or any(support_score(x, passage) < threshold for x in sentences):
            return None
        points = [str(p).strip() for p in data.get("points") or [] if str(p).strip() and norm(str(p)) in norm(passage)]
        if len(points) < 2:
            return None
        return QuizItem("short", question, answer, points=points[:4], explanation=f"参考原文：{passage}", citation=cite)
    return None


def build_quiz(system, n: int = 20, types: tuple[str, ...] = TYPES, seed: int = 7, docs: list[str] | None = None,
               topic: str | None = None, writer: str = "rules", stats: dict | None = None) -> list[QuizItem]:
    """A quiz from the indexed passages. ``writer="llm"`` asks the configured chat model first and
    keeps only items that pass the checks; ``stats`` (when given) receives kept/dropped counts."""
    model = None
    if writer == "llm":
        model = getattr(system.answerer, "model", None)
        if getattr(model, "reason", None):  # configured, but unusable (e.g. its key is not set)
            raise QuizError(f"大模型不可用：{model.reason}")
        if model is None or not hasattr(model, "invoke"):
            raise QuizError("用大模型出题需要先配置大模型（llm.provider、llm.model 及其密钥），见 README“接入大模型”。")
    passages = [(text, meta) for _, text, meta in system.store.iter_all()]
    passages.sort(key=lambda p: (p[1].get("source", ""), p[1].get("order", 0)))
    from .metrics import DEFAULT_SUPPORT_THRESHOLD

    builder = QuizBuilder(passages, model, DEFAULT_SUPPORT_THRESHOLD)
    items = builder.build(n, types, seed, docs, topic)
    if stats is not None:
        stats.update(builder.stats)
    return items

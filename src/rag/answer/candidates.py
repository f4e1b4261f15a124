"""Candidate sentences of the retrieved passages, each scored by named features.

Features of a sentence: ``lex`` (share of the question's idf-weighted terms it, or its passage's
occasion and authors, contains), ``sem`` (cosine between the question, without the author names and
titles it links, and the sentence vectors, standardised over the candidates), ``prior`` (its passage's fused retrieval score relative to the
best), ``type`` (it holds what the question expects: a date as precise as asked, a person, an
organisation, a place, an amount), ``defines`` (it opens by defining the question's subject) and
``linked`` (its passage belongs to the author/article/occasion the question names), ``chars`` (share
of the character pairs of the question's words it contains: partial credit for reworded terms).
A table row is read, for ``lex``, ``chars`` and ``sem``, together with its table's column names
("未来产业 | 战略性新兴产业" for "生命周期 | 孕育期或产业化初期 | 成长期"), which say what its cells are.
The score is a logistic model over these features, fitted by ``rag fit`` on the dev questions
(a sentence holding a key string of the reference answer is a positive); the weights are data
(``data/answer_model.json``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..chunking import index_sentences
from ..cleaning import TABLE_CELL
from ..patterns import ITEM_START, cn_number
from ..query import Query, defines, org_kinds, person_kinds, vocabulary
from ..retrieve import Passage, Retriever, pos_tagger, tokenize
from ..safety import is_injection

FEATURES = ["lex", "chars", "sem", "prior", "type", "defines", "linked"]
# The answer kinds that are names (the best sentence alone must hold one, see answerability.type_ok).
NAMED_KINDS = ("person", "org", "place", "agent")

_DAY = re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{1,2}\s*月(?!份以来)")
# a product's designation: letters and digits together ("Mate 60", "C919", "H20"; not "AI", "5G")
_MODEL = re.compile(r"[A-Za-z][A-Za-z\-]*\s?\d+[A-Za-z]*|\d+[A-Za-z]{2,}\d*")
# a year: "2023年" (not 年代/年间), or the year of a work cited as "（胡拥军，2023）"
_YEAR = re.compile(r"(?:19|20)\d{2}\s*年(?![代间])|[（(][^（()）]{1,30}[，,]\s*(?:19|20)\d{2}[a-z]?\s*[)）；;]")


@lru_cache(maxsize=1)
def _year_after_name() -> re.Pattern:
    """A work's year in brackets right after its author's name ("Alec Ross(2016)", "方晓霞（2023）");
    not a number in brackets that a measure word follows ("（2000）家") or that 第 leads ("第（1998）页")."""
    units = "|".join(map(re.escape, sorted(vocabulary()["units"], key=len, reverse=True)))
    return re.compile(rf"(?<=[A-Za-z\u4e00-\u9fff])(?<!第)\s*[（(](?:19|20)\d{{2}}[a-z]?[)）](?!\s*(?:{units}))")


def _amount_re() -> re.Pattern:
    """A quantity: digits then a percent sign or any measure word but a date's (12所, 628颗, 30余个,
    1.5万亿美元, 95%; not 11月, 5日); or a Chinese numeral then a unit of data/query.yaml (五年, 三成)."""
    units = vocabulary()["units"] + ["万", "亿", "千", "百", "成"]
    alt = "|".join(map(re.escape, sorted(set(units), key=len, reverse=True)))
    return re.compile(
        rf"\d+(?:[.,]\d+)*\s*(?:余|多)?\s*(?:[%％‰]|(?![月日号时])[\u4e00-\u9fff])|[一二两三四五六七八九十百千万亿半]+(?:余|多)?(?:{alt})"
    )


def ordinal(sentence: str) -> bool:
    return bool(ITEM_START.match(sentence))


def ordinal_family(sentence: str) -> str:
    """The kind of list marker a sentence starts with (一是 / 1. / （一） / 首先 …)."""
    m = ITEM_START.match(sentence)
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


def opens_series(sentence: str) -> bool:
    """Does the sentence start a numbered series (一是 / 第一， / 首先 / 1. / （1） / ① / （一））?"""
    m = ITEM_START.match(sentence)
    if not m:
        return False
    mark = re.sub(r"[是第，,、.．\s（()）]", "", m.group(0))
    return mark in ("一", "1", "①", "首先")


def states_count(sentence: str, count: int, kind: str) -> bool:
    """Does the sentence list ``count`` items of ``kind`` and say that they are that many ("…量子计算、
    量子通信、量子测量三大领域")? Items are joined by 、, the last also by 和/与/及 (data
    ``count_measures``, ``last_item_joiners``)."""
    if count < 2 or not kind:
        return False
    voc = vocabulary()
    for m in re.finditer(rf"([一二两三四五六七八九十\d]+)(?:{voc['count_measures']})?{re.escape(kind)}", sentence):
        if cn_number(m.group(1)) != count:
            continue
        run = re.split(r"[，,。；;：:]", sentence[: m.start()])[-1]  # the clause that ends with the count
        items = re.sub(r"等$", "", run).split("、")
        if len(items) == count - 1:  # "A、B和C": the last joined by a word, at its last occurrence
            joiners = "|".join(map(re.escape, voc["last_item_joiners"]))
            joins = list(re.finditer(joiners, items[-1]))
            if joins and 0 < joins[-1].start() and joins[-1].end() < len(items[-1]):
                items = [*items[:-1], items[-1][: joins[-1].start()], items[-1][joins[-1].end() :]]
        if len(items) == count:
            return True
    return False


def table_header(passage: str, row: str, before: str = "") -> str:
    """The header row of the table ``row`` belongs to: the first line of its run of table lines
    ("特征 | 未来产业 | 战略性新兴产业" for "生命周期 | 孕育期或产业化初期 | 成长期"). A run at the passage's
    start continues the table ``before`` (the passage before it) ends with. "" for the header itself."""
    if TABLE_CELL not in row:
        return ""
    carried = _last_run_head(before)
    head, in_run = "", False
    for i, line in enumerate(x.strip() for x in passage.split("\n")):
        if TABLE_CELL not in line:
            head, in_run = "", False
            continue
        if not in_run:
            head, in_run = (carried if i == 0 else line), True
        if line == row:
            return "" if head == row else head
    return ""


def _last_run_head(text: str) -> str:
    """The header of the table a passage ends with: "" when it ends with no table, or with a run of
    rows that began at its start (the header is further back)."""
    head, start = "", 0
    for i, line in enumerate(x.strip() for x in text.split("\n")):
        if TABLE_CELL in line:
            head, start = (head, start) if head else (line, i)
        else:
            head = ""
    return head if start > 0 else ""


def columns(header: str) -> str:
    """A table header's column names: its cells but the first, which names the rows ("未来产业 |
    战略性新兴产业" of "特征 | 未来产业 | 战略性新兴产业")."""
    return TABLE_CELL.join(header.split(TABLE_CELL)[1:])


def passage_before(p: Passage, retriever: Retriever) -> Passage | None:
    """The passage just before ``p`` in its section, when ``p`` opens with a table row (the table
    began there)."""
    if TABLE_CELL not in p.text.split("\n", 1)[0]:
        return None
    index, m = retriever.chunks, p.metadata
    for i, meta in enumerate(index.metas):
        if (meta.get("source"), meta.get("section"), meta.get("order")) == (
            m.get("source"),
            m.get("section"),
            (m.get("order") or 0) - 1,
        ):
            return Passage(index.ids[i], index.texts[i], meta, score=p.score)
    return None


def names_in(text: str, flags: tuple[str, ...]) -> list[str]:
    return [w for w, f in pos_tagger().cut(text) if f.startswith(flags) and len(w) >= 2]


@lru_cache(maxsize=1)
def _amount_pattern() -> re.Pattern:
    return _amount_re()


def holds(expect: str, text: str, meta: dict | None = None, question: str = "", people=()) -> bool:
    """Does ``text`` hold an answer of the expected type? (a date as precise as asked, a person,
    an organisation, a place, an amount, a model designation, or for "靠谁" an actor: a person, an
    organisation or a kind of actor, data ``agent_nouns``). Dates of a speech excerpt count from its
    metadata. A person, organisation or place must be one the question does not already name.
    ``people``: the persons the index knows (its catalog's authors), a person whatever the tagger
    says ("（胡拥军，2023）" cites one)."""
    meta = meta or {}
    date = meta.get("speech_date", "") if meta.get("attribution") and meta["attribution"] in text else ""
    match expect:
        case "day":
            return bool(_DAY.search(text) or len(date) == 10)
        case "month":
            return bool(_MONTH.search(text) or _DAY.search(text) or len(date) >= 7)
        case "year":
            return bool(_YEAR.search(text) or _year_after_name().search(text) or date)
        case "amount":
            return bool(_amount_pattern().search(re.sub(r"(?:19|20)\d{2}\s*年", "", text)))
        case "person" | "org" | "place":
            return bool(names(expect, text, meta, question, people))
        case "model":
            return any(m.group() not in question for m in _MODEL.finditer(_no_attribution(text, meta)))
        case "agent":
            words = {w for w, _ in pos_tagger().cut(_no_attribution(text, meta))}  # whole words: not 党 in 党员
            return any(n in words and n not in question for n in vocabulary()["agent_nouns"]) or any(
                names(kind, text, meta, question, people) for kind in ("person", "org")
            )
    return True


def names(expect: str, text: str, meta: dict | None = None, question: str = "", people=()) -> list[str]:
    """The persons, organisations or places ``text`` names that the question does not already name."""
    body = _no_attribution(text, meta or {})
    if expect == "person":
        cited = [m.group(1) for r in vocabulary()["patterns"]["person_re"] for m in re.finditer(r, body)]
        found = names_in(body, ("nr",)) + [p for p in people if p in body] + cited
        kinds = person_kinds(question)  # "哪位专家": a person named as one, or a cited scholar
        if kinds and not any(k in body for k in kinds):
            found = cited if set(vocabulary()["cited_are"]) & set(kinds) else []
    elif expect == "org":
        # Which body: the tagger often takes an organisation for a person (普华永道 -> nr), and
        # splits "战略协调机构"; a name ending in an organisation word counts too.
        suffixes = vocabulary()["org_suffixes"]
        found = names_in(body, ("nr", "nt", "nz")) + [
            w for w, f in pos_tagger().cut(body) if f.startswith("n") and len(w) >= 3 and w.endswith(tuple(suffixes))
        ]
        # A bare kind ("实验室") names no organisation; one of the kinds asked ("哪些高校") must be named.
        endings = [e for k in org_kinds(question) for e in vocabulary()["org_kind_names"].get(k, [])]
        ends = "|".join(map(re.escape, sorted({*(s for s in suffixes if len(s) >= 2), *endings}, key=len, reverse=True)))
        cut = f"[{vocabulary()['not_in_org_name']}]"
        found += [re.split(cut, w)[-1] for w in re.findall(rf"[\u4e00-\u9fff]{{2,8}}(?:{ends})", body)]
        found = [w for w in found if w not in suffixes and w not in endings]
        if endings:
            found = [w for w in found if w.endswith(tuple(endings))]
    else:
        found = names_in(body, ("ns",))
        voc = vocabulary()
        if any(c in question for c in voc["city_cues"]):  # "哪个城市": not "东北地区", "长三角"
            found = [w for w in found if not w.endswith(tuple(voc["place_kinds"])) and w not in voc["regions"]]
    return list(dict.fromkeys(w for w in found if not _named_in(w, question)))


def _named_in(name: str, question: str) -> bool:
    """The question already names it: whole, or by its last four characters or more ("中央政治局"
    names 中共中央政治局; "未来技术学院" names "所未来技术学院", a run the pattern took too long)."""
    return any(name[i:] in question for i in range(max(len(name) - 3, 1)))


def _no_attribution(text: str, meta: dict) -> str:
    """The sentence without its speech attribution (the occasion names no answer to "who/where")."""
    att = meta.get("attribution", "")
    return text.replace(att, "") if att else text


@dataclass
class Cand:
    text: str
    passage: Passage
    pos: int
    ordinal: bool
    f: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    header: str = ""  # a table row's header row, quoted before it
    header_of: Passage | None = None  # the passage that holds the header (the row's, or the one before)

    @property
    def coverage(self) -> float:
        return self.f.get("lex", 0.0)


def _provenance(sentence: str) -> bool:
    """An article's provenance line in brackets ("（选自…，作者系…）"; data ``byline_markers``)."""
    inner = sentence.strip().lstrip("（(")
    return sentence.strip()[:1] in "（(" and inner.startswith(tuple(vocabulary()["byline_markers"]))


def score(f: dict[str, float], weights: dict[str, float]) -> float:
    """Probability-like score of a sentence (logistic over the features; ``bias`` in the weights)."""
    z = weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * f[k] for k in FEATURES)
    return 1.0 / (1.0 + math.exp(-z))


def idf_weights(retriever: Retriever, terms: list[str]) -> dict[str, float]:
    lexicon = retriever.lexicon
    return lexicon.idf(terms, default=max(lexicon.max_idf, 1.0))


def coverage_fn(query: str, retriever: Retriever):
    """text -> share of the question's idf-weighted terms it contains."""
    idf = idf_weights(retriever, list(dict.fromkeys(tokenize(query))))
    total = sum(idf.values()) or 1.0
    return lambda text: sum(w for t, w in idf.items() if t in text.lower()) / total


def _pairs(words: list[str]) -> set[str]:
    return {w[i : i + 2] for w in words if len(w) >= 2 for i in range(len(w) - 1)}


def build(query: str, q: Query, passages: list[Passage], retriever: Retriever, weights: dict[str, float]) -> list[Cand]:
    """Every quotable sentence of ``passages`` with its features and score, best first."""
    words = list(dict.fromkeys(tokenize(query)))
    idf = idf_weights(retriever, words)
    total = sum(idf.values()) or 1.0
    pairs = _pairs(words)
    top = max((p.score for p in passages), default=0.0) or 1.0
    out: list[Cand] = []
    for p in passages:
        before = passage_before(p, retriever)
        prior = (p.score / top) ** 0.5
        context = p.metadata.get("occasion", "") + p.metadata.get("authors", "")
        linked = float(q.constrained and q.matches(p.metadata))
        for pos, sent in enumerate(index_sentences(p.text)):
            if is_injection(sent):
                continue  # text instructing the reader/model is never quoted as an answer
            if not q.is_metadata and _provenance(sent):
                continue  # "（选自《红旗文稿》…，作者系…）" says where the article is from, not what it says
            # a table row is read with what its columns are
            head = table_header(p.text, sent, before.text if before else "")
            low = (sent + context + columns(head)).lower()
            lex = sum(w for t, w in idf.items() if t in low) / total
            chars = sum(x in low for x in pairs) / len(pairs) if pairs else 0.0
            defining = float(defines(q.subject, sent))
            typed = float(
                bool(q.expect)
                and q.expect != "count"
                and holds(q.expect, sent + p.metadata.get("attribution", ""), p.metadata, query, q.people)
            )
            out.append(
                Cand(
                    sent,
                    p,
                    pos,
                    ordinal(sent),
                    {"lex": lex, "chars": chars, "prior": prior, "type": typed, "defines": defining, "linked": linked},
                )
            )
            if head:
                own = head in (x.strip() for x in p.text.split("\n"))
                out[-1].header, out[-1].header_of = head, p if own else before
    if not out:
        return out
    # The names a question links (its authors, a named article's title) are never in a sentence:
    # the sentence similarity is taken for what is asked without them.
    qv = retriever.embed_query(q.bare(query))
    vecs = retriever.sentence_vectors([c.text for c in out])
    plain = np.array([float(vecs[c.text] @ qv) for c in out])
    # a table row is read with its column names; standardised as the plain sentences are, so that
    # reading it so moves no other sentence's score
    read = {c.text: columns(c.header) + "\n" + c.text for c in out if c.header}
    rows = retriever.sentence_vectors(list(read.values())) if read else {}
    sims = np.array([float(rows[read[c.text]] @ qv) if c.text in read else s for c, s in zip(out, plain, strict=True)])
    z = (sims - plain.mean()) / (plain.std() + 1e-6)
    for c, s, zz in zip(out, sims, z, strict=False):
        c.f["sem_raw"] = float(s)
        c.f["sem"] = float(zz)
        c.score = score(c.f, weights)
    out.sort(key=lambda c: -c.score)
    return out

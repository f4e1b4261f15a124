"""Does the chosen evidence answer the question? A calibrated decision, not a word list.

Three checks, in order, each with a reason for reports:
1. ``type``: the question expects something (a day, a month, a year, a person, an organisation, a
   place, an amount, N items) and the chosen sentences do not hold it ("几月几日" asked, only
   "2025年11月初" stated; "其余八项" asked, one item stated).
2. ``constraint``: the question names an article, author or speech occasion, or a place,
   organisation or person, and neither the chosen passages nor their metadata are about it.
3. ``model``: a logistic regression over features of the evidence (lexical and semantic match of
   the best sentences, retrieval confidence) gives the probability that the question is answered;
   below the threshold chosen on the dev splits for false refusals <= 0.05, refuse.
The model's weights and threshold are data (``data/answer_model.json``), refit by ``rag fit``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..query import Query, occasion_core, speaks_of, vocabulary
from .candidates import NAMED_KINDS, Cand, holds, names, names_in, pos_tagger, states_count

MODEL_FEATURES = [
    "best_lex",
    "best_sem",
    "top_sem_z",
    "passage_cov",
    "top_dense",
    "type_expected",
    "linked",
    "focus_missing",
    "sem_margin",
    "premise",
    "novelty",
]


@lru_cache(maxsize=1)
def load_model(path: str | None = None) -> dict:
    """data/answer_model.json: sentence-score weights and the answerability regression."""
    if path:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    return json.loads((resources.files("rag") / "data" / "answer_model.json").read_text(encoding="utf-8"))


@dataclass
class Decision:
    answerable: bool
    probability: float
    why: str = ""  # type | item (past the end of its list) | constraint | model | "" when answered
    features: dict | None = None


def features(
    q: Query,
    chosen: list[Cand],
    cands: list[Cand],
    passages: list,
    idf: dict[str, float] | None = None,
    dense: list[float] | None = None,
) -> dict[str, float]:
    best = chosen[0] if chosen else None
    idf = idf or {}
    hay = _haystack(chosen).lower()
    top_idf = max(idf.values(), default=1.0) or 1.0
    sems = [c.f["sem_raw"] for c in cands if "sem_raw" in c.f]
    qgrams = _bigrams(q.text)
    best_grams = _bigrams(best.text) if best else set()
    all_grams = set().union(*(_bigrams(c.text) for c in chosen)) if chosen else set()
    return {
        # how much of the question the best sentence restates (a question quoting its premise) and
        # how much of the answer is new to the question (what it would add)
        "premise": len(qgrams & best_grams) / max(len(qgrams), 1),
        "novelty": len(all_grams - qgrams) / max(len(all_grams), 1),
        # the rarest question word the answer never uses, relative to the rarest word of the question
        "focus_missing": max((w for t, w in idf.items() if t not in hay), default=0.0) / top_idf,
        "sem_margin": (max(sems) - float(np.mean(sems))) if sems else 0.0,
        "best_lex": max((c.f["lex"] for c in chosen), default=0.0),
        "best_sem": max((c.f["sem_raw"] for c in chosen), default=0.0),
        "top_sem_z": max((c.f["sem"] for c in chosen), default=0.0),
        "passage_cov": max((p.coverage for p in passages[:3]), default=0.0),
        "top_dense": max(dense if dense is not None else [p.dense_sim for p in passages[:3]], default=0.0),
        "type_expected": float(bool(q.expect)),
        "linked": float(bool(best) and q.constrained and any(q.matches(c.passage.metadata) for c in chosen)),
    }


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", "", text)
    return {t[i : i + 2] for i in range(len(t) - 1)}


def items_in(chosen: list[Cand], enumerated: bool = False) -> int:
    """How many items the chosen sentences enumerate (list items, or A、B、C inside one sentence).
    Unless ``enumerated`` is asked for, N sentences count as N points."""
    listed = sum(c.ordinal for c in chosen)
    inline = max((max(len(re.findall(r"[、；;]", c.text)) + 1, _quoted_run(c.text)) for c in chosen), default=0)
    if enumerated:
        return max(listed, inline if inline > 1 else 0)
    if listed:  # a numbered list counts its items (not its lead sentence)
        return max(listed, inline if inline > 1 else 0)
    return max(inline if inline > 1 else 0, len(chosen))  # else N sentences can make N points


def _quoted_run(text: str) -> int:
    """The longest run of quoted phrases side by side ("“战略性技术”“基础性技术”“…”"): items too."""
    runs = re.findall(r"(?:“[^“”]{1,16}”[、，,和与及]?){2,}", text)
    return max((len(re.findall(r"“[^“”]{1,16}”", r)) for r in runs), default=0)


def type_ok(q: Query, chosen: list[Cand], known=lambda word: True) -> bool:
    """Do the best chosen sentences hold the kind of answer the question expects? ``known``: as
    for ``named``."""
    if not q.expect:
        return True
    if q.expect == "count":  # (or a sentence says it names that many: "量子计算、量子通信和量子测量3个领域")
        return items_in(chosen, q.members) >= q.count or any(states_count(c.text, q.count, q.item_kind) for c in chosen)
    # The sentences that best answer, not their neighbours: the best one for who/where, two for
    # dates and quantities (the figure often sits in the sentence after the one that names the topic).
    lead = sorted(chosen, key=lambda c: -c.score)[: 1 if q.expect in NAMED_KINDS else 2]
    typed = [
        c
        for c in lead
        if holds(q.expect, c.text + c.passage.metadata.get("attribution", ""), c.passage.metadata, q.text, q.people)
        and (not q.unit or re.search(rf"(?:\d|[一二两三四五六七八九十百千万亿])\s*(?:余|多)?\s*{re.escape(q.unit)}", c.text))
        and (not q.measure_units or _states_in(c.text, q.measure_units))
    ]
    # A figure or date said of another place than the one asked about ("南京提出…3000亿元" for
    # "杭州…目标是多少亿元") does not answer: one sentence that holds it names the place or none.
    places = _places(q.text, named(q.text, known))
    if places and q.expect not in NAMED_KINDS:
        typed = [c for c in typed if not names_in(c.text, ("ns",)) or any(_found(p, c.text) for p in places)]
    ok = bool(typed)
    if ok and q.count:  # "分别位于哪些城市": the names count as items ("北京和上海")
        found = (
            {n for c in lead for n in names(q.expect, c.text, c.passage.metadata, q.text, q.people)}
            if q.expect in ("person", "org", "place")  # (an actor may be a kind, "企业": no count of names)
            else set()
        )
        ok = max(items_in(chosen, q.members), len(found)) >= q.count
    return ok


_META_FIELDS = ("title", "authors", "section", "occasion", "speech_date", "date", "attribution", "outlet")


def _haystack(chosen: list[Cand], fields: tuple[str, ...] = _META_FIELDS) -> str:
    """The chosen sentences with their passages' metadata: where a name the question uses must be.
    (Not the whole passage: "深圳…多少" is not answered by a sentence about 上海 in a passage that
    lists 北京、上海、深圳.)"""
    return re.sub(r"\s+", "", "".join(c.text + "".join(str(c.passage.metadata.get(f, "")) for f in fields) for c in chosen))


def named(query: str, known=lambda word: True) -> list[str]:
    """Places and people (jieba POS) and documents (《…》) the question names. (Organisation tags
    are left out: the tagger gives nt to ordinary phrases such as 公共财政.) A two-character word
    that looks like no name (``_unlike_name``) and that the corpus never uses (``known``) is the
    tagger's guess at an ordinary word ("卡住"), not a name."""
    voc = vocabulary()
    generic = set(voc["generic_names"])
    found = [
        w
        for w, f in pos_tagger().cut(query)
        if f.startswith(("ns", "nr"))
        and len(w) >= 2
        and w not in generic
        and not (len(w) == 2 and not known(w) and _unlike_name(w, f, voc))
    ]
    found += [re.sub(r"\s+", "", t) for t in _TITLES.findall(query)]  # as the haystack: no spaces
    return list(dict.fromkeys(found))


def _places(query: str, names: list[str]) -> list[str]:
    """Which of the names the question uses (``named``) are places: tagged so, not a 《title》."""
    tagged = set(names_in(query, ("ns",)))
    titles = "".join(_TITLES.findall(re.sub(r"\s+", "", query)))
    return [n for n in names if n in tagged and n not in titles]


_TITLES = re.compile(r"《([^《》]{2,60})》")  # a document the question names


def _unlike_name(word: str, flag: str, voc: dict) -> bool:
    """A two-character word tagged as a person with no common surname ("卡住"): likely the tagger's
    guess at an ordinary word. (Places keep their tag: a place the corpus never names, "巴西", looks
    no different to the tagger from an ordinary word it calls a place, "扎堆".)"""
    return flag.startswith("nr") and word[0] not in voc["surnames"]


def constraint_ok(query: str, q: Query, chosen: list[Cand], known=lambda word: True) -> bool:
    """The named article/occasion is among the chosen passages; every other name the question
    uses (an author, a place, an organisation, a document) is in them or in their metadata."""
    hay = _haystack(chosen)
    if q.titled and not any(q.matches(c.passage.metadata) for c in chosen):
        return False
    if (
        q.occasions
        and not any(q.matches_occasion(c.passage.metadata) for c in chosen)
        and not any(speaks_of(occasion_core(o), hay) for o in q.occasions)
    ):
        return False  # neither the speech itself nor a passage that speaks of that occasion
    # A year the question names ("2021年以后每年安排多少") is what is asked about: a sentence about
    # other years does not answer it. (A speech's date counts; the date a document appeared does not.)
    when = _haystack(chosen, ("speech_date", "attribution"))
    # A name the tagger ran into a word before it ("和马涛"), cut short ("田贻" of 田贻萱) or cut
    # across ("澳那" of "余澳那篇") is the author it holds, belongs to or overlaps.
    names = [next((p for p in q.people if p in n or p.startswith(n) or _straddles(n, p, query)), n) for n in named(query, known)]
    # A place the question names is what the answer is about: a passage of its best two sentences
    # speaks of it ("韩国的未来产业战略…" is not answered by a list about China that a sentence on
    # 韩国's 元宇宙 plan happens to join).
    places = _places(query, names)
    lead = sorted(chosen, key=lambda c: -c.score)[:2]  # the best two, as for the answer type
    about = "".join(re.sub(r"\s+", "", c.passage.text) for c in lead) + _haystack(lead)
    if not all(_found(p, about) for p in places):
        return False
    return all(_found(n, hay) for n in names + q.authors) and all(y in when for y in q.years)


def _straddles(word: str, name: str, text: str) -> bool:
    """Does ``word`` overlap an occurrence of ``name`` in ``text`` without lying inside it (the
    tagger's "澳那" across "余澳" and "那篇")?"""
    spans = [(m.start(), m.start() + len(name)) for m in re.finditer(re.escape(name), text)]
    for m in re.finditer(re.escape(word), text):
        a, b = m.start(), m.start() + len(word)
        if any(a < e and s < b and not (s <= a and b <= e) for s, e in spans):
            return True
    return False


def _found(name: str, hay: str) -> bool:
    """The name, or for a kind of place ("沿海地区") what comes before the kind, is in ``hay``; a
    name of four to eight characters also when it shortens a longer one by leaving out characters
    after its first two ("深圳特区" for "深圳经济特区")."""
    if name in hay:
        return True
    if _abbreviated(name, hay):
        return True
    kind = next((k for k in vocabulary()["place_kinds"] if name.endswith(k) and len(name) > len(k) + 1), "")
    if kind and name[: -len(kind)] in hay:
        return True
    # A place or person name (not a document's title, not one with figures: "中国制造2025"), shortened
    # by leaving out up to _ELIDED characters after its first two, none of them a function word.
    if not 4 <= len(name) <= 8 or re.search(r"\d", name):
        return False
    gap = f"[^，。；、{vocabulary()['not_in_elision']}]{{1,{_ELIDED}}}"
    return re.search(f"{re.escape(name[:2])}{gap}{re.escape(name[2:])}", hay) is not None


def _states_in(text: str, units: list[str]) -> bool:
    """Does the text state a number in one of ``units`` ("24590.7亿元", "1%左右", "约三成", "超过1.2万亿";
    a percentage also written out, "百分之三十")?"""
    alt = "|".join(map(re.escape, units))
    if re.search(rf"(?:\d|[一二两三四五六七八九十])\s*(?:余|多)?\s*[万亿千百]*\s*(?:{alt})", text):
        return True
    return "%" in units and re.search(r"百分之\s*(?:\d|[一二两三四五六七八九十])", text) is not None


_ELIDED = 4  # characters a shortened name may leave out between its first two and the rest


def _abbreviated(place: str, hay: str) -> bool:
    """Is a province-level place named by its one-character name in a run of two or more of them
    ("天津" in "北京研发、津冀转化", "上海" in "沪苏浙皖")?"""
    short = vocabulary()["place_abbreviations"]
    mark = short.get(place)
    if not mark:
        return False
    for full in short:  # a name written whole is no run of one-character names ("辽宁" is not 辽 and 宁夏)
        hay = hay.replace(full, "　")
    run = "[" + "".join(short.values()) + "]"
    return any(mark in m.group(0) for m in re.finditer(f"{run}{{2,}}", hay))


def decide(
    query: str,
    q: Query,
    chosen: list[Cand],
    cands: list[Cand],
    passages: list,
    model: dict,
    idf: dict[str, float] | None = None,
    dense: list[float] | None = None,
    known=lambda word: True,
) -> Decision:
    """``known(word)``: does the corpus use the word (the index's lexicon)."""
    feats = features(q, chosen, cands, passages, idf, dense)
    lr = model["answerability"]
    z = lr["bias"] + sum(lr["weights"].get(k, 0.0) * v for k, v in feats.items())
    p = 1.0 / (1.0 + math.exp(-z))
    if not chosen:
        return Decision(False, 0.0, "model", feats)
    if not type_ok(q, chosen, known):
        return Decision(False, p, "type", feats)
    if not constraint_ok(query, q, chosen, known):
        return Decision(False, p, "constraint", feats)
    if p < lr["threshold"]:
        return Decision(False, p, "model", feats)
    return Decision(True, p, "", feats)

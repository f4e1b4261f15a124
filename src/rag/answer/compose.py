"""Which sentences make the answer, in what order, and how they are cited.

By question type (query.py): a list question gets every item of the best list (read from its whole
section, one marker family, or its unnumbered paragraph heads; a first item may follow the colon of
its lead), or the items announced by "提出以下四个基本思路。", or the one sentence that enumerates
them inline; one item asked by its place ("第二项") is that item, none if the list is shorter; a
comparison gets each named side's best sentences; an occasion question one sentence per speech
excerpt with its occasion and date; an item that is only a heading ("二是赋能效应。") comes with
the sentences that explain it, and so does a sentence a why-question restates (a conclusion,
"由此可见，…", with the sentences before it); otherwise the best sentences, kept to the named
articles and years, in source order, with the rest of a set of statements in parallel (排比) or
of a pair ("一方面…另一方面…") they belong to. Citations are numbered per passage: several
sentences of one passage share one number.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from ..chunking import index_sentences, split_sentences
from ..citation import join_quoted
from ..cleaning import TABLE_CELL
from ..query import Article, Query, cn_number, defines, vocabulary
from ..retrieve import Passage, Retriever, tokenize
from ..safety import is_injection
from .base import Answer, Citation
from .candidates import (
    NAMED_KINDS,
    Cand,
    opens_series,
    ordinal,
    ordinal_family,
    states_count,
)

_INLINE_LIST = re.compile(
    r"(?:[^、，,。；]{1,14}、){3,}[^、，,。；]{1,14}|“[^”—]{1,10}(?:—[^”—]{1,10}){2,}”|(?:“[^“”]{1,10}”){2,}等"
)


# A paragraph head: a short sentence with no pause in it ("大力培育创新引领型企业。").
_HEAD = re.compile(r"[^，,；;：:。！？]{4,18}[。！]")

# How far below the best sentence's score a sentence may be and still be quoted, as a share of the
# best score: data/answer_model.json "compose" (chosen on the dev splits), these when it has none.
# ``list_heading``: the share of the question a list's section heading must cover for the list to
# answer although none of its items is among the best sentences ("推动创新链产业链耦合发展" for
# "…耦合发展有哪些举措"); dev answers are the same anywhere from 0.7 to 0.99.
DEFAULT_MARGINS = {
    "answer": 0.45,
    "occasion": 0.45,
    "list": 0.3,
    "list_lead": 0.5,
    "typed": 0.4,
    "list_heading": 0.7,
    "one_item": 0.3,
}


class Composer:
    def __init__(
        self,
        retriever: Retriever,
        max_sentences: int,
        max_list_items: int,
        weights: dict | None = None,
        margins: dict | None = None,
    ):
        self.retriever, self.max_sentences, self.max_list_items = retriever, max_sentences, max_list_items
        self.weights = weights or {}  # the sentence-score weights (to score each side of a coordination)
        self.margins = {**DEFAULT_MARGINS, **(margins or {})}
        self._sections: tuple | None = None  # see _snapshot

    def shorter_list(self, q: Query, cands: list[Cand], cover=lambda text: 0.0) -> list[Cand]:
        """For "第四种效应是什么": the list it asks into, when that list has fewer items than the
        place asked for (the near miss is refused with the list shown); else nothing."""
        if not q.item:
            return []
        listed = [c for c in self._list(cands, cover, 0, bool(q.item_kind), q.item_kind) if c.ordinal]
        return listed if 0 < len(listed) < q.item else []

    def choose(self, query: str, q: Query, cands: list[Cand], cover=lambda text: 0.0) -> list[Cand]:
        """``cover(text)``: the share of the question's weighted terms a text contains. A sentence
        that two overlapping passages share is quoted once."""
        seen: set[str] = set()
        chosen = self._with_headers(self._choose(query, q, cands, cover))
        return [c for c in chosen if not (c.text in seen or seen.add(c.text))]

    def _with_headers(self, chosen: list[Cand]) -> list[Cand]:
        """A table row is quoted after its table's header row, which says what its cells are (cited
        to the passage that holds it). An answer that is no list keeps its ``max_sentences``."""
        out: list[Cand] = []
        for c in chosen:
            if c.header and c.header_of and not any(x.text == c.header for x in out):
                out.append(replace(c, text=c.header, ordinal=False, passage=c.header_of, header="", header_of=None))
            out.append(c)
        if len(out) > len(chosen) and sum(c.ordinal for c in out) < 2:
            out = out[: max(self.max_sentences, len(chosen))]
            while out and out[-1].header == "" and any(out[-1].text == c.header for c in chosen):
                out.pop()  # a header whose row was cut
        return out

    def _choose(self, query: str, q: Query, cands: list[Cand], cover) -> list[Cand]:
        if not cands:
            return []
        if len(q.articles) >= 2 and len(q.authors) >= 2 and not q.titled:
            return self._sides(query, q, cands)  # two or more named authors: each side with its own sentences
        if len(q.sides) >= 2:  # "A、B和C分别…": each member with the sentence that best answers for it
            chosen = self._members(query, q, cands)
            if chosen:
                return chosen
        if q.item:  # "第四项举措是什么": that item of the list, with what explains it; none if the list is shorter
            listed = [c for c in self._list(cands, cover, 0, bool(q.item_kind), q.item_kind, _quoted(query)) if c.ordinal]
            if listed:
                return self._explain([listed[q.item - 1]], cands, item=True) if len(listed) >= q.item else []
        # A sentence announcing a list of what the question asks for ("提出以下四个基本思路。" for
        # "…的基本思路是什么？") is answered with that list, whatever the question's wording.
        announced = [c for c in cands if (m := _announce().search(c.text)) and m.group(2)[-2:] in query]
        for c in announced[:1]:
            items = self._announced_items(c)
            if items:
                return items
        if q.qtype == "list" or q.count:
            # "量子科技涵盖哪三大领域": a sentence that names the N items and says they are the N asked
            # for ("涵盖量子计算、量子通信、量子测量三大领域") answers, whatever list scores near it.
            floor = cands[0].score - self.margins["list"] * abs(cands[0].score)
            stated = [c for c in cands if c.score >= floor and states_count(c.text, q.count, q.item_kind)]
            if stated:
                return [stated[0]]
            items = self._outline(cands, cover) or self._list(cands, cover, q.count, q.members, q.item_kind, _quoted(query))
            one = self._one_item(items, cover) if _singular(query) and not (q.count or q.members) else None
            if one:
                return self._explain([one], cands)
            if items:
                return items
            if cands[0].text.startswith(tuple(vocabulary()["summary_starts"])):
                # "这些基础规律相互交织…" sums up the items it follows: they are what is asked for
                return self._reasons_before(cands[0])
        if q.qtype == "occasion":
            return self._occasions(cands)
        best = cands[0]
        limit = self.max_sentences
        # A definition question is answered by a sentence that defines its subject ("未来产业是由…"),
        # when one is among the candidates, whatever else scores higher.
        defining = [c for c in cands if q.subject and defines(q.subject, c.text, strictly=True)]
        if defining:
            best = max(defining, key=lambda c: c.score)
            cands = [best] + [c for c in cands if c is not best]
        if q.subject and best.text.startswith(q.subject[:2]):
            limit = min(limit, 3)  # a definition: the defining sentence and what directly follows
        chosen = self._within(q, self._top(cands, best, limit, self.margins["answer"]))
        parallel = self._parallel(chosen, query) if not q.expect and not q.subject else []  # a definition is one statement
        if parallel:
            return parallel
        chosen = self._typed_first(q, chosen, cands, best, self.margins["typed"])
        why = q.qtype == "why" and bool(chosen)
        chosen = self._explain(chosen, cands, why and (_restates(chosen[0].text, query) or self._cause_follows(chosen[0])))
        chosen = self._opened_list(chosen)
        chosen = _whole_sentences(chosen, q.qtype == "list")
        chosen = self._in_source_order(self._with_partners(chosen))
        if defining and best in chosen:  # the definition leads, whatever precedes it in the source
            chosen = [best] + [c for c in chosen if c is not best]
        return chosen

    @staticmethod
    def _typed_first(q: Query, chosen: list[Cand], cands: list[Cand], best: Cand, margin: float) -> list[Cand]:
        """When the question expects a date, a quantity or a name and the best sentences hold none,
        the best sentence that does (if it is nearly as good) leads the answer."""
        # The answerability check reads the best sentence for who/where, the best two for dates and
        # quantities (answerability.type_ok); the same sentences are looked at here.
        lead = chosen[: 1 if q.expect in NAMED_KINDS else 2]
        if not q.expect or q.expect == "count" or any(c.f.get("type") for c in lead):
            return chosen
        # A date asked of a speech the question names is its excerpt's date, however the excerpt's
        # sentences score against the question's other words.
        typed = next(
            (
                c
                for c in cands
                if c.f.get("type")
                and (
                    c.score >= (1 - margin) * best.score
                    or (q.expect in ("day", "month", "year") and q.occasions and q.matches_occasion(c.passage.metadata))
                )
            ),
            None,
        )
        if typed is None:
            return chosen
        typed.score = max(typed.score, best.score + 1e-6)  # the answerability check reads the best sentences
        return [typed] + [c for c in chosen if c.text != typed.text][: max(len(chosen) - 1, 1)]

    # -- plain answers ----------------------------------------------------------------------
    @staticmethod
    def _top(cands: list[Cand], best: Cand, limit: int, margin: float) -> list[Cand]:
        chosen: list[Cand] = []
        seen: set[str] = set()
        floor = best.score - margin * abs(best.score)
        for c in cands:
            if c.score < floor or len(chosen) >= limit:
                break
            if c.text not in seen:
                seen.add(c.text)
                chosen.append(c)
        return chosen

    def _explain(self, chosen: list[Cand], cands: list[Cand], premise: bool = False, item: bool = False) -> list[Cand]:
        """An item that is only a heading ("二是赋能效应。") comes with the sentences after it in
        its paragraph, which say what it means; so does a sentence a why-question restates as its
        premise ("为什么说发展银发经济是扩大内需的重要举措" -> what the text says after that sentence).
        ``item``: the question asks what one item says ("第三条具体讲的是什么"): however long its
        heading, it comes with what follows in its paragraph, up to the list's next item (an
        explanation may be a list of its own, "首先…其次…") or a sentence announcing another list."""
        best = chosen[0]
        if item:
            fam = ordinal_family(best.text)
            return self._read_on(
                chosen, _ITEM_READ, lambda sent, opens: not opens and ordinal_family(sent) != fam and not _announce().search(sent)
            )
        if not (_heading(best) or premise):
            return chosen
        if premise and best.text.startswith(tuple(vocabulary()["conclusion_starts"])):
            return self._reasons_before(best) + chosen[1:]  # "由此可见，…": the reasons come before it
        # The sentences after it in its paragraph, read across passage boundaries (an item that ends
        # one passage is explained at the start of the next), up to three; a heading item's
        # explanation ends at the next item, a premise's may be a list.
        return self._read_on(chosen, 3, lambda sent, opens: not (opens or (not premise and ordinal_family(sent))))

    def _opened_list(self, chosen: list[Cand]) -> list[Cand]:
        """A best sentence that opens a numbered list after a colon ("其核心特征在于“融合”：一是技术融合，
        …；") comes with the list's other items, the sentences after it in its section that go on
        in the same numbering ("二是…", "三是…")."""
        item = _after_colon(chosen[0].text)
        fam = ordinal_family(item) if item != chosen[0].text else ""
        if not fam:
            return chosen
        return self._read_on(chosen, self.max_list_items - 1, lambda sent, opens: ordinal_family(sent) == fam, True)

    def _read_on(self, chosen: list[Cand], n: int, goes_on, ordinal: bool = False) -> list[Cand]:
        """The best chosen sentence, then up to ``n`` sentences after it in its section while
        ``goes_on(sentence, opens_a_paragraph)`` (never an injected one), then the other chosen."""
        best = chosen[0]
        seq = self._section_sentences(best.passage.metadata)
        at = _at(seq, best)
        follow = []
        for sent, p, pos, opens in seq[at + 1 : at + 1 + n] if at >= 0 else []:
            if is_injection(sent) or not goes_on(sent, opens):
                break
            follow.append(Cand(sent, p, pos, ordinal, dict(best.f), best.score))
        have = {c.text for c in chosen}
        return [best] + [c for c in follow if c.text not in have] + chosen[1:]

    @staticmethod
    def _within(q: Query, chosen: list[Cand]) -> list[Cand]:
        """The chosen sentences that keep to what the question names: the named articles' own (when
        any of them is chosen), and none that states only other years than the one asked about
        ("2024年…是多少" is not answered by a 2022 figure beside it)."""
        out = chosen
        if q.articles and any(q.matches(c.passage.metadata) for c in out):
            out = [c for c in out if q.matches(c.passage.metadata)]
        if q.years:
            asked = {int(y) for y in q.years}
            kept = [c for c in out if not (ys := _years(c.text) | _speech_year(c.passage)) or asked & ys]
            out = kept or out
        return out

    def _with_partners(self, chosen: list[Cand]) -> list[Cand]:
        """A quoted "一方面，…" brings its "另一方面，…" (and the other way round): the next (or previous)
        sentence of its section opening with the partner word (data/query.yaml ``paired_starts``)."""
        have = {c.text for c in chosen}
        out = list(chosen)
        for c in chosen:
            for first, second in vocabulary()["paired_starts"]:
                if c.text.startswith(second):
                    want, step = first, -1
                elif c.text.startswith(first):
                    want, step = second, 1
                else:
                    continue
                seq = self._section_sentences(c.passage.metadata)
                at = _at(seq, c)
                rng = range(at + 1, min(at + 8, len(seq))) if step > 0 else range(at - 1, max(at - 8, -1), -1)
                hit = next((seq[i] for i in rng if at >= 0 and seq[i][0].startswith(want)), None)
                if hit and hit[0] not in have:
                    have.add(hit[0])
                    out.append(Cand(hit[0], hit[1], hit[2], False, dict(c.f), c.score))
        return out

    def _cause_follows(self, best: Cand) -> bool:
        """The sentence after ``best`` in its section gives its cause ("这一方面是因为…", data
        ``cause_starts``): a why-question about ``best`` is answered by what follows it."""
        seq = self._section_sentences(best.passage.metadata)
        at = _at(seq, best)
        return 0 <= at < len(seq) - 1 and seq[at + 1][0].startswith(tuple(vocabulary()["cause_starts"]))

    def _reasons_before(self, best: Cand, n: int = 4) -> list[Cand]:
        """A conclusion with the sentences it is drawn from: up to ``n`` before it in its section,
        back to the start of their paragraph."""
        seq = self._section_sentences(best.passage.metadata)
        at = _at(seq, best)
        if at <= 0:
            return [best]
        start = max(at - n, 0)
        opener = max((i for i in range(start, at) if seq[i][3]), default=start)
        return [Cand(x[0], x[1], x[2], False, dict(best.f), best.score) for x in seq[opener:at]] + [best]

    @staticmethod
    def _in_source_order(chosen: list[Cand]) -> list[Cand]:
        """The best passage's sentences together and in source order; then the others."""
        first: dict[str, int] = {}
        for rank, c in enumerate(chosen):
            first.setdefault(c.passage.id, rank)
        return sorted(chosen, key=lambda c: (first[c.passage.id], c.pos))

    # -- comparisons and occasions --------------------------------------------------------
    def _sides(self, query: str, q: Query, cands: list[Cand]) -> list[Cand]:
        """Each named article's best sentences, side by side. Within a side every sentence belongs to
        the named authors, so their names decide nothing: the sentences are scored for the question
        without them ("陈星星、田贻萱和王一鸣分别怎么说" -> what is asked of each). A side's best
        sentence that is only a heading ("①超大规模市场优势。") comes with what explains it."""
        from .candidates import build

        bare = q.bare(query)
        out: list[Cand] = []
        for art in q.articles:
            passages = list({c.passage.id: c.passage for c in cands if _is(c.passage, art)}.values())
            mine = build(bare, q, passages, self.retriever, self.weights) if passages else []
            if not mine:
                continue
            best = mine[0]
            chosen = self._explain(self._top(mine, best, 2, self.margins["answer"]), mine)
            out += self._in_source_order(chosen[: 2 if not _heading(best) else 3])
        return out or cands[:1]

    def _members(self, query: str, q: Query, cands: list[Cand]) -> list[Cand]:
        """One sentence per member of the coordination the question asks about, each chosen by the
        same sentence model for the question asked of that member alone ("数字技术、网络技术和新
        能源技术分别遵循什么规律" -> "数字技术分别遵循什么规律", ...)."""
        from .candidates import build

        text = re.sub(r"\s+", "", query)
        start, end = text.find(q.sides[0]), text.rfind(q.sides[-1])
        if start < 0 or end < start:
            return []
        end += len(q.sides[-1])
        passages = list({c.passage.id: c.passage for c in cands}.values())
        out: list[Cand] = []
        for side in q.sides:
            sub = text[:start] + side + text[end:]
            pick = next(
                (c for c in build(sub, q, passages, self.retriever, self.weights) if all(c.text != o.text for o in out)), None
            )
            if pick is not None:
                out.append(pick)
        return out if len(out) >= 2 else []

    def _occasions(self, cands: list[Cand]) -> list[Cand]:
        """One sentence per speech excerpt (its attribution is appended when rendered)."""
        best = cands[0]
        out: list[Cand] = []
        seen: set[str] = set()
        for c in cands:
            if c.score < best.score - self.margins["occasion"] * abs(best.score) or len(out) >= self.max_sentences:
                break
            key = c.passage.metadata.get("occasion") or c.passage.id
            if key not in seen:
                seen.add(key)
                out.append(c)
        return out

    # -- lists ------------------------------------------------------------------------------
    def _list(
        self, cands: list[Cand], cover, count: int = 0, members: bool = False, kind: str = "", quoted: list[str] = ()
    ) -> list[Cand]:
        """The list that answers: ``count`` items at least when the question says how many.
        ``members``: the question asks which items there are ("具体包括哪几种"), not how many.
        ``kind``: the kind of item it names ("融合"); a run of words in one sentence that does not
        name it ("由政府、核心企业、…构成") is not that list when numbered items do ("一是技术融合").
        ``quoted``: phrases the question quotes; a list under a heading that holds one
        ("“构建完善的支撑机制”包括哪几条" and "(五)构建完善的支撑机制") is the one asked for."""
        best = cands[0]
        anchors = self._list_anchors(cands)
        runner = max((c.score for c in cands if c.ordinal), default=0.0)
        tail = kind[-2:]
        if tail and any(c.ordinal and tail in c.text for c in cands):
            cands_inline = [c for c in cands if c.ordinal or any(tail in m.group() for m in _INLINE_LIST.finditer(c.text))]
        else:
            cands_inline = cands
        if (
            best in cands_inline
            and _INLINE_LIST.search(best.text)
            and not best.ordinal
            and best.score >= runner + 0.25 * abs(runner)
            and anchors
            and anchors[0].passage.id == best.passage.id
        ):
            return [best]
        top_cov = max(c.coverage for c in cands)
        ord_cov = max((c.coverage for c in cands if c.ordinal), default=0.0)
        in_anchor = {a.passage.id for a in anchors}
        enum = [
            c
            for c in cands_inline
            if not c.ordinal and c.coverage >= top_cov and c.passage.id in in_anchor and _INLINE_LIST.search(c.text)
        ]
        enum_best = max(enum, key=lambda c: c.score) if enum and top_cov >= 1.25 * ord_cov else None
        score_of: dict[str, float] = {}
        for c in cands:
            score_of.setdefault(c.text, c.score)
            score_of.setdefault(_after_colon(c.text), c.score)  # a first item inside its lead sentence
        floor = best.score - self.margins["list"] * abs(best.score)
        fallback: list[Cand] = []  # a list whose items do not name the kind asked, if no other does
        for k, anchor in enumerate(anchors):
            items = self._announced_items(anchor) or self._list_items(anchor, cands) or self._paragraph_heads(anchor)
            listed = sum(c.ordinal for c in items)
            if len(items) >= 2 and listed >= count:
                if enum_best and (k > 0 or enum_best.passage.id == anchor.passage.id):
                    break
                # A list answers only when one of its items is among the best sentences, its own
                # heading covers most of the question ("（二）未来产业的特征") or it has as many items
                # as the question asks for ("哪三点"): a numbered list about something else is not
                # the answer. A question that asks which members a set has ("具体包括哪几种融合")
                # takes a list whose items name the kind it asks for.
                if (
                    count != listed
                    and not (members and tail and any(tail in c.text for c in items))
                    and max(score_of.get(c.text, float("-inf")) for c in items) < floor
                    and cover(heading := anchor.passage.metadata.get("section", "").split(" > ")[-1])
                    < self.margins["list_heading"]
                    and not _names_heading(quoted, heading, self.margins["list_heading"])
                ):
                    continue
                if tail and not all(tail in re.split(r"[，,；;：:。]", c.text)[0] for c in items if c.ordinal):
                    # "“融合”分成哪三种": a list of three measures, one of which mentions 融合, is not
                    # the list of 技术融合, 产业融合, 主体融合 (each names the kind in its first clause)
                    fallback = fallback or items
                    continue
                return items
        return fallback or ([enum_best] if enum_best else [])

    def _one_item(self, items: list[Cand], cover) -> Cand | None:
        """The one item of a list the question is about: it covers the question's words by
        ``one_item`` more than any other item does ("…对“一带一路”有什么直接帮助" and "最后，发展未来产业
        将直接有助于推动“一带一路”建设"), so the question asks about it, not for the list."""
        listed = sorted(((cover(c.text), i) for i, c in enumerate(items) if c.ordinal), reverse=True)
        if len(listed) >= 2 and listed[0][0] - listed[1][0] >= self.margins["one_item"]:
            return items[listed[0][1]]
        return None

    @staticmethod
    def _list_anchors(cands: list[Cand]) -> list[Cand]:
        """Passages whose title, section and text cover the question best, by rank: where to look for the list."""
        best_by_passage: dict[str, Cand] = {}
        for c in cands:
            if TABLE_CELL in c.text:
                continue  # a table row, read with its header, is no sign of a list
            if c.passage.id not in best_by_passage or c.score > best_by_passage[c.passage.id].score:
                best_by_passage[c.passage.id] = c
        return sorted(best_by_passage.values(), key=lambda c: (-round(c.passage.coverage, 2), -c.score))[:3]

    def _list_items(self, best: Cand, cands: list[Cand]) -> list[Cand]:
        """The numbered items of the best-scoring list, read from its whole section in source order."""
        meta = best.passage.metadata
        by_id = {c.passage.id: c.passage for c in cands}
        items: list[Cand] = []
        led: list[Cand] = []  # first items introduced inside their lead sentence, in the answering passage
        for p in self.section(meta.get("source"), meta.get("section")):
            p = by_id.get(p.id, p)
            for pos, whole in enumerate(split_sentences(p.text)):
                sent = _after_colon(whole.strip())
                if ordinal_family(sent) and not is_injection(sent):
                    items.append(Cand(sent, p, pos, True, dict(best.f), best.score))
                    if sent != whole.strip() and p.id == best.passage.id:
                        led.append(items[-1])
        if len(items) < 2:
            return []
        # The outermost list starts first and nested lists stay out; but a list the answering
        # passage introduces in a lead sentence ("主要表现为：①风险不匹配…") is the one asked about,
        # whatever list came earlier in the section ("第一次…第二次…").
        fam = ordinal_family((led or items)[0].text)
        seen: set[str] = set()
        items = [c for c in items if ordinal_family(c.text) == fam and not (c.text in seen or seen.add(c.text))]
        # A section may hold two series of one kind ("一是处于萌芽初期…三是…" and, later, "一是在技术与
        # 产业演化的基础上阐释…"): a series starts again at its first item. The one read is the series
        # holding the answering sentence, else one with an item in its passage, else the first.
        runs: list[list[Cand]] = []
        for c in items:
            if not runs or opens_series(c.text):
                runs.append([])
            runs[-1].append(c)
        items = next(
            (r for r in runs if any(c.text == best.text for c in r)),
            next((r for r in runs if any(c.passage.id == best.passage.id for c in r)), runs[0] if runs else []),
        )
        if len(items) < 2:
            return []
        items = items[: self.max_list_items]
        lead = [
            c
            for c in cands
            if not c.ordinal
            and c.passage.id == items[0].passage.id
            and c.pos < items[0].pos
            and c.score >= best.score - self.margins["list_lead"] * abs(best.score)
        ]
        return lead[:1] + items

    def _announced_items(self, anchor: Cand) -> list[Cand]:
        """A list announced with its count ("提出以下四个基本思路。") whose items open the paragraphs that follow."""
        text = anchor.passage.text
        if not any(_announce().search(s.strip()) for s in split_sentences(text)):
            return []
        seq = self._section_sentences(anchor.passage.metadata)
        for i, (sent, p, pos, _) in enumerate(seq):
            m = _announce().search(sent)
            if not m or sent not in text:
                continue
            n = cn_number(m.group(1))
            heads = [x for x in seq[i + 1 :] if x[3]][:n]
            if len(heads) == n and all(len(h[0]) <= 60 for h in heads):
                return [Cand(sent, p, pos, False, dict(anchor.f), anchor.score)] + [
                    Cand(h[0], h[1], h[2], True, dict(anchor.f), anchor.score) for h in heads
                ]
        return []

    def _paragraph_heads(self, anchor: Cand) -> list[Cand]:
        """A list whose items are unnumbered paragraph heads: three or more sentences of the section
        are short headings ("大力培育创新引领型企业。" followed by what it means), most of them
        opening a paragraph (a page break in the source may have joined one to the paragraph
        before), and the passage that answers holds one of them."""
        seq = self._section_sentences(anchor.passage.metadata)
        heads = [x for x in seq if _HEAD.fullmatch(x[0])]
        if len(heads) < 3 or not _mostly_opening(heads) or not any(h[0] in anchor.passage.text for h in heads):
            return []
        return [Cand(h[0], h[1], h[2], True, dict(anchor.f), anchor.score) for h in heads[: self.max_list_items]]

    def _parallel(self, chosen: list[Cand], query: str) -> list[Cand]:
        """Statements in parallel (排比): three or more sentences of a section, most of them opening a
        paragraph, open with the same words
        ("发展银发经济是满足…的现实要求。" / "…是积极应对…的客观要求。" / "…是实施扩大内需战略的重要
        举措。"). When the best sentence and another of the best open that way too, the whole set is
        the answer, in source order (of several such sets, the one the best sentences weigh most for). Not when the
        question names what one of them says apart from the others ("“新产业载体”特征" asks about
        that one)."""
        best_group, best_weight = [], 0.0
        for c in chosen:
            seq = self._section_sentences(c.passage.metadata)
            group = [x for x in seq if _shared_start(x[0], c.text) >= _PARALLEL_START]
            if len(group) < 3 or not _mostly_opening(group):
                continue
            alike = [o for o in chosen if _shared_start(o.text, c.text) >= _PARALLEL_START]  # the best that open so too
            weight = sum(o.score for o in alike)
            if len(alike) >= 2 and chosen[0] in alike and weight > best_weight:
                best_group, best_weight = group, weight
        if not best_group:
            return []
        start = min(_shared_start(x[0], best_group[0][0]) for x in best_group)
        asked = set(tokenize(query)) - set(tokenize(best_group[0][0][:start]))  # what they share is not naming one
        own = [set(tokenize(x[0][start:])) for x in best_group]
        common = set.intersection(*own)  # words every statement ends with ("…的重要举措", "…特征")
        if any(asked & (words - common) for words in own):
            return []
        base = chosen[0]
        return [Cand(x[0], x[1], x[2], False, dict(base.f), base.score) for x in best_group[: self.max_list_items]]

    def _section_sentences(self, meta: dict) -> list[tuple[str, Passage, int, bool]]:
        """The sentences of a section in source order, once each (consecutive chunks overlap), as
        (sentence, passage, position, opens a paragraph); the position is the one candidate
        sentences have (their index among the passage's quotable sentences) where there is one."""
        cache = self._snapshot()[2]
        key = (meta.get("source"), meta.get("section"))
        if key not in cache:
            cache[key] = self._read_section(*key)
        return cache[key]

    def _read_section(self, source: str, section: str) -> list[tuple[str, Passage, int, bool]]:
        seq: list[tuple[str, Passage, int, bool]] = []
        seen: list[str] = []
        for p in self.section(source, section):
            pos = 0
            at = {x: i for i, x in reversed(list(enumerate(index_sentences(p.text))))}
            for k, para in enumerate(p.text.split("\n")):
                for j, sent in enumerate(split_sentences(para)):
                    sent = sent.strip()
                    if not sent or is_injection(sent):
                        continue
                    pos += 1
                    if sent in seen[-8:]:
                        continue  # the overlap between consecutive chunks
                    seq.append((sent, p, at.get(sent, pos), j == 0 and (k > 0 or len(sent) <= 40)))
                    seen.append(sent)
        return seq

    def _snapshot(self) -> tuple:
        """(chunks, {(source, section): rows in order}, {(source, section): its sentences}) for the
        current snapshot of the chunks, built once per snapshot (several rules read sections for
        every question; a snapshot never changes)."""
        index = self.retriever.chunks
        built = self._sections
        if built is None or built[0] is not index:
            table: dict[tuple, list[int]] = {}
            for i, m in enumerate(index.metas):
                table.setdefault((m.get("source"), m.get("section")), []).append(i)
            for rows in table.values():
                rows.sort(key=lambda i: index.metas[i].get("order", 0))
            built = self._sections = (index, table, {})
        return built

    def section(self, source: str, section: str) -> list[Passage]:
        """The chunks of one section in order (at most 40)."""
        index, table, _ = self._snapshot()
        return [Passage(index.ids[i], index.texts[i], index.metas[i]) for i in table.get((source, section), [])[:40]]

    def _outline(self, cands: list[Cand], cover) -> list[Cand]:
        """A list question answered by the numbered sub-headings of a section ("二、“十五五”时期未来
        产业发展重点" > （一）量子科技 … （六）第六代移动通信): when the retrieved passages lie under
        such a section and its own heading covers the question better than any one sub-heading
        does. The headings are quoted from the section's outline card (cited to the section)."""
        best: tuple[float, Passage, list[str], str] | None = None
        seen: set[tuple] = set()
        for c in cands:
            meta = c.passage.metadata
            sec = meta.get("section") or ""
            # the passage's own section, or the one it is a sub-section of
            for parent in [sec] + ([sec.rsplit(" > ", 1)[0]] if " > " in sec else []):
                key = (meta.get("source"), meta.get("title"), parent)
                if not parent or key in seen:
                    continue
                seen.add(key)
                heads = self._sub_headings(*key)
                if len(heads) < 3 or not all(ordinal_family(h) for h in heads):
                    continue
                own = cover(parent.split(" > ")[-1])
                if own >= self.margins["list_heading"] and own > max(cover(h) for h in heads) and (best is None or own > best[0]):
                    best = (own, c.passage, heads, parent)
        if best is None:
            return []
        _, p, heads, section = best
        card = Passage(
            f"outline:{p.metadata.get('source')}:{p.metadata.get('title')}:{section}",
            "\n".join(heads),
            {**{k: v for k, v in p.metadata.items() if k not in ("page", "order", "n_tokens")}, "section": section},
            score=p.score,
            rank=p.rank,
        )
        base = cands[0]
        return [Cand(h, card, i, True, dict(base.f), base.score) for i, h in enumerate(heads[: self.max_list_items])]

    def _sub_headings(self, source: str, title: str, parent: str) -> list[str]:
        """The headings of a section's sub-sections, in order."""
        index, table, _ = self._snapshot()
        first: dict[str, int] = {}
        for (src, sec), rows in table.items():
            if src == source and (sec or "").startswith(parent + " > ") and index.metas[rows[0]].get("title") == title:
                child = sec[len(parent) + 3 :].split(" > ")[0]
                first[child] = min(first.get(child, 1 << 30), index.metas[rows[0]].get("order", 0))
        return sorted(first, key=first.get)

    # -- metadata questions -----------------------------------------------------------------
    def card(self, art: Article) -> Passage:
        """The catalog card of an article: title, authors, outlet and date, its byline (authors
        with their posts) and its own provenance line ("（选自《党建》杂志2025年第11期，作者系…）")
        when it has them."""
        # The sentences written from the catalog say so ("据资料目录，…"): a reader does not take them
        # for the article's own words, which the card quotes after them (byline, provenance line).
        lines = [f"据资料目录，《{art.title}》的作者是{'、'.join(art.authors)}。" if art.authors else ""]
        if art.outlet or art.date:
            lines.append(
                f"据资料目录，《{art.title}》"
                + (f"刊载于{art.outlet}" if art.outlet else "")
                + (f"，日期为{_cn_date(art.date)}" if art.date else "")
                + "。"
            )
        markers = vocabulary()["byline_markers"]
        index = self.retriever.chunks
        for i, m in enumerate(index.metas):
            if m.get("source") == art.source and m.get("title") == art.title:
                if m.get("byline") and m["byline"] not in lines:
                    lines.append(m["byline"])  # the authors with their posts, from the article's head
                for s in split_sentences(index.texts[i]):
                    s = s.strip()
                    if any(k in s for k in markers) and len(s) <= 120 and s not in lines:
                        lines.append(s)
        text = "\n".join(x for x in lines if x)
        meta = {
            "source": art.source,
            "title": art.title,
            "authors": "、".join(art.authors),
            "section": "文献信息",
            "date": art.date,
            "outlet": art.outlet,
        }
        return Passage(card_id(art), text, meta, score=1.0, rank=1)


def card_id(art: Article) -> str:
    """The id of an article's catalog card (a passage no search returns)."""
    return f"card:{art.source}:{art.title}"


@lru_cache(maxsize=1)
def _announce() -> re.Pattern:
    """A sentence announcing a list with its count (data/query.yaml patterns.announce_re)."""
    return re.compile(vocabulary()["patterns"]["announce_re"])


def _at(seq: list[tuple], c: Cand) -> int:
    """Where a chosen sentence stands among its section's sentences (``_section_sentences``), -1 if
    nowhere: under its own passage, else under the other of two overlapping passages that share it
    (the section lists it once, under the first)."""
    at = next((i for i, x in enumerate(seq) if x[0] == c.text and x[1].id == c.passage.id), -1)
    return at if at >= 0 else next((i for i, x in enumerate(seq) if x[0] == c.text), -1)


def _whole_sentences(chosen: list[Cand], listing: bool = False) -> list[Cand]:
    """Two or more chosen clauses of one sentence ("…不匹配；…问题；") bring the one clause they leave
    out ("资本市场包容性不足、缺乏耐心资本。"): a sentence quoted but for one of its clauses reads as if
    it ended there. (From a longer series, "①…；②…；③…；④…", the clauses asked about are kept.)
    ``listing``: the question asks for a list, which a sentence of parallel clauses joined by ； is
    ("…它离不开基础研究；离不开…；离不开…。": after its first, every clause opens with the same word,
    which the first holds): its first clause chosen alone brings the rest. (A later clause chosen
    alone is what the question asks about, "更加注重人海和谐"; clauses on different subjects,
    "美国…；日本…；欧盟…", are not one list.) A first clause that names its subject's parts
    ("…“9+6”未来产业，即…9个…；") brings the rest of a short sentence, whatever the question."""
    out = list(chosen)
    have = {(c.passage.id, c.text) for c in chosen}
    for pid in dict.fromkeys(c.passage.id for c in chosen):
        passage = next(c.passage for c in chosen if c.passage.id == pid)
        clauses = index_sentences(passage.text)
        spans, start = [], 0  # [start, end) of each sentence, as runs of clauses
        for i, x in enumerate(clauses):
            if not x.endswith(("；", ";")):
                spans.append((start, i + 1))
                start = i + 1
        if start < len(clauses):
            spans.append((start, len(clauses)))
        for a, b in spans:
            picked = [i for i in range(a, b) if (pid, clauses[i]) in have]
            # one clause left out (not a pick from a long series), or a list asked for
            if (
                (len(picked) >= 2 and (b - a) - len(picked) == 1)
                or (listing and picked == [a] and _parallel_clauses(clauses[a:b]))
                or (picked == [a] and 2 <= b - a <= _NAMELY_READ and _names_its_parts(clauses[a]))
            ):
                base = next(c for c in chosen if c.passage.id == pid and c.text == clauses[picked[0]])
                for i in range(a, b):
                    if (pid, clauses[i]) not in have and not is_injection(clauses[i]):
                        have.add((pid, clauses[i]))
                        out.append(Cand(clauses[i], passage, i, ordinal(clauses[i]), dict(base.f), base.score))
    return out


_NAMELY_READ = 4  # clauses of a sentence read after one that names its parts ("，即…；")


def _names_its_parts(clause: str) -> bool:
    """Does the clause go on to name the parts of what it speaks of ("…“9+6”未来产业，即大力发展…9个…；"),
    so that the clauses after it in its sentence are the rest (data ``namely_markers``)?"""
    return clause.endswith(("；", ";")) and any(m in clause for m in vocabulary()["namely_markers"])


def _parallel_clauses(clauses: list[str]) -> bool:
    """Do the clauses after the first open with one two-character (Chinese) word, which the first
    clause holds ("…它离不开基础研究；离不开…；离不开…")?"""
    rest = clauses[1:]
    head = rest[0][:2] if rest else ""
    return (
        len(rest) >= 2
        and re.fullmatch(r"[\u4e00-\u9fff]{2}", head) is not None
        and all(c.startswith(head) for c in rest)
        and head in clauses[0]
    )


def _singular(question: str) -> bool:
    """The question's list cues are only ones that may ask about one thing ("有什么帮助", not "有哪些举措")."""
    voc = vocabulary()
    plural = [c for c in voc["types"]["list"] if c not in voc["singular_list_cues"]]
    return not any(c in question for c in plural)


def _mostly_opening(sentences: list[tuple]) -> bool:
    """Most of these section sentences open a paragraph (a page break in the source may have joined
    one of a set to the paragraph before)."""
    return 2 * sum(x[3] for x in sentences) > len(sentences)


_PARALLEL_START = 5  # characters a parallel statement shares with the others ("发展银发经济是")


def _shared_start(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _after_colon(sent: str) -> str:
    """The first item of a list introduced inside its lead sentence ("其核心特征在于“融合”：一是技术
    融合，…"): the part after the colon when it opens with a list marker, else the sentence."""
    for colon in "：:":
        head, sep, tail = sent.partition(colon)
        if sep and ordinal_family(tail.strip()):
            return tail.strip()
    return sent


_YEARS = re.compile(r"((?:19|20)\d{2})\s*(?:年\s*)?(?:[—–\-~至到]\s*((?:19|20)\d{2})\s*)?年")


def _speech_year(p: Passage) -> set[int]:
    """The year of a speech excerpt (its attribution's date), which its sentences do not state."""
    date = p.metadata.get("speech_date", "") if p.metadata.get("attribution") else ""
    return {int(date[:4])} if date[:4].isdigit() else set()


def _years(text: str) -> set[int]:
    """Every year a sentence states, a range ("2012—2024年") standing for the years in it."""
    out: set[int] = set()
    for a, b in _YEARS.findall(text):
        lo, hi = int(a), int(b or a)
        out.update(range(lo, hi + 1) if 0 <= hi - lo <= 50 else (lo, hi))
    return out


def _restates(sentence: str, question: str) -> bool:
    """Does the question restate the sentence, or its main (last) clause ("由此可见，…，金融体系需要进行
    适应性调整")? Most of its character pairs are in the question."""

    def said(text: str) -> bool:
        pairs = {text[i : i + 2] for i in range(len(text) - 1) if not re.search(r"[，。；：、“”！？]", text[i : i + 2])}
        return len(pairs) >= 3 and sum(p in question for p in pairs) >= 0.6 * len(pairs)

    return said(sentence) or said(re.split(r"[，,；;：:]", sentence.rstrip("。！？"))[-1])


_ITEM_READ = 4  # sentences read after an item whose content is asked for


def _heading(c: Cand) -> bool:
    """A list item that is only a heading ("二是赋能效应。"), or a short sentence that ends by naming
    something in quotes ("重点是“一硬一软”。"): what it means is in the sentences after it."""
    if c.ordinal:
        return len(c.text) <= 30
    return bool(_NAMES_A_TERM.fullmatch(re.split(r"[，,；;：:]", c.text)[-1]))


_NAMES_A_TERM = re.compile(r"[^“”]{0,6}“[^“”]{1,12}”[。！]?")  # a last clause "重点是“一硬一软”。"


def _is(p: Passage, art: Article) -> bool:
    return p.metadata.get("source") == art.source and p.metadata.get("title") == art.title


def _cn_date(date: str) -> str:
    parts = [int(x) for x in re.findall(r"\d+", date)]
    return "".join(f"{v}{u}" for v, u in zip(parts, "年月日", strict=False))


def render(question: str, query: str, chosen: list[Cand], passages: list[Passage], confidence: float) -> Answer:
    """The answer text with one [n] per passage, and its citations (the exact quoted sentences)."""
    numbers: dict[str, int] = {}
    quotes: dict[str, list[str]] = {}
    parts: list[str] = []
    is_list = sum(c.ordinal for c in chosen) >= 2
    last = {c.passage.id: c for c in chosen}
    for c in chosen:
        n = numbers.setdefault(c.passage.id, len(numbers) + 1)
        quotes.setdefault(c.passage.id, [])
        text = c.text
        attribution = c.passage.metadata.get("attribution", "")
        quotes[c.passage.id].append(c.text)
        if attribution and attribution not in quotes[c.passage.id] and c is last[c.passage.id]:
            text = f"{text}{attribution}"
            quotes[c.passage.id].append(attribution)
        parts.append(f"- {text}[{n}]" if is_list and c.ordinal else f"{text}[{n}]")
    if not is_list:  # a table's rows each on a line of their own, as in the table
        parts = [f"\n{x}\n" if TABLE_CELL in x else x for x in parts]
    sep = "\n" if is_list else ""
    answer = re.sub(r"\n{2,}", "\n", sep.join(parts).replace("\n[", "[")).strip("\n")
    by_id = {c.passage.id: c.passage for c in chosen}
    citations = []
    for pid, n in numbers.items():
        citations.append(Citation.of(n, by_id[pid], join_quoted(by_id[pid].text, quotes[pid])))
    # Every passage the answer cites is among its contexts (a catalog card, the next chunk of a
    # section it read on into), after those the search returned: retrieval is scored on those.
    retrieved = {x.id for x in passages}
    cited = [p for p in by_id.values() if p.id not in retrieved]
    contexts = passages + [replace(p, rank=len(passages) + i, fused_only=False) for i, p in enumerate(cited, 1)]
    return Answer(question, answer, False, citations, contexts, confidence, query)


def _names_heading(quoted: list[str], heading: str, share: float) -> bool:
    """Does a quoted phrase make up ``share`` of the heading, its numbering left out ("“构建完善的支撑机制”"
    for "(五)构建完善的支撑机制"; not "“未来产业”" for "(二)未来产业的特征")? (The share a heading's
    words must cover of the question, margins ``list_heading``.)"""
    bare = re.sub(r"^[（(]?[一二三四五六七八九十\d]+[)）、.．]?\s*", "", heading)
    return any(x in bare and len(x) >= share * len(bare) for x in quoted)


def _quoted(question: str) -> list[str]:
    """The phrases of four or more characters a question quotes ("“构建完善的支撑机制”")."""
    return re.findall(r"“([^“”]{4,40})”", question)

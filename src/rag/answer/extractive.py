"""The offline extractive answerer: query analysis -> retrieval -> candidate sentences ->
composition -> answerability -> a cited answer of verbatim sentences.

Each step is its own module (query.py, candidates.py, compose.py, answerability.py); this one only
runs them in order. A question about an article itself (its author, where and when it appeared)
is answered from the article's catalog card, cited to the document.
"""

from __future__ import annotations

import time
from dataclasses import replace
from itertools import zip_longest

from ..chunking import split_sentences
from ..query import Query, analyze, asks, defines, vocabulary
from ..retrieve import Filters, Passage, Retriever, tokenize
from ..settings import Settings
from . import answerability, candidates
from .base import REFUSAL, REFUSAL_LACKING, Answer, chain_input
from .candidates import Cand
from .compose import Composer, card_id, render


class ExtractiveAnswerer:
    """Composes answers from verbatim sentences of the retrieved passages (an ``Answerer``)."""

    streams = False
    chat_model = None
    unavailable = ""

    def __init__(self, settings: Settings, retriever: Retriever, model: dict | None = None):
        self.s = settings
        self.retriever = retriever
        self.model = model or answerability.load_model(settings.answer.model_path or None)
        self.composer = Composer(
            retriever,
            settings.answer.max_sentences,
            settings.answer.max_list_items,
            self.model["sentence_weights"],
            self.model.get("compose"),
        )
        self._chain = None

    # -- the chain ------------------------------------------------------------------------
    def chain(self):
        """analyse | retrieve | compose (with answerability) as one LangChain Runnable, built once.
        It takes what the chat answerer's chain takes (``base.chain_input``: a question, or
        ``{"question": …}`` with optional ``query``, ``top_k``, ``mode``, ``filters``) and returns
        an ``Answer``; ``.invoke``/``.batch`` come from LangChain."""
        if self._chain is None:
            from langchain_core.runnables import RunnableBranch, RunnableLambda, RunnablePassthrough

            self._chain = RunnableLambda(
                lambda x: self.searched(chain_input(x, self.s.answer.max_question_chars))
            ) | RunnableBranch(
                # (several asks first: "…是从什么时候开始提出的？它有哪些特征？" is two questions)
                (lambda x: self._asks_several(x["query"]), RunnableLambda(self._several)),
                (lambda x: not x.get("filters") and self._date_order_topic(x["query"]), RunnableLambda(self._date_order)),
                RunnablePassthrough.assign(analysis=lambda x: self.analyze(x["query"]))
                | RunnablePassthrough.assign(passages=RunnableLambda(self._retrieve))
                | RunnableLambda(lambda x: self.compose(x["question"], x["passages"], x["query"], x["analysis"])),
            )
        return self._chain

    def searched(self, x: dict) -> dict:
        """The chain's input with the text to search: an abbreviation the documents define written
        after the full name the question spells out ("非同质化代币（NFT）", aliases.py)."""
        x["query"] = self.retriever.aliases.expand(x["query"])
        return x

    @staticmethod
    def _date_order_topic(query: str) -> str | None:
        from ..timeline import date_order_topic  # timeline imports this package

        return date_order_topic(query)

    def _date_order(self, x: dict) -> Answer:
        """ "……是从什么时候开始提出的 / 前后有什么变化": the dated statements, in date order."""
        from ..timeline import date_order_answer

        return date_order_answer(self, x["question"], self._date_order_topic(x["query"]))  # an answerer lends what a System would

    def _retrieve(self, x: dict) -> list[Passage]:
        return self.retrieve(x["query"], x["analysis"], x.get("top_k"), x.get("mode"), x.get("filters"))

    def retrieve(
        self, query: str, analysis: Query, top_k: int | None = None, mode: str | None = None, filters: Filters | None = None
    ) -> list[Passage]:
        """The passages an answer is composed from (the chat answerer and ``rag fit`` retrieve
        through here too): when the question names several articles, enough of them for each
        article's passages to be among them."""
        if len(analysis.articles) > 1:
            top_k = max(top_k or self.s.retrieval.top_k, 10 * len(analysis.articles))
        with self.retriever.pinned():
            passages = self.retriever.retrieve(query, top_k, mode, filters, analysis, keep_fused=True)
            return self._catalog_first(analysis, self._definition_first(analysis, passages, filters), filters)

    def _catalog_first(self, q: Query, passages: list[Passage], filters: Filters | None) -> list[Passage]:
        """A question about a named article itself ("《…》的作者是谁？在什么单位工作？") is answered
        from the article's catalog card: linking the name retrieves the card, which leads the
        passages the search found (a chat model reads it too), when the card holds what is asked
        and the filters admit it. Their number stays the same; a card's score is the best one's."""
        if not (q.about_article and passages):
            return passages
        top = max(p.score for p in passages)
        linked = [(a, replace(self.composer.card(a), score=top)) for a in q.articles[:3]]
        linked = [(a, c) for a, c in linked if not filters or filters.match(c.metadata)]
        if not any(self._card_answers(q, a, c) for a, c in linked):
            return passages  # the catalog does not say: the question is refused
        cards = [c for _, c in linked]
        searched = [p for p in passages if not p.fused_only]
        ordered = cards + searched[: max(len(searched) - len(cards), 0)] + [p for p in passages if p.fused_only]
        return [replace(p, rank=k) for k, p in enumerate(ordered, 1)]

    def _definition_first(self, q: Query, passages: list[Passage], filters: Filters | None) -> list[Passage]:
        """For "陈星星、田贻萱是如何界定未来产业的": when a definition question names its articles, the
        passage of theirs that defines the subject ("未来产业是由…") leads, wherever the search
        ranked it (the question's other words, 界定/怎样, are not in it)."""
        if not (q.subject and q.articles):
            return passages
        index = self.retriever.chunks
        filters = filters or Filters()
        rows = [
            row
            for row, (text, meta) in enumerate(zip(index.texts, index.metas, strict=False))
            if q.matches(meta)
            and filters.match(meta)
            and any(defines(q.subject, s.strip(), strictly=True) for s in split_sentences(text))
        ]
        if not rows or not passages:
            return passages
        rank = {p.id: k for k, p in enumerate(passages)}
        row = min(rows, key=lambda r: rank.get(index.ids[r], len(passages)))  # the best ranked, else the first
        # One not retrieved takes the best fused score, so the sentence model's prior (its score
        # over the best) stays as it was fitted.
        hit = next((p for p in passages if p.id == index.ids[row]), None) or Passage(
            index.ids[row], index.texts[row], index.metas[row], score=max(p.score for p in passages)
        )
        ordered = [hit] + [p for p in passages if p.id != hit.id][: len(passages) - 1]
        return [replace(p, rank=k) for k, p in enumerate(ordered, 1)]

    @property
    def settings(self) -> Settings:
        return self.s

    @property
    def offline(self) -> ExtractiveAnswerer:
        return self

    def stream(self, question: str, **kwargs):
        """No text before the answer: the Answer itself."""
        yield self.ask(question, **kwargs)

    def analyze(self, query: str) -> Query:
        return analyze(query, self.retriever.linker)

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
        query: str | None = None,
    ) -> Answer:
        """Answer one question; ``query`` (a rewritten question) is what gets searched."""
        t0 = time.perf_counter()
        with self.retriever.pinned():  # names are linked against the index that is searched
            ans = self.chain().invoke({"question": question, "query": query, "top_k": top_k, "mode": mode, "filters": filters})
        ans.latency_ms = (time.perf_counter() - t0) * 1000
        return ans

    # -- composing ------------------------------------------------------------------------
    def compose(self, question: str, passages: list[Passage], query: str | None = None, analysis: Query | None = None) -> Answer:
        query = query or question
        q = analysis or self.analyze(query)
        if q.about_article:
            return self._from_catalog(question, query, q, passages)
        chosen, d = self.select(query, q, passages)
        if not d.answerable:
            return self._refusal(question, query, q, chosen, passages, d)
        ans = render(question, query, chosen, passages, round(d.probability, 4))
        ans.features = d.features
        return ans

    @staticmethod
    def _refusal(
        question: str, query: str, q: Query, chosen: list[Cand], passages: list[Passage], d: answerability.Decision
    ) -> Answer:
        """A refusal. One for a near miss (the sentences that best answer lack what the question
        expects: a day where they give a year, a name where they name none) shows those sentences,
        cited, as related text that does not answer, with what they lack."""
        ans = Answer(question, REFUSAL, True, [], passages, round(d.probability, 4), query, why=d.why, features=d.features or {})
        if d.why == "item" and chosen:  # the list asked into is shorter: show it
            ans.related = render(question, query, chosen, passages, 0.0).citations
            ans.lacks = vocabulary()["item_lacks"].format(item=q.item, n=len(chosen))
            ans.answer = REFUSAL_LACKING.format(ans.lacks)
        elif d.why == "type" and chosen and q.expect:
            best = sorted(chosen, key=lambda c: -c.score)[:2]
            ans.related = render(question, query, best, passages, 0.0).citations
            ans.lacks = vocabulary()["expect_names"].get(q.expect, "")
            ans.answer = REFUSAL_LACKING.format(ans.lacks) if ans.lacks else REFUSAL
        return ans

    def select(
        self, query: str, q: Query, passages: list[Passage], context: str = ""
    ) -> tuple[list[Cand], answerability.Decision]:
        """The sentences that answer one ask, and whether they do (answerability, judged with the
        ``context`` of the ask when it is one of several: the question up to it)."""
        if not passages:
            return [], answerability.Decision(False, 0.0, "model", {})
        cands = candidates.build(query, q, self._pool(q, passages), self.retriever, self.model["sentence_weights"])
        # (a section heading never carries the authors or title the question links: cover what is asked)
        cover = candidates.coverage_fn(q.bare(query), self.retriever)
        chosen = self.composer.choose(query, q, cands, cover)
        if not chosen and (listed := self.composer.shorter_list(q, cands, cover)):
            return listed, answerability.Decision(False, 0.0, "item", {})  # "第四种", the text lists three
        if q.is_metadata and chosen:
            # "哪篇文章提出…？作者是谁？": the passage that says it, and its article's catalog card
            # (which names the authors: the "who" is answered there, when the catalog knows it).
            art = next(
                (
                    a
                    for a in self.retriever.linker.articles
                    if a.source == chosen[0].passage.metadata.get("source") and a.title == chosen[0].passage.metadata.get("title")
                ),
                None,
            )
            card = self.composer.card(art) if art else None
            if art is None or not self._card_answers(q, art, card):
                return [], answerability.Decision(False, 0.0, "constraint", {})
            q.expect = ""
            chosen = chosen[:2] + (
                [
                    candidates.Cand(x, card, i, False, dict(chosen[0].f), chosen[0].score)
                    for i, x in enumerate(card.text.split("\n"))
                    if x
                ]
                if card
                else []
            )
        context = context or query
        idf = candidates.idf_weights(self.retriever, list(dict.fromkeys(tokenize(context))))
        dense = self.retriever.dense_similarity(context, passages[:3])
        d = answerability.decide(
            context, q, chosen, cands, passages, self.model, idf, dense, known=self.retriever.lexicon.__contains__
        )
        return chosen, d

    # -- questions that ask several things ------------------------------------------------
    def _already(self, part: str, q: Query, found: list[Cand], chosen: list[Cand] | None) -> bool:
        """Do the sentences quoted for the whole question or the asks before answer this ask too?
        ``chosen``: its own answer, None when it has none. With one: its best sentence is among
        them ("…占全球的比例是多少？算力规模排在世界第几？": one sentence states both); for an ask about one
        item of a list, all its sentences are (the item and what explains it). Without: it
        expects a date, an amount or a name, and they hold one about what it names ("…是在哪次座谈
        会上？哪一天？": the day is the excerpt's date); a count is not taken from another list."""
        if chosen and q.item:  # "第三种具体怎么说？": the item is quoted, but what explains it may not be
            return all(any(c.text == f.text for f in found) for c in chosen)
        if chosen:  # (an answered ask always has sentences)
            return any(c.text == chosen[0].text for c in found)
        known = self.retriever.lexicon.__contains__
        about = [c for c in found if self._addresses(part, q, [c])]  # the quoted sentences about it
        return (
            q.expect not in ("", "count")
            and bool(about)
            and answerability.type_ok(q, about, known)
            and answerability.constraint_ok(part, q, about, known)
        )

    def _asks_several(self, query: str) -> bool:
        """Does the question ask more than one thing, not all of them about an article itself
        (those the catalog card answers together: "选自哪份刊物？作者是什么职务？")?"""
        parts = asks(query)
        return 1 < len(parts) <= self.s.answer.max_asks and not all(self.analyze(p).is_metadata for p in parts)

    def _several(self, x: dict) -> Answer:
        """ "《…》是哪一年印发的？它重点推进哪六大方向？": the question is answered as a whole, then each
        of its asks on its own (its type, expected answer and retrieval, read with the asks before it,
        which give its names and what "它" refers to). An ask the whole answer does not answer adds
        its own sentences; one the material does not answer is named (``Answer.unanswered``).
        Refused when no ask is answered."""
        parts = asks(x["query"])
        whole = self._one(x["query"], self.analyze(x["query"]), x)
        found = list(whole[1]) if whole[2].answerable else []
        contexts, unanswered, confidence = [whole[0]], [], [whole[2].probability] if found else []
        ordered: list[Cand] = []  # the answer, ask by ask
        for k, part in enumerate(parts):
            text = "".join(parts[: k + 1])
            q = self.analyze(text).asking(self.analyze(part))
            passages, chosen, d = self._one(text, q, x, part)
            contexts.append(passages)
            own = chosen if d.answerable else None
            if own and not self._addresses(part, q, own):
                own, d = None, answerability.Decision(False, d.probability, "model", d.features)  # about another ask
            if found and self._already(part, q, found, own):
                # its sentences quoted already stand in its place
                ordered += [c for c in found if own and any(c.text == o.text for o in own) and c not in ordered]
                continue
            if d.answerable:
                new = [c for c in chosen if all(c.text != f.text for f in found)]
                found += new
                ordered += new
                confidence.append(d.probability)
            else:
                unanswered.append(part)
        found = ordered + [c for c in found if c not in ordered]
        passages = _interleave(contexts)
        d = whole[2]
        if not found:
            return self._refusal(x["question"], x["query"], self.analyze(x["query"]), whole[1], passages, d)
        ans = render(x["question"], x["query"], found, passages, round(min(confidence), 4))
        ans.features = d.features or {}
        ans.unanswered = unanswered
        return ans

    def _addresses(self, part: str, q: Query, chosen: list[Cand]) -> bool:
        """Do sentences chosen for an ask speak of what the ask itself names, in their text or their
        section's heading? ("…银发经济？未来产业的核心特征是什么？": not sentences on 银发经济, which the
        question up to it made best.) An ask that names nothing of its own ("哪一天？", "所以要怎么
        做？") is not judged here. An ask for one item by its place ("第三种具体怎么说？") is spoken
        of by that item (one of the kind it names, when it names one: "第二项任务")."""
        if q.item and any(c.ordinal and (not q.item_kind or q.item_kind in c.text) for c in chosen):
            return True
        words = [w for w in dict.fromkeys(tokenize(q.bare(part))) if w not in vocabulary()["interrogatives"]]
        idf = candidates.idf_weights(self.retriever, words)
        hay = "".join(c.text + c.passage.metadata.get("section", "") for c in chosen).lower()
        return not idf or sum(idf.values()) == 0 or any(w in hay for w in idf)

    def _one(self, text: str, q: Query, x: dict, ask: str = "") -> tuple[list[Passage], list[Cand], answerability.Decision]:
        """One ask: its passages (searched with ``text``, the question up to it, and with the ask
        alone, which names its own topic: "…银发经济？未来产业的核心特征是什么？"), the sentences that
        answer ``ask`` itself, and whether they do (the catalog card for an ask about a named
        article itself)."""
        passages = self.retrieve(text, q, x.get("top_k"), x.get("mode"), x.get("filters"))
        if ask and ask != text:
            alone = self.retrieve(ask, q, x.get("top_k"), x.get("mode"), x.get("filters"))
            passages = _interleave([passages, alone])[: len(passages)]
        if q.about_article:  # "作者是什么职务"
            chosen = self._catalog_lines(q, passages)
            return passages, chosen, answerability.Decision(bool(chosen), float(bool(chosen)), "" if chosen else "constraint", {})
        return passages, *self.select(ask or text, q, passages, text)

    @staticmethod
    def _pool(q: Query, passages: list[Passage], n: int = 6, per: int = 3) -> list[Passage]:
        """The passages whose sentences compete: the top ``n`` of the reranked order and the top
        ``n`` by fused score (the sentence weights were fitted on fusion's order; dev key recall
        fell without them), plus the best ``per`` passages of every article the question names
        when it names several (each side of a comparison is answered from its own best passages,
        wherever the whole question ranked them)."""
        by_fused = sorted(passages, key=lambda p: -p.score)[:n]
        pool = list({p.id: p for p in passages[:n] + by_fused}.values())
        for art in q.articles if len(q.articles) > 1 else []:
            own = [p for p in passages if p.metadata.get("source") == art.source and p.metadata.get("title") == art.title]
            pool += [p for p in own[:per] if p.id not in {x.id for x in pool}]
        return pool

    @staticmethod
    def _card_answers(q: Query, art, card: Passage) -> bool:
        """Does the catalog card hold what a metadata question asks: the authors, or the outlet
        (from the catalog or the article's own provenance line)?"""
        if q.qtype == "metadata_author":
            return bool(art.authors)
        markers = vocabulary()["outlet_markers"]
        return bool(art.outlet or art.date or any(m in card.text for m in markers))

    @staticmethod
    def _catalog_lines(q: Query, passages: list[Passage]) -> list[Cand]:
        """The lines of the linked articles' catalog cards that retrieval put among the passages
        (``_catalog_first``: those the filters admit, when one of them holds what is asked)."""
        ids = {card_id(a) for a in q.articles[:3]}
        cards = [p for p in passages if p.id in ids]
        return [
            candidates.Cand(line, card, i, False, {}, 1.0)
            for card in cards
            for i, line in enumerate(card.text.split("\n"))
            if line
        ]

    def _from_catalog(self, question: str, query: str, q: Query, passages: list[Passage]) -> Answer:
        """Who wrote it, where and when it appeared: the linked articles' catalog cards."""
        chosen = self._catalog_lines(q, passages)
        if not chosen:
            return Answer(question, REFUSAL, True, [], passages, 0.0, query, why="constraint")
        return render(question, query, chosen, passages, 1.0)


def _interleave(rankings: list[list[Passage]]) -> list[Passage]:
    """The passages of several asks in one ranking: their first passages, then their second, …"""
    out: list[Passage] = []
    seen: set[str] = set()
    for row in zip_longest(*rankings):
        for p in row:
            if p is not None and p.id not in seen:
                seen.add(p.id)
                out.append(replace(p, rank=len(out) + 1))
    return out

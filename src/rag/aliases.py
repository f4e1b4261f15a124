"""Abbreviations the documents define, for questions that spell them out.

A document defines an abbreviation once ("非同质化代币（NFT）", "经济合作与发展组织（OECD）") and then
writes the abbreviation ("高达95%的NFT价值已经归零"). A question in other words spells it out
("非同质化代币市场泡沫破裂后…"), and neither BM25 nor the answer's word coverage sees the match. The
definitions are read from the index's own text; a question holding the defined full name gets the
abbreviation after it, as the documents write it, in the text that is searched.
"""

from __future__ import annotations

import re
from functools import lru_cache

# A Latin abbreviation in parentheses, and the run of Chinese characters before it (read backwards
# from the parenthesis: scanning every Chinese character as a possible start costs 1 s per 50,000 chunks).
_ABBREVIATION = re.compile(r"[（(]([A-Za-z][A-Za-z0-9&＆\-]{1,11})[)）]")
_RUN_BEFORE = re.compile(r"[\u4e00-\u9fff]{2,16}$")
# The Chinese characters before the parenthesis are the full name or end with it ("首次超过经济合作与
# 发展组织", "余家企业通过数据管理能力国家标准"): the name is what follows the run's last verb,
# preposition, numeral or pronoun (jieba's tags; the words that join a list's last item, data
# ``last_item_joiners``, join parts of a name: "经济合作与发展组织"), and at least this many
# characters. A question holds the full name when it holds all of it.
MIN_NAME = 4
_CUT_TAGS = ("v", "p", "m", "r")


class Aliases:
    """The abbreviations a set of texts defines: {full name: abbreviation}."""

    def __init__(self, texts: list[str]):
        self.defined: dict[str, str] = {}
        for text in texts:
            for m in _ABBREVIATION.finditer(text):
                run = _RUN_BEFORE.search(text, max(0, m.start() - 16), m.start())
                name = _name(run.group(0)) if run else ""
                if len(name) >= MIN_NAME:
                    self.defined.setdefault(name, m.group(1))

    def expand(self, query: str) -> str:
        """``query`` with each defined abbreviation written after the full name it holds, unless
        it already uses the abbreviation."""
        for name, abbr in self.defined.items():
            if name in query and abbr.lower() not in query.lower():
                query = query.replace(name, f"{name}（{abbr}）", 1)
        return query


@lru_cache(maxsize=4096)
def _name(run: str) -> str:
    """The full name a run of characters before a parenthesised abbreviation ends with."""
    from .lexical import pos_tagger
    from .query import vocabulary

    joiners = vocabulary()["last_item_joiners"]
    words = list(pos_tagger().cut(run))
    cut = max((i for i, (w, f) in enumerate(words[:-1]) if f.startswith(_CUT_TAGS) and w not in joiners), default=-1)
    return "".join(w for w, _ in words[cut + 1 :])

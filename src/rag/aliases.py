"""Abbreviations the documents define, for questions that spell them out.

A document defines an abbreviation once ("非同质化代币（NFT）", "经济合作与发展组织（OECD）") and then
writes the abbreviation ("高达95%的NFT价值已经归零"). A question in other words spells it out
("非同质化代币市场泡沫破裂后…"), and neither BM25 nor the answer's word coverage sees the match. The
definitions are read from the index's own text; a question holding the defined full name gets the
abbreviation after it, as the documents write it, in the text that is searched.
"""

from __future__ import annotations

import re

# A Latin abbreviation in parentheses, and the run of Chinese characters before it (read backwards
# from the parenthesis: scanning every Chinese character as a possible start costs 1 s per 50,000 chunks).
_ABBREVIATION = re.compile(r"[（(]([A-Za-z][A-Za-z0-9&＆\-]{1,11})[)）]")
_RUN_BEFORE = re.compile(r"[\u4e00-\u9fff]{2,16}$")
# The Chinese characters before the parenthesis are the full name or end with it ("首次超过经济合作与
# 发展组织"): a question holds the full name when it holds an ending of the run of at least this many
# characters. Shorter endings are common words ("标准", "发展").
MIN_NAME = 5


class Aliases:
    """The abbreviations a set of texts defines: {the characters before the parenthesis: abbreviation}."""

    def __init__(self, texts: list[str]):
        self.defined: dict[str, str] = {}
        for text in texts:
            for m in _ABBREVIATION.finditer(text):
                run = _RUN_BEFORE.search(text, max(0, m.start() - 16), m.start())
                if run:
                    self.defined.setdefault(run.group(0), m.group(1))

    def expand(self, query: str) -> str:
        """``query`` with each defined abbreviation written after the full name it holds (the
        longest ending of a defining run found in it), unless it already uses the abbreviation."""
        for run, abbr in self.defined.items():
            if abbr.lower() in query.lower():
                continue
            name = next((run[-k:] for k in range(len(run), MIN_NAME - 1, -1) if run[-k:] in query), "")
            if name:
                query = query.replace(name, f"{name}（{abbr}）", 1)
        return query

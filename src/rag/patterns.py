"""Chinese text patterns that several stages read the same way, each defined once: list-item marks
(一是 / 第一， / （一） / 1. …), dates written in Chinese (2024年5月1日), a quiz blank, and Chinese
numerals both ways ("十五" -> 15, 3 -> "三").

Patterns that only look alike are kept apart where they mean different things: a filter's date
value (rag.retrieve.check_date: 2024-05-01 typed as an option), an answer's expected date precision
(answer/candidates), numbers an evaluation metric compares (rag.metrics) and numbers an option must
share with its sentence (rag.choice).
"""

from __future__ import annotations

import re

NUMERALS = "一二三四五六七八九十"
_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}

# The head of one item of an enumeration: 一是 / 第一， / 首先…最后 / 1. (not 1.5) / （1） / ① / （一）.
ITEM_MARK = (
    r"(?:[一二三四五六七八九十]+是|第[一二三四五六七八九十]+[，,、]|首先|其次|再次|最后|"
    r"\d{1,2}[.．、]\s*(?!\d)|[（(]\d{1,2}[)）]|[①②③④⑤⑥⑦⑧⑨⑩]|[（(][一二三四五六七八九十]+[)）])"
)
ITEM_START = re.compile("^" + ITEM_MARK)

# A date written in Chinese: year, year and month, or year, month and day (groups: y, m, d).
DATE_ZH = re.compile(r"((?:19|20)\d{2})\s*年(?:\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?)?")

# The blank a quiz item writes, and the blanks a question may come with (____, ＿＿, （ ）, ( )).
BLANK = "________"
BLANK_MARK = re.compile(r"_{2,}|＿{2,}|（\s*）|\(\s*\)")


def dates_zh(text: str) -> list[str]:
    """The Chinese-written dates in ``text``, as written."""
    return [m.group(0) for m in DATE_ZH.finditer(text)]


def cn_number(text: str) -> int:
    """A count written in digits or Chinese numerals up to 99 ("8", "八", "十五", "二十"); 0 if unknown."""
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _DIGITS.get(text[1:], 0)
    if "十" in text:
        a, _, b = text.partition("十")
        return _DIGITS.get(a, 1) * 10 + _DIGITS.get(b, 0)
    return _DIGITS.get(text, 0)


def cn_numeral(i: int) -> str:
    """1..99 in Chinese numerals, as a heading counts (一, 十, 十一, 二十三)."""
    if i <= 10:
        return NUMERALS[i - 1]
    tens, ones = divmod(i, 10)
    return (NUMERALS[tens - 1] if tens > 1 else "") + "十" + (NUMERALS[ones - 1] if ones else "")

"""Text patterns defined once (src/rag/patterns.py) and read the same way by every stage."""

from __future__ import annotations

import pytest

from rag.patterns import BLANK, BLANK_MARK, DATE_ZH, ITEM_START, cn_number, cn_numeral, dates_zh


@pytest.mark.parametrize(
    "head", ["一是加强", "十一是完善", "第一，加强", "首先，", "1. 加强", "2、加强", "（1）加强", "(一)加强", "①加强"]
)
def test_item_heads(head):
    assert ITEM_START.match(head)


@pytest.mark.parametrize("text", ["1.5万亿元", "2024年", "第一次会议", "统一是", "一个"])
def test_not_item_heads(text):
    assert not ITEM_START.match(text)


def test_the_answerer_and_the_quiz_read_items_alike():
    """answer/candidates marks a list sentence and the quiz takes a short answer's points with the same marks."""
    from rag.answer.candidates import ordinal, ordinal_family
    from rag.quiz import key_points

    assert ordinal("第一，国家安全问题突出。") and ordinal_family("（一）加强") == "(一)"
    text = "第一，国家安全问题突出。第二，数据隐私保护不足。第三，伦理规则尚待建立。"
    assert key_points(text) == ["国家安全问题突出", "数据隐私保护不足", "伦理规则尚待建立"]


def test_chinese_dates():
    assert dates_zh("2020年4月1日在浙江，2024年1月与2025年") == ["2020年4月1日", "2024年1月", "2025年"]
    assert DATE_ZH.fullmatch("2024年5月") and not DATE_ZH.fullmatch("2024-05")
    assert DATE_ZH.search("2024 年 5 月 1 日").groups() == ("2024", "5", "1")  # as a question may type it


def test_blanks():
    assert BLANK_MARK.sub(BLANK, "A____B＿＿C（ ）D()") == f"A{BLANK}B{BLANK}C{BLANK}D{BLANK}"
    assert not BLANK_MARK.search("A_B（注）")


def test_numerals_both_ways():
    assert [cn_number(x) for x in ("8", "八", "十", "十五", "二十", "二十三", "两", "多")] == [8, 8, 10, 15, 20, 23, 2, 0]
    assert [cn_numeral(i) for i in (1, 4, 10, 11, 20, 23)] == ["一", "四", "十", "十一", "二十", "二十三"]
    assert all(cn_number(cn_numeral(i)) == i for i in range(1, 100))

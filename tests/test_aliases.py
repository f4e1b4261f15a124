"""Abbreviations the documents define, written after the full name a question spells out."""

from rag.aliases import Aliases


def test_a_question_spelling_out_a_defined_abbreviation_gets_it():
    a = Aliases(["区块链、人工智能、非同质化代币（NFT）等新业态", "研发投入强度首次超过经济合作与发展组织（OECD）国家平均水平"])
    assert a.expand("非同质化代币市场泡沫破裂后价值还剩多少？") == "非同质化代币（NFT）市场泡沫破裂后价值还剩多少？"
    # the characters before the parenthesis end with the full name (after 超过)
    assert a.expand("经济合作与发展组织国家的平均水平是多少") == "经济合作与发展组织（OECD）国家的平均水平是多少"
    assert a.expand("联合国贸易与发展组织") == "联合国贸易与发展组织"
    assert a.expand("NFT市场怎么样") == "NFT市场怎么样"  # already the abbreviation
    assert a.expand("什么是国家平均水平") == "什么是国家平均水平"


def test_a_short_common_ending_is_not_a_full_name():
    a = Aliases(["企业通过数据管理能力国家标准（DCMM）贯标评估", "加强环境、社会、治理（ESG）信息披露"])
    assert a.expand("国家标准有哪些？") == "国家标准有哪些？"  # four characters: a common word
    assert a.expand("公司治理怎么加强") == "公司治理怎么加强"
    assert "（DCMM）" in a.expand("数据管理能力国家标准是什么")
    # the name is what follows the run's last verb or preposition (通过), whole
    assert a.expand("网络安全能力国家标准有哪些？") == "网络安全能力国家标准有哪些？"


def test_the_answerer_searches_the_expanded_question(corpus_system):
    ans = corpus_system.answerer.ask("非同质化代币市场泡沫破裂后，有多少价值已经归零？")
    assert ans.query.startswith("非同质化代币（NFT）") and ans.question.startswith("非同质化代币市场")
    assert not ans.refused and "95%" in ans.answer, ans.answer

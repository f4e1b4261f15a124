"""Metrics on small hand-made cases, including ones where a metric must fall."""

import pytest

from rag import metrics as M

P1 = "银发经济是向老年人提供产品或服务，以及为老龄阶段做准备等一系列经济活动的总和。发展银发经济是积极应对人口老龄化的客观要求。"
P2 = "2023年，全社会研发经费投入达到3.3万亿元，占GDP比重提升至2.64%。"
P3 = "量子科技是基于量子力学原理进行计算和信息处理的技术。"


def test_containment_ignores_whitespace_punctuation_and_chunk_cuts():
    assert M.contains("前文。银发经济是 向老年人提供产品或服务。", "银发经济是向老年人提供产品或服务")
    assert M.contains("……为老龄阶段做准备等一系列经济活动", "以及为老龄阶段做准备等一系列经济活动的总和", min_ratio=0.7)
    assert not M.contains(P3, "银发经济是向老年人提供产品或服务")


def test_retrieval_scores():
    quotes = ["银发经济是向老年人提供产品或服务", "研发经费投入达到3.3万亿元"]
    s = M.retrieval_scores([P3, P1, P2], quotes)
    assert s["recall@1"] == 0.0 and s["recall@3"] == 1.0 and s["recall@5"] == 1.0
    assert s["all_evidence@5"] == 1.0
    assert s["mrr@10"] == pytest.approx(0.5)
    ideal = 1 + 1 / M.math.log2(3)
    assert s["ndcg@10"] == pytest.approx((1 / M.math.log2(3) + 1 / M.math.log2(4)) / ideal)
    assert M.retrieval_scores([P3], quotes)["recall@10"] == 0.0


def test_key_recall_and_char_f1():
    assert M.key_recall("投入达到3.3万亿元[1]，占比2.64%", ["3.3万亿元", "2.64%"]) == 1.0
    assert M.key_recall("投入很多[1]", ["3.3万亿元", "2.64%"]) == 0.0
    assert M.char_f1("银发经济[1]", "银发经济") == 1.0
    assert 0 < M.char_f1("银发经济是总和", "银发经济是向老年人提供产品的总和") < 1


def test_split_answer_assigns_markers_to_sentences():
    parts = M.split_answer("甲句。[1]乙句。丙句。[2][3]\n- 项目一[1]")
    assert parts == [("甲句。", [1]), ("乙句。", []), ("丙句。", [2, 3]), ("项目一", [1])]
    assert M.split_answer("要抓住机遇。——在浙江考察时强调（2020年4月1日）[1]") == [
        ("要抓住机遇。——在浙江考察时强调（2020年4月1日）", [1])
    ]


def test_faithful_answer_scores_one():
    ans = "银发经济是向老年人提供产品或服务，以及为老龄阶段做准备等一系列经济活动的总和。[1]2023年，全社会研发经费投入达到3.3万亿元。[2]"
    s = M.faithfulness_scores(ans, {1: P1, 2: P2})
    assert s == {"faithfulness": 1.0, "citation_recall": 1.0, "citation_precision": 1.0, "number_fidelity": 1.0}


def test_faithfulness_falls_for_a_sentence_not_in_its_source():
    ans = "银发经济是向老年人提供产品或服务。[1]银发经济将在五年内成为第一大产业。[1]"
    s = M.faithfulness_scores(ans, {1: P1})
    assert s["faithfulness"] == 0.5 and s["citation_recall"] == 0.5


def test_wrong_citation_and_missing_citation_fall():
    wrong = M.faithfulness_scores("银发经济是向老年人提供产品或服务。[2]", {1: P1, 2: P3})
    assert wrong["faithfulness"] == 0.0 and wrong["citation_precision"] == 0.0
    none = M.faithfulness_scores("银发经济是向老年人提供产品或服务。", {1: P1})
    assert none["citation_recall"] == 0.0
    dangling = M.faithfulness_scores("银发经济是向老年人提供产品或服务。[7]", {1: P1})
    assert dangling["faithfulness"] == 0.0


def test_irrelevant_extra_citation_lowers_precision_only():
    s = M.faithfulness_scores("银发经济是向老年人提供产品或服务。[1][2]", {1: P1, 2: P3})
    assert s["citation_recall"] == 1.0 and s["citation_precision"] == 0.5


def test_number_fidelity_catches_a_changed_number():
    s = M.faithfulness_scores("2023年，全社会研发经费投入达到3.8万亿元，占GDP比重提升至2.64%。[1]", {1: P2})
    assert s["number_fidelity"] == pytest.approx(2 / 3)


def test_threshold_calibration_on_labels():
    """Sentences whose first k characters come from the passage score (k-2)/10: the threshold must
    land just above the best unsupported score, and a mislabelled sentence costs accuracy."""
    passage, novel = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉", "天地玄黄宇宙洪荒日月盈昃"

    def label(k: int, supported: bool) -> dict:
        return {"sentence": passage[:k] + novel[: 12 - k], "passage": passage, "supported": supported}

    labels = [label(k, True) for k in (9, 10, 12)] + [label(k, False) for k in (4, 6, 8)]  # scores .7 .8 1 | .2 .4 .6
    assert [M.support_score(r["sentence"], passage) for r in labels] == pytest.approx([0.7, 0.8, 1.0, 0.2, 0.4, 0.6])
    assert M.calibrate_threshold(labels) == pytest.approx((0.61, 1.0))
    t, acc = M.calibrate_threshold(labels + [label(11, False)])  # unsupported yet scoring 0.9
    assert t == pytest.approx(0.61) and acc == pytest.approx(6 / 7)

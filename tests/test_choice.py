"""Multiple-choice answering: option layouts, and answers that never guess (real corpus index)."""

import pytest

from rag.choice import UNDETERMINED, adjacency, choose, is_negative, judge, judge_options, option_match, parse_options
from rag.metrics import norm


@pytest.mark.parametrize(
    "text",
    [
        "几对关系？ A. 三对 B. 四对 C. 五对 D. 六对",
        "几对关系？A.三对 B.四对 C.五对 D.六对",
        "几对关系？\nA、三对\nB、四对\nC、五对\nD、六对",
        "几对关系？（A）三对（B）四对（C）五对（D）六对",
        "几对关系？ Ａ．三对；Ｂ．四对；Ｃ．五对；Ｄ．六对",
    ],
)
def test_option_layouts(text):
    stem, options = parse_options(text)
    assert stem == "几对关系？"
    assert options == {"A": "三对", "B": "四对", "C": "五对", "D": "六对"}


def test_one_options_cell_and_no_options():
    assert parse_options("A. 三对；B. 四对；C. 五对；D. 六对")[1]["D"] == "六对"
    assert parse_options("银发经济是什么？") == ("银发经济是什么？", {})
    assert parse_options("只有 A. 一个选项")[1] == {}


def test_true_false_and_negative_stems():
    assert judge_options({"A": "对", "B": "错"}) == {"A": True, "B": False}
    assert judge_options({"A": "正确", "B": "错误"}) == {"A": True, "B": False}
    assert judge_options({"A": "三对", "B": "错"}) is None
    assert is_negative("下列不属于未来产业的是") and is_negative("下列说法错误的是") and not is_negative("下列属于未来产业的是")


def test_matching_reads_numbers_whole_and_places_the_option():
    s = norm("美国五角大楼的战略资本办公室已经将2025年的投资重心放在了15个领域")
    assert option_match("15个", s) == 1 and option_match("5个", s) == 0
    s = norm("推动东北全面振兴，根基在实体经济，关键在科技创新，方向是产业升级。")
    slot = ("振兴根基在", "")
    assert adjacency(slot, "实体经济", s) > adjacency(slot, "科技创新", s)
    assert option_match("算力规模位居世界第一", norm("算力规模位居世界第二。")) == 0  # a number differs


@pytest.mark.slow
def test_supported_option_chosen_with_text_and_confidence(corpus_system):
    r = corpus_system.retriever
    c = choose(r, "推动东北全面振兴，根基在什么？", {"A": "科技创新", "B": "产业升级", "C": "实体经济", "D": "对外开放"})
    assert c.letter == "C" and c.option == "实体经济" and 0 < c.confidence <= 1 and "根基在实体经济" in c.sentence
    c = choose(
        r,
        "下列哪一项不属于国家层面点明的未来产业重点方向？",
        {"A": "脑机接口", "B": "区块链", "C": "氢能和核聚变能", "D": "具身智能"},
    )
    assert c.letter == "B" and c.negative


@pytest.mark.slow
def test_no_supported_option_gives_undetermined_without_a_letter(corpus_system):
    c = choose(
        corpus_system.retriever, "火星基地计划在哪一年建成？", {"A": "2030年", "B": "2035年", "C": "2040年", "D": "2050年"}
    )
    assert c.letter == "" and c.option == UNDETERMINED and c.low_confidence


@pytest.mark.slow
def test_true_false_statements(corpus_system):
    r = corpus_system.retriever
    assert judge(r, "截至2023年5月1日，我国在轨卫星数量已达到628颗。").letter == "对"
    assert judge(r, "截至2023年5月1日，我国在轨卫星数量已达到528颗。").letter == "错"
    assert judge(r, "中国空间站的宇航员每天锻炼三小时。").letter == ""
    c = choose(r, "我国5G基站总数占全球60%以上。（ ）", {"A": "对", "B": "错"})
    assert c.letter == "A" and c.option == "对"


@pytest.mark.slow
def test_mc_set_targets_on_test_split(corpus_system):
    from rag.mc_eval import evaluate_mc, load_items

    mc = corpus_system.settings.evals / "mc.jsonl"  # the project's evals/, from its settings
    items = load_items(mc, split="all")
    assert len(items) >= 60
    assert sum(it["kind"] == "negative" for it in items) / len(items) >= 0.18
    letters = [it["answer"] for it in items]
    assert max(letters.count(x) for x in "ABCD") - min(letters.count(x) for x in "ABCD") <= 2
    summary, rows = evaluate_mc(corpus_system.retriever, "test", mc)
    assert summary["accuracy"] >= 0.90 and summary["abstention"] <= 0.10, summary
    assert all(r["confidence"] >= 0.2 for r in rows if r["choice"])  # nothing answered below its threshold


def test_a_swapped_term_is_found():
    from rag.choice import swapped_term

    a = norm("脑机接口以生物体能进行大规模物质加工与转化，生成从医药研发到材料合成的新供给体系。")
    b = norm("生物制造以生物体能进行大规模物质加工与转化,生成从医药研发到材料合成的新供给体系。")
    assert swapped_term(a, b) == ("脑机接口", "生物制造")
    assert (
        swapped_term(norm("我国5G基站总数占全球60%以上"), norm("其次，我国数字基础设施建设全球领先，5G基站总数占全球 60%以上。"))
        is None
    )

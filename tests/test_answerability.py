"""The answer-type check over sentences built here: near misses are refused, answers pass."""

from rag.answer.answerability import _found, _straddles, constraint_ok, items_in, named, type_ok
from rag.answer.candidates import Cand, holds
from rag.query import analyze, speaks_of
from rag.retrieve import Passage


def _cands(*sentences: str, meta: dict | None = None) -> list[Cand]:
    p = Passage("p1", "".join(sentences), meta or {})
    return [Cand(s, p, i, s[:2] in ("一是", "二是", "三是"), {}) for i, s in enumerate(sentences)]


def test_date_precision():
    day = analyze("这次采访具体是在几月几日？")
    assert not type_ok(day, _cands("2025年11月初，他在接受采访时说，中国将赢得竞赛。"))
    assert type_ok(day, _cands("2025年11月5日，他在接受采访时说，中国将赢得竞赛。"))
    year = analyze("这项改革是从哪一年开始实施的？")
    assert not type_ok(year, _cands("改革稳步推进，成效明显。"))
    assert type_ok(year, _cands("改革自2025年起实施。"))
    # A speech excerpt's date is in its attribution line.
    meta = {"attribution": "——在浙江考察时强调（2020年4月1日）", "speech_date": "2020-04-01"}
    assert holds("day", "要抓住机遇。——在浙江考察时强调（2020年4月1日）", meta)
    # the year of a cited work: "（某某，2023）"
    assert holds("year", "这一判断早有论述（王五，2023）。") and not holds("year", "增速约为（30%）。")
    # … or after its author's name: "Alec Ross(2016)", "赵六（2021）"; not a numbered item "（2）"
    assert holds("year", "这个词最早由Alec Ross(2016)提出。") and holds("year", "赵六（2021）认为如此。")
    assert not holds("year", "有效样本企业（2000）家。") and not holds("year", "专利授权量达到（2015）件。")
    assert not holds("year", "参见第（1998）页。")


def test_amounts_persons_places():
    amount = analyze("每户补贴标准是多少元？")
    assert not type_ok(amount, _cands("对按照标准完成改造的家庭给予一定的财政补贴。"))
    assert type_ok(amount, _cands("对完成改造的家庭每户补贴3000元。"))
    assert holds("amount", "教育部支持设立了12所未来技术学院。") and holds("amount", "发布了30余个政策。")
    assert not holds("amount", "2024年，政策陆续出台。")  # a year is not an amount
    who = analyze("排名第一的科学家是谁？")
    assert not type_ok(who, _cands("榜单中，55位中国科学家入选。"))
    assert type_ok(who, _cands("榜单中排名第一的是张伟。"))
    where = analyze("先导区分别位于哪些城市？")
    assert type_ok(where, _cands("先导区设在北京和上海。"))
    # A name the question already gives is not an answer to it.
    assert not holds("place", "上海的先导区成效明显。", question="上海的先导区位于哪个城市？")


def test_organisations_named_by_their_kind():
    q = analyze("作者建议中央层面成立什么机构？")
    assert type_ok(q, _cands("中央层面应成立跨部门的未来产业战略协调机构，统筹政策资源。"))
    assert not type_ok(q, _cands("中央层面应统筹科技、产业、财政等政策资源。"))


def test_organisation_of_the_kind_asked():
    # "哪些高校": an organisation of another kind (a ministry), or a bare kind word, is no answer
    colleges = analyze("这几所研究生院分别设在哪些高校？")
    assert not type_ok(colleges, _cands("科技部支持设立了一批研究生院，培养高层次人才。"))
    assert type_ok(colleges, _cands("研究生院分别设在东华大学和南方科技学院。"))
    # a kind quoted, or far from the "哪", is not asked for
    assert analyze("报告“支持高校和实验室建设”提出后，哪个部门负责？").expect == "org"
    assert holds("org", "由科技部牵头负责。", question="报告“支持高校和实验室建设”提出后，哪个部门负责？")
    team = analyze("这台样机是哪家医院或研究团队研制的？")
    assert not type_ok(team, _cands("这台样机在上海研制成功，推动技术从实验室走向临床。"))
    assert type_ok(team, _cands("这台样机由仁和医院神经外科团队研制成功。"))
    assert holds("org", "华为和中兴通讯是领先企业。", question="哪家公司领先？")  # brand names need no ending
    # a longer form of a name the question gives is no answer ("中共中央政治局" for "中央政治局")
    assert not holds("org", "中共中央政治局进行集体学习。", question="中央政治局那次学习由哪个机构组织？")


def test_a_figure_said_of_another_place_does_not_answer():
    q = analyze("西湖市给新兴产业定下的2030年营收目标是多少亿元？")
    assert not type_ok(q, _cands("东湖市提出，力争2030年新兴产业营收达到500亿元。"))
    assert type_ok(q, _cands("西湖市提出，力争2030年新兴产业营收达到800亿元。"))
    assert type_ok(q, _cands("力争2030年新兴产业营收达到800亿元。"))  # the place may be the topic before


def test_the_kind_of_person_asked_and_a_model_designation():
    expert = analyze("这次集体学习是请哪位专家来讲解的？")
    assert not type_ok(expert, _cands("这次集体学习时，王明同志发表重要讲话。"))
    assert type_ok(expert, _cands("清华大学李华教授就这个问题进行讲解。"))
    phone = analyze("文章说的这款手机是什么型号？")
    assert not type_ok(phone, _cands("华为率先把卫星通信应用到智能手机上。"))
    assert not type_ok(phone, _cands("AI手机正加速普及，5G网络覆盖全国。"))  # an acronym is no model
    assert type_ok(phone, _cands("华为Mate 60率先把卫星通信应用到智能手机上。"))


def test_who_acts_is_a_name_or_a_kind_of_actor():
    q = analyze("新兴产业的兴起主要靠谁推动？")
    assert type_ok(q, _cands("新兴产业的兴起主要靠企业一步步突破带动。"))
    assert not type_ok(q, _cands("新兴产业的兴起需要长期积累。"))
    strict = analyze("这次会议的主讲人是谁？")
    assert not type_ok(strict, _cands("这次会议由企业代表参加。"))
    # kinds of actor are whole words: 党员 is no 党, and 国家/党 are not among them
    assert not type_ok(q, _cands("新兴产业的兴起离不开党员的长期积累和国家的支持。"))


def test_a_tagger_guess_is_no_name_but_a_corpus_word_is():
    # "卡住" is tagged as a person; the corpus never uses it, so it is not a name the answer must hold.
    # "成渝" is tagged the same way, but the corpus uses it: an answer without it does not answer.
    assert "卡住" not in named("算力再往上走会被什么卡住？", known=lambda w: False)
    assert "成渝" in named("成渝区域基金由哪家机构管理？", known=lambda w: w == "成渝")
    # a place keeps its tag: a country the corpus never names ("巴西") is a near miss to ask about
    assert named("巴西的未来产业战略是什么？", known=lambda w: False) == ["巴西"]


def test_an_occasion_spoken_of_in_other_words_is_met():
    assert speaks_of("二十届中央政治局第二十四次集体学习", "1月30日，中共中央政治局进行第二十四次集体学习，主题是…")
    assert not speaks_of("二十届中央政治局第二十四次集体学习", "中央经济工作会议强调，要培育未来产业。")


def test_a_shortened_name_is_found_in_its_full_form():
    q = analyze("总书记在浦东开发区成立30周年大会上说了什么？")
    meta = {"occasion": "在浦东新开发区成立30周年庆祝大会上的讲话"}
    assert constraint_ok(q.text, q, _cands("要勇于挑最重的担子。", meta=meta))
    # (the tagger names only "浦东" there, found whole: the shortening itself is checked here)
    assert _found("深圳特区", "在深圳经济特区建立40周年庆祝大会上的讲话")
    assert not _found("北京大学", "北京的一所大学")  # words between are not a left-out middle


def test_count_of_items():
    q = analyze("九大领域中除脑机接口外，其余八个分别是什么？")
    assert not type_ok(q, _cands("围绕脑机接口等九大领域开展标准研制。"))
    assert items_in(_cands("一是甲。", "二是乙。", "三是丙。")) == 3
    assert items_in(_cands("包括甲、乙、丙、丁等。")) == 4
    # quoted phrases side by side are items too ("用4个“战略”形容其至关重要：“…”“…”“…”“…”")
    four = analyze("用哪四个“战略”来形容人工智能的重要性？")
    assert type_ok(four, _cands("“是战略问题”“是战略性技术”“是重要战略抓手”“是重要战略资源”。"))
    assert not type_ok(four, _cands("“是战略问题”“是战略性技术”。"))
    # "the fourth measure besides the three": a lead sentence and three items are not four items
    fourth = analyze("三大举措之外的第四项是什么？")
    assert not type_ok(fourth, _cands("需重点推进以下三大举措。", "一是甲。", "二是乙。", "三是丙。"))


def test_members_of_a_set_must_be_named():
    # Asked which ones, the text gives only how many there are: a near miss.
    q = analyze("文中说有15个省份提出了发展方向，具体是哪15个？")
    assert q.count == 15
    assert not type_ok(q, _cands("在规划中明确提及发展方向的有15个省份。"))
    some = analyze("这些关键技术具体是哪几项？")
    assert some.count == 2
    assert not type_ok(some, _cands("团队初步攻克了一系列关键技术。"))
    assert type_ok(some, _cands("团队攻克了高速传输、智能调度、安全防护等关键技术。"))


def test_a_year_the_question_names_must_be_answered():
    from rag.answer.answerability import constraint_ok

    q = analyze("这项专项资金在2021年以后每年安排多少？")
    assert q.years == ["2021"]
    assert not constraint_ok(q.text, q, _cands("该市于2014—2020年每年安排10亿元设立专项资金。"))
    assert constraint_ok(q.text, q, _cands("该市自2021年起每年安排12亿元设立专项资金。"))


def test_a_person_the_catalog_knows_answers_who():
    # The tagger does not know every scholar; the catalog's authors are persons.
    q = analyze("这一观点引自哪位学者？")
    q.people = ["柯遵义"]
    assert type_ok(q, _cands("只有加快前瞻布局，才能赢得先机（柯遵义，2023）。"))
    assert not type_ok(q, _cands("只有加快前瞻布局，才能赢得先机。"))


def test_members_must_be_enumerated_not_only_mentioned():
    q = analyze("这些关键技术具体是哪几项？")
    # Two sentences around the topic are not an enumeration of its members.
    assert not type_ok(q, _cands("团队初步攻克了一系列关键技术。", "这些成果得到了广泛应用。"))
    assert type_ok(q, _cands("一是高速传输技术。", "二是智能调度技术。"))


def test_cited_scholars_answer_who():
    who = analyze("这个说法最早是谁提出的？")
    assert type_ok(who, _cands("这一说法最早是由Alec Ross(2016)提出。"))
    assert type_ok(who, _cands("只有加快布局，才能赢得先机（胡拥军，2023）。"))
    assert not type_ok(who, _cands("据Global Innovation Index显示，排名上升。"))


def test_a_sentence_that_names_the_n_items_asked_and_says_so_has_them():
    from rag.answer.candidates import states_count

    assert states_count("涵盖材料、能源和信息三大领域。", 3, "领域")
    assert states_count("主要体现在甲、乙、丙、丁4个方向。", 4, "方向")
    assert not states_count("重点推进六大方向。", 6, "方向")  # says how many, names none
    assert not states_count("涵盖材料、能源和信息三大领域。", 4, "领域")  # another count
    assert not states_count("涵盖材料、能源和信息三大行业。", 3, "领域")  # another kind
    q = analyze("这项技术有哪三个领域？")
    assert type_ok(q, _cands("这项技术主要体现在材料、能源和信息3个领域。"))
    assert not type_ok(q, _cands("这项技术主要体现在材料和能源等领域。"))


def test_a_bank_asked_for_must_be_named_as_one():
    q = analyze("这只基金由哪家银行托管？")
    assert not type_ok(q, _cands("基金构建“基金公司—区域基金—子基金”3层架构。"))
    assert type_ok(q, _cands("基金由国家开发银行托管。"))


def test_a_city_asked_for_is_not_answered_by_a_region():
    q = analyze("绿氢生产基地具体建在哪个城市？")
    assert not type_ok(q, _cands("在中西部和东北地区建设绿氢生产基地。"))
    assert not type_ok(q, _cands("长三角布局了一批绿氢生产基地。"))
    assert type_ok(q, _cands("绿氢生产基地建在鄂尔多斯。"))
    assert type_ok(analyze("绿氢基地在哪个地区？"), _cands("在中西部和东北地区建设绿氢生产基地。"))


def test_provenance_lines_are_recognised():
    from rag.answer.candidates import _provenance

    assert _provenance("（选自《红旗文稿》2025年第24期，作者系中国人民大学应用经济学院院长）")
    assert _provenance("（作者系国家信息中心秘书长）")
    assert not _provenance("（一）稳中求进，推动未来产业高质量发展")


def test_a_province_named_by_its_one_character_name_among_others():
    # "北京和天津、河北在创新上怎么分工" is answered by "北京研发、津冀转化": 津冀 names both.
    assert _found("天津", "“北京研发、津冀转化”模式效应显著") and _found("河北", "以京津冀为例")
    assert _found("上海", "沪苏浙皖一体化") and _found("香港", "粤港澳大湾区")
    assert not _found("河北", "北京研发")  # no run of such names
    assert not _found("台湾", "迈上新台阶")  # 新 is not among them: "新台" is no run
    assert not _found("天津", "津贴")  # one such character alone names nothing
    assert not _found("宁夏", "辽宁的数字经济")  # a name written whole is no run


def test_a_quantity_asked_by_what_it_measures_is_stated_in_its_unit():
    # Near miss: "总金额是多少" is not answered by counts of funds and projects.
    money = analyze("首批区域基金签下的投资意向，总金额是多少？")
    assert money.expect == "amount" and "元" in money.measure_units
    assert not type_ok(money, _cands("首批三只区域基金已与49只子基金和27个直投项目签订投资意向。"))
    assert type_ok(money, _cands("首批区域基金签订投资意向金额共计1200亿元。"))
    share = analyze("企业出资在基础研究经费里所占的份额大约有多少？")
    assert not type_ok(share, _cands("企业对基础研究的投入近年来持续增长，达到2000亿元。"))
    assert type_ok(share, _cands("企业对基础研究投入的贡献度低，仅占1%左右。"))
    assert type_ok(share, _cands("企业出资约占三成。"))
    assert analyze("研发投入强度是多少？").measure_units == []  # what it measures says no unit
    assert analyze("2025年中国基础研究经费占多少？").measure_units == []  # a share of the 经费, not a sum
    assert type_ok(money, _cands("净亏损4.7亿英镑。")) and type_ok(money, _cands("总金额超过1.2万亿。"))
    from rag.answer.answerability import _states_in

    assert _states_in("约占三分之一", share.measure_units) and _states_in("占百分之三十", share.measure_units)


def test_a_few_times_in_a_question_that_asks_something_else_is_no_quantity():
    assert analyze("人工智能过去几十年几次起起落落，每次退潮的原因是什么？").expect == ""
    assert analyze("人工智能几次起落的原因是什么？").expect == ""
    # a number the rest of the question builds on is still asked for
    assert analyze("我国建了几个国家实验室，分别在哪里？").unit == "个"
    assert analyze("目前有几家企业入选，入选的标准是什么？").unit == "家"
    q = analyze("人工智能经历了几次起落？")
    assert q.expect == "amount" and q.unit == "次"


def test_a_tagger_word_cut_across_an_authors_name_is_that_author():
    # "余澳那篇" is cut "余/澳那/篇" and 澳那 tagged a place: it is 余澳, not a place to look for
    text = "余澳那篇和陈星星那篇讲得一样吗？"
    assert _straddles("澳那", "余澳", text)
    assert not _straddles("余澳", "余澳", text) and not _straddles("陈星", "陈星星", text)  # inside it
    assert not _straddles("篇和", "余澳", text)  # apart from it

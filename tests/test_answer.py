"""The extractive answerer on the real corpus: verbatim, cited, complete lists, refusals."""

import re

import pytest

from rag.answer import REFUSAL, QuestionError, check_question

# Every test that uses the corpus index (the corpus_system fixture) is marked slow by conftest.py;
# the pure ones (test_bad_questions) run in `make test-fast` too.


def _sentences(answer: str) -> list[str]:
    return [re.sub(r"^- ", "", s).strip() for s in re.split(r"\[\d+\]", answer) if s.strip()]


def test_answer_sentences_are_verbatim_from_cited_passages(corpus_system):
    ans = corpus_system.answerer.ask("什么是新质生产力")
    assert not ans.refused and ans.citations
    cited = {c.n: c.text for c in ans.citations}
    for piece, n in re.findall(r"(.+?)\[(\d+)\]", ans.answer.replace("\n", "")):
        piece = re.sub(r"^- ", "", piece)
        assert piece in cited[int(n)], piece
    for c in ans.citations:
        assert c.quote and all(q in c.text for q in re.split(r"(?<=[。！？])", c.quote) if q)


def test_list_question_gets_all_items(corpus_system):
    ans = corpus_system.answerer.ask("未来产业有哪些特征")
    for item in ("以前沿技术为支撑", "产业间的关联融合性", "应用场景的突破性", "经济社会的多维引领性"):
        assert item in ans.answer
    ans = corpus_system.answerer.ask("发展未来产业需要处理好哪几对关系")
    for item in ("一是", "二是", "三是", "四是", "五是", "六是"):
        assert item in ans.answer


def test_list_announced_with_its_count_gets_the_paragraph_heads(corpus_system):
    # "对此，提出以下四个基本思路。" followed by four paragraphs, each opened by its topic sentence.
    ans = corpus_system.answerer.ask("魏楚提出培育壮大新兴产业和未来产业的基本思路是什么？")
    lines = ans.answer.split("\n")
    assert lines[0].startswith("对此，提出以下四个基本思路。")
    assert [line.split("。")[0] for line in lines[1:]] == [
        "- 坚持有效市场和有为政府相结合",
        "- 坚持多元协同、开放融合",
        "- 坚持系统观念、统筹推进",
        "- 坚持分类施策、循序渐进",
    ]


def test_list_of_unnumbered_paragraph_heads_gets_every_head_in_order(corpus_system):
    # 胡拥军's four features are paragraphs that each open with a short heading, no numbers.
    ans = corpus_system.answerer.ask("胡拥军认为新质生产力有哪些本质特征？")
    heads = ["高质量发展", "大科创驱动", "新产业载体", "强比较优势"]
    at = [ans.answer.find(f"新质生产力具有“{h}”特征。") for h in heads]
    assert all(i >= 0 for i in at) and at == sorted(at), ans.answer
    assert ans.answer.count("\n- ") == 3  # rendered as a list of four items


def test_list_under_a_heading_that_covers_the_question_answers_it(corpus_system):
    # The section "三、奋力谱写人工智能赋能新型工业化新篇章" lists six measures as paragraph heads;
    # the question adds "提出了哪些举措", which the heading does not say.
    ans = corpus_system.answerer.ask("李乐成为奋力谱写人工智能赋能新型工业化新篇章提出了哪些举措？")
    items = [line for line in ans.answer.split("\n") if line.startswith("- ")]
    assert len(items) == 6 and items[0].startswith("- 加快关键核心技术突破。"), ans.answer


def test_list_whose_first_item_follows_a_colon_keeps_that_item(corpus_system):
    # "其核心特征在于“融合”:一是技术融合,…;二是产业融合,…;三是主体融合,…": the first item
    # opens after the colon of its lead sentence; a list read from sentence starts lost it.
    ans = corpus_system.answerer.ask("刘云、郭栋所说的融合创新生态系统，其“融合”包括哪几个方面？")
    items = [line for line in ans.answer.split("\n") if line.startswith("- ")]
    assert [x[2:6] for x in items] == ["一是技术", "二是产业", "三是主体"], ans.answer


def test_parallel_statements_are_answered_together_and_the_right_set_of_them(corpus_system):
    # 林宝's article has two sets of paragraphs in parallel (排比): "发展银发经济是…" (why) and
    # "推动银发经济发展，…" (how). A question about one set gets all of that set, not the other.
    why = corpus_system.answerer.ask("发展银发经济的意义何在？").answer
    for part in ("现实要求", "客观要求", "扩大内需战略的重要举措"):
        assert part in why, why
    assert "顶层设计" not in why
    how = corpus_system.answerer.ask("怎样推动银发经济发展？").answer
    for part in ("关键在顶层设计", "重点要从供给侧发力", "基础在于营造良好市场环境"):
        assert part in how, how
    assert "现实要求" not in how
    # The best sentence must be one of a set: "银发经济是什么" stays a definition.
    what = corpus_system.answerer.ask("银发经济是什么？").answer
    assert what.startswith("银发经济是向老年人提供产品或服务"), what
    # a set whose members share their ending ("…特征。") is still a set; one joined to the paragraph
    # before by a page break still belongs to it
    features = corpus_system.answerer.ask("胡拥军怎样描述新质生产力的本质特征？").answer
    assert all(f"新质生产力具有“{h}”特征。" in features for h in ("高质量发展", "大科创驱动", "新产业载体", "强比较优势"))


def test_why_question_restating_a_sentence_gets_what_follows_it(corpus_system):
    # "为什么说X": X is a sentence of the text (a paragraph's head); the reasons are after it.
    ans = corpus_system.answerer.ask("为什么说发展银发经济是扩大内需的重要举措？")
    assert ans.answer.startswith("发展银发经济是实施扩大内需战略的重要举措。"), ans.answer
    assert "促进消费是扩大内需的关键环节" in ans.answer, ans.answer


def test_definition_is_not_taken_for_a_set_of_parallel_statements(corpus_system):
    # 胡拥军's "新质生产力具有“…”特征。" paragraphs are parallel; a definition is one statement.
    ans = corpus_system.answerer.ask("什么是新质生产力？")
    assert ans.answer.startswith("新质生产力是由技术革命性突破"), ans.answer


def test_list_question_naming_its_authors_gets_the_list_under_its_heading(corpus_system):
    # "(二)未来产业的特征" covers what is asked once the names and "认为" are set aside.
    ans = corpus_system.answerer.ask("余澳、柯遵义认为未来产业有哪些特征？")
    items = [line for line in ans.answer.split("\n") if line.startswith("- ")]
    assert [x[2:4] for x in items] == ["1.", "2.", "3.", "4."], ans.answer


def test_why_question_restating_a_conclusion_gets_what_it_is_drawn_from(corpus_system):
    # "由此可见，…金融体系需要进行适应性调整。": the reasons (①–④) come before the conclusion.
    ans = corpus_system.answerer.ask("王一鸣为什么认为我国金融体系需要进行适应性调整？")
    for part in ("①风险不匹配", "②周期不匹配", "③资金规模不匹配", "④商业模式不匹配"):
        assert part in ans.answer, ans.answer
    assert ans.answer.rstrip("[]0123456789").endswith("金融体系需要进行适应性调整。")


def test_one_half_of_a_pair_brings_the_other_in_source_order(corpus_system):
    # "一方面，要强化政府资金耐心投…" and "另一方面，要引导社会资金放心投…" belong together.
    ans = corpus_system.answerer.ask("胡拥军认为政府资金应当怎样支持未来产业？").answer
    assert 0 <= ans.find("一方面，要强化政府资金耐心投") < ans.find("另一方面，要引导社会资金放心投"), ans


def test_year_ranges_count_as_the_years_in_them():
    from rag.answer.compose import _years

    assert _years("2012—2024年我国研发经费增长") == set(range(2012, 2025))
    assert _years("2024 年规模超9000亿元") == {2024} and _years("没有年份") == set()


def test_speech_date_question_is_not_taken_for_an_article_date(corpus_system):
    ans = corpus_system.answerer.ask("习近平总书记哪天发表了关于新质生产力概念的讲话？")
    assert "2024年1月31日" in ans.answer and "文献信息" not in {c.section for c in ans.citations}, ans.answer


def test_a_year_asked_about_keeps_other_years_speeches_out(corpus_system):
    # Two speeches to the 江苏代表团 (2024 and 2026): the year asked for picks the excerpt.
    ans = corpus_system.answerer.ask("2024年全国两会期间总书记在江苏代表团提醒，发展新质生产力要注意避免哪些问题？")
    assert "（2024年3月5日）" in ans.answer and "2026年" not in ans.answer, ans.answer


def test_a_year_asked_about_keeps_other_years_figures_out(corpus_system):
    # The 2022 breakdown beside the 2024 figure answers another question.
    ans = corpus_system.answerer.ask("我国AI核心产业2024年做到多大规模了？").answer
    assert "9000亿元" in ans and "2022年" not in ans, ans


def test_list_of_sub_sections_is_answered_with_their_headings(corpus_system):
    # 盛朝迅's six priorities are the sub-headings of "二、“十五五”时期未来产业发展重点", not sentences.
    ans = corpus_system.answerer.ask("盛朝迅认为“十五五”时期未来产业发展的重点有哪几个？")
    items = [line for line in ans.answer.split("\n") if line.startswith("- ")]
    assert [x[2:].split("[")[0] for x in items] == [
        "（一）量子科技",
        "（二）生物制造",
        "（三）氢能和核聚变能",
        "（四）脑机接口",
        "（五）具身智能",
        "（六）第六代移动通信",
    ], ans.answer
    (c,) = ans.citations
    assert c.section == "二、“十五五”时期未来产业发展重点" and all(x[2:].split("[")[0] in c.text for x in items)
    # a sub-section's own list wins when its heading covers the question as well as the parent's does
    ans = corpus_system.answerer.ask("未来产业有哪些特征？")
    assert "1. 以前沿技术为支撑。" in ans.answer, ans.answer


def test_list_enumerated_inline_answered_by_that_sentence(corpus_system):
    ans = corpus_system.answerer.ask("国家层面点明了哪些未来产业重点方向？")
    assert ans.answer.count("[") == 1  # one sentence, not a numbered list from elsewhere
    for item in ("量子科技", "生物制造", "脑机接口", "具身智能", "第六代移动通信"):
        assert item in ans.answer


def test_list_enumerated_inside_quotes_answered_by_that_sentence(corpus_system):
    # "“众创空间—孵化器—加速器—产业园”全链条孵化体系", "采取“揭榜挂帅”“赛马”等方式": the items are inside
    # one sentence, not the numbered list of the section around it.
    ans = corpus_system.answerer.ask("未来产业的全链条孵化体系由哪些环节组成？")
    assert all(item in ans.answer for item in ("众创空间", "孵化器", "加速器", "产业园"))
    ans = corpus_system.answerer.ask("推进科技体制改革时，可以采取哪些方式集聚产学研用资源？")
    assert "“揭榜挂帅”“赛马”" in ans.answer and ans.answer.count("[") == 1


def test_paraphrased_questions_are_answered_not_refused(corpus_system):
    # Other words than the source's (路子 for 路径, …): the sentence vectors carry them, no synonym list.
    cases = {
        "布局未来产业时，政府和市场各应发挥什么优势？": "新型举国体制",
        "给老年人提供产品和服务的经济活动叫什么？": "银发经济是向老年人提供产品或服务",
        "为什么未来产业需要耐心资本？": "周期长",
        "人工智能企业在我国大概有多少家？": "6000家",
    }
    for question, key in cases.items():
        ans = corpus_system.answerer.ask(question)
        assert not ans.refused and key in ans.answer, (question, ans.answer)


def test_question_naming_what_the_answer_never_mentions_is_refused(corpus_system):
    # Retrieval finds passages on future-industry strategies abroad, but none names 巴西 or the
    # document asked about; quoting them would answer another question.
    for q in ("巴西的未来产业战略具体提出了哪些重点领域？", "《巴黎协定》对未来产业作了哪些部署？"):
        ans = corpus_system.answerer.ask(q)
        assert ans.refused and ans.citations == [], (q, ans.answer)
    ans = corpus_system.answerer.ask("上海提出到2030年未来产业产值要达到多少？")  # named and stated: answered
    assert not ans.refused and "上海" in ans.answer


def test_title_with_a_space_named_in_full_is_not_taken_for_a_missing_name(corpus_system):
    # The catalog title has a space ("主动优化区域分工 撬动…"); the name check compared it, space and
    # all, with text whose spaces are removed, and refused.
    ans = corpus_system.answerer.ask(
        "《主动优化区域分工 撬动全国重大生产力整体跃迁》认为东部沿海地区在未来产业分工中承担什么功能？"
    )
    assert not ans.refused and "东部沿海" in ans.answer, ans.answer


def test_date_of_a_named_speech_is_answered_from_its_excerpt(corpus_system):
    # Other articles narrate the visit without a date; the excerpt's attribution carries it.
    ans = corpus_system.answerer.ask("总书记在黑龙江考察是哪一天？")
    assert not ans.refused and "（2023年9月8日）" in ans.answer, ans.answer


def test_speech_excerpt_answer_carries_occasion_and_date(corpus_system):
    ans = corpus_system.answerer.ask("习近平总书记在浙江考察时对未来产业提出了什么要求")
    assert "——在浙江考察时强调（2020年4月1日）" in ans.answer
    c = ans.citations[0]
    assert c.occasion == "在浙江考察时强调" and c.date == "2020-04-01"


def test_fact_question_answered_with_the_stating_sentence(corpus_system):
    ans = corpus_system.answerer.ask("截至2025年9月全国技能人才总量是多少")
    assert "2.2亿人" in ans.answer


def test_definition(corpus_system):
    ans = corpus_system.answerer.ask("具身智能是指什么")
    assert ans.answer.startswith("具身智能是一个涉及人工智能、认知科学和机器人学的概念")


def test_off_corpus_question_refused_without_citations(corpus_system):
    for q in ("如何做红烧肉", "梅西在哪个俱乐部踢球"):
        ans = corpus_system.answerer.ask(q)
        assert ans.refused and ans.answer == REFUSAL and ans.citations == []


def test_bad_questions():
    with pytest.raises(QuestionError, match="不能为空"):
        check_question("   ", 1000)
    with pytest.raises(QuestionError, match="过长"):
        check_question("问" * 1001, 1000)
    assert check_question("  新质生产力\n是什么 ", 1000) == "新质生产力 是什么"


def test_question_naming_an_author_retrieves_that_authors_passages(corpus_system):
    # The author's name is only in the catalog (metadata), never in the passage text.
    for question, author in {
        "余澳、柯遵义怎样看待未来产业对政府治理的作用？": "余澳",
        "林宝认为发展银发经济要注意什么？": "林宝",
        "盛朝迅对未来产业的发展阶段是怎么判断的？": "盛朝迅",
    }.items():
        ans = corpus_system.answerer.ask(question)
        assert author in ans.contexts[0].metadata["authors"], (question, ans.contexts[0].metadata)
        assert not ans.refused and all(author in c.authors for c in ans.citations), (question, ans.answer)


def test_question_naming_two_authors_gets_both_sides(corpus_system):
    ans = corpus_system.answerer.ask("李晓华和胡拥军分别怎样看待未来产业与现代化产业体系的关系？")
    assert not ans.refused
    assert {"李晓华", "胡拥军"} <= {c.authors for c in ans.citations}, ans.answer


def test_each_named_side_is_answered_with_what_it_says_not_a_bare_heading(corpus_system):
    # 王一鸣's best sentence for this is the list heading "①超大规模市场优势。": it comes with the
    # sentences that explain it (the figures), and the other side gets its own sentences.
    ans = corpus_system.answerer.ask("王一鸣和陈星星、田贻萱各自怎样描述我国市场的规模优势？")
    assert not ans.refused
    by_author = {c.authors: c.text for c in ans.citations}
    assert {"王一鸣", "陈星星、田贻萱"} <= set(by_author), ans.answer
    assert "14亿人口" in by_author["王一鸣"], by_author["王一鸣"]
    for quote in by_author.values():
        assert max(len(x) for x in quote.split("。")) > 30, quote  # more than a heading


def test_question_naming_a_speech_occasion_retrieves_that_excerpt(corpus_system):
    ans = corpus_system.answerer.ask("总书记在中央财经委员会第六次会议上对海洋产业说了什么？")
    assert "中央财经委员会第六次会议" in ans.contexts[0].metadata["occasion"]
    assert "2025年7月1日" in ans.answer


def test_metadata_questions_answer_from_the_catalog_with_a_citation(corpus_system):
    ans = corpus_system.answerer.ask("《未来产业牵引实现高质量发展的机理与路径研究》这篇文章是谁写的？")
    assert not ans.refused and "余澳、柯遵义" in ans.answer
    (c,) = ans.citations
    assert c.section == "文献信息" and c.source.startswith("000_") and ans.answer.split("[")[0] in c.text
    assert ans.answer.startswith("据资料目录，")  # written from the catalog, not the article's words
    # Linking the title retrieves the card: it leads the passages (a chat model reads it too), and
    # their number stays the retriever's top k.
    assert ans.contexts[0].id == ans.citations[0].passage_id == ans.recorded()[0].id
    assert [p.rank for p in ans.contexts] == list(range(1, len(ans.contexts) + 1))
    assert len(ans.recorded()) == corpus_system.answerer.settings.retrieval.top_k
    ans = corpus_system.answerer.ask("李乐成的《加快推进人工智能赋能新型工业化》发表在哪份刊物上？")
    assert "《党建》杂志2025年第11期" in ans.answer and "部长" in ans.answer  # the article's own provenance line
    # Named by its authors, not its title: each article's card ("A和B的文章分别发表在哪份刊物上").
    ans = corpus_system.answerer.ask("魏楚和盛朝迅的文章分别发表在哪份刊物上？")
    assert "《红旗文稿》2025年第24期" in ans.answer and "《新经济导刊》2025年第10期" in ans.answer, ans.answer
    assert {c.section for c in ans.citations} == {"文献信息"}
    ans = corpus_system.answerer.ask("王一鸣和魏楚分别是什么身份？")  # their posts, on the cards' byline lines
    assert "作者系" in ans.answer and {c.section for c in ans.citations} == {"文献信息"}, ans.answer
    # The catalog does not say where 胡拥军's article appeared: refused, not answered with other text.
    ans = corpus_system.answerer.ask("胡拥军的文章发表在哪份报纸上？")
    assert ans.refused, ans.answer


def test_a_definition_by_named_authors_is_their_defining_sentence(corpus_system):
    # Question written for this test: the defining sentence ranks low for "如何界定" (its words are
    # not in it), and the authors' other "未来产业是…" statements are no definition.
    ans = corpus_system.answerer.ask("陈星星、田贻萱一文如何界定未来产业？")
    assert ans.answer.startswith("未来产业是由原创新技术、交叉融合技术推动"), ans.answer
    assert ans.citations[0].authors == "陈星星、田贻萱"


def test_an_authors_post_from_the_byline_the_corpus_drops(corpus_system):
    # The 003 page's bylines are kept out of the passages but put on the articles' catalog cards.
    ans = corpus_system.answerer.ask("马涛和钟化鑫在哪里任职？")
    assert "哈尔滨工业大学商学院" in ans.answer and ans.citations[0].section == "文献信息", ans.answer


def test_one_item_asked_by_its_place_is_that_item_or_a_refusal(corpus_system):
    # "第二项" of a three-item list is its second item with what explains it; "第四项" does not exist.
    ans = corpus_system.answerer.ask("刘云、郭栋提出的融合创新生态系统建设的第二项举措是什么？")
    assert ans.answer.startswith("二是激发企业主体活力") and "一是" not in ans.answer, ans.answer
    ans = corpus_system.answerer.ask("刘云、郭栋提出的融合创新生态系统建设的第四项举措是什么？")
    assert ans.refused and not ans.citations, ans.answer
    # "几种…里，第二种是什么" asks for the item, not for a number
    ans = corpus_system.answerer.ask("李晓华讲的未来产业推动产业体系现代化的几种效应里，第二种是什么？")
    assert ans.answer.startswith("二是组合效应。"), ans.answer
    # an ordinal that names something else ("第一个百年") leaves the list whole
    ans = corpus_system.answerer.ask("第一个百年奋斗目标实现后，未来产业发展需要处理好哪些关系？")
    assert "六是自主可控与开放发展的关系" in ans.answer, ans.answer


def test_near_miss_questions_are_refused(corpus_system):
    # The topic is in the corpus; the asked detail is not (a day where only a month is stated, an
    # amount where none is given, eight items where one is named).
    for q in (
        "黄仁勋接受英国《金融时报》采访说中国将赢得人工智能竞赛，这次采访是在几月几日？",
        "对按照标准完成适老化改造的家庭给予财政补贴，每户补贴多少元？",
        "《新产业标准化领航工程实施方案》围绕的九大领域，除脑机接口外其余八个分别是什么？",
        "教育部设立的12所未来技术学院分别设在哪些大学？",  # the count is given, the universities are not
        "介入式脑机接口的首例非人灵长类试验是由哪家医院做成的？",  # a city, not a hospital
        "《关于推动未来产业创新发展的实施意见》是在哪月哪日印发的？",  # only the year is given
        "谁在中央政治局第二十四次集体学习时作了讲解？",  # the only organisation is the one asked about
        "教育部设立的未来技术学院有哪些高校？",  # "12所未来技术学院" is what the question names
        "韩国的未来产业战略包括哪些领域？",  # 韩国 only in a sentence on its 元宇宙 plan, not the best ones
    ):
        ans = corpus_system.answerer.ask(q)
        assert ans.refused and ans.why in ("type", "constraint", "model"), (q, ans.answer)


def test_lists_of_the_kind_asked_and_after_a_colon(corpus_system):
    # Questions written for this test. The numbered items of the kind asked ("哪几种融合"), not a run
    # of words in the best sentence ("由政府、核心企业、…构成"):
    ans = corpus_system.answerer.ask("融合创新生态系统的“融合”体现在哪几种融合上？")
    assert all(k in ans.answer for k in ("技术融合", "产业融合", "主体融合")), ans.answer
    # ①…④ introduced after a colon, in a section where a "第一次…第二次…" list comes first:
    ans = corpus_system.answerer.ask("王一鸣认为银行主导的金融体系和科技企业的融资需求之间存在哪些不匹配？")
    assert all(k in ans.answer for k in ("风险不匹配", "周期不匹配", "商业模式不匹配")), ans.answer


def test_a_list_summed_up_by_its_best_sentence_is_read_before_it(corpus_system):
    # Question written for this test: the best sentence is "这些基础规律相互交织…"; the laws precede it.
    ans = corpus_system.answerer.ask("马涛、钟化鑫提到哪些基础规律推动未来产业指数级成长？")
    assert all(k in ans.answer for k in ("摩尔定律", "梅特卡夫定律", "学习曲线")), ans.answer


def test_one_item_that_stands_out_answers_with_its_explanation_across_passages(corpus_system):
    # Question written for this test: "有什么好处" about the one item that names 一带一路 (the last of
    # 首先/其次/最后), explained at the start of the next passage; "有哪些举措" still gets the list.
    ans = corpus_system.answerer.ask("在余澳、柯遵义看来，未来产业发展对共建“一带一路”有什么好处？")
    assert ans.answer.startswith("最后,发展未来产业将直接有助于推动“一带一路”建设。") and "数字丝绸之路" in ans.answer, ans.answer
    assert len({c.passage_id for c in ans.citations}) == 2
    ans = corpus_system.answerer.ask("加强未来产业基础设施建设有哪些举措？")
    assert "一是" in ans.answer and "二是" in ans.answer, ans.answer


def test_a_cause_after_the_claim_and_a_term_named_in_quotes_are_read_on(corpus_system):
    # Questions written for this test. The claim is followed by "这一方面是因为…另一方面则是因为…":
    ans = corpus_system.answerer.ask("林宝说老年消费市场在促进消费中的地位越来越重要，原因是什么？")
    assert "占比越来越高" in ans.answer and "收入更有保障" in ans.answer, ans.answer
    # "重点是“一硬一软”。" names a term; what it means follows:
    ans = corpus_system.answerer.ask("王一鸣认为十五五时期推动科技创新和产业创新深度融合的重点是什么？")
    assert "“硬”的方面" in ans.answer and "“软”的方面" in ans.answer, ans.answer


def test_names_as_questions_shorten_or_run_them_on(corpus_system):
    # Questions written for this test: "新华社" is the author 新华社第一工作室; "和马涛" is 马涛 run
    # on by the word segmenter; "深圳特区" is 深圳经济特区.
    ans = corpus_system.answerer.ask("新华社的文章里说我国人工智能企业有多少家？")
    assert "6000" in ans.answer, ans.answer
    ans = corpus_system.answerer.ask("余澳、柯遵义和马涛、钟化鑫怎样看东北地区的定位？")
    assert not ans.refused, ans.why
    ans = corpus_system.answerer.ask("总书记在深圳特区建立40周年大会上对人才政策有什么要求？")
    assert "人才政策" in ans.answer, ans.answer


def test_each_member_of_a_coordination_gets_its_own_sentence(corpus_system):
    # Questions written for this test: "A和B分别/各自…" is answered for A and for B.
    ans = corpus_system.answerer.ask("具身智能和脑机接口分别是什么？")
    assert not ans.refused
    assert "具身智能是" in ans.answer and "脑机接口是指" in ans.answer
    ans = corpus_system.answerer.ask("政府资金和社会资金各要怎样投向未来产业？")
    assert "耐心投" in ans.answer and "放心投" in ans.answer


def test_date_order_question_answered_in_date_order_in_chat(corpus_system):
    ans = corpus_system.answerer.ask("新质生产力这一概念是从什么时候开始提出的？")
    assert not ans.refused and ans.citations
    dates = [c.date for c in ans.citations if c.date]
    assert dates == sorted(dates) and "最早" in ans.answer


def test_extractive_answer_is_the_same_langchain_runnable_as_the_chat_one(corpus_system):
    from langchain_core.runnables import Runnable

    from rag.answer import Answer

    chain = corpus_system.answerer.chain()  # analyse | retrieve | compose, built once
    assert isinstance(chain, Runnable) and chain is corpus_system.answerer.chain()
    direct = corpus_system.answerer.ask("什么是新质生产力")
    by_text, by_dict, off = chain.batch(
        ["什么是新质生产力", {"question": "什么是新质生产力", "top_k": 5}, "梅西在哪个俱乐部踢球？"]
    )
    assert isinstance(by_text, Answer) and by_text.answer == by_dict.answer == direct.answer and not by_text.refused
    assert off.refused and not off.citations
    with pytest.raises(QuestionError):
        chain.invoke({"question": "  "})


def test_each_ask_of_a_question_is_answered_and_an_unanswered_one_is_named(corpus_system):
    a = corpus_system.answerer
    # Each ask is answered on its own: the six directions, and who issued the document.
    ans = a.ask("七部门那份实施意见重点推进哪六大方向？是由哪几个部门印发的？")
    assert not ans.refused
    assert "未来健康" in ans.answer and "七部" in ans.answer
    # One ask answered, the other not in the material: the answer says which.
    ans = a.ask("国家创业投资引导基金设置了多少年存续期？它由哪家银行托管？")
    assert not ans.refused and "20年存续期" in ans.answer
    assert ans.unanswered == ["它由哪家银行托管？"]
    assert "资料中未找到以下问题的答案：“它由哪家银行托管？”" in ans.markdown()
    assert ans.to_record()["unanswered"] == ["它由哪家银行托管？"]
    # One sentence answering both asks is quoted once, with nothing added for the second.
    ans = a.ask("我国5G基站总数占全球多少？算力规模位居世界第几？")
    assert not ans.refused and "算力规模位居世界第二" in ans.answer and not ans.unanswered


def test_a_sentence_naming_the_n_items_asked_for_answers_before_any_other_list(corpus_system):
    # "哪三个领域": the sentence "…量子计算、量子通信和量子测量3个领域" answers; before, a three-item
    # list from another section (首先/其次/最后) was taken for having as many items as asked.
    for question in ("量子科技主要有哪三个领域？", "量子科技涵盖了哪三大领域？"):
        ans = corpus_system.answerer.ask(question)
        assert not ans.refused and "量子通信" in ans.answer and "首先" not in ans.answer, question


def test_a_sentence_that_opens_a_numbered_list_after_a_colon_comes_with_its_other_items(corpus_system):
    ans = corpus_system.answerer.ask("融合创新生态系统由哪些主体构成？它的核心特征在于什么？")
    assert not ans.refused
    for item in ("一是技术融合", "二是产业融合", "三是主体融合"):
        assert item in ans.answer


def test_a_near_miss_is_refused_with_what_the_material_does_say_kept_apart(corpus_system):
    # The material dates the document to "2024年初" only: asked for the day, it is refused, and
    # the sentence that comes closest is shown as related text, cited, outside the answer.
    ans = corpus_system.answerer.ask("国务院办公厅那份发展银发经济的意见是哪月哪日印发的？")
    assert ans.refused and ans.citations == []
    assert ans.answer == "资料中未找到所问的具体日期，无法依据现有资料作答。"
    assert ans.related and "2024年初" in ans.related[0].quote and ans.related[0].title
    rec = ans.to_record()
    assert rec["related"]["lacks"] == "具体日期" and "2024年初" in rec["related"]["quotes"][0]["quote"]
    assert "仅供核对" in ans.markdown()
    # an off-corpus question has nothing related to show
    assert corpus_system.answerer.ask("梅西在哪个俱乐部踢球").related == []


def test_each_side_of_a_comparison_is_answered_from_its_own_best_passages(corpus_system):
    # 王一鸣's sentence on 中试 ranks far down for the whole question (it names three authors);
    # among his own passages it is near the top, and his side quotes it.
    ans = corpus_system.answerer.ask("说到中试，胡拥军、刘云郭栋和王一鸣各自怎么讲？")
    assert not ans.refused and "中试验证平台" in ans.answer


def test_a_list_question_that_refers_to_the_authors_article_gets_the_list(corpus_system):
    ans = corpus_system.answerer.ask("余澳、柯遵义那篇文章说未来产业有哪几个特征？")
    for item in ("以前沿技术为支撑", "产业间的关联融合性", "应用场景的突破性", "经济社会的多维引领性"):
        assert item in ans.answer


def test_an_item_past_the_end_of_the_list_is_refused_with_the_list_shown(corpus_system):
    ans = corpus_system.answerer.ask("李晓华说未来产业推动产业体系现代化的第四种效应是什么？")
    assert ans.refused and ans.citations == []
    assert ans.answer == "资料中未找到所问的第4项（原文只列出3项），无法依据现有资料作答。"
    quoted = "".join(c.quote for c in ans.related)
    assert all(x in quoted for x in ("关联效应", "组合效应", "赋能效应"))


def test_a_sentence_quoted_but_for_one_clause_is_quoted_whole_and_provenance_is_no_answer(corpus_system):
    ans = corpus_system.answerer.ask("在《红旗文稿》刊发的那篇文章里，魏楚说新兴产业融资难在哪里？")
    assert not ans.refused
    assert "资本市场包容性不足、缺乏耐心资本" in ans.answer  # the clause after "…不匹配；…问题；"
    assert "选自" not in ans.answer  # the article's provenance line names the outlet, it answers nothing


def test_an_ask_on_a_new_topic_is_answered_on_that_topic_not_the_one_before(corpus_system):
    # Searched only with the question up to it, the second ask got 银发经济 sentences, was counted as
    # already quoted, and was neither answered nor named.
    ans = corpus_system.answerer.ask("什么是银发经济？未来产业的核心特征是什么？")
    assert not ans.refused and "银发经济是向老年人提供产品或服务" in ans.answer
    assert "未来产业有明显的创新驱动特征" in ans.answer or ans.unanswered == ["未来产业的核心特征是什么？"]


def test_many_asks_are_answered_as_one_question(corpus_system):
    # more than answer.max_asks asks: one answer for the whole, not a search per ask
    question = "".join(f"第{i}个问题是什么？" for i in range(1, 8))
    assert not corpus_system.answerer._asks_several(question)


def test_an_item_asked_by_its_place_and_kind_is_read_from_the_list_of_that_kind(corpus_system):
    # "第二种效应": the list whose items name 效应 ("一是关联效应。…"), wherever its heading ranks
    ans = corpus_system.answerer.ask("李晓华说未来产业的第二种效应是什么？")
    assert not ans.refused and ans.answer.startswith("二是组合效应")
    ans = corpus_system.answerer.ask("李晓华说未来产业的第四种效应是什么？")
    assert ans.refused and "原文只列出3项" in ans.answer


def test_a_record_lists_what_the_search_returned_then_the_cited_passages_it_did_not():
    from dataclasses import replace

    from rag.answer.base import Answer
    from rag.citation import Citation
    from rag.retrieve import Passage

    def p(pid, rank, fused_only=False):
        return Passage(pid, "文本。", {"source": "a.txt", "section": "一"}, rank=rank, fused_only=fused_only)

    retrieved, extras = [p("1", 1), p("2", 2)], [p("3", 3, True), p("4", 4, True)]
    card = Passage("card:a.txt", "据资料目录…", {"source": "a.txt", "section": "文献信息"}, rank=5)
    cites = [Citation(n=1, passage_id="card:a.txt"), Citation(n=2, passage_id="4")]
    ans = Answer("问？", "答。[1][2]", False, cites, retrieved + extras + [card])
    # fusion's own passages the reranker moved out are not listed, unless cited
    assert [c["text"] for c in ans.to_record()["contexts"]] == ["文本。", "文本。", "文本。", "据资料目录…"]
    assert [x.id for x in ans.recorded()] == ["1", "2", "4", "card:a.txt"]
    assert [c["rank"] for c in ans.to_record()["contexts"]] == [1, 2, 3, 4]
    assert replace(ans, citations=[]).recorded() == retrieved + [card]  # (only cited ones are ever added)


def test_a_list_is_one_series_not_two_of_a_section(corpus_system):
    # Question written for this test. 陈星星、田贻萱's first section holds two "一是…三是" series:
    # the features of future industries, then three kinds of earlier studies. A list is one series.
    ans = corpus_system.answerer.ask("陈星星和田贻萱说未来产业有什么特征？")
    assert "一是处于萌芽初期" in ans.answer and "三是事关大国经济主导权更替" in ans.answer, ans.answer
    assert "一是在技术与产业演化" not in ans.answer and ans.answer.count("一是") == 1, ans.answer


def test_a_series_starts_at_its_first_item():
    from rag.answer.candidates import opens_series

    assert all(
        opens_series(s)
        for s in ("一是处于萌芽初期。", "第一，人才。", "首先，要…", "1. 加强…", "（1）推动", "①国家…", "（一）总体")
    )
    assert not any(opens_series(s) for s in ("二是赋能。", "其次，要…", "十一是…", "③…", "一方面，…"))


def test_a_list_asked_for_takes_a_sentence_of_parallel_clauses_whole():
    from rag.answer.candidates import Cand
    from rag.answer.compose import DEFAULT_MARGINS, _names_heading, _parallel_clauses, _whole_sentences
    from rag.retrieve import Passage

    clauses = [
        "颠覆性技术的产生不是孤立现象，它离不开基础研究；",
        "离不开专业人才的坚守；",
        "离不开对知识产权的保护；",
        "离不开创新土壤。",
    ]
    assert _parallel_clauses(clauses)
    assert not _parallel_clauses(["美国出台法案；", "日本发布计划；", "欧盟发布战略。"])  # other subjects
    assert not _parallel_clauses(["一是…；", "离不开…。"])  # one clause after the first is no series
    p = Passage("p", "".join(clauses), {})
    lead, later = Cand(clauses[0], p, 0, False, {}), Cand(clauses[2], p, 2, False, {})
    assert len(_whole_sentences([lead], listing=True)) == 4
    assert _whole_sentences([later], listing=True) == [later]  # a later clause alone is what was asked about
    assert _whole_sentences([lead]) == [lead]  # not for a question that asks for no list
    # a clause that names its subject's parts ("，即…；") brings the rest of its sentence, whatever
    # the question; one that does not, stays alone
    named = ["省里提出“3+2”产业，即发展甲、乙等3个产业；", "培育丙、丁2个产业。", "另一句话。"]
    q = Passage("q", "".join(named), {})
    got = _whole_sentences([Cand(named[0], q, 0, False, {})])
    assert [c.text for c in got] == named[:2]
    plain = ["省里发展甲、乙等3个产业；", "培育丙、丁2个产业。"]
    r = Passage("r", "".join(plain), {})
    assert len(_whole_sentences([Cand(plain[0], r, 0, False, {})])) == 1
    # a quoted phrase names a heading when it makes up most of it
    share = DEFAULT_MARGINS["list_heading"]
    assert _names_heading(["构建完善的支撑机制"], "(五)构建完善的支撑机制", share)
    assert not _names_heading(["未来产业"], "(二)未来产业的特征", share)


def test_a_list_in_one_sentence_of_parallel_clauses_is_quoted_whole(corpus_system):
    # Question written for this test (and probe F's): the list is one sentence, "…离不开…；离不开…".
    ans = corpus_system.answerer.ask("盛朝迅认为颠覆性技术的产生需要哪些条件？")
    for part in ("离不开基础研究", "十年如一日", "知识产权", "宽容失败"):
        assert part in ans.answer, ans.answer


def test_an_item_asked_for_comes_with_its_content_however_long_its_heading(corpus_system):
    # Questions written for this test. The third 举措's heading is a long sentence, not a short
    # "三是…效应。" heading; what it says follows it (a list of its own: 首先…).
    ans = corpus_system.answerer.ask("刘云、郭栋提出的融合创新生态系统建设的第三项举措具体讲了什么？")
    assert ans.answer.startswith("三是健全融合支撑体系") and "首先,要强化教育、科技、人才一体化支撑" in ans.answer, ans.answer
    # asked after the list, in a second ask: the item's explanation is added, the ask answered
    ans = corpus_system.answerer.ask("李晓华讲的三种效应分别是什么？第三种具体怎么说？")
    assert not ans.unanswered and "赋能效应是指一项技术会使其他产业发生系统性的重大变化" in ans.answer, ans.answer


def test_a_list_under_the_heading_the_question_quotes(corpus_system):
    # Question written for this test: it quotes the heading "(五)构建完善的支撑机制"; the abstract's
    # summary sentence, which shares its words, is not the list asked for.
    ans = corpus_system.answerer.ask("余澳和柯遵义在“构建完善的支撑机制”这部分提了哪些措施？")
    assert ans.answer.startswith("- 一是加大科技创新人才队伍培育力度") and "五是积极培育创新文化" in ans.answer, ans.answer


def test_the_content_of_the_last_item_stops_where_its_paragraph_ends(corpus_system):
    # Question written for this test (after a review): the last of 陈星星、田贻萱's three features is
    # followed, in the next paragraph, by the announcement of another list.
    ans = corpus_system.answerer.ask("陈星星、田贻萱说的未来产业三个典型特征中，第三个具体指什么？")
    assert "以下三类文献" not in ans.answer, ans.answer


def test_a_table_row_is_quoted_under_its_header(corpus_system):
    # Question written for this test. 余澳、柯遵义's 表1 compares two kinds of industry; the row asked
    # about is in the passage after the one the table begins in: its header is quoted first, cited
    # to that passage, each row on its own line.
    ans = corpus_system.answerer.ask("表里说未来产业的风险特征是什么？")
    lines = ans.answer.split("\n")
    head = next(i for i, x in enumerate(lines) if x.startswith("特征 | 未来产业 | 战略性新兴产业"))
    assert lines[head + 1].startswith("风险特征 | 技术、市场、组织不确定性强"), ans.answer
    by_n = {c.n: c for c in ans.citations}
    header_n, row_n = (int(x.rsplit("[", 1)[1].rstrip("]")) for x in lines[head : head + 2])
    assert "特征 | 未来产业 | 战略性新兴产业" in by_n[header_n].text and "风险特征" in by_n[row_n].text


def test_a_list_of_the_kind_quoted_before_the_ask(corpus_system):
    # Question written for this test (before the change it got the other list). 刘云、郭栋's article
    # has a list of three measures (one of which mentions 融合) and, elsewhere, the three kinds of
    # 融合 asked for.
    ans = corpus_system.answerer.ask("刘云、郭栋讲的生态系统里，核心的“融合”分为哪三种？")
    items = [x for x in ans.answer.split("\n") if x.startswith("- ")]
    assert [x[2:8] for x in items] == ["一是技术融合", "二是产业融合", "三是主体融合"], ans.answer

"""Query analysis: question type, expected answer, and names linked to what the index holds."""

from rag.query import Linker, analyze, defines, org_kinds

METAS = [
    {"source": "000.txt", "title": "未来产业牵引实现高质量发展的机理与路径研究", "authors": "余澳、柯遵义"},
    {
        "source": "001.txt",
        "title": "前瞻布局未来产业与现代化产业体系建设",
        "authors": "李晓华",
        "outlet": "《学习时报》",
        "date": "2026-03-25",
    },
    {"source": "001.txt", "title": "加速布局未来产业 打造经济发展新增量", "authors": "盛朝迅"},
    {
        "source": "001.txt",
        "title": "习近平总书记关于未来产业的重要论述30则",
        "authors": "习近平",
        "occasion": "在浙江考察时强调",
        "speech_date": "2020-04-01",
    },
    {
        "source": "001.txt",
        "title": "习近平总书记关于未来产业的重要论述30则",
        "authors": "习近平",
        "occasion": "在中央财经委员会第六次会议上的讲话",
        "speech_date": "2025-07-01",
    },
]


def test_authors_link_one_by_one_and_with_deng_ren():
    linker = Linker(METAS)
    q = analyze("余澳等人认为未来产业如何牵引高质量发展？", linker)
    assert q.authors == ["余澳"] and [a.title for a in q.articles] == ["未来产业牵引实现高质量发展的机理与路径研究"]
    q = analyze("李晓华和盛朝迅对未来产业的看法有什么不同？", linker)
    assert set(q.authors) == {"李晓华", "盛朝迅"} and len(q.articles) == 2 and q.qtype == "comparison"
    # Pushed down to Chroma: authors matched one by one in the array metadata author_list.
    assert q.where() == {"$or": [{"author_list": {"$contains": a}} for a in q.authors]}
    titled = analyze("《前瞻布局未来产业与现代化产业体系建设》提出了什么？", linker)
    assert titled.where() == {"$and": [{"source": "001.txt"}, {"title": "前瞻布局未来产业与现代化产业体系建设"}]}


def test_an_organisation_author_links_by_its_leading_part():
    metas = [
        {"source": "a.txt", "title": "甲文", "authors": "光明社理论工作室"},
        {"source": "b.txt", "title": "乙文", "authors": "光明社评论部"},
        {"source": "c.txt", "title": "丙文", "authors": "东海省委宣传部"},
    ]
    linker = Linker(metas)
    assert analyze("东海省委那篇文章怎么说？", linker).authors == ["东海省委宣传部"]
    assert analyze("光明社的文章怎么说？", linker).authors == []  # two authors start so: neither is meant
    assert analyze("东海市委有什么部署？", linker).authors == []  # 东海省委宣传部's lead is 东海省委, not 东海


def test_titles_link_whole_or_partial():
    linker = Linker(METAS)
    q = analyze("《前瞻布局未来产业与现代化产业体系建设》一文的作者是谁？", linker)
    assert q.titled and q.qtype == "metadata_author" and q.articles[0].authors == ("李晓华",)
    q = analyze("在《加速布局未来产业》一文中，作者提出了什么？", linker)  # a partial title
    assert q.titled and q.articles[0].title.startswith("加速布局未来产业")


def test_bare_question_drops_the_linked_names_only():
    linker = Linker(METAS)
    q = analyze("余澳、柯遵义认为未来产业如何牵引高质量发展？", linker)
    assert q.bare() == "、未来产业如何牵引高质量发展？"  # the names, and the verb that reports them
    q = analyze("在《加速布局未来产业》一文中，作者提出了什么？", linker)  # a partial title
    assert q.bare() == "在一文中，作者提出了什么？"
    q = analyze("《新产业标准化领航工程实施方案》提出了什么？", linker)  # not an article of the index
    assert q.bare() == q.text


def test_definition_subject_when_the_subject_comes_first():
    assert analyze("在那篇论文里，数字经济是怎样界定的？").subject == "数字经济"
    assert analyze("作者对数字经济是怎样界定的？").subject == "数字经济"
    assert analyze("报告提出了哪三个方面？").item_kind == ""  # a measure word, not a kind
    assert analyze("数字经济是如何定义的？").subject == "数字经济"
    assert analyze("作者怎么定义数字经济？").qtype == "definition"
    assert defines("数字经济", "数字经济是指以数据为关键要素的经济形态。", strictly=True)
    assert not defines("数字经济", "数字经济是竞争的焦点。", strictly=True)
    assert not defines("数字经济", "有人认为数字经济是由数据推动的。", strictly=True)


def test_definition_subject_for_each_kind_of_definition_cue():
    linker = Linker(METAS)
    for question in ("什么是未来产业？", "未来产业的内涵是什么？", "余澳、柯遵义是如何界定未来产业的？", "怎样界定“未来产业”？"):
        q = analyze(question, linker)
        assert q.qtype == "definition" and q.subject == "未来产业", (question, q.subject)
    assert analyze("未来产业有哪些特征？", linker).subject == ""


def test_asking_which_organisation_of_a_kind_expects_an_organisation():
    # "哪些大学", "哪个实验室": the kind of organisation (data: org_suffixes) is what is asked for.
    assert analyze("教育部设立的未来技术学院分别设在哪些大学？").expect == "org"
    assert analyze("总书记在南京哪个实验室了解攻关情况？").expect == "org"
    assert org_kinds("这项试验是哪家医院或研究团队完成的？") == ["医院", "团队"]
    assert org_kinds("哪些研究中心参与了？") == ["研究中心"] and org_kinds("由哪个机构管理？") == []
    assert analyze("哪些产业是未来产业？").expect == ""
    assert analyze("李晓华说的第三对关系是什么？").item == 3
    # not a kind of organisation, and not an item asked for
    assert analyze("新质生产力有哪些组织模式？").expect == ""
    assert analyze("第一个百年奋斗目标实现后，未来产业发展需要处理好哪些关系？").item == 0


def test_occasions_and_their_dates_link():
    linker = Linker(METAS)
    q = analyze("总书记2020年4月在浙江考察时对数字经济提出了什么要求？", linker)
    assert q.occasions == ["在浙江考察时强调"] and q.dates == ["2020-04"]
    assert q.matches({"occasion": "在浙江考察时强调", "speech_date": "2020-04-01"})
    assert not q.matches({"occasion": "在中央财经委员会第六次会议上的讲话", "speech_date": "2025-07-01"})
    assert analyze("2022年我国集成电路进口额是多少？", linker).dates == []  # a year alone is what is asked about


def test_expected_answer_types():
    cases = {
        "这次采访具体是在几月几日？": "day",
        "新政策是哪一年开始实施的？": "year",
        "由哪家机构负责管理？": "org",
        "排名第一的科学家是谁？": "person",
        "分别位于哪些城市？": "place",
        "每户补贴标准是多少元？": "amount",
        "关于出口额，报告里有哪些数据？": "amount",  # data asked for are figures
        "国家推动哪些数据要素流通？": "",  # but not data of a kind
        "数据有哪些特征？": "",
        "报告里有哪些数字化转型举措？": "",
        "未来产业有哪些特征？": "",
    }
    for question, expect in cases.items():
        assert analyze(question).expect == expect, question
    # Words the question quotes do not ask anything: "“谁…谁…”" is not a who-question.
    quoted = analyze("文章说“谁掌握了核心技术，谁就赢得主动”，这句话出自哪次会议？")
    assert quoted.qtype == "occasion" and quoted.expect == ""
    assert analyze("报告提出了哪三个“坚持”？").count == 3
    assert analyze("这份文件是哪月哪日印发的？").expect == "day"
    assert analyze("这套体系包括哪几种融合？").item_kind == "融合" and analyze("要处理好哪几对关系").item_kind == "关系"
    # the kind quoted before the ask, when none follows it
    assert analyze("文中的“协同”分为哪三类？").item_kind == "协同" and analyze("“融合”有哪几种？").item_kind == "融合"
    assert analyze("“十五五”时期有哪些任务？").item_kind == "任务"  # the kind after the ask comes first
    # not a list's own name, nor what an uncounted "哪些" asks about
    assert analyze("“六大方向”分为哪几类？").item_kind == "" and analyze("“新质生产力”有哪些？").item_kind == ""
    assert analyze("这项突破是靠谁带动的？").expect == "agent" and analyze("主讲人是谁？").expect == "person"
    q = analyze("九大领域中除脑机接口外，其余八个分别是什么？")
    assert q.count == 8 and q.expect == "count"
    assert analyze("规划确定的15个领域具体有哪些？").count == 15
    assert analyze("三大举措之外的第四项是什么？").count == 4
    assert analyze("第二点具体怎么说").count == 0  # a follow-up about one item asks for no count
    # A unit after 多少/几 must be stated; 近几年, 这几个, 哪几个 ask no quantity.
    assert analyze("国家基金的总规模是多少亿元？").unit == "亿元"
    assert analyze("近几年来取得了什么成就？").unit == "" and analyze("这几个方面分别是什么？").unit == ""
    # 几 in a numeral (十几年, 几十亿元) asks nothing; with 多少 in the question, 几 is "a few"
    assert analyze("今后十几年里它会发生什么变化？").unit == "" and analyze("投入了几十亿元做什么？").unit == ""
    several = analyze("几份报告给出的2023年、2024年增速分别是多少？")
    assert several.expect == "amount" and several.unit == ""


def test_members_of_a_coordination_are_the_sides():
    # Questions written here, not taken from an evaluation set.
    assert analyze("人工智能、量子科技和生物制造分别面临什么瓶颈？").sides == ["人工智能", "量子科技", "生物制造"]
    assert analyze("在这一领域，中央财政资金和地方配套资金各应发挥什么作用？").sides == ["中央财政资金", "地方配套资金"]
    assert analyze("未来产业的六大方向分别是哪些？").sides == []  # no coordination: a list question
    assert analyze("政府应当如何引导社会资本？").sides == []  # no 分别/各自


def test_a_question_is_split_into_its_asks():
    from rag.query import asks

    assert asks("新质生产力的特点是什么？它的关键在哪里？") == ["新质生产力的特点是什么？", "它的关键在哪里？"]
    # a comma before 又 ends an ask; a lead that asks nothing belongs to the ask after it
    assert asks("作者认为谁该出钱，又为什么？") == ["作者认为谁该出钱，", "又为什么？"]
    assert asks("据报道；这个基金存续多少年？") == ["据报道；这个基金存续多少年？"]
    # a question mark inside quotes ends nothing; one ask stays whole
    assert asks("“谁站稳了市场？”这句话出自哪次讲话？") == ["“谁站稳了市场？”这句话出自哪次讲话？"]
    assert asks("未来产业有哪些特征") == ["未来产业有哪些特征"]


def test_an_ask_keeps_the_names_of_the_question_and_asks_its_own_thing():
    linker = Linker(METAS)
    whole = analyze("李晓华认为发展未来产业要处理哪几对关系？是哪一年发表的？", linker)
    ask = analyze("是哪一年发表的？", linker)
    q = whole.asking(ask)
    assert q.authors == ["李晓华"] and q.articles == whole.articles
    assert q.expect == "year" and not q.count


def test_words_that_refer_to_a_named_authors_article_ask_nothing():
    linker = Linker(METAS)
    q = analyze("余澳、柯遵义那篇文章说未来产业有哪几个特征？", linker)
    assert "文章" not in q.bare() and "说" not in q.bare() and "未来产业有哪几个特征" in q.bare()
    assert analyze("李晓华的文章里提到哪几对关系？", linker).bare().startswith("提到哪几对关系")


def test_where_said_of_a_problem_asks_for_no_place():
    assert analyze("算力往上涨，最后会卡在什么地方？").expect == ""
    assert analyze("绿氢基地建在哪个城市？").expect == "place"


def test_asks_are_not_made_by_words_that_only_contain_an_interrogative():
    from rag.query import asks

    assert asks("任何企业都要创新，又为什么要发展未来产业？") == ["任何企业都要创新，又为什么要发展未来产业？"]
    assert asks("他说‘怎么办？’这句话出自哪里？") == ["他说‘怎么办？’这句话出自哪里？"]
    assert asks("未来产业有哪些特征！它为什么重要？") == ["未来产业有哪些特征！", "它为什么重要？"]


def test_an_item_asked_by_its_place_names_its_kind():
    q = analyze("李晓华说未来产业的第二种效应是什么？")
    assert q.item == 2 and q.item_kind == "效应"
    assert analyze("第三点具体怎么说").item_kind == ""

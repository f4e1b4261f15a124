"""The batch interface's schema, and a bad line that does not stop the rest."""

import json

import pytest

from rag.batch import answer_file
from rag.citation import GAP

pytestmark = pytest.mark.slow


def _words(text: str) -> str:
    """Text without whitespace: a quote joins sentences that a line break separates in the passage."""
    return "".join(text.split())


def test_batch_schema_and_bad_lines(corpus_system, tmp_path):
    src = tmp_path / "q.jsonl"
    src.write_text(
        "\n".join(
            [
                json.dumps({"id": "q1", "question": "银发经济是什么", "type": "definition"}, ensure_ascii=False),
                "{not json",
                json.dumps({"id": "q3", "question": ""}),
                json.dumps({"id": "q4", "question": "如何做红烧肉"}, ensure_ascii=False),
                json.dumps({"id": "q5"}),
            ]
        ),
        encoding="utf-8",
    )
    out = tmp_path / "a.jsonl"
    stats = answer_file(corpus_system.answerer, src, out, progress=False)
    assert stats == {"rows": 5, "answered": 2, "refused": 1, "errors": 3}
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in recs] == ["q1", "line-2", "q3", "q4", "q5"]
    ok = recs[0]
    assert set(ok) >= {"id", "question", "answer", "refused", "citations", "contexts", "latency_ms"}
    assert isinstance(ok["answer"], str) and ok["refused"] is False and ok["latency_ms"] > 0
    assert ok["citations"]
    for c in ok["citations"]:
        assert set(c) >= {"n", "source", "title", "text", "quote"}
        assert c["quote"]
        for run in c["quote"].split(GAP):  # each run of quoted sentences is in the cited passage, verbatim
            assert _words(run) in _words(c["text"]), (run, c)  # (sentences apart are marked with GAP)
    assert len(ok["contexts"]) >= 10
    assert [c["rank"] for c in ok["contexts"]] == list(range(1, len(ok["contexts"]) + 1))
    for c in ok["contexts"]:
        assert set(c) >= {"rank", "source", "title", "text", "score"}
    assert recs[3]["refused"] is True and recs[3]["citations"] == []
    assert all("error" in recs[i] for i in (1, 2, 4))


# A hand-written multiple-choice set (each answer checked against the corpus by hand).
MC = [
    ("2022年我国全社会研发经费投入强度提升到多少？ A. 2.14% B. 2.54% C. 2.64% D. 3.0%", "B"),
    ("截至2023年5月1日，我国在轨卫星数量已达到多少颗？ A. 428颗 B. 528颗 C. 628颗 D. 728颗", "C"),
    ("推动银发经济发展，关键在于什么？ A. 供给侧 B. 顶层设计 C. 营造良好市场环境 D. 扩大消费", "B"),
    (
        "具身智能是一个涉及哪些学科的概念？ A. 人工智能、认知科学和机器人学 B. 材料学、化学和物理学 C. 经济学、管理学和法学 D. 生物学、医学和药学",
        "A",
    ),
    ("“未来产业”一词最早是由谁提出的？ A. 熊彼特 B. 迈克尔·波特 C. Alec Ross D. 克里斯坦森", "C"),
    ("我国累计建成5G基站的数量是多少？ A. 237.7万个 B. 337.7万个 C. 437.7万个 D. 537.7万个", "B"),
    (
        "“也要通过发挥市场机制作用探索未来产业发展方向”出自哪次讲话？ A. 在中央经济工作会议上的讲话 B. 在浙江考察时强调 C. 在黑龙江考察时强调 D. 在中央城市工作会议上的讲话",
        "A",
    ),
    (
        "“要高水平建设雄安中关村科技园”是在哪里提出的？ A. 在安徽考察时 B. 在河北雄安新区考察时 C. 在福建考察时 D. 在深圳经济特区建立40周年庆祝大会上",
        "B",
    ),
    ("IGBT国产率仅为多少？ A. 15% B. 25% C. 35% D. 45%", "B"),
    ("截至2022年，工信部设立的国家AI创新应用先导区达到多少个？ A. 5个 B. 8个 C. 11个 D. 15个", "C"),
    ("2022年我国发明专利产业化率达到多少？ A. 26.7% B. 36.7% C. 46.7% D. 56.7%", "B"),
    (
        "刘云、郭栋认为政府应在未来产业中发挥什么作用？ A. “裁判员”与“运动员” B. “投资者”与“经营者” C. “架构者”与“引导者” D. “监管者”与“服务者”",
        "C",
    ),
    ("我国已建设多少个制造业中试平台？ A. 1400余个 B. 2400余个 C. 3400余个 D. 4400余个", "B"),
    ("截至2025年9月，全国技能人才总量超过多少？ A. 1.2亿人 B. 2.2亿人 C. 3.2亿人 D. 4.2亿人", "B"),
    ("上海提出到2030年未来产业产值要突破多少？ A. 3000亿元 B. 5000亿元 C. 8000亿元 D. 10000亿元", "B"),
    ("网络技术遵循什么定律？ A. 摩尔定律 B. 梅特卡夫定律 C. 学习曲线 D. 安迪比尔定律", "B"),
    (
        "2023年底召开的中央经济工作会议把什么列为九项重点任务之首？ A. 扩大国内需求 B. 深化重点领域改革 C. 以科技创新引领现代化产业体系建设 D. 扩大高水平对外开放",
        "C",
    ),
    ("全球仅有四台量子计算机实现“量子计算优越性”里程碑，中国占据几席？ A. 一席 B. 两席 C. 三席 D. 四席", "B"),
    (
        "习近平总书记指出，发展新质生产力的基本路径是什么？ A. 扩大投资规模 B. 科技创新和产业创新 C. 扩大消费需求 D. 扩大对外开放",
        "B",
    ),
    ("适老化改造中，家庭内部改造按照什么方式推进？ A. 政府全额出资 B. 企业捐赠 C. 家庭自愿+政府补贴 D. 社区统筹", "C"),
    ("未来产业的全链条孵化体系是“众创空间—孵化器—____—产业园”。 A. 加速器 B. 实验室 C. 研究院 D. 交易所", "A"),
    ("2025年政府工作报告提出培育生物制造、量子科技、____、6G等未来产业。 A. 元宇宙 B. 具身智能 C. 区块链 D. 新能源汽车", "B"),
]


def test_multiple_choice_picks_the_supported_option(corpus_system, tmp_path):
    src = tmp_path / "mc.jsonl"
    src.write_text(
        "\n".join(json.dumps({"id": f"m{i}", "question": q}, ensure_ascii=False) for i, (q, _) in enumerate(MC)), encoding="utf-8"
    )
    out = tmp_path / "mc-out.jsonl"
    answer_file(corpus_system.answerer, src, out, progress=False)
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    answered = [(r, key) for r, (_, key) in zip(recs, MC, strict=True) if r["choice"]]
    correct = sum(r["choice"] == key for r, key in answered)
    assert len(MC) >= 20 and correct / len(answered) >= 0.9 and len(answered) / len(MC) >= 0.85, (correct, len(answered))
    for r in recs:
        assert r["choice_text"] and 0 <= r["confidence"] <= 1 and "citations" in r and isinstance(r["low_confidence"], bool)
        if r["choice"]:
            assert r["choice_text"] == r["options"][r["choice"]]
        else:  # never a default letter
            assert r["choice_text"] == "无法确定" and r["refused"] is True


def test_csv_xlsx_txt_in_and_out(corpus_system, tmp_path):
    import csv

    import docx
    import openpyxl

    from rag.batch import BatchError, read_rows

    c = tmp_path / "q.csv"
    c.write_text(
        "序号,题目,A,B,C,D\n1,银发经济是什么？,,,,\n2,,,,,\n3,IGBT国产率仅为多少？,15%,25%,35%,45%\n", encoding="gb18030"
    )
    out = tmp_path / "a.xlsx"
    stats = answer_file(corpus_system.answerer, c, out, progress=False)
    assert stats == {"rows": 3, "answered": 2, "refused": 0, "errors": 1}
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("id", "题目", "选项", "选项内容", "回答")
    assert rows[1][0] == "1" and "银发经济" in rows[1][4] and "《发展银发经济利当前惠长远》" in rows[1][5]
    assert rows[2][9]  # the empty row is reported
    assert rows[3][2:4] == ("B", "25%")

    wb = openpyxl.Workbook()
    wb.active.append(["编号", "问题"])
    wb.active.append(["x1", "具身智能是指什么？"])
    wb.save(tmp_path / "q.xlsx")
    answer_file(corpus_system.answerer, tmp_path / "q.xlsx", tmp_path / "a.csv", progress=False)
    with (tmp_path / "a.csv").open(encoding="utf-8-sig") as fh:
        table = list(csv.reader(fh))
    assert table[1][0] == "x1" and "物理实体" in table[1][4]

    t = tmp_path / "q.txt"
    t.write_text("脑机接口是什么？\n\nIGBT国产率仅为多少？ A. 15% B. 25% C. 35% D. 45%\n", encoding="utf-8")
    answer_file(corpus_system.answerer, t, tmp_path / "a.docx", progress=False)
    written = docx.Document(str(tmp_path / "a.docx"))
    text = "\n".join(p.text for p in written.paragraphs)
    assert "脑机接口是指" in text and "选择：B. 25%" in text
    assert written.styles["Normal"].font.name == "宋体"  # the A4 page in a Chinese face (rag.office)

    bad = tmp_path / "bad.csv"
    bad.write_text("name,value\na,b\n", encoding="utf-8")
    with pytest.raises(BatchError, match="题目列"):
        read_rows(bad)
    assert read_rows(bad, column="name")[0][1] == {"question": "a", "row": 2}

"""The Blocks built and their handlers driven in-process (fast: small documents)."""

import gradio as gr
import pytest

from rag.conversation import Conversation
from rag.system import build_system
from rag.ui import ChatHandlers, KBHandlers, build_ui, feedback_records


@pytest.fixture()
def small_system(settings, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "silver.md").write_text(
        "# 发展银发经济利当前惠长远\n\n银发经济是向老年人提供产品或服务，以及为老龄阶段做准备等一系列经济活动的总和。"
        "发展银发经济是积极应对人口老龄化的客观要求。\n",
        encoding="utf-8",
    )
    (docs / "evil.md").write_text(
        "# 注入测试\n\n量子科技<script>alert('x')</script>是基于量子力学原理进行计算和信息处理的技术。<b>粗体</b>\n",
        encoding="utf-8",
    )
    s = settings.model_copy(update={"corpus": settings.corpus.model_copy(update={"path": docs})})
    system = build_system(s)
    system.ingestor.ingest([docs], progress=False)
    return system


def _run(gen):
    """The last update a handler yields."""
    updates = list(gen)
    return updates[-1] if updates else None


def test_blocks_build(small_system):
    """The tabs are there and asking (Enter in the box or the 提问 button) updates the chat."""
    blocks = build_ui(small_system)
    assert isinstance(blocks, gr.Blocks)
    config = blocks.config
    tabs = {c["props"].get("label") for c in config["components"] if c["type"] == "tabitem"}
    assert tabs >= {"学习问答", "资料库", "出题", "评测"}
    ids = {c["props"].get("elem_id"): c["id"] for c in config["components"] if c["props"].get("elem_id")}
    wired = {
        (target, event)
        for dep in config["dependencies"]
        if ids["chat"] in dep["outputs"] and ids["question"] in dep["inputs"]
        for target, event in dep["targets"]
    }
    assert {(ids["question"], "submit"), (ids["send"], "click")} <= wired


def test_answer_with_markers_and_sources(small_system):
    h = ChatHandlers(small_system)
    history, sources, searched, conv, box, plain, note, export = _run(h.respond("银发经济是什么？", [], None, 5, []))
    text = history[-1]["content"]
    assert "银发经济是向老年人提供产品或服务" in text and "[[1]](#src-1-1)" in text
    assert "发展银发经济利当前惠长远" in sources and "<mark>" in sources
    assert plain.startswith("银发经济是") and "来源：" in plain and "[[" not in plain
    assert note == "" and export["interactive"] is True
    # a follow-up is rewritten against the previous turn and the searched query is shown
    history, sources, searched, conv, *_ = _run(h.respond("它的意义呢？", history, conv, 5, []))
    assert "银发经济" in searched and len(conv.turns) == 2


def test_one_source_line_per_passage(small_system):
    """Two sentences from one passage: one source entry, both quotes under it (issue 13, item 2)."""
    history, sources, *_ = _run(ChatHandlers(small_system).respond("发展银发经济的意义和银发经济的定义", [], None, 5, []))
    text = history[-1]["content"]
    listed = [line for line in text.split("**来源**")[1].splitlines() if line.strip()]
    assert len(listed) == len(set(listed)) == sources.count("<details")


def test_extractive_answer_appears_whole(small_system):
    """No fake streaming: the extractive answer is one update (issue 13, item 6)."""
    steps = list(ChatHandlers(small_system).respond("银发经济是什么？", [], None, 5, []))
    assert len(steps) == 1 and "银发经济" in steps[0][0][-1]["content"]


def test_refusal_shown_plainly(small_system):
    history, sources, *_ = _run(ChatHandlers(small_system).respond("梅西在哪个俱乐部踢球", [], None, 5, []))
    assert "资料中未找到" in history[-1]["content"] and "<details" not in sources


def test_bad_question_changes_nothing_but_the_status(small_system):
    """An empty or over-long question adds no turn and keeps the old sources and the text."""
    h = ChatHandlers(small_system)
    history, _, _, conv, *_ = _run(h.respond("银发经济是什么？", [], None, 5, []))
    before = list(history)
    out = _run(h.respond("   ", history, conv, 5, []))
    assert out[0] == before and len(out[3].turns) == 1 and "不能为空" in out[6]
    assert out[1] == gr.update() and out[4] == gr.update()  # sources and the box untouched
    out = _run(h.respond("问" * 1200, history, conv, 5, []))
    assert out[0] == before and "过长" in out[6] and out[4] == gr.update()


def test_empty_state_hints_instead_of_no_sources(small_system):
    out = ChatHandlers(small_system).clear()
    assert "无引用来源" not in out[1] and "点击回答中的" in out[1]


def test_document_html_is_escaped(small_system):
    history, sources, *_ = _run(ChatHandlers(small_system).respond("量子科技是什么", [], None, 5, []))
    for out in (history[-1]["content"], sources):
        assert "<script>" not in out and "<b>粗体" not in out
    assert "&lt;script&gt;" in sources
    history, *_ = _run(ChatHandlers(small_system).respond("<img src=x onerror=alert(1)>量子科技", [], None, 5, []))
    assert "<img" not in history[0]["content"]


def test_feedback_logged_with_question_answer_sources(small_system):
    h = ChatHandlers(small_system)
    history, _, _, conv, *_ = _run(h.respond("银发经济是什么？", [], None, 5, []))
    note = h.feedback(gr.LikeData(None, {"index": len(history) - 1, "value": "", "liked": False}), conv)
    assert "已记录" in note and "👎" in note
    (rec,) = feedback_records(small_system)
    assert rec["liked"] is False and rec["question"] == "银发经济是什么？"
    assert rec["answer"] and rec["sources"][0]["source"] == "silver.md"


def test_export_holds_the_latest_turn(small_system):
    """The download button is given the file after each answer, so a click downloads every turn."""
    h = ChatHandlers(small_system)
    *_, conv, _, _, _, export = _run(h.respond("银发经济是什么？", [], None, 5, []))
    history, *_, conv, _, _, _, export = _run(h.respond("量子科技是什么", [], conv, 5, []))
    text = open(export["value"], encoding="utf-8").read()
    assert "银发经济是什么" in text and "量子科技是什么" in text and "**来源**" in text
    assert h.export(Conversation()) is None


def test_sessions_keep_their_own_history(small_system):
    h = ChatHandlers(small_system)
    a = _run(h.respond("银发经济是什么？", [], None, 5, []))[3]
    b = _run(h.respond("量子科技是什么", [], None, 5, []))[3]
    assert [t.question for t in a.turns] == ["银发经济是什么？"]
    assert [t.question for t in b.turns] == ["量子科技是什么"]


def _sources(rows):
    return {r[-1] for r in rows}


def test_kb_roles_and_delete_confirmation(small_system, tmp_path):
    kb = KBHandlers(small_system)
    admin = gr.Request(username=None)
    rows, target = kb.table()
    assert _sources(rows) == {"silver.md", "evil.md"}
    assert ("发展银发经济利当前惠长远 · 资料库", "silver.md") in target["choices"]  # titles, not file names
    f = tmp_path / "新文件.txt"
    f.write_text("具身智能是指将人工智能融入机器人等物理实体。", encoding="utf-8")
    status, rows, _, docs, _ = kb.upload([str(f)], admin)
    assert "已入库" in status and "新文件.txt" in _sources(rows)
    assert "新文件.txt" in {v for _, v in docs["choices"]}  # the chat filter lists it at once
    status, box, text, pending = kb.ask_delete("新文件.txt", admin)
    assert box["visible"] is True and "确定删除" in text and pending == "新文件.txt"
    assert "新文件.txt" in _sources(kb.table()[0])  # nothing deleted before the confirmation
    status, rows, *_ = kb.delete(pending, admin)
    assert "已删除" in status and "新文件.txt" not in _sources(rows)

    locked = small_system.settings.model_copy(
        update={"app": small_system.settings.app.model_copy(update={"users": {"alice": "pw:participant", "tom": "pw2:trainer"}})}
    )
    small_system.settings = locked
    kb = KBHandlers(small_system)
    status, *_ = kb.upload([str(f)], gr.Request(username="alice"))
    assert "无权" in status
    status, *_ = kb.upload([str(f)], gr.Request(username="tom"))
    assert "已入库" in status
    # a trainer may delete uploads but not corpus documents; an admin may, after confirming
    status, box, *_ = kb.ask_delete("silver.md", gr.Request(username="tom"))
    assert "只有管理员" in status and box["visible"] is False
    status, *_ = kb.delete("silver.md", gr.Request(username="tom"))
    assert "只有管理员" in status and "silver.md" in _sources(kb.table()[0])
    status, box, text, _ = kb.ask_delete("新文件.txt", gr.Request(username="tom"))
    assert box["visible"] is True


def test_word_upload_titled_by_its_title(small_system, tmp_path):
    """Title-styled first paragraph, not the first heading; the title line is not a passage."""
    import docx

    d = docx.Document()
    d.add_heading("关于推动未来产业创新发展的实施意见", level=0)
    d.add_heading("一、总体目标", level=1)
    d.add_paragraph("到2025年，未来产业技术创新、产业培育、安全治理等全面发展。")
    path = tmp_path / "implementation.docx"
    d.save(str(path))
    kb = KBHandlers(small_system)
    status, rows, *_ = kb.upload([str(path)], gr.Request(username=None))
    (row,) = [r for r in rows if r[-1] == "implementation.docx"]
    assert row[0] == "关于推动未来产业创新发展的实施意见"
    history, sources, *_ = _run(ChatHandlers(small_system).respond("未来产业到2025年的目标是什么", [], None, 5, []))
    assert "关于推动未来产业创新发展的实施意见" not in history[-1]["content"].split("**来源**")[0]


def test_eval_tab_shows_latest_report(small_system, tmp_path):
    from rag.ui import EvalHandlers

    ev = EvalHandlers(small_system, tmp_path / "reports")
    text, c1, c2 = ev.latest()
    assert "尚无评测报告" in text and c1 is None
    folder = tmp_path / "reports" / "20260101-000000"
    folder.mkdir(parents=True)
    (folder / "report.md").write_text("# 评测报告\n\n| a |\n![by_config](by_config.png)\n", encoding="utf-8")
    (folder / "by_config.png").write_bytes(b"png")
    text, c1, c2 = ev.latest()
    assert "评测报告" in text and "![" not in text and c1.endswith("by_config.png") and c2 is None


def test_trainer_tab_quiz_and_batch(small_system, tmp_path):
    from rag.ui import TrainerHandlers

    tr = TrainerHandlers(small_system)
    status, files, preview = tr.quiz(4, ["fill", "judge"], 3, [], "", "xlsx", "rules", gr.Request(username=None))
    assert "已生成" in status and files[0].endswith(".xlsx") and "量子科技" in preview
    status, files, _ = tr.quiz(4, ["fill"], 3, [], "不存在的主题", "md", "rules", gr.Request(username=None))
    assert files is None and "没有符合条件" in status
    q = tmp_path / "q.txt"
    q.write_text("银发经济是什么？\n", encoding="utf-8")
    status, out = tr.batch(str(q), "jsonl", "", gr.Request(username=None))
    assert out.endswith(".jsonl") and "已作答 1 题" in status
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n", encoding="utf-8")
    status, out = tr.batch(str(bad), "csv", "", gr.Request(username=None))
    assert out is None and "题目列" in status


def test_llm_answer_streams_then_shows_the_checked_answer(small_system):
    """With a chat model the words appear as they arrive (item 6); a local fake stands in for it."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from rag.answer import ExtractiveAnswerer
    from rag.generate import LLMAnswerer

    reply = "银发经济是向老年人提供产品或服务， 以及为老龄阶段做准备等一系列经济活动的总和。[1] 发展银发经济是积极应对人口老龄化的客观要求。[1]"
    model = GenericFakeChatModel(messages=iter([AIMessage(reply)]))
    small_system.answerer = LLMAnswerer(
        small_system.settings, small_system.retriever, model, ExtractiveAnswerer(small_system.settings, small_system.retriever)
    )
    steps = list(ChatHandlers(small_system).respond("银发经济是什么？", [], None, 5, [], "大模型"))
    partial = [s[0][-1]["content"] for s in steps[:-1]]
    assert len(partial) >= 2 and len(partial[0]) < len(partial[-1])
    assert "[[1]](#src-1-1)" in steps[-1][0][-1]["content"] and "<details" in steps[-1][1]

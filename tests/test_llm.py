"""The real `openai` provider driven end to end against an OpenAI-compatible server started on
127.0.0.1 inside the test: streamed answer, citations verified, invented quote marked, a 500 and
a timeout falling back to extractive."""

import pytest

from rag import fake_llm_server
from rag.llm import build_chat_model, describe_error
from rag.quiz_llm import LLM_TYPE_ASK
from rag.system import build_system

from conftest import system_with_chat_model

SILVER = (
    "银发经济是向老年人提供产品或服务，以及为老龄阶段做准备等一系列经济活动的总和。发展银发经济是积极应对人口老龄化的客观要求。"
)


@pytest.fixture(scope="module")
def server():
    s = fake_llm_server.start()
    yield s
    s.shutdown()


@pytest.fixture()
def make_system(settings, tmp_path, monkeypatch, server):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "silver.md").write_text("# 发展银发经济利当前惠长远\n\n" + SILVER + "\n", encoding="utf-8")
    monkeypatch.setenv("RAG_TEST_LLM_KEY", "sk-test-not-a-real-key")

    def make(model: str, timeout: float = 10.0):
        return system_with_chat_model(settings, server.base_url, model, docs, timeout)

    return make


def test_streamed_answer_with_verified_citation(make_system, server):
    system = make_system("good")
    parts = list(system.answerer.stream("银发经济是什么？"))
    pieces, ans = parts[:-1], parts[-1]
    assert len(pieces) > 1 and "".join(pieces).startswith("银发经济是")  # streamed in pieces
    assert not ans.refused and ans.marks == [] and ans.answer.endswith("[1]")
    assert ans.citations[0].title == "发展银发经济利当前惠长远"
    sent = server.requests[-1]
    assert sent["stream"] is True and "<资料>" in sent["messages"][-1]["content"] and server.tasks[-1] == "answer"
    assert all("sk-test" not in str(v) for v in ans.to_record("x").values())


def test_non_streaming_call(make_system, server):
    import openai

    from rag.llm import task_chain

    system = make_system("good")
    model = build_chat_model(system.settings.llm)
    passages = "[1] 《标题》\n新质生产力是先进生产力质态。其他。"
    reply = task_chain("answer", model).invoke({"question": "什么是新质生产力？", "passages": passages})
    assert reply == "新质生产力是先进生产力质态。[1]" and server.tasks[-1] == "answer"
    with pytest.raises(openai.BadRequestError, match="X-Rag-Task"):  # a request that names no task
        model.invoke([("user", "新质生产力是什么？")])
    with pytest.raises(openai.BadRequestError, match="rewrite.yaml"):  # the header decides, not the text
        model.bind(extra_headers={"X-Rag-Task": "rewrite"}).invoke(
            load_prompt_text("answer", question="什么是新质生产力？", passages=passages)
        )


def load_prompt_text(name: str, folder=None, **values: str) -> str:
    """The last (human) message prompts/<name>.yaml renders."""
    from rag.prompts import chat_prompt

    return chat_prompt(name, folder).format_messages(**values)[-1].content


def test_fake_server_reads_every_task_prompt_by_its_structure():
    """The double reads a task's variables through that task's prompt file (the one the app renders
    it from), whatever the values hold."""
    from rag.llm import TASKS
    from rag.prompts import load_prompt

    for name in TASKS:
        values = {v: f"〈{v}的值，含换行\n与“引号”和 {{花括号}}〉" for v in load_prompt(name).variables}
        assert fake_llm_server.read_values(name, load_prompt_text(name, **values)) == values


REWORDED = {  # each task's prompt in other words, its variables in another order
    "system": "You answer from the given material only.",
    "answer": "Material:\n{passages}\n---\nQuestion: {question}\nCite [n] after each sentence.",
    "rewrite": "Follow-up: {question}\nConversation so far:\n{history}\nRewrite it as a standalone question.",
    "quiz": 'Item type: {type}\nSource text:\n{passage}\nReply with one JSON object like {{"question": "…"}}.',
    "judge": "Claims to check:\n{answer}\n===\nEvidence:\n{passages}\nEnd with 结论：supported/total.",
}


def test_rewording_the_prompt_files_does_not_change_what_the_fake_server_does(server, tmp_path, monkeypatch):
    """Each task's reply is the same whether the app renders the packaged prompts or a reworded copy
    of them (loaded through the same loader from another folder, read by a double started on it)."""
    import yaml

    from rag.llm import build_chat_model, task_chain
    from rag.prompts import PROMPTS, load_prompt
    from rag.settings import LLMSettings

    for name, template in REWORDED.items():
        data = yaml.safe_load((PROMPTS / f"{name}.yaml").read_text(encoding="utf-8"))
        (tmp_path / f"{name}.yaml").write_text(
            yaml.safe_dump({**data, "template": template}, allow_unicode=True), encoding="utf-8"
        )
    assert all(load_prompt(name, tmp_path).template != load_prompt(name).template for name in REWORDED)
    reworded = fake_llm_server.start(prompts=tmp_path)
    monkeypatch.setenv("RAG_TEST_LLM_KEY", "sk-test-not-a-real-key")
    passages = "[1] 《标题》\n新质生产力是先进生产力质态。其他内容在此。"
    inputs = {
        "answer": {"question": "什么是新质生产力？", "passages": passages},
        "rewrite": {"history": "问：银发经济是什么？\n答：……", "question": "它有什么意义？"},
        "quiz": {"passage": "新质生产力是先进生产力质态，由技术革命性突破催生。", "type": LLM_TYPE_ASK["fill"]},
        "judge": {"answer": "新质生产力是先进生产力质态。它由月球催生。", "passages": passages},
    }
    try:
        replies = {}
        for folder, double in ((None, server), (tmp_path, reworded)):
            llm = LLMSettings(provider="openai", model="good", base_url=double.base_url, api_key_env="RAG_TEST_LLM_KEY")
            model = build_chat_model(llm.model_copy(update={"max_retries": 0}))
            for task, values in inputs.items():
                replies.setdefault(task, []).append(task_chain(task, model, folder).invoke(values))
            assert double.tasks[-len(inputs) :] == list(inputs)
    finally:
        reworded.shutdown()
    assert {t: len(set(r)) for t, r in replies.items()} == dict.fromkeys(inputs, 1), replies
    assert replies["answer"][0] == "新质生产力是先进生产力质态。[1]"
    assert replies["rewrite"][0] == "银发经济是什么，它有什么意义？"
    assert '"quote": "新质生产力是先进生产力质态，由技术革命性突破催生。"' in replies["quiz"][0]
    assert replies["judge"][0].endswith("结论：1/2")


def test_invented_quote_marked(make_system):
    ans = make_system("invented").answerer.ask("银发经济是什么？")
    assert "引文与原文不符" in ans.answer
    assert "quote_mismatch" in {m["issue"] for m in ans.to_record("x")["verification"]}


@pytest.mark.parametrize("model,timeout,reason", [("error", 10.0, "内部错误"), ("slow", 1.0, "超时")])
def test_server_error_and_timeout_fall_back_to_extractive(make_system, model, timeout, reason):
    ans = make_system(model, timeout).answerer.ask("银发经济是什么？")
    assert "大模型服务不可用" in ans.notice and reason in ans.notice
    assert ans.answer.startswith("银发经济是") and ans.citations  # never an empty reply


def test_missing_key_falls_back_with_clear_message(make_system, monkeypatch):
    system = make_system("good")
    monkeypatch.delenv("RAG_TEST_LLM_KEY")
    from rag.answer import build_answerer

    ans = build_answerer(system.settings, system.retriever).ask("银发经济是什么？")
    assert "未设置环境变量 RAG_TEST_LLM_KEY" in ans.notice and ans.citations


def test_unreachable_endpoint_message():
    import httpx

    assert describe_error(httpx.ConnectError("connect failed")) == "无法连接到模型服务"


@pytest.mark.slow
def test_eval_reports_llm_configs_beside_extractive_with_judge(corpus_system, server, tmp_path, monkeypatch):
    """`rag eval` with chat-model configurations on the dev split: offline faithfulness for each,
    the LLM judge beside it, and an invented quote caught by both."""
    import yaml

    from rag.evaluate import evaluate
    from rag.report import write_report

    monkeypatch.setenv("RAG_TEST_LLM_KEY", "sk-test-not-a-real-key")
    llm = {"provider": "openai", "base_url": server.base_url, "api_key_env": "RAG_TEST_LLM_KEY", "max_retries": 0}
    configs = tmp_path / "configs.yaml"
    configs.write_text(
        yaml.safe_dump(
            {
                "default": "hybrid",
                "configs": {
                    "hybrid": {"retrieval": {"mode": "hybrid"}},
                    "llm-good": {"llm": {**llm, "model": "good"}},
                    "llm-invented": {"llm": {**llm, "model": "invented"}},
                },
            }
        ),
        encoding="utf-8",
    )
    judge = build_chat_model(corpus_system.settings.llm.model_copy(update={**llm, "model": "judge"}))
    run = evaluate(
        corpus_system.settings, "dev", ["hybrid", "llm-good", "llm-invented"], progress=False, configs_path=configs, judge=judge
    )
    s = {n: c["summary"] for n, c in run.configs.items()}
    assert s["hybrid"]["fallback_rate"] == 0 and s["llm-good"]["fallback_rate"] == 0
    assert s["llm-good"]["faithfulness"] > 0.9 and s["llm-good"]["llm_judge_faithfulness"] > 0.9
    assert s["llm-invented"]["faithfulness"] < 0.1 and s["llm-invented"]["llm_judge_faithfulness"] < 0.1
    assert s["llm-invented"]["marked_rate"] > 0.9
    assert s["hybrid"]["llm_judge_faithfulness"] > 0.8  # the extractive answers are verbatim
    folder = write_report(run, tmp_path / "reports")
    text = (folder / "report.md").read_text(encoding="utf-8")
    assert "## LLM" in text and "llm.model=good" in text
    assert "sk-test" not in text and "sk-test" not in (folder / "report.json").read_text(encoding="utf-8")


def test_app_streams_llm_answer_rewrites_followup_and_offers_extractive_mode(make_system, server):
    import gradio as gr  # noqa: F401

    from rag.ui import EXTRACTIVE_MODE, ChatHandlers, answer_modes

    system = make_system("good")
    modes = answer_modes(system.settings)
    assert modes[0].startswith("大模型（good") and modes[1] == EXTRACTIVE_MODE
    chat = ChatHandlers(system)
    frames = list(chat.respond("银发经济是什么？", [], None, 5, [], modes[0]))
    history, sources, searched, conv = frames[-1][:4]
    assert len(frames) > 3 and "银发经济是" in history[-1]["content"] and "[1]" in history[-1]["content"]
    assert "发展银发经济利当前惠长远" in sources
    frames = list(chat.respond("它有什么意义？", history, conv, 5, [], modes[0]))
    searched = frames[-1][2]
    assert searched == "实际检索：银发经济是什么，它有什么意义？"  # written by the model from the history
    assert server.tasks[-2:] == ["rewrite", "answer"]
    n = len(server.requests)
    frames = list(chat.respond("银发经济是什么？", [], None, 5, [], EXTRACTIVE_MODE))
    assert len(server.requests) == n and "银发经济是" in frames[-1][0][-1]["content"]  # no model call


@pytest.mark.slow
def test_llm_quiz_items_checked_and_invented_ones_replaced(corpus_system, server, monkeypatch):
    from rag.quiz import BLANK, QuizError, build_quiz

    monkeypatch.setenv("RAG_TEST_LLM_KEY", "sk-test-not-a-real-key")

    def system_with(model):
        llm = corpus_system.settings.llm.model_copy(
            update={
                "provider": "openai",
                "model": model,
                "base_url": server.base_url,
                "api_key_env": "RAG_TEST_LLM_KEY",
                "max_retries": 0,
            }
        )
        return build_system(corpus_system.settings.model_copy(update={"llm": llm}))

    stats: dict = {}
    items = build_quiz(system_with("good"), 12, seed=3, writer="llm", stats=stats)
    assert len(items) == 12 and stats["llm_kept"] >= 10 and stats["llm_errors"] == 0
    for it in items:
        if it.type == "fill":
            assert it.question.replace(BLANK, it.answer) == it.citation.quote or it.answer in it.citation.quote
        if it.type == "choice":
            assert it.options["ABCD".index(it.answer)] in it.citation.quote or it.citation.occasion
    stats = {}
    items = build_quiz(system_with("invented"), 8, seed=3, writer="llm", stats=stats)
    assert len(items) == 8 and stats["llm_kept"] == 0 and stats["llm_dropped"] >= 8  # rule-built instead
    assert all("国内生产总值的一半" not in it.question for it in items)
    with pytest.raises(QuizError, match="需要先配置大模型"):
        build_quiz(corpus_system, 4, writer="llm")


def test_llm_answer_is_a_langchain_runnable(make_system, server):
    from langchain_core.runnables import Runnable

    from rag.answer import Answer

    system = make_system("good")
    chain = system.answerer.chain()  # retrieve | answerability | prompt | chat model | verify
    assert isinstance(chain, Runnable)
    ans = chain.invoke({"question": "银发经济是什么？"})
    assert isinstance(ans, Answer) and not ans.refused and ans.citations[0].title == "发展银发经济利当前惠长远"
    sent = server.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user"] and "<资料>" in sent[-1]["content"]
    both = chain.batch([{"question": "银发经济是什么？"}, {"question": "梅西在哪个俱乐部踢球？"}])
    assert not both[0].refused and both[1].refused  # the second is refused before the model is asked

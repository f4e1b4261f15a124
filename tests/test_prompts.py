import pytest

from rag.prompts import Prompt, PromptError, load_prompt


def test_all_prompts_load_with_their_variables():
    assert load_prompt("answer").variables == ["question", "passages"]
    assert load_prompt("rewrite").variables == ["history", "question"]
    for name in ("system", "quiz", "judge"):
        assert load_prompt(name).template
    text = load_prompt("answer").format(question="问", passages="[1] 资料")
    assert "<资料>" in text and "</资料>" in text and "问题：问" in text


def test_bad_prompt_files_rejected(tmp_path):
    (tmp_path / "x.yaml").write_text("description: d\nvariables: [a]\ntemplate: 'no vars'\nextra: 1\n", encoding="utf-8")
    with pytest.raises(PromptError, match="extra"):
        load_prompt("x", tmp_path)
    (tmp_path / "y.yaml").write_text("description: d\nvariables: [a]\ntemplate: '{b}'\n", encoding="utf-8")
    with pytest.raises(PromptError, match="declares"):
        load_prompt("y", tmp_path)
    with pytest.raises(PromptError, match="not found"):
        load_prompt("missing", tmp_path)
    with pytest.raises(PromptError, match="missing"):
        Prompt(description="d", variables=["a"], template="{a}").format()

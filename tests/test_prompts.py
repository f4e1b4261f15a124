import pytest

from rag.prompts import PromptError, chat_prompt, load_prompt


def test_all_prompts_load_with_their_variables():
    assert load_prompt("answer").variables == ["question", "passages"]
    assert load_prompt("rewrite").variables == ["history", "question"]
    for name in ("system", "quiz", "judge"):
        assert load_prompt(name).template
    text = chat_prompt("answer").format_messages(question="问", passages="[1] 资料")[-1].content
    assert "<资料>" in text and "</资料>" in text and "问题：问" in text


def test_every_task_prompt_is_a_chat_prompt_template_with_its_declared_variables():
    from langchain_core.prompts import ChatPromptTemplate

    from rag.llm import TASKS

    for name in TASKS:
        chat = chat_prompt(name)
        assert isinstance(chat, ChatPromptTemplate) and set(chat.input_variables) == set(load_prompt(name).variables)
    roles = [m.type for m in chat_prompt("answer").format_messages(question="问", passages="[1] 资料")]
    assert roles == ["system", "human"]  # answer.yaml names system.yaml as its system message
    assert [m.type for m in chat_prompt("rewrite").format_messages(history="问：甲", question="乙")] == ["human"]


def test_literal_braces_in_a_prompt_reach_the_model_as_braces():
    """quiz.yaml shows a JSON example: written {{ }} in the file, sent as { } and no variable."""
    text = chat_prompt("quiz").format_messages(passage="资料{x}", type="填空题")[-1].content
    assert '{"question": "题目", "options": ["选项"]' in text and "资料{x}" in text  # a value's braces stay too


def test_bad_prompt_files_rejected(tmp_path):
    (tmp_path / "x.yaml").write_text("description: d\nvariables: [a]\ntemplate: 'no vars'\nextra: 1\n", encoding="utf-8")
    with pytest.raises(PromptError, match="extra"):
        load_prompt("x", tmp_path)
    (tmp_path / "y.yaml").write_text("description: d\nvariables: [a]\ntemplate: '{b}'\n", encoding="utf-8")
    with pytest.raises(PromptError, match="declares"):
        load_prompt("y", tmp_path)
    with pytest.raises(PromptError, match="not found"):
        load_prompt("missing", tmp_path)
    (tmp_path / "z.yaml").write_text("description: d\nvariables: [a]\ntemplate: '{a} 输出 {\"k\": 1}'\n", encoding="utf-8")
    with pytest.raises(PromptError, match="literal brace"):  # an unescaped JSON example
        load_prompt("z", tmp_path)
    (tmp_path / "w.yaml").write_text("description: d\nvariables: [a]\ntemplate: '{a} 只有 }'\n", encoding="utf-8")
    with pytest.raises(PromptError, match="literal brace"):
        load_prompt("w", tmp_path)
    (tmp_path / "v.yaml").write_text("description: d\nvariables: [a]\ntemplate: '{a}'\nsystem: missing\n", encoding="utf-8")
    with pytest.raises(PromptError, match="not found"):  # the system prompt it names
        chat_prompt("v", tmp_path)

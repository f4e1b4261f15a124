from rag.answer import Answer
from rag.conversation import Conversation, Turn, rewrite_followup, subject_of


def _turn(query: str, answer: str = "x[1]") -> Turn:
    return Turn(query, query, Answer(query, answer, False))


def test_subject_of_question():
    assert subject_of("什么是新质生产力？") == "新质生产力"
    assert subject_of("未来产业有哪些特征") == "未来产业有哪些特征".replace("有哪些特征", "")
    assert subject_of("银发经济是什么") == "银发经济"


def test_pronoun_followup_uses_previous_subject():
    assert rewrite_followup("它的特征呢？", _turn("什么是新质生产力？")) == "新质生产力的特征呢？"
    assert rewrite_followup("其发展重点有哪些", _turn("银发经济是什么")) == "银发经济发展重点有哪些"


def test_fragment_followup_completed():
    assert rewrite_followup("特征呢？", _turn("什么是未来产业")) == "未来产业的特征"


def test_item_reference_uses_previous_answer_item():
    prev = _turn(
        "发展未来产业需要处理好哪几对关系",
        "要处理好以下几对关系。[1]\n- 一是创新推动与需求拉动的关系。[1]\n- 二是基础研究与产业创新的关系。[1]",
    )
    assert rewrite_followup("第二点具体怎么说", prev).startswith("二是基础研究与产业创新的关系。")


def test_standalone_question_unchanged():
    prev = _turn("什么是新质生产力")
    assert rewrite_followup("银发经济是什么？", prev) == "银发经济是什么？"
    assert rewrite_followup("它是什么", None) == "它是什么"


def test_conversation_markdown_export_includes_citations():
    conv = Conversation()
    conv.add("问", "问", Answer("问", "答[1]", False))
    md = conv.markdown()
    assert "## 问题 1：问" in md and r"答\[1\]" in md  # [1] escaped: shown as text in any viewer


def test_llm_rewrite_bounds_history_by_tokens_and_falls_back_to_rules():
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from rag.conversation import llm_rewrite

    class Recording(FakeListChatModel):
        prompts: list = []

        def invoke(self, prompt, *a, **kw):
            self.prompts.append(prompt.to_string())  # the ChatPromptTemplate's messages
            return super().invoke(prompt, *a, **kw)

    old = [Turn(f"旧问题{i}", f"旧问题{i}", Answer("", "很长的旧回答。" * 40, False)) for i in range(6)]
    last = Turn("未来产业有哪些特征？", "未来产业有哪些特征？", Answer("", "以前沿技术为支撑。[1]", False))
    model = Recording(responses=["未来产业的第二个特征具体怎么说？\n多余的解释"])
    out = llm_rewrite(model, old + [last], "第二点具体怎么说", max_tokens=200)
    assert out == "未来产业的第二个特征具体怎么说？"  # first line only
    prompt = model.prompts[-1]
    assert "未来产业有哪些特征" in prompt and "旧问题0" not in prompt  # oldest turns cut by the token budget
    assert "[1]" not in prompt

    class Down(FakeListChatModel):
        def invoke(self, prompt, *a, **kw):
            raise ConnectionError("down")

    assert (
        llm_rewrite(
            Down(responses=[]), [Turn("新质生产力是什么？", "新质生产力是什么？", Answer("", "…", False))], "它的特征呢？"
        )
        == "新质生产力的特征呢？"
    )

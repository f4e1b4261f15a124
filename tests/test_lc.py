"""The knowledge base composed with a LangChain chain: the README example, run as written."""

import pytest
from langchain_core.documents import Document

pytestmark = pytest.mark.slow


def test_retriever_is_a_langchain_retriever_returning_documents(corpus_system):
    from langchain_core.retrievers import BaseRetriever

    kb = corpus_system.retriever.as_langchain(k=3)
    assert isinstance(kb, BaseRetriever)
    docs = kb.invoke("余澳、柯遵义认为发展未来产业有什么作用？")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    # the linked author's passages come first, metadata intact
    assert "余澳" in docs[0].metadata["authors"] and docs[0].metadata["source"] and docs[0].id
    assert [d.metadata["rank"] for d in docs] == [1, 2, 3]
    assert kb.batch(["什么是新质生产力？", "什么是未来产业？"])[1][0].page_content


def test_readme_example_runs(corpus_system):
    # --- README: "LangChain" example (keep in step) ---
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnableLambda, RunnablePassthrough

    retriever = corpus_system.retriever.as_langchain(k=4)
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "只依据资料回答，并注明出处。\n资料：\n{context}"),
            ("human", "{question}"),
        ]
    )
    cite = RunnableLambda(lambda docs: "\n".join(f"《{d.metadata['title']}》{d.page_content}" for d in docs))
    chain = {"context": retriever | cite, "question": RunnablePassthrough()} | prompt  # | your chat model
    messages = chain.invoke("新质生产力的特点是什么？").to_messages()
    # --- end of example ---
    assert "资料：\n《" in messages[0].content and messages[1].content == "新质生产力的特点是什么？"

"""The sentence-transformers backend end to end (ingest -> retrieve) with a tiny model this test
builds and saves itself: a BERT with a character WordPiece vocabulary and no pretrained weights
(nothing is downloaded). Needs the `st` extra, which `make test` installs: without it this fails."""

import numpy as np
import pytest

DOCS = {
    "quantum.txt": "量子计算利用量子比特的叠加与纠缠进行计算。量子通信和量子测量也是未来产业的重要方向。",
    "farm.txt": "现代农业依靠良种、农机和水利设施提高粮食产量。农民合作社帮助小农户对接市场。",
    "ocean.txt": "海洋经济包括海洋渔业、海洋运输和海上风电。深海装备是海洋产业的新方向。",
}


def build_tiny_model(folder):
    """A BERT whose output is a bag of characters: no layers, one embedding axis per vocabulary entry
    (identity word embeddings, zero position embeddings), mean-pooled and normalised. Real
    sentence-transformers modules saved to a folder, the way a downloaded bge/m3e/e5 folder is laid out;
    its known behaviour (texts sharing characters are near) lets the test check the ranking."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    chars = sorted({c for text in DOCS.values() for c in text} | set("什么是哪些"))
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    vocab = folder / "vocab.txt"
    vocab.parent.mkdir(parents=True, exist_ok=True)
    vocab.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    config = BertConfig(
        vocab_size=len(tokens),
        hidden_size=len(tokens),
        num_hidden_layers=0,
        num_attention_heads=1,
        intermediate_size=4,
        max_position_embeddings=512,
    )
    bert = BertModel(config, add_pooling_layer=False)
    with torch.no_grad():
        bert.embeddings.word_embeddings.weight.copy_(torch.eye(len(tokens)))
        bert.embeddings.word_embeddings.weight[:5] = 0  # [PAD], [CLS], [SEP]… carry no meaning
        bert.embeddings.position_embeddings.weight.zero_()
        bert.embeddings.token_type_embeddings.weight.zero_()
    bert_dir = folder / "bert"
    bert.save_pretrained(bert_dir)
    BertTokenizerFast(vocab=str(vocab), do_lower_case=False).save_pretrained(bert_dir)
    word = Transformer(str(bert_dir), max_seq_length=256)
    model = SentenceTransformer(modules=[word, Pooling(word.get_embedding_dimension(), "mean"), Normalize()])
    model.save(str(folder / "tiny-st"))
    return folder / "tiny-st", len(tokens)


@pytest.mark.slow  # imports torch and builds a model (about 10 s)
def test_sentence_transformers_backend_ingests_and_retrieves(tmp_path):
    from rag.embeddings import SentenceTransformerEmbedder
    from rag.system import build_system

    from conftest import load_test_settings

    model, dim = build_tiny_model(tmp_path / "model")
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    s = load_test_settings(
        home=str(tmp_path / "home"),
        corpus={"path": str(docs)},
        embedding={"provider": "sentence-transformers", "model": str(model), "query_prefix": "", "passage_prefix": ""},
    )
    system = build_system(s)
    assert isinstance(system.embedder, SentenceTransformerEmbedder) and system.embedder.dim == dim
    summary = system.ingestor.ingest([docs], progress=False)
    assert not summary.failed and system.store.count() == 3
    vectors = system.embedder.embed_passages(list(DOCS.values()))
    assert vectors.shape == (3, dim) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for question, source in [
        ("量子比特的叠加是什么", "quantum.txt"),
        ("农民合作社和粮食产量", "farm.txt"),
        ("海上风电和深海装备", "ocean.txt"),
    ]:
        dense = system.retriever.retrieve(question, top_k=3, mode="dense")
        assert [p.metadata["source"] for p in dense][0] == source, (question, [(p.metadata["source"], p.score) for p in dense])
    # Ingesting the unchanged folder again embeds nothing: the index knows it was built by this model.
    assert not system.ingestor.ingest([docs], progress=False).changed_anything

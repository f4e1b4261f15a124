"""The batch interface's schema, and a bad line that does not stop the rest."""

import json

import pytest

from rag.batch import answer_file

pytestmark = pytest.mark.slow


def test_batch_schema_and_bad_lines(corpus_system, tmp_path):
    src = tmp_path / "q.jsonl"
    src.write_text(
        "\n".join(
            [
                json.dumps({"id": "q1", "question": "银发经济是什么", "type": "definition"}, ensure_ascii=False),
                "{not json",
                json.dumps({"id": "q3", "question": ""}),
                json.dumps({"id": "q4", "question": "如何做红烧肉"}, ensure_ascii=False),
                json.dumps({"id": "q5"}),
            ]
        ),
        encoding="utf-8",
    )
    out = tmp_path / "a.jsonl"
    stats = answer_file(corpus_system.answerer, src, out, progress=False)
    assert stats == {"answered": 2, "refused": 1, "errors": 3}
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in recs] == ["q1", "line-2", "q3", "q4", "q5"]
    ok = recs[0]
    assert set(ok) >= {"id", "question", "answer", "refused", "citations", "contexts", "latency_ms"}
    assert isinstance(ok["answer"], str) and ok["refused"] is False and ok["latency_ms"] > 0
    for c in ok["citations"]:
        assert set(c) >= {"n", "source", "title", "text", "quote"} and c["quote"] in c["text"] or c["quote"]
    assert len(ok["contexts"]) >= 10
    assert [c["rank"] for c in ok["contexts"]] == list(range(1, len(ok["contexts"]) + 1))
    for c in ok["contexts"]:
        assert set(c) >= {"rank", "source", "title", "text", "score"}
    assert recs[3]["refused"] is True and recs[3]["citations"] == []
    assert all("error" in recs[i] for i in (1, 2, 4))

"""The question set's checker, the split, scoring of batch records, and the gate."""

import collections
import json

import pytest

from rag.evaluate import Run, aggregate, check_gate, load_questions, score, support_threshold, verify_questions

from conftest import CORPUS, ROOT


def test_every_quote_and_key_string_is_in_the_corpus():
    questions = load_questions(ROOT / "evals/questions.jsonl", "all")
    assert verify_questions(questions, CORPUS) == []


def test_set_size_coverage_and_split():
    qs = load_questions(ROOT / "evals/questions.jsonl", "all")
    assert len(qs) >= 120 and len({q.id for q in qs}) == len(qs)
    types = collections.Counter(q.type for q in qs)
    assert types["unanswerable"] >= 12
    assert set(types) == {"fact", "definition", "list", "paraphrase", "synthesis", "unanswerable"}
    per_doc = collections.Counter(d for q in qs for d in {e["doc"] for e in q.evidence})
    assert len(per_doc) == 5 and min(per_doc.values()) >= 15
    assert {q.split for q in qs} == {"dev", "test"}
    assert 0.3 < sum(q.split == "dev" for q in qs) / len(qs) < 0.5


def test_support_threshold_calibrated_on_about_fifty_labels():
    labels = (ROOT / "evals/support_labels.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(labels) >= 50
    t, acc = support_threshold(ROOT / "evals/support_labels.jsonl")
    assert 0.5 <= t <= 0.95 and acc >= 0.85


def _q():
    return load_questions(ROOT / "evals/questions.jsonl", "all")


def test_score_record_and_refusals():
    q = next(q for q in _q() if q.type == "fact" and len(q.evidence) == 1)
    quote = q.evidence[0]["quote"]
    good = {
        "answer": f"{quote}。[1]",
        "refused": False,
        "latency_ms": 5,
        "citations": [{"n": 1, "text": f"前文。{quote}。后文。"}],
        "contexts": [{"rank": 1, "text": f"前文。{quote}。后文。"}],
    }
    row = score(q, good, 0.84)
    assert row["recall@1"] == 1.0 and row["key_recall"] == 1.0 and row["faithfulness"] == 1.0
    una = next(q for q in _q() if q.type == "unanswerable")
    rows = [row, score(una, {"answer": "资料中未找到", "refused": True, "contexts": [], "latency_ms": 3}, 0.84)]
    summary = aggregate(rows)
    assert summary["refusal_recall"] == 1.0 and summary["false_refusal_rate"] == 0.0
    assert summary["recall@1"] == 1.0


def test_gate(tmp_path):
    run = Run("test", 0.84, 0.9, evals=ROOT / "evals")
    run.configs["hybrid"] = {"summary": {"recall@5": 0.8, "false_refusal_rate": 0.1}, "by_type": {}, "rows": [], "records": []}
    gate = tmp_path / "gate.yaml"
    gate.write_text("config: hybrid\nmin:\n  recall@5: 0.75\nmax:\n  false_refusal_rate: 0.2\n")
    assert check_gate(run, gate) == []
    gate.write_text("config: hybrid\nmin:\n  recall@5: 0.9\n")
    assert check_gate(run, gate) == ["own/hybrid: recall@5 = 0.8 < 0.9"]
    # Thresholds per question set: the external set's apply to a run on it.
    run.qset = "external"
    gate.write_text("config: hybrid\nsets:\n  own: {min: {recall@5: 0.9}}\n  external: {min: {recall@5: 0.7}}\n")
    assert check_gate(run, gate) == []


def test_failure_causes():
    from rag.evaluate import Question, failure_cause

    q = Question("x", "问", "fact", "答", ["甲"], [{"doc": "d", "quote": "甲"}])
    una = Question("u", "问", "unanswerable", "", [], [])
    assert failure_cause(q, {"refused": False, "key_recall": 1.0, "recall@10": 1.0}) == ""
    assert failure_cause(q, {"refused": True, "key_recall": 0.0, "recall@10": 0.0}) == "not_retrieved"
    assert failure_cause(q, {"refused": True, "key_recall": 0.0, "recall@10": 1.0}) == "refused_with_evidence"
    assert failure_cause(q, {"refused": False, "key_recall": 0.5, "recall@10": 1.0}) == "not_chosen"
    assert failure_cause(una, {"refused": False}) == "answered_without_evidence"
    assert failure_cause(una, {"refused": True}) == ""


def test_external_set_is_in_the_project_with_both_splits():
    from rag.evaluate import question_files

    qs = load_questions(question_files(ROOT / "evals")["external"], "all")
    assert len(qs) == 160 and {q.split for q in qs} == {"dev", "test"}
    # Its quotes are substrings of the raw documents once whitespace is removed (its README's promise).
    import re

    docs = {p.name: re.sub(r"\s+", "", p.read_text(encoding="utf-8")) for p in (ROOT / "corpus").glob("*.txt")}
    for q in qs:
        for e in q.evidence:
            assert re.sub(r"\s+", "", e["quote"]) in docs[e["doc"]], (q.id, e["quote"])


def test_probe_set_is_in_the_project_with_its_quotes_in_the_cleaned_documents():
    # Written from the cleaned text (rag.cleaning), so its quotes are found there, not in the raw files.
    import re

    from rag.cleaning import clean_text
    from rag.evaluate import question_files

    qs = load_questions(question_files(ROOT / "evals")["probe"], "all")
    assert len(qs) == 196 and {q.split for q in qs} == {"dev", "test"} and len({q.id for q in qs}) == 196
    docs = {p.name: re.sub(r"\s+", "", clean_text(p.read_text(encoding="utf-8"))) for p in (ROOT / "corpus").glob("*.txt")}
    for q in qs:
        for e in q.evidence:
            assert re.sub(r"\s+", "", e["quote"]) in docs[e["doc"]], (q.id, e["quote"])
        assert q.answerable == bool(q.evidence)


@pytest.mark.slow
def test_external_answers_file_scored_and_report_written(corpus_system, tmp_path, monkeypatch):
    from rag.batch import answer_file
    from rag.evaluate import evaluate
    from rag.report import write_report

    monkeypatch.chdir(ROOT)
    dev = [q for q in _q() if q.split == "dev"][:12]
    src = tmp_path / "q.jsonl"
    src.write_text("\n".join(json.dumps({"id": q.id, "question": q.question}, ensure_ascii=False) for q in dev))
    out = tmp_path / "a.jsonl"
    answer_file(corpus_system.answerer, src, out, progress=False)
    run = evaluate(corpus_system.settings, "dev", answers=out, progress=False)
    (summary,) = [c["summary"] for c in run.configs.values()]
    assert summary["n"] == len([q for q in _q() if q.split == "dev"])
    assert summary["errors"] == summary["n"] - 12  # questions the file does not answer count as errors
    folder = write_report(run, tmp_path / "reports")
    text = (folder / "report.md").read_text(encoding="utf-8")
    assert "## Retrieval" in text and "## 失败的题目（按原因）" in text and "Commit `" in text
    assert (folder / "by_config-own.png").stat().st_size > 1000 and (folder / "report.json").exists()


def test_judge_verdict_parsed():
    from rag.evaluate import parse_judgement

    assert parse_judgement("陈述一 —— 支持\n陈述二 —— 不支持\n结论：1/2") == 0.5
    assert parse_judgement("2024/3 的数据 —— 支持\n结论: 3 / 3") == 1.0
    assert parse_judgement("全部支持，共 2/2") == 1.0  # no 结论 line: the last ratio
    assert parse_judgement("无法判断") is None and parse_judgement("结论：0/0") is None


def _hand_run(key_recall_shift: float = 0.0) -> Run:
    """A run of three real questions with hand-made answers: one correct although its evidence
    sentence was not retrieved (the same fact quoted from elsewhere), one missing a key string,
    one unanswerable answered."""
    from rag.evaluate import aggregate, by_type

    qs = _q()
    correct = next(q for q in qs if q.type == "fact" and len(q.evidence) == 1)
    partial = next(q for q in qs if q.type == "list" and len(q.must_contain) >= 2)
    una = next(q for q in qs if q.type == "unanswerable")
    elsewhere = {"rank": 1, "title": "别处", "text": "另一段也写到：" + "，".join(correct.must_contain) + "。"}
    ev = partial.evidence[0]["quote"]
    records = [
        {
            "question": correct.question,
            "answer": "，".join(correct.must_contain) + "。[1]",
            "refused": False,
            "citations": [{"n": 1, "text": elsewhere["text"], "title": "别处", "section": "一、"}],
            "contexts": [elsewhere],
        },
        {
            "question": partial.question,
            "answer": partial.must_contain[0] + "。[1]",
            "refused": False,
            "citations": [{"n": 1, "text": ev, "title": "某文", "section": ""}],
            "contexts": [{"rank": 1, "title": "某文", "text": ev}],
        },
        {
            "question": una.question,
            "answer": "随便说一句。[1]",
            "refused": False,
            "confidence": 0.4,
            "citations": [{"n": 1, "text": "随便说一句。", "title": "某文", "section": ""}],
            "contexts": [{"rank": 1, "title": "某文", "text": "随便说一句。"}],
        },
    ]
    rows = [score(q, r, 0.84) for q, r in zip([correct, partial, una], records, strict=True)]
    for r in rows:
        if "key_recall" in r:
            r["key_recall"] = min(1.0, r["key_recall"] + key_recall_shift)
    run = Run("dev", 0.84, 0.9, qset="own", evals=ROOT / "evals", env={"commit": "abc1234", "machine": "m", "load_start": [1.0]})
    run.configs["hybrid"] = {
        "summary": aggregate(rows),
        "by_type": by_type(rows),
        "rows": rows,
        "records": records,
        "overrides": {"retrieval": {"mode": "hybrid"}},
        "index": {"fingerprint": "f" * 16, "documents": 5, "chunks": 494, "reused": True, "folder": "/h/eval-index/chunk320-x"},
    }
    return run


def test_report_says_why_by_cause_and_what_changed(tmp_path):
    """Failures by cause with the reason, correct answers kept out of the failures (with why their
    recall is 0), the comparison with the previous report, and the run's provenance (issue 13)."""
    from rag.report import write_report

    root = tmp_path / "reports"
    first = write_report(_hand_run(), root, previous_root=root)
    text = (first / "report.md").read_text(encoding="utf-8")
    assert "No earlier report" in text
    assert "fingerprint `ffffffffffffffff`" in text and "Commit `abc1234`" in text and "reused unchanged" in text
    assert "| hybrid | 2 / 3 | 0 | 1 | 0 | 1 |" in text
    failed = text.split("## 失败的题目")[1].split("## 答对但证据不在前 5")[0]
    assert "misses key strings" in failed and "unanswerable question answered" in failed
    correct = text.split("## 答对但证据不在前 5")[1]
    assert "(1)" in correct.splitlines()[0] and "no rank in the top 10" in correct and "《别处》" in correct
    import time as _t

    _t.sleep(1.1)  # report folders are named by the second
    second = write_report(_hand_run(0.5), root, previous_root=root)
    text = (second / "report.md").read_text(encoding="utf-8")
    assert f"Previous: `evals/reports/{first.name}` (commit `abc1234`)" in text
    assert "| hybrid | key_recall |" in text and "+0." in text
    for chart in ("by_config-own.png", "by_type-own.png"):
        assert (second / chart).stat().st_size > 10_000


def test_each_configuration_has_its_own_index_folder(settings):
    from rag.evaluate import config_settings

    a = config_settings(settings, {"retrieval": {"mode": "hybrid"}})
    b = config_settings(settings, {"retrieval": {"mode": "bm25"}})
    c = config_settings(settings, {"chunking": {"chunk_tokens": 200}})
    assert a.home.parent == settings.home / "eval-index" and a.home == b.home  # same chunks: one index
    assert c.home != a.home and c.home.name.startswith("chunk200-")


def test_evaluation_ignores_uploads_and_reuses_its_index(settings, tmp_path):
    """An upload in the app's index is not in the evaluation's; a second run embeds nothing."""
    from rag.evaluate import Question, config_settings, run_config
    from rag.kb import add_uploads
    from rag.system import build_system

    docs = tmp_path / "corpus"
    docs.mkdir()
    (docs / "silver.md").write_text("# 银发经济\n\n银发经济是向老年人提供产品或服务的经济活动的总和。\n", encoding="utf-8")
    s = settings.model_copy(update={"corpus": settings.corpus.model_copy(update={"path": docs})})
    app = build_system(s)
    app.ingestor.ingest([docs], progress=False)
    upload = tmp_path / "伪造.md"
    upload.write_text("# 伪造\n\n银发经济是伪造的上传文本所写的另一种说法。\n", encoding="utf-8")
    add_uploads(app, [upload])
    q = Question("x", "银发经济是什么？", "definition", "", ["老年人"], [{"doc": "silver.md", "quote": "老年人"}])
    cs = config_settings(s, {})
    records, index = run_config(cs, [q], progress=False)
    assert index["documents"] == 1 and not index["reused"] and len(index["fingerprint"]) == 16
    assert {c["source"] for c in records[0]["citations"]} == {"silver.md"}
    _, again = run_config(cs, [q], progress=False)
    assert again["reused"] and again["embedded"] == 0 and again["fingerprint"] == index["fingerprint"]


def test_rag_eval_runs_from_another_directory_with_the_projects_evals(tmp_path, monkeypatch):
    """evals/ comes from the project (the settings file's folder), not the working directory: a
    project whose question set has 3 dev questions is scored on those 3 from an unrelated folder."""
    from click.testing import CliRunner

    from rag.cli import cli

    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "evals").mkdir(parents=True), elsewhere.mkdir()
    dev = [q for q in _q() if q.split == "dev" and q.answerable][:3]
    lines = [
        line
        for line in (ROOT / "evals/questions.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["id"] in {q.id for q in dev}
    ]
    (project / "evals/questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name in ("external.jsonl", "probe.jsonl", "configs.yaml", "support_labels.jsonl"):
        (project / "evals" / name).write_bytes((ROOT / "evals" / name).read_bytes())
    (project / "settings.yaml").write_text(f"corpus:\n  path: {CORPUS}\n", encoding="utf-8")
    answers = elsewhere / "answers.jsonl"
    answers.write_text(
        "".join(
            json.dumps(
                {"id": q.id, "question": q.question, "answer": q.answer, "refused": False, "citations": [], "contexts": []},
                ensure_ascii=False,
            )
            + "\n"
            for q in dev
        ),
        encoding="utf-8",
    )
    monkeypatch.chdir(elsewhere)
    r = CliRunner().invoke(
        cli,
        [
            "--settings",
            str(project / "settings.yaml"),
            "eval",
            "--split",
            "dev",
            "--answers",
            str(answers),
            "--quiet",
            "--out",
            str(elsewhere / "reports"),
        ],
        obj={},
    )
    assert r.exit_code == 0, r.output
    report = json.loads(next((elsewhere / "reports").glob("*/report.json")).read_text(encoding="utf-8"))
    (config,) = report["configs"].values()
    assert config["summary"]["n"] == 3 and config["summary"]["errors"] == 0

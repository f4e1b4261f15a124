"""The evaluation harness: a held-out question set, several configurations in one run, reports
a person can read (Markdown + charts) and a machine can compare (JSON), and a CI gate.

Any system's answers in the batch format (`rag answer`) can be scored on the same set.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from tqdm import tqdm

from . import metrics as M
from .settings import Settings

# The question sets: ours; one written independently (the external set); and the probe set, written
# by study-group probes from the documents alone, without seeing any set or the system. Tune on dev,
# quote test.
QUESTION_SETS = {"own": "questions.jsonl", "external": "external.jsonl", "probe": "probe.jsonl"}
# The sets `rag fit` fits on (their dev splits). Not the probe set: refitting with its dev split
# added raised false refusals on every test split (measured 2026-11-30, README "评测").
FIT_SETS = ("own", "external")


def question_files(evals: Path) -> dict[str, Path]:
    """The question sets under ``evals`` (``settings.evals``: the project's evals/, wherever the command runs)."""
    return {name: evals / file for name, file in QUESTION_SETS.items()}


def sets_of_answers(path: Path, evals: Path) -> list[str]:
    """The question sets whose ids an answers file (batch format) answers."""
    ids = {json.loads(line).get("id") for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()}
    return [name for name, file in question_files(evals).items() if ids & {q.id for q in load_questions(file, "all")}]


RETRIEVAL_KEYS = ["recall@1", "recall@3", "recall@5", "recall@10", "all_evidence@5", "mrr@10", "ndcg@10"]
ANSWER_KEYS = ["key_recall", "char_f1", "faithfulness", "citation_recall", "citation_precision", "number_fidelity"]
REFUSAL_KEYS = ["refusal_recall", "false_refusal_rate"]
# Shown when a configuration uses a chat model or the LLM judge ran; never replaces the offline metrics.
LLM_KEYS = ["llm_judge_faithfulness", "marked_rate", "fallback_rate"]


@dataclass
class Question:
    id: str
    question: str
    type: str
    answer: str
    must_contain: list[str]
    evidence: list[dict]
    split: str = "test"

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


def load_questions(path: Path, split: str | None = None) -> list[Question]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = Question(**json.loads(line))
            if split in (None, "all") or q.split == split:
                out.append(q)
    return out


def verify_questions(questions: list[Question], corpus_dir: Path) -> list[str]:
    """Problems with the set: quotes not in their document (after whitespace removal), key
    strings missing from the reference answer or the evidence, unanswerables with evidence."""
    from .cleaning import clean_text

    docs: dict[str, str] = {}
    problems = []
    for q in questions:
        if not q.answerable:
            if q.evidence or q.must_contain:
                problems.append(f"{q.id}: unanswerable question has evidence or key strings")
            continue
        if not q.evidence or not q.must_contain:
            problems.append(f"{q.id}: answerable question needs evidence and key strings")
        for e in q.evidence:
            if e["doc"] not in docs:
                docs[e["doc"]] = re.sub(r"\s+", "", clean_text((corpus_dir / e["doc"]).read_text(encoding="utf-8")))
            if re.sub(r"\s+", "", e["quote"]) not in docs[e["doc"]]:
                problems.append(f"{q.id}: quote not found in {e['doc']}: {e['quote'][:40]}")
        ev = "".join(re.sub(r"\s+", "", e["quote"]) for e in q.evidence)
        for k in q.must_contain:
            kk = re.sub(r"\s+", "", k)
            if kk not in re.sub(r"\s+", "", q.answer) or kk not in ev:
                problems.append(f"{q.id}: key string {k!r} not in the reference answer and the evidence")
    return problems


def support_threshold(path: Path) -> tuple[float, float]:
    """The support threshold calibrated on the hand-labelled sentences (threshold, accuracy)."""
    if not path.exists():
        return M.DEFAULT_SUPPORT_THRESHOLD, float("nan")
    labels = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return M.calibrate_threshold(labels)


def score(q: Question, rec: dict, threshold: float) -> dict:
    """Scores of one batch-format record against its question."""
    if "error" in rec:
        return {"id": q.id, "type": q.type, "error": rec["error"]}
    passages = [c["text"] for c in sorted(rec.get("contexts", []), key=lambda c: c["rank"])]
    out: dict = {
        "id": q.id,
        "type": q.type,
        "refused": bool(rec.get("refused")),
        "latency_ms": rec.get("latency_ms", 0.0),
        "fallback": bool(rec.get("notice")),
        "marked": bool(rec.get("verification")),
    }
    if q.answerable:
        out.update(M.retrieval_scores(passages, [e["quote"] for e in q.evidence]))
        out["evidence_rank"] = round(1 / out["mrr@10"]) if out["mrr@10"] else None  # first passage holding evidence
        if not out["refused"]:
            out["missing_keys"] = [k for k in q.must_contain if M.key_recall(rec.get("answer", ""), [k]) < 1.0]
            cited = {c["n"]: c["text"] for c in rec.get("citations", [])}
            out["key_recall"] = M.key_recall(rec.get("answer", ""), q.must_contain)
            out["char_f1"] = M.char_f1(rec.get("answer", ""), q.answer)
            out.update(M.faithfulness_scores(rec.get("answer", ""), cited, threshold))
        else:
            out["key_recall"] = 0.0
            out["char_f1"] = 0.0
    out["cause"] = failure_cause(q, out)
    return out


# Why a question failed, in the order an engineer would look: retrieval, then choice, then refusal.
CAUSES = {
    "not_retrieved": "证据未检索到 evidence not retrieved",
    "not_chosen": "检索到但未选中 retrieved but not chosen",
    "refused_with_evidence": "有证据却拒答 refused with evidence",
    "answered_without_evidence": "无答案却作答 answered without evidence",
}


def failure_cause(q: Question, row: dict) -> str:
    """'' for a success (all key strings answered; an unanswerable refused), else one of CAUSES."""
    if not q.answerable:
        return "" if row["refused"] else "answered_without_evidence"
    if not row["refused"] and row.get("key_recall", 0.0) >= 0.999:
        return ""
    if row.get("recall@10", 0.0) == 0.0:
        return "not_retrieved"
    return "refused_with_evidence" if row["refused"] else "not_chosen"


def aggregate(rows: list[dict]) -> dict:
    """Means over questions; refusal recall over unanswerables; latency percentiles."""
    ok = [r for r in rows if "error" not in r]
    ans = [r for r in ok if r["type"] != "unanswerable"]
    una = [r for r in ok if r["type"] == "unanswerable"]
    out: dict = {"n": len(rows), "errors": len(rows) - len(ok)}
    for k in RETRIEVAL_KEYS + ["key_recall", "char_f1"]:
        vals = [r[k] for r in ans if k in r]
        out[k] = sum(vals) / len(vals) if vals else None
    for k in ["faithfulness", "citation_recall", "citation_precision", "number_fidelity"]:
        vals = [r[k] for r in ans if k in r]  # answered (not refused) questions only
        out[k] = sum(vals) / len(vals) if vals else None
    judged = [r["llm_judge"] for r in ans if "llm_judge" in r]
    out["llm_judge_faithfulness"] = sum(judged) / len(judged) if judged else None
    answered = [r for r in ans if not r["refused"]]
    out["marked_rate"] = sum(r.get("marked", False) for r in answered) / len(answered) if answered else None
    out["fallback_rate"] = sum(r.get("fallback", False) for r in ok) / len(ok) if ok else None
    out["refusal_recall"] = sum(r["refused"] for r in una) / len(una) if una else None
    out["false_refusal_rate"] = sum(r["refused"] for r in ans) / len(ans) if ans else None
    for cause in CAUSES:
        out[f"fail_{cause}"] = sum(r.get("cause") == cause for r in ok)
    lat = [r["latency_ms"] for r in ok]
    out["latency_p50_ms"] = M.percentile(lat, 50)
    out["latency_p95_ms"] = M.percentile(lat, 95)
    return out


def by_type(rows: list[dict]) -> dict[str, dict]:
    types = sorted({r["type"] for r in rows})
    return {t: aggregate([r for r in rows if r["type"] == t]) for t in types}


# -- LLM judge (optional) ----------------------------------------------------------------
_RATIO = re.compile(r"(\d+)\s*/\s*(\d+)")
_VERDICT = re.compile(r"结论\s*[:：]\s*(\d+)\s*/\s*(\d+)")


def parse_judgement(reply: str) -> float | None:
    """The judge's '结论：supported/total' (else its last ratio), or None when it gave none."""
    found = _VERDICT.findall(reply or "") or _RATIO.findall(reply or "")
    if not found:
        return None
    x, y = map(int, found[-1])
    return min(x, y) / y if y else None


def llm_judge(model, rows: list[dict], records: list[dict], progress: bool = True) -> None:
    """Add ``llm_judge`` (share of the answer's claims its cited passages support, as judged by the
    chat model with prompts/judge.yaml) to every answered row; failures are recorded, not raised."""
    from .llm import describe_error, task_chain
    from .prompts import as_data

    chain = task_chain("judge", model)
    todo = [
        (r, rec)
        for r, rec in zip(rows, records, strict=True)
        if "error" not in r and r["type"] != "unanswerable" and not r["refused"]
    ]
    for row, rec in tqdm(todo, desc="LLM judge", unit="q", disable=not progress):
        passages = "\n\n".join(f"[{c['n']}] {c['text']}" for c in rec.get("citations", []))
        try:
            reply = chain.invoke({"answer": as_data(rec.get("answer", "")), "passages": as_data(passages) or "（无）"})
        except Exception as exc:  # unreachable judge: the offline metrics still stand
            row["judge_error"] = describe_error(exc)
            continue
        value = parse_judgement(reply)
        if value is None:
            row["judge_error"] = "评审输出中没有“支持数/总数”"
        else:
            row["llm_judge"] = value


# -- configurations ---------------------------------------------------------------------
def load_configs(path: Path) -> tuple[str, dict[str, dict]]:
    """(default configuration, presets) of a configs.yaml (settings.evals / "configs.yaml")."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return data["default"], data["configs"]


def config_settings(base: Settings, overrides: dict) -> Settings:
    """Settings for one configuration, answering from its own index of ``corpus/``.

    The index lives in ``<home>/eval-index/<key>``, one per chunking and embedding (what decides
    the chunks and vectors), never in the app's index: what users uploaded cannot change a score.
    Re-ingesting an unchanged corpus embeds nothing, so the index is reused while unchanged."""
    data = base.model_dump()
    for section, values in overrides.items():
        data[section] = {**data[section], **values}
    s = Settings(**data)
    key = json.dumps(
        {"chunking": s.chunking.model_dump(), "embedding": s.embedding.model_dump(), "corpus": s.corpus.model_dump(mode="json")},
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    folder = f"chunk{s.chunking.chunk_tokens}-{digest}"
    # Its own collection too: with a Chroma server (store.mode: server) the folder alone would
    # leave the evaluation writing into the app's collection.
    store = s.store.model_copy(update={"collection": f"{s.store.collection}_eval_{digest}"})
    return s.model_copy(update={"home": base.home / "eval-index" / folder, "store": store})


def index_fingerprint(system) -> dict:
    """What the answers came from: a hash of every indexed file's bytes and chunking signature,
    with the embedding model; documents and chunks counted."""
    records = sorted((r.source, r.sha256, r.signature, r.chunks) for r in system.store.file_records().values())
    e = system.settings.embedding
    payload = json.dumps({"files": records, "embedding": [e.provider, e.model]}, ensure_ascii=False)
    return {
        "fingerprint": hashlib.sha256(payload.encode()).hexdigest()[:16],
        "documents": len(records),
        "chunks": sum(r[3] for r in records),
        "folder": str(system.settings.home),
    }


def environment(project: Path) -> dict:
    """The commit (of ``project``, the folder holding evals/), the machine and its load, for the
    report (runs on shared machines differ)."""
    import os
    import platform
    import subprocess

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, timeout=10)
            return out.stdout.strip() if out.returncode == 0 else ""
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if commit != "unknown" and git("status", "--porcelain", "--untracked-files=no", "--", "src", "evals"):
        commit += "+uncommitted"
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "commit": commit,
        "machine": platform.node(),
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_start": load,
    }


def run_config(settings: Settings, questions: list[Question], progress: bool = True, callback=None) -> tuple[list[dict], dict]:
    """Answer every question with one configuration; returns the records and the index used.

    The configuration's index is brought up to date with ``corpus/`` first (files no longer
    there are pruned)."""
    from .system import build_system

    system = build_system(settings)
    t0 = time.perf_counter()
    summary = system.ingestor.ingest([settings.corpus.path], prune=True, progress=False)
    index = index_fingerprint(system)
    index.update(
        reused=not summary.changed_anything, ingest_seconds=round(time.perf_counter() - t0, 1), embedded=summary.chunks_embedded
    )
    records = []
    for i, q in enumerate(tqdm(questions, desc="评测 eval", unit="q", disable=not progress)):
        records.append(system.answerer.ask(q.question).to_record(q.id))
        if callback:
            callback(i + 1, len(questions))
    return records, index


@dataclass
class Run:
    split: str
    threshold: float
    calibration_accuracy: float
    configs: dict[str, dict] = field(default_factory=dict)  # name -> {"summary", "by_type", "rows", "records", "overrides"}
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))
    qset: str = "own"  # which question set (QUESTION_SETS)
    evals: Path = Path("evals")  # the evals/ folder it was read from (settings.evals): its sets, gate and reports
    env: dict = field(default_factory=dict)  # commit, machine, load (environment())

    def to_json(self) -> dict:
        return {
            "set": self.qset,
            "split": self.split,
            "started": self.started,
            "support_threshold": self.threshold,
            "support_calibration_accuracy": self.calibration_accuracy,
            "environment": self.env,
            "configs": {
                n: {
                    "overrides": c.get("overrides", {}),
                    "index": c.get("index", {}),
                    "summary": c["summary"],
                    "by_type": c["by_type"],
                    "rows": c["rows"],
                }
                for n, c in self.configs.items()
            },
        }


def evaluate(
    settings: Settings,
    split: str = "test",
    config_names: list[str] | None = None,
    answers: Path | None = None,
    progress: bool = True,
    callback=None,
    configs_path: Path | None = None,
    judge=None,
    qset: str = "own",
) -> Run:
    """Run the configurations (or score an answers file) on one split of one question set.

    ``judge``: a chat model; when given, every answered question also gets the LLM-judge score.
    ``qset``: "own" (evals/questions.jsonl) or "external" (evals/external.jsonl).
    """
    if qset not in QUESTION_SETS:
        raise ValueError(f"unknown question set {qset!r}; known: {', '.join(QUESTION_SETS)}")
    questions = load_questions(question_files(settings.evals)[qset], split)
    threshold, accuracy = support_threshold(settings.evals / "support_labels.jsonl")
    run = Run(split, threshold, accuracy, qset=qset, env=environment(settings.evals.parent), evals=settings.evals)
    if answers is not None:
        recs = {r.get("id"): r for r in map(json.loads, Path(answers).read_text(encoding="utf-8").splitlines()) if r}
        missing = {"error": "no answer for this id"}
        records = [recs.get(q.id, missing) for q in questions]
        rows = [score(q, r, threshold) for q, r in zip(questions, records, strict=True)]
        if judge is not None:
            llm_judge(judge, rows, records, progress)
        run.configs[Path(answers).name] = {"summary": aggregate(rows), "by_type": by_type(rows), "rows": rows, "records": records}
        return run
    default, presets = load_configs(configs_path or settings.evals / "configs.yaml")
    for name in config_names or [default]:
        if name not in presets:
            raise ValueError(f"unknown configuration {name!r}; known: {', '.join(presets)}")
        cs = config_settings(settings, presets[name])
        records, index = run_config(cs, questions, progress, callback)
        rows = [score(q, r, threshold) for q, r in zip(questions, records, strict=True)]
        if judge is not None:
            llm_judge(judge, rows, records, progress)
        run.configs[name] = {
            "summary": aggregate(rows),
            "by_type": by_type(rows),
            "rows": rows,
            "records": records,
            "overrides": presets[name],
            "index": index,
        }
    try:
        import os

        run.env["load_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return run


def check_gate(run: Run, gate_path: Path) -> list[str]:
    """Failures of the gate's thresholds (empty when it passes)."""
    gate = yaml.safe_load(Path(gate_path).read_text(encoding="utf-8"))
    name = gate.get("config") if gate.get("config") in run.configs else next(iter(run.configs))
    prefix = f"{run.qset}/"
    if "sets" in gate:  # thresholds per question set
        if run.qset not in gate["sets"]:
            return [f"{prefix}{name}: the gate has no thresholds for question set {run.qset!r}"]
        gate = gate["sets"][run.qset]
    summary = run.configs[name]["summary"]
    failures = []
    for metric, bound in gate.get("min", {}).items():
        value = summary.get(metric)
        if value is None or value < bound:
            failures.append(f"{prefix}{name}: {metric} = {value if value is None else round(value, 4)} < {bound}")
    for metric, bound in gate.get("max", {}).items():
        value = summary.get(metric)
        if value is None or value > bound:
            failures.append(f"{prefix}{name}: {metric} = {value if value is None else round(value, 4)} > {bound}")
    return failures

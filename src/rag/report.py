"""Evaluation reports: report.md (tables per configuration and question type, the worst
questions with their retrieved passages), report.json, and PNG charts."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .evaluate import ANSWER_KEYS, CAUSES, LLM_KEYS, REFUSAL_KEYS, RETRIEVAL_KEYS, Run, load_questions, question_files

TYPE_NAMES = {"fact": "事实", "definition": "定义", "list": "列举", "paraphrase": "换说法", "synthesis": "综合",
              "metadata": "文献信息", "unanswerable": "无答案"}
SET_NAMES = {"own": "本项目题集 own set (evals/questions.jsonl)", "external": "独立题集 external set (evals/external.jsonl)"}
CHART_KEYS = ["recall@5", "mrr@10", "key_recall", "faithfulness", "citation_precision", "number_fidelity"]


def _f(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def write_report(runs: Run | list[Run], out_root: Path = Path("evals/reports"), worst: int = 10) -> Path:
    """Write the runs (one per question set) under ``out_root/<timestamp>/``; returns that folder."""
    runs = [runs] if isinstance(runs, Run) else runs
    folder = out_root / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    data = runs[0].to_json() if len(runs) == 1 else {"sets": {r.qset: r.to_json() for r in runs}}
    (folder / "report.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    first = runs[0]
    lines = [
        f"# 评测报告 Evaluation report — split `{first.split}`",
        "",
        f"- Started {first.started}; question sets: " + ", ".join(f"`{r.qset}` ({next(iter(r.configs.values()))['summary']['n']} questions)" for r in runs)
        + "; configurations: " + ", ".join(f"`{n}`" for n in first.configs),
        f"- Support threshold {first.threshold:.2f} (character 3-gram support, calibrated on evals/support_labels.jsonl: "
        f"accuracy {first.calibration_accuracy:.2f})",
        "- Metric definitions: docs/eval.md",
        *[f"- `{n}`: {_overrides(c.get('overrides'))}" for n, c in first.configs.items() if c.get("overrides")],
    ]
    for run in runs:
        lines += ["", f"# {SET_NAMES.get(run.qset, run.qset)}", *_run_section(run, folder, worst)]
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _run_section(run: Run, folder: Path, worst: int) -> list[str]:
    charts = _charts(run, folder)
    lines = ["", "## Retrieval (evidence-quote containment)", ""]
    lines += _table([[n] + [_f(c["summary"][k]) for k in RETRIEVAL_KEYS] for n, c in run.configs.items()], ["config"] + RETRIEVAL_KEYS)
    lines += ["", "## Answers", ""]
    lines += _table([[n] + [_f(c["summary"][k]) for k in ANSWER_KEYS] for n, c in run.configs.items()], ["config"] + ANSWER_KEYS)
    lines += ["", "## Refusal and latency", ""]
    lines += _table(
        [[n] + [_f(c["summary"][k]) for k in REFUSAL_KEYS] + [f"{c['summary']['latency_p50_ms']:.0f}", f"{c['summary']['latency_p95_ms']:.0f}", str(c["summary"]["errors"])]
         for n, c in run.configs.items()],
        ["config"] + REFUSAL_KEYS + ["latency p50 ms", "latency p95 ms", "errors"],
    )
    lines += ["", "## Why questions failed (what to fix)", "",
              "A question fails when an answer misses a key string, an answerable question is refused, or an "
              "unanswerable one is answered. Causes: evidence not in the top 10 (retrieval); retrieved but the answer "
              "quotes other sentences (choice); refused although the evidence was retrieved (answerability too strict); "
              "answered an unanswerable question (answerability too lenient).", ""]
    lines += _table([[n] + [str(c["summary"].get(f"fail_{k}", 0)) for k in CAUSES] for n, c in run.configs.items()],
                    ["config"] + list(CAUSES.values()))
    llm_rows = {n: c for n, c in run.configs.items()
                if c["summary"].get("llm_judge_faithfulness") is not None or (c.get("overrides") or {}).get("llm")}
    if llm_rows:
        lines += ["", "## LLM (beside the offline metrics, never replacing them)", "",
                  "llm_judge_faithfulness: claims the judge model finds supported by the cited passages; marked_rate: "
                  "answers with a sentence marked by verification; fallback_rate: answers that fell back to extractive.", ""]
        lines += _table([[n, _f(c["summary"]["faithfulness"])] + [_f(c["summary"][k]) for k in LLM_KEYS] for n, c in llm_rows.items()],
                        ["config", "faithfulness (offline)"] + LLM_KEYS)
    keys = ["recall@5", "mrr@10", "key_recall", "char_f1", "faithfulness", "refusal_recall", "false_refusal_rate"]
    for name, c in run.configs.items():
        lines += ["", f"## By question type — `{name}`", ""]
        lines += _table([[f"{TYPE_NAMES.get(t, t)} ({t})", str(s["n"])] + [_f(s.get(k)) for k in keys] for t, s in c["by_type"].items()],
                        ["type", "n"] + keys)
    for chart in charts:
        lines += ["", f"![{chart.stem}]({chart.name})"]
    lines += ["", *_failures(run), "", *_worst(run, worst)]
    return lines


def _failures(run: Run) -> list[str]:
    """Every failed question of the first configuration, grouped by cause."""
    name = next(iter(run.configs))
    c = run.configs[name]
    out = [f"## Failed questions by cause — `{name}`", ""]
    for cause, label in CAUSES.items():
        rows = [(r, rec) for r, rec in zip(c["rows"], c["records"]) if r.get("cause") == cause]
        out += [f"### {label} ({len(rows)})", ""]
        out += [f"- {r['id']} ({r['type']}) {rec.get('question', '')}" + (f" — 拒答原因 {rec['refusal_reason']}" if rec.get("refusal_reason") else "")
                for r, rec in rows] or ["- none"]
        out.append("")
    return out


def _overrides(overrides: dict | None) -> str:
    """A configuration's settings overrides, one 'section.field=value' each (key *names* only)."""
    return ", ".join(f"{sec}.{k}={v}" for sec, vals in (overrides or {}).items() for k, v in vals.items())


def _worst(run: Run, n: int) -> list[str]:
    name = next(iter(run.configs))
    c = run.configs[name]
    questions = {q.id: q for q in load_questions(question_files().get(run.qset), "all")}
    scored = []
    for row, rec in zip(c["rows"], c["records"]):
        q = questions[row["id"]]
        if "error" in row:
            badness = -1.0
        elif q.answerable:
            badness = (row.get("recall@5", 0) + row.get("key_recall", 0) + row.get("faithfulness", 0)) / 3
        else:
            badness = 0.0 if not row["refused"] else 2.0
        scored.append((badness, row, rec, q))
    scored.sort(key=lambda x: x[0])
    out = [f"## Worst {n} questions — `{name}` ({run.qset})", ""]
    for badness, row, rec, q in scored[:n]:
        out += [f"### {q.id} ({q.type}) {q.question}", "",
                f"- Reference: {q.answer}",
                f"- Answer{'（拒答）' if rec.get('refused') else ''}: {(rec.get('answer') or rec.get('error', '')).replace(chr(10), ' ')}",
                f"- recall@5 {_f(row.get('recall@5'))}, key recall {_f(row.get('key_recall'))}, faithfulness {_f(row.get('faithfulness'))}",
                "- Retrieved:"]
        for ctx in rec.get("contexts", [])[:3]:
            text = ctx["text"].replace("\n", " ")
            out.append(f"  {ctx['rank']}. 《{ctx['title']}》 {text[:160]}{'…' if len(text) > 160 else ''}")
        if q.evidence:
            out.append(f"- Evidence: {' / '.join(e['quote'][:80] for e in q.evidence)}")
        out.append("")
    return out


def _charts(run: Run, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    paths = []
    names = list(run.configs)
    x = np.arange(len(CHART_KEYS))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for i, name in enumerate(names):
        vals = [run.configs[name]["summary"].get(k) or 0 for k in CHART_KEYS]
        ax.bar(x + i * width - 0.4 + width / 2, vals, width, label=name)
    ax.set_xticks(x, CHART_KEYS)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Metrics by configuration ({run.qset} set, {run.split} split)")
    ax.legend(fontsize=8, loc="lower left", framealpha=0.9)
    fig.tight_layout()
    paths.append(folder / f"by_config-{run.qset}.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    first = run.configs[names[0]]["by_type"]
    types = [t for t in first if t != "unanswerable"]
    keys = ["recall@5", "key_recall", "faithfulness"]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    x = np.arange(len(types))
    for i, k in enumerate(keys):
        ax.bar(x + i * 0.25 - 0.25, [first[t].get(k) or 0 for t in types], 0.25, label=k)
    ax.set_xticks(x, types)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"`{names[0]}` by question type ({run.qset} set, {run.split} split)")
    ax.legend(fontsize=8, loc="lower left", framealpha=0.9)
    fig.tight_layout()
    paths.append(folder / f"by_type-{run.qset}.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths

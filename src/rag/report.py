"""Evaluation reports: report.md, report.json and PNG charts, written for whoever fixes what failed.

Per configuration the report counts failures by cause and lists the failed questions under their
cause with the reason (where the evidence ranked, which key strings are missing, why it refused);
it says what changed since the previous committed report, and records the index fingerprint, the
commit, the machine and its load. Charts carry Chinese titles (a CJK font is loaded when present),
value labels, n per question type, and the gate's thresholds as lines.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from .evaluate import ANSWER_KEYS, CAUSES, LLM_KEYS, REFUSAL_KEYS, RETRIEVAL_KEYS, Run, load_questions, question_files

TYPE_NAMES = {
    "fact": "事实",
    "definition": "定义",
    "list": "列举",
    "paraphrase": "换说法",
    "synthesis": "综合",
    "metadata": "文献信息",
    "unanswerable": "无答案",
}
SET_NAMES = {
    "own": "本项目题集 own set (evals/questions.jsonl)",
    "external": "独立题集 external set (evals/external.jsonl)",
    "probe": "学习小组试题 probe set (evals/probe.jsonl)",
}
CHART_KEYS = ["recall@5", "mrr@10", "key_recall", "faithfulness", "citation_precision", "refusal_recall", "false_refusal_rate"]
CHANGE_KEYS = [
    "recall@5",
    "mrr@10",
    "key_recall",
    "char_f1",
    "faithfulness",
    "citation_precision",
    "refusal_recall",
    "false_refusal_rate",
]
CAUSE_ZH = {
    "not_retrieved": "证据未检索到",
    "not_chosen": "检索到但未选中",
    "refused_with_evidence": "有证据却拒答",
    "answered_without_evidence": "无答案却作答",
}
# Fonts with CJK glyphs, first found wins (fonts-wqy-microhei is what CI installs).
CJK_FONTS = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
]


def _f(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _set_json(data: dict, qset: str) -> dict | None:
    """One question set's part of a report.json (single-set or {"sets": …} layout)."""
    if "sets" in data:
        return data["sets"].get(qset)
    return data if data.get("set", "own") == qset else None


def previous_report(qset: str, split: str, reports: Path, exclude: Path | None = None) -> tuple[str, dict] | None:
    """The newest report under ``reports`` (the committed ones) with this set and split."""
    if not reports.is_dir():
        return None
    for folder in sorted((p for p in reports.iterdir() if (p / "report.json").exists()), reverse=True):
        if exclude is not None and folder.resolve() == exclude.resolve():
            continue
        try:
            data = _set_json(json.loads((folder / "report.json").read_text(encoding="utf-8")), qset)
        except (OSError, ValueError):
            continue
        if data and data.get("split") == split:
            return folder.name, data
    return None


def gate_thresholds(qset: str, path: Path) -> tuple[str | None, dict, dict]:
    """(gate configuration, min thresholds, max thresholds) for a question set."""
    if not path.exists():
        return None, {}, {}
    gate = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    per = gate.get("sets", {}).get(qset, {}) if "sets" in gate else gate
    return gate.get("config"), per.get("min", {}), per.get("max", {})


def write_report(runs: Run | list[Run], out_root: Path | None = None, worst: int = 10, previous_root: Path | None = None) -> Path:
    """Write the runs (one per question set) under ``out_root/<timestamp>/`` (default: the runs'
    evals/reports); returns that folder. ``previous_root``: where the committed reports are, to say
    what changed since the last one (default: the runs' evals/reports)."""
    runs = [runs] if isinstance(runs, Run) else runs
    out_root = out_root or runs[0].evals / "reports"
    previous_root = previous_root or runs[0].evals / "reports"
    folder = out_root / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    data = runs[0].to_json() if len(runs) == 1 else {"sets": {r.qset: r.to_json() for r in runs}}
    (folder / "report.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    first = runs[0]
    env = first.env or {}
    lines = [
        f"# 评测报告 Evaluation report — split `{first.split}`",
        "",
        f"- Started {first.started}; question sets: "
        + ", ".join(f"`{r.qset}` ({next(iter(r.configs.values()))['summary']['n']} questions)" for r in runs)
        + "; configurations: "
        + ", ".join(f"`{n}`" for n in first.configs),
    ]
    if env:
        load = f"load average {env.get('load_start')} at the start, {env.get('load_end', '–')} at the end"
        lines.append(
            f"- Commit `{env.get('commit')}`; machine `{env.get('machine')}` ({env.get('platform')}, "
            f"{env.get('cpus')} CPUs, Python {env.get('python')}); {load} (latencies depend on it)"
        )
    for n, c in first.configs.items():
        ix = c.get("index")
        if ix:
            lines.append(
                f"- Index of `{n}`: fingerprint `{ix['fingerprint']}` ({ix['documents']} documents, {ix['chunks']} chunks "
                f"of corpus/ only, in its own state folder `…/{Path(ix['folder']).relative_to(Path(ix['folder']).parents[1])}`; "
                + (
                    "reused unchanged)"
                    if ix.get("reused")
                    else f"built or updated: {ix.get('embedded', 0)} chunks embedded in {ix.get('ingest_seconds')} s)"
                )
            )
    lines += [
        f"- Support threshold {first.threshold:.2f} (character 3-gram support, calibrated on evals/support_labels.jsonl: "
        f"accuracy {first.calibration_accuracy:.2f})",
        "- Metric definitions: docs/eval.md",
        *[f"- `{n}`: {_overrides(c.get('overrides'))}" for n, c in first.configs.items() if c.get("overrides")],
    ]
    for run in runs:
        prev = previous_report(run.qset, run.split, previous_root, exclude=folder)
        lines += ["", f"# {SET_NAMES.get(run.qset, run.qset)}", *_run_section(run, folder, worst, prev)]
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _run_section(run: Run, folder: Path, worst: int, prev: tuple[str, dict] | None) -> list[str]:
    charts = _charts(run, folder, prev)
    lines = ["", "## Retrieval (evidence-quote containment)", ""]
    lines += _table(
        [[n] + [_f(c["summary"][k]) for k in RETRIEVAL_KEYS] for n, c in run.configs.items()], ["config"] + RETRIEVAL_KEYS
    )
    lines += ["", "## Answers", ""]
    lines += _table([[n] + [_f(c["summary"][k]) for k in ANSWER_KEYS] for n, c in run.configs.items()], ["config"] + ANSWER_KEYS)
    lines += ["", "## Refusal and latency", ""]
    lines += _table(
        [
            [n]
            + [_f(c["summary"][k]) for k in REFUSAL_KEYS]
            + [f"{c['summary']['latency_p50_ms']:.0f}", f"{c['summary']['latency_p95_ms']:.0f}", str(c["summary"]["errors"])]
            for n, c in run.configs.items()
        ],
        ["config"] + REFUSAL_KEYS + ["latency p50 ms", "latency p95 ms", "errors"],
    )
    lines += [
        "",
        "## 失败原因 Why questions failed (what to fix)",
        "",
        "A question fails when an answer misses a key string, an answerable question is refused, or an "
        "unanswerable one is answered. Causes, in the order to look: evidence not in the top 10 (fix retrieval); "
        "retrieved but the answer quotes other sentences (fix sentence choice); refused although the evidence was "
        "retrieved (answerability too strict); answered an unanswerable question (answerability too lenient).",
        "",
    ]
    rows = []
    for n, c in run.configs.items():
        s = c["summary"]
        failed = sum(s.get(f"fail_{k}", 0) for k in CAUSES)
        rows.append([n, f"{failed} / {s['n'] - s['errors']}"] + [str(s.get(f"fail_{k}", 0)) for k in CAUSES])
    lines += _table(rows, ["config", "failed / questions"] + list(CAUSES.values()))
    lines += ["", *_changes(run, prev)]
    llm_rows = {
        n: c
        for n, c in run.configs.items()
        if c["summary"].get("llm_judge_faithfulness") is not None or (c.get("overrides") or {}).get("llm")
    }
    if llm_rows:
        lines += [
            "",
            "## LLM (beside the offline metrics, never replacing them)",
            "",
            "llm_judge_faithfulness: claims the judge model finds supported by the cited passages; marked_rate: "
            "answers with a sentence marked by verification; fallback_rate: answers that fell back to extractive.",
            "",
        ]
        lines += _table(
            [[n, _f(c["summary"]["faithfulness"])] + [_f(c["summary"][k]) for k in LLM_KEYS] for n, c in llm_rows.items()],
            ["config", "faithfulness (offline)"] + LLM_KEYS,
        )
    keys = ["recall@5", "mrr@10", "key_recall", "char_f1", "faithfulness", "refusal_recall", "false_refusal_rate"]
    for name, c in run.configs.items():
        lines += ["", f"## By question type — `{name}`", ""]
        lines += _table(
            [[f"{TYPE_NAMES.get(t, t)} ({t})", str(s["n"])] + [_f(s.get(k)) for k in keys] for t, s in c["by_type"].items()],
            ["type", "n"] + keys,
        )
    for chart in charts:
        lines += ["", f"![{chart.stem}]({chart.name})"]
    lines += ["", *_failures(run, worst), "", *_correct_without_evidence(run)]
    return lines


def _changes(run: Run, prev: tuple[str, dict] | None) -> list[str]:
    """What changed since the previous committed report on the same set and split."""
    out = ["## 与上次报告对比 What changed since the previous report", ""]
    if prev is None:
        return out + [f"No earlier report of this set on the `{run.split}` split under evals/reports."]
    name, data = prev
    commit = (data.get("environment") or {}).get("commit", "")
    common = [n for n in run.configs if n in data.get("configs", {})]
    out += [f"Previous: `evals/reports/{name}`" + (f" (commit `{commit}`)" if commit else "") + "."]
    if not common:
        return out + ["", "It ran none of these configurations."]
    rows = []
    for n in common:
        before, now = data["configs"][n]["summary"], run.configs[n]["summary"]
        for k in CHANGE_KEYS:
            a, b = before.get(k), now.get(k)
            delta = "–" if a is None or b is None else f"{b - a:+.3f}"
            rows.append([n, k, _f(a), _f(b), delta])
        for cause, label in CAUSES.items():
            a, b = before.get(f"fail_{cause}"), now.get(f"fail_{cause}")
            rows.append([n, f"failures: {label}", "–" if a is None else str(a), str(b), "–" if a is None else f"{b - a:+d}"])
    return out + [""] + _table(rows, ["config", "metric", "previous", "now", "change"])


def _failures(run: Run, worst: int) -> list[str]:
    """Failed questions of every configuration, grouped by cause, the worst first, each with why."""
    questions = questions_of(run)
    out = []
    for name, c in run.configs.items():
        out += [
            f"## 失败的题目（按原因） Failed questions by cause — `{name}` ({run.qset})",
            "",
            f"Up to {worst} per cause, the lowest-scoring first; only failures are listed.",
            "",
        ]
        for cause, label in CAUSES.items():
            pairs = [(r, rec) for r, rec in zip(c["rows"], c["records"], strict=False) if r.get("cause") == cause]
            pairs.sort(key=lambda p: (p[0].get("key_recall", 0) or 0) + (p[0].get("recall@10", 0) or 0))
            out += [f"### {label} ({len(pairs)})", ""]
            if not pairs:
                out += ["- none", ""]
                continue
            for row, rec in pairs[:worst]:
                out += _explain(questions[row["id"]], row, rec)
            if len(pairs) > worst:
                out += [f"- … and {len(pairs) - worst} more: " + ", ".join(r["id"] for r, _ in pairs[worst:]), ""]
    return out


def _explain(q, row: dict, rec: dict) -> list[str]:
    """One failed question: what was asked, what came back, and why it counts as a failure."""
    answer = (rec.get("answer") or rec.get("error", "")).replace("\n", " ")
    rank = row.get("evidence_rank")
    cause = row.get("cause")
    if cause == "not_retrieved":
        why = "no evidence quote in the top 10 passages"
    elif cause == "not_chosen":
        missing = "、".join(row.get("missing_keys") or []) or "–"
        why = f"evidence at rank {rank}, but the answer misses key strings: {missing}"
    elif cause == "refused_with_evidence":
        why = f"refused although the evidence was at rank {rank}" + (
            f"; refusal reason: {rec['refusal_reason']}" if rec.get("refusal_reason") else ""
        )
    else:
        why = f"an unanswerable question answered (confidence {rec.get('confidence', 0):.2f})"
    lines = [f"#### {q.id} ({TYPE_NAMES.get(q.type, q.type)}) {q.question}", "", f"- Why: {why}"]
    if q.answerable:
        lines.append(f"- Reference: {q.answer}")
    lines.append(f"- Answer{'（拒答）' if rec.get('refused') else ''}: {answer[:240]}{'…' if len(answer) > 240 else ''}")
    if q.evidence:
        lines.append(f"- Evidence: {' / '.join(e['quote'][:80] for e in q.evidence)}")
    if cause in ("not_retrieved", "answered_without_evidence"):
        for ctx in rec.get("contexts", [])[:2]:
            text = ctx["text"].replace("\n", " ")
            lines.append(f"  - retrieved {ctx['rank']}. 《{ctx['title']}》 {text[:120]}{'…' if len(text) > 120 else ''}")
    return lines + [""]


def _correct_without_evidence(run: Run) -> list[str]:
    """Correct answers whose annotated evidence was not in the top 5: not failures; say why."""
    name = next(iter(run.configs))
    c = run.configs[name]
    rows = [
        (r, rec)
        for r, rec in zip(c["rows"], c["records"], strict=False)
        if not r.get("cause") and r["type"] != "unanswerable" and "error" not in r and r.get("recall@5", 1.0) < 1.0
    ]
    out = [
        f"## 答对但证据不在前 5 Correct answers with evidence outside the top 5 — `{name}` ({len(rows)})",
        "",
        "All key strings are in the answer, so these are not failures; recall@5 is below 1 because the annotated "
        "evidence sentence is in a passage ranked below 5 (or not retrieved) while the answer quoted the same facts "
        "from another passage, listed here.",
        "",
    ]
    for row, rec in rows:
        cited = "; ".join(f"《{ct.get('title', '')}》{ct.get('section', '')}" for ct in rec.get("citations", [])[:2])
        rank = row.get("evidence_rank")
        out.append(
            f"- {row['id']} ({TYPE_NAMES.get(row['type'], row['type'])}) {rec.get('question', '')} — recall@5 "
            f"{row.get('recall@5', 0):.2f} of {len(questions_of(run)[row['id']].evidence)} evidence quote(s), the first at "
            f"{f'rank {rank}' if rank else 'no rank in the top 10'}; the answer quoted {cited or '–'}"
        )
    return out or ["- none"]


def questions_of(run: Run) -> dict:
    return {q.id: q for q in load_questions(question_files(run.evals)[run.qset], "all")}


def _overrides(overrides: dict | None) -> str:
    """A configuration's settings overrides, one 'section.field=value' each (key *names* only)."""
    return ", ".join(f"{sec}.{k}={v}" for sec, vals in (overrides or {}).items() for k, v in vals.items())


def _plt():
    """pyplot with a CJK font when one is installed (else titles fall back to boxes; say so once)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    for path in CJK_FONTS:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
            plt.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
            break
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _labels(ax, bars, fmt="{:.2f}") -> None:
    for b in bars:
        h = b.get_height()
        ax.annotate(
            fmt.format(h),
            (b.get_x() + b.get_width() / 2, h),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
        )


def _charts(run: Run, folder: Path, prev: tuple[str, dict] | None) -> list[Path]:
    import numpy as np

    plt = _plt()
    paths = []
    split = "开发集 dev" if run.split == "dev" else ("测试集 test" if run.split == "test" else run.split)
    setname = SET_NAMES.get(run.qset, run.qset).split(" ")[0]
    gate_config, mins, maxs = gate_thresholds(run.qset, run.evals / "gate.yaml")

    # 1. Configurations side by side, the previous report's default configuration beside them,
    #    and the gate's thresholds as lines.
    series = [(f"本次 {n}", [run.configs[n]["summary"].get(k) for k in CHART_KEYS], None) for n in run.configs]
    if prev is not None:
        pname, pdata = prev
        base = gate_config if gate_config in pdata.get("configs", {}) else next(iter(pdata.get("configs", {})), None)
        if base is not None:
            series.insert(0, (f"上次 {pname}（{base}）", [pdata["configs"][base]["summary"].get(k) for k in CHART_KEYS], "//"))
    x = np.arange(len(CHART_KEYS))
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(11, 4.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, vals, hatch) in enumerate(series):
        bars = ax.bar(
            x + i * width - 0.4 + width / 2,
            [v or 0 for v in vals],
            width,
            label=label,
            color="#c8c8c8" if hatch else colors[(i - (prev is not None)) % len(colors)],
            hatch=hatch,
            edgecolor="#777777" if hatch else None,
        )
        _labels(ax, bars)
    for j, k in enumerate(CHART_KEYS):
        for bound, style in ((mins.get(k), "-"), (maxs.get(k), "--")):
            if bound is not None:
                ax.hlines(bound, j - 0.45, j + 0.45, colors="#d62728", linestyles=style, linewidth=1.6)
    if mins or maxs:
        ax.plot([], [], color="#d62728", label="门槛（实线：下限；虚线：上限）")
    ax.set_xticks(x, CHART_KEYS, fontsize=9)
    ax.set_ylim(0, 1.12)
    ax.set_title(f"各配置指标{'与上次报告对比' if prev is not None else ''}（{setname}，{split}；红线为门槛 evals/gate.yaml）")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=min(len(series) + 1, 4), framealpha=0.9)
    fig.tight_layout()
    paths.append(folder / f"by_config-{run.qset}.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    # 2. The first configuration by question type, n per type; refusal metrics where they apply.
    name = next(iter(run.configs))
    by = run.configs[name]["by_type"]
    types = list(by)
    keys = [
        ("recall@5", "recall@5"),
        ("key_recall", "key recall"),
        ("faithfulness", "faithfulness"),
        ("false_refusal_rate", "误拒率 false refusal"),
        ("refusal_recall", "拒答率 refusal recall"),
    ]
    fig, ax = plt.subplots(figsize=(11, 4.8))
    x = np.arange(len(types))
    width = 0.8 / len(keys)
    for i, (k, label) in enumerate(keys):
        vals = [by[t].get(k) for t in types]
        pos = [xx + i * width - 0.4 + width / 2 for xx, v in zip(x, vals, strict=False) if v is not None]
        shown = [v for v in vals if v is not None]
        if shown:
            _labels(ax, ax.bar(pos, shown, width, label=label))
    ax.set_xticks(x, [f"{TYPE_NAMES.get(t, t)}\nn={by[t]['n']}" for t in types])
    ax.set_ylim(0, 1.12)
    ax.set_title(f"按题型（{setname}，{split}，配置 {name}）")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=len(keys), framealpha=0.9)
    fig.tight_layout()
    paths.append(folder / f"by_type-{run.qset}.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths

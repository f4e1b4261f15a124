"""Multiple-choice evaluation: evals/mc.jsonl answered by choice.choose, scored as accuracy among
the answered items and the share abstained (无法确定). Tune on dev; report test."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tqdm import tqdm

from .choice import choose


def load_items(path: Path, split: str = "dev") -> list[dict]:
    """The items of ``path`` (settings.evals / "mc.jsonl") in ``split`` ("all": every one)."""
    items = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [it for it in items if split == "all" or it.get("split") == split]


def summarize(rows: list[dict]) -> dict:
    """accuracy among answered, abstention, coverage-adjusted accuracy, per kind."""

    def block(rs: list[dict]) -> dict:
        answered = [r for r in rs if r["choice"]]
        correct = sum(r["choice"] == r["key"] for r in answered)
        return {
            "items": len(rs),
            "answered": len(answered),
            "correct": correct,
            "accuracy": round(correct / len(answered), 3) if answered else None,
            "abstention": round(1 - len(answered) / len(rs), 3) if rs else None,
            "overall_accuracy": round(correct / len(rs), 3) if rs else None,
        }

    out = block(rows)
    out["by_kind"] = {k: block([r for r in rows if r["kind"] == k]) for k in sorted({r["kind"] for r in rows})}
    out["answered_low_confidence"] = sum(1 for r in rows if r["choice"] and r["low_confidence"])
    return out


def evaluate_mc(retriever, split: str, path: Path, progress: bool = False) -> tuple[dict, list[dict]]:
    rows = []
    for it in tqdm(load_items(path, split), desc="选择题 mc", unit="q", disable=not progress):
        t0 = time.perf_counter()
        c = choose(retriever, it["question"], it["options"])
        rows.append(
            {
                "id": it["id"],
                "kind": it.get("kind", "positive"),
                "key": it["answer"],
                "choice": c.letter,
                "choice_text": c.option,
                "confidence": c.confidence,
                "low_confidence": c.low_confidence,
                "scores": c.scores,
                "sentence": c.sentence,
                "latency_ms": round((time.perf_counter() - t0) * 1000),
            }
        )
    return summarize(rows), rows


def write_mc_report(summary: dict, rows: list[dict], split: str, out: Path) -> Path:
    folder = Path(out) / (time.strftime("%Y%m%d-%H%M%S") + f"-mc-{split}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    (folder / "items.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return folder

"""Batch answering of JSONL question files (the stable interface other tools rely on)."""

from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from .answer import QuestionError


def read_questions(path: Path) -> list[tuple[int, dict | None, str | None]]:
    """(line number, record or None, error or None) for every non-blank line."""
    out = []
    with path.open(encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError("not a JSON object")
                out.append((n, rec, None))
            except ValueError as exc:
                out.append((n, None, f"第 {n} 行不是合法的 JSON 对象：{exc}"))
    return out


def answer_records(answerer, records: list[tuple[int, dict | None, str | None]], progress: bool = False):
    """Yield one output record per input line; a bad line yields an error record for its id."""
    for n, rec, error in tqdm(records, desc="答题 answering", unit="q", disable=not progress):
        rid = (rec or {}).get("id", f"line-{n}")
        if error:
            yield {"id": rid, "question": None, "error": error}
            continue
        try:
            if "question" not in rec or not isinstance(rec["question"], str):
                raise QuestionError("缺少 question 字段或其不是字符串。")
            yield answerer.ask(rec["question"]).to_record(rid)
        except QuestionError as exc:
            yield {"id": rid, "question": rec.get("question"), "error": str(exc)}
        except Exception as exc:  # one failure never stops the batch
            yield {"id": rid, "question": rec.get("question"), "error": f"{type(exc).__name__}: {exc}"}


def answer_file(answerer, infile: Path, outfile: Path, progress: bool = True) -> dict:
    """Answer ``infile`` into ``outfile`` (written to a temporary file, then renamed)."""
    records = read_questions(infile)
    stats = {"answered": 0, "refused": 0, "errors": 0}
    outfile.parent.mkdir(parents=True, exist_ok=True)
    tmp = outfile.with_name(outfile.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        for out in answer_records(answerer, records, progress):
            if "error" in out:
                stats["errors"] += 1
            else:
                stats["answered"] += 1
                stats["refused"] += int(out["refused"])
            fh.write(json.dumps(out, ensure_ascii=False) + "\n")
    tmp.replace(outfile)
    return stats

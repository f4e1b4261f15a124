"""Batch answering of question lists: JSONL (the stable interface), CSV, Excel, plain text in;
JSONL, CSV, Excel, Word out. A bad row is reported and the others are still answered.

Multiple-choice questions (options "A. … B. …" in the question, or columns A–D / 选项A–D) get
the chosen option as well as the cited answer.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tqdm import tqdm

from .answer import QuestionError, check_question
from .choice import choose, parse_options
from .loaders import decode_bytes

QUESTION_HEADERS = ("question", "题目", "问题", "试题", "题干")
ID_HEADERS = ("id", "序号", "编号", "题号")
INPUTS = (".jsonl", ".csv", ".xlsx", ".txt")
OUTPUTS = (".jsonl", ".csv", ".xlsx", ".docx")


class BatchError(ValueError):
    """An input file that cannot be read as a question list."""


Row = tuple[str, dict | None, str | None]  # (id, record with "question" and maybe "options", error)


def _table_rows(header: list[str], rows: list[list], column: str | None) -> list[Row]:
    header = [str(h or "").strip() for h in header]
    lower = [h.lower() for h in header]
    wanted = [column.lower()] if column else list(QUESTION_HEADERS)
    qcol = next((lower.index(w) for w in wanted if w in lower), None)
    if qcol is None:
        raise BatchError(f"找不到题目列（表头需为 {'/'.join(QUESTION_HEADERS)}，或用 --column 指定）；现有表头：{header}")
    icol = next((lower.index(w) for w in ID_HEADERS if w in lower), None)
    opt_cols = {}
    for letter in "ABCD":
        for name in (letter, f"选项{letter}", f"option {letter}".lower(), f"option_{letter}".lower()):
            if name.lower() in lower:
                opt_cols[letter] = lower.index(name.lower())
    out: list[Row] = []
    for n, row in enumerate(rows, 2):
        row = list(row) + [None] * (len(header) - len(row))
        rid = str(row[icol]).strip() if icol is not None and row[icol] not in (None, "") else f"row-{n}"
        q = row[qcol]
        if q is None or not str(q).strip():
            out.append((rid, None, f"第 {n} 行题目为空"))
            continue
        rec = {"question": str(q).strip()}
        opts = {k: str(row[c]).strip() for k, c in opt_cols.items() if row[c] not in (None, "")}
        if len(opts) >= 2:
            rec["options"] = opts
        out.append((rid, rec, None))
    return out


def read_rows(path: Path, column: str | None = None) -> list[Row]:
    """Questions from a .jsonl, .csv, .xlsx or .txt file."""
    ext = path.suffix.lower()
    if ext not in INPUTS:
        raise BatchError(f"不支持的题目文件类型 {ext}（支持 {', '.join(INPUTS)}）")
    if ext == ".xlsx":
        import openpyxl

        try:
            ws = openpyxl.load_workbook(path, read_only=True, data_only=True).active
        except Exception as exc:
            raise BatchError(f"{path.name}: 无法读取 Excel 文件（{exc}）") from exc
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        if not rows:
            raise BatchError(f"{path.name}: 工作表为空")
        return _table_rows(rows[0], rows[1:], column)
    text, _ = decode_bytes(path.read_bytes())
    if ext == ".csv":
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            raise BatchError(f"{path.name}: 文件为空")
        return _table_rows(rows[0], rows[1:], column)
    if ext == ".txt":
        return [(f"line-{n}", {"question": line.strip()}, None) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    out: list[Row] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            out.append((f"line-{n}", None, f"第 {n} 行不是合法的 JSON 对象：{exc}"))
            continue
        rid = str(rec.get("id", f"line-{n}"))
        if not isinstance(rec.get("question"), str):
            out.append((rid, None, "缺少 question 字段或其不是字符串。"))
            continue
        out.append((rid, rec, None))
    return out


def answer_row(answerer, rid: str, rec: dict) -> dict:
    """One output record: the batch-interface fields, plus the chosen option for a choice question."""
    question = check_question(rec["question"], answerer.s.answer.max_question_chars)
    stem, options = parse_options(question)
    options = rec.get("options") or options
    if options:
        c = choose(answerer.retriever, stem, options)
        ans = answerer.ask(stem)
        out = ans.to_record(rid)
        out["question"] = question
        out["choice"] = c.letter
        out["choice_text"] = c.option
        out["confidence"] = c.confidence
        if c.sentence and c.passage is not None:
            m = c.passage.metadata
            out["choice_citation"] = {"source": m.get("source", ""), "title": m.get("title", ""), "quote": c.sentence}
        return out
    return answerer.ask(question).to_record(rid)


def answer_rows(answerer, rows: list[Row], progress: bool = False):
    for rid, rec, error in tqdm(rows, desc="答题 answering", unit="q", disable=not progress):
        if error:
            yield {"id": rid, "question": (rec or {}).get("question"), "error": error}
            continue
        try:
            yield answer_row(answerer, rid, rec)
        except QuestionError as exc:
            yield {"id": rid, "question": rec.get("question"), "error": str(exc)}
        except Exception as exc:  # one failure never stops the batch
            yield {"id": rid, "question": rec.get("question"), "error": f"{type(exc).__name__}: {exc}"}


def _flat(rec: dict) -> list:
    cites = " | ".join(f"[{c['n']}]《{c['title']}》{c['quote']}" for c in rec.get("citations", []))
    return [rec.get("id"), rec.get("question"), rec.get("choice", ""), rec.get("answer", ""), cites,
            rec.get("refused", ""), rec.get("confidence", ""), rec.get("error", "")]


FLAT_HEADER = ["id", "题目", "选项", "回答", "出处", "拒答", "置信度", "错误"]


def write_records(records: list[dict], path: Path) -> None:
    """Write to a temporary file, then rename, in the format of the extension."""
    ext = path.suffix.lower()
    if ext not in OUTPUTS:
        raise BatchError(f"不支持的输出格式 {ext}（支持 {', '.join(OUTPUTS)}）")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    if ext == ".jsonl":
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    elif ext == ".csv":
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(FLAT_HEADER)
            w.writerows(_flat(r) for r in records)
    elif ext == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "答题结果"
        ws.append(FLAT_HEADER)
        for r in records:
            ws.append([str(x) if isinstance(x, (list, dict)) else x for x in _flat(r)])
        wb.save(str(tmp))
    else:
        import docx

        d = docx.Document()
        d.add_heading("批量答题结果", level=0)
        for r in records:
            d.add_heading(f"{r.get('id')}. {r.get('question') or ''}", level=2)
            if "error" in r:
                d.add_paragraph(f"错误：{r['error']}")
                continue
            if r.get("choice"):
                d.add_paragraph(f"选择：{r['choice']}. {r.get('choice_text', '')}（置信度 {r.get('confidence')}）")
            d.add_paragraph(r.get("answer", ""))
            for c in r.get("citations", []):
                d.add_paragraph(f"[{c['n']}]《{c['title']}》{c['quote']}")
        d.save(str(tmp))
    tmp.replace(path)


def answer_file(answerer, infile: Path, outfile: Path, progress: bool = True, column: str | None = None) -> dict:
    """Answer ``infile`` into ``outfile``; returns counts."""
    rows = read_rows(Path(infile), column)
    records = list(answer_rows(answerer, rows, progress))
    write_records(records, Path(outfile))
    return {
        "answered": sum("error" not in r for r in records),
        "refused": sum(bool(r.get("refused")) for r in records if "error" not in r),
        "errors": sum("error" in r for r in records),
    }

"""Batch answering of question lists: JSONL (the stable interface), CSV, Excel, plain text in;
JSONL, CSV, Excel, Word out. Every input row is accounted for: answered, or an error record that
names the row. Files that cannot be read or written are refused before any work.

Multiple-choice questions (options "A. … B. …" in the question, columns A–D / 选项A–D, or one
选项 column "A. …；B. …") and true/false items (对/错 options, a 题型 column saying 判断, or a stem
marked （对/错）) get the chosen option, its text and a confidence; 无法确定 when the corpus does
not decide (choice.py).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tqdm import tqdm

from . import office
from .answer import QuestionError, check_question
from .choice import UNDETERMINED, choose, is_judge, judge, parse_options
from .loaders import decode_bytes

QUESTION_HEADERS = ("question", "题目", "问题", "试题", "题干")
ID_HEADERS = ("id", "序号", "编号", "题号")
OPTIONS_HEADERS = ("选项", "options", "备选项", "选项内容")
TYPE_HEADERS = ("题型", "type", "类型")
JUDGE_TYPES = ("判断", "判断题", "对错", "是非", "true/false", "judge")
INPUTS = (".jsonl", ".csv", ".xlsx", ".txt")
OUTPUTS = (".jsonl", ".csv", ".xlsx", ".docx")


class BatchError(ValueError):
    """An input or output file that cannot be used (said in one line, before any work)."""


Row = tuple[str, dict | None, str | None]  # (id, record with "question" and maybe "options", error)


def _option_columns(lower: list[str]) -> dict[str, int]:
    cols = {}
    for letter in "ABCD":
        for name in (letter, f"选项{letter}", f"选项 {letter}", f"option {letter}", f"option_{letter}", f"option{letter}"):
            if name.lower() in lower:
                cols[letter] = lower.index(name.lower())
    return cols


def _table_rows(header: list[str], rows: list[tuple[int, list]], column: str | None) -> list[Row]:
    """Rows of a table given as (line number, cells) under its header."""
    header = [str(h or "").strip().lstrip("\ufeff") for h in header]
    lower = [h.lower() for h in header]
    wanted = [column.lower()] if column else list(QUESTION_HEADERS)
    qcol = next((lower.index(w) for w in wanted if w in lower), None)
    if qcol is None:
        raise BatchError(f"找不到题目列（表头需为 {'/'.join(QUESTION_HEADERS)}，或用 --column 指定）；现有表头：{header}")
    icol = next((lower.index(w) for w in ID_HEADERS if w in lower), None)
    ocol = next((lower.index(w) for w in OPTIONS_HEADERS if w in lower), None)
    tcol = next((lower.index(w) for w in TYPE_HEADERS if w in lower), None)
    opt_cols = _option_columns(lower)
    out: list[Row] = []
    for n, row in rows:
        if not any(str(c or "").strip() for c in row):
            continue  # a blank line is no question
        row = list(row) + [None] * (len(header) - len(row))
        rid = str(row[icol]).strip() if icol is not None and row[icol] not in (None, "") else f"row-{n}"
        q = row[qcol]
        if q is None or not str(q).strip():
            out.append((rid, {"row": n}, f"第 {n} 行题目为空"))
            continue
        rec: dict = {"question": str(q).strip(), "row": n}
        opts = {k: str(row[c]).strip() for k, c in opt_cols.items() if row[c] not in (None, "") and str(row[c]).strip()}
        if len(opts) < 2 and ocol is not None and row[ocol] not in (None, ""):
            opts = parse_options(str(row[ocol]))[1]
        if len(opts) >= 2:
            rec["options"] = opts
        if tcol is not None and str(row[tcol] or "").strip().lower() in JUDGE_TYPES:
            rec["type"] = "judge"
        out.append((rid, rec, None))
    return out


def _csv_rows(text: str) -> tuple[list[str], list[tuple[int, list]], list[Row]]:
    """Header, rows with their line numbers, and error rows. A quote left open swallows the lines
    after it into one cell: when a cell spans lines that each look like a whole row, those lines
    are read one by one and the line with the stray quote is reported, never merged silently."""
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text))
    records: list[tuple[int, int, list]] = []
    prev = 0
    try:
        for row in reader:
            records.append((prev + 1, reader.line_num, row))
            prev = reader.line_num
    except csv.Error as exc:
        raise BatchError(f"第 {prev + 1} 行起无法按 CSV 读取：{exc}") from exc
    if not records:
        return [], [], []
    header = records[0][2]
    width = len(header)
    rows: list[tuple[int, list]] = []
    errors: list[Row] = []
    for first, last, row in records[1:]:
        span = lines[first - 1 : last]
        merged = last > first and (width == 1 or any(len(next(csv.reader([ln]), [])) >= width for ln in span[1:]))
        if not merged:
            rows.append((first, row))
            continue
        for n, ln in enumerate(span, first):
            if ln.count('"') % 2:
                errors.append((f"row-{n}", {"row": n}, f'第 {n} 行引号未闭合（"），无法可靠读取，未作答；请修正引号后重试'))
            elif ln.strip():
                rows.append((n, next(csv.reader([ln]), [])))
    return header, rows, errors


def _text_of(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BatchError(f"{path.name}: 不是文本文件（含二进制内容），请提供 UTF-8 或 GBK 编码的题目文件")
    try:
        return decode_bytes(data)[0]
    except (UnicodeDecodeError, LookupError) as exc:
        raise BatchError(f"{path.name}: 无法识别文本编码，请另存为 UTF-8 或 GBK") from exc


def read_rows(path: Path, column: str | None = None) -> list[Row]:
    """Questions from a .jsonl, .csv, .xlsx or .txt file, one Row per input row."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in INPUTS:
        raise BatchError(f"不支持的题目文件类型 {ext or '（无扩展名）'}（支持 {', '.join(INPUTS)}）")
    if not path.exists():
        raise BatchError(f"找不到题目文件：{path}")
    if path.is_dir():
        raise BatchError(f"{path} 是文件夹，请给出题目文件")
    if ext == ".xlsx":
        import openpyxl

        try:
            ws = openpyxl.load_workbook(path, read_only=True, data_only=True).active
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
        except Exception as exc:
            raise BatchError(f"{path.name}: 无法读取 Excel 文件（{type(exc).__name__}）") from exc
        if not rows:
            raise BatchError(f"{path.name}: 工作表为空")
        return _table_rows(rows[0], list(enumerate(rows[1:], 2)), column)
    text = _text_of(path)
    if ext == ".csv":
        header, rows, errors = _csv_rows(text)
        if not header:
            raise BatchError(f"{path.name}: 文件为空")
        out = _table_rows(header, rows, column) + errors
        return sorted(out, key=lambda r: r[1]["row"])
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
            out.append((rid, None, f"第 {n} 行缺少 question 字段或其不是字符串。"))
            continue
        if isinstance(rec.get("options"), list):  # ["甲", "乙", …] in order A, B, …
            rec["options"] = dict(zip("ABCD", map(str, rec["options"]), strict=False))
        out.append((rid, rec, None))
    return out


def check_output(path: Path) -> None:
    """Refuse, before any work, an output that cannot be written: unknown type, a folder, or a
    folder that cannot be created or written to."""
    office.output_path(path, OUTPUTS, BatchError)


def _choice_fields(c, options: dict[str, str] | None) -> dict:
    out = {"choice": c.letter, "choice_text": c.option, "confidence": c.confidence, "low_confidence": c.low_confidence}
    if options:
        out["options"] = options
    if c.sentence and c.passage is not None:
        m = c.passage.metadata
        out["choice_citation"] = {"source": m.get("source", ""), "title": m.get("title", ""), "quote": c.sentence}
    return out


def answer_row(answerer, rid: str, rec: dict) -> dict:
    """One output record: the batch-interface fields, plus for a choice or true/false item the
    chosen option (letter and text), its confidence and a low-confidence flag; 无法确定 and no
    letter when the corpus does not decide."""
    question = check_question(rec["question"], answerer.settings.answer.max_question_chars)
    stem, options = parse_options(question)
    options = rec.get("options") or options
    if options:
        c = choose(answerer.retriever, stem, options)
    elif rec.get("type") == "judge" or is_judge(question):
        c = judge(answerer.retriever, question)
    else:
        return answerer.ask(question).to_record(rid)
    out = answerer.ask(stem).to_record(rid)
    out["question"] = question
    out.update(_choice_fields(c, options))
    out["refused"] = not c.letter  # a choice row is answered exactly when it carries a letter
    if not c.letter:
        out["answer"] = f"{UNDETERMINED}：资料中的依据不足以在选项中作出判断。" + (
            f"\n\n参考：{out['answer']}" if out.get("answer") else ""
        )
    return out


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
    cc = rec.get("choice_citation")
    if cc:
        cites = f"[选项依据]《{cc['title']}》{cc['quote']}" + (" | " + cites if cites else "")
    low = rec.get("low_confidence")
    return [
        rec.get("id"),
        rec.get("question"),
        rec.get("choice", ""),
        rec.get("choice_text", ""),
        rec.get("answer", ""),
        cites,
        rec.get("refused", ""),
        rec.get("confidence", ""),
        "是" if low else ("否" if low is False else ""),
        rec.get("error", ""),
    ]


FLAT_HEADER = ["id", "题目", "选项", "选项内容", "回答", "出处", "拒答", "置信度", "低置信度", "错误"]


def write_records(records: list[dict], path: Path) -> None:
    """Write to a temporary file, then rename, in the format of the extension."""
    ext = path.suffix.lower()
    check_output(path)
    if ext == ".xlsx":
        rows = ([str(x) if isinstance(x, (list, dict)) else x for x in _flat(r)] for r in records)
        office.save(office.workbook("答题结果", FLAT_HEADER, rows), path)
        return
    if ext == ".docx":
        office.save(_document(records), path)
        return
    tmp = path.with_name(path.name + ".part")
    if ext == ".jsonl":
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    else:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(FLAT_HEADER)
            w.writerows(_flat(r) for r in records)
    tmp.replace(path)


def _document(records: list[dict]):
    """The answers as a Word document: each question a heading, then its choice, answer and sources."""
    d = office.document()
    d.add_heading("批量答题结果", level=0)
    for r in records:
        d.add_heading(f"{r.get('id')}. {r.get('question') or ''}", level=2)
        if "error" in r:
            d.add_paragraph(f"错误：{r['error']}")
            continue
        if "choice" in r:
            low = "，低置信度" if r.get("low_confidence") else ""
            if r["choice"] and r.get("options"):
                picked = f"{r['choice']}. {r.get('choice_text', '')}"
            else:  # undetermined, or a true/false verdict without lettered options
                picked = r.get("choice_text") or UNDETERMINED
            d.add_paragraph(f"选择：{picked}（置信度 {r.get('confidence')}{low}）")
        d.add_paragraph(r.get("answer", ""))
        for c in r.get("citations", []):
            d.add_paragraph(f"[{c['n']}]《{c['title']}》{c['quote']}")
    return d


def answer_file(
    answerer, infile: Path, outfile: Path, progress: bool = True, column: str | None = None, rows: list[Row] | None = None
) -> dict:
    """Answer ``infile`` (or its ``rows`` already read) into ``outfile``; returns counts. The output
    is checked before any question is answered; every input row gives one output record."""
    check_output(Path(outfile))
    rows = read_rows(Path(infile), column) if rows is None else rows
    records = list(answer_rows(answerer, rows, progress))
    if len(records) != len(rows):  # never: one record per row is the contract
        raise RuntimeError(f"{len(rows)} rows gave {len(records)} records")
    write_records(records, Path(outfile))
    return {
        "rows": len(rows),
        "answered": sum("error" not in r for r in records),
        "refused": sum(bool(r.get("refused")) for r in records if "error" not in r),
        "errors": sum("error" in r for r in records),
    }

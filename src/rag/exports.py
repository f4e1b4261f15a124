"""Quiz exports: Word (a printable paper and a separate answer sheet), Excel (one row per item),
Markdown and JSON. The format follows the output file's extension."""

from __future__ import annotations

import json
from pathlib import Path

from .quiz import TYPE_NAMES, QuizItem

SUPPORTED = (".docx", ".xlsx", ".md", ".json")


def _source(item: QuizItem) -> str:
    c = item.citation
    if c is None:
        return ""
    where = f"{c.occasion}（{c.date}）" if c.occasion else c.section
    return f"《{c.title}》{('，' + c.authors) if c.authors else ''}{('，' + where) if where else ''}"


def _grouped(items: list[QuizItem]) -> list[tuple[str, list[tuple[int, QuizItem]]]]:
    numbered = list(enumerate(items, 1))
    return [(t, [(i, it) for i, it in numbered if it.type == t]) for t in TYPE_NAMES if any(it.type == t for it in items)]


def _key_text(item: QuizItem) -> str:
    if item.type == "choice":
        return f"{item.answer}. {item.options['ABCD'.index(item.answer)]}"
    if item.type == "short":
        return "要点：" + "；".join(item.points)
    return item.answer


def to_markdown(items: list[QuizItem], title: str) -> str:
    lines = [f"# {title}", ""]
    for t, group in _grouped(items):
        lines += [f"## {TYPE_NAMES[t]}", ""]
        for i, it in group:
            lines.append(f"{i}. {it.question}")
            lines += [f"   - {'ABCD'[k]}. {o}" for k, o in enumerate(it.options)]
            if it.type == "judge":
                lines.append("   （正确 / 错误）")
        lines.append("")
    lines += ["---", "", f"# {title} · 答案与出处", ""]
    for i, it in enumerate(items, 1):
        lines.append(f"{i}. **{_key_text(it)}** —— {_source(it)}")
        lines.append(f"   > {it.citation.sentence if it.citation else ''}")
        if it.explanation and it.type in ("judge", "choice"):
            lines.append(f"   说明：{it.explanation}")
    return "\n".join(lines) + "\n"


def _docx(path: Path, title: str, paragraphs: list[tuple[str, str]]) -> None:
    import docx

    d = docx.Document()
    for style, text in [("Title", title)] + paragraphs:
        if style.startswith("Heading"):
            d.add_heading(text, level=int(style[-1]))
        elif style == "Title":
            d.add_heading(text, level=0)
        else:
            d.add_paragraph(text)
    d.save(str(path))


def to_docx(items: list[QuizItem], path: Path, title: str) -> list[Path]:
    """The paper (questions only) and a separate answer sheet with keys and sources."""
    paper: list[tuple[str, str]] = []
    for t, group in _grouped(items):
        paper.append(("Heading1", TYPE_NAMES[t]))
        for i, it in group:
            paper.append(("p", f"{i}. {it.question}"))
            paper += [("p", f"    {'ABCD'[k]}. {o}") for k, o in enumerate(it.options)]
            if it.type == "short":
                paper.append(("p", "答：" + "＿" * 30))
    key: list[tuple[str, str]] = []
    for i, it in enumerate(items, 1):
        key.append(("p", f"{i}. {_key_text(it)}"))
        key.append(("p", f"    出处：{_source(it)}"))
        key.append(("p", f"    原文：{it.citation.sentence if it.citation else ''}"))
    answers = path.with_name(path.stem + "-答案" + path.suffix)
    _docx(path, title, paper)
    _docx(answers, title + " · 答案", key)
    return [path, answers]


def to_xlsx(items: list[QuizItem], path: Path, title: str) -> list[Path]:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "试题"
    ws.append(["序号", "题型", "题目", "选项", "答案", "出处", "原文", "说明"])
    for i, it in enumerate(items, 1):
        opts = "\n".join(f"{'ABCD'[k]}. {o}" for k, o in enumerate(it.options))
        ws.append([i, TYPE_NAMES[it.type], it.question, opts, _key_text(it), _source(it),
                   it.citation.sentence if it.citation else "", it.explanation[:500]])
    for col, width in zip("ABCDEFGH", (6, 8, 60, 30, 30, 40, 60, 40)):
        ws.column_dimensions[col].width = width
    wb.save(str(path))
    return [path]


def export(items: list[QuizItem], path: str | Path, title: str = "学习测试") -> list[Path]:
    """Write the quiz in the format of ``path``'s extension; returns the files written."""
    path = Path(path)
    ext = path.suffix.lower()
    order = list(TYPE_NAMES)
    items = sorted(items, key=lambda it: order.index(it.type))  # the paper goes section by section
    path.parent.mkdir(parents=True, exist_ok=True)
    if ext == ".docx":
        return to_docx(items, path, title)
    if ext == ".xlsx":
        return to_xlsx(items, path, title)
    if ext == ".md":
        path.write_text(to_markdown(items, title), encoding="utf-8")
        return [path]
    if ext == ".json":
        path.write_text(json.dumps({"title": title, "items": [i.to_dict() for i in items]}, ensure_ascii=False, indent=1),
                        encoding="utf-8")
        return [path]
    raise ValueError(f"不支持的导出格式 {ext}（支持 {', '.join(SUPPORTED)}）")

"""Quiz exports: Word (a printable paper and a separate answer sheet), Excel (one row per item),
Markdown and JSON. The format follows the output file's extension."""

from __future__ import annotations

import json
from pathlib import Path

from . import office
from .citation import label
from .office import para
from .patterns import cn_numeral
from .quiz import TYPE_NAMES, QuizItem

SUPPORTED = (".docx", ".xlsx", ".md", ".json")


def _source(item: QuizItem) -> str:
    return label(item.citation) if item.citation is not None else ""


def _grouped(items: list[QuizItem]) -> list[tuple[str, list[tuple[int, QuizItem]]]]:
    numbered = list(enumerate(items, 1))
    return [(t, [(i, it) for i, it in numbered if it.type == t]) for t in TYPE_NAMES if any(it.type == t for it in items)]


def _key_text(item: QuizItem) -> str:
    if item.type == "choice":
        return f"{item.answer}. {item.options['ABCD'.index(item.answer)]}"
    if item.type == "short":
        return "要点：" + "；".join(f"（{k}）{p}" for k, p in enumerate(item.points, 1))
    return item.answer


def _by_section(items: list[QuizItem]) -> list[QuizItem]:
    order = list(TYPE_NAMES)
    return sorted(items, key=lambda it: order.index(it.type))  # the paper goes section by section


def to_markdown(items: list[QuizItem], title: str) -> str:
    """The paper then the key. Items are numbered 1..N section by section, and options are indented
    under their item by the width of its number, so a Markdown list never restarts its numbering."""
    items = _by_section(items)
    lines = [f"# {title}", ""]
    for t, group in _grouped(items):
        lines += [f"## {TYPE_NAMES[t]}", ""]
        for i, it in group:
            pad = " " * len(f"{i}. ")
            lines.append(f"{i}. {it.question}")
            lines += [f"{pad}- {'ABCD'[k]}. {o}" for k, o in enumerate(it.options)]
            if it.type == "judge":
                lines.append(f"{pad}（正确 / 错误）")
        lines.append("")
    lines += ["---", "", f"# {title} · 答案与出处", ""]
    for i, it in enumerate(items, 1):
        lines.append(f"{i}. **{_key_text(it)}** —— {_source(it)}")
        lines.append(f"   > {it.citation.quote if it.citation else ''}")
        if it.explanation and it.type in ("judge", "choice") and not it.explanation.startswith("原文："):
            lines.append(f"   说明：{it.explanation}")
    return "\n".join(lines) + "\n"


def _paper_settings() -> dict:
    from .quiz import quiz_vocab

    return quiz_vocab()["paper"]


def _answer_lines(item: QuizItem) -> int:
    """Ruled lines for a short answer: one per expected point, plus one."""
    return max(3, min(7, len(item.points) + 1))


def to_docx(items: list[QuizItem], path: Path, title: str) -> list[Path]:
    """The paper (questions only: title block, sections with instructions and points, （ ） for
    choice and true/false items, ruled lines sized to each short answer) and a separate answer
    sheet with keys, 说明 and citations. A4."""
    cfg = _paper_settings()
    paper = office.document()
    office.title(paper, title)
    total = sum(cfg["points"][it.type] for it in items)
    para(paper, f"姓名：__________    班级：__________    得分：__________    （满分 {total} 分）", center=True)
    for k, (t, group) in enumerate(_grouped(items)):
        pts = cfg["points"][t]
        para(paper, f"{cn_numeral(k + 1)}、{TYPE_NAMES[t]}（每题 {pts} 分，共 {pts * len(group)} 分）", bold=True, size=12)
        para(paper, cfg["instructions"][t], size=10)
        for i, it in group:
            if t in ("choice", "judge"):
                para(paper, f"{i}. {it.question}（    ）")
            else:
                para(paper, f"{i}. {it.question}")
            if it.options:
                longest = max(len(o) for o in it.options)
                if longest <= 8:
                    para(paper, "    ".join(f"{'ABCD'[j]}. {o}" for j, o in enumerate(it.options)), indent_mm=6)
                else:
                    for j, o in enumerate(it.options):
                        para(paper, f"{'ABCD'[j]}. {o}", indent_mm=6)
            if t == "short":
                for _ in range(_answer_lines(it)):
                    para(paper, "_" * 78)
    key = office.document()
    office.title(key, f"{title} · 参考答案与出处", size=16)
    for k, (t, group) in enumerate(_grouped(items)):
        para(key, f"{cn_numeral(k + 1)}、{TYPE_NAMES[t]}", bold=True, size=12)
        for i, it in group:
            if it.type == "short":
                para(key, f"{i}. 评分要点（每点分值均分）：", bold=True)
                for j, p in enumerate(it.points, 1):
                    para(key, f"（{j}）{p}", indent_mm=6)
            else:
                para(key, f"{i}. {_key_text(it)}", bold=True)
            if it.explanation and it.type in ("judge", "choice") and not it.explanation.startswith("原文："):
                para(key, f"说明：{it.explanation}", indent_mm=6, size=10)
            office.source_line(key, _source(it), size=10)
            para(key, f"原文：{it.citation.quote if it.citation else ''}", indent_mm=6, size=10)
    answers = path.with_name(path.stem + "-答案" + path.suffix)
    office.save(paper, path)
    office.save(key, answers)
    return [path, answers]


def to_xlsx(items: list[QuizItem], path: Path, title: str) -> list[Path]:
    rows = [
        [
            i,
            TYPE_NAMES[it.type],
            it.question,
            "\n".join(f"{'ABCD'[k]}. {o}" for k, o in enumerate(it.options)),
            _key_text(it),
            _source(it),
            it.citation.quote if it.citation else "",
            it.explanation[:500],
        ]
        for i, it in enumerate(items, 1)
    ]
    header = ["序号", "题型", "题目", "选项", "答案", "出处", "原文", "说明"]
    return [office.save(office.workbook("试题", header, rows, (6, 8, 60, 30, 30, 40, 60, 40)), path)]


def export(items: list[QuizItem], path: str | Path, title: str = "学习测试") -> list[Path]:
    """Write the quiz in the format of ``path``'s extension; returns the files written."""
    path, ext = office.output_path(path, SUPPORTED)
    items = _by_section(items)
    if ext == ".docx":
        return to_docx(items, path, title)
    if ext == ".xlsx":
        return to_xlsx(items, path, title)
    if ext == ".md":
        path.write_text(to_markdown(items, title), encoding="utf-8")
        return [path]
    path.write_text(
        json.dumps({"title": title, "items": [i.to_dict() for i in items]}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return [path]

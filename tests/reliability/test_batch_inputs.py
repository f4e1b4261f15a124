"""Bad batch input loses nothing: every input row is answered or gets an error naming it, and a
file that cannot be read or written is refused in one Chinese line before any work."""

import json
import os

import pytest
from click.testing import CliRunner

from rag.batch import BatchError, answer_file, check_output, read_rows
from rag.cli import cli

# Row 2 opens a quote it never closes: a plain CSV reader folds rows 2-4 into one cell.
UNTERMINATED = '题目,A,B,C,D\n"银发经济是什么？,,,,\n具身智能是指什么？,,,,\nIGBT国产率仅为多少？,15%,25%,35%,45%\n'


def _rows(tmp_path, text):
    f = tmp_path / "q.csv"
    f.write_text(text, encoding="utf-8")
    return read_rows(f)


def test_unterminated_quote_never_merges_rows(tmp_path):
    rows = _rows(tmp_path, UNTERMINATED)
    assert [r[0] for r in rows] == ["row-2", "row-3", "row-4"]
    assert rows[0][2] and "第 2 行" in rows[0][2] and "引号" in rows[0][2]
    assert rows[1][1]["question"] == "具身智能是指什么？" and rows[1][2] is None
    assert rows[2][1]["options"] == {"A": "15%", "B": "25%", "C": "35%", "D": "45%"}


def test_a_quoted_multiline_options_cell_is_still_one_row(tmp_path):
    text = '题目,选项\n网络技术遵循什么定律？,"A. 摩尔定律\nB. 梅特卡夫定律\nC. 学习曲线\nD. 安迪比尔定律"\n'
    ((rid, rec, err),) = _rows(tmp_path, text)
    assert err is None and rec["options"]["B"] == "梅特卡夫定律"


def test_one_options_column_from_a_gbk_csv(tmp_path):
    f = tmp_path / "q.csv"
    f.write_bytes(
        "题号,题目,选项\n1,我国已建设多少个制造业中试平台？,A. 1400余个；B. 2400余个；C. 3400余个；D. 4400余个\n".encode("gbk")
    )
    ((rid, rec, err),) = read_rows(f)
    assert rid == "1" and rec["options"] == {"A": "1400余个", "B": "2400余个", "C": "3400余个", "D": "4400余个"}


def _run(args):
    r = CliRunner().invoke(cli, args, obj={})
    return r.exit_code, r.output


@pytest.mark.parametrize(
    "case", ["binary", "unsupported_out", "unwritable", "read_only_folder", "missing", "bad_xlsx", "out_is_folder"]
)
def test_bad_files_refused_in_one_line_before_any_work(tmp_path, monkeypatch, case):
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    good = tmp_path / "q.txt"
    good.write_text("银发经济是什么？\n", encoding="utf-8")
    infile, out = good, tmp_path / "a.jsonl"
    if case == "binary":
        infile = tmp_path / "q.csv"
        infile.write_bytes(bytes(range(256)) * 4)
    elif case == "unsupported_out":
        out = tmp_path / "a.pdf"
    elif case == "unwritable":  # a folder that cannot be created (its parent is a file), even for root
        (tmp_path / "plain.txt").write_text("x", encoding="utf-8")
        out = tmp_path / "plain.txt" / "sub" / "a.jsonl"
    elif case == "read_only_folder":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        out = locked / "a.jsonl"
    elif case == "missing":
        infile = tmp_path / "nope.csv"
    elif case == "bad_xlsx":
        infile = tmp_path / "q.xlsx"
        infile.write_bytes(b"PK\x03\x04 not really a workbook")
    elif case == "out_is_folder":
        out = tmp_path / "folder.csv"
        out.mkdir()
    code, output = _run(["answer", str(infile), "-o", str(out), "--quiet"])
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert code == 2, output
    assert len(lines) == 1 and lines[0].startswith("错误：") and "Traceback" not in output, output
    assert not (tmp_path / "home").exists()  # refused before the index was opened


def test_check_output_names_the_problem(tmp_path):
    with pytest.raises(BatchError, match="不支持的输出格式 .pdf"):
        check_output(tmp_path / "x.pdf")
    check_output(tmp_path / "new" / "x.csv")  # a missing folder is created
    assert (tmp_path / "new").is_dir() and not list((tmp_path / "new").iterdir())


@pytest.mark.slow
def test_every_row_accounted_for_in_the_output(corpus_system, tmp_path):
    f = tmp_path / "q.csv"
    f.write_text(UNTERMINATED + ",,,,\n,A,B,,\n", encoding="utf-8")
    out = tmp_path / "a.jsonl"
    stats = answer_file(corpus_system.answerer, f, out, progress=False)
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert stats["rows"] == len(recs) == 4  # rows 2, 3, 4 and the empty-question row 6 (row 5 is blank)
    assert stats["answered"] + stats["errors"] == stats["rows"]
    assert [r["id"] for r in recs] == ["row-2", "row-3", "row-4", "row-6"]
    assert "error" in recs[0] and "第 2 行" in recs[0]["error"]
    assert "error" not in recs[1] and "物理实体" in recs[1]["answer"]
    assert recs[2]["choice"] == "B" and recs[2]["choice_text"] == "25%"
    assert "error" in recs[3] and "第 6 行" in recs[3]["error"]

from rag.answer.candidates import table_header

TABLE = "二者的特征差异如表1所示。\n特征 | 甲产业 | 乙产业\n周期 | 孕育期 | 成长期\n规模 | 较小 | 较大"


def test_a_table_row_is_read_with_its_header():
    assert table_header(TABLE, "周期 | 孕育期 | 成长期") == "特征 | 甲产业 | 乙产业"
    assert table_header(TABLE, "规模 | 较小 | 较大") == "特征 | 甲产业 | 乙产业"
    assert table_header(TABLE, "特征 | 甲产业 | 乙产业") == ""  # the header itself
    assert table_header(TABLE, "二者的特征差异如表1所示。") == ""  # not a row


def test_a_table_continued_from_the_passage_before_takes_that_header():
    rest = "风险 | 高 | 较低\n产业链 | 不完整 | 完整\n其后的正文。"
    assert table_header(rest, "产业链 | 不完整 | 完整", before=TABLE) == "特征 | 甲产业 | 乙产业"
    # without the passage before, its first row is no header: nothing is made up
    assert table_header(rest, "产业链 | 不完整 | 完整") == ""
    # a passage before that does not end in a table gives none either
    assert table_header(rest, "风险 | 高 | 较低", before="正文。\n特征 | 甲 | 乙\n结束语。") == ""


def test_a_second_table_in_one_passage_has_its_own_header():
    two = TABLE + "\n另一段正文。\n指标 | 2023年 | 2024年\n产值 | 1 | 2"
    assert table_header(two, "产值 | 1 | 2") == "指标 | 2023年 | 2024年"


def test_a_table_over_three_passages_gets_no_data_row_for_header():
    # the passage before holds only rows continued from further back: its first row is no header
    middle = "规模 | 较小 | 较大\n风险 | 高 | 低"
    assert table_header("链条 | 不完整 | 完整\n正文。", "链条 | 不完整 | 完整", before=middle) == ""

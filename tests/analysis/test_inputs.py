"""Reading answers: CSV exports checked by row and column, and frames from the application."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from assessment.analysis import AnalysisInput, CsvInputError, read_answers_csv
from assessment.analysis.inputs import NOT_UTF8

HEADER = "id,team,role,H-A1,H-A2,H-O1,H-O2,D-A1,D-O1,D-O2,C-1,comment"


def csv(*rows: str) -> io.StringIO:
    return io.StringIO("\n".join((HEADER, *rows)) + "\n")


def problems(source, bank, **kwargs) -> list[str]:
    with pytest.raises(CsvInputError) as caught:
        read_answers_csv(source, bank, "team", **kwargs)
    return caught.value.problems


def test_reads_values_blanks_and_other_columns(small_bank):
    answers, groups, roles = read_answers_csv(csv(
        "1,Ops,Lead,1,2,3,4,5,,NA,2.5,fine",
        "2,1.0,Agent,5, 4 ,3,2,1,2,3,4,",
    ), small_bank, "team", "role")
    assert list(answers.columns) == small_bank.question_ids
    assert list(answers.index) == [2, 3]  # spreadsheet rows
    assert answers.at[2, "C-1"] == 2.5  # pre-scored data keeps its decimals
    assert np.isnan(answers.at[2, "D-O1"]) and np.isnan(answers.at[2, "D-O2"])
    assert answers.at[3, "H-A2"] == 4.0
    assert list(groups) == ["Ops", "1.0"]  # group keys are the CSV's text
    assert list(roles) == ["Lead", "Agent"]


def test_a_team_or_role_called_na_is_a_name(small_bank):
    answers, groups, roles = read_answers_csv(csv(
        "1,NA,N/A,1,2,3,4,5,1,NA,2,",
        "2,nan,NA,5,4,3,2,1,2,3,4,",
    ), small_bank, "team", "role")
    assert list(groups) == ["NA", "nan"]
    assert list(roles) == ["N/A", "NA"]
    assert np.isnan(answers.at[2, "D-O2"])  # in an answer column NA is still "don't know"


def test_every_bad_value_is_reported_by_row_and_column(small_bank):
    found = problems(csv(
        "1,Ops,Lead,1,2,3,4,5,1,1,1,",
        "2,Ops,Lead,abc,2,3,4,5,1,1,7,",
        "3,,Lead,1,2,3,4,0,1,1,1,",
        "4,Ops,Lead,1,2,3,4,5,1,1,3.5.1,",
    ), small_bank)
    assert found == [
        "row 3, column H-A1: 'abc' is not a number",
        "row 3, column C-1: 7 is outside the scale 1..5",
        "row 4, column team: empty",
        "row 4, column D-A1: 0 is outside the scale 1..5",
        "row 5, column C-1: '3.5.1' is not a number",
    ]


def test_error_lines_name_the_file(small_bank, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "\n1,Ops,Lead,9,2,3,4,5,1,1,1,\n")
    with pytest.raises(CsvInputError) as caught:
        read_answers_csv(path, small_bank, "team")
    assert caught.value.lines() == [f"{path}: row 2, column H-A1: 9 is outside the scale 1..5"]


def test_file_that_is_not_utf8(small_bank, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\n1,Bé,Lead,1,2,3,4,5,1,1,1,\n").encode("latin-1"))
    assert problems(path, small_bank) == [NOT_UTF8]


def test_missing_columns_are_errors(small_bank):
    source = io.StringIO("team,H-A1,H-A2\nOps,1,2\n")
    found = problems(source, small_bank, role_col="role")
    assert found[0] == "row 1, column role: column not found in the header"
    assert "row 1, column H-O1: question column not found in the header" in found
    assert len(found) == 1 + 6


def test_duplicate_header_is_an_error(small_bank):
    source = io.StringIO(HEADER + ",H-A1\n")
    assert problems(source, small_bank) == ["row 1, column H-A1: appears 2 times in the header"]


def test_ragged_row_is_reported_by_row(small_bank):
    found = problems(csv("1,Ops,Lead,1,2,3,4,5,1,1,1,", "2,Ops,Lead,1,2,3,4,5,1,1,1,x,extra"),
                     small_bank)
    assert found == ["row 3: 13 fields where the header has 12"]
    short = problems(csv("1,Ops,Lead,1,2,3", "2,Ops,Lead,1,2,3,4,5,1,1,1,"), small_bank)
    assert short == ["row 2: 6 fields where the header has 12"]


def test_blank_lines_keep_row_numbers(small_bank):
    found = problems(csv("1,Ops,Lead,1,2,3,4,5,1,1,1,", "", "3,Ops,Lead,1,2,3,4,5,1,1,6,"),
                     small_bank)
    assert found == ["row 4, column C-1: 6 is outside the scale 1..5"]


def test_semicolon_separated_export(small_bank):
    source = io.StringIO(HEADER.replace(",", ";") + "\n1;Ops;Lead;1;2;3;4;5;;;2;x\n")
    answers, groups, _ = read_answers_csv(source, small_bank, "team")
    assert answers.at[2, "H-O2"] == 4.0 and list(groups) == ["Ops"]


def test_upload_as_bytes(small_bank):
    source = io.BytesIO(("\ufeff" + HEADER + "\n1,Bé,Lead,1,2,3,4,5,1,1,1,\n").encode())
    answers, groups, _ = read_answers_csv(source, small_bank, "team")
    assert list(groups) == ["Bé"] and answers.at[2, "D-A1"] == 5.0
    assert problems(io.BytesIO(b"team,\xff\xfe\n"), small_bank) == [NOT_UTF8]


def test_many_problems_are_capped(small_bank):
    rows = [f"{i},Ops,Lead,9,9,9,9,9,9,9,9," for i in range(20)]
    found = problems(csv(*rows), small_bank)
    assert len(found) == 51
    assert found[-1] == "... and 110 more problems"


def test_empty_file_and_header_only(small_bank):
    assert problems(io.StringIO(""), small_bank) == ["row 1: no header row (the file is empty)"]
    assert problems(csv(), small_bank) == ["row 2: no respondents after the header"]


def test_prepare_aligns_and_checks_frames(small_bank):
    answers = pd.DataFrame({"H-A1": [1.0, 5.0], "H-A2": [5.0, np.nan], "extra": [0, 0]},
                           index=["a", "b"])
    data = AnalysisInput.prepare(answers, small_bank, groups=pd.Series({"b": "X", "a": "Y"}))
    assert list(data.answers.columns) == small_bank.question_ids
    assert data.answers["C-1"].isna().all()
    assert data.scored.at["a", "H-A2"] == 1.0  # reverse item flipped: 1 + 5 - 5
    assert list(data.groups) == ["Y", "X"]
    assert answers.at["a", "H-A2"] == 5.0  # input untouched
    with pytest.raises(ValueError, match="outside the scale"):
        AnalysisInput.prepare(answers.assign(**{"H-A1": [0.0, 1.0]}), small_bank,
                              groups=pd.Series({"a": "X", "b": "X"}))
    with pytest.raises(ValueError, match="group: missing for 1"):
        AnalysisInput.prepare(answers, small_bank, groups=pd.Series({"a": "X"}))

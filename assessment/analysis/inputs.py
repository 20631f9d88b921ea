"""What the analysis reads: answers with each respondent's group and role, checked against a bank.

Owns two doors into the analysis: `AnalysisInput.prepare` for frames built by the application
(answers already known to be valid, so a problem there is a programming error and raises
ValueError), and `read_answers_csv` for exports from other survey tools, where every bad value is a
user's problem and is reported by spreadsheet row and column before anything is computed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from assessment.banks import Bank

# Cells read as "don't know": blanks, and the NA markers R, SPSS and spreadsheet exports write.
DONT_KNOW_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "n/a", "na", "NaN", "nan")
# Thousands of bad cells are one mistake (wrong column, wrong scale): list the first ones.
MAX_REPORTED_PROBLEMS = 50
NOT_UTF8 = "the file is not UTF-8 text: save it as \"CSV UTF-8\""
# Spreadsheet rows: the header is row 1, so the first respondent is row 2.
FIRST_DATA_ROW = 2


class CsvInputError(ValueError):
    """A CSV that cannot be analysed; `problems` has one `row N, column C: message` per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{self.source}: {p}" for p in self.problems]


def _natural_key(value: str) -> tuple[Any, ...]:
    """Order "2" before "10" (and "2.0" before "10.0") when keys are numbers, text otherwise."""
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def _as_keys(keys: pd.Series, index: pd.Index, what: str) -> pd.Series:
    aligned = keys.reindex(index)
    if aligned.isna().any():
        raise ValueError(f"{what}: missing for {int(aligned.isna().sum())} respondents")
    text = aligned.astype(str).str.strip()
    if (text == "").any():
        raise ValueError(f"{what}: empty for {int((text == '').sum())} respondents")
    categories = sorted(text.unique(), key=_natural_key)
    return pd.Series(pd.Categorical(text, categories=categories), index=index, name=what)


@dataclass(frozen=True)
class AnalysisInput:
    """Answers aligned to a bank, ready for analysis.

    `answers`: respondents x the bank's question ids, raw values as floats (NaN = don't know).
    `scored`: the same with reverse items flipped. `groups` / `roles`: categorical Series of strings
    on the same index (roles None when not known).
    """

    bank: Bank
    answers: pd.DataFrame
    scored: pd.DataFrame
    groups: pd.Series
    roles: pd.Series | None

    @classmethod
    def prepare(
        cls,
        answers: pd.DataFrame,
        bank: Bank,
        *,
        groups: pd.Series,
        roles: pd.Series | None = None,
    ) -> AnalysisInput:
        """Check and align the inputs. Columns that are not question ids are ignored; a question
        nobody answered may be missing (it becomes all "don't know"). Raises ValueError for
        duplicate respondents, missing groups or roles, and values outside the scale."""
        from .scoring import reverse_score

        if answers.empty and len(answers.index) == 0:
            raise ValueError("answers: no respondents")
        if not answers.index.is_unique:
            raise ValueError("answers: respondent ids are not unique")
        frame = answers.reindex(columns=bank.question_ids).astype(float)
        values = frame.to_numpy()
        outside = ~np.isnan(values) & ((values < bank.scale.min) | (values > bank.scale.max))
        if outside.any():
            rows, cols = np.nonzero(outside)
            raise ValueError(
                f"answers: {int(outside.sum())} values outside the scale "
                f"{bank.scale.min}..{bank.scale.max}, first at respondent {frame.index[rows[0]]!r}"
                f", question {frame.columns[cols[0]]}"
            )
        group_keys = _as_keys(groups, frame.index, "group")
        role_keys = None if roles is None else _as_keys(roles, frame.index, "role")
        return cls(bank=bank, answers=frame, scored=reverse_score(frame, bank),
                   groups=group_keys, roles=role_keys)


def _header(source: str | Path | IO[str]) -> tuple[list[str], str]:
    """The header's column names and the delimiter (comma, or semicolon as some Excels write)."""
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8-sig", newline="") as handle:
            line = handle.readline()
    else:
        start = source.tell()
        line = source.readline().lstrip("\ufeff")
        source.seek(start)
    delimiter = ";" if line.count(";") > line.count(",") else ","
    names = next(csv.reader([line], delimiter=delimiter), [])
    return [n.strip() for n in names], delimiter


def _ragged_rows(source: str | Path | IO[str], delimiter: str, width: int) -> list[str]:
    """Rows whose number of fields differs from the header's (a truncated or shifted export),
    numbered as records so that a quoted line break does not shift the count."""
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8-sig", newline="") as handle:
            return _count_fields(handle, delimiter, width)
    start = source.tell()
    try:
        return _count_fields(source, delimiter, width)
    finally:
        source.seek(start)


def _count_fields(lines: IO[str], delimiter: str, width: int) -> list[str]:
    found = []
    for row, fields in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
        if row > 1 and fields and len(fields) != width:
            found.append(f"row {row}: {len(fields)} fields where the header has {width}")
    return found


def read_answers_csv(
    source: str | Path | IO[Any],
    bank: Bank,
    group_col: str,
    role_col: str | None = None,
) -> tuple[pd.DataFrame, pd.Series, pd.Series | None]:
    """Read one-row-per-respondent answers exported by any survey tool.

    Reads a column per question id (numbers within the bank's scale, non-integers allowed; blank or
    NA = don't know), the group column and optionally the role column; other columns are ignored.
    Returns `(answers, groups, roles)` indexed by spreadsheet row number (header = row 1).
    Raises CsvInputError listing every problem (`row N, column C: message`) and computes nothing
    if there is any.
    """
    name = str(source) if isinstance(source, str | Path) else getattr(source, "name", "<csv>")
    if not isinstance(source, str | Path):
        # Hold a stream's text with newline="", as the csv module needs to read CR, LF and CRLF
        # line ends alike (a stream opened otherwise may carry bare CRs it cannot parse).
        text = source.read()
        try:  # an upload held as bytes: decode once, then read it as text
            text = text.decode("utf-8-sig") if isinstance(text, bytes) else text
        except UnicodeDecodeError:
            raise CsvInputError(name, [NOT_UTF8]) from None
        source = io.StringIO(text.lstrip("\ufeff"), newline="")
    try:
        header, delimiter = _header(source)
    except csv.Error as exc:
        raise CsvInputError(name, [f"row 1: cannot be read as CSV ({exc})"]) from None
    except OSError as exc:
        raise CsvInputError(name, [f"cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise CsvInputError(name, [NOT_UTF8]) from None
    if not any(header):
        raise CsvInputError(name, ["row 1: no header row (the file is empty)"])

    problems: list[str] = []
    wanted = [group_col] + ([role_col] if role_col else []) + bank.question_ids
    for column in dict.fromkeys(wanted):
        found = header.count(column)
        if found == 0:
            what = "question column" if bank.has_question(column) else "column"
            problems.append(f"row 1, column {column}: {what} not found in the header")
        elif found > 1:
            problems.append(f"row 1, column {column}: appears {found} times in the header")
    if problems:
        raise CsvInputError(name, problems)
    try:
        ragged = _ragged_rows(source, delimiter, len(header))
    except UnicodeDecodeError:
        raise CsvInputError(name, [NOT_UTF8]) from None
    except csv.Error as exc:  # a field over the csv module's size limit, say
        raise CsvInputError(name, [f"cannot be read as CSV ({exc})"]) from None
    if ragged:
        extra = len(ragged) - MAX_REPORTED_PROBLEMS
        raise CsvInputError(name, ragged[:MAX_REPORTED_PROBLEMS]
                            + ([f"... and {extra} more problems"] if extra > 0 else []))

    key_columns = [group_col] + ([role_col] if role_col else [])
    try:
        frame = pd.read_csv(
            source,
            sep=delimiter,
            usecols=lambda c: str(c).strip() in set(wanted),
            dtype=dict.fromkeys(key_columns, str),
            keep_default_na=False,
            # "NA" and friends mean "don't know" in answer columns only: a team or role called
            # NA (Namibia, North America, a team's initials) is a name.
            na_values={**dict.fromkeys(key_columns, [""]),
                       **{qid: list(DONT_KNOW_TOKENS) for qid in bank.question_ids}},
            encoding="utf-8-sig",
            skipinitialspace=True,
            skip_blank_lines=False,  # keep row numbers as the user sees them
        )
    except UnicodeDecodeError:
        raise CsvInputError(name, [NOT_UTF8]) from None
    except pd.errors.ParserError as exc:
        raise CsvInputError(name, [f"cannot parse: {exc}"]) from None
    frame.columns = [c.strip() for c in frame.columns]
    frame.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(frame), name="row")
    frame = frame.dropna(how="all")  # blank lines, e.g. at the end of the file
    if frame.empty:
        raise CsvInputError(name, ["row 2: no respondents after the header"])

    located: list[tuple[int, int, str]] = []  # (row, column position, message) to sort by row
    for position, column in enumerate(key_columns):
        values = frame[column].str.strip()
        for row in frame.index[values.isna() | (values == "")]:
            located.append((row, position, f"row {row}, column {column}: empty"))
    columns: dict[str, pd.Series] = {}
    for offset, qid in enumerate(bank.question_ids, start=len(key_columns)):
        read = frame[qid]
        if read.dtype == object:
            text = read.str.strip()
            numbers = pd.to_numeric(text.where(~text.isin(DONT_KNOW_TOKENS)), errors="coerce")
            for row in frame.index[numbers.isna() & text.notna() & ~text.isin(DONT_KNOW_TOKENS)]:
                located.append((row, offset,
                                f"row {row}, column {qid}: '{text[row]}' is not a number"))
            read = numbers
        numeric = read.astype(float)
        outside = numeric.notna() & ((numeric < bank.scale.min) | (numeric > bank.scale.max))
        for row in frame.index[outside]:
            located.append((row, offset, f"row {row}, column {qid}: {numeric[row]:g} is outside "
                                         f"the scale {bank.scale.min}..{bank.scale.max}"))
        columns[qid] = numeric
    if located:
        located.sort()
        problems = [message for _, _, message in located[:MAX_REPORTED_PROBLEMS]]
        if len(located) > MAX_REPORTED_PROBLEMS:
            problems.append(f"... and {len(located) - MAX_REPORTED_PROBLEMS} more problems")
        raise CsvInputError(name, problems)
    answers = pd.DataFrame(columns, index=frame.index)
    groups = frame[group_col].str.strip().rename(group_col)
    roles = frame[role_col].str.strip().rename(role_col) if role_col else None
    return answers, groups, roles


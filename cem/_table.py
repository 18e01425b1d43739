"""Reading the `cem fit` data file into a 2-D float array, keeping every row.

A text table's delimiter and header are sniffed unless given. Every failure
is a TableError whose message names the file, the line (counted as an editor
counts them, from 1) and the column (the field number, from 1): a row is never
dropped or guessed at silently. Blank lines are not rows and are skipped.
"""
import csv
import io
import math
import sys

import numpy as np

# Tried in this order when sniffing; None stands for runs of whitespace
# (np.savetxt's default). A single-column file has no delimiter to find.
DELIMITERS = (",", "\t", ";", "|", None)
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe", None: "whitespace"}
SNIFF_LINES = 100


class TableError(ValueError):
    """The data file cannot be read as a numeric table; the message says where."""


def read_matrix(path, delimiter="auto", header="auto"):
    """The table in `path` as a float64 array (n_rows, n_columns), and the
    column names (a list of str, or None without a header line).

    path: a .npy file (a 1-D array is one column), '-' for standard input,
    or any other file as delimited text. delimiter: 'auto' to sniff, a
    single character, or 'whitespace'. header: 'auto' (the first row is a
    header when one of its fields is not a number), True or False.
    Raises TableError (a ValueError) or OSError naming the file."""
    if path != "-" and path.lower().endswith(".npy"):
        return _read_npy(path), None
    try:
        if path == "-":
            text = sys.stdin.buffer.read().decode("utf-8-sig")
        else:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(f"{_name(path)}: not UTF-8 text (byte {exc.start}); "
                         "a .npy file needs the .npy suffix") from None
    return parse_table(text, _name(path), delimiter, header)


def _name(path):
    return "<stdin>" if path == "-" else path


def _read_npy(path):
    X = np.load(path, allow_pickle=False)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise TableError(f"{path}: expected a 1-D or 2-D array, got shape {X.shape}")
    return X


def parse_table(text, name, delimiter="auto", header="auto"):
    """read_matrix for text already read; `name` is used in messages."""
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise TableError(f"{name}: no data (the file is empty)")
    if delimiter == "auto":
        delimiter = _sniff_delimiter(lines, name)
    elif delimiter == "whitespace":
        delimiter = None
    records = list(_records(lines, delimiter, name))
    if header == "auto":
        header = _looks_like_header(records[0][1])
    names = None
    if header:
        header_line, names = records[0][0], [field.strip() for field in records[0][1]]
        records = records[1:]
        if not records:
            raise TableError(f"{name}: no data rows after the header line")
    width = len(records[0][1])
    X = np.empty((len(records), width))
    for i, (line_no, fields) in enumerate(records):
        if len(fields) != width:
            raise TableError(f"{name}, line {line_no}: {len(fields)} fields, expected {width} "
                             f"as on line {records[0][0]} "
                             f"(delimiter: {DELIMITER_NAMES.get(delimiter, repr(delimiter))})")
        for j, field in enumerate(fields):
            X[i, j] = _number(field, name, line_no, j + 1)
    if names is not None and len(names) != width:
        raise TableError(f"{name}, line {header_line}: the header has "
                         f"{len(names)} names for {width} columns")
    return X, names


def _records(lines, delimiter, name):
    """(line number, fields) of each non-blank record."""
    if delimiter is None:
        for i, line in enumerate(lines, 1):
            if line.strip():
                yield i, line.split()
        return
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter, strict=True)
    start = 1
    try:
        for fields in reader:
            if any(field.strip() for field in fields) or len(fields) > 1:
                yield start, fields
            start = reader.line_num + 1
    except csv.Error as exc:
        raise TableError(f"{name}, line {start}: {exc}") from None


def _number(field, name, line_no, column):
    text = field.strip()
    if not text:
        raise TableError(f"{name}, line {line_no}, column {column}: empty field "
                         "(missing values are not supported)")
    try:
        value = float(text)
    except ValueError:
        raise TableError(f"{name}, line {line_no}, column {column}: {field!r} is not a "
                         "number") from None
    if not math.isfinite(value):
        raise TableError(f"{name}, line {line_no}, column {column}: {field!r} is not a "
                         "finite number")
    return value


def _is_number(field):
    try:
        float(field)
    except ValueError:
        return False
    return True


def _looks_like_header(fields):
    """A header has a name: a field that is not a number and has a letter or
    an underscore. (An empty field is a missing value and '1;2' a wrong
    delimiter, not names: such a first line is data, and reported as such.)"""
    return any(not _is_number(field) and any(ch.isalpha() or ch == "_" for ch in field)
               for field in fields)


def _sniff_delimiter(lines, name):
    """The delimiter of the first lines: the first that splits them all into
    the same number (> 1) of fields, preferring one that leaves only numbers
    after a possible header line; a bad value further on is then reported
    where it is. (The header decision is separate: with --no-header a wordy
    first line is reported as data.)"""
    sample = [line for line in lines if line.strip()][:SNIFF_LINES]
    consistent = []
    for delimiter in DELIMITERS:
        try:
            rows = [fields for _, fields in _records(sample, delimiter, name)]
        except TableError:
            continue
        if len(rows[0]) > 1 and len({len(fields) for fields in rows}) == 1:
            data = rows[1:] if _looks_like_header(rows[0]) else rows
            if all(_is_number(f) for fields in data for f in fields if f.strip()):
                return delimiter
            consistent.append(delimiter)
    if consistent:
        return consistent[0]
    for delimiter in DELIMITERS:  # ragged: the parser reports the first odd line
        if len(next(_records(sample[:1], delimiter, name))[1]) > 1:
            return delimiter
    return ","  # one column: no delimiter in the file

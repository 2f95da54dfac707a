"""``policygraph import``: a researcher's spreadsheet of budget figures → a data/figures/*.yaml file.

One row is one amount as printed, with where it was printed. Every cell is checked by the same
pydantic models the loader uses (records.Figure, PagesProgram), and every problem is reported at
once as ``FILE:ROW:COLUMN: message`` (ROW as a spreadsheet numbers it, the header being row 1), so
the researcher can fix the sheet in one pass. Nothing is written unless every row is good.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from policygraph.records.limits import MAX_YAML_CHARS, MAX_YAML_NODES
from policygraph.records.loader import RecordError, load_model
from policygraph.records.models import (
    Figure,
    FiguresFile,
    FiguresSource,
    FiscalYearsFile,
    PagesProgram,
    PrefecturesFile,
)

COLUMNS = ("prefecture", "program", "program_en", "program_key", "fiscal_year", "stage", "component",
           "amount", "unit", "label", "source_url", "source_title", "accessed", "note")
OPTIONAL = frozenset({"component", "note"})  # a sheet without notes need not carry an empty column
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000                # data rows, header not counted
MAX_XLSX_UNPACKED = 100 << 20    # an .xlsx is a zip: refuse one that inflates far beyond its 5 MB

# The model field a column fills, and back: pydantic's errors name fields, the researcher knows columns.
_FIGURE_FIELD = {"program_key": "program", "fiscal_year": "fiscal_year", "stage": "stage",
                 "component": "component", "amount": "amount", "unit": "unit", "label": "label",
                 "source_url": "url", "source_title": "title", "accessed": "accessed", "note": "note"}
_PROGRAM_FIELD = {"program_key": "key", "program": "name", "program_en": "name_en"}
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")         # records.Key also allows "/", unsafe in a file name
_AMOUNT = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})*|[0-9]+")  # ASCII only: the model's \d takes any script
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HINTS = {
    "amount": "not an amount as printed: digits with optional thousands commas (12,345); no unit, sign or decimals",
    "source_url": "not an http(s) URL (without spaces)",
    "program_key": "not a key: lowercase ASCII letters, digits and - (e.g. business-succession)",
    "accessed": "not a date written YYYY-MM-DD",
}

Cell = str | float  # floats are kept from .xlsx only to refuse them as amounts


class ImportProblem(ValueError):
    """The spreadsheet cannot be imported: the message lists every problem, one a line."""


@dataclass(frozen=True)
class NewSource:
    """What the researcher names the figures' source: its key (part of the file name) and titles."""
    key: str
    title: str
    title_en: str


def import_figures(path: Path, root: Path, names: NewSource, out: Path | None = None,
                   force: bool = False) -> tuple[Path, int, int]:
    """Check the sheet and write its figures file; return (path written, figures, programs)."""
    key, title, title_en = names.key, names.title, names.title_en
    # The options first: they are cheap to check, and a bad --key would make a bad file name.
    bad = [f"--key: {_HINTS['program_key']} (got {key!r})"] if not _SLUG.fullmatch(key) else []
    bad += [f"{o}: empty" for o, v in (("--title", title), ("--title-en", title_en)) if not v.strip()]
    if bad:
        raise ImportProblem("\n".join(bad))
    ref = root / "data" / "reference"
    try:
        prefectures = load_model(ref / "prefectures.yaml", PrefecturesFile)
        years = load_model(ref / "fiscal-years.yaml", FiscalYearsFile)
    except RecordError as e:
        raise ImportProblem(f"cannot read the reference tables under {root} (give --root?):\n{e}") from None
    header, rows = _read(path)
    code, programs, figures = _check(str(path), header, rows, prefectures, years)
    out = out or root / "data" / "figures" / f"{code}-{key}.yaml"
    if out.exists() and not force:
        raise ImportProblem(f"{out}: already exists; give --force to replace it")
    source = FiguresSource(key=key, prefecture=code, title=title, title_en=title_en)
    doc = {"source": source.model_dump(), "programs": programs, "figures": figures}
    if _nodes(doc) > MAX_YAML_NODES:
        raise ImportProblem(f"{path}: {len(figures):,} figures make a file over the loader's limit of "
                            f"{MAX_YAML_NODES:,} YAML nodes; split the spreadsheet")
    text = (f"# Made by `policygraph import` from {path.name}: edit the spreadsheet and import it again\n"
            f"# (with --force) rather than editing this file. Amounts are as printed, in `unit`.\n"
            + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120))
    if len(text) > MAX_YAML_CHARS:
        raise ImportProblem(f"{path}: the figures make a file over the loader's limit of {MAX_YAML_CHARS:,} "
                            "characters; split the spreadsheet")
    _write(out, text, force)
    return out, len(figures), len(programs)


# ---------------------------------------------------------------- reading

def _read(path: Path) -> tuple[list[str], list[tuple[int, list[Cell]]]]:
    """The header and the data rows (with their spreadsheet row numbers); file-level problems raise."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ImportProblem(f"{path}: not a .csv or .xlsx file")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ImportProblem(f"{path}: cannot read: {e.strerror or e}") from None
    if size > MAX_BYTES:
        raise ImportProblem(f"{path}: {size:,} bytes, over the limit of {MAX_BYTES:,} (5 MB); split the file")
    if size == 0:
        raise ImportProblem(f"{path}: empty file")
    lines = _csv_rows(path) if suffix == ".csv" else _xlsx_rows(path)
    header = next(lines, None)
    if header is None or not any(header):
        raise ImportProblem(f"{path}: empty file" if header is None else
                            f"{path}:1: row 1 must be the header ({', '.join(COLUMNS)})")
    rows = []
    for n, cells in enumerate(lines, 2):
        if any(c != "" for c in cells):  # blank rows (Excel pads sheets with them) neither count nor stay
            rows.append((n, cells))
            if len(rows) > MAX_ROWS:
                raise ImportProblem(f"{path}: more than {MAX_ROWS:,} rows; split the file")
    return [str(h) for h in header], rows


def _csv_rows(path: Path) -> Iterator[list[Cell]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ImportProblem(f"{path}:{line}: not UTF-8 (byte 0x{data[e.start]:02x}); "
                            'save it as "CSV UTF-8"') from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            yield [c.strip() for c in row]
    except csv.Error as e:
        raise ImportProblem(f"{path}:{reader.line_num}: not readable as CSV: {e}") from None


def _xlsx_rows(path: Path) -> Iterator[list[Cell]]:
    from openpyxl import load_workbook  # noqa: PLC0415 - only .xlsx needs openpyxl, a slow import
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    # zip, XML and openpyxl errors all mean the same to the researcher: not a workbook we can read
    unreadable = (OSError, ValueError, KeyError, SyntaxError, zipfile.BadZipFile, InvalidFileException)
    try:
        with zipfile.ZipFile(path) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_XLSX_UNPACKED:
                raise ImportProblem(f"{path}: unpacks to more than {MAX_XLSX_UNPACKED:,} bytes: refused")
        with warnings.catch_warnings():  # openpyxl warns about styles and extensions it ignores
            warnings.simplefilter("ignore")
            wb = load_workbook(path, read_only=True, data_only=True)
    except ImportProblem:
        raise
    except unreadable as e:
        raise ImportProblem(f"{path}: not a readable .xlsx workbook: {e}") from None
    try:
        sheets = wb.worksheets
        if not sheets:
            raise ImportProblem(f"{path}: the workbook has no worksheet")
        # Only the first sheet is read; figures on another one would be lost without a word.
        for other in sheets[1:]:
            if any(v is not None for r in other.iter_rows(values_only=True) for v in r):
                raise ImportProblem(f"{path}: sheet {other.title!r} holds data too, but only the first sheet "
                                    f"({sheets[0].title!r}) is read: move the rows there or delete that sheet")
        for row in sheets[0].iter_rows(values_only=True):
            yield [_xlsx_cell(v) for v in row]
    except ImportProblem:  # a ValueError too, but already worded
        raise
    except unreadable as e:
        raise ImportProblem(f"{path}: not a readable .xlsx workbook: {e}") from None
    finally:
        wb.close()


def _xlsx_cell(v: Any) -> Cell:
    if v is None:
        return ""
    if isinstance(v, float):
        return v
    if isinstance(v, datetime):  # a typed date (accessed) comes back as midnight of that day
        return v.date().isoformat() if v.time() == time() else v.isoformat()
    if isinstance(v, date | time):
        return v.isoformat()
    return str(v).strip()  # an integer cell becomes its digits, without the commas Excel shows


# ---------------------------------------------------------------- checking

def _check(name: str, header: list[str], rows: list[tuple[int, list[Cell]]], prefectures: PrefecturesFile,
           years: FiscalYearsFile) -> tuple[str, list[dict], list[dict]]:
    """Every row through the models; all problems collected, then raised together."""
    sheet = _Sheet(name, [h.strip() for h in header], prefectures, years)
    sheet.check_header()
    if sheet.errors:
        raise ImportProblem("\n".join(sheet.errors))
    if not rows:
        raise ImportProblem(f"{name}: a header but no figures")
    for n, cells in rows:
        sheet.check_row(n, cells)
    if sheet.errors:
        raise ImportProblem("\n".join(sheet.errors))
    assert sheet.first_code is not None  # every row has a known prefecture, and there is a row
    order = ("program", "fiscal_year", "stage", "component", "amount", "unit", "label", "url", "title",
             "accessed", "note")
    return (sheet.first_code[0], [p for p, _ in sheet.programs.values()],
            [{f: date.fromisoformat(x[f]) if f == "accessed" else x[f] for f in order if f in x}
             for x in sheet.figures])


class _Sheet:
    """The rows checked so far: their problems (one message per cell, the first being the most
    specific), the prefecture of the first row, the programs by key and the figures."""

    def __init__(self, name: str, header: list[str], prefectures: PrefecturesFile, years: FiscalYearsFile):
        self.name, self.header, self.years = name, header, years
        self.errors: list[str] = []
        self.reported: set[tuple[int, str]] = set()
        self.codes = ({p.code: p.code for p in prefectures.prefectures}
                      | {p.name_ja: p.code for p in prefectures.prefectures})
        self.first_code: tuple[str, int] | None = None
        self.programs: dict[str, tuple[dict, int]] = {}
        self.figures: list[dict] = []

    def err(self, row: int, column: str, message: str) -> None:
        if (row, column) not in self.reported:
            self.reported.add((row, column))
            self.errors.append(f"{self.name}:{row}:{column}: {message}")

    def check_header(self) -> None:
        header = self.header
        for i, h in enumerate(header):
            if h and h not in COLUMNS:
                self.err(1, h, f"unknown column (the columns are: {', '.join(COLUMNS)})")
            elif h and h in header[:i]:
                self.err(1, h, "duplicate column")
        for c in COLUMNS:
            if c not in header and c not in OPTIONAL:
                self.err(1, c, "missing column")

    def check_row(self, n: int, cells: list[Cell]) -> None:
        s = self._cells(n, cells)
        if s is None:
            return
        self._prefecture(n, s["prefecture"])
        for c, pattern in (("amount", _AMOUNT), ("accessed", _DAY)):
            if s[c] and not pattern.fullmatch(s[c]):
                self.err(n, c, f"{_HINTS[c]} (got {s[c]!r})")
        if s["program_key"] and not _SLUG.fullmatch(s["program_key"]):
            self.err(n, "program_key", f"{_HINTS['program_key']} (got {s['program_key']!r})")
        # Empty cells are left out, so a required one is "missing" and component/note take their default.
        program = {f: s[c] for c, f in _PROGRAM_FIELD.items() if s[c]}
        figure = {f: s[c] for c, f in _FIGURE_FIELD.items() if s[c]}
        checked = [_validate(PagesProgram, program, _PROGRAM_FIELD), _validate(Figure, figure, _FIGURE_FIELD)]
        for column, message in (p for _, problems in checked for p in problems):
            self.err(n, column, message)
        fig = checked[1][0]
        if isinstance(fig, Figure) and not self.years.first <= fig.fiscal_year <= self.years.last:
            # the build refuses a year outside the reference range: say so now, on this row
            self.err(n, "fiscal_year", f"fiscal year {fig.fiscal_year} is outside {self.years.first}–"
                                       f"{self.years.last} (data/reference/fiscal-years.yaml)")
        self._program(n, s["program_key"], program)
        self.figures.append({**figure, "component": figure.get("component", "project-cost")})

    def _cells(self, n: int, cells: list[Cell]) -> dict[str, str] | None:
        """The row's cells by column, as text; None for a row with values only where no header is."""
        for i, c in enumerate(cells):
            if c != "" and (i >= len(self.header) or not self.header[i]):
                self.err(n, f"column {i + 1}", f"a value ({c!r}) in a column with no header")
        given: dict[str, Cell] = dict(zip(self.header, cells, strict=False))
        v = {c: given.get(c, "") for c in COLUMNS}
        if all(x == "" for x in v.values()):
            return None  # values only in columns without a header: reported above
        text: dict[str, str] = {}
        for c, cell in v.items():
            if isinstance(cell, float):
                if c == "amount":  # never round: 12.5 may be a typo or a different unit
                    self.err(n, c, f"a decimal number ({cell!r}) in the spreadsheet: amounts are whole numbers "
                                   "as printed; fix the cell (or format it as text)")
                text[c] = str(int(cell)) if cell.is_integer() else str(cell)
            else:
                text[c] = str(cell)
        return text

    def _prefecture(self, n: int, given: str) -> None:
        """One file holds one prefecture's figures: every row names the same one."""
        code = self.codes.get(given.zfill(2) if given.isdecimal() else given)
        if not given:
            self.err(n, "prefecture", "empty: this column is required")
        elif code is None:
            self.err(n, "prefecture", f"unknown prefecture {given!r}: give the 2-digit JIS code (27) "
                                      "or the name as in data/reference/prefectures.yaml (大阪府)")
        elif self.first_code is None:
            self.first_code = (code, n)
        elif code != self.first_code[0]:
            self.err(n, "prefecture", f"{given!r} is prefecture {code}, but row {self.first_code[1]} gives "
                                      f"{self.first_code[0]}: one file holds one prefecture's figures")

    def _program(self, n: int, key: str, program: dict[str, str]) -> None:
        """One key, one name: a program's later rows repeat the names its first row gives."""
        if key in self.programs:
            seen, row = self.programs[key]
            for c, f in (("program", "name"), ("program_en", "name_en")):
                if program.get(f) != seen.get(f):
                    self.err(n, c, f"program_key {key!r} is {seen.get(f)!r} on row {row}: one key, one name")
        elif key:
            self.programs[key] = (program, n)


def _validate(model: type[PagesProgram | Figure], data: dict[str, str],
              fields: dict[str, str]) -> tuple[PagesProgram | Figure | None, list[tuple[str, str]]]:
    """The model, or None and its problems, each named by the column it came from."""
    try:
        return model.model_validate(data), []
    except ValidationError as e:
        columns = {f: c for c, f in fields.items()}
        return None, [(columns.get(str(x["loc"][0]), str(x["loc"][0])) if x["loc"] else "(row)",
                       _message(columns.get(str(x["loc"][0]), ""), x)) for x in e.errors()]


def _message(column: str, x: ErrorDetails) -> str:
    if x["type"] == "missing":
        return "empty: this column is required"
    if x["type"] == "string_pattern_mismatch" and column in _HINTS:
        return f"{_HINTS[column]} (got {x['input']!r})"
    return f"{x['msg'].removeprefix('Value error, ')} (got {x['input']!r})"


def _nodes(obj: Any) -> int:
    """YAML nodes, as input_limits counts them: the loader refuses a file with too many."""
    if isinstance(obj, dict):
        return 1 + sum(1 + _nodes(v) for v in obj.values())
    if isinstance(obj, list):
        return 1 + sum(_nodes(v) for v in obj)
    return 1


# ---------------------------------------------------------------- writing

def _write(out: Path, text: str, force: bool) -> None:
    """Temp file beside ``out``, loaded back as the loader will, then renamed: never a half file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes it private; a data file is as any other
        try:
            load_model(tmp, FiguresFile)  # the final check, before the file takes its name
        except RecordError as e:
            raise ImportProblem(f"{out}: the file made does not load back, so it was not written:\n{e}") from None
        if out.exists() and not force:  # it may have appeared while we worked
            raise ImportProblem(f"{out}: already exists; give --force to replace it")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)

"""`policygraph import`: a researcher's spreadsheet of figures → data/figures/*.yaml, checked cell by cell."""

import csv
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import PREFIXES, ROOT
from rdflib import Graph, Literal, URIRef

from policygraph.records import importer
from policygraph.cli import main
from policygraph.transform.writer import Writer
from policygraph.records.eras import parse_fiscal_year
from policygraph.records.loader import RecordError, load_model
from policygraph.transform.pages import write_figures
from policygraph.records.models import BudgetPagesFile, FiguresFile

TEMPLATE = ROOT / "data/templates/figures.csv"
XSD_DECIMAL = URIRef("http://www.w3.org/2001/XMLSchema#decimal")
OPTIONS = ["--key", "tottori-sample", "--title", "鳥取県 予算額（抜粋）",
           "--title-en", "Tottori budget figures (sample)"]


def template_rows() -> list[dict[str, str]]:
    with TEMPLATE.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None,
              encoding: str = "utf-8") -> Path:
    header = header or list(rows[0])
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.DictWriter(fh, header, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def run_import(capsys, sheet: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    code = main(["import", str(sheet), *OPTIONS, "--out", str(out), *extra])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def nothing_written(folder: Path, out: Path) -> bool:
    """No output and no temporary file left beside it."""
    return not out.exists() and not any(p.name.startswith(f".{out.name}") for p in folder.iterdir())


# ---------------------------------------------------------------- the template

def test_template_rows_are_the_printed_figures_of_the_tottori_page():
    """Never invented: each template amount is the cell of 31-tottori.yaml's page under its label and column."""
    pages = load_model(ROOT / "data/budget-pages/31-tottori.yaml", BudgetPagesFile)
    column = {"project-cost": "事業費(A)", "personnel-cost": "人件費(B)", "total-cost": "トータルコスト(A+B)"}
    programs = {p.key: p for p in pages.programs}
    for row in template_rows():
        page = next(p for p in pages.pages if p.url == row["source_url"])
        printed = next(r for r in page.rows if r.label == row["label"])
        assert printed.values[page.columns.index(column[row["component"]])] == row["amount"] + row["unit"]
        assert (page.title, page.program, page.name) == (row["source_title"], row["program_key"], row["program"])
        assert page.fiscal_year == parse_fiscal_year(row["fiscal_year"])
        assert programs[row["program_key"]].name_en == row["program_en"]
        assert pages.source.prefecture == row["prefecture"]


def test_template_round_trips_into_the_model_and_the_graph(tmp_path, capsys):
    out = tmp_path / "figures.yaml"
    code, stdout, err = run_import(capsys, TEMPLATE, out)
    assert code == 0, err
    rows = template_rows()
    assert stdout.strip() == f"wrote {out}: {len(rows)} figures, 1 programs"
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Made by `policygraph import` from figures.csv")
    ff = load_model(out, FiguresFile)
    assert (ff.source.key, ff.source.prefecture) == ("tottori-sample", "31")
    assert (ff.source.title, ff.source.title_en) == (OPTIONS[3], OPTIONS[5])
    assert [(p.key, p.name, p.name_en) for p in ff.programs] == [
        (rows[0]["program_key"], rows[0]["program"], rows[0]["program_en"])]
    raw = yaml.safe_load(text)["figures"]
    assert len(ff.figures) == len(rows) == 3
    for row, fig, written in zip(rows, ff.figures, raw, strict=True):
        assert row["prefecture"] == ff.source.prefecture
        assert fig.program == row["program_key"]
        assert written["fiscal_year"] == row["fiscal_year"]  # kept as the researcher wrote it
        assert fig.fiscal_year == parse_fiscal_year(row["fiscal_year"])
        assert (fig.stage, fig.component, fig.amount, fig.unit) == (
            row["stage"], row["component"], row["amount"], row["unit"])
        assert (fig.label, fig.url, fig.title, fig.note) == (
            row["label"], row["source_url"], row["source_title"], row["note"])
        assert fig.accessed.isoformat() == row["accessed"]

    g = Graph()
    write_figures(ff, Writer(g))
    found = g.query(PREFIXES + """SELECT ?obs ?amount ?url ?label WHERE {
        ?obs a pg:BudgetObservation ; pg:amount ?amount ; pg:rowLabel ?label ; prov:wasDerivedFrom ?section .
        ?section dcterms:isPartOf ?page . ?page a pg:WebPage ; pg:pageUrl ?url }""")
    by_amount = {int(r.amount.toPython()): r for r in found}
    assert len(list(g.subjects(None, URIRef("https://w3id.org/policygraph/def#BudgetObservation")))) == 3
    assert len(by_amount) == 3
    for row in rows:
        r = by_amount[int(row["amount"].replace(",", ""))]
        assert isinstance(r.amount, Literal) and r.amount.datatype == XSD_DECIMAL
        assert (str(r.url), str(r.label)) == (row["source_url"], row["label"])


def test_default_output_is_data_figures_of_the_root(tmp_path, capsys):
    root = tmp_path / "project"
    shutil.copytree(ROOT / "data/reference", root / "data/reference")
    assert main(["import", str(TEMPLATE), *OPTIONS, "--root", str(root)]) == 0
    out = root / "data/figures/31-tottori-sample.yaml"
    assert f"wrote {out}: 3 figures" in capsys.readouterr().out
    assert load_model(out, FiguresFile).source.key == "tottori-sample"


def test_a_bom_and_a_prefecture_name_are_accepted(tmp_path, capsys):
    rows = template_rows()
    rows[1]["prefecture"] = "鳥取県"
    sheet = write_csv(tmp_path / "bom.csv", rows, encoding="utf-8-sig")
    assert sheet.read_bytes().startswith(b"\xef\xbb\xbf")
    code, _, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 0, err
    assert load_model(tmp_path / "out.yaml", FiguresFile).source.prefecture == "31"


# ---------------------------------------------------------------- bad rows: FILE:ROW:COLUMN, nothing written

BAD_CELLS = [  # (spreadsheet row, column, bad value)
    (3, "fiscal_year", "平成32年度"),   # never existed
    (3, "fiscal_year", "2050"),        # outside data/reference/fiscal-years.yaml
    (4, "amount", "1,2345"),
    (2, "amount", "23,484千円"),
    (2, "amount", "23484.0"),
    (2, "amount", "２３４８４"),        # full-width digits: not as the file format prints amounts
    (2, "unit", "万円"),
    (2, "stage", "foo"),
    (3, "component", "cost"),
    (2, "prefecture", "99"),
    (4, "source_url", "ftp://db.pref.tottori.jp/x"),
    (2, "accessed", "2026/11/30"),
    (2, "label", ""),
    (3, "program_key", "Strategic_Succession"),
]


@pytest.mark.parametrize(("row", "column", "value"), BAD_CELLS)
def test_a_bad_cell_is_named_by_row_and_column(tmp_path, capsys, row, column, value):
    rows = template_rows()
    rows[row - 2][column] = value
    sheet = write_csv(tmp_path / "bad.csv", rows)
    code, stdout, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 2
    assert f"{sheet}:{row}:{column}: " in err, err
    assert stdout == "" and nothing_written(tmp_path, tmp_path / "out.yaml")


def test_rows_are_numbered_as_the_spreadsheet_numbers_them(tmp_path, capsys):
    """A blank row still takes a number, and a quoted line break does not start a new row."""
    rows = template_rows()
    rows[0]["label"] = "当初\n予算額"
    rows[1]["amount"] = "1,2345"
    sheet = write_csv(tmp_path / "bad.csv", [rows[0], dict.fromkeys(rows[0], ""), rows[1]])
    code, _, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 2 and f"{sheet}:4:amount: " in err and ":2:" not in err, err


def test_every_problem_is_reported_at_once(tmp_path, capsys):
    rows = template_rows()
    rows[0]["unit"], rows[1]["stage"], rows[2]["amount"] = "万円", "foo", "1,2345"
    sheet = write_csv(tmp_path / "bad.csv", rows)
    code, _, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 2
    assert [line.split(": ")[0] for line in err.splitlines()[1:]] == [
        f"{sheet}:2:unit", f"{sheet}:3:stage", f"{sheet}:4:amount"]


@pytest.mark.parametrize(("change", "expected"), [
    (lambda h: [c for c in h if c != "unit"], ":1:unit: missing column"),
    (lambda h: [*h, "remarks"], ":1:remarks: unknown column"),
    (lambda h: [*h, "label"], ":1:label: duplicate column"),
])
def test_a_bad_header_is_refused(tmp_path, capsys, change, expected):
    rows = template_rows()
    header = change(list(rows[0]))
    sheet = tmp_path / "bad.csv"
    with sheet.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([[r.get(c, "") for c in header] for r in rows])
    code, _, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 2 and f"{sheet}{expected}" in err, err
    assert nothing_written(tmp_path, tmp_path / "out.yaml")


def test_a_value_outside_the_header_is_refused(tmp_path, capsys):
    sheet = tmp_path / "bad.csv"
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    lines[2] += ",stray"
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 2 and f"{sheet}:3:column 15: " in err, err


def test_a_csv_not_in_utf8_is_refused(tmp_path, capsys):
    sheet = write_csv(tmp_path / "sjis.csv", template_rows(), encoding="shift_jis")
    code, _, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 2 and f"{sheet}:2: not UTF-8" in err, err
    assert nothing_written(tmp_path, tmp_path / "out.yaml")


@pytest.mark.parametrize(("content", "expected"), [(None, "cannot read"), (b"", "empty file"),
                                                  (b"\xef\xbb\xbf", "empty file"),
                                                  (b",,\n31,x\n", "row 1 must be the header")])
def test_a_missing_or_empty_file_is_refused(tmp_path, capsys, content, expected):
    sheet = tmp_path / "sheet.csv"
    if content is not None:
        sheet.write_bytes(content)
    code, _, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 2 and f"{sheet}" in err and expected in err, err
    assert not (tmp_path / "out.yaml").exists()


def test_a_header_without_rows_is_refused(tmp_path, capsys):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(TEMPLATE.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    code, _, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 2 and "no figures" in err, err


def test_a_file_over_5_mb_is_refused(tmp_path, capsys):
    sheet = tmp_path / "big.csv"
    text = TEMPLATE.read_text(encoding="utf-8")
    body = "".join(text.splitlines(keepends=True)[1:])
    sheet.write_text(text + body * (5 * 1024 * 1024 // len(body.encode())), encoding="utf-8")
    assert sheet.stat().st_size > 5 * 1024 * 1024
    code, _, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 2 and f"{sheet}: " in err and "over the limit" in err, err
    assert nothing_written(tmp_path, tmp_path / "out.yaml")


def test_more_rows_than_the_limit_are_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(importer, "MAX_ROWS", 2)
    code, _, err = run_import(capsys, TEMPLATE, tmp_path / "out.yaml")
    assert code == 2 and "more than 2 rows" in err, err
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    assert run_import(capsys, TEMPLATE, tmp_path / "out.yaml")[0] == 0


def test_a_file_that_does_not_load_back_is_not_left_behind(tmp_path, capsys, monkeypatch):
    load = importer.load_model

    def refuse(path, model):  # the reference tables load; the file made does not
        if model is FiguresFile:
            raise RecordError(f"{path}:1: refused by the test")
        return load(path, model)
    monkeypatch.setattr(importer, "load_model", refuse)
    code, _, err = run_import(capsys, TEMPLATE, tmp_path / "out.yaml")
    assert code == 2 and "does not load back" in err and "refused by the test" in err, err
    assert nothing_written(tmp_path, tmp_path / "out.yaml")


# ---------------------------------------------------------------- xlsx

def workbook(path: Path, amounts: list, second_sheet: list | None = None) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    rows = template_rows()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(rows[0]))
    for row, amount in zip(rows, amounts, strict=True):
        ws.append([amount if c == "amount" else int(v) if c == "prefecture" else v for c, v in row.items()])
    if second_sheet is not None:
        wb.create_sheet("notes").append(second_sheet)
    wb.save(path)
    return path


def test_xlsx_integer_amounts_are_written_without_commas(tmp_path, capsys):
    book = workbook(tmp_path / "figures.xlsx", [23484, "8,608", 32092], second_sheet=[])
    code, _, err = run_import(capsys, book, tmp_path / "out.yaml")
    assert code == 0, err
    ff = load_model(tmp_path / "out.yaml", FiguresFile)
    assert [f.amount for f in ff.figures] == ["23484", "8,608", "32092"]
    assert ff.source.prefecture == "31"  # a number cell 31 is the JIS code


@pytest.mark.parametrize("amount", [8608.5, 8607.999])
def test_xlsx_float_amount_is_refused_not_rounded(tmp_path, capsys, amount):
    book = workbook(tmp_path / "figures.xlsx", [23484, amount, 32092])
    code, _, err = run_import(capsys, book, tmp_path / "out.yaml")
    assert code == 2 and f"{book}:3:amount: a decimal number" in err, err
    assert nothing_written(tmp_path, tmp_path / "out.yaml")


def test_xlsx_with_data_on_a_second_sheet_is_refused(tmp_path, capsys):
    book = workbook(tmp_path / "figures.xlsx", [23484, 8608, 32092], second_sheet=["more figures"])
    code, _, err = run_import(capsys, book, tmp_path / "out.yaml")
    assert code == 2 and "'notes' holds data too" in err, err
    assert nothing_written(tmp_path, tmp_path / "out.yaml")


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path, capsys):
    book = tmp_path / "figures.xlsx"
    book.write_bytes(TEMPLATE.read_bytes())
    code, _, err = run_import(capsys, book, tmp_path / "out.yaml")
    assert code == 2 and "not a readable .xlsx workbook" in err, err


# ---------------------------------------------------------------- overwriting

def test_an_existing_output_needs_force(tmp_path, capsys):
    out = tmp_path / "out.yaml"
    out.write_text("previous import\n", encoding="utf-8")
    code, _, err = run_import(capsys, TEMPLATE, out)
    assert code == 2 and "already exists" in err and "--force" in err
    assert out.read_text(encoding="utf-8") == "previous import\n"
    assert run_import(capsys, TEMPLATE, out, "--force")[0] == 0
    assert len(load_model(out, FiguresFile).figures) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]  # no temporary file left


# ---------------------------------------------------------------- consistency across rows

@pytest.mark.parametrize("other", ["27", "大阪府"])
def test_one_file_holds_one_prefecture(tmp_path, capsys, other):
    rows = template_rows()
    rows[1]["prefecture"] = other
    sheet = write_csv(tmp_path / "bad.csv", rows)
    code, _, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 2 and f"{sheet}:3:prefecture: " in err and "row 2 gives 31" in err, err
    assert nothing_written(tmp_path, tmp_path / "out.yaml")


@pytest.mark.parametrize("column", ["program", "program_en"])
def test_one_program_key_carries_one_name(tmp_path, capsys, column):
    rows = template_rows()
    rows[2][column] = rows[2][column] + "（別名）"
    sheet = write_csv(tmp_path / "bad.csv", rows)
    code, _, err = run_import(capsys, sheet, tmp_path / "out.yaml")
    assert code == 2 and f"{sheet}:4:{column}: " in err and "row 2" in err, err
    assert nothing_written(tmp_path, tmp_path / "out.yaml")


def test_bad_options_are_refused_before_reading(tmp_path, capsys):
    code = main(["import", str(TEMPLATE), "--key", "Bad/Key", "--title", "t", "--title-en", "",
                 "--out", str(tmp_path / "out.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and "--key: not a key" in err and "--title-en: empty" in err, err
    assert not (tmp_path / "out.yaml").exists()

"""Bad input gives an error naming the file, the line and the field."""

import re
import shutil
from pathlib import Path

import pytest
import yaml

from policygraph.records.loader import RecordError, load_data, load_model
from policygraph.records.models import PrefecturalSheetFile

from conftest import ROOT

SHEET = Path("prefectures/20-nagano/070201-2025.yaml")


@pytest.fixture
def data(tmp_path) -> Path:
    shutil.copytree(ROOT / "data", tmp_path / "data")
    return tmp_path / "data"


def mutate(path: Path, old: str, new: str) -> int:
    """Replace the first occurrence of ``old``; return its 1-based line number."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def error_of(data: Path) -> str:
    with pytest.raises(RecordError) as e:
        load_data(data)
    return str(e.value)


def test_shipped_data_loads():
    ds = load_data(ROOT / "data")
    assert len(ds.prefectures.prefectures) == 47
    assert [s.source.key for _, s in ds.sheets] == ["20-070201-2025"]


def test_wrong_type_names_file_line_and_field(data):
    line = mutate(data / SHEET, "amount: 10237}", "amount: lots}")
    msg = error_of(data)
    assert f"{SHEET.name}:{line}: project.sub_projects[0].budget[0].amount:" in msg
    assert "integer" in msg


def test_unknown_key(data):
    line = mutate(data / SHEET, "  purpose: ", "  porpose: ")
    msg = error_of(data)
    assert f"{SHEET.name}:{line}: project.porpose: unknown field" in msg
    assert "project.purpose: Field required" in msg  # and the real one is now missing


def test_missing_field(data):
    mutate(data / SHEET, "      name: 経営支援事業費\n", "")
    msg = error_of(data)
    assert re.search(rf"{SHEET.name}:\d+: project.sub_projects\[0\].name: Field required", msg)


def test_year_that_never_existed(data):
    line = mutate(data / SHEET, "{year: R5, stage: initial, amount: 10237}",
                  "{year: 平成32年度, stage: initial, amount: 10237}")
    msg = error_of(data)
    assert f"{SHEET.name}:{line}: project.sub_projects[0].budget[0].year:" in msg
    assert "never existed" in msg


def test_year_outside_the_reference_range(data):
    mutate(data / SHEET, "{year: R5, stage: initial, amount: 10237}", "{year: 2031, stage: initial, amount: 10237}")
    msg = error_of(data)
    assert "fiscal year 2031 does not exist in data/reference/fiscal-years.yaml" in msg
    assert "sub-project 1 budget" in msg


def test_cost_row_that_does_not_add_up(data):
    line = mutate(data / SHEET, "supplementary: 23904, total: 2201098", "supplementary: 23905, total: 2201098")
    msg = error_of(data)
    assert f"{SHEET.name}:{line}: project.costs[1]:" in msg
    assert "2,201,099 but 合計 is 2,201,098" in msg


def test_national_budget_must_match_its_printed_line(data):
    path = data / "national/sme-support-plan-2008.yaml"
    line = mutate(path, "plan_year: 5163417", "plan_year: 5163418")
    msg = error_of(data)
    assert re.search(rf"sme-support-plan-2008.yaml:{line - 1}: chapters\[0\].*budget: amounts \[5163418\]", msg)


def test_invalid_yaml_names_the_line(data):
    mutate(data / SHEET, "  purpose: ", "  purpose: [unclosed ")
    assert re.search(rf"{SHEET.name}:\d+: not valid YAML", error_of(data))


def test_unknown_unit_key(data):
    mutate(data / SHEET, "department: 20/sangyo-rodo-bu", "department: 20/nonexistent-bu")
    assert "project.department: '20/nonexistent-bu' is not in data/reference/organizations.yaml" in error_of(data)


def test_yes_and_no_stay_strings(tmp_path):
    # YAML 1.1 would read the key `no` as False; our loader reads YAML 1.2 booleans only.
    sheet = yaml.safe_load((ROOT / "data" / SHEET).read_text())
    assert False in sheet["project"]["sub_projects"][0], "PyYAML's default reading, for contrast"
    loaded = load_model(ROOT / "data" / SHEET, PrefecturalSheetFile)
    assert loaded.project.sub_projects[0].no == 1


def test_template_matches_the_format():
    """The template's only problems are its placeholders: no key the format does not know."""
    with pytest.raises(RecordError) as e:
        load_model(ROOT / "data/templates/prefectural-sheet.yaml", PrefecturalSheetFile)
    msg = str(e.value)
    assert "unknown field" not in msg and "Field required" not in msg
    assert "source.prefecture" in msg  # "NN" is a placeholder

"""The data says what the source documents say: every verbatim field is in its source text.

Japanese text in data/ is copied from the PDF text with its line breaks removed, so each
verbatim value, with all whitespace removed, must occur in the source with all whitespace
removed. Fields that are ours (*_en, note, key) are not checked.
"""

import re
import unicodedata

import pytest
import yaml

from conftest import ROOT, seed

VERBATIM = {"title", "heading", "description", "implementation", "overview", "printed", "name", "summary",
            "rationale", "purpose", "situation", "headings", "items", "changes_from_request", "cost_quotes", "label"}
NATIONAL = "003_29ae74725b768b77.txt"
NAGANO = "000_3daf9aaabf1ffbfc.txt"


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def verbatim_values(node, key=None):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from verbatim_values(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from verbatim_values(v, key)
    elif isinstance(node, str) and key in VERBATIM and node.strip():
        yield key, node


@pytest.mark.parametrize("path,source", [
    ("data/national/sme-support-plan-2008.yaml", NATIONAL),
    ("data/prefectures/20-nagano/070201-2025.yaml", NAGANO),
])
def test_every_verbatim_field_is_in_the_source(path, source):
    text = squash(seed(source))
    doc = yaml.load((ROOT / path).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # all scalars as strings
    values = list(verbatim_values(doc))
    assert len(values) > 50
    missing = [(k, v) for k, v in values if squash(v) not in text]
    assert not missing, missing


def test_alignment_quotes_are_verbatim():
    national, nagano = squash(seed(NATIONAL)), squash(seed(NAGANO))
    doc = yaml.safe_load((ROOT / "data/alignments/national-2008--20-070201-2025.yaml").read_text(encoding="utf-8"))
    for a in doc["alignments"]:
        assert squash(a["national_evidence"]) in national, a["key"]
        assert squash(a["prefectural_evidence"]) in nagano, a["key"]


def test_tottori_alignment_quotes_are_verbatim():
    """National quotes are in the plan's text; the Tottori side quotes the 事業名 its pages print."""
    national = squash(seed(NATIONAL))
    pages = yaml.safe_load((ROOT / "data/budget-pages/31-tottori.yaml").read_text(encoding="utf-8"))
    names = {p["key"]: {q["name"] for q in pages["pages"] if q["program"] == p["key"]} for p in pages["programs"]}
    doc = yaml.safe_load((ROOT / "data/alignments/national-2008--31-tottori-pages.yaml").read_text(encoding="utf-8"))
    assert len(doc["alignments"]) >= 10
    for a in doc["alignments"]:
        assert squash(a["national_evidence"]) in national, a["key"]
        assert a["prefectural_evidence"] in names[a["prefectural"]], a["key"]


def national_budgets_in_source() -> list[tuple[int, int | None]]:
    """(FY2008, FY2007 or None for 新規) for every budget line, read straight from the source text."""
    text = unicodedata.normalize("NFKC", seed(NATIONAL))
    found = []
    for m in re.finditer(r"([\d,]+)千円\s*\(\s*(?:([\d,]+)千円|新\s*規)\s*\)", text):
        prior = int(m.group(2).replace(",", "")) if m.group(2) else None
        found.append((int(m.group(1).replace(",", "")), prior))
    return found


def test_source_has_35_national_budget_lines():
    assert len(national_budgets_in_source()) == 35

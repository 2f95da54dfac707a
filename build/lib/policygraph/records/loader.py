"""Read the YAML records in data/ into typed models, with errors a person can act on.

Every error names the file, the line and the field (``data/x.yaml:42: project.costs[1].total:
...``). YAML is read with YAML 1.2 booleans (only true/false), so a key such as ``no:`` or a
value such as ``NO`` stays a string, as a person writing a sheet expects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from policygraph.records.limits import InputFileError, check_yaml_text
from policygraph.records.models import (
    AlignmentsFile,
    BudgetClassificationFile,
    BudgetPagesFile,
    ContinuityFile,
    CounterpartsFile,
    DatasetFile,
    FiguresFile,
    FiscalYearsFile,
    NationalPlanFile,
    OrganizationsFile,
    PrefecturalSheetFile,
    PrefecturesFile,
)

M = TypeVar("M", bound=BaseModel)


class RecordError(ValueError):
    """Bad input in a data file: the message names the file, line and field."""


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: yes/no/on/off are strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest node that the error location reaches."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        else:
            nxt = None
        if nxt is None:
            break
        node, line = nxt, nxt.start_mark.line + 1
    return line


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).startswith(("function-", "constrained-")):
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def load_model(path: Path, model: type[M]) -> M:
    """Parse one YAML file into ``model``; raise RecordError naming file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RecordError(f"{path}: cannot read: {e}") from e
    try:
        check_yaml_text(path, text, _Loader)  # depth and aliases first: composing recurses, pydantic expands aliases
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except InputFileError as e:
        raise RecordError(str(e)) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RecordError(f"{where}: not valid YAML: {getattr(e, 'problem', e)}") from e
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = tuple(err["loc"])
            line = _line_of(node, loc)
            where = f"{path}:{line}" if line else str(path)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (not part of this file's format; check the spelling)"
            lines.append(f"{where}: {_field_path(loc)}: {msg}")
        raise RecordError("\n".join(lines)) from None


@dataclass
class DataSet:
    """Everything in data/, typed."""
    root: Path
    prefectures: PrefecturesFile
    fiscal_years: FiscalYearsFile
    organizations: OrganizationsFile
    description: DatasetFile
    national_plans: list[tuple[Path, NationalPlanFile]] = field(default_factory=list)
    sheets: list[tuple[Path, PrefecturalSheetFile]] = field(default_factory=list)
    alignments: list[tuple[Path, AlignmentsFile]] = field(default_factory=list)
    classification: BudgetClassificationFile | None = None
    budget_pages: list[tuple[Path, BudgetPagesFile]] = field(default_factory=list)
    figures: list[tuple[Path, FiguresFile]] = field(default_factory=list)
    continuity: list[tuple[Path, ContinuityFile]] = field(default_factory=list)
    counterparts: list[tuple[Path, CounterpartsFile]] = field(default_factory=list)

    def all_units(self):
        """Departments and divisions: the reference table's, then those a sheet brings itself."""
        return [*self.organizations.units, *(u for _, s in self.sheets for u in s.units)]

    def files(self) -> list[Path]:
        ref = self.root / "reference"
        return [ref / "prefectures.yaml", ref / "fiscal-years.yaml", ref / "organizations.yaml",
                ref / "budget-classification.yaml", ref / "dataset.yaml"] + [
            p for p, _ in (*self.national_plans, *self.sheets, *self.budget_pages, *self.figures, *self.alignments,
                *self.continuity, *self.counterparts)
        ]


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.yaml")) if folder.is_dir() else []


def load_data(root: Path, extra_sheets: Sequence[Path] = (), extra_alignments: Sequence[Path] = (),
              extra_pages: Sequence[Path] = (), extra_figures: Sequence[Path] = ()) -> DataSet:
    """Load data/: reference tables, national plans, prefectural sheets, curated alignments.

    ``extra_sheets`` / ``extra_alignments`` add files from elsewhere (tests use them for fixtures).
    """
    ref = root / "reference"
    ds = DataSet(
        root=root,
        prefectures=load_model(ref / "prefectures.yaml", PrefecturesFile),
        fiscal_years=load_model(ref / "fiscal-years.yaml", FiscalYearsFile),
        organizations=load_model(ref / "organizations.yaml", OrganizationsFile),
        description=load_model(ref / "dataset.yaml", DatasetFile),
        classification=load_model(ref / "budget-classification.yaml", BudgetClassificationFile),
    )
    ds.national_plans = [(p, load_model(p, NationalPlanFile)) for p in _yaml_files(root / "national")]
    sheets = _yaml_files(root / "prefectures") + list(extra_sheets)
    ds.sheets = [(p, load_model(p, PrefecturalSheetFile)) for p in sheets]
    ds.budget_pages = [(p, load_model(p, BudgetPagesFile))
                       for p in _yaml_files(root / "budget-pages") + list(extra_pages)]
    ds.figures = [(p, load_model(p, FiguresFile)) for p in _yaml_files(root / "figures") + list(extra_figures)]
    ds.continuity = [(p, load_model(p, ContinuityFile)) for p in _yaml_files(root / "continuity")]
    ds.counterparts = [(p, load_model(p, CounterpartsFile)) for p in _yaml_files(root / "counterparts")]
    ds.alignments = [(p, load_model(p, AlignmentsFile))
                     for p in _yaml_files(root / "alignments") + list(extra_alignments)]
    _check_references(ds)
    return ds


def _check_references(ds: DataSet) -> None:
    """Cross-file checks that need no RDF: keys that must exist, years in range."""
    check = _References(ds)
    for path, plan in ds.national_plans:
        check.year(path, "source.fiscal_year", plan.source.fiscal_year)
    check.units()
    for path, sheet in ds.sheets:
        check.sheet(path, sheet)
    for path, pf in ds.budget_pages:
        check.pages(path, pf)
    for path, ff in ds.figures:
        check.figures(path, ff)
    for path, cf in ds.continuity:
        check.continuity(path, cf)
    for path, cp in ds.counterparts:
        for fld in ("first_source", "second_source"):
            if getattr(cp.source, fld) not in check.keys:
                check.errors.append(f"{path}: source.{fld}: no prefectural source has key "
                                    f"{getattr(cp.source, fld)!r}")
    for path, af in ds.alignments:
        if af.source.prefectural_source not in check.keys:
            check.errors.append(f"{path}: source.prefectural_source: no sheet has key "
                                f"{af.source.prefectural_source!r}")
    if check.errors:
        raise RecordError("\n".join(check.errors))


class _References:
    """Collects every cross-file problem; ``keys`` maps each prefectural source key to its file."""

    def __init__(self, ds: DataSet):
        self.ds = ds
        self.errors: list[str] = []
        self.years = range(ds.fiscal_years.first, ds.fiscal_years.last + 1)
        self.codes = {p.code for p in ds.prefectures.prefectures}
        self.units_by_key = {u.key: u for u in ds.all_units()}
        self.keys: dict[str, Path] = {}

    def year(self, path: Path, what: str, y: int | None) -> None:
        if y is not None and y not in self.years:
            self.errors.append(
                f"{path}: {what}: fiscal year {y} does not exist in data/reference/fiscal-years.yaml "
                f"({self.ds.fiscal_years.first}–{self.ds.fiscal_years.last})"
            )

    def source(self, path: Path, key: str, prefecture: str) -> None:
        """A prefectural source: its key used once, its prefecture known."""
        if key in self.keys:
            self.errors.append(f"{path}: source.key {key!r} is also used by {self.keys[key]}")
        self.keys[key] = path
        if prefecture not in self.codes:
            self.errors.append(f"{path}: source.prefecture: unknown JIS code {prefecture!r}")

    def units(self) -> None:
        """Units a sheet brings: defined once, and of the sheet's own prefecture."""
        seen = {u.key: "data/reference/organizations.yaml" for u in self.ds.organizations.units}
        for path, sheet in self.ds.sheets:
            for u in sheet.units:
                if u.key in seen:
                    self.errors.append(f"{path}: units: {u.key!r} is already defined in {seen[u.key]}")
                seen[u.key] = str(path)
                if u.prefecture != sheet.source.prefecture:
                    self.errors.append(f"{path}: units: {u.key!r} belongs to prefecture {u.prefecture}, "
                                       "not this sheet's")

    def sheet(self, path: Path, sheet: PrefecturalSheetFile) -> None:
        src, proj = sheet.source, sheet.project
        self.source(path, src.key, src.prefecture)
        for fld in ("department", "division"):
            unit = self.units_by_key.get(getattr(proj, fld))
            if unit is None:
                self.errors.append(f"{path}: project.{fld}: {getattr(proj, fld)!r} is not in "
                                   "data/reference/organizations.yaml units")
            elif unit.prefecture != src.prefecture:
                self.errors.append(f"{path}: project.{fld}: {unit.key!r} belongs to prefecture {unit.prefecture}")
        self.year(path, "source.fiscal_year", src.fiscal_year)
        self.year(path, "project.period.from", proj.period.from_)
        self.year(path, "project.period.to", proj.period.to)
        for i, row in enumerate(proj.costs):
            self.year(path, f"project.costs[{i}].year", row.year)
        for sp in proj.sub_projects:
            for cell in sp.budget:
                self.year(path, f"sub-project {sp.no} budget", cell.year)
        for col in proj.kpi_columns:
            self.year(path, "project.kpi_columns", col.year)

    def pages(self, path: Path, pf: BudgetPagesFile) -> None:
        """A budget-pages file: its key, prefecture, years and 款・項 against the reference tables."""
        src = pf.source
        self.source(path, src.key, src.prefecture)
        dept = self.units_by_key.get(src.department)
        if dept is None or dept.prefecture != src.prefecture:
            self.errors.append(f"{path}: source.department: {src.department!r} is not a unit of prefecture "
                               f"{src.prefecture} in data/reference/organizations.yaml")
        under: dict[str, tuple[str, str]] = {}
        classification = self.ds.classification
        for i, page in enumerate(pf.pages):
            if dept and page.organisation and dept.name_ja not in page.organisation:
                self.errors.append(f"{path}: pages[{i}].organisation: {page.organisation!r} is not under "
                                   f"{dept.name_ja}")
            self.year(path, f"pages[{i}].fiscal_year", page.fiscal_year)
            c = page.classification
            if c is None:
                continue
            if classification is None or classification.item_of(c["款"], c["項"]) is None:
                self.errors.append(f"{path}: pages[{i}].classification: 款 {c['款']!r} / 項 {c['項']!r} is not "
                                   "in data/reference/budget-classification.yaml")
            if under.setdefault(c["目"], (c["款"], c["項"])) != (c["款"], c["項"]):
                self.errors.append(f"{path}: pages[{i}].classification: 目 {c['目']!r} sits under "
                                   f"{under[c['目']]} on another page")

    def figures(self, path: Path, ff: FiguresFile) -> None:
        self.source(path, ff.source.key, ff.source.prefecture)
        for i, f in enumerate(ff.figures):
            self.year(path, f"figures[{i}].fiscal_year", f.fiscal_year)

    def continuity(self, path: Path, cf: ContinuityFile) -> None:
        """Links between programs of one budget-pages file: both sides and the pages they cite exist."""
        pf = {p.source.key: p for _, p in self.ds.budget_pages}.get(cf.source.pages_source)
        if pf is None:
            self.errors.append(f"{path}: source.pages_source: no budget-pages file has key "
                               f"{cf.source.pages_source!r}")
            return
        programs, page_of = {p.key for p in pf.programs}, {p.id: p for p in pf.pages}
        for i, link in enumerate(cf.links):
            for side in ("earlier", "later"):
                if getattr(link, side) not in programs:
                    self.errors.append(f"{path}: links[{i}].{side}: {getattr(link, side)!r} is not a program of "
                                       f"{cf.source.pages_source}")
            for fld in ("page", "second_page"):
                pid = getattr(link, fld)
                if pid is not None and pid not in page_of:
                    self.errors.append(f"{path}: links[{i}].{fld}: no page {pid!r} in {cf.source.pages_source}")
            shown = page_of.get(link.page)
            if shown is not None and shown.program not in (link.earlier, link.later):
                self.errors.append(f"{path}: links[{i}].page: that page is about {shown.program!r}, neither side")

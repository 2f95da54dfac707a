"""Reference data → RDF: prefectures, regions, fiscal years, organisations."""

from __future__ import annotations

from datetime import date

from rdflib import Literal
from rdflib.namespace import ORG, RDFS, SKOS, XSD, FOAF

from policygraph.transform import ids
from policygraph.records.eras import fiscal_year_labels
from policygraph.transform.writer import Writer
from policygraph.transform.ids import PG
from policygraph.records.loader import DataSet
from policygraph.records.models import UnitRecord

REGION_SCHEME = ids.iri("region")
PREFECTURE_SCHEME = ids.iri("prefecture")
FISCAL_YEAR_SCHEME = ids.iri("fiscal-year")


def write_reference(ds: DataSet, w: Writer) -> None:
    _regions_and_prefectures(ds, w)
    _fiscal_years(ds, w)
    _organizations(ds, w)
    _budget_classification(ds, w)


def _regions_and_prefectures(ds: DataSet, w: Writer) -> None:
    src = ds.prefectures.source
    doc = ids.source_document(src.key)
    w.typed(doc, PG.SourceDocument)
    w.label(doc, src.title, src.title_en)
    w.add(doc, ids.DCTERMS.title, Literal(src.title, lang="ja"))
    w.typed(REGION_SCHEME, SKOS.ConceptScheme)
    w.label(REGION_SCHEME, "地方区分（八地方区分）", "Regions of Japan (eight-region division)", concept=True)
    for r in ds.prefectures.regions:
        reg = ids.iri("region", r.key)
        w.typed(reg, PG.Region, SKOS.Concept)
        w.label(reg, r.name_ja, r.name_en, concept=True)
        w.add(reg, SKOS.inScheme, REGION_SCHEME)
        w.add(reg, SKOS.notation, Literal(r.key))
    w.typed(PREFECTURE_SCHEME, SKOS.ConceptScheme)
    w.label(PREFECTURE_SCHEME, "都道府県コード（JIS X 0401）", "Prefecture codes (JIS X 0401)", concept=True)
    for p in ds.prefectures.prefectures:
        pref = ids.prefecture(p.code)
        suffix = {"東京都": " Metropolis"}.get(p.name_ja, " Prefecture")
        en = p.name_en if p.name_ja == "北海道" else p.name_en + suffix
        w.typed(pref, PG.Prefecture, ORG.FormalOrganization, SKOS.Concept)
        w.label(pref, p.name_ja, en, concept=True)
        w.add(pref, SKOS.notation, Literal(p.code))
        w.add(pref, SKOS.inScheme, PREFECTURE_SCHEME)
        w.add(pref, PG.region, ids.iri("region", p.region))
        w.derived(pref, doc)


def _fiscal_years(ds: DataSet, w: Writer) -> None:
    w.typed(FISCAL_YEAR_SCHEME, SKOS.ConceptScheme)
    w.label(FISCAL_YEAR_SCHEME, "年度", "Japanese fiscal years", concept=True)
    for year in range(ds.fiscal_years.first, ds.fiscal_years.last + 1):
        fy = ids.fiscal_year(year)
        primary, *others = fiscal_year_labels(year)
        w.typed(fy, PG.FiscalYear, SKOS.Concept)
        w.label(fy, primary, f"FY{year}", concept=True)
        for alt in others:
            w.add(fy, SKOS.altLabel, Literal(alt, lang="ja"))
            w.add(fy, RDFS.label, Literal(alt, lang="ja"))
        w.add(fy, SKOS.notation, Literal(str(year)))
        w.add(fy, SKOS.inScheme, FISCAL_YEAR_SCHEME)
        w.add(fy, PG.year, Literal(str(year), datatype=XSD.gYear))
        w.add(fy, PG.startDate, Literal(date(year, 4, 1)))
        w.add(fy, PG.endDate, Literal(date(year + 1, 3, 31)))


def _organizations(ds: DataSet, w: Writer) -> None:
    for o in ds.organizations.organizations:
        org = ids.organization(o.key)
        w.typed(org, ORG.FormalOrganization)
        w.label(org, o.name_ja, o.name_en)
        for alt in o.alt_ja:
            w.add(org, SKOS.altLabel, Literal(alt, lang="ja"))
        if o.sub_organization_of:
            w.add(org, ORG.subOrganizationOf, ids.organization(o.sub_organization_of))
        w.text(org, SKOS.note, o.note, lang="en")
    write_units(ds.organizations.units, w)
    curators = ids.iri("agent", "policygraph-curators")
    w.typed(curators, ids.PROV.Agent, FOAF.Group)
    w.label(curators, "policygraph 編集チーム", "policygraph curators")


def write_units(units: list[UnitRecord], w: Writer) -> None:
    """Departments (部局) and divisions (課・室) of a prefecture, as ORG units."""
    for u in units:
        unit = ids.organization(u.key)
        w.typed(unit, ORG.OrganizationalUnit)
        w.label(unit, u.name_ja, u.name_en)
        w.add(unit, ORG.unitOf, ids.prefecture(u.prefecture))
        if u.unit_of:  # a division (課) within a department (部局)
            w.add(unit, ORG.subOrganizationOf, ids.organization(u.unit_of))
        w.add(unit, PG.prefecture, ids.prefecture(u.prefecture))


def _budget_classification(ds: DataSet, w: Writer) -> None:
    """The statutory 款 and 項 as one SKOS scheme shared by all prefectures (their 目 sit under the 項)."""
    bc = ds.classification
    if bc is None:
        return
    scheme = ids.iri("budget-classification")
    doc = ids.source_document(bc.source.key)
    w.typed(doc, PG.SourceDocument)
    w.label(doc, bc.source.title, bc.source.title_en)
    w.add(doc, ids.DCTERMS.title, Literal(bc.source.title, lang="ja"))
    w.typed(scheme, SKOS.ConceptScheme)
    w.label(scheme, "歳出予算の款・項", "Budget classification of expenditure (款 and 項)", concept=True)
    w.derived(scheme, doc)
    for s in bc.sections:
        kan = ids.iri("budget-classification", s.key)
        w.typed(kan, PG.BudgetSection, SKOS.Concept)
        w.label(kan, s.name, s.name_en, concept=True)
        w.add(kan, SKOS.inScheme, scheme)
        w.add(kan, SKOS.topConceptOf, scheme)
        w.derived(kan, doc)
        for i in s.items:
            kou = ids.iri("budget-classification", s.key, i.key)
            w.typed(kou, PG.BudgetSection, SKOS.Concept)
            w.label(kou, i.name, i.name_en, concept=True)
            w.add(kou, SKOS.inScheme, scheme)
            w.add(kou, SKOS.broader, kan)
            w.derived(kou, doc)

"""Curated links → RDF: alignments (a reified pg:Alignment per link, plus the pg:alignedWith shortcut) and
continuity between a prefecture's programs across years (pg:ProgramLink, plus pg:continuedBy)."""

from __future__ import annotations

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDFS

from policygraph.transform import ids
from policygraph.transform.writer import Writer
from policygraph.transform.ids import PG
from policygraph.records.loader import DataSet, RecordError
from policygraph.transform.national import program_iri
from policygraph.transform.pages import program_iri as pages_program_iri
from policygraph.transform.sheet import initiative_iri, sub_project_iri
from policygraph.records.models import (
    AlignmentsFile,
    BudgetPagesFile,
    ContinuityFile,
    CounterpartsFile,
    FiguresFile,
)


def _curated_document(src, w: Writer) -> tuple[URIRef, URIRef]:
    """A file of curated links as a source document of its own, created by the agent that asserts them."""
    doc = ids.source_document(src.key)
    w.typed(doc, PG.SourceDocument, PROV.Entity)
    w.label(doc, src.title, src.title_en)
    w.add(doc, DCTERMS.title, Literal(src.title, lang="ja"))
    agent = ids.iri("agent", src.asserted_by)
    w.add(doc, DCTERMS.creator, agent)
    return doc, agent


def write_alignments(af: AlignmentsFile, path, ds: DataSet, w: Writer, known: set[URIRef]) -> None:
    """``known`` holds every program IRI the sources define; a side outside it is an error."""
    src = af.source
    national = next((p for _, p in ds.national_plans if p.source.key == src.national_source), None)
    sheet = next((s for _, s in ds.sheets if s.source.key == src.prefectural_source), None)
    pages = next((p for _, p in ds.budget_pages if p.source.key == src.prefectural_source), None)
    if national is None or (sheet is None and pages is None):
        raise RecordError(f"{path}: source: unknown national_source or prefectural_source")
    doc, agent = _curated_document(src, w)
    year = national.source.fiscal_year
    for a in af.alignments:
        nat = program_iri(year, a.national)
        if sheet is not None:
            pref, key = sheet.source.prefecture, sheet.project.key
            parts = [int(x) for x in a.prefectural.split("/")] if a.prefectural[0].isdigit() else []
            if not parts:
                raise RecordError(f"{path}: alignment {a.key!r}: prefectural must be a sub-project number here")
            local = sub_project_iri(pref, key, parts[0]) if len(parts) == 1 else initiative_iri(pref, key, *parts)
            place = ids.source_section(sheet.source.key, "sub-projects/" + "/".join(str(p) for p in parts))
        else:
            assert pages is not None  # checked above: the source is a sheet or a page set
            local = pages_program_iri(pages.source.prefecture, a.prefectural)
            place = ids.source_document(pages.source.key)
        for side, name in ((nat, "national"), (local, "prefectural")):
            if side not in known:
                raise RecordError(f"{path}: alignment {a.key!r}: {name} side {getattr(a, name)!r} is not a program "
                                  f"in its source ({side})")
        al = ids.iri("alignment", a.key)
        w.typed(al, PG.Alignment)
        w.label(al, f"{a.key}（対応関係）", f"alignment {a.key}")
        w.add(al, PG.nationalSide, nat)
        w.add(al, PG.prefecturalSide, local)
        w.add(al, PG.alignmentType, ids.code("alignment-type", a.type))
        w.text(al, PG.rationale, a.rationale)
        w.text(al, PG.rationale, a.rationale_en, lang="en")
        w.text(al, PG.nationalEvidence, a.national_evidence)
        w.text(al, PG.prefecturalEvidence, a.prefectural_evidence)
        w.add(al, PROV.wasAttributedTo, agent)
        w.derived(al, ids.source_section(national.source.key, a.national))
        w.derived(al, place)
        w.derived(al, doc)
        w.add(local, PG.alignedWith, nat)  # the enclosing project gets it by inference (property chain)


def write_continuity(cf: ContinuityFile, ds: DataSet, w: Writer) -> None:
    src = cf.source
    pages = next(p for _, p in ds.budget_pages if p.source.key == src.pages_source)  # the loader checked it
    pref = pages.source.prefecture
    doc, agent = _curated_document(src, w)
    for link in cf.links:
        node = ids.iri("program-link", pref, link.key)
        earlier, later = pages_program_iri(pref, link.earlier), pages_program_iri(pref, link.later)
        w.typed(node, PG.ProgramLink)
        w.label(node, f"{link.key}（事業の継続関係）", f"program continuity {link.key}")
        w.add(node, PG.earlierProgram, earlier)
        w.add(node, PG.laterProgram, later)
        w.add(node, PG.continuityType, ids.code("continuity-type", link.type))
        w.add(node, PG.evidenceKind, ids.code("evidence-kind", link.evidence))
        for page in (link.page, link.second_page):
            if page:
                w.add(node, PG.evidencePage, ids.source_document(f"{pages.source.key}/page/{page}"))
        w.text(node, PG.quote, link.quote)
        w.text(node, RDFS.comment, link.note_en, lang="en")
        w.add(node, PROV.wasAttributedTo, agent)
        w.derived(node, ids.source_document(f"{pages.source.key}/page/{link.page}"))
        w.derived(node, doc)
        w.add(earlier, PG.continuedBy, later)  # pg:continues, its inverse, comes by inference


def _program_of(ds: DataSet, source_key: str, ref: str) -> tuple[URIRef, URIRef]:
    """A program named by its source and its place there, and the source section it comes from."""
    sheet = next((s for _, s in ds.sheets if s.source.key == source_key), None)
    if sheet is not None:
        if not ref[0].isdigit():
            raise RecordError(f"{source_key}: {ref!r}: a sheet's programs are sub-project numbers (8 or 8/2)")
        parts = [int(x) for x in ref.split("/")]
        pref, key = sheet.source.prefecture, sheet.project.key
        node = sub_project_iri(pref, key, parts[0]) if len(parts) == 1 else initiative_iri(pref, key, *parts)
        return node, ids.source_section(source_key, "sub-projects/" + ref)
    listed: list[BudgetPagesFile | FiguresFile] = [p for _, p in ds.budget_pages] + [f for _, f in ds.figures]
    pages = next((p for p in listed if p.source.key == source_key), None)
    if pages is None:
        raise RecordError(f"no source with key {source_key!r}")
    return pages_program_iri(pages.source.prefecture, ref), ids.source_document(source_key)


def write_counterparts(cf: CounterpartsFile, path, ds: DataSet, w: Writer, known: set[URIRef]) -> None:
    """Programs of two prefectures that serve the same aim: a reified pg:Counterpart, plus pg:counterpartOf."""
    src = cf.source
    doc, agent = _curated_document(src, w)
    for c in cf.counterparts:
        first, first_at = _program_of(ds, src.first_source, c.first)
        second, second_at = _program_of(ds, src.second_source, c.second)
        for side, name in ((first, c.first), (second, c.second)):
            if side not in known:
                raise RecordError(f"{path}: counterpart {c.key!r}: {name!r} is not a program of its source ({side})")
        node = ids.iri("counterpart", c.key)
        w.typed(node, PG.Counterpart)
        w.label(node, f"{c.key}（都道府県間の対応関係）", f"counterpart {c.key}")
        w.add(node, PG.firstSide, first)
        w.add(node, PG.secondSide, second)
        w.add(node, PG.alignmentType, ids.code("alignment-type", c.type))
        w.text(node, PG.rationale, c.rationale)
        w.text(node, PG.rationale, c.rationale_en, lang="en")
        w.text(node, PG.firstEvidence, c.first_evidence)
        w.text(node, PG.secondEvidence, c.second_evidence)
        w.add(node, PROV.wasAttributedTo, agent)
        for at in (first_at, second_at, doc):
            w.derived(node, at)
        w.add(first, PG.counterpartOf, second)  # symmetric: the other way comes by inference

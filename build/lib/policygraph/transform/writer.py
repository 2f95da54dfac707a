"""Small helpers shared by the record → RDF converters: labels, texts, observations."""

from __future__ import annotations

from decimal import Decimal

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS, XSD

from policygraph.transform import ids
from policygraph.transform.ids import PG, QB

THOUSAND_YEN = ids.code("unit", "thousand-yen")


def decimal(value) -> Literal:
    """An xsd:decimal in canonical form (9622.0), so every RDF syntax writes it back unchanged."""
    text = format(Decimal(value).normalize(), "f")
    return Literal(text if "." in text else text + ".0", datatype=XSD.decimal)


class Writer:
    """Writes triples into one named graph of the dataset."""

    def __init__(self, graph: Graph):
        self.g = graph

    def add(self, s: URIRef, p: URIRef, o) -> None:
        if o is not None:
            self.g.add((s, p, o))

    def typed(self, s: URIRef, *classes: URIRef) -> None:
        for c in classes:
            self.g.add((s, RDF.type, c))

    def label(self, s: URIRef, ja: str, en: str | None = None, concept: bool = False) -> None:
        """rdfs:label in Japanese (and English); SKOS concepts get skos:prefLabel too."""
        for text, lang in ((ja, "ja"), (en, "en")):
            if text:
                self.g.add((s, RDFS.label, Literal(text, lang=lang)))
                if concept:
                    self.g.add((s, SKOS.prefLabel, Literal(text, lang=lang)))

    def text(self, s: URIRef, p: URIRef, value: str | None, lang: str = "ja") -> None:
        if value:
            self.g.add((s, p, Literal(value, lang=lang)))

    def derived(self, s: URIRef, section: URIRef) -> None:
        self.g.add((s, PROV.wasDerivedFrom, section))

    def budget(self, dataset: URIRef, key: ids.BudgetKey, amount: int | Decimal, section: URIRef,
               unit: str = "thousand-yen") -> URIRef:
        """One qb:Observation of an amount, in 千円 unless the source prints 円."""
        obs = ids.budget_observation(key)
        self.typed(obs, PG.BudgetObservation, QB.Observation)
        self.add(obs, QB.dataSet, dataset)
        self.add(obs, PG.program, key.program)
        self.add(obs, PG.fiscalYear, ids.fiscal_year(key.year))
        self.add(obs, PG.budgetStage, ids.code("budget-stage", key.stage))
        self.add(obs, PG.fundingSource, ids.code("funding-source", key.funding))
        self.add(obs, PG.costComponent, ids.code("cost-component", key.component))
        self.add(obs, PG.amount, decimal(amount))
        self.add(obs, PG.unitOfMeasure, ids.code("unit", unit))
        self.add(obs, PG.currency, Literal("JPY"))
        self.derived(obs, section)
        return obs

    def dataset(self, iri: URIRef, structure: URIRef, ja: str, en: str, source: URIRef) -> URIRef:
        self.typed(iri, QB.DataSet)
        self.add(iri, QB.structure, structure)
        self.label(iri, ja, en)
        self.derived(iri, source)
        return iri

    def section(self, doc_key: str, path: str, heading_path: str, quote: str | None = None) -> URIRef:
        """A pg:SourceSection of a document: where in it a fact was read."""
        sec = ids.source_section(doc_key, path)
        self.typed(sec, PG.SourceSection)
        self.add(sec, ids.DCTERMS.isPartOf, ids.source_document(doc_key))
        self.add(sec, PG.sectionPath, Literal(heading_path))
        self.label(sec, heading_path)
        self.text(sec, PG.quote, quote)
        return sec

"""The dataset's own description and licence, written into every build."""

from __future__ import annotations

from rdflib import Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, VOID

from policygraph.records.models import DatasetFile
from policygraph.transform import ids
from policygraph.transform.writer import Writer


def write_metadata(description: DatasetFile, w: Writer) -> None:
    """The dataset's title and licence as data/reference/dataset.yaml words them, so every dump carries
    them (the service's /dataset adds counts, distributions and its endpoint; its pages read them)."""
    ds = ids.iri("dataset", "policygraph")
    w.typed(ds, VOID.Dataset, DCAT.Dataset)
    w.add(ds, DCTERMS.title, Literal(description.title.ja, lang="ja"))
    w.add(ds, DCTERMS.title, Literal(description.title.en, lang="en"))
    w.add(ds, DCTERMS.license, URIRef(description.licence))
    w.add(ds, DCTERMS.rights, Literal(description.rights.ja, lang="ja"))
    w.add(ds, DCTERMS.rights, Literal(description.rights.en, lang="en"))
    w.add(ds, DCTERMS.publisher, ids.iri("agent", "policygraph-curators"))
    w.add(ds, VOID.uriSpace, Literal(str(ids.ID)))

"""Whole-dataset views: every graph merged, and an Oxigraph store of the dataset."""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import Dataset, Graph

from policygraph.transform import ids
from policygraph.transform.ids import PREFIXES

def to_store(ds: Dataset) -> ox.Store:
    store = ox.Store()
    store.bulk_load(ds.serialize(format="nquads", encoding="utf-8"), ox.RdfFormat.N_QUADS)
    return store




def union_graph(ds: Dataset, with_shapes: bool = True) -> Graph:
    """All graphs merged; ``with_shapes=False`` leaves out the SHACL shapes (the graph to validate)."""
    g = Graph()
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns)
    for named in ds.graphs():
        if with_shapes or named.identifier != ids.G_SHAPES:
            for t in named:
                g.add(t)
    return g

"""The dataset's own description and licence, written into every build."""

from __future__ import annotations

from rdflib import Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, VOID

from policygraph.transform import ids
from policygraph.transform.writer import Writer

LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
LICENCE_NOTE_JA = (
    "データ（転記・整理・対応関係）は CC BY 4.0 で提供します。出典は日本の行政機関の公表資料です："
    "経済産業省のウェブサイトのコンテンツは政府標準利用規約（第2.0版、CC BY 4.0 互換）で利用できます。"
    "長野県の資料の利用条件は同県のウェブサイトの利用規約によります（本プロジェクトでは未確認）。")
LICENCE_NOTE_EN = (
    "The data (transcriptions, structure, alignments) is published under CC BY 4.0. The sources are Japanese "
    "government publications: METI's web content is offered under the Government of Japan Standard Terms of Use "
    "(version 2.0), compatible with CC BY 4.0; Nagano prefecture's documents fall under the prefecture's own "
    "website terms (not verified by this project).")

def write_metadata(w: Writer) -> None:
    """The dataset's own description and licence, so every dump carries them (the service's /dataset
    adds counts, distributions and its endpoint)."""
    ds = ids.iri("dataset", "policygraph")
    w.typed(ds, VOID.Dataset, DCAT.Dataset)
    w.add(ds, DCTERMS.title, Literal("policygraph：日本の中小企業政策の知識グラフ", lang="ja"))
    w.add(ds, DCTERMS.title, Literal("policygraph: a knowledge graph of Japanese SME policy", lang="en"))
    w.add(ds, DCTERMS.license, URIRef(LICENCE_URL))
    w.add(ds, DCTERMS.rights, Literal(LICENCE_NOTE_JA, lang="ja"))
    w.add(ds, DCTERMS.rights, Literal(LICENCE_NOTE_EN, lang="en"))
    w.add(ds, DCTERMS.publisher, ids.iri("agent", "policygraph-curators"))
    w.add(ds, VOID.uriSpace, Literal(str(ids.ID)))



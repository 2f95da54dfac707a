"""Linked Data pages: every https://w3id.org/policygraph/id/… IRI answered at /id/… on this host.

Each IRI is answered with 200 and content negotiation (no 303: the IRIs name records and concepts,
not people or places, and one round trip is kinder to clients): HTML for browsers, Turtle, JSON-LD,
N-Triples or RDF/XML by Accept or ?format=, with Vary: Accept and a Link header listing the alternates.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from policygraph.transform.ids import ID
from policygraph.web.errors import Problem
from policygraph.web.graph import Row, Site, run, select, site_of
from policygraph.web.html import lang_of, render
from policygraph.web.negotiation import alternates, choose, link_header, media_type

router = APIRouter(tags=["linked data"])

PAGE = 100
MAX_PAGE = 10_000  # OFFSET up to a million statements: deeper than any resource here, cheap for the store
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._~/-]+$")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
STAGE_ORDER = ["request", "supplementary-request", "adjustment-request", "addition", "restoration", "held-request",
               "assessed", "held", "draft", "plan-stated", "initial", "final", "already-assessed", "standing",
               "supplementary", "revised", "carried-over", "current", "prior-year-budget", "budget-unspecified",
               "unlabelled", "settlement"]
FUNDINGS = ("all", "general-revenue")


def page_number(request: Request) -> int:
    """?page=, a page number from 1 to MAX_PAGE (ASCII digits only: str.isdigit() takes '²')."""
    raw = request.query_params.get("page")
    if raw is None:
        return 1
    if not re.fullmatch(r"[0-9]{1,7}", raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise Problem(400, "invalid parameter", f"page: {raw!r} must be an integer from 1 to {MAX_PAGE}",
                      parameter="page")
    return int(raw)


@router.get("/id/{path:path}", summary="Linked Data: any https://w3id.org/policygraph/id/… resource")
async def resource(request: Request, path: str) -> Response:
    path = path.rstrip("/")
    iri, here = str(ID) + path, "/id/" + path
    if not _SAFE_PATH.match(path):
        raise Problem(404, "not found", iri)
    page = page_number(request)  # a bad ?page= is a 400 whatever the format
    fmt = choose(request)
    headers = {"Vary": "Accept", "Link": link_header(here), "Cache-Control": "public, max-age=300"}
    if fmt == "html":
        return await resource_page(request, iri, here, page, headers)
    body = await run(request, f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ <{iri}> ?p ?o }}", fmt)
    if not body.strip() or body.strip() in (b"[]", b"{}"):
        raise Problem(404, "not found", iri)
    return Response(body, media_type=media_type(fmt), headers=headers)


@dataclass
class Statements:
    """One page of a resource's statements, outgoing and incoming, with the labels the page shows."""
    out: list[Row]
    incoming: list[Row]
    more: bool


async def _statements(request: Request, iri: str, page: int, lang: str) -> Statements:
    window = f"LIMIT {PAGE + 1} OFFSET {(page - 1) * PAGE}"
    out = await select(request, f"""SELECT ?p ?o ?ol WHERE {{ <{iri}> ?p ?o .
        OPTIONAL {{ ?o rdfs:label ?ol FILTER(lang(?ol) = "{lang}") }} }} ORDER BY ?p ?o {window}""")
    incoming = await select(request, f"""SELECT ?s ?p ?sl WHERE {{ ?s ?p <{iri}> .
        OPTIONAL {{ ?s rdfs:label ?sl FILTER(lang(?sl) = "{lang}") }} }} ORDER BY ?p ?s {window}""")
    return Statements(out[:PAGE], incoming[:PAGE], len(out) > PAGE or len(incoming) > PAGE)


def _title(iri: str, out: list[Row], lang: str) -> str:
    labels = [r["o"] for r in out if r["p"]["value"] == LABEL]
    own = [o["value"] for o in labels if o.get("xml:lang") in (lang, None)]
    ja = [o["value"] for o in labels if o.get("xml:lang") == "ja"]
    return (own or ja or [iri.rsplit("/", 1)[-1]])[0]


def _name(b: dict[str, str], label: str | None, site: Site, lang: str) -> str:
    """What a term is called on the page: its label here, else the site's label for it."""
    return label or (site.label(b["value"], lang) if b["type"] == "uri" else b["value"])


def _properties(st: Statements, site: Site, lang: str) -> dict[str, list[tuple[dict[str, str], str]]]:
    groups: dict[str, list[tuple[dict[str, str], str]]] = defaultdict(list)
    for r in st.out:
        groups[r["p"]["value"]].append((r["o"], _name(r["o"], r.get("ol", {}).get("value"), site, lang)))
    return groups


def _pager(path: str, page: int, more: bool, lang: str) -> dict[str, str]:
    urls = {}
    if page > 1:
        urls["prev"] = f"{path}?{urlencode({'page': page - 1, 'lang': lang})}"
    if more:
        urls["next"] = f"{path}?{urlencode({'page': page + 1, 'lang': lang})}"
    return urls


async def resource_page(request: Request, iri: str, path: str, page: int, headers: dict[str, str]) -> HTMLResponse:
    lang, site = lang_of(request), await site_of(request)
    st = await _statements(request, iri, page, lang)
    if not st.out and page == 1:
        raise Problem(404, "not found", iri)
    properties = _properties(st, site, lang)
    context = {
        "title": _title(iri, st.out, lang), "iri": iri, "types": properties.pop(RDF_TYPE, []),
        "properties": properties, "pager": _pager(path, page, st.more, lang), "alternates": alternates(path),
        "incoming": [(r["s"], _name(r["s"], r.get("sl", {}).get("value"), site, lang), r["p"]["value"])
                     for r in st.incoming],
        "budget": await _budget(request, iri, lang), "pages": await _source_pages(request, iri),
        "provenance": await _provenance(request, iri), "site": site,
    }
    return render(request, "resource.html", context, headers=headers)


@dataclass
class Bar:
    label: str
    value: float
    y: int
    width: int


@dataclass
class Chart:
    """A horizontal bar chart's geometry; templates/macros.html draws it as inline SVG."""
    bars: list[Bar] = field(default_factory=list)
    width: int = 640
    row: int = 22
    label_width: int = 190

    @property
    def height(self) -> int:
        return self.row * len(self.bars) + 10

    @classmethod
    def of(cls, series: list[tuple[str, float]]) -> Chart:
        chart = cls()
        top = max((v for _, v in series), default=0) or 1
        for i, (label, value) in enumerate(series):
            width = max(1, int((chart.width - chart.label_width - 110) * value / top))
            chart.bars.append(Bar(label, value, 5 + i * chart.row, width))
        return chart


@dataclass
class Budget:
    """A program's 事業費 by fiscal year (rows, with うち一般財源 below) and stage (columns); a figure
    printed on several pages is one value, or each reading where the pages differ."""
    stages: list[tuple[str, str]]                       # (notation, label)
    rows: list[tuple[str, str, list[list[float]]]]      # (funding, fiscal year, readings per stage)
    chart: Chart


async def _budget(request: Request, iri: str, lang: str) -> Budget | None:
    # 事業費 only: 人件費 and トータルコスト are on the observations' own pages
    rows = await select(request, f"""SELECT DISTINCT ?year ?stage ?stage_label ?funding ?amount WHERE {{
        ?o pg:program <{iri}> ; pg:fiscalYear/pg:year ?year ; pg:budgetStage ?s ;
           pg:fundingSource/skos:notation ?funding ;
           pg:costComponent <https://w3id.org/policygraph/id/code/cost-component/project-cost> ; pg:amount ?amount .
        ?s skos:notation ?stage ; skos:prefLabel ?stage_label FILTER(lang(?stage_label) = "{lang}") }}""")
    if not rows:
        return None
    label = {r["stage"]["value"]: r["stage_label"]["value"] for r in rows}
    stages = sorted(label, key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else len(STAGE_ORDER))
    years = sorted({r["year"]["value"] for r in rows})
    cells: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        cells[(r["year"]["value"], r["stage"]["value"], r["funding"]["value"])].append(float(r["amount"]["value"]))
    table = [(funding, y, [sorted(cells.get((y, s, funding), [])) for s in stages])
             for y in years for funding in FUNDINGS if any((y, s, funding) in cells for s in stages)]
    series = [(f"FY{y} {label[s]}", max(cells[(y, s, "all")])) for y in years for s in stages if (y, s, "all") in cells]
    return Budget([(s, label[s]) for s in stages], table, Chart.of(series))


async def _source_pages(request: Request, iri: str) -> list[Row]:
    """The web pages a program's figures were read from, each with its URL (the source itself)."""
    return await select(request, f"""SELECT ?page ?title ?year ?url WHERE {{ ?page pg:aboutProgram <{iri}> ;
        dcterms:title ?title ; pg:fiscalYear/pg:year ?year ; pg:pageUrl ?url }} ORDER BY ?year ?url""")


async def _provenance(request: Request, iri: str) -> list[Row]:
    return await select(request, f"""SELECT ?src ?path ?doc ?title ?quote ?url WHERE {{
        <{iri}> prov:wasDerivedFrom ?src .
        OPTIONAL {{ ?src pg:sectionPath ?path }} OPTIONAL {{ ?src pg:quote ?quote }}
        OPTIONAL {{ ?src dcterms:isPartOf ?doc . ?doc rdfs:label ?title FILTER(lang(?title) = "ja") }}
        OPTIONAL {{ ?src dcterms:isPartOf/pg:pageUrl ?url }} }}""")

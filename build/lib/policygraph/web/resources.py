"""Linked Data pages: every https://w3id.org/policygraph/id/… IRI answered at /id/… on this host.

Each IRI is answered with 200 and content negotiation (no 303: the IRIs name records and concepts,
not people or places, and one round trip is kinder to clients): HTML for browsers, Turtle, JSON-LD,
N-Triples or RDF/XML by Accept or ?format=, with Vary: Accept and a Link header listing the alternates.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from policygraph.transform.ids import ID
from policygraph.web.views import national, prefecture, project
from policygraph.web.views.budget_table import program_budget
from policygraph.web.errors import Problem
from policygraph.web.graph import PG, Row, run, select, site_of
from policygraph.web.html import lang_of, render
from policygraph.web.negotiation import alternates, choose, link_header, media_type
from policygraph.web.views.sections import Builder, Section, Subject
from policygraph.web.views.statements import RDF_TYPE, in_lang, statements, title_of, types_of

router = APIRouter(tags=["linked data"])

MAX_PAGE = 10_000  # OFFSET up to a million statements: deeper than any resource here, cheap for the store
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._~/-]+$")
# Our own sections first, then the national side's; each builder returns nothing for a kind it does not design
BUILDERS: list[Builder] = [*prefecture.BUILDERS, *project.BUILDERS, *national.BUILDERS]
# Programs that may have a budget table of their own: the page says so when they have none
BUDGETED = {PG + "PrefecturalProject", PG + "SubProject", PG + "Initiative"}


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


def _pager(path: str, page: int, more: bool, lang: str) -> dict[str, str]:
    urls = {}
    if page > 1:
        urls["prev"] = f"{path}?{urlencode({'page': page - 1, 'lang': lang})}"
    if more:
        urls["next"] = f"{path}?{urlencode({'page': page + 1, 'lang': lang})}"
    return urls


async def sections_of(request: Request, subject: Subject) -> list[Section]:
    """Every builder's sections for the subject, in the builders' order."""
    found: list[Section] = []
    for builder in BUILDERS:
        found.extend(await builder(request, subject))
    return found


async def resource_page(request: Request, iri: str, path: str, page: int, headers: dict[str, str]) -> HTMLResponse:
    lang, site = lang_of(request), await site_of(request)
    st = await statements(request, iri, page, site, lang)
    if not st.stated and not st.inferred and page == 1:
        raise Problem(404, "not found", iri)
    types = await types_of(request, iri)
    subject = Subject(iri, {t for t, _ in types}, lang, site)
    first = page == 1  # the designed sections and the budget are the first page's; later pages page statements
    budget = await program_budget(request, iri, lang, _chart_title(lang)) if first else None
    context = {
        "title": await title_of(request, iri, lang), "iri": iri, "site": site, "statements": st,
        "types": [(t, site.label(t, lang)) for t, inferred in types if not inferred],
        "sections": await sections_of(request, subject) if first else [],
        "budget": budget, "no_budget": first and budget is None and bool(subject.types & BUDGETED),
        "pages": await _source_pages(request, iri) if first else [],
        "provenance": await _provenance(request, iri, lang) if first else [],
        "pager": _pager(path, page, st.more, lang), "alternates": alternates(path), "rdf_type": RDF_TYPE,
    }
    return render(request, "resource.html", context, headers=headers)


def _chart_title(lang: str) -> str:
    return {"ja": "年度・段階別の事業費（千円）", "en": "Project cost by fiscal year and stage (thousand yen)"}[lang]


async def _source_pages(request: Request, iri: str) -> list[Row]:
    """The web pages a program's figures were read from, each with its URL (the source itself)."""
    return await select(request, f"""SELECT ?page ?title ?year ?url WHERE {{ ?page pg:aboutProgram <{iri}> ;
        dcterms:title ?title ; pg:fiscalYear/pg:year ?year ; pg:pageUrl ?url }} ORDER BY ?year ?url""")


async def _provenance(request: Request, iri: str, lang: str) -> list[Row]:
    """The source sections (or documents) the resource was read from, by their section paths or labels, with quotes."""
    return await select(request, f"""SELECT ?src ?path ?doc ?title ?quote ?url WHERE {{
        <{iri}> prov:wasDerivedFrom ?src .
        OPTIONAL {{ ?src pg:sectionPath ?section_path }} {in_lang("?src", "rdfs:label", "?src_l", lang)}
        BIND(COALESCE(?section_path, ?src_l) AS ?path) OPTIONAL {{ ?src pg:quote ?quote }}
        OPTIONAL {{ ?src dcterms:isPartOf ?doc . ?doc rdfs:label ?title FILTER(lang(?title) = "ja") }}
        OPTIONAL {{ ?src dcterms:isPartOf/pg:pageUrl ?url }} }}""")

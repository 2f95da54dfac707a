"""Linked Data publication: /id/… pages, /ontology, /dataset, /dumps, the home and query pages.

Every https://w3id.org/policygraph/id/… IRI is answered at /id/… on this host with 200 and
content negotiation (no 303: the IRIs name records and concepts, not people or places, and one
round trip is kinder to clients): HTML for browsers, Turtle, JSON-LD, N-Triples or RDF/XML by
Accept or ?format=, with Vary: Accept and a Link header listing the alternates.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from html import escape
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from policygraph.build.dataset import DUMPS
from policygraph.transform.ids import GRAPH, ID
from policygraph.web.html import bar_chart, layout, link, t
from policygraph.web.app import ENGINE_ERRORS, client_of, engine_problem
from policygraph.store.engines import ClientBusy, ClientGone, Job, QueryTimeout
from policygraph.store.formats import GRAPH_FORMATS, NotAcceptable, negotiate

HTML = "text/html"
PAGE = 100
MAX_PAGE = 10_000  # OFFSET up to a million statements: deeper than any resource here, cheap for the store
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._~/-]+$")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
PREFIXES = "PREFIX pg: <https://w3id.org/policygraph/def#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> " \
           "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX prov: <http://www.w3.org/ns/prov#> " \
           "PREFIX dcterms: <http://purl.org/dc/terms/> "
STAGE_ORDER = ["request", "supplementary-request", "adjustment-request", "addition", "restoration", "held-request",
               "assessed", "held", "draft", "plan-stated", "initial", "final", "already-assessed", "standing",
               "supplementary", "revised", "carried-over", "current", "prior-year-budget", "budget-unspecified",
               "unlabelled", "settlement"]
FORMAT_ALIASES = {"ttl": "turtle", "nt": "ntriples", "rdf": "rdfxml", "jsonld": "jsonld", "html": "html"}


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "ja"


async def _run(request: Request, query: str, fmt: str = "json") -> bytes:
    engine, settings = request.app.state.engine, request.app.state.settings
    try:
        result = await engine.arun(Job(query, fmt, max_rows=settings.max_rows), settings.query_timeout,
                                   settings.queue_timeout, client=client_of(request), gone=request.is_disconnected)
    except (QueryTimeout, ClientGone, ClientBusy) as e:  # the same statuses as /sparql and /queries
        raise LDProblem(engine_problem(e)[0], str(e)) from None
    except ENGINE_ERRORS as e:  # a query of ours the store refused is a fault here too
        raise LDProblem(503, str(e)) from None
    return result.body


async def _select(request: Request, query: str) -> list[dict]:
    doc = json.loads(await _run(request, PREFIXES + query))
    return [{k: v for k, v in b.items()} for b in doc["results"]["bindings"]]


class LDProblem(Exception):
    ERRORS = {400: "invalid parameter", 404: "not found", 503: "store unavailable", 504: "query timeout"}

    def __init__(self, status: int, detail: str, parameter: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.parameter = status, detail, parameter


def _choose(request: Request) -> str:
    """'html' or a graph Format name."""
    fmt = request.query_params.get("format")
    if fmt:
        name = FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
        if name == "html":
            return "html"
        return negotiate(GRAPH_FORMATS, None, (name,)).name
    accept = request.headers.get("accept", "")
    if not accept or "text/html" in accept or "application/xhtml+xml" in accept:
        return "html"
    return negotiate(GRAPH_FORMATS, accept, ()).name


def _alternates(path: str) -> list[tuple[str, str]]:
    return [(HTML, f"{path}?format=html")] + [(f.media_type, f"{path}?format={k}") for k, f in (
        ("ttl", GRAPH_FORMATS[0]), ("jsonld", GRAPH_FORMATS[2]), ("nt", GRAPH_FORMATS[1]), ("rdf", GRAPH_FORMATS[3]))]


def _link_header(path: str) -> str:
    return ", ".join(f'<{href}>; rel="alternate"; type="{mt}"' for mt, href in _alternates(path))


def _page(request: Request) -> int:
    """?page=, a page number from 1 to MAX_PAGE (ASCII digits only: str.isdigit() takes '²')."""
    raw = request.query_params.get("page")
    if raw is None:
        return 1
    if not re.fullmatch(r"[0-9]{1,7}", raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise LDProblem(400, f"page: {raw!r} must be an integer from 1 to {MAX_PAGE}", parameter="page")
    return int(raw)


class Labels:
    """Japanese/English labels of the ontology's terms and code lists, read once."""

    def __init__(self):
        self.ja: dict[str, str] = {}
        self.en: dict[str, str] = {}

    def get(self, iri: str, lang: str) -> str:
        table = self.en if lang == "en" else self.ja
        return table.get(iri) or self.ja.get(iri) or _short(iri)


def _short(iri: str) -> str:
    for prefix, p in (("https://w3id.org/policygraph/def#", "pg:"), ("http://www.w3.org/2004/02/skos/core#", "skos:"),
                      ("http://purl.org/dc/terms/", "dcterms:"), ("http://www.w3.org/ns/prov#", "prov:"),
                      ("http://www.w3.org/2000/01/rdf-schema#", "rdfs:"), ("http://www.w3.org/ns/org#", "org:"),
                      ("http://purl.org/linked-data/cube#", "qb:"), ("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdf:"),
                      ("http://www.w3.org/2002/07/owl#", "owl:")):
        if iri.startswith(prefix):
            return p + iri[len(prefix):]
    return iri


def _term_html(b: dict, labels: dict[str, str], lang: str, names: Labels) -> str:
    if b["type"] == "uri":
        v = b["value"]
        return link(v, labels.get(v) or names.get(v, lang))
    if b["type"] == "bnode":
        return "<em>(blank node)</em>"
    tag = f' <span class="lang">@{escape(b["xml:lang"])}</span>' if b.get("xml:lang") else ""
    return f"{escape(b['value'])}{tag}"


async def _describe(request: Request, iri: str, fmt: str) -> bytes:
    return await _run(request, f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ <{iri}> ?p ?o }}", fmt)


async def resource_page(request: Request, iri: str, path: str) -> str:
    lang, names = _lang(request), request.app.state.labels
    page = _page(request)
    out = await _select(request, f"""SELECT ?p ?o ?ol WHERE {{ <{iri}> ?p ?o .
        OPTIONAL {{ ?o rdfs:label ?ol FILTER(lang(?ol) = "{lang}") }} }} ORDER BY ?p ?o LIMIT {PAGE + 1} OFFSET {(page - 1) * PAGE}""")
    if not out and page == 1:
        raise LDProblem(404, iri)
    more_out = len(out) > PAGE
    out = out[:PAGE]
    incoming = await _select(request, f"""SELECT ?s ?p ?sl WHERE {{ ?s ?p <{iri}> .
        OPTIONAL {{ ?s rdfs:label ?sl FILTER(lang(?sl) = "{lang}") }} }} ORDER BY ?p ?s LIMIT {PAGE + 1} OFFSET {(page - 1) * PAGE}""")
    more_in = len(incoming) > PAGE
    incoming = incoming[:PAGE]
    labels = {r["o"]["value"]: r["ol"]["value"] for r in out if "ol" in r}
    own = [r["o"]["value"] for r in out if r["p"]["value"] == LABEL and r["o"].get("xml:lang") in (lang, None)]
    ja = [r["o"]["value"] for r in out if r["p"]["value"] == LABEL and r["o"].get("xml:lang") == "ja"]
    title = (own or ja or [iri.rsplit("/", 1)[-1]])[0]
    types = [_term_html(r["o"], labels, lang, names) for r in out if r["p"]["value"] == RDF_TYPE]
    groups: dict[str, list[str]] = defaultdict(list)
    for r in out:
        if r["p"]["value"] in (RDF_TYPE,):
            continue
        groups[r["p"]["value"]].append(_term_html(r["o"], labels, lang, names))
    rows = "".join(f'<tr><th>{link(p, names.get(p, lang))}</th>'
                   f'<td>{"<br>".join(vs)}</td></tr>' for p, vs in groups.items())
    body = [f"<h1>{escape(title)}</h1>", f'<p class="iri"><code>{escape(iri)}</code></p>',
            f'<p class="types">{escape(t("types", lang))}: {", ".join(types)}</p>']
    body.append(await _budget_section(request, iri, lang))
    body.append(await _pages_section(request, iri, lang))
    body.append(await _provenance_section(request, iri, lang))
    body.append(f'<h2>{escape(t("properties", lang))}</h2><table class="props">{rows}</table>')
    if incoming:
        inc = "".join(f'<tr><td>{_term_html(r["s"], {r["s"]["value"]: r["sl"]["value"]} if "sl" in r else {}, lang, names)}'
                      f'</td><td>{escape(names.get(r["p"]["value"], lang))}</td></tr>' for r in incoming)
        body.append(f'<h2>{escape(t("referenced", lang))}</h2><table class="incoming">{inc}</table>')
    nav = []
    if page > 1:
        nav.append(f'<a rel="prev" href="{path}?{urlencode({"page": page - 1, "lang": lang})}">{t("prev", lang)}</a>')
    if more_out or more_in:
        nav.append(f'<a rel="next" href="{path}?{urlencode({"page": page + 1, "lang": lang})}">{t("more", lang)}</a>')
    if nav:
        body.append(f'<p class="pager">{" | ".join(nav)}</p>')
    fmts = " ".join(f'<a href="{escape(href)}">{escape(mt)}</a>' for mt, href in _alternates(path)[1:])
    body.append(f'<p class="formats">{escape(t("formats", lang))}: {fmts}</p>')
    return layout(title, "\n".join(body), lang, path, _alternates(path))


async def _budget_section(request: Request, iri: str, lang: str) -> str:
    # 事業費 only: 人件費 and トータルコスト are on the observations' own pages
    rows = await _select(request, f"""SELECT DISTINCT ?year ?stage ?stage_label ?funding ?amount WHERE {{
        ?o pg:program <{iri}> ; pg:fiscalYear/pg:year ?year ; pg:budgetStage ?s ; pg:fundingSource/skos:notation ?funding ;
           pg:costComponent <https://w3id.org/policygraph/id/code/cost-component/project-cost> ;
           pg:amount ?amount . ?s skos:notation ?stage ; skos:prefLabel ?stage_label FILTER(lang(?stage_label) = "{lang}") }}""")
    if not rows:
        return ""
    stages = sorted({r["stage"]["value"] for r in rows}, key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 99)
    stage_label = {r["stage"]["value"]: r["stage_label"]["value"] for r in rows}
    years = sorted({r["year"]["value"] for r in rows})
    cells: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in rows:  # a figure printed on several pages: one value, or each reading where they differ
        cells[(r["year"]["value"], r["stage"]["value"], r["funding"]["value"])].append(float(r["amount"]["value"]))
    cell = {k: sorted(v) for k, v in cells.items()}

    def td(key) -> str:
        if key not in cell:
            return "<td></td>"
        shown = " / ".join(f"{v:,.0f}" for v in cell[key])
        note = f' title="{escape(t("readings", lang))}" class="num differ"' if len(cell[key]) > 1 else ' class="num"'
        return f"<td{note}>{shown}</td>"
    head = "".join(f"<th>{escape(stage_label[s])}</th>" for s in stages)
    body = []
    for y in years:
        for funding in ("all", "general-revenue"):
            if not any((y, s, funding) in cell for s in stages):
                continue
            name = f"FY{y}" if funding == "all" else f"FY{y} {t('general', lang)}"
            tds = "".join(td((y, s, funding)) for s in stages)
            body.append(f'<tr class="{funding}"><th>{escape(name)}</th>{tds}</tr>')
    series = [(f"FY{y} {stage_label[s]}", cell[(y, s, "all")][-1]) for y in years for s in stages if (y, s, "all") in cell]
    return (f'<h2>{escape(t("budget", lang))}</h2><table class="budget" id="budget"><tr><th>{escape(t("year", lang))}'
            f'</th>{head}</tr>{"".join(body)}</table>{bar_chart(series)}')


async def _pages_section(request: Request, iri: str, lang: str) -> str:
    """The web pages a program's figures were read from, each with its URL (the source itself)."""
    rows = await _select(request, f"""SELECT ?page ?title ?year ?url WHERE {{ ?page pg:aboutProgram <{iri}> ;
        dcterms:title ?title ; pg:fiscalYear/pg:year ?year ; pg:pageUrl ?url }} ORDER BY ?year ?url""")
    if not rows:
        return ""
    items = "".join(f'<li>FY{escape(r["year"]["value"])} {link(r["page"]["value"], r["title"]["value"])} '
                    f'<span class="url">{link(r["url"]["value"], r["url"]["value"])}</span></li>' for r in rows)
    return f'<h2>{escape(t("pages", lang))}</h2><ul class="pages">{items}</ul>'


async def _provenance_section(request: Request, iri: str, lang: str) -> str:
    rows = await _select(request, f"""SELECT ?src ?path ?doc ?title ?quote ?url WHERE {{ <{iri}> prov:wasDerivedFrom ?src .
        OPTIONAL {{ ?src pg:sectionPath ?path }} OPTIONAL {{ ?src pg:quote ?quote }}
        OPTIONAL {{ ?src dcterms:isPartOf ?doc . ?doc rdfs:label ?title FILTER(lang(?title) = "ja") }}
        OPTIONAL {{ ?src dcterms:isPartOf/pg:pageUrl ?url }} }}""")
    if not rows:
        return ""
    items = []
    for r in rows:
        doc = link(r["doc"]["value"], r["title"]["value"]) + " › " if "doc" in r and "title" in r else ""
        where = r["path"]["value"] if "path" in r else r["src"]["value"]
        quote_ = f' <q>{escape(r["quote"]["value"])}</q>' if "quote" in r else ""
        url = f' <span class="url">{link(r["url"]["value"], r["url"]["value"])}</span>' if "url" in r else ""
        items.append(f'<li>{doc}{link(r["src"]["value"], where)}{quote_}{url}</li>')
    return f'<h2>{escape(t("provenance", lang))}</h2><ul class="provenance">{"".join(items)}</ul>'


def not_found_page(iri: str, lang: str) -> str:
    body = (f"<h1>{escape(t('notfound', lang))}</h1><p><code>{escape(iri)}</code></p>"
            "<p>この IRI はグラフにありません。/ This IRI is not in the graph.</p>"
            '<p><a href="/queries/search">検索 / search</a> · <a href="/id/prefecture">都道府県 / prefectures</a> · '
            '<a href="/id/national-plan/2008">国の支援計画 / national plan</a></p>')
    return layout(t("notfound", lang), body, lang)


def bad_request_page(detail: str, lang: str) -> str:
    body = (f"<h1>{escape(t('badrequest', lang))}</h1><p><code>{escape(detail)}</code></p>"
            '<p><a href="/">policygraph</a></p>')
    return layout(t("badrequest", lang), body, lang)


def add_linked_data_routes(app: FastAPI, dist: Path | None) -> None:
    app.state.labels = Labels()
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")

    @app.exception_handler(LDProblem)
    async def _ld_problem(request: Request, e: LDProblem):
        if e.status in (400, 404) and "text/html" in request.headers.get("accept", "text/html"):
            page = not_found_page if e.status == 404 else bad_request_page
            return HTMLResponse(page(e.detail, _lang(request)), status_code=e.status)
        extra = {"parameter": e.parameter} if e.parameter else {}
        return JSONResponse({"error": LDProblem.ERRORS.get(e.status, "error"), "detail": e.detail, **extra},
                            status_code=e.status, headers={"Retry-After": "2"} if e.status in (429, 503) else None)

    @app.on_event("startup")
    async def _load_labels():
        engine = app.state.engine
        try:
            body = await engine.arun(Job(PREFIXES + """SELECT ?t ?l WHERE {
                { ?t a ?c FILTER(STRSTARTS(STR(?t), "https://w3id.org/policygraph/def#")) }
                UNION { ?t skos:inScheme ?s FILTER(STRSTARTS(STR(?t), "https://w3id.org/policygraph/id/code/")) }
                ?t rdfs:label|skos:prefLabel ?l }""", "json", max_rows=100_000), 30)
        except Exception:  # noqa: BLE001 - labels are a nicety; pages fall back to prefixed names
            return
        for b in json.loads(body.body)["results"]["bindings"]:
            table = app.state.labels.en if b["l"].get("xml:lang") == "en" else app.state.labels.ja
            table.setdefault(b["t"]["value"], b["l"]["value"])

    async def serve_iri(request: Request, iri: str, path: str):
        if not _SAFE_PATH.match(path.removeprefix("/")):
            raise LDProblem(404, iri)
        _page(request)  # a bad ?page= is a 400 whatever the format
        try:
            fmt = _choose(request)
        except NotAcceptable as e:
            return JSONResponse({"error": "not acceptable", "detail": str(e)}, status_code=406, headers={"Vary": "Accept"})
        headers = {"Vary": "Accept", "Link": _link_header(path), "Cache-Control": "public, max-age=300"}
        if fmt == "html":
            return HTMLResponse(await resource_page(request, iri, path), headers=headers)
        body = await _describe(request, iri, fmt)
        if not body.strip() or body.strip() in (b"[]", b"{}"):
            raise LDProblem(404, iri)
        media = next(f.media_type for f in GRAPH_FORMATS if f.name == fmt)
        return Response(body, media_type=media + ("; charset=utf-8" if media.startswith("text/") else ""), headers=headers)

    @app.get("/id/{path:path}", summary="Linked Data: any https://w3id.org/policygraph/id/… resource", tags=["linked data"])
    async def resource(request: Request, path: str):
        return await serve_iri(request, str(ID) + path.rstrip("/"), "/id/" + path.rstrip("/"))

    @app.get("/dumps/{name}", summary="Download the dataset", tags=["linked data"])
    async def dump(name: str):
        if dist is None or name not in DUMPS or not (dist / name).exists():
            return JSONResponse({"error": "not found", "detail": f"no dump {name!r}; available: {', '.join(DUMPS)}"},
                                status_code=404)
        return FileResponse(dist / name, media_type=DUMPS[name][1], filename=name)

    @app.get("/dataset", summary="VoID and DCAT description of the dataset", tags=["linked data"])
    async def dataset(request: Request):
        from policygraph.web.dataset import describe
        graph = await describe(request, dist)
        try:
            fmt = _choose(request)
        except NotAcceptable as e:
            return JSONResponse({"error": "not acceptable", "detail": str(e)}, status_code=406)
        if fmt == "html":
            from policygraph.web.dataset import html_page
            return HTMLResponse(html_page(graph, _lang(request)), headers={"Vary": "Accept"})
        media = next(f for f in GRAPH_FORMATS if f.name == fmt).media_type
        return Response(ox.serialize(graph, format={"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
                                                    "jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML}[fmt]),
                        media_type=media, headers={"Vary": "Accept"})

    for route, graph_iri, kind in (("/ontology", str(GRAPH["ontology"]), "ontology"), ("/def", str(GRAPH["ontology"]), "ontology"),
                                   ("/shapes", str(GRAPH["shapes"]), "shapes")):
        def make(graph_iri=graph_iri, kind=kind, route=route):
            async def vocabulary(request: Request):
                try:
                    fmt = _choose(request)
                except NotAcceptable as e:
                    return JSONResponse({"error": "not acceptable", "detail": str(e)}, status_code=406)
                if fmt == "html":
                    from policygraph.web.vocabulary import render
                    return HTMLResponse(await render(request, kind, _lang(request)), headers={"Vary": "Accept"})
                body = await _run(request, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph_iri}> {{ ?s ?p ?o }} }}", fmt)
                media = next(f for f in GRAPH_FORMATS if f.name == fmt).media_type
                return Response(body, media_type=media, headers={"Vary": "Accept", "Link": _link_header(route)})
            return vocabulary
        app.add_api_route(route, make(), methods=["GET"], tags=["linked data"],
                          summary=f"The {kind} (Turtle, JSON-LD, … or HTML documentation)")

    @app.get("/", include_in_schema=False)
    async def home(request: Request):
        from policygraph.web.home import home_page
        return HTMLResponse(home_page(request, _lang(request)))

    @app.get("/query", include_in_schema=False)
    async def query_page(request: Request):
        from policygraph.web.home import query_page as render
        return HTMLResponse(render(request, _lang(request)))


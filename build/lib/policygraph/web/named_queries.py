"""Named queries as a REST API: /queries, /queries/{name}[.csv|.tsv], and /api/… resources.

Each query in queries/ becomes an endpoint with its parameters in the OpenAPI document. Answers
come in a Datasette-like JSON envelope (columns, rows, truncated, next), or as CSV (UTF-8 with a
BOM, so spreadsheets read Japanese) and TSV; paginated queries take page/page_size and send an
RFC 8288 Link header. A parameter value that does not fit is a 422 naming the parameter.

A browser (a client that ranks text/html first) gets the same answer as a page (views/query_form.py):
the form, the table, the files and the SPARQL; a refused value comes back as the form with the
refusal beside its field, still a 422. ``?format=html|json|csv|tsv`` overrides the Accept header.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from policygraph.store.engines import Job
from policygraph.store.named_queries import NamedQuery, Parameter, ParameterError
from policygraph.transform.ids import ID
from policygraph.web.errors import Problem, prefers_html
from policygraph.web.graph import select
from policygraph.web.html import lang_of, translate
from policygraph.web.views.query_form import Answer, View, catalogue_page, page
from policygraph.web.settings import client_of, engine_of, queries_of, settings_of

RESERVED = {"page", "page_size", "format", "lang"}  # lang: the pages' language, kept across links
FORMATS = ("html", "json", "csv", "tsv")
XSD = "http://www.w3.org/2001/XMLSchema#"
Envelope = dict[str, Any]


def invalid(parameter: str, detail: str) -> Problem:
    # a browser gets the form back, an API client JSON: caches must keep the two apart
    return Problem(422, "invalid parameter", detail, {"Vary": "Accept"}, parameter=parameter)


INTEGERS = {XSD + t for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
                               "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt",
                               "unsignedShort", "unsignedByte")}  # a store may type COUNT as any of them


def value_of(binding: dict[str, str] | None) -> Any:
    """A SPARQL JSON term as a plain JSON value: numbers as numbers, booleans as booleans (by their
    lexical space: Virtuoso writes true as "1"), everything else, and any ill-typed value, as its text."""
    if binding is None:
        return None
    value, datatype = binding["value"], binding.get("datatype", "")
    try:
        if datatype in INTEGERS:
            return int(value)
        if datatype in (XSD + "decimal", XSD + "double", XSD + "float"):
            d = Decimal(value)
            if d.is_finite():
                return int(d) if d == d.to_integral_value() and "e" not in value.lower() else float(d)
    except (ValueError, ArithmeticError):
        return value
    if datatype == XSD + "boolean" and value.strip() in ("true", "false", "1", "0"):
        return value.strip() in ("true", "1")
    return value


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,7}", raw) or not low <= int(raw) <= high:  # ASCII: str.isdigit() takes '²'
        raise invalid(name, f"{name}: {raw!r} must be an integer from {low} to {high}")
    return int(raw)


def _check_names(request: Request, q: NamedQuery) -> dict[str, str]:
    known = {p.name for p in q.parameters}
    values = {}
    for key in request.query_params:
        if key in RESERVED:
            continue
        if key not in known:
            takes = ", ".join(sorted(known)) or "no parameters"
            raise invalid(key, f"unknown parameter {key!r}; {q.name} takes: {takes}")
        given = request.query_params.getlist(key)
        if len(given) > 1:
            raise invalid(key, f"{key}: given {len(given)} times")
        values[key] = given[0]
    return values


def _links(request: Request, envelope: Envelope, page: int, page_size: int, has_next: bool) -> str:
    """The RFC 8288 Link header of a page (and the envelope's next URL)."""
    def url(n: int) -> str:
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "page_size")]
        return f"{request.url.scheme}://{request.url.netloc}{request.url.path}?" + urlencode(
            [*params, ("page", str(n)), ("page_size", str(page_size))])
    links = [f'<{url(1)}>; rel="first"']
    if page > 1:
        links.append(f'<{url(page - 1)}>; rel="prev"')
    if has_next:
        envelope["next"] = url(page + 1)
        links.append(f'<{url(page + 1)}>; rel="next"')
    return ", ".join(links)


def wanted(request: Request, ext: str | None, offered: tuple[str, ...] = FORMATS) -> str:
    """The representation asked for: the path's extension, else ?format=, else HTML for a client that
    ranks it first (a browser), CSV or TSV when Accept names them, else JSON (API clients, */*)."""
    if ext is not None:
        return ext
    given = request.query_params.getlist("format")
    if len(given) > 1:
        raise invalid("format", f"format: given {len(given)} times")
    if given:
        if given[0].lower() not in offered:
            raise invalid("format", f"format: {given[0]!r} is not one of {', '.join(offered)}")
        return given[0].lower()
    if prefers_html(request):
        return "html"
    accept = request.headers.get("accept", "")
    return next((f for f, media in (("csv", "text/csv"), ("tsv", "text/tab-separated-values"))
                 if media in accept and f in offered), "json")


async def run_named(request: Request, q: NamedQuery,
                    values: dict[str, str] | None = None) -> tuple[Envelope, str | None]:
    """Bind, run and shape one named query; returns (envelope, link header or None)."""
    got = await answer(request, q, values)
    return got.envelope, got.link


async def answer(request: Request, q: NamedQuery, values: dict[str, str] | None = None) -> Answer:
    """Bind, run and shape one named query: the envelope, its Link header, the terms and the text that ran."""
    engine, settings = engine_of(request), settings_of(request)
    values = _check_names(request, q) if values is None else values
    try:
        text = q.bind(values)
    except ParameterError as e:
        raise invalid(e.name, str(e)) from None
    paginated = q.pagination is not None
    page = _int(request, "page", 1, 1, 1_000_000) if paginated else 1
    page_size = _int(request, "page_size", q.pagination or 0, 1, max(1, settings.max_rows - 1)) if paginated else 0
    # the text a person can run as it is: the page's rows (the query asks for one more, to see a next page)
    shown = f"{text.rstrip()}\nLIMIT {page_size} OFFSET {(page - 1) * page_size}\n" if paginated else text
    if paginated:
        text = q.page(text, page, page_size)
    fmt = "json" if q.form in ("SELECT", "ASK") else "ntriples"
    result = await engine.arun(Job(text, fmt, max_rows=settings.max_rows), settings.query_timeout,
                               settings.queue_timeout, client=client_of(request), gone=request.is_disconnected)
    if q.form not in ("SELECT", "ASK"):
        return Answer({"query": q.name, "triples": result.body.decode()}, None, shown)
    doc = json.loads(result.body)
    if "boolean" in doc:
        return Answer({"query": q.name, "columns": ["result"], "rows": [{"result": doc["boolean"]}]}, None, shown)
    columns, bindings = doc["head"]["vars"], doc["results"]["bindings"]
    rows = [{c: value_of(b.get(c)) for c in columns} for b in bindings]
    envelope: Envelope = {
        "query": q.name, "parameters": {p.name: values.get(p.name, p.default) for p in q.parameters},
        "columns": columns, "rows": rows[:page_size] if paginated else rows,
        "truncated": bool(result.truncated) and not paginated,
        "page": page if paginated else None, "page_size": page_size if paginated else None, "next": None}
    link = _links(request, envelope, page, page_size, len(rows) > page_size) if paginated else None
    return Answer(envelope, link, shown, bindings[:page_size] if paginated else bindings)


def _table(envelope: Envelope, sep: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\r\n" if sep == "," else "\n")
    writer.writerow(envelope["columns"])
    for row in envelope["rows"]:
        writer.writerow(["" if row[c] is None else row[c] for c in envelope["columns"]])
    return buf.getvalue()


def respond(envelope: Envelope, link: str | None, ext: str, name: str = "result") -> Response:
    """The answer as JSON, CSV or TSV (``ext``)."""
    headers = {"Vary": "Accept"} | ({"Link": link} if link else {})
    if "triples" in envelope:
        return Response(envelope["triples"], media_type="application/n-triples", headers=headers)
    if envelope.get("truncated"):
        headers["X-Result-Truncated"] = "true"
    if ext == "csv":
        headers["Content-Disposition"] = f'inline; filename="{name}.csv"'
        return Response("\ufeff" + _table(envelope, ","), media_type="text/csv; charset=utf-8", headers=headers)
    if ext == "tsv":
        return Response(_table(envelope, "\t"), media_type="text/tab-separated-values; charset=utf-8", headers=headers)
    return JSONResponse(envelope, headers=headers)


def _openapi(q: NamedQuery) -> dict[str, Any]:
    params: list[dict[str, Any]] = []
    for p in q.parameters:
        schema: dict[str, Any] = {"type": {"integer": "integer", "decimal": "number"}.get(p.type, "string")}
        if p.type == "iri":
            schema["format"] = "uri"
        if p.enum:
            schema["enum"] = list(p.enum)
        if p.default is not None:
            schema["default"] = p.default
        params.append({"name": p.name, "in": "query", "required": p.required and p.default is None, "schema": schema,
                       "description": f"{'required' if p.required else 'optional'}; bound as {p.type} "
                                      f"(SPARQL variable ?{p.variable})"})
    if q.pagination:
        params += [{"name": name, "in": "query", "schema": {"type": "integer", "minimum": 1, "default": default}}
                   for name, default in (("page", 1), ("page_size", q.pagination))]
    params.append({"name": "format", "in": "query", "schema": {"type": "string", "enum": list(FORMATS)},
                   "description": "overrides Accept: html (the page a browser gets), json, csv (with a BOM), tsv"})
    example = {"query": q.name, "parameters": {p.name: p.default for p in q.parameters}, "columns": q.columns,
               "rows": [dict.fromkeys(q.columns, "…")], "truncated": False, "page": 1 if q.pagination else None,
               "page_size": q.pagination, "next": None}
    return {"parameters": params, "responses": {"200": {"description": "the answer", "content": {
        "application/json": {"example": example}, "text/csv": {"schema": {"type": "string"}},
        "text/tab-separated-values": {"schema": {"type": "string"}}, "text/html": {"schema": {"type": "string"}}}},
        "422": {"description": "a parameter value that does not fit its type (a browser gets the form, marked)"}}}


def catalogue_entry(request: Request, q: NamedQuery) -> dict[str, Any]:
    base = f"{request.url.scheme}://{request.url.netloc}/queries/{q.name}"
    example = {p.name: p.default for p in q.parameters if p.default is not None}
    return {"name": q.name, "summary": q.summary, "description": q.description, "tags": q.tags,
            "parameters": [{"name": p.name, "type": p.type, "required": p.required, "default": p.default,
                            "enum": list(p.enum) or None, "variable": "?" + p.variable} for p in q.parameters],
            "paginated": q.pagination is not None, "columns": q.columns,
            "not_acted_on": q.not_acted_on, "notes": q.notes,
            "url": base, "csv": base + ".csv", "example": base + ("?" + urlencode(example) if example else "")}


Run = Callable[[], Awaitable[Answer]]


async def serve(request: Request, view: View, run: Run, ext: str | None = None) -> Response:
    """The answer of ``run`` in the representation asked for: a page for a browser (a 422 as the form
    with the refused value marked), else JSON, CSV or TSV."""
    fmt = wanted(request, ext)
    if fmt != "html":
        got = await run()
        return respond(got.envelope, got.link, fmt, view.query.name)
    try:
        got = await run()
    except Problem as p:
        if p.status != 422:
            raise
        return await page(request, view, None, p)
    return await page(request, view, got)


def title(request: Request, key: str, *args: str) -> str:
    return translate(key, lang_of(request)).format(*args)


class QueryEndpoint:
    """The route of one named query (a page or JSON by Accept, or the CSV/TSV of ``ext``)."""

    def __init__(self, query: NamedQuery, ext: str | None):
        self.query, self.ext = query, ext

    async def __call__(self, request: Request) -> Response:
        q = self.query
        view = View(q.name, q, q.parameters, f"/queries/{q.name}.csv", f"/queries/{q.name}")
        return await serve(request, view, lambda: answer(request, q), self.ext)


async def catalogue(request: Request) -> Response:
    """Every named query (``?tag=``: those with the tag), as JSON or, for a browser, a page."""
    fmt = wanted(request, None, ("html", "json"))
    queries = list(queries_of(request).values())
    tags = sorted({t for q in queries for t in q.tags})
    tag = request.query_params.get("tag")
    if tag is not None and tag not in tags:
        raise invalid("tag", f"tag: {tag!r} is not a tag of any query; tags: {', '.join(tags)}")
    chosen = [q for q in queries if tag is None or tag in q.tags]
    if fmt == "html":
        return await catalogue_page(request, chosen, tags, tag)
    return JSONResponse({"queries": [catalogue_entry(request, q) for q in chosen]}, headers={"Vary": "Accept"})


def router_for(queries: dict[str, NamedQuery]) -> APIRouter:
    """/queries, one endpoint per named query, and the /api resources built on them."""
    router = APIRouter()
    router.add_api_route("/queries", catalogue, methods=["GET"], summary="The catalogue of named queries "
                         "(?tag= filters)", tags=["named queries"], response_class=JSONResponse)
    for q in queries.values():
        router.add_api_route(f"/queries/{q.name}", QueryEndpoint(q, None), methods=["GET"], summary=q.summary,
                             description=q.description, tags=["named queries", *q.tags], openapi_extra=_openapi(q),
                             name=f"query-{q.name}", response_class=JSONResponse)
        for ext in ("csv", "tsv"):
            router.add_api_route(f"/queries/{q.name}.{ext}", QueryEndpoint(q, ext), methods=["GET"],
                                 include_in_schema=False)
    router.include_router(resources)
    return router


# ------------------------------------------------------------------ REST resources on the same named queries

resources = APIRouter(prefix="/api", tags=["resources"])
COMPARISONS = {"policy-area": ("compare-budget-by-policy-area", {"stage"}),
               "national-program": ("compare-budget-by-national-program", {"stage"}),
               "classification": ("compare-budget-by-classification", {"stage", "year"})}
BY = Parameter("by", "by", "string", False, "policy-area", tuple(COMPARISONS))  # /api/compare's own parameter


def need(request: Request, name: str) -> NamedQuery:
    queries = queries_of(request)
    if name not in queries:
        raise Problem(503, "query missing", f"the named query {name!r} is not installed")
    return queries[name]


def _only(request: Request, allowed: set[str]) -> dict[str, str]:
    """The query parameters, refusing any not ``allowed`` (pagination aside)."""
    for key in request.query_params:
        if key not in allowed | RESERVED:
            raise invalid(key, f"unknown parameter {key!r}; allowed: " + ", ".join(sorted(allowed) or ["none"]))
    return {k: v for k, v in request.query_params.items() if k in allowed}


def api_view(request: Request, heading: str, q: NamedQuery, parameters: list[Parameter]) -> View:
    """An /api resource's page: one path for every format (?format=csv, ?format=json)."""
    path = request.url.path
    return View(heading, q, parameters, path, path, csv_format=True)


async def _run(request: Request, name: str, values: dict[str, str], allowed: set[str], heading: str) -> Response:
    q = need(request, name)
    view = api_view(request, heading, q, [p for p in q.parameters if p.name in allowed])
    return await serve(request, view, lambda: answer(request, q, values | _only(request, allowed)))


@resources.get("/programs", summary="National plan programs (filter: tier)")
async def programs(request: Request) -> Response:
    return await _run(request, "national-programs", {}, {"tier"}, title(request, "nq-api-programs"))


@resources.get("/programs/{program_id:path}", summary="One program: national (2008/3-2-2-a) or any id path "
               "(prefectural-project/20/070201)")
async def program(request: Request, program_id: str) -> Response:
    path = program_id if "/" in program_id and not program_id[:1].isdigit() else f"national-program/{program_id}"
    q = need(request, "program")

    async def run() -> Answer:
        got = await answer(request, q, {"program": str(ID[path])})
        if not got.envelope["rows"]:
            raise Problem(404, "not found", f"no program {program_id!r} (try /api/programs)")
        return got
    return await serve(request, api_view(request, title(request, "nq-api-program", program_id), q, []), run)


@resources.get("/prefectures", summary="The 47 prefectures")
async def prefectures(request: Request) -> Response:
    return await _run(request, "prefectures", {}, set(), title(request, "prefectures"))


async def prefecture_names(request: Request) -> dict[str, tuple[str, str]]:
    """Each prefecture's JIS code → (its label in the page's language, else Japanese; its IRI)."""
    lang, labels = lang_of(request), dict[str, dict[str, str]]()
    rows = await select(request, "SELECT ?p ?code ?l WHERE { ?p a pg:Prefecture ; skos:notation ?code ; "
                                 "rdfs:label ?l }")
    for r in rows:
        labels.setdefault(r["code"]["value"], {"": r["p"]["value"]})[r["l"].get("xml:lang", "ja")] = r["l"]["value"]
    return {code: (by.get(lang) or by.get("ja") or code, by[""]) for code, by in labels.items()}


@resources.get("/prefectures/{code}/projects", summary="A prefecture's projects, sub-projects and initiatives "
               "with budgets")
async def prefecture_projects(request: Request, code: str) -> Response:
    if not (re.fullmatch(r"[0-9]{2}", code) and 1 <= int(code) <= 47):
        raise Problem(404, "not found", f"no prefecture with JIS code {code!r} (01–47)")
    name = (await prefecture_names(request)).get(code, (code, ""))[0] if wanted(request, None) == "html" else code
    return await _run(request, "prefecture-projects", {"pref": code}, set(), title(request, "nq-api-projects", name))


@resources.get("/compare", summary="Cross-prefecture budget comparison (by=policy-area|national-program|"
               "classification; stage, year); lists the prefectures with and without figures")
async def compare(request: Request) -> Response:
    by = request.query_params.get("by", "policy-area")
    name, allowed = COMPARISONS.get(by, COMPARISONS["policy-area"])  # a page shows the form even for a bad by
    q = need(request, name)

    async def run() -> Answer:
        if by not in COMPARISONS:
            raise invalid("by", f"by: {by!r} is not one of {', '.join(COMPARISONS)}")
        values = _only(request, allowed | {"by"})
        values.pop("by", None)
        got = await answer(request, q, values)
        # A comparison says who is in it: every prefecture with budget figures, and those without any.
        held, _ = await run_named(request, need(request, "prefectures-with-budgets"), {})
        got.envelope["prefectures_with_data"] = [r["prefecture"] for r in held["rows"] if int(r["figures"] or 0) > 0]
        got.envelope["prefectures_without_data"] = [r["prefecture"] for r in held["rows"]
                                                    if not int(r["figures"] or 0)]
        if wanted(request, None) == "html":  # the page names them in its language
            got.names = await prefecture_names(request)
        return got
    parameters = [BY, *[p for p in q.parameters if p.name in allowed]]
    return await serve(request, api_view(request, title(request, "nq-api-compare"), q, parameters), run)

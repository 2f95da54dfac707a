"""Named queries as a REST API: /queries, /queries/{name}[.csv|.tsv], and /api/… resources.

Each query in queries/ becomes an endpoint with its parameters in the OpenAPI document. Answers
come in a Datasette-like JSON envelope (columns, rows, truncated, next), or as CSV (UTF-8 with a
BOM, so spreadsheets read Japanese) and TSV; paginated queries take page/page_size and send an
RFC 8288 Link header.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from policygraph.transform.ids import ID
from policygraph.store.named_queries import NamedQuery, ParameterError
from policygraph.web.app import ENGINE_ERRORS, client_of, engine_problem
from policygraph.store.engines import Job

RESERVED = {"page", "page_size", "format"}
XSD = "http://www.w3.org/2001/XMLSchema#"


class ApiProblem(Exception):
    def __init__(self, status: int, error: str, detail: str, **extra):
        super().__init__(detail)
        self.status, self.error, self.detail, self.extra = status, error, detail, extra


def _value(binding: dict | None):
    """A SPARQL JSON term as a plain JSON value: numbers as numbers, everything else as its text."""
    if binding is None:
        return None
    value, datatype = binding["value"], binding.get("datatype", "")
    if datatype in (XSD + "integer", XSD + "int", XSD + "long"):
        return int(value)
    if datatype in (XSD + "decimal", XSD + "double", XSD + "float"):
        d = Decimal(value)
        return int(d) if d == d.to_integral_value() and "e" not in value.lower() else float(d)
    if datatype == XSD + "boolean":
        return value == "true"
    return value


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,7}", raw) or not low <= int(raw) <= high:  # ASCII: str.isdigit() takes '²'
        raise ApiProblem(422, "invalid parameter", f"{name}: {raw!r} must be an integer from {low} to {high}",
                         parameter=name)
    return int(raw)


def _check_names(request: Request, q: NamedQuery) -> dict[str, str]:
    known = {p.name for p in q.parameters}
    values = {}
    for key in request.query_params.keys():
        vals = request.query_params.getlist(key)
        if key in RESERVED:
            continue
        if key not in known:
            raise ApiProblem(422, "invalid parameter", f"unknown parameter {key!r}; {q.name} takes: "
                             + (", ".join(sorted(known)) or "no parameters"), parameter=key)
        if len(vals) > 1:
            raise ApiProblem(422, "invalid parameter", f"{key}: given {len(vals)} times", parameter=key)
        values[key] = vals[0]
    return values


async def run_named(request: Request, q: NamedQuery, values: dict[str, str] | None = None):
    """Bind, run and shape one named query; returns (envelope, link header or None)."""
    engine, settings = request.app.state.engine, request.app.state.settings
    values = _check_names(request, q) if values is None else values
    try:
        text = q.bind(values)
    except ParameterError as e:
        raise ApiProblem(422, "invalid parameter", str(e), parameter=e.name) from None
    paginated = q.pagination is not None
    page = _int(request, "page", 1, 1, 1_000_000) if paginated else 1
    page_size = _int(request, "page_size", q.pagination or 0, 1, max(1, settings.max_rows - 1)) if paginated else 0
    if paginated:
        text = q.page(text, page, page_size)
    fmt = "json" if q.form in ("SELECT", "ASK") else "ntriples"
    try:
        result = await engine.arun(Job(text, fmt, max_rows=settings.max_rows), settings.query_timeout,
                                   settings.queue_timeout, client=client_of(request), gone=request.is_disconnected)
    except ENGINE_ERRORS as e:
        status, error, _ = engine_problem(e)
        raise ApiProblem(status, error, str(e)) from None
    if q.form not in ("SELECT", "ASK"):
        return {"query": q.name, "triples": result.body.decode()}, None
    doc = json.loads(result.body)
    if "boolean" in doc:
        return {"query": q.name, "columns": ["result"], "rows": [{"result": doc["boolean"]}]}, None
    columns = doc["head"]["vars"]
    rows = [{c: _value(b.get(c)) for c in columns} for b in doc["results"]["bindings"]]
    has_next = paginated and len(rows) > page_size
    rows = rows[:page_size] if paginated else rows
    envelope = {"query": q.name, "parameters": {p.name: values.get(p.name, p.default) for p in q.parameters},
                "columns": columns, "rows": rows, "truncated": bool(result.truncated) and not paginated,
                "page": page if paginated else None, "page_size": page_size if paginated else None, "next": None}
    link = None
    if paginated:
        def url(n: int) -> str:
            params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "page_size")]
            return f"{request.url.scheme}://{request.url.netloc}{request.url.path}?" + urlencode(
                params + [("page", n), ("page_size", page_size)])
        links = [f'<{url(1)}>; rel="first"']
        if page > 1:
            links.append(f'<{url(page - 1)}>; rel="prev"')
        if has_next:
            envelope["next"] = url(page + 1)
            links.append(f'<{url(page + 1)}>; rel="next"')
        link = ", ".join(links)
    return envelope, link


def _table(envelope: dict, sep: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\r\n" if sep == "," else "\n")
    writer.writerow(envelope["columns"])
    for row in envelope["rows"]:
        writer.writerow(["" if row[c] is None else row[c] for c in envelope["columns"]])
    return buf.getvalue()


def respond(request: Request, envelope: dict, link: str | None, ext: str | None = None, name: str = "result"):
    accept = request.headers.get("accept", "")
    if ext is None:
        ext = "csv" if "text/csv" in accept else "tsv" if "text/tab-separated-values" in accept else "json"
    headers = {"Vary": "Accept"}
    if link:
        headers["Link"] = link
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


def _openapi(q: NamedQuery) -> dict:
    params = []
    for p in q.parameters:
        schema = {"type": "integer" if p.type == "integer" else "number" if p.type == "decimal" else "string"}
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
        params += [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                   {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": q.pagination}}]
    example = {"query": q.name, "parameters": {p.name: p.default for p in q.parameters}, "columns": q.columns,
               "rows": [{c: "…" for c in q.columns}], "truncated": False, "page": 1 if q.pagination else None,
               "page_size": q.pagination, "next": None}
    return {"parameters": params, "responses": {"200": {"description": "the answer", "content": {
        "application/json": {"example": example}, "text/csv": {"schema": {"type": "string"}},
        "text/tab-separated-values": {"schema": {"type": "string"}}}},
        "422": {"description": "a parameter value that does not fit its type"}}}


def catalogue_entry(request: Request, q: NamedQuery) -> dict:
    base = f"{request.url.scheme}://{request.url.netloc}/queries/{q.name}"
    example = {p.name: p.default for p in q.parameters if p.default is not None}
    return {"name": q.name, "summary": q.summary, "description": q.description, "tags": q.tags,
            "parameters": [{"name": p.name, "type": p.type, "required": p.required, "default": p.default,
                            "enum": list(p.enum) or None, "variable": "?" + p.variable} for p in q.parameters],
            "paginated": q.pagination is not None, "columns": q.columns,
            "url": base, "csv": base + ".csv", "example": base + ("?" + urlencode(example) if example else "")}


def add_query_routes(app: FastAPI, queries: dict[str, NamedQuery]) -> None:
    @app.exception_handler(ApiProblem)
    async def _problem(_, e: ApiProblem):
        return JSONResponse({"error": e.error, "detail": e.detail, **e.extra}, status_code=e.status,
                            headers={"Retry-After": "2"} if e.status in (429, 503) else None)

    @app.get("/queries", summary="The catalogue of named queries", tags=["named queries"])
    async def catalogue(request: Request):
        return {"queries": [catalogue_entry(request, q) for q in queries.values()]}

    for q in queries.values():
        def make(q: NamedQuery, ext: str | None):
            async def endpoint(request: Request):
                envelope, link = await run_named(request, q)
                return respond(request, envelope, link, ext, q.name)
            return endpoint

        app.add_api_route(f"/queries/{q.name}", make(q, None), methods=["GET"], summary=q.summary,
                          description=q.description, tags=["named queries"] + q.tags, openapi_extra=_openapi(q),
                          name=f"query-{q.name}", response_class=JSONResponse)
        for ext in ("csv", "tsv"):
            app.add_api_route(f"/queries/{q.name}.{ext}", make(q, ext), methods=["GET"], include_in_schema=False)

    add_resources(app, queries)


def add_resources(app: FastAPI, queries: dict[str, NamedQuery]) -> None:
    """REST resources for the common reads, built on the same named queries."""

    def need(name: str) -> NamedQuery:
        if name not in queries:
            raise ApiProblem(503, "query missing", f"the named query {name!r} is not installed")
        return queries[name]

    async def run(request: Request, name: str, values: dict[str, str], allowed: set[str], own: frozenset = frozenset()):
        for key in request.query_params.keys():
            if key not in allowed | RESERVED | own:
                raise ApiProblem(422, "invalid parameter", f"unknown parameter {key!r}; allowed: "
                                 + ", ".join(sorted(allowed) or ["none"]), parameter=key)
        values |= {k: v for k, v in request.query_params.items() if k in allowed}
        envelope, link = await run_named(request, need(name), values)
        return respond(request, envelope, link, None, name)

    @app.get("/api/programs", summary="National plan programs (filter: tier)", tags=["resources"])
    async def programs(request: Request):
        return await run(request, "national-programs", {}, {"tier"})

    @app.get("/api/programs/{program_id:path}", summary="One program: national (2008/3-2-2-a) or any id path "
             "(prefectural-project/20/070201)", tags=["resources"])
    async def program(request: Request, program_id: str):
        path = program_id if "/" in program_id and not program_id[:1].isdigit() else f"national-program/{program_id}"
        envelope, link = await run_named(request, need("program"), {"program": str(ID[path])})
        if not envelope["rows"]:
            raise ApiProblem(404, "not found", f"no program {program_id!r} (try /api/programs)")
        return respond(request, envelope, link, None, "program")

    @app.get("/api/prefectures", summary="The 47 prefectures", tags=["resources"])
    async def prefectures(request: Request):
        return await run(request, "prefectures", {}, set())

    @app.get("/api/prefectures/{code}/projects", summary="A prefecture's projects, sub-projects and initiatives "
             "with budgets", tags=["resources"])
    async def prefecture_projects(request: Request, code: str):
        if not (re.fullmatch(r"[0-9]{2}", code) and 1 <= int(code) <= 47):
            raise ApiProblem(404, "not found", f"no prefecture with JIS code {code!r} (01–47)")
        return await run(request, "prefecture-projects", {"pref": code}, set())

    @app.get("/api/compare", summary="Cross-prefecture budget comparison (by=policy-area|national-program|"
             "classification; stage, year); lists the prefectures with and without figures", tags=["resources"])
    async def compare(request: Request):
        by = request.query_params.get("by", "policy-area")
        names = {"policy-area": ("compare-budget-by-policy-area", {"stage"}),
                 "national-program": ("compare-budget-by-national-program", {"stage"}),
                 "classification": ("compare-budget-by-classification", {"stage", "year"})}
        if by not in names:
            raise ApiProblem(422, "invalid parameter", f"by: {by!r} is not one of {', '.join(names)}", parameter="by")
        name, allowed = names[by]
        for key in request.query_params.keys():
            if key not in allowed | RESERVED | {"by"}:
                raise ApiProblem(422, "invalid parameter", f"unknown parameter {key!r}; allowed: "
                                 + ", ".join(sorted(allowed | {"by"})), parameter=key)
        values = {k: v for k, v in request.query_params.items() if k in allowed}
        envelope, link = await run_named(request, need(name), values)
        # A comparison says who is in it: every prefecture with budget figures, and those without any.
        held, _ = await run_named(request, need("prefectures-with-budgets"), {})
        envelope["prefectures_with_data"] = [r["prefecture"] for r in held["rows"] if int(r["figures"] or 0) > 0]
        envelope["prefectures_without_data"] = [r["prefecture"] for r in held["rows"] if not int(r["figures"] or 0)]
        return respond(request, envelope, link, None, name)

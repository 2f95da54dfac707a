"""Answers of named queries and /api resources as HTML pages (templates/named_query.html, queries.html).

A page holds the query's form (one labelled field per parameter of the catalogue: enumerations as
selects, defaults filled in, a refused value shown beside its field), the answer as a sortable table
(static/table.js), its paging, the CSV and JSON of the same request, and the SPARQL that ran with a
link that opens it in the query editor. Only what the answer holds is shown: empty cells stay empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from policygraph.store.named_queries import NamedQuery, Parameter
from policygraph.transform.ids import ID
from policygraph.web.errors import Problem
from policygraph.web.graph import short, site_of
from policygraph.web.html import render, safe_href

OWN_PARAMETERS = ("format", "lang")   # never carried into the links of a page
INPUT_TYPES = {"integer": "number", "decimal": "number", "iri": "url", "date": "date"}
Envelope = dict[str, Any]
Binding = dict[str, str]


@dataclass
class Field:
    """One form field: a parameter with its current value, and the refusal of that value if any."""
    name: str
    type: str
    required: bool
    value: str
    options: list[str] = field(default_factory=list)   # an enumeration: a <select>
    input_type: str = "text"
    step: str | None = None
    pattern: str | None = None
    error: str | None = None


def field_of(p: Parameter, given: str | None, error: str | None) -> Field:
    value = given if given is not None else p.default or ""
    f = Field(p.name, p.type, p.required, value, list(p.enum), INPUT_TYPES.get(p.type, "text"), error=error)
    if p.type == "boolean":
        f.options = ["true", "false"]
    f.step = {"integer": "1", "decimal": "any"}.get(p.type)
    f.pattern = "-?[0-9]{4}" if p.type == "gYear" else None
    return f


@dataclass
class Cell:
    text: str
    href: str | None = None
    number: bool = False
    sort: str | None = None   # the raw number, for table.js: "1,029,173" sorts as 1029173


def _number(value: float) -> str:
    """Thousands separators; decimals as the data has them (at most six places)."""
    if isinstance(value, int) or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def _compact(iri: str) -> str:
    """An IRI as a table shows it: our ids without the namespace, vocabulary terms as prefixed names."""
    return iri[len(str(ID)):] if iri.startswith(str(ID)) else short(iri)


def _label_columns(columns: list[str], iris: set[str]) -> dict[str, str]:
    """Which column names the resource of an IRI column: ``x_name`` or ``x_label`` beside ``x``, or the
    one ``name``/``label`` column when the answer has a single IRI column."""
    pairs = {}
    for c in iris:
        label = next((f"{c}_{s}" for s in ("name", "label") if f"{c}_{s}" in columns), None)
        if label is None and len(iris) == 1:
            label = next((s for s in ("name", "label") if s in columns), None)
        if label:
            pairs[label] = c
    return pairs


def _cell(value: Any, term: Binding | None) -> Cell:
    if value is None:
        return Cell("")
    if isinstance(value, bool):
        return Cell("true" if value else "false")
    if isinstance(value, int | float):
        return Cell(_number(value), number=True, sort=str(value))
    if term is not None and term.get("type") == "uri":
        return Cell(_compact(str(value)), safe_href(value))
    return Cell(str(value))


def table_of(columns: list[str], rows: list[dict[str, Any]], bindings: list[dict[str, Binding]]) -> list[list[Cell]]:
    """The rows as cells: numbers formatted, IRIs linked, a label linked to the resource it names."""
    iris = {c for b in bindings for c, t in b.items() if t.get("type") == "uri"}
    labels = _label_columns(columns, iris)
    table = []
    for i, row in enumerate(rows):
        terms = bindings[i] if i < len(bindings) else {}
        cells = [_cell(row.get(c), terms.get(c)) for c in columns]
        for j, c in enumerate(columns):
            iri = terms.get(labels.get(c, ""), {})
            if iri.get("type") == "uri" and cells[j].text and not cells[j].number:
                cells[j].href = safe_href(iri["value"])
        table.append(cells)
    return table


def link(path: str, params: list[tuple[str, str]]) -> str:
    return path + ("?" + urlencode(params) if params else "")


def carried(request: Request, drop: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The request's parameters a link of the page keeps (not the format or language, nor ``drop``)."""
    return [(k, v) for k, v in request.query_params.multi_items() if k not in (*OWN_PARAMETERS, *drop)]


@dataclass
class View:
    """What a page shows around an answer: its heading, its form's parameters, where its files are."""
    title: str
    query: NamedQuery
    parameters: list[Parameter]
    csv_path: str                      # the CSV of this answer (the request's parameters are added)
    json_path: str                     # its JSON, with ?format=json
    csv_format: bool = False           # whether the CSV path needs ?format=csv too (/api/…: one path)
    description: str = ""


@dataclass
class Answer:
    """A named query's answer: the JSON envelope, its Link header, the SPARQL that ran (as a person would
    run it), the SPARQL JSON terms of its rows (which values are IRIs), and names for keys it lists."""
    envelope: Envelope
    link: str | None
    text: str
    bindings: list[dict[str, Binding]] = field(default_factory=list)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)   # a listed key → (name, IRI)


def _pager(request: Request, env: Envelope) -> dict[str, str | None]:
    page, size = env.get("page"), env.get("page_size")
    if page is None:
        return {"prev": None, "next": None}
    keep = carried(request, ("page", "page_size"))
    def to(n: int) -> str:
        return link(request.url.path, [*keep, ("page", str(n)), ("page_size", str(size))])
    return {"prev": to(page - 1) if page > 1 else None, "next": to(page + 1) if env.get("next") else None}


def _downloads(request: Request, view: View) -> list[tuple[str, str]]:
    params = carried(request)
    csv = link(view.csv_path, [*params, ("format", "csv")] if view.csv_format else params)
    return [("CSV (Excel)", csv), ("JSON", link(view.json_path, [*params, ("format", "json")]))]


def _fields(request: Request, view: View, problem: Problem | None) -> list[Field]:
    """The form: the view's parameters, and the page size of a paginated query."""
    params = request.query_params
    parameters = list(view.parameters)
    if view.query.pagination:
        parameters.append(Parameter("page_size", "page_size", "integer", False, str(view.query.pagination)))
    return [field_of(p, params.get(p.name), problem.detail if problem and problem.parameter == p.name else None)
            for p in parameters]


async def page(request: Request, view: View, shown: Answer | None, problem: Problem | None = None) -> HTMLResponse:
    """The page of an answer, or of the form alone with the refused parameter marked (``problem``, a 422)."""
    fields = _fields(request, view, problem)
    on_field = problem is not None and any(f.error for f in fields)
    env = shown.envelope if shown else {}
    context: dict[str, Any] = {"view": view, "fields": fields, "problem": None if on_field else problem,
                               "shown": shown, "site": await site_of(request)}
    if shown is not None:
        context |= {"rows": table_of(env.get("columns", []), env.get("rows", []), shown.bindings),
                    "pager": _pager(request, env), "downloads": _downloads(request, view),
                    "editor": link("/query", [("query", shown.text)]),
                    "first": ((env["page"] - 1) * env["page_size"] + 1) if env.get("page") else 1}
    return render(request, "named_query.html", context, status=problem.status if problem else 200,
                  headers={"Vary": "Accept"})


async def catalogue_page(request: Request, queries: list[NamedQuery], tags: list[str], tag: str | None) -> HTMLResponse:
    """The catalogue as a table, filtered by ``tag`` (every tag is a link)."""
    return render(request, "queries.html", {"queries": queries, "tags": tags, "tag": tag,
                                            "site": await site_of(request)}, headers={"Vary": "Accept"})

"""Named SPARQL queries: files in queries/, grlc-compatible, with typed parameters.

A query file (``.rq`` or ``.sparql``) is SPARQL with a header of grlc ``#+`` decorators (YAML, or
JSON): summary, description, tags, defaults, enumerate, pagination. grlc's decorators for where and
how it sends the query and shapes the answer — endpoint, method, transform, endpoint-method,
endpoint_in_url — are accepted, not acted on (queries run on the service's own store) and reported
in the catalogue, so a grlc folder serves unchanged. Parameters follow grlc/BASIL variable names:
``?_name`` (required) and ``?__name`` (optional), with a type suffix: ``_iri``, ``_integer``,
``_number``/``_decimal``, ``_boolean``, ``_date``, ``_gyear``, ``_literal``/``_string``, a
language tag (``_en``, ``_ja``) or ``_xsd_<type>``; no suffix means a plain string.

Values are never pasted into the query text. Each is turned into an RDF term by pyoxigraph
(which escapes it) and bound in a ``VALUES`` block placed first in the query's top-level
group, so the query's structure cannot change whatever the value holds; a value that fails its
type is refused with the parameter's name. The same text runs on the embedded and on a remote
store. (pyoxigraph 0.5's ``Store.query(substitutions=…)`` cannot replace it: it refuses a variable
that the SELECT does not project, as most parameters here are not, and ``BOUND(?__optional)`` does
not see a substituted value.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml

from policygraph.store.query_check import QueryTooComplex, inspect
from policygraph.store.sparql_tokens import iter_tokens

XSD = "http://www.w3.org/2001/XMLSchema#"
_PARAM = re.compile(r"[?$](__?)([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*)")
_TYPES = {"iri": "iri", "integer": "integer", "number": "decimal", "decimal": "decimal", "boolean": "boolean",
          "date": "date", "gyear": "gYear", "literal": "string", "string": "string"}
MAX_VALUE_LENGTH = 2000


class QueryFileError(ValueError):
    """A query file that cannot be served: the message names the file and the reason."""


class ParameterError(ValueError):
    """A parameter value that does not fit its type (HTTP 422)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


Term = ox.NamedNode | ox.Literal


def _typed(datatype: str, lexical: str) -> ox.Literal:
    return ox.Literal(lexical, datatype=ox.NamedNode(XSD + datatype))


def _iri(raw: str) -> Term:
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", raw):
        raise ValueError("not an absolute IRI")
    return ox.NamedNode(raw)


def _integer(raw: str) -> Term:
    if not re.fullmatch(r"[+-]?[0-9]+", raw.strip()):  # ASCII: \d and int() take '٣' as 3
        raise ValueError("not an integer")
    return _typed("integer", str(int(raw)))


def _decimal(raw: str) -> Term:
    if not re.fullmatch(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", raw.strip()):
        raise ValueError("not a decimal number")
    d = Decimal(raw.strip())
    if not d.is_finite():
        raise ValueError("not a finite number")
    return _typed("decimal", format(d, "f"))


def _boolean(raw: str) -> Term:
    if raw.lower() not in ("true", "false", "1", "0"):
        raise ValueError("not true or false")
    return _typed("boolean", "true" if raw.lower() in ("true", "1") else "false")


def _date(raw: str) -> Term:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
        raise ValueError("not a date (YYYY-MM-DD)")
    return _typed("date", date.fromisoformat(raw).isoformat())


def _gyear(raw: str) -> Term:
    if not re.fullmatch(r"-?[0-9]{4}", raw.strip()):
        raise ValueError("not a year (YYYY)")
    return _typed("gYear", raw.strip())


_CONVERTERS: dict[str, Callable[[str], Term]] = {
    "iri": _iri, "string": ox.Literal, "integer": _integer, "decimal": _decimal, "boolean": _boolean,
    "date": _date, "gYear": _gyear}


@dataclass(frozen=True)
class Parameter:
    name: str          # as the API calls it: "pref" for ?_pref_iri
    variable: str      # the SPARQL variable without "?": "_pref_iri"
    type: str          # iri | string | integer | decimal | boolean | date | gYear | lang:xx | xsd:<type>
    required: bool
    default: str | None = None
    enum: tuple[str, ...] = ()
    description: str = ""

    def term(self, raw: str) -> Term:
        """The RDF term for a raw value, or ParameterError."""
        if len(raw) > MAX_VALUE_LENGTH:
            raise ParameterError(self.name, f"value longer than {MAX_VALUE_LENGTH} characters")
        if self.enum and raw not in self.enum:
            raise ParameterError(self.name, f"{raw!r} is not one of {', '.join(self.enum)}")
        t = self.type
        try:
            if t in _CONVERTERS:
                return _CONVERTERS[t](raw)
            if t.startswith("lang:"):
                return ox.Literal(raw, language=t[5:])
            if t.startswith("xsd:"):
                return _typed(t[4:], raw)
        except (ValueError, InvalidOperation) as e:
            raise ParameterError(self.name, f"{raw!r} is not a valid {t} ({e})") from None
        raise ParameterError(self.name, f"unknown type {t}")


def _param_type(suffix: str | None) -> str:
    if suffix is None:
        return "string"
    s = suffix.lower()
    if s in _TYPES:
        return _TYPES[s]
    if s.startswith("xsd_"):
        return "xsd:" + suffix[4:]
    if re.fullmatch(r"[a-z]{2}", s):
        return "lang:" + s
    return "string"


def _split(name: str) -> tuple[str, str | None]:
    """grlc: the first word is the name, what follows the first underscore the type."""
    if "_" in name:
        base, suffix = name.split("_", 1)
        return base, suffix
    return name, None


@dataclass
class NamedQuery:
    name: str
    path: Path
    text: str                       # the SPARQL, header removed
    summary: str
    description: str
    tags: list[str]
    parameters: list[Parameter]
    form: str
    pagination: int | None
    columns: list[str] = field(default_factory=list)
    not_acted_on: dict[str, Any] = field(default_factory=dict)  # grlc decorators accepted as they are
    notes: list[str] = field(default_factory=list)               # what a reader of the catalogue should know

    def bind(self, values: dict[str, str]) -> str:
        """The query with a VALUES block for the given parameters (defaults filled in)."""
        bound: list[tuple[str, Term]] = []
        for p in self.parameters:
            raw = values.get(p.name, p.default)
            if raw is None or raw == "":
                if p.required:
                    raise ParameterError(p.name, "required")
                continue
            bound.append((p.variable, p.term(raw)))
        text = self.text
        if bound:
            variables = " ".join(f"?{v}" for v, _ in bound)
            row = " ".join(str(term) for _, term in bound)
            values_block = f" VALUES ({variables}) {{ ({row}) }} "
            at = _where_brace(text, self.form)
            text = text[: at + 1] + values_block + text[at + 1:]
        return text

    def page(self, text: str, page: int, page_size: int) -> str:
        """Add LIMIT/OFFSET (one row more than asked, to know whether a next page exists)."""
        return f"{text.rstrip()}\nLIMIT {page_size + 1} OFFSET {(page - 1) * page_size}\n"


def _where_brace(text: str, form: str) -> int:
    """Offset of the '{' that opens the query's top-level WHERE group."""
    depth, braces = 0, list[int]()
    for m in re.finditer(r"#[^\n]*|'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\""
                         r"|<[^<>\"{}|^`\\\s]*>|[{}]", text):
        tok = m.group()
        if tok == "{":
            if depth == 0:
                braces.append(m.start())
            depth += 1
        elif tok == "}":
            depth -= 1
    if not braces:
        raise QueryFileError("no WHERE group")
    # CONSTRUCT { template } WHERE { … }: the group is the second top-level one (short form: the first)
    if form == "CONSTRUCT" and len(braces) > 1 and re.search(r"\bWHERE\s*$", text[: braces[1]], re.IGNORECASE):
        return braces[1]
    return braces[0]


def _header(text: str, path: Path) -> tuple[dict[str, Any], str]:
    lines = text.splitlines()
    head = [ln[2:].removeprefix(" ") if ln.startswith("#+") else None for ln in lines]
    decorator_lines = [h for h in head if h is not None]
    body = "\n".join(ln for ln, h in zip(lines, head, strict=True) if h is None)
    if not decorator_lines:
        return {}, body
    try:
        meta = yaml.safe_load("\n".join(decorator_lines)) or {}
    except yaml.YAMLError as e:
        raise QueryFileError(f"{path}: the #+ header is not valid YAML: {e}") from None
    if not isinstance(meta, dict):
        raise QueryFileError(f"{path}: the #+ header must be a YAML mapping (summary:, description: …)")
    return meta, body


def _defaults(meta: dict[str, Any], path: Path) -> dict[str, str]:
    raw = meta.get("defaults") or []
    if isinstance(raw, dict):
        raw = [raw]
    out: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise QueryFileError(f"{path}: defaults must be a list of name: value pairs")
        out.update({str(k): str(v) for k, v in item.items()})
    return out


def _enums(meta: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for item in meta.get("enumerate") or []:
        if isinstance(item, dict):  # policygraph extension: explicit values
            out.update({str(k): tuple(str(x) for x in v) for k, v in item.items()})
        # a bare name (grlc asks the endpoint for values) is accepted and left open
    return out


def _parameters(body: str, meta: dict[str, Any], path: Path) -> list[Parameter]:
    """The query's parameters (grlc variable names), with their defaults and enumerated values."""
    defaults, enums = _defaults(meta, path), _enums(meta)
    params: dict[str, Parameter] = {}
    # variables as the SPARQL lexer reads them: a "#" inside an IRI (rdfs:label's <…#label>) opens no comment
    for m in (_PARAM.fullmatch(t.value) for t in iter_tokens(body) if t.kind == "var"):
        if m is None:
            continue
        underscores, var = m.groups()
        base, suffix = _split(var)
        if base not in params:
            params[base] = Parameter(base, underscores + var, _param_type(suffix), underscores == "_",
                                     defaults.get(base) if base in defaults else defaults.get(underscores + var),
                                     enums.get(base, ()))
    unknown = set(defaults) - set(params) - {p.variable for p in params.values()}
    if unknown:
        raise QueryFileError(f"{path}: defaults for parameters the query does not have: {', '.join(sorted(unknown))}")
    return list(params.values())


def _pagination(body: str, meta: dict[str, Any], path: Path) -> int | None:
    pagination = meta.get("pagination")
    if pagination is None:
        return None
    if not isinstance(pagination, int) or pagination < 1:
        raise QueryFileError(f"{path}: pagination must be a positive integer")
    if re.search(r"\b(LIMIT|OFFSET)\s+\d+\s*$", body.strip(), re.IGNORECASE):
        raise QueryFileError(f"{path}: a paginated query must not end with its own LIMIT/OFFSET")
    return pagination


def load_query(path: Path) -> NamedQuery:
    meta, body = _header(path.read_text(encoding="utf-8"), path)
    try:
        info = inspect(body)
    except QueryTooComplex as e:
        raise QueryFileError(f"{path}: {e}") from None
    if info.form is None or info.is_update:
        raise QueryFileError(f"{path}: not a SPARQL query (no SELECT, ASK, CONSTRUCT or DESCRIBE)")
    if info.service_iris:
        raise QueryFileError(f"{path}: named queries may not use SERVICE")
    q = NamedQuery(path.stem, path, body, " ".join(str(meta.get("summary", path.stem)).split()),
                   str(meta.get("description", "")), [str(t) for t in meta.get("tags", []) or []],
                   _parameters(body, meta, path), info.form, _pagination(body, meta, path),
                   not_acted_on={k: v for k, v in meta.items() if k not in ACTED_ON})
    if q.pagination and not re.search(r"\bORDER\s+BY\b", body, re.IGNORECASE):
        q.notes.append("paginated without ORDER BY: pages follow the store's order, which another store or "
                       "build may change")
    q.notes += [f"unknown decorator {k!r}: ignored" for k in q.not_acted_on if k not in GRLC_ELSEWHERE]
    q.columns = _columns(q)
    return q


ACTED_ON = {"summary", "description", "tags", "defaults", "enumerate", "pagination"}
GRLC_ELSEWHERE = ("endpoint", "method", "transform", "endpoint-method", "endpoint_in_url")  # documented by grlc

_PLACEHOLDERS = {"iri": "urn:x", "integer": "1", "decimal": "1", "boolean": "true", "date": "2025-04-01",
                 "gYear": "2025"}


def _columns(q: NamedQuery) -> list[str]:
    """Run the query on an empty store with every parameter bound to its default or a placeholder:
    a syntax error stops here, and a SELECT's answer names its columns."""
    sample = {}
    for p in q.parameters:  # a default is checked as written; only a placeholder gives way to the enum
        sample[p.name] = p.default or (p.enum[0] if p.enum else _PLACEHOLDERS.get(p.type, "x"))
    try:
        text = q.bind(sample)
        if q.pagination:
            text = q.page(text, 1, q.pagination)
        answer = ox.Store().query(text)
    except SyntaxError as e:
        raise QueryFileError(f"{q.path}: SPARQL syntax error: {e}") from None
    except ParameterError as e:
        raise QueryFileError(f"{q.path}: default for {e}") from None
    return [v.value for v in answer.variables] if isinstance(answer, ox.QuerySolutions) else []


def load_queries(*folders: Path) -> dict[str, NamedQuery]:
    """The named queries of ``folders`` (``.rq`` and ``.sparql`` files; a missing folder has none); two
    files of one name refused."""
    queries: dict[str, NamedQuery] = {}
    for folder in folders:
        for path in sorted([*folder.glob("*.rq"), *folder.glob("*.sparql")]):
            q = load_query(path)
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", q.name):
                raise QueryFileError(f"{path}: file name must be lower-case letters, digits, - or _ (it is the URL)")
            if q.name in queries:
                raise QueryFileError(f"{path}: {queries[q.name].path} has the same name ({q.name}, its URL)")
            queries[q.name] = q
    return queries

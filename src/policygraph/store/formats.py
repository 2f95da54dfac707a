"""Result formats, content negotiation, and serialisers that can stop at a row cap.

pyoxigraph serialises whole result sets; a public endpoint must stop at N rows and say so,
so SELECT results are written here from the first N solutions, in the four W3C formats.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox
from rdflib import Graph

from policygraph.store.engines import Job, Result
from policygraph.transform.ids import JSONLD_CONTEXT

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    aliases: tuple[str, ...] = ()


SOLUTION_FORMATS = [
    Format("json", "application/sparql-results+json", ("application/json",)),
    Format("xml", "application/sparql-results+xml", ("application/xml", "text/xml")),
    Format("csv", "text/csv"),
    Format("tsv", "text/tab-separated-values"),
]
GRAPH_FORMATS = [
    # Turtle is a subset of N3, so N3 requests get Turtle
    Format("turtle", "text/turtle",
           ("application/x-turtle", "application/turtle", "text/n3", "text/rdf+n3", "application/n3")),
    Format("ntriples", "application/n-triples", ("text/plain",)),
    Format("jsonld", "application/ld+json", ("application/json",)),
    Format("rdfxml", "application/rdf+xml", ("application/xml", "text/xml")),
]
FORMAT_PARAM = {  # ?format= values
    "json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv",
    "turtle": "turtle", "ttl": "turtle", "n3": "turtle",
    "nt": "ntriples", "ntriples": "ntriples", "n-triples": "ntriples",
    "jsonld": "jsonld", "json-ld": "jsonld", "rdf": "rdfxml", "rdfxml": "rdfxml", "rdf+xml": "rdfxml",
}
RDF_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
               "jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML}


class NotAcceptable(ValueError):
    def __init__(self, offered: list[Format], asked: str):
        super().__init__(f"cannot produce {asked!r} for this query; available: "
                         + ", ".join(f"{f.media_type} (format={f.name})" for f in offered))
        self.offered = offered


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """Media ranges with their q-values, best first (stable for equal q)."""
    if not header or not header.strip():
        return [("*/*", 1.0)]
    ranges = []
    for i, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = max(0.0, min(1.0, float(f[2:])))
                except ValueError:
                    q = 0.0
        ranges.append((fields[0].lower(), q, i))
    ranges.sort(key=lambda r: (-r[1], r[2]))
    return [(m, q) for m, q, _ in ranges]


def _matches(media_range: str, fmt: Format) -> bool:
    if media_range in ("*/*", "*"):
        return True
    types = (fmt.media_type, *fmt.aliases)
    if media_range.endswith("/*"):
        return any(t.startswith(media_range[:-1]) for t in types)
    return media_range in types


def negotiate(offered: list[Format], accept: str | None, format_params: tuple[str, ...] = ()) -> Format:
    """Pick a format: the first usable ?format= value wins, else the best Accept match (q > 0)."""
    for value in format_params:
        name = FORMAT_PARAM.get(value.lower(), value.lower())
        for f in offered:
            if f.name == name or value.lower() in (f.media_type, *f.aliases):
                return f
    if format_params:
        raise NotAcceptable(offered, ", ".join(format_params))
    for media_range, q in parse_accept(accept):
        if q <= 0:
            continue
        for f in offered:
            if _matches(media_range, f):
                return f
    raise NotAcceptable(offered, accept or "")


# ------------------------------------------------------------------ serialisers


def _json_term(t: Term) -> dict[str, object]:
    if isinstance(t, ox.NamedNode):
        return {"type": "uri", "value": t.value}
    if isinstance(t, ox.BlankNode):
        return {"type": "bnode", "value": t.value}
    if isinstance(t, ox.Literal):
        out: dict[str, object] = {"type": "literal", "value": t.value}
        if t.language:
            out["xml:lang"] = t.language
        elif t.datatype.value != XSD_STRING:
            out["datatype"] = t.datatype.value
        return out
    return {"type": "triple", "value": {"subject": _json_term(t.subject), "predicate": _json_term(t.predicate),
                                        "object": _json_term(t.object)}}


def _xml_term(t: Term) -> str:
    if isinstance(t, ox.NamedNode):
        return f"<uri>{escape(t.value)}</uri>"
    if isinstance(t, ox.BlankNode):
        return f"<bnode>{escape(t.value)}</bnode>"
    if isinstance(t, ox.Literal):
        if t.language:
            return f"<literal xml:lang={quoteattr(t.language)}>{escape(t.value)}</literal>"
        if t.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(t.datatype.value)}>{escape(t.value)}</literal>"
        return f"<literal>{escape(t.value)}</literal>"
    return f"<literal>{escape(str(t))}</literal>"


def _csv_term(t: Term | None) -> str:
    if t is None:
        return ""
    if isinstance(t, ox.BlankNode):
        return f"_:{t.value}"
    if isinstance(t, (ox.NamedNode, ox.Literal)):
        return t.value
    return str(t)


def serialize_solutions(variables: list[str], rows: list[list[Term | None]], fmt: str, truncated: bool) -> bytes:
    if fmt == "json":
        doc: dict[str, object] = {"head": {"vars": variables},
               "results": {"bindings": [{v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None}
                                        for row in rows]}}
        if truncated:
            doc["truncated"] = True  # extra member: clients that do not know it ignore it
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    if fmt == "xml":
        out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
        out += [f"<variable name={quoteattr(v)}/>" for v in variables]
        out.append("</head><results>")
        for row in rows:
            out.append("<result>")
            out += [f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>"
                    for v, t in zip(variables, row, strict=True) if t is not None]
            out.append("</result>")
        out.append("</results></sparql>\n")
        return "".join(out).encode()
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(variables)
        for row in rows:
            w.writerow([_csv_term(t) for t in row])
        return buf.getvalue().encode()
    if fmt == "tsv":
        lines = ["\t".join(f"?{v}" for v in variables)]
        lines += ["\t".join("" if t is None else str(t) for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode()
    if fmt == "table":
        return _table(variables, rows, truncated).encode()
    raise ValueError(fmt)


TABLE_CELL = 60  # display columns of one cell in a terminal table (longer values are cut with …)


def _width(text: str) -> int:
    """Display columns: East Asian wide and fullwidth characters (漢字, かな) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cut(text: str) -> str:
    text = " ".join(text.split())  # one line
    if _width(text) <= TABLE_CELL:
        return text
    out, used = [], 0
    for c in text:
        used += _width(c)
        if used > TABLE_CELL - 1:
            break
        out.append(c)
    return "".join(out) + "…"


def _table(variables: list[str], rows: list[list[Term | None]], truncated: bool) -> str:
    """A text table for a terminal (``policygraph query``): one column per variable, padded by
    display width; literals by their value (and @language), IRIs in <>."""
    def cell(t: Term | None) -> str:
        if t is None:
            return ""
        if isinstance(t, ox.Literal) and t.language:
            return _cut(f"{t.value}@{t.language}")
        if isinstance(t, ox.Literal):
            return _cut(t.value)
        return _cut(str(t))

    cells = [[f"?{v}" for v in variables]] + [[cell(t) for t in row] for row in rows]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(variables))]
    lines = ["  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"({len(rows):,} row{'s' if len(rows) != 1 else ''}{', cut at the row limit' if truncated else ''})")
    return "\n".join(lines) + "\n"


def serialize_boolean(value: bool, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}).encode()
    if fmt == "xml":
        return (f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
                f"<boolean>{'true' if value else 'false'}</boolean></sparql>\n").encode()
    if fmt == "csv":
        return f"_askResult\r\n{'true' if value else 'false'}\r\n".encode()
    if fmt == "table":
        return f"{'true' if value else 'false'}\n".encode()
    return f"?_askResult\n{'true' if value else 'false'}\n".encode()


def serialize_triples(triples: list[ox.Triple], fmt: str) -> bytes:
    if fmt == "jsonld":
        return compact_jsonld(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"")
    return ox.serialize(triples, format=RDF_FORMATS[fmt]) or b""


def compact_jsonld(ntriples: bytes) -> bytes:
    """JSON-LD people can read: compacted with a @context of the ontology's prefixes (``pg:amount``,
    ``"@type": "xsd:decimal"``), read back to the same triples. rdflib compacts; Oxigraph's JSON-LD
    writer only expands (it ignores prefixes)."""
    graph = Graph().parse(data=ntriples, format="nt")
    return graph.serialize(format="json-ld", context=JSONLD_CONTEXT, auto_compact=True, encoding="utf-8")


def render(res: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples | ox.QuadParser, job: Job) -> Result:
    """Serialise a query answer (from a store, or parsed from a remote one) in the job's format,
    stopping at job.max_rows."""
    if isinstance(res, ox.QueryBoolean):
        return Result(serialize_boolean(bool(res), job.fmt))
    if isinstance(res, ox.QuerySolutions):
        variables = [v.value for v in res.variables]
        rows: list[list[Term | None]] = []
        for solution in res:
            if len(rows) == job.max_rows:
                return Result(serialize_solutions(variables, rows, job.fmt, True), True, len(rows))
            rows.append(list(solution))  # the terms in the order of variables: 7× faster than solution[v] each
        return Result(serialize_solutions(variables, rows, job.fmt, False), False, len(rows))
    triples: list[ox.Triple] = []
    for t in res:
        if len(triples) == job.max_rows:
            return Result(serialize_triples(triples, job.fmt), True, len(triples))
        triples.append(t.triple if isinstance(t, ox.Quad) else t)  # parsed answers come as quads
    return Result(serialize_triples(triples, job.fmt), False, len(triples))

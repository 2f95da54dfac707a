"""Which representation a Linked Data request gets: HTML for browsers, else an RDF format by
``?format=`` or Accept; and the alternates a page names in its Link header and <link> elements."""

from __future__ import annotations

from fastapi import Request

from policygraph.store.formats import GRAPH_FORMATS, NotAcceptable, negotiate
from policygraph.web.errors import Problem

HTML = "text/html"
FORMAT_ALIASES = {"ttl": "turtle", "nt": "ntriples", "rdf": "rdfxml", "jsonld": "jsonld", "html": "html"}
ALTERNATES = (("ttl", "turtle"), ("jsonld", "jsonld"), ("nt", "ntriples"), ("rdf", "rdfxml"))
MEDIA = {f.name: f.media_type for f in GRAPH_FORMATS}


def choose(request: Request) -> str:
    """'html' or a graph Format name; a 406 Problem when nothing offered is acceptable."""
    try:
        fmt = request.query_params.get("format")
        if fmt:
            name = FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
            return "html" if name == "html" else negotiate(GRAPH_FORMATS, None, (name,)).name
        accept = request.headers.get("accept", "")
        if not accept or HTML in accept or "application/xhtml+xml" in accept:
            return "html"
        return negotiate(GRAPH_FORMATS, accept, ()).name
    except NotAcceptable as e:
        raise Problem(406, "not acceptable", str(e), {"Vary": "Accept"}) from None


def media_type(fmt: str) -> str:
    """The Content-Type of a graph format (text types in UTF-8)."""
    media = MEDIA[fmt]
    return media + "; charset=utf-8" if media.startswith("text/") else media


def alternates(path: str) -> list[tuple[str, str]]:
    """(media type, URL) of each representation of the page at ``path``, HTML first."""
    return [(HTML, f"{path}?format=html")] + [(MEDIA[name], f"{path}?format={key}") for key, name in ALTERNATES]


def link_header(path: str) -> str:
    return ", ".join(f'<{href}>; rel="alternate"; type="{mt}"' for mt, href in alternates(path))

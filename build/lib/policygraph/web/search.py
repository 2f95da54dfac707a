"""Search by name: /search?q= finds the resources whose label (any language) contains the text.

One row per resource, however many labels and types it has: its Japanese and English labels, its
types (ours only when it has one of ours, most specific first), its prefecture when it has one (its
own, or that of the program it is an indicator of) and a link. Exact label matches come first,
then labels that start with the text, then the rest (each by name); 50 a page; filters by type and
prefecture.
HTML for browsers, JSON for API clients (Accept: application/json or ?format=json).

The text is bound as an escaped literal; type and prefecture must be among the values the graph
offers, so nothing a client sends changes the query's structure. Bad input is a 400 naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from policygraph.store.formats import parse_accept
from policygraph.transform.ids import ID
from policygraph.web.errors import Problem
from policygraph.web.graph import PG, Row, Site, in_language, select, short, site_of
from policygraph.web.html import lang_of, render, safe_href
from policygraph.web.settings import settings_of

router = APIRouter(tags=["search"])

MAX_Q, PAGE, MAX_PAGE = 200, 50, 1000
RANKS = ("exact", "prefix", "contains")
PREFECTURE = str(ID) + "prefecture/"
OWN = str(ID)
# where a resource's prefecture is: its own, or that of the program it is an indicator of
PREFECTURE_PATH = "pg:prefecture|pg:indicatorOf/pg:prefecture"

MATCH = """VALUES ?q {{ {text} }}
  ?r rdfs:label|skos:prefLabel|skos:altLabel ?l .
  FILTER(STRSTARTS(STR(?r), "{own}"))
  BIND(LCASE(STR(?l)) AS ?low) BIND(LCASE(?q) AS ?needle)
  FILTER(CONTAINS(?low, ?needle)) {filters}"""
# one row per resource: its best match decides its rank, then the name it matched by; the page of
# resources is chosen first, so labels, types and prefecture are read for those alone (7x faster)
SEARCH = """SELECT ?r ?relevance ?matched (MIN(?ja) AS ?label_ja) (MIN(?en) AS ?label_en)
  (GROUP_CONCAT(DISTINCT STR(?type); separator=" ") AS ?types) (MIN(?p) AS ?prefecture) WHERE {{
  {{ SELECT ?r (MIN(?rank) AS ?relevance) (MIN(STR(?l)) AS ?matched) WHERE {{ {match}
       BIND(IF(?low = ?needle, 0, IF(STRSTARTS(?low, ?needle), 1, 2)) AS ?rank) }}
     GROUP BY ?r ORDER BY ?relevance ?matched ?r LIMIT {limit} OFFSET {offset} }}
  OPTIONAL {{ ?r a ?type }}
  OPTIONAL {{ ?r rdfs:label ?ja FILTER(lang(?ja) = "ja" || lang(?ja) = "") }}
  OPTIONAL {{ ?r rdfs:label ?en FILTER(lang(?en) = "en") }}
  OPTIONAL {{ ?r {path} ?p }}
}} GROUP BY ?r ?relevance ?matched ORDER BY ?relevance ?matched ?r"""
COUNT = """SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE {{ {match} }}"""
# the choices of the filters: types of labelled resources, prefectures with their labels, and how
# specific each class is (how many classes it is a sub-class of)
TYPES = f"""SELECT DISTINCT ?type WHERE {{ ?r a ?type ; rdfs:label ?l FILTER(STRSTARTS(STR(?r), "{OWN}")) }}"""
PREFECTURES = """SELECT ?p ?code ?l WHERE { ?p a pg:Prefecture ; skos:notation ?code ; rdfs:label ?l }"""
DEPTH = """SELECT ?c (COUNT(DISTINCT ?sup) AS ?n) WHERE { ?c rdfs:subClassOf+ ?sup FILTER(?sup != ?c) } GROUP BY ?c"""


def invalid(parameter: str, detail: str) -> Problem:
    return Problem(400, "invalid parameter", detail, parameter=parameter)


@dataclass
class Vocabulary:
    """What the filters offer and how types are ordered, read once per build."""
    build: str
    types: dict[str, str] = field(default_factory=dict)                # short name → IRI
    depth: dict[str, int] = field(default_factory=dict)                # class IRI → number of super-classes
    prefectures: dict[str, dict[str, str]] = field(default_factory=dict)  # code → labels by language

    def prefecture_code(self, iri: str) -> str | None:
        code = iri.removeprefix(PREFECTURE)
        return code if iri.startswith(PREFECTURE) and code in self.prefectures else None


async def vocabulary_of(request: Request) -> Vocabulary:
    build = settings_of(request).build_id
    vocab: Vocabulary | None = getattr(request.app.state, "search_vocabulary", None)
    if vocab is not None and vocab.build == build:
        return vocab
    vocab = Vocabulary(build)
    for r in await select(request, TYPES, max_rows=100_000):
        vocab.types[short(r["type"]["value"])] = r["type"]["value"]
    for r in await select(request, DEPTH, max_rows=100_000):
        vocab.depth[r["c"]["value"]] = int(r["n"]["value"])
    for r in await select(request, PREFECTURES):
        vocab.prefectures.setdefault(r["code"]["value"], {}).setdefault(r["l"].get("xml:lang", "ja"), r["l"]["value"])
    vocab.prefectures = dict(sorted(vocab.prefectures.items()))
    request.app.state.search_vocabulary = vocab
    return vocab


@dataclass
class Ask:
    """A search request, checked."""
    q: str
    type: str | None
    prefecture: str | None
    page: int
    fmt: str

    def url(self, page: int | None = None, fmt: str | None = None) -> str:
        params = [("q", self.q), ("type", self.type or ""), ("prefecture", self.prefecture or ""),
                  ("page", str(page or self.page))] + ([("format", fmt)] if fmt else [])
        return "/search?" + urlencode([(k, v) for k, v in params if v and not (k == "page" and v == "1")])


def _format(request: Request) -> str:
    fmt = request.query_params.get("format")
    if fmt is not None:
        if fmt not in ("html", "json"):
            raise invalid("format", f"format: {fmt[:50]!r} is not html or json")
        return fmt
    for media, q in parse_accept(request.headers.get("accept")):
        if q > 0 and media in ("application/json", "text/html", "application/xhtml+xml"):
            return "json" if media == "application/json" else "html"
    return "html"


def ask_of(request: Request, vocab: Vocabulary) -> Ask:
    q = " ".join(request.query_params.get("q", "").split())   # whitespace and control-free, single spaces
    if len(request.query_params.get("q", "")) > MAX_Q:
        raise invalid("q", f"q: longer than {MAX_Q} characters")
    type_ = request.query_params.get("type") or None
    if type_ is not None and type_ not in vocab.types:
        raise invalid("type", f"type: {type_[:50]!r} is not a type of a labelled resource (e.g. pg:PrefecturalProject)")
    pref = request.query_params.get("prefecture") or None
    if pref is not None and pref not in vocab.prefectures:
        raise invalid("prefecture", f"prefecture: {pref[:50]!r} is not a JIS prefecture code (01–47)")
    raw = request.query_params.get("page", "1")
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise invalid("page", f"page: {raw[:50]!r} must be an integer from 1 to {MAX_PAGE}")
    return Ask(q, type_, pref, int(raw), _format(request))


def _match(ask: Ask, vocab: Vocabulary) -> str:
    filters = ""
    if ask.type:
        filters += f" ?r a <{vocab.types[ask.type]}> ."
    if ask.prefecture:
        filters += f" ?r {PREFECTURE_PATH} <{PREFECTURE}{ask.prefecture}> ."
    text = str(ox.Literal(ask.q))   # pyoxigraph escapes quotes, backslashes and line breaks
    return MATCH.format(text=text, own=OWN, filters=filters)


@dataclass
class Hit:
    iri: str
    href: str | None
    labels: dict[str, str]
    types: list[tuple[str, str]]          # (IRI, name in the page's language)
    prefecture: tuple[str, dict[str, str]] | None   # (code, labels)
    match: str

    def name(self, lang: str) -> str:
        return in_language(self.labels, lang) or self.iri

    def json(self, site: Site) -> dict[str, Any]:
        return {"iri": self.iri, "url": self.href, "label": {"ja": self.labels.get("ja"), "en": self.labels.get("en")},
                "types": [{"iri": t, "name": short(t), "label": {"ja": site.label(t, "ja"), "en": site.label(t, "en")}}
                          for t, _ in self.types],
                "prefecture": None if self.prefecture is None else {
                    "iri": PREFECTURE + self.prefecture[0], "code": self.prefecture[0],
                    "label": {"ja": self.prefecture[1].get("ja"), "en": self.prefecture[1].get("en")}},
                "match": self.match}


def _types(iris: list[str], vocab: Vocabulary, site: Site, lang: str) -> list[tuple[str, str]]:
    """Ours only if it has one of ours; the most specific first (most super-classes), then by name."""
    ours = [t for t in iris if t.startswith(PG)]
    kept = ours or iris
    names = [(t, site.label(t, lang)) for t in kept]
    return sorted(names, key=lambda tn: (-vocab.depth.get(tn[0], 0), tn[1]))


def _hit(r: Row, vocab: Vocabulary, site: Site, lang: str) -> Hit:
    labels = {k: r[f"label_{k}"]["value"] for k in ("ja", "en") if f"label_{k}" in r}
    if not labels:
        labels["ja"] = r["matched"]["value"]
    code = vocab.prefecture_code(r["prefecture"]["value"]) if "prefecture" in r else None
    iri = r["r"]["value"]
    types = _types(r["types"]["value"].split() if "types" in r else [], vocab, site, lang)
    return Hit(iri, safe_href(iri), labels, types, (code, vocab.prefectures[code]) if code else None,
               RANKS[min(2, int(r["relevance"]["value"]))])


@dataclass
class Found:
    hits: list[Hit]
    total: int
    more: bool


async def search(request: Request, ask: Ask, vocab: Vocabulary, site: Site) -> Found:
    if not ask.q:
        return Found([], 0, False)
    match, lang = _match(ask, vocab), lang_of(request)
    rows = await select(request, SEARCH.format(match=match, path=PREFECTURE_PATH, limit=PAGE + 1,
                                               offset=(ask.page - 1) * PAGE))
    total = int((await select(request, COUNT.format(match=match)))[0]["n"]["value"])
    return Found([_hit(r, vocab, site, lang) for r in rows[:PAGE]], total, len(rows) > PAGE)


def _json(request: Request, ask: Ask, found: Found, site: Site) -> JSONResponse:
    base = f"{request.url.scheme}://{request.url.netloc}"
    return JSONResponse({
        "q": ask.q, "type": ask.type, "prefecture": ask.prefecture, "page": ask.page, "page_size": PAGE,
        "total": found.total, "results": [h.json(site) for h in found.hits],
        "next": base + ask.url(ask.page + 1, "json") if found.more else None,
        "prev": base + ask.url(ask.page - 1, "json") if ask.page > 1 else None}, headers={"Vary": "Accept"})


@router.get("/search", summary="Search resources by label (one row per resource; type and prefecture filters)",
            response_class=JSONResponse)
async def search_page(request: Request) -> Response:
    site, vocab = await site_of(request), await vocabulary_of(request)
    ask = ask_of(request, vocab)
    found = await search(request, ask, vocab, site)
    if ask.fmt == "json":
        return _json(request, ask, found, site)
    lang = lang_of(request)
    types = sorted(((name, site.label(iri, lang)) for name, iri in vocab.types.items() if iri.startswith(PG)),
                   key=lambda nl: nl[1])
    prefectures = [(code, in_language(labels, lang)) for code, labels in vocab.prefectures.items()]
    context = {"site": site, "ask": ask, "found": found, "types": types, "prefectures": prefectures,
               "first": (ask.page - 1) * PAGE + 1, "max_q": MAX_Q,
               "next": ask.url(ask.page + 1) if found.more else None,
               "prev": ask.url(ask.page - 1) if ask.page > 1 else None, "json": ask.url(fmt="json")}
    return render(request, "search.html", context, headers={"Vary": "Accept"})

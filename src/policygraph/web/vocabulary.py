"""HTML documentation of the ontology and of the SHACL shapes, generated from the graphs served."""

from __future__ import annotations

from collections import defaultdict
from html import escape

from fastapi import Request

from policygraph.transform.ids import GRAPH
from policygraph.web.html import layout, link


def _anchor(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


async def render(request: Request, kind: str, lang: str) -> str:
    from policygraph.web.resources import _select, _short
    if kind == "shapes":
        return await _shapes(request, lang)
    rows = await _select(request, f"""SELECT ?t ?kind ?p ?o WHERE {{ GRAPH <{GRAPH['ontology']}> {{
        ?t a ?kind . FILTER(?kind IN (owl:Class, owl:ObjectProperty, owl:DatatypeProperty))
        FILTER(STRSTARTS(STR(?t), "https://w3id.org/policygraph/def#"))
        ?t ?p ?o . FILTER(isIRI(?o) || isLiteral(?o)) }} }} ORDER BY ?kind ?t""".replace(
        "SELECT", "PREFIX owl: <http://www.w3.org/2002/07/owl#> SELECT", 1))
    terms: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        terms[r["t"]["value"]]["kind"] = [r["kind"]["value"]]
        terms[r["t"]["value"]][_short(r["p"]["value"])].append(r["o"])

    def pick(vals, want):
        chosen = [v["value"] for v in vals if v.get("xml:lang") == want]
        return chosen[0] if chosen else ""

    def term_link(v):
        iri = v["value"]
        if iri.startswith("https://w3id.org/policygraph/def#"):
            return f'<a href="#{escape(_anchor(iri))}">{escape(_short(iri))}</a>'
        return link(iri, _short(iri))

    sections = {"http://www.w3.org/2002/07/owl#Class": ("クラス", "Classes"),
                "http://www.w3.org/2002/07/owl#ObjectProperty": ("オブジェクトプロパティ", "Object properties"),
                "http://www.w3.org/2002/07/owl#DatatypeProperty": ("データプロパティ", "Datatype properties")}
    out = ["<h1>policygraph ontology</h1>",
           "<p>Namespace <code>https://w3id.org/policygraph/def#</code> (prefix <code>pg:</code>). "
           '<a href="/ontology?format=ttl">Turtle</a> · <a href="/ontology?format=jsonld">JSON-LD</a> · '
           '<a href="/shapes">SHACL shapes</a></p>']
    for kind_iri, (ja, en) in sections.items():
        items = sorted((t, d) for t, d in terms.items() if d["kind"] == [kind_iri])
        toc = " · ".join(f'<a href="#{escape(_anchor(t))}">{escape(_short(t))}</a>' for t, _ in items)
        out.append(f"<h2>{escape(en if lang == 'en' else ja)} ({len(items)})</h2><p class='toc'>{toc}</p>")
        for iri, d in items:
            main, other = ("en", "ja") if lang == "en" else ("ja", "en")
            rows_ = [("label", f"{escape(pick(d['rdfs:label'], main))} / {escape(pick(d['rdfs:label'], other))}"),
                     ("definition", f"{escape(pick(d['skos:definition'], main))}<br><small>{escape(pick(d['skos:definition'], other))}</small>")]
            for key in ("rdfs:subClassOf", "rdfs:subPropertyOf", "rdfs:domain", "rdfs:range", "owl:inverseOf", "owl:disjointWith"):
                if d.get(key):
                    rows_.append((key, ", ".join(term_link(v) for v in d[key] if v["type"] == "uri")))
            table = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows_)
            out.append(f'<h3 id="{escape(_anchor(iri))}"><code>{escape(_short(iri))}</code></h3>'
                       f'<p class="iri"><code>{escape(iri)}</code></p><table class="props">{table}</table>')
    return layout("ontology", "\n".join(out), lang, "/ontology")


async def _shapes(request: Request, lang: str) -> str:
    from policygraph.web.resources import _select, _short
    rows = await _select(request, f"""PREFIX sh: <http://www.w3.org/ns/shacl#>
        SELECT ?shape ?target ?path ?message ?comment WHERE {{ GRAPH <{GRAPH['shapes']}> {{
          ?shape a sh:NodeShape .
          OPTIONAL {{ ?shape sh:targetClass ?target }}
          OPTIONAL {{ ?shape rdfs:comment ?comment }}
          OPTIONAL {{ ?shape sh:property ?ps . ?ps sh:path ?path . OPTIONAL {{ ?ps sh:message ?message FILTER(lang(?message) = "{lang}") }} }}
          OPTIONAL {{ ?shape sh:sparql/sh:message ?message FILTER(lang(?message) = "{lang}") }}
        }} }} ORDER BY ?shape ?path""")
    shapes: dict[str, dict] = defaultdict(lambda: {"targets": set(), "checks": {}, "comment": ""})
    for r in rows:
        s = shapes[r["shape"]["value"]]
        if "target" in r:
            s["targets"].add(_short(r["target"]["value"]))
        if "comment" in r:
            s["comment"] = r["comment"]["value"]
        if "path" in r or "message" in r:
            key = _short(r["path"]["value"]) if "path" in r else "SPARQL"
            s["checks"][key] = r["message"]["value"] if "message" in r else ""
    out = ["<h1>policygraph SHACL shapes</h1>",
           '<p>What a valid graph looks like; <code>policygraph validate</code> runs them. '
           '<a href="/shapes?format=ttl">Turtle</a> · <a href="/ontology">ontology</a></p>']
    for iri, s in sorted(shapes.items()):
        checks = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in sorted(s["checks"].items()))
        out.append(f'<h2 id="{escape(_anchor(iri))}">{escape(_anchor(iri))}</h2>'
                   f'<p>targets: {escape(", ".join(sorted(s["targets"])) or "(see definition)")}. {escape(s["comment"])}</p>'
                   f'<table class="props">{checks}</table>')
    return layout("shapes", "\n".join(out), lang, "/shapes")

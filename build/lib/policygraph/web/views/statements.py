"""What the generic part of a resource page shows: its title, types, statements and incoming links.

A statement is "inferred" when the entailment graph holds it and no other graph does: those are
folded away apart from what the sources and curators stated. Incoming links are grouped by property,
one group per property with its count, a page of each group at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from fastapi import Request

from policygraph.transform.ids import ID
from policygraph.web.graph import Binding, Site, select

PAGE = 100        # statements of each kind (outgoing, each incoming property) on one page
SHOWN = 20        # incoming links shown before the rest of a group is folded
INFERRED = "https://w3id.org/policygraph/graph/inferred"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
TITLE_PROPERTIES = "rdfs:label|skos:prefLabel|dcterms:title"
NAMES = "rdfs:label|skos:prefLabel"   # what a linked resource is called


def _inferred_only(s: str, p: str, o: str) -> str:
    """A SPARQL expression: the triple is in the entailment graph and no other."""
    return f"NOT EXISTS {{ GRAPH ?g {{ {s} {p} {o} }} FILTER(?g != <{INFERRED}>) }}"


def in_lang(s: str, prop: str, out: str, lang: str) -> str:
    """Bind ``out`` to ``s``'s ``prop`` in the page language, else in Japanese (SPARQL variables, with ?)."""
    return (f"OPTIONAL {{ {s} {prop} {out}_1 FILTER(lang({out}_1) = \"{lang}\") }} "
            f"OPTIONAL {{ {s} {prop} {out}_2 FILTER(lang({out}_2) = \"ja\") }} "
            f"BIND(COALESCE({out}_1, {out}_2) AS {out})")


def label_of(var: str, lang: str) -> str:
    """Bind ?{var}_l to ?{var}'s label (or a code's preferred label) in the page language, else in Japanese."""
    return in_lang(f"?{var}", NAMES, f"?{var}_l", lang)


@dataclass
class Value:
    """One object (or subject) on the page, with what it is called there."""
    term: Binding
    name: str
    inferred: bool = False


@dataclass
class Group:
    """The links of one property into the resource: ``count`` in all, ``values`` on this page."""
    predicate: str
    count: int
    inferred: int
    values: list[Value] = field(default_factory=list)

    @property
    def all_inferred(self) -> bool:
        return self.inferred == self.count

    @property
    def shown(self) -> list[Value]:
        return self.values[:SHOWN]

    @property
    def folded(self) -> list[Value]:
        return self.values[SHOWN:]


@dataclass
class Statements:
    """One page of a resource's statements: stated, inferred-only, and incoming groups."""
    stated: dict[str, list[Value]]
    inferred: dict[str, list[Value]]
    incoming: list[Group]
    more: bool

    @property
    def inferred_count(self) -> int:
        return sum(len(v) for v in self.inferred.values()) + sum(g.count for g in self.incoming if g.all_inferred)


def name_of(term: Binding, label: str | None, site: Site, lang: str) -> str:
    """What a term is called on the page: its label, else the site's label for it, else a prefixed name."""
    if label:
        return label
    if term["type"] != "uri":
        return term["value"]
    iri = term["value"]
    return site.labels.get(lang, {}).get(iri) or site.labels["ja"].get(iri) or (
        prefixed(iri) if iri.startswith(str(ID)) else site.label(iri, lang))


def prefixed(iri: str) -> str:
    return "id:" + iri[len(str(ID)):] if iri.startswith(str(ID)) else iri


async def title_of(request: Request, iri: str, lang: str) -> str:
    """The resource's name in the page language, else in Japanese, else any; never a bare slug."""
    rows = await select(request, f"SELECT ?l WHERE {{ <{iri}> {TITLE_PROPERTIES} ?l }}")
    by_lang: dict[str, str] = {}
    for r in rows:
        by_lang.setdefault(r["l"].get("xml:lang", ""), r["l"]["value"])
    return (by_lang.get(lang) or by_lang.get("ja") or next(iter(by_lang.values()), None)
            or await _observation_title(request, iri, lang) or prefixed(iri))


# What an observation (no label of its own) observes: (property path, naming property, variable)
OBSERVED = [("pg:program|pg:indicator", NAMES, "what"), ("pg:fiscalYear", "rdfs:label", "year"),
            ("pg:budgetStage|pg:valueRole", "skos:prefLabel", "kind"), ("pg:fundingSource", "skos:prefLabel", "fund"),
            ("pg:costComponent|pg:staffKind", "skos:prefLabel", "cost")]


async def observation_names(request: Request, iris: list[str], lang: str, subject: str = "") -> dict[str, str]:
    """Observations named by what they observe: 事業名 令和5年度 予算現額 財源計 4,566,423 (the program
    left out where it is ``subject``, the page's own resource)."""
    if not iris:
        return {}
    patterns = " ".join(f"OPTIONAL {{ ?s {p} ?{v}_x . {in_lang(f'?{v}_x', names, f'?{v}', lang)} }}"
                        for p, names, v in OBSERVED)
    values = " ".join(f"<{i}>" for i in iris)
    rows = await select(request, f"""SELECT ?s ?what_x ?what ?year ?kind ?fund ?cost ?amount WHERE {{
        VALUES ?s {{ {values} }} {patterns} OPTIONAL {{ ?s pg:amount|pg:value|pg:staffCount ?amount }} }}""")
    names: dict[str, str] = {}
    for r in rows:
        if "what" not in r or r["s"]["value"] in names:
            continue
        own = r["what_x"]["value"] == subject
        parts = [r[v]["value"] for _, _, v in OBSERVED if v in r and not (v == "what" and own)]
        if "amount" in r:
            parts.append(_number(r["amount"]["value"]))
        names[r["s"]["value"]] = " ".join(parts)
    return names


def _number(literal: str) -> str:
    """A number as printed, with thousands separators and every digit it has (11.2 stays 11.2)."""
    try:
        return f"{Decimal(literal):,}"
    except InvalidOperation:
        return literal


async def _observation_title(request: Request, iri: str, lang: str) -> str | None:
    return (await observation_names(request, [iri], lang)).get(iri)


async def types_of(request: Request, iri: str) -> list[tuple[str, bool]]:
    """The resource's rdf:type IRIs, each with whether it is only inferred."""
    rows = await select(request, f"""SELECT ?t ?inf WHERE {{ <{iri}> a ?t
        BIND({_inferred_only(f"<{iri}>", "a", "?t")} AS ?inf) }} ORDER BY ?t""")
    return [(r["t"]["value"], r["inf"]["value"] == "true") for r in rows]


async def outgoing(request: Request, iri: str, page: int, site: Site, lang: str) -> tuple[dict[str, list[Value]], bool]:
    window = f"LIMIT {PAGE + 1} OFFSET {(page - 1) * PAGE}"
    # one row per statement (SAMPLE: an object may have two labels in a language), so the window counts statements
    rows = await select(request, f"""SELECT ?p ?o (SAMPLE(?ol) AS ?o_l) ?inf WHERE {{ <{iri}> ?p ?o .
        {in_lang("?o", NAMES, "?ol", lang)} BIND({_inferred_only(f"<{iri}>", "?p", "?o")} AS ?inf) }}
        GROUP BY ?p ?o ?inf ORDER BY ?p ?o {window}""")
    values: dict[str, list[Value]] = {}
    seen: set[tuple[str, str]] = set()
    for r in rows[:PAGE]:
        key = (r["p"]["value"], r["o"]["value"] + r["o"].get("xml:lang", ""))
        if key in seen:  # one row per label when an object has two in the same language
            continue
        seen.add(key)
        name = name_of(r["o"], r.get("o_l", {}).get("value"), site, lang)
        values.setdefault(r["p"]["value"], []).append(Value(r["o"], name, r["inf"]["value"] == "true"))
    return values, len(rows) > PAGE


async def incoming(request: Request, iri: str, page: int, site: Site, lang: str) -> tuple[list[Group], bool]:
    counts = await select(request, f"""SELECT ?p (COUNT(*) AS ?n) (SUM(IF(?inf, 1, 0)) AS ?i) WHERE {{
        ?s ?p <{iri}> BIND({_inferred_only("?s", "?p", f"<{iri}>")} AS ?inf) }} GROUP BY ?p ORDER BY ?p""")
    groups, more = [], False
    for c in counts:
        group = Group(c["p"]["value"], int(c["n"]["value"]), int(c["i"]["value"]))
        rows = await select(request, f"""SELECT ?s (SAMPLE(?sl) AS ?s_l) ?inf WHERE {{
            ?s <{group.predicate}> <{iri}> . {in_lang("?s", NAMES, "?sl", lang)}
            BIND({_inferred_only("?s", f"<{group.predicate}>", f"<{iri}>")} AS ?inf) }}
            GROUP BY ?s ?inf ORDER BY ?s LIMIT {PAGE + 1} OFFSET {(page - 1) * PAGE}""")
        seen: set[str] = set()
        for r in rows[:PAGE]:
            if r["s"]["value"] not in seen:
                seen.add(r["s"]["value"])
                group.values.append(Value(r["s"], name_of(r["s"], r.get("s_l", {}).get("value"), site, lang),
                                          r["inf"]["value"] == "true"))
        more = more or len(rows) > PAGE
        unnamed = [v for v in group.values if v.term["type"] == "uri" and v.name == prefixed(v.term["value"])]
        found = await observation_names(request, [v.term["value"] for v in unnamed], lang, iri)
        for v in unnamed:
            v.name = found.get(v.term["value"], v.name)
        if group.values:
            groups.append(group)
    return groups, more


async def statements(request: Request, iri: str, page: int, site: Site, lang: str) -> Statements:
    out, more_out = await outgoing(request, iri, page, site, lang)
    stated: dict[str, list[Value]] = {}
    inferred: dict[str, list[Value]] = {}
    for p, values in out.items():
        for v in values:
            (inferred if v.inferred else stated).setdefault(p, []).append(v)
    groups, more_in = await incoming(request, iri, page, site, lang)
    return Statements(stated, inferred, groups, more_out or more_in)

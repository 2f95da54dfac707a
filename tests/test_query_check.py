"""The request check (store/query_check.py) as a unit: what it reports about SERVICE targets, updates,
pragmas and limits. tests/test_request_check.py holds the differential tests against Oxigraph; this file
covers what they do not: the values the allow-list is compared with and the exact limit boundaries."""

from __future__ import annotations

import pytest

from policygraph.store.query_check import UPDATE_WORDS, Limits, QueryTooComplex, inspect

# ------------------------------------------------------------------ SERVICE targets (the allow-list sees these)


@pytest.mark.parametrize("query, targets", [
    ("SELECT * { SERVICE <http://a.example/sparql> { } }", ("http://a.example/sparql",)),
    ("SELECT * { SERVICE SILENT <http://a.example/sparql> { } }", ("http://a.example/sparql",)),
    ("SELECT * { SERVICE<http://a.example/>{ } }", ("http://a.example/",)),
    # the IRI's \u escapes are resolved, so an escaped IRI is compared as the engine will call it
    ("SELECT * { SERVICE <http://a.example/\\u0073parql> { } }", ("http://a.example/sparql",)),
    ("SELECT * { SERVICE <http://a.example/\\U00000073parql> { } }", ("http://a.example/sparql",)),
    # repeated targets are reported once, in the order of the text
    ("SELECT * { SERVICE <http://b.example/> { } SERVICE <http://a.example/> { } SERVICE <http://b.example/> { } }",
     ("http://b.example/", "http://a.example/")),
])
def test_service_targets_are_the_iris_the_engine_would_call(query, targets):
    assert inspect(query).service_iris == targets


@pytest.mark.parametrize("query", [
    "SELECT * { BIND(<http://a.example/> AS ?e) SERVICE ?e { } }",                  # a variable
    "PREFIX p: <http://a.example/> SELECT * { SERVICE p:sparql { } }",               # a prefixed name
    "PREFIX p: <http://a.example/> SELECT * { SERVICEp:sparql { } }",                # a keyword glued to a name
])
def test_a_target_that_is_not_one_literal_iri_is_reported_as_empty(query):
    """The allow-list cannot vouch for a target it cannot read, so the check says "" and the service refuses."""
    assert inspect(query).service_iris == ("",)


def test_a_relative_service_iri_never_looks_like_an_allowed_endpoint():
    """With BASE, <sparql> is http://a.example/sparql to the engine; the check must not report that IRI (an
    allow-list of http://a.example/ would pass it) nor anything the service would take for an http(s) IRI."""
    [target] = inspect("BASE <http://a.example/> SELECT * { SERVICE <sparql> { } }").service_iris
    assert not target.startswith(("http://", "https://"))


@pytest.mark.parametrize("keyword", ["\\u0053ERVICE", "\\U00000053ERVICE", "SERVIC\\u0045", "\\u0073ervice"])
def test_service_spelled_with_unicode_escapes_is_found(keyword):
    """The SPARQL spec unescapes \\u before parsing (Jena does; Oxigraph does not): both readings count."""
    info = inspect(f"SELECT * {{ {keyword} <http://a.example/> {{ }} }}")
    assert info.service_iris == ("http://a.example/",)


@pytest.mark.parametrize("query", [
    "SELECT * { ?s <http://e/service> ?o }",
    "SELECT ?service { BIND(1 AS ?service) }",
    "SELECT * { BIND('\\u0053ERVICE <http://a.example/> { }' AS ?x) }",             # escaped, but inside a string
])
def test_service_mentioned_as_data_is_not_a_target(query):
    assert inspect(query).service_iris == ()


# ------------------------------------------------------------------ updates and pragmas


@pytest.mark.parametrize("word", sorted(UPDATE_WORDS))
def test_every_update_keyword_is_an_update(word):
    for text in (f"{word} DATA {{ }}", f"PREFIX ex: <http://e/> BASE <http://e/> {word.lower()} <http://e/g>"):
        info = inspect(text)
        assert info.is_update and info.form is None, text


@pytest.mark.parametrize("query", [
    "SELECT * { ?s <http://e/insert> ?o }",
    "SELECT ?delete { BIND('DROP ALL' AS ?delete) }",
    "PREFIX load: <http://e/> SELECT * { ?s load:x ?o }",
    "# DELETE WHERE { ?s ?p ?o }\nASK { }",
    "CONSTRUCT { ?s <http://e/add> ?o } WHERE { ?s ?p ?o }",                     # update words after the form
])
def test_update_words_that_are_not_keywords_do_not_make_an_update(query):
    assert not inspect(query).is_update


@pytest.mark.parametrize("query, pragma", [
    ('DEFINE input:grab-all "yes" SELECT * { }', "DEFINE"),
    ('define sql:log-enable 3 SELECT * { }', "define"),                          # keywords are case-insensitive
    ('PREFIX ex: <http://e/> DeFiNe input:inference "x" ASK { }', "DeFiNe"),
    ("PREFIX define: <http://e/> SELECT * { ?s define:x ?o }", None),
    ("SELECT ?define { BIND('DEFINE' AS ?define) }", None),
])
def test_pragmas(query, pragma):
    assert inspect(query).pragma == pragma


# ------------------------------------------------------------------ limits: at the limit passes, one past it fails


def test_depth_limit_boundary_and_every_bracket_kind_counts():
    limits = Limits(max_depth=3)
    assert inspect("SELECT * { FILTER(([1])) }", Limits(max_depth=4)).depth == 4
    assert inspect("SELECT * { { { } } }", limits).depth == 3
    for deeper in ("SELECT * { { { { } } } }", "SELECT * { FILTER(((1))) }", "SELECT * { ?s ?p [ ?q [ ?r [ ] ] ] }"):
        with pytest.raises(QueryTooComplex, match="more than 3 deep"):
            inspect(deeper, limits)


def test_character_limit_boundary():
    query = "SELECT * { }"
    assert inspect(query, Limits(max_chars=len(query))).form == "SELECT"
    with pytest.raises(QueryTooComplex, match=f"{len(query) + 1} characters long; the limit is {len(query)}"):
        inspect(query + " ", Limits(max_chars=len(query)))


def test_token_limit_boundary_counts_neither_space_nor_comments():
    query = "SELECT * # a comment with many words in it\n {   }"
    info = inspect(query, Limits(max_tokens=4))
    assert info.tokens == 4
    with pytest.raises(QueryTooComplex, match="5 tokens; the limit is 4"):
        inspect(query + " ;", Limits(max_tokens=4))


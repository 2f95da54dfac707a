"""Content negotiation (store/formats.py): Accept with q-values and wildcards, ?format= overrides, 406."""

from __future__ import annotations

import pytest

from policygraph.store.formats import (
    FORMAT_PARAM,
    GRAPH_FORMATS,
    RDF_FORMATS,
    SOLUTION_FORMATS,
    NotAcceptable,
    negotiate,
    parse_accept,
)


def solutions(accept: str | None, *format_params: str) -> str:
    return negotiate(SOLUTION_FORMATS, accept, format_params).name


def graphs(accept: str | None, *format_params: str) -> str:
    return negotiate(GRAPH_FORMATS, accept, format_params).name


# ------------------------------------------------------------------ the Accept header


def test_parse_accept_orders_by_q_then_by_position():
    assert parse_accept("text/csv;q=0.5, application/json, text/tab-separated-values;q=0.5, */*;q=0.1") == [
        ("application/json", 1.0), ("text/csv", 0.5), ("text/tab-separated-values", 0.5), ("*/*", 0.1)]


@pytest.mark.parametrize("header, parsed", [
    (None, [("*/*", 1.0)]),
    ("", [("*/*", 1.0)]),
    ("   ", [("*/*", 1.0)]),
    ("Text/CSV", [("text/csv", 1.0)]),                              # media types are case-insensitive
    ("text/csv; charset=utf-8; Q=0.3", [("text/csv", 0.3)]),        # parameters other than q are ignored
    ("text/csv;q=7", [("text/csv", 1.0)]),                          # q is clamped to 0…1
    ("text/csv;q=-1", [("text/csv", 0.0)]),
    ("text/csv;q=high", [("text/csv", 0.0)]),                       # an unreadable q counts as "not acceptable"
    (",,text/csv,", [("text/csv", 1.0)]),                           # empty ranges are skipped
])
def test_parse_accept_edge_cases(header, parsed):
    assert parse_accept(header) == parsed


@pytest.mark.parametrize("accept, name", [
    (None, "json"),                                                  # no header: the first format offered
    ("*/*", "json"),
    ("application/sparql-results+json", "json"),
    ("application/json", "json"),                                    # alias
    ("application/sparql-results+xml", "xml"),
    ("text/xml", "xml"),
    ("text/csv", "csv"),
    ("text/tab-separated-values", "tsv"),
    ("text/*", "xml"),                                               # a type wildcard: the first text/ format
    ("application/*", "json"),
    ("text/csv;q=0.4, text/tab-separated-values;q=0.9", "tsv"),     # the higher q wins whatever the order
    ("text/html, text/csv;q=0.1", "csv"),                            # the first range nobody offers is passed over
    ("text/csv;q=0, */*;q=0.1", "json"),                             # q=0 refuses that type …
])
def test_solution_formats_by_accept(accept, name):
    assert solutions(accept) == name


@pytest.mark.parametrize("accept, name", [
    (None, "turtle"),
    ("text/turtle", "turtle"),
    ("text/n3", "turtle"),                                           # N3 requests get Turtle (a subset of N3)
    ("application/n-triples", "ntriples"),
    ("text/plain", "ntriples"),
    ("application/ld+json", "jsonld"),
    ("application/json", "jsonld"),
    ("application/rdf+xml", "rdfxml"),
    ("application/xml", "rdfxml"),
    ("text/html;q=0.9, application/rdf+xml;q=0.8, text/turtle;q=0.7", "rdfxml"),  # what browsers-as-crawlers send
])
def test_graph_formats_by_accept(accept, name):
    assert graphs(accept) == name


@pytest.mark.parametrize("accept", ["text/html", "image/png, text/html;q=0.9", "text/csv;q=0", "text/turtle"])
def test_nothing_acceptable_is_not_acceptable_and_lists_what_is(accept):
    with pytest.raises(NotAcceptable) as raised:
        solutions(accept)
    assert raised.value.offered == SOLUTION_FORMATS
    message = str(raised.value)
    assert accept in message
    assert all(f"{f.media_type} (format={f.name})" in message for f in SOLUTION_FORMATS)


def test_not_acceptable_is_a_value_error():
    """Callers that only know ValueError still see a client error, not a crash."""
    assert issubclass(NotAcceptable, ValueError)


# ------------------------------------------------------------------ ?format=


@pytest.mark.parametrize("param, name", [
    ("json", "json"), ("srj", "json"), ("XML", "xml"), ("srx", "xml"), ("csv", "csv"), ("tsv", "tsv"),
    ("text/csv", "csv"),                                             # a media type works too
    ("application/sparql-results+json", "json"),
])
def test_format_param_for_solutions(param, name):
    assert solutions("text/tab-separated-values", param) == name     # ?format= beats Accept


@pytest.mark.parametrize("param, name", [
    ("ttl", "turtle"), ("n3", "turtle"), ("nt", "ntriples"), ("n-triples", "ntriples"), ("json-ld", "jsonld"),
    ("jsonld", "jsonld"), ("rdf", "rdfxml"), ("rdf+xml", "rdfxml"), ("application/rdf+xml", "rdfxml"),
])
def test_format_param_for_graphs(param, name):
    assert graphs("text/turtle", param) == name


def test_the_first_usable_format_param_wins():
    assert solutions(None, "turtle", "csv", "json") == "csv"


@pytest.mark.parametrize("params", [("turtle",), ("html",), ("", "pdf")])
def test_unusable_format_params_are_not_acceptable_even_when_accept_would_do(params):
    with pytest.raises(NotAcceptable) as raised:
        solutions("*/*", *params)
    assert ", ".join(params) in str(raised.value)


def test_every_format_param_names_a_format_someone_offers():
    names = {f.name for f in (*SOLUTION_FORMATS, *GRAPH_FORMATS)}
    assert set(FORMAT_PARAM.values()) <= names
    assert set(RDF_FORMATS) == {f.name for f in GRAPH_FORMATS}
    for alias, name in FORMAT_PARAM.items():
        offered = SOLUTION_FORMATS if name in {f.name for f in SOLUTION_FORMATS} else GRAPH_FORMATS
        assert negotiate(offered, None, (alias,)).name == name

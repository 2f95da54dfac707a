"""Parameter binding of named queries (store/named_queries.py) as a unit: a .rq file in a temporary folder,
its values bound and run on an in-memory pyoxigraph Store. No service, no worker processes."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from policygraph.store.named_queries import NamedQuery, ParameterError, QueryFileError, load_queries

XSD = "http://www.w3.org/2001/XMLSchema#"

TYPED = """#+ summary: every parameter type
#+ defaults:
#+   - year: 2025
#+ enumerate:
#+   - stage: [draft, initial]
SELECT ?text ?n ?d ?flag ?day ?year ?label ?thing ?x ?stage WHERE {
  BIND (?_text AS ?text)
  BIND (?__n_integer AS ?n)
  BIND (?__d_decimal AS ?d)
  BIND (?__flag_boolean AS ?flag)
  BIND (?__day_date AS ?day)
  BIND (?__year_gyear AS ?year)
  BIND (?__label_ja AS ?label)
  BIND (?__thing_iri AS ?thing)
  BIND (?__x_xsd_double AS ?x)
  BIND (?__stage AS ?stage)
}
"""


def load(folder: Path, text: str, name: str = "q") -> NamedQuery:
    (folder / f"{name}.rq").write_text(text, encoding="utf-8")
    return load_queries(folder)[name]


def run(query: NamedQuery, store: ox.Store, **values: str) -> list[dict[str, ox.Literal | ox.NamedNode]]:
    """Bind ``values`` the way the service does and run the query; rows as {variable: term}."""
    solutions = store.query(query.bind(values))
    assert isinstance(solutions, ox.QuerySolutions)
    names = [v.value for v in solutions.variables]
    return [{n: row[n] for n in names if row[n] is not None} for row in solutions]


@pytest.fixture
def typed(tmp_path) -> NamedQuery:
    return load(tmp_path, TYPED)


@pytest.fixture(scope="module")
def store() -> ox.Store:
    s = ox.Store()
    s.add(ox.Quad(ox.NamedNode("https://example.org/a"), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                  ox.Literal("a")))
    return s


def literal(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(XSD + datatype))


# ------------------------------------------------------------------ what the file declares


def test_parameters_are_read_from_variable_names(typed):
    declared = {p.name: (p.variable, p.type, p.required) for p in typed.parameters}
    assert declared == {
        "text": ("_text", "string", True), "n": ("__n_integer", "integer", False),
        "d": ("__d_decimal", "decimal", False), "flag": ("__flag_boolean", "boolean", False),
        "day": ("__day_date", "date", False), "year": ("__year_gyear", "gYear", False),
        "label": ("__label_ja", "lang:ja", False), "thing": ("__thing_iri", "iri", False),
        "x": ("__x_xsd_double", "xsd:double", False), "stage": ("__stage", "string", False),
    }
    by_name = {p.name: p for p in typed.parameters}
    assert by_name["year"].default == "2025" and by_name["stage"].enum == ("draft", "initial")


# ------------------------------------------------------------------ typed terms


def test_each_value_is_bound_as_a_term_of_its_type(typed, store):
    [row] = run(typed, store, text="t", n="+007", d="1e2", flag="1", day="2025-04-01", label="令和7年度",
                thing="https://example.org/a?b=1#c", x="2.5", stage="draft")
    assert row == {
        "text": ox.Literal("t"),
        "n": literal("7", "integer"),                      # written in canonical form
        "d": literal("100", "decimal"),
        "flag": literal("true", "boolean"),
        "day": literal("2025-04-01", "date"),
        "year": literal("2025", "gYear"),                  # the default
        "label": ox.Literal("令和7年度", language="ja"),
        "thing": ox.NamedNode("https://example.org/a?b=1#c"),
        "x": literal("2.5", "double"),
        "stage": ox.Literal("draft"),
    }


def test_optional_parameters_without_a_value_stay_unbound(typed, store):
    assert run(typed, store, text="t") == [{"text": ox.Literal("t"), "year": literal("2025", "gYear")}]
    assert run(typed, store, text="t", n="") == [{"text": ox.Literal("t"), "year": literal("2025", "gYear")}]


def test_an_unbound_optional_parameter_can_be_tested_with_bound(tmp_path, store):
    q = load(tmp_path, "SELECT ?s WHERE { ?s ?p ?o FILTER (!BOUND(?__only_iri) || ?s = ?__only_iri) }")
    assert len(run(q, store)) == 1
    assert len(run(q, store, only="https://example.org/a")) == 1
    assert run(q, store, only="https://example.org/b") == []


HOSTILE = ['"', "'", "}", "?_text", "$x", '"} } ; DROP ALL #', "') } SERVICE <http://127.0.0.1:9/> { ?a ?b ?c } #",
           "\\\"", '"""', "'''", "line\nbreak\r\n", "# comment", "<https://example.org/a>", "日本語「引用」", "\u2028"]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_a_value_with_sparql_syntax_in_it_stays_one_literal(typed, store, value):
    rows = run(typed, store, text=value, label=value)
    assert rows == [{"text": ox.Literal(value), "label": ox.Literal(value, language="ja"),
                     "year": literal("2025", "gYear")}]


# ------------------------------------------------------------------ refusals name the parameter


@pytest.mark.parametrize("name, value, reason", [
    ("n", "1.5", "not a valid integer"),
    ("n", "١٢", "not a valid integer"),                   # Arabic-Indic digits: int() would take them
    ("n", "1; DROP ALL", "not a valid integer"),
    ("d", "NaN", "not a valid decimal"),
    ("d", "1,5", "not a valid decimal"),
    ("flag", "yes", "not a valid boolean"),
    ("day", "2025-02-30", "not a valid date"),
    ("day", "25-04-01", "not a valid date"),
    ("year", "２０２５", "not a valid gYear"),            # full-width digits
    ("thing", "no-scheme", "not a valid iri"),
    ("thing", "https://example.org/a b", "not a valid iri"),
    ("thing", "https://example.org/>", "not a valid iri"),
    ("stage", "settlement", "is not one of draft, initial"),
    ("text", "x" * 2001, "longer than 2000 characters"),
])
def test_values_that_fail_their_type_are_refused_naming_the_parameter(typed, name, value, reason):
    values = {"text": "t", name: value}
    with pytest.raises(ParameterError, match=reason) as raised:
        typed.bind(values)
    assert raised.value.name == name and str(raised.value).startswith(f"{name}: ")


def test_a_value_of_the_maximum_length_is_accepted(typed, store):
    assert run(typed, store, text="x" * 2000)[0]["text"] == ox.Literal("x" * 2000)


@pytest.mark.parametrize("missing", [{}, {"text": ""}])
def test_a_required_parameter_without_a_value_is_refused(typed, missing):
    with pytest.raises(ParameterError, match="text: required"):
        typed.bind(missing)


def test_an_enumerated_value_is_checked_before_its_type(tmp_path):
    q = load(tmp_path, "#+ enumerate:\n#+   - n: ['1', '2']\nSELECT * WHERE { BIND(?__n_integer AS ?n) }")
    with pytest.raises(ParameterError, match="'3' is not one of 1, 2"):
        q.bind({"n": "3"})


# ------------------------------------------------------------------ defaults are checked when the file is loaded


@pytest.mark.parametrize("header, reason", [
    ("#+ defaults:\n#+   - n: many", "default for n: 'many' is not a valid integer"),
    # a default outside its enum used to be swapped for enum[0] when checked, so the file loaded and every
    # request without the parameter was refused
    ("#+ defaults:\n#+   - stage: settlement\n#+ enumerate:\n#+   - stage: [draft]", "default for stage"),
    ("#+ defaults:\n#+   - nothing: 1", "defaults for parameters the query does not have: nothing"),
])
def test_a_bad_default_stops_the_file_from_loading(tmp_path, header, reason):
    with pytest.raises(QueryFileError, match=reason):
        load(tmp_path, header + "\nSELECT * WHERE { BIND(?__n_integer AS ?n) BIND(?__stage AS ?s) }")


def test_a_default_may_name_the_parameter_or_its_variable(tmp_path, store):
    q = load(tmp_path, "#+ defaults:\n#+   - __n_integer: 5\nSELECT ?n WHERE { BIND(?__n_integer AS ?n) }")
    assert run(q, store) == [{"n": literal("5", "integer")}]
    assert run(q, store, n="6") == [{"n": literal("6", "integer")}]

"""The request check (sparql/inspect.py) against the engine it protects.

Differential: thousands of generated queries hide SERVICE in every way we know (escapes in prefixed
names, the four string forms with escapes, \\u escapes, comments ending at CR, IRIs holding ' or #
read as less-than, keywords without a word boundary, …). Each is run *unchecked* on a real Oxigraph
store with a loopback listener as the SERVICE endpoint; every query that made Oxigraph connect must
be one the check refuses. Queries that only mention SERVICE in strings, IRIs, comments or names must
pass the check and run.
"""

from __future__ import annotations

import http.server
import itertools
import random
import threading

import pyoxigraph as ox
import pytest

from policygraph.store.query_check import Limits, QueryTooComplex, inspect, tokens


class Listener(http.server.ThreadingHTTPServer):
    """A SPARQL endpoint on 127.0.0.1 that records the path of every request and answers one empty row."""

    daemon_threads = True

    def __init__(self):
        self.paths: list[str] = []
        self.connections = 0
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                listener.paths.append(self.path)
                self.rfile.read(int(self.headers.get("content-length") or 0))
                body = b'{"head":{"vars":[]},"results":{"bindings":[{}]}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def get_request(self):
        self.connections += 1  # counted before any HTTP is read
        return super().get_request()


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def allowed(query: str) -> bool:
    """Would the service pass this query to the engine (no allow-list)?"""
    try:
        info = inspect(query)
    except QueryTooComplex:
        return False
    return info.form is not None and not info.is_update and not info.service_iris


# ---------------------------------------------------------------- the corpus

# (before, after): text around the SERVICE clause that a lexer might misread so as to hide it
HIDERS = [
    ("", ""),
    ("BIND(ex:a\\# AS ?h)", ""),                       # PN_LOCAL_ESC: not a comment
    ("BIND(ex:a\\' AS ?h)", "BIND('x' AS ?h2)"),         # PN_LOCAL_ESC: not a string
    ("BIND(ex:a\\%41 AS ?h)", ""),
    ("BIND(ex:a%41\\~ AS ?h)", ""),
    ("BIND('a\\'' AS ?h)", "BIND('b' AS ?h2)"),
    ('BIND("a\\"" AS ?h)', 'BIND("b" AS ?h2)'),
    ("BIND('\\\\' AS ?h)", "BIND('b' AS ?h2)"),
    ('BIND("\\\\\\"" AS ?h)', 'BIND("b" AS ?h2)'),
    ("BIND('''a'b''c''' AS ?h)", "BIND(''' ''' AS ?h2)"),
    ('BIND("""a"b""c""" AS ?h)', 'BIND(""" """ AS ?h2)'),
    ("BIND('''a\\'''' AS ?h)", "BIND(''' ''' AS ?h2)"),
    ("BIND('''\n''' AS ?h)", ""),
    ('BIND("\\u0022" AS ?h)', 'BIND("b" AS ?h2)'),
    ("BIND('\\u0027' AS ?h)", "BIND('b' AS ?h2)"),
    ("BIND('\\U00000027' AS ?h)", "BIND('b' AS ?h2)"),
    ("BIND('a\\u0027 AS ?h)", "# '"),
    ("# a comment that ends at CR\r", ""),
    ("# ends at CRLF\r\n", ""),
    ("# \u2028 is not a line end\n", ""),
    ("BIND(<http://e/a#'> AS ?h)", "BIND('b' AS ?h2)"),
    ("FILTER(1<2&&'>'!='x')", "FILTER(''='')"),         # < as less-than, not an IRI
    ("FILTER(1<2&&\"x\"!='>'||'x'='y')", "FILTER(''='')"),
    ("FILTER(1<2&&#>\n true)", "FILTER('''='''='''=''')"),
    ("FILTER(1<2&&#>'''\n true)", "FILTER('''='''='''=''')"),
    ("FILTER(?h<?h||true)", ""),
    ("BIND(1 AS ?h) FILTER(?h<?h||?h>?h||true)", ""),
    ("BIND(_:b AS ?h)", ""),
    ("VALUES ?h { 'a' \"b\" <http://e/#> 1.5e3 }", ""),
    ("BIND('x'@en-GB AS ?h)", ""),
    ("BIND('1'^^<http://www.w3.org/2001/XMLSchema#int> AS ?h)", ""),
]

# (prologue, SERVICE clause with {T} for the listener's URL of this query)
SPELLINGS = [
    ("", "SERVICE <{T}>"),
    ("", "service <{T}>"),
    ("", "SeRvIcE SILENT <{T}>"),
    ("", "SERVICE<{T}>"),
    ("", "SERVICE#c\n<{T}>"),
    ("", "SERVICE#c\r<{T}>"),
    ("", "SERVICE\t\r\n<{T}>"),
    ("", "SERVICE <{TU}>"),                              # \u escape inside the IRI
    ("PREFIX p: <{B}> ", "SERVICE p:{N}"),
    ("PREFIX : <{B}> ", "SERVICE:{N}"),                  # no space: a prefixed name to a lexer
    ("PREFIX p: <{B}> ", "SERVICEp:{N}"),                # a keyword with no word boundary
    ("PREFIX p: <{B}> ", "servicep:{N}"),
    ("BASE <{B}> ", "SERVICE <{N}>"),
    ("", "SERVICE ?endpoint"),
]

PLACES = [
    "SELECT * WHERE {{ {before} BIND(<{T}> AS ?endpoint) {service} {{ ?a ?b ?c }} {after} }}",
    "SELECT * WHERE {{ {before} BIND(<{T}> AS ?endpoint) OPTIONAL {{ {service} {{ ?a ?b ?c }} }} {after} }}",
    "SELECT * {{ {{ SELECT * WHERE {{ {before} BIND(<{T}> AS ?endpoint) {service} {{ ?a ?b ?c }} {after} }} }} }}",
    "ASK {{ {before} BIND(<{T}> AS ?endpoint) {{ {service} {{ ?a ?b ?c }} }} UNION {{ }} {after} }}",
    "SELECT * WHERE {{ {before} BIND(<{T}> AS ?endpoint) FILTER EXISTS {{ {service} {{ ?a ?b ?c }} }} {after} }}",
]


def corpus(base: str, n: int, seed: int = 11) -> list[str]:
    combos = list(itertools.product(HIDERS, SPELLINGS, PLACES))
    random.Random(seed).shuffle(combos)
    queries = []
    for i, ((before, after), (prologue, service), place) in enumerate(combos[:n]):
        name = f"q{i}"
        target = base + name
        target_u = base + "\\u0071" + name[1:]  # the same IRI with its "q" escaped
        fill = {"T": target, "TU": target_u, "B": base, "N": name}
        query = "PREFIX ex: <http://e/> " + prologue.format(**fill) + place.format(
            before=before, after=after, service=service.format(**fill), T=target)
        queries.append(query)
    return queries


def run_unchecked(query: str, store: ox.Store) -> None:
    try:
        res = store.query(query)
        if isinstance(res, ox.QuerySolutions):
            list(res)
    except (SyntaxError, OSError, ValueError, TypeError, RuntimeError):
        pass  # the engine refused or failed: what matters is whether it connected first


def test_no_generated_query_that_reaches_the_network_passes_the_check(listener):
    base = f"http://127.0.0.1:{listener.server_address[1]}/"
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://e/s"), ox.NamedNode("http://e/p"), ox.Literal("o")))
    queries = corpus(base, n=len(HIDERS) * len(SPELLINGS) * len(PLACES))
    assert len(queries) > 2000
    for q in queries:
        run_unchecked(q, store)
    called = {int(p.strip("/").removeprefix("q")) for p in listener.paths if p.strip("/").startswith("q")
              and p.strip("/")[1:].isdigit()}
    # the corpus is worth something: most of its queries really reach the listener when unchecked …
    assert len(called) > len(queries) // 2
    # … and none of those passes the check
    leaked = [queries[i] for i in sorted(called) if allowed(queries[i])]
    assert leaked == [], f"{len(leaked)} queries reach the network past the check, e.g. {leaked[:3]!r}"
    # every query of the corpus uses SERVICE in some reading: the check refuses them all
    assert not [q for q in queries if allowed(q)]


BENIGN = [
    "SELECT ?service WHERE { BIND('SERVICE <http://127.0.0.1:9/>' AS ?service) }",
    'SELECT ?x WHERE { BIND("SERVICE <http://127.0.0.1:9/> { }" AS ?x) }',
    "SELECT ?x WHERE { BIND('''\nSERVICE <http://127.0.0.1:9/> { ?a ?b ?c }\n''' AS ?x) }",
    'SELECT ?x WHERE { BIND("""SERVICE""" AS ?x) }',
    "SELECT ?x WHERE { BIND('it\\'s SERVICE' AS ?x) }",
    'SELECT ?x WHERE { BIND("say \\"SERVICE <x>\\"" AS ?x) }',
    "SELECT ?x WHERE { BIND(<http://e/SERVICE> AS ?x) }",
    "SELECT ?x WHERE { BIND(<http://schema.org/Service> AS ?x) }",
    "SELECT ?x WHERE { BIND(<http://e/a#Service> AS ?x) }",
    "SELECT ?x WHERE { BIND(1 AS ?x) } # SERVICE <http://127.0.0.1:9/> { ?a ?b ?c }",
    "SELECT ?x WHERE { # SERVICE <http://127.0.0.1:9/> {\n BIND(1 AS ?x) }",
    "SELECT $SERVICE WHERE { BIND(1 AS $SERVICE) }",
    "PREFIX ex: <http://e/> SELECT ?x WHERE { BIND(ex:SERVICE AS ?x) }",
    "PREFIX ex: <http://e/> SELECT ?x WHERE { BIND(ex:a\\#SERVICE AS ?x) }",
    "PREFIX ex: <http://e/> SELECT ?x WHERE { BIND(ex:a\\# AS ?x) } # SERVICE <http://127.0.0.1:9/> { }",
    "SELECT ?x WHERE { BIND('x'@en AS ?x) FILTER(?x != 'SERVICE') }",
    "SELECT ?x WHERE { BIND(STRLANG('SERVICE', 'en') AS ?x) }",
]


def test_queries_that_only_mention_service_pass_and_run(listener):
    before = listener.connections
    store = ox.Store()
    for q in BENIGN:
        assert allowed(q), q
        list(store.query(q))  # valid SPARQL: the engine runs it
    assert listener.connections == before


@pytest.mark.parametrize("query, form, update", [
    ("SELECT * {}", "SELECT", False), ("ask {}", "ASK", False), ("CONSTRUCT WHERE {}", "CONSTRUCT", False),
    ("DESCRIBE <http://e/>", "DESCRIBE", False), ("# SELECT\nINSERT DATA {}", None, True),
    ("PREFIX insert: <http://e/> SELECT * {}", "SELECT", False), ("'SELECT' DROP ALL", None, True),
])
def test_form_and_updates(query, form, update):
    info = inspect(query)
    assert (info.form, info.is_update) == (form, update)


def test_virtuoso_pragmas_are_reported():
    assert inspect('DEFINE input:grab-all "yes" SELECT * {}').pragma == "DEFINE"
    assert inspect("SELECT * { ?s <http://e/define> ?o }").pragma is None


@pytest.mark.parametrize("query, limit", [
    ("SELECT * WHERE " + "{" * 65 + "}" * 65, "nests brackets more than 64"),
    ("SELECT * WHERE { FILTER(" + "(" * 70 + "1" + ")" * 70 + ") }", "nests brackets more than 64"),
    ("SELECT * WHERE { BIND(" + "+".join(["1"] * 30_000) + " AS ?x) }", "tokens; the limit is 50,000"),
    ("SELECT * WHERE { BIND('" + "a" * 300_000 + "' AS ?x) }", "characters long; the limit is 262,144"),
])
def test_parser_crashing_input_is_refused_naming_the_limit(query, limit):
    with pytest.raises(QueryTooComplex, match=limit):
        inspect(query)


def test_limits_are_configurable():
    assert inspect("SELECT * WHERE {{{}}}", Limits(max_depth=3)).depth == 3
    with pytest.raises(QueryTooComplex):
        inspect("SELECT * WHERE {{{}}}", Limits(max_depth=2))


def test_tokens_follow_the_sparql_terminals():
    kinds = [(t.kind, t.value) for t in tokens("ex:a\\#b 'it\\'s' <a#b> ?v $w _:b1 @en-GB 1.5e3 ^^ #c\r x")]
    assert kinds == [("pname", "ex:a\\#b"), ("string", "'it\\'s'"), ("iri", "<a#b>"), ("var", "?v"), ("var", "$w"),
                     ("bnode", "_:b1"), ("langtag", "@en-GB"), ("number", "1.5e3"), ("punct", "^^"), ("word", "x")]

"""Look at a SPARQL request's text before any engine sees it.

The service must know three things before an engine parses a query: its form (to choose result
formats), whether it is an update (refused), and every SERVICE it could call (refused unless the
operator allowed that endpoint). It also refuses text that crashes or stalls a parser (too long,
nested too deep, too many tokens) with a message naming the limit.

The lexer (sparql_tokens.py) follows the SPARQL 1.1 terminals (§19.8) exactly, because a check
that ends a string, an IRI or a comment elsewhere than the engine does can be made to hide code from
itself. Where Oxigraph's PEG parser reads differently from longest-match tokens, the check takes
the reading that sees more:

- keywords need no word boundary there (``SERVICEex:y`` runs SERVICE on ``ex:y``), so every word
  or prefixed name that starts with SERVICE counts as one;
- ``<`` after an operand is less-than, so ``1<2&&'>'`` is two comparisons and a string to the
  engine but an IRI to a longest-match lexer; when an IRI holds ``'`` or ``#`` (the characters that
  can open a string or comment inside it), the text is also read with that ``<`` as an operator;
- the SPARQL spec unescapes \\u sequences before parsing (Jena does; Oxigraph does not): the text is
  checked both ways.

Tests check it differentially against Oxigraph on thousands of generated queries with a loopback
listener that must see no connection (tests/test_request_check.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policygraph.store.lookup_form import is_lookup
from policygraph.store.sparql_tokens import Token, iter_tokens, tokens

_OPEN, _CLOSE = "{([", "})]"
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")

QUERY_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}


@dataclass(frozen=True)
class Limits:
    """What the parser is given at most. Oxigraph 0.5.13's parser overflows an 8 MiB stack at about
    2,000 nested ``{``, 1,000 nested ``CONCAT(`` or 10,000 chained ``+`` (measured; workers run
    queries on a 256 MiB stack, so these limits leave a wide margin), and no policy query nests past
    a dozen levels."""
    max_chars: int = 256 * 1024
    max_depth: int = 64
    max_tokens: int = 50_000


class QueryTooComplex(ValueError):
    """The text passes a limit the engine is protected by; the message names the limit."""


@dataclass(frozen=True)
class Inspection:
    form: str | None              # SELECT, ASK, CONSTRUCT, DESCRIBE, or None
    is_update: bool
    service_iris: tuple[str, ...]  # endpoints named by SERVICE as absolute IRIs; "" for any other target
    pragma: str | None = None      # a non-standard pragma (Virtuoso's DEFINE) that may fetch from the web
    depth: int = 0
    tokens: int = 0
    lookup: bool = False           # a single-resource lookup (store/lookup_form.py), answered in process
    dataset: bool = False          # FROM or FROM NAMED: the query names its own graphs


def _unescape_codepoints(text: str) -> str:
    def char(m: re.Match) -> str:
        cp = int(m.group(1) or m.group(2), 16)
        return chr(cp) if cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF else m.group()
    return _CODEPOINT.sub(char, text)


def _iri_value(token: str) -> str:
    return _unescape_codepoints(token[1:-1])


def _service_targets(text: str) -> list[str]:
    """SERVICE targets in every reading of ``text`` (see the module's docstring): "" for a target
    that is not one absolute IRI."""
    found: list[str] = []
    todo, seen, branched = [(0, 0)], set(), set()
    while todo:
        start, count_from = todo.pop()  # a reading from ``start``; it differs from others from ``count_from``
        for t in iter_tokens(text, start):
            if t.start >= count_from:
                if t.start in seen:
                    break  # another reading already went on from here
                seen.add(t.start)
            if t.kind == "iri" and ("'" in t.value or "#" in t.value) and t.start not in branched:
                branched.add(t.start)
                todo.append((t.start + 1, t.end))  # the same text with this "<" as less-than
            if t.start >= count_from and t.kind in ("word", "pname") and t.value.upper().startswith("SERVICE"):
                found.append(_target(text, t))
    return found


def _target(text: str, service: Token) -> str:
    """The IRI after SERVICE [SILENT], or "" if the engine could read anything else there."""
    if service.value.upper() != "SERVICE":
        return ""
    after = iter_tokens(text, service.end)
    t = next(after, None)
    if t is not None and t.value.upper() == "SILENT":
        t = next(after, None)
    return _iri_value(t.value) if t is not None and t.kind == "iri" else ""


def inspect(text: str, limits: Limits = Limits()) -> Inspection:
    """What the service must know of a query before an engine sees it.

    Raises QueryTooComplex if the text passes one of ``limits``."""
    if len(text) > limits.max_chars:
        raise QueryTooComplex(f"the query is {len(text):,} characters long; the limit is {limits.max_chars:,}")
    toks = tokens(text)
    if len(toks) > limits.max_tokens:
        raise QueryTooComplex(f"the query has {len(toks):,} tokens; the limit is {limits.max_tokens:,}")
    form, update, pragma, depth, deepest, dataset = None, False, None, 0, 0, False
    for t in toks:
        if t.kind == "punct" and t.value in _OPEN:
            depth += 1
            if depth > limits.max_depth:
                raise QueryTooComplex(f"the query nests brackets more than {limits.max_depth} deep "
                                      f"(at character {t.start})")
            deepest = max(deepest, depth)
        elif t.kind == "punct" and t.value in _CLOSE:
            depth -= 1
        elif t.kind == "word":
            word = t.value.upper()
            if form is None and word in QUERY_FORMS:
                form = word
            elif form is None and word in UPDATE_WORDS:
                update = True
            elif word == "DEFINE":
                pragma = pragma or t.value
            elif word == "FROM":  # a keyword only in dataset clauses
                dataset = True
    # every reading is made of the text's own characters: no "service" in it, no SERVICE in any reading
    services = _service_targets(text) if "service" in text.lower() else []
    unescaped = _unescape_codepoints(text)
    if unescaped != text and "service" in unescaped.lower():
        services += _service_targets(unescaped)
    return Inspection(form, update, tuple(dict.fromkeys(services)), pragma, deepest, len(toks),
                      not services and is_lookup(toks), dataset)


READ_ONLY = "this endpoint is read-only"


class Refused(ValueError):
    """A query the service never runs, with the HTTP status and error name it answers with."""

    def __init__(self, status: int, error: str, detail: str):
        super().__init__(f"{error}: {detail}")
        self.status, self.error, self.detail = status, error, detail


def check(query: str, limits: Limits, service_allow: tuple[str, ...] = ()) -> Inspection:
    """Refuse, before any engine sees it, what is never run: text that could crash or stall a parser,
    updates, pragmas that fetch from the web, and SERVICE to an endpoint not allowed (Refused)."""
    try:
        info = inspect(query, limits)
    except QueryTooComplex as e:
        raise Refused(400, "query too complex", str(e)) from None
    if info.is_update:
        raise Refused(403, "updates are not allowed", f"{READ_ONLY}; SPARQL Update is refused")
    if info.form is None:
        raise Refused(400, "bad query", "no SELECT, ASK, CONSTRUCT or DESCRIBE found")
    if info.pragma:
        raise Refused(403, "pragma not allowed", f"{info.pragma}: engine pragmas are not SPARQL 1.1 and are refused")
    for target in info.service_iris:
        if not target.startswith(("http://", "https://")) or not allowed_service(target, service_allow):
            raise Refused(403, "SERVICE not allowed",
                          f"SERVICE {target or '(not a literal IRI)'} is not on this server's allow-list"
                          + ("" if service_allow else " (federated queries are disabled)")
                          + ("" if target else "; write the endpoint as a full <IRI> after the keyword SERVICE"))
    return info


def allowed_service(target: str, prefixes: tuple[str, ...]) -> bool:
    """Whether SERVICE may call ``target``: an allow-list entry matches whole path segments only, so
    ``http://a.example`` allows ``http://a.example/sparql`` but not ``http://a.example.evil.net/`` or
    ``http://a.example@evil.net/``."""
    return any(target == p or (target.startswith(p) and (p.endswith("/") or target[len(p)] in "/?#"))
               for p in prefixes)

"""Which queries are single-resource lookups: a small grammar over the request check's tokens.

Only a query whose every token fits this grammar is a lookup (store/lookups.py answers those in the
service's process; anything else goes to the worker pool):

    prologue  (PREFIX pname: <iri> | BASE <iri>)*
    ASK [WHERE] { }            ASK [WHERE] { S P O [.] }
    SELECT (* | ?var+) [WHERE] { S P O [.] }
    DESCRIBE S

with S an IRI (``<…>`` or a prefixed name), P an IRI, ``a`` or a variable, and O an IRI, a variable or
a literal. The subject is always given, so Oxigraph answers from an index prefix (SPO, or OSP when
the object is given too) in time proportional to the rows it returns. Left out on purpose: DISTINCT
(it reads every row to return a few), OFFSET (it skips unboundedly many), LIMIT (without ORDER BY
the on-disk copy and the in-memory store may return different rows), FILTER and every other
expression (so ``<`` is always an IRI's start, read alike by the lexer and the engine), FROM, SERVICE,
and escapes outside strings and IRIs (a ``\\`` there is a token of its own, which fits nothing).
"""

from __future__ import annotations

from policygraph.store.sparql_tokens import Token

MAX_TOKENS = 200  # a lookup is short


class _NotLookup(Exception):
    pass


class _Reader:
    def __init__(self, toks: list[Token]):
        self.toks, self.i = toks, 0

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, *kinds: str) -> Token:
        t = self.peek()
        if t is None or t.kind not in kinds:
            raise _NotLookup
        self.i += 1
        return t

    def keyword(self, *words: str) -> str | None:
        """The next token if it is one of ``words`` (any case), taken; else None."""
        t = self.peek()
        if t is not None and t.kind == "word" and t.value.upper() in words:
            self.i += 1
            return t.value.upper()
        return None

    def punct(self, value: str, optional: bool = False) -> bool:
        t = self.peek()
        if t is not None and t.kind == "punct" and t.value == value:
            self.i += 1
            return True
        if optional:
            return False
        raise _NotLookup

    def iri(self) -> None:
        self.take("iri", "pname")

    def triple(self) -> None:
        self.iri()
        t = self.peek()
        if t is not None and t.kind == "word" and t.value == "a":  # 'a' is case-sensitive
            self.i += 1
        else:
            self.take("iri", "pname", "var")
        t = self.take("iri", "pname", "var", "string", "number", "word")
        if t.kind == "word" and t.value not in ("true", "false"):
            raise _NotLookup
        if t.kind == "string":
            if self.punct("^^", optional=True):
                self.iri()
            elif (tag := self.peek()) is not None and tag.kind == "langtag":
                self.i += 1
        self.punct(".", optional=True)


def is_lookup(toks: list[Token]) -> bool:
    """Whether the significant tokens ``toks`` of a query form a lookup (this module's grammar)."""
    if len(toks) > MAX_TOKENS:
        return False
    r = _Reader(toks)
    try:
        while (word := r.keyword("PREFIX", "BASE")) is not None:
            if word == "PREFIX" and not r.take("pname").value.endswith(":"):
                return False
            r.take("iri")
        form = r.keyword("ASK", "SELECT", "DESCRIBE")
        if form == "DESCRIBE":
            r.iri()
            return r.peek() is None
        if form == "SELECT" and not r.punct("*", optional=True):
            r.take("var")
            while (t := r.peek()) is not None and t.kind == "var":
                r.i += 1
        elif form is None:
            return False
        r.keyword("WHERE")
        r.punct("{")
        if not (form == "ASK" and r.punct("}", optional=True)):
            r.triple()
            r.punct("}")
        return r.peek() is None
    except _NotLookup:
        return False

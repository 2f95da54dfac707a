"""Look at a SPARQL request's text before any engine sees it.

A small lexer drops comments, strings and IRIs, then finds what the service must know
first: the query form (to choose result formats), whether it is an update (refused) and
whether it uses SERVICE (refused unless allowed). It does not validate the query: the
engine's parser does that and its message goes back to the client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\s]*>)
  | (?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)
  | (?P<pname>[A-Za-z][\w.-]*:[\w.:%-]*|:[\w.:%-]*)
  | (?P<word>[A-Za-z_]+)
  | (?P<other>\S)
    """,
    re.VERBOSE,
)

QUERY_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}


@dataclass(frozen=True)
class Inspection:
    form: str | None             # SELECT, ASK, CONSTRUCT, DESCRIBE, or None
    is_update: bool
    service_iris: tuple[str, ...]  # the endpoints named by SERVICE (a variable endpoint gives "?var")


def keywords(text: str) -> list[tuple[str, str]]:
    """(kind, value) tokens with comments and string contents removed."""
    return [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text) if m.lastgroup != "comment"]


def inspect(text: str) -> Inspection:
    tokens = keywords(text)
    form, update, services = None, False, []
    for i, (kind, value) in enumerate(tokens):
        if kind != "word":
            continue
        word = value.upper()
        if form is None and word in QUERY_FORMS:
            form = word
        elif form is None and word in UPDATE_WORDS:
            update = True
        if word == "SERVICE":
            j = i + 1
            if j < len(tokens) and tokens[j][1].upper() == "SILENT":
                j += 1
            if j < len(tokens):
                nxt = tokens[j][1]
                services.append(nxt[1:-1] if nxt.startswith("<") else nxt)
            else:
                services.append("")
    return Inspection(form, update, tuple(services))

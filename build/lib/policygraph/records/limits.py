"""Limits that make hostile input files fail cleanly, before a parser sees them (issue 11).

pyoxigraph's parsers recurse on nesting, so a deep file overflows the stack and kills the
process (SIGSEGV: no exception, no message), and its RDF/XML parser expands DTD entities
without bound, so a 1 KB "billion laughs" file takes gigabytes. PyYAML's composer recurses
too, and its aliases, harmless as shared objects, multiply when pydantic validates them as a
tree. Every user file is therefore scanned here first, streaming in bounded memory (strings,
IRIs and comments are skipped whole, so brackets inside them do not count); a file over a
limit raises InputFileError naming the file, the line and the limit.

Measured with pyoxigraph 0.5.13, expat 2.5, PyYAML 6.0 (8 MiB main-thread stack; each case in
a subprocess under RLIMIT_AS 2 GiB; "levels" = nesting inside one statement):
- JSON-LD: nested objects crash at 3,000 levels (SIGSEGV/SIGABRT), nested @list at 3,500, nested
  arrays stop with a clean error at 65,536. Time is quadratic in depth: 7 MB/s at 8 levels,
  0.5 MB/s at 256, 0.1 MB/s at 1,000. A @context whose terms each depend on the next
  ("t2": "t1:x", "t1": "t0:x" …) crashes at 8,000 terms in one context object (term order is
  random: 10,000 sometimes passed); the same chain over an array of one-term contexts does not
  (30,000 passed), nor do 40 nested scoped contexts of 900 chained terms each.
- Turtle, TriG, N3, and N-Triples/N-Quads (RDF 1.2 triple terms nest there too): nested
  triple terms <<( … )>> crash at 15,000-20,000 levels. Nested [ ], ( ), { }, {| |} and << >>
  do not crash below 5 M levels but hold 30-90 times the file's size in memory (4 MB of nested
  lists: 360 MB; 83 MB of nested blank nodes: 2.6 GB, over the cap).
- RDF/XML: no crash at 50,000 nested elements, but quadratic time (20,000: 2.5 s; 50,000: 23 s).
  Internal entities are expanded when declared, in declaration order, without limit: a 737-byte
  file of 10 entities of 10 references each aborts at the 2 GiB cap even if no entity is used
  (without a cap it took 11.6 GiB). Only UTF-8 and only internal "double-quoted" entities are read.
- PyYAML (pure-Python loader, recursion limit 1000): RecursionError (a traceback) between 400
  and 500 nested collections. A 2.6 KB sheet whose sub-projects, initiatives and outputs are
  200 aliases each: MemoryError (3 GiB cap) in pydantic after 20 s.
The limits sit far below those and far above real data: data/ nests at most 10 levels, real
JSON-LD ~20, and an OWL file declares a dozen short namespace entities (still accepted).
"""

from __future__ import annotations

import json
import pyexpat
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox
import yaml

MAX_NESTING = 256            # JSON [ {; Turtle [ ( { << (so a triple term <<( … )>> counts 2)
MAX_XML_DEPTH = 512          # RDF/XML elements: each node level is two (property, node)
MAX_CONTEXT_TERMS = 1_000    # terms in one JSON-LD @context object (their chains recurse)
MAX_ENTITY_BYTES = 64 << 10  # one XML entity, expanded (a namespace IRI is ~50 bytes)
ENTITY_BUDGET = 16 << 20     # all XML entity expansion in a file: this much, or the file's size if larger
MAX_YAML_DEPTH = 100         # nested YAML collections
MAX_YAML_NODES = 200_000     # YAML nodes once aliases are expanded (the largest data/ file has 1,374)
MAX_YAML_CHARS = 4 << 20     # a YAML file: its nodes and objects took 220 times its size (largest data/ file: 74 KB)
CHUNK = 1 << 20


class InputFileError(ValueError):
    """An input file over a limit (or unreadable): the message names the file and the limit."""


def check_rdf_file(path: Path, fmt: ox.RdfFormat | None = None) -> None:
    """Raise InputFileError if the RDF file (syntax ``fmt``, else from its extension) nests too
    deep or, for RDF/XML, declares entities that expand too far. Unknown syntaxes pass: the
    caller reports them."""
    path = Path(path)
    if fmt is None:
        ext = path.suffix.lower().lstrip(".")
        fmt = ox.RdfFormat.RDF_XML if ext == "owl" else ox.RdfFormat.from_extension(ext)
    try:
        with open(path, "rb") as fh:
            if fmt in (ox.RdfFormat.JSON_LD, ox.RdfFormat.STREAMING_JSON_LD):
                _drive(fh, _JsonScan(path).scan)
            elif fmt == ox.RdfFormat.RDF_XML:
                _check_xml(path, fh, path.stat().st_size)
            elif fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.N3):
                _drive(fh, _TurtleScan(path, fmt.name).scan)
            elif fmt in (ox.RdfFormat.N_TRIPLES, ox.RdfFormat.N_QUADS):
                _check_lines(path, fh, fmt.name)
    except OSError as e:
        raise InputFileError(f"{path}: cannot read: {e.strerror or e}") from e


def _too_deep(path: Path, line: int, what: str, limit: int) -> InputFileError:
    return InputFileError(f"{path}:{line}: {what} nested more than {limit} levels deep: refused "
                          f"(deeper nesting can crash or stall the parser; limit in policygraph/input_limits.py)")


# ------------------------------------------------------------------ bracket nesting, streaming


def _drive(fh: BinaryIO, scan: Callable[[bytes, bool], int]) -> None:
    """Feed a file to ``scan(buffer, final)`` chunk by chunk; scan returns where a token cut by the
    chunk's end begins, and that tail starts the next buffer (which grows, so a long string is
    re-read only a few times)."""
    carry = b""
    while True:
        chunk = fh.read(max(CHUNK, 2 * len(carry)))
        final = not chunk
        buf = carry + chunk
        carry = buf[scan(buf, final):]
        if final:
            return


# Turtle, TriG, N3, N-Triples, N-Quads. Skipped whole: plain text, IRIs, the four kinds of string
# ("" at a chunk's end may begin """), comments, and \-escapes in prefixed names (e:a\(b). pyoxigraph's
# IRI characters are a subset of those allowed here, and it stops at a file's first syntax error, so
# on the part it parses the two read the same tokens (checked on random documents cut in random places).
_TTL_SKIP = rb"""(?:
    [^][(){}<>"'\#\\]++
  | <[^<>"{}|^`\\\x00-\x20]*+>
  | "(?:[^"\\\r\n]|\\[\s\S])++" | ""(?=[^"])
  | '(?:[^'\\\r\n]|\\[\s\S])++' | ''(?=[^'])
  | \"\"\"(?:[^"\\]|\\[\s\S]|"(?!""))*+\"\"\"
  | '''(?:[^'\\]|\\[\s\S]|'(?!''))*+'''
  | \#[^\r\n]*+[\r\n]
  | \\[\s\S]
)*+"""
_TTL_STEP = re.compile(_TTL_SKIP + rb"(?:(?P<open>[\[({]|<<)|(?P<close>[\])}]|>>))?", re.VERBOSE)
_TTL_PARTIAL = re.compile(rb"""(?:
    <[^<>"{}|^`\\\x00-\x20]*+
  | "(?:[^"\\\r\n]|\\[\s\S])*+\\? | "" | '(?:[^'\\\r\n]|\\[\s\S])*+\\? | ''
  | \"\"\"(?:[^"\\]|\\[\s\S]|"(?!""))*+\\?
  | '''(?:[^'\\]|\\[\s\S]|'(?!''))*+\\?
  | \#[^\r\n]*+ | \\ | >
)\Z""", re.VERBOSE)


def _always(pattern: re.Pattern[bytes], buf: bytes, pos: int) -> re.Match[bytes]:
    """The match of a scanning pattern, each of whose parts is optional: it always matches, if only ''."""
    m = pattern.match(buf, pos)
    assert m is not None
    return m


class _TurtleScan:
    def __init__(self, path: Path, syntax: str):
        self.path, self.syntax, self.depth, self.lines = path, syntax, 0, 0

    def scan(self, buf: bytes, final: bool) -> int:
        if final:
            buf += b"\n"  # ends a comment on the last line
        pos = 0
        while True:
            m = _always(_TTL_STEP, buf, pos)
            pos = m.end()
            if m.lastgroup == "open":
                self.depth += 1
                if self.depth > MAX_NESTING:
                    raise _too_deep(self.path, self.lines + buf.count(b"\n", 0, pos) + 1, self.syntax, MAX_NESTING)
            elif m.lastgroup == "close":
                self.depth = max(self.depth - 1, 0)
            elif pos >= len(buf):
                break
            elif not final and _TTL_PARTIAL.match(buf, pos):
                break  # a token cut by the chunk's end: read on
            else:
                pos += 1  # not Turtle: the parser stops here with a syntax error
        self.lines += buf.count(b"\n", 0, pos)
        return pos


def _check_lines(path: Path, fh: BinaryIO, syntax: str) -> None:
    """N-Triples / N-Quads: one statement a line, so only a line with a triple term (<<) can nest.
    Whole lines are read; chunks without << are skipped at memory speed."""
    scan = _TurtleScan(path, syntax)
    while chunk := fh.read(CHUNK) + fh.readline():
        lines = scan.lines + chunk.count(b"\n")
        if b"<<" in chunk:
            scan.depth = 0
            scan.scan(chunk, True)
        scan.lines = lines


# JSON / JSON-LD. Strings are skipped whole, but for a string that may be "@context" (it starts
# with @c, or with an escape): that key's object, or the objects in its array, are contexts, whose
# terms are counted as their ':' (every other ':' is inside a string or a deeper level).
_JSON_FAST = rb'''[^][{}"]++|"(?!@c|@\\|\\)(?:[^"\\]|\\[\s\S])*+"'''
_JSON_GROUPS = rb'''(?:(?P<open>[\[{])|(?P<close>[\]}])|(?P<str>"(?:[^"\\]|\\[\s\S])*+")'''
_JSON_STEP = re.compile(rb"(?:" + _JSON_FAST + rb")*+" + _JSON_GROUPS + rb")?")
_JSON_STEP_CTX = re.compile(rb"(?:" + _JSON_FAST.replace(b'[^][{}"]', b'[^][{}":]') + rb")*+"
                            + _JSON_GROUPS + rb"|(?P<colon>:))?")
_JSON_PARTIAL = re.compile(rb'"(?:[^"\\]|\\[\s\S])*+\\?\Z')
_AFTER_KEY = re.compile(rb"[ \t\r\n]*+(?::[ \t\r\n]*+(?P<bracket>[\[{])?)?")
_PLAIN, _CONTEXT, _CONTEXTS = 0, 1, 2


class _JsonScan:
    def __init__(self, path: Path):
        self.path, self.lines = path, 0
        self.kinds: list[int] = []   # per open bracket: _PLAIN, _CONTEXT object, _CONTEXTS array
        self.terms: list[int] = []   # per open bracket: terms seen (contexts only)

    def _line(self, buf: bytes, pos: int) -> int:
        return self.lines + buf.count(b"\n", 0, pos) + 1

    def _open(self, buf: bytes, pos: int, kind: int) -> None:
        self.kinds.append(kind)
        self.terms.append(0)
        if len(self.kinds) > MAX_NESTING:
            raise _too_deep(self.path, self._line(buf, pos), "JSON", MAX_NESTING)

    def scan(self, buf: bytes, final: bool) -> int:
        pos = 0
        while True:
            in_context = bool(self.kinds) and self.kinds[-1] == _CONTEXT
            m = _always(_JSON_STEP_CTX if in_context else _JSON_STEP, buf, pos)
            pos = m.end()
            group = m.lastgroup
            if group == "open":
                parent = self.kinds[-1] if self.kinds else _PLAIN
                self._open(buf, pos, _CONTEXT if parent == _CONTEXTS and buf[pos - 1] == ord("{") else _PLAIN)
            elif group == "close":
                if self.kinds:
                    self.kinds.pop()
                    self.terms.pop()
            elif group == "colon":
                self.terms[-1] += 1
                if self.terms[-1] > MAX_CONTEXT_TERMS:
                    raise InputFileError(f"{self.path}:{self._line(buf, pos)}: a JSON-LD @context with more than "
                                         f"{MAX_CONTEXT_TERMS:,} terms: refused (term definitions that depend on "
                                         f"each other can crash the parser; limit in policygraph/input_limits.py)")
            elif group == "str":
                if len(m.group("str")) <= 64 and _decode(m.group("str")) == "@context":
                    after = _always(_AFTER_KEY, buf, pos)
                    if after.end() == len(buf) and not final:
                        pos = m.start("str")  # the key's value is in the next chunk
                        break
                    if after.group("bracket"):
                        pos = after.end()
                        self._open(buf, pos, _CONTEXT if after.group("bracket") == b"{" else _CONTEXTS)
            elif pos >= len(buf) or (not final and _JSON_PARTIAL.match(buf, pos)):
                break
            else:
                pos += 1
        self.lines += buf.count(b"\n", 0, pos)
        return pos


def _decode(token: bytes) -> str | None:
    try:
        return json.loads(token)
    except ValueError:
        return None


# ------------------------------------------------------------------ RDF/XML: expat, with entity accounting


_REF = re.compile(rb"&([^\s&;<>\"'#%]+);")     # a general entity reference (not &#…; nor %…;)
_REF_TEXT = re.compile(r"&([^\s&;<>\"'#%]+);")


def _entity_sizes(path: Path, values: dict[str, str | None], cap: int) -> dict[str, int]:
    """Each internal entity's expanded size in bytes (saturating at ``cap``), without expanding."""
    refs = {n: _REF_TEXT.findall(v or "") for n, v in values.items()}
    sizes: dict[str, int] = {}
    for root in values:
        stack, on_path = [(root, iter(refs[root]))], {root}
        while stack:
            name, it = stack[-1]
            for r in it:
                if r in values and r not in sizes:
                    if r in on_path:
                        raise InputFileError(f"{path}: XML entity {r!r} refers to itself")
                    stack.append((r, iter(refs[r])))
                    on_path.add(r)
                    break
            else:
                own = len((values[name] or "").encode()) - sum(len(r.encode()) + 2 for r in refs[name])
                sizes[name] = min(cap, own + sum(sizes.get(r, 0) for r in refs[name]))
                stack.pop()
                on_path.discard(name)
    return sizes


def _check_xml(path: Path, fh: BinaryIO, size: int) -> None:
    """Well-formed XML (expat, as UTF-8: all pyoxigraph reads), at most MAX_XML_DEPTH elements deep,
    and entity expansion within the budget: each declared entity is counted once expanded (pyoxigraph
    expands each when declared) and once per reference after the DTD, counted in the raw bytes before
    expat reads them (a reference cut by a chunk's end is carried into the next)."""
    check = _XmlCheck(path, size)
    try:
        check.read(fh)
    except pyexpat.ExpatError as e:
        if pyexpat.errors.messages[e.code].startswith("limit on input amplification"):
            raise check.too_far("too far for expat's own limit") from None
        raise InputFileError(f"{path}:{e.lineno}: not valid RDF/XML: not well-formed XML "
                             f"(column {e.offset + 1}: {pyexpat.errors.messages[e.code]})") from None


class _XmlCheck:
    """expat's handlers for _check_xml: element depth, the entities declared, the bytes they expand to."""

    def __init__(self, path: Path, size: int):
        self.path = path
        self.parser = pyexpat.ParserCreate(encoding="utf-8")
        self.budget = max(ENTITY_BUDGET, size)
        self.depth, self.spent, self.body = 0, 0, -1  # body: byte offset where the DTD ended (-1: not yet)
        self.values: dict[str, str | None] = {}
        self.sizes: dict[bytes, int] = {}
        p = self.parser
        p.StartElementHandler, p.EndElementHandler = self._start, self._end
        p.EntityDeclHandler, p.EndDoctypeDeclHandler = self._entity, self._end_doctype

    def read(self, fh: BinaryIO) -> None:
        offset, tail = 0, b""
        while chunk := fh.read(CHUNK):
            in_body = self.body >= 0
            if in_body:  # count before expat expands them
                tail = self._count(tail + chunk)
            self.parser.Parse(chunk, False)
            if not in_body and self.body >= 0:  # the DTD ended in this chunk: count the rest of it
                tail = self._count(chunk[max(0, self.body - offset):])
            offset += len(chunk)
        self.parser.Parse(b"", True)

    def too_far(self, what: str) -> InputFileError:
        return InputFileError(f"{self.path}: XML entities expand {what}: refused (a 'billion laughs' file? "
                              f"limit in policygraph/input_limits.py)")

    def _start(self, name: str, attrs: object) -> None:
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            raise _too_deep(self.path, self.parser.CurrentLineNumber, "XML elements", MAX_XML_DEPTH)

    def _end(self, name: str) -> None:
        self.depth -= 1

    def _entity(self, name: str, is_parameter: bool, value: str | None, *_: object) -> None:
        if not is_parameter:
            self.values[name] = value  # None: an external entity, which pyoxigraph refuses

    def _end_doctype(self) -> None:
        for name, n in _entity_sizes(self.path, self.values, self.budget + 1).items():
            if n > MAX_ENTITY_BYTES:
                raise self.too_far(f"to more than {MAX_ENTITY_BYTES:,} bytes in entity {name!r}")
            self.sizes[name.encode()] = n
        self._spend(sum(self.sizes.values()))
        self.body = self.parser.CurrentByteIndex

    def _spend(self, n: int) -> None:
        self.spent += n
        if self.spent > self.budget:
            raise self.too_far(f"to more than {self.budget:,} bytes in all")

    def _count(self, data: bytes) -> bytes:
        """Spend the references in ``data`` but for one cut at its end, which is returned. (A name
        over 1 KB cut by a chunk's end goes uncounted: at most 64 KiB per 1 MiB chunk.)"""
        amp = data.rfind(b"&")
        cut = amp if amp >= 0 and data.find(b";", amp) < 0 and len(data) - amp < 1024 else len(data)
        if self.sizes:
            found = Counter(_REF.findall(data, 0, cut))
            self._spend(sum(self.sizes.get(name, 0) * n for name, n in found.items()))
        return data[cut:]


# ------------------------------------------------------------------ YAML


def check_yaml_text(path: Path, text: str, loader: type = yaml.SafeLoader) -> None:
    """Raise InputFileError if a YAML text is too long, nests too deep (PyYAML's composer recurses),
    or has aliases that expand to too many nodes or into themselves (pydantic walks them as a tree).
    Reads only PyYAML's events, which need no recursion and expand nothing; YAML syntax errors are
    raised as yaml.YAMLError, as the loader would."""
    if len(text) > MAX_YAML_CHARS:
        raise InputFileError(f"{path}: a YAML file longer than {MAX_YAML_CHARS:,} characters: refused")
    stack: list[list] = []          # per open collection: [anchor, nodes so far]
    sizes: dict[str, int] = {}      # anchor → nodes it stands for
    for ev in yaml.parse(text, Loader=loader):
        line = ev.start_mark.line + 1 if ev.start_mark else 0
        if isinstance(ev, yaml.CollectionStartEvent):
            if len(stack) >= MAX_YAML_DEPTH:
                raise _too_deep(path, line, "YAML", MAX_YAML_DEPTH)
            stack.append([ev.anchor, 1])
            continue
        if isinstance(ev, yaml.AliasEvent) and any(frame[0] == ev.anchor for frame in stack):
            raise InputFileError(f"{path}:{line}: YAML alias *{ev.anchor} is inside its own anchor: refused")
        n = _yaml_nodes(ev, stack, sizes)
        if n is None:
            continue
        if stack:
            stack[-1][1] += n
            if stack[-1][1] > MAX_YAML_NODES:
                raise InputFileError(f"{path}:{line}: YAML aliases expand to more than {MAX_YAML_NODES:,} nodes: "
                                     f"refused (a 'billion laughs' file? limit in policygraph/input_limits.py)")


def _yaml_nodes(ev: yaml.Event, stack: list[list], sizes: dict[str, int]) -> int | None:
    """The nodes an event adds to its collection (None: not a node); a closed collection's or a
    scalar's anchor is recorded with its size."""
    if isinstance(ev, yaml.CollectionEndEvent):
        anchor, n = stack.pop()
        if anchor:
            sizes[anchor] = n
        return int(n)
    if isinstance(ev, yaml.ScalarEvent):
        if ev.anchor:
            sizes[ev.anchor] = 1
        return 1
    if isinstance(ev, yaml.AliasEvent):
        return sizes.get(ev.anchor or "", 1)
    return None

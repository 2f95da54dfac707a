"""The ontology's class diagram, laid out in Python for a server-rendered SVG (templates/diagram.svg).

Classes are boxes, rdfs:subClassOf statements are arrows to the superclass and object properties are
labelled arrows from their domain to their range. The layout is layered: a class sits below its
superclasses and below the domains of the properties that point to it (edges that would close a cycle
do not count), each layer is ordered by its neighbours' places above (barycentres, to cross fewer
arrows) and wrapped into rows of at most ROW nodes so the drawing keeps a page's proportions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

ROW = 6             # boxes in one row at most
GAP_X, GAP_Y = 56, 92
BOX_H, PAD = 40, 10
FONT = 12           # px of the class names; labels of arrows are 11 px
LEGEND_H, LEGEND_W = 44, 760   # the key to the drawing, below it


def text_width(text: str, size: float = FONT) -> float:
    """An estimate of a line's width: CJK characters are square, Latin ones about 0.6 of the size."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


@dataclass
class Node:
    iri: str
    name: str          # the prefixed or local name
    label: str         # the label in the page's language ("" for other vocabularies' classes)
    external: bool
    href: str = ""
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = BOX_H
    loop: list[str] = field(default_factory=list)   # properties whose domain and range are this class

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def slot(self) -> float:
        """The width the node takes in its row: the box and its self-loop's labels."""
        return self.w + (max(text_width(t, 11) for t in self.loop) + 52 if self.loop else 0)


@dataclass
class Edge:
    source: str
    target: str
    kind: str                      # "subclass" or "property"
    labels: list[str] = field(default_factory=list)
    d: str = ""                    # the SVG path
    lx: float = 0                  # where the labels start
    ly: float = 0
    lw: float = 0                  # the labels' width (for their background)


@dataclass
class Diagram:
    nodes: list[Node]
    edges: list[Edge]
    width: float = 0
    height: float = 0
    legend_y: float = 0


def layout(nodes: list[Node], subclass: list[tuple[str, str]], properties: list[tuple[str, str, str]]) -> Diagram:
    """A diagram of ``nodes`` with (sub, super) and (domain, range, name) arrows between them."""
    known = {n.iri: n for n in nodes}
    edges = [Edge(s, o, "subclass") for s, o in dict.fromkeys(subclass) if s in known and o in known and s != o]
    merged: dict[tuple[str, str], list[str]] = defaultdict(list)
    for d, r, name in properties:
        if d in known and r in known:
            if d == r:
                known[d].loop.append(name)
            else:
                merged[d, r].append(name)
    edges += [Edge(d, r, "property", sorted(names)) for (d, r), names in merged.items()]
    for n in nodes:
        n.w = max(text_width(n.name), text_width(n.label), 60) + 2 * PAD
        n.loop.sort()
    rows = [[known[i] for i in row] for row in _rows(_order(_layers(nodes, edges), edges))]
    _place(rows)
    taken: list[Box] = [(n.x - 4, n.y - 4, n.slot + 8, n.h + 8) for n in nodes]   # boxes and self-loop labels
    for e in sorted(edges, key=lambda e: -len(e.labels)):   # the biggest labels choose first
        _route(e, known[e.source], known[e.target], taken)
    width = max((sum(n.slot for n in row) + GAP_X * (len(row) - 1) for row in rows), default=0) + 2 * GAP_X
    height = len(rows) * (BOX_H + GAP_Y) - GAP_Y + 80
    return Diagram(nodes, edges, max(width, LEGEND_W), height + LEGEND_H, legend_y=height)


def _layers(nodes: list[Node], edges: list[Edge]) -> dict[str, int]:
    """Each node's layer: the longest path to it from the top (superclass → subclass, domain → range),
    taking subclass arrows first and leaving out any arrow that would close a cycle."""
    below: dict[str, set[str]] = defaultdict(set)
    for e in sorted(edges, key=lambda e: e.kind != "subclass"):
        upper, lower = (e.target, e.source) if e.kind == "subclass" else (e.source, e.target)
        if not _reaches(below, lower, upper):
            below[upper].add(lower)
    layer = {n.iri: 0 for n in nodes}
    for _ in range(len(nodes)):   # relax: at most one pass per node on an acyclic graph
        changed = False
        for upper, lowers in below.items():
            for lower in lowers:
                if layer[lower] < layer[upper] + 1:
                    layer[lower], changed = layer[upper] + 1, True
        if not changed:
            break
    return layer


def _reaches(below: dict[str, set[str]], start: str, goal: str) -> bool:
    todo, seen = [start], {start}
    while todo:
        here = todo.pop()
        if here == goal:
            return True
        for nxt in below[here] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return False


def _order(layer: dict[str, int], edges: list[Edge], sweeps: int = 6) -> list[list[str]]:
    """The nodes of each layer, ordered by the mean place of their neighbours: first those above, then
    (sweeping down and up again) those on every side."""
    neighbours: dict[str, set[str]] = defaultdict(set)
    for e in edges:
        neighbours[e.source].add(e.target)
        neighbours[e.target].add(e.source)
    layers: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for iri in sorted(layer):
        layers[layer[iri]].append(iri)
    place: dict[str, float] = {}
    for sweep in range(sweeps):
        before = dict(place)
        for nodes in layers if sweep % 2 == 0 else layers[::-1]:
            centres = {iri: _centre(iri, neighbours[iri], before, place) for iri in nodes}
            nodes.sort()
            nodes.sort(key=centres.__getitem__)   # stable: ties stay in name order
            place |= {iri: (i + 0.5) / len(nodes) for i, iri in enumerate(nodes)}
    return layers


def _centre(iri: str, neighbours: set[str], before: dict[str, float], now: dict[str, float]) -> float:
    """The mean place of a node's neighbours (last sweep's place where it had one), else its own."""
    known = [before.get(n, now.get(n)) for n in neighbours]
    places = [x for x in known if x is not None]
    return sum(places) / len(places) if places else before.get(iri, 0.5)


def _rows(layers: list[list[str]]) -> list[list[str]]:
    """Layers cut into rows of at most ROW nodes, each row as full as the others of its layer."""
    rows = []
    for nodes in layers:
        count = math.ceil(len(nodes) / ROW)
        size = math.ceil(len(nodes) / count) if count else 0
        rows += [nodes[i:i + size] for i in range(0, len(nodes), size)] if size else []
    return rows


def _place(rows: list[list[Node]]) -> None:
    """Rows top to bottom, each centred on the widest."""
    widest = max((sum(n.slot for n in row) + GAP_X * (len(row) - 1) for row in rows), default=0)
    for i, row in enumerate(rows):
        x = GAP_X + (widest - sum(n.slot for n in row) - GAP_X * (len(row) - 1)) / 2
        for n in row:
            n.x, n.y = x, 40 + i * (BOX_H + GAP_Y)
            x += n.slot + GAP_X


def _clip(n: Node, dx: float, dy: float) -> tuple[float, float]:
    """Where a line from the box's centre in direction (dx, dy) leaves the box."""
    t = min(n.w / 2 / abs(dx) if dx else math.inf, n.h / 2 / abs(dy) if dy else math.inf)
    return n.cx + dx * t, n.cy + dy * t


Box = tuple[float, float, float, float]   # x, y, width, height


def _route(e: Edge, a: Node, b: Node, taken: list[Box]) -> None:
    """A straight arrow for a subclass, a gentle curve for a property (so A→B and B→A stay apart),
    its labels at the first point along it where they cover no box and no other labels."""
    dx, dy = b.cx - a.cx, b.cy - a.cy
    length = math.hypot(dx, dy) or 1
    (x1, y1), (x2, y2) = _clip(a, dx, dy), _clip(b, -dx, -dy)
    if e.kind == "subclass":
        e.d = f"M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}"
        return
    bend = 24
    cx, cy = (x1 + x2) / 2 - dy / length * bend, (y1 + y2) / 2 + dx / length * bend
    e.d = f"M{x1:.1f},{y1:.1f} Q{cx:.1f},{cy:.1f} {x2:.1f},{y2:.1f}"
    e.lw, h = max(text_width(t, 11) for t in e.labels) + 6, 14 * len(e.labels) + 2
    spots = []
    for t in (0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8):
        px = (1 - t) ** 2 * x1 + 2 * (1 - t) * t * cx + t * t * x2
        py = (1 - t) ** 2 * y1 + 2 * (1 - t) * t * cy + t * t * y2
        spots.append((px - e.lw / 2, py - h / 2, e.lw, h))
    box = next((spot for spot in spots if not any(_overlap(spot, other) for other in taken)), spots[0])
    taken.append(box)
    e.lx, e.ly = box[0], box[1] + 1


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def loop_path(n: Node) -> str:
    """A self-loop on the right of a box, for properties from a class to itself."""
    x, y = n.x + n.w, n.y
    return (f"M{x:.1f},{y + 8:.1f} C{x + 44:.1f},{y - 18:.1f} {x + 44:.1f},{y + n.h + 18:.1f} "
            f"{x + 2:.1f},{y + n.h - 8:.1f}")


def diagram_of(classes: list[tuple[str, str, str, bool]], subclass: list[tuple[str, str]],
               properties: list[tuple[str, str, str]], href: dict[str, str]) -> Diagram:
    """The diagram of (IRI, name, label, external) classes; ``href`` says where each box links."""
    nodes = [Node(iri, name, label, external, href.get(iri, "")) for iri, name, label, external in classes]
    return layout(nodes, subclass, properties)

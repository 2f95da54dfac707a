"""The package's shape: no module imports itself back through others, and the layers contract of
pyproject.toml (records → transform → quality → build → store → web → config → cli) holds.

Imports inside functions and under TYPE_CHECKING count too: a cycle hidden in a function is still two
modules that cannot be understood, or moved, one without the other."""

from __future__ import annotations

import grimp
import pytest
from importlinter.cli import lint_imports

from conftest import ROOT

PACKAGE = "policygraph"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def import_cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """One shortest cycle through each direct import that is part of a cycle, each cycle listed once."""
    cycles: dict[frozenset[str], tuple[str, ...]] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycles.setdefault(frozenset(back), (importer, *back))
    return sorted(cycles.values())


def test_the_cycle_finder_finds_a_cycle():
    g = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c", "p.d"):
        g.add_module(m)
    g.add_import(importer="p.a", imported="p.b")
    g.add_import(importer="p.b", imported="p.c")
    g.add_import(importer="p.c", imported="p.a")
    g.add_import(importer="p.c", imported="p.d")
    assert import_cycles(g) == [("p.a", "p.b", "p.c", "p.a")]


def test_no_import_cycles(graph):
    assert len(graph.modules) > 20, "the graph is not the package's"
    cycles = import_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_the_layers_contract_is_kept(capsys):
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert status == 0, out
    assert "0 broken" in out

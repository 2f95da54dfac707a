"""Hostile input files are refused cleanly (issue 11): an RDF/XML entity bomb, RDF nested deep enough
to crash pyoxigraph, a YAML alias bomb or deep YAML make every command that reads them exit 2 with
"error: <file>: …" on stderr, within a memory cap, without a traceback or a crash; and a build
clears the temporary folders an interrupted build left behind, never a live build's."""

import os
import re
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import free_port
from rdflib.plugin import PluginException

from policygraph.build import dumps as build_mod
from policygraph.build.dumps import write_dumps

CAP = 3 << 30  # bytes of address space for each command: the bombs took 11.6 GiB before


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "policygraph", *args], capture_output=True, text=True, check=False,
                          timeout=timeout, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP)))


def assert_refused(done: subprocess.CompletedProcess, path: Path, why: str = "") -> None:
    assert done.returncode >= 0, f"killed by signal {-done.returncode}: {done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stderr.startswith("error:") or "\nerror:" in done.stderr, done.stderr
    assert str(path) in done.stderr
    assert why in done.stderr, done.stderr


# ------------------------------------------------------------------ the files


def rdfxml_bomb(levels: int = 10, fan: int = 10) -> str:
    """~740 bytes: entity e9 expands to 3 GB ("billion laughs"); pyoxigraph expands each when declared."""
    entities = ['<!ENTITY e0 "lol">'] + [f'<!ENTITY e{i} "{f"&e{i - 1};" * fan}">' for i in range(1, levels)]
    return ('<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n' + "\n".join(entities) + "\n]>\n"
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://example.org/">'
            f'<rdf:Description rdf:about="http://example.org/s"><e:p>&e{levels - 1};</e:p></rdf:Description>'
            "</rdf:RDF>\n")


def rdfxml_with_namespace_entities() -> str:
    """An ordinary OWL-style file: a few entities for namespace IRIs, used in attributes."""
    return """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
    <!ENTITY xsd "http://www.w3.org/2001/XMLSchema#" >
    <!ENTITY rdfs "http://www.w3.org/2000/01/rdf-schema#" >
    <!ENTITY ex "http://example.org/hostile-test/" >
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="&rdfs;" xmlns:ex="&ex;">
  <rdf:Description rdf:about="&ex;thing">
    <rdfs:label xml:lang="en">a thing</rdfs:label>
    <ex:count rdf:datatype="&xsd;integer">3</ex:count>
  </rdf:Description>
</rdf:RDF>
"""


def jsonld_nested(depth: int) -> str:
    """Objects nested ``depth`` deep: pyoxigraph 0.5 segfaults from about 3,000."""
    return ('{"@id": "http://example.org/s", ' + '"http://example.org/p": {' * depth
            + '"http://example.org/q": "x"' + "}" * depth + "}")


def jsonld_context_chain(terms: int) -> str:
    """One @context of terms each defined by the next ("t1": "t0:x"): flat JSON, but pyoxigraph
    defines them recursively and segfaults from about 8,000 terms (in a random order)."""
    chain = ", ".join(f'"t{i}": "t{i - 1}:x"' for i in range(terms - 1, 0, -1))
    return (f'{{"@context": {{{chain}, "t0": "http://example.org/"}}, '
            f'"@id": "http://example.org/s", "t{terms - 1}": "v"}}')


def triple_terms_nested(depth: int) -> str:
    """RDF 1.2 triple terms nested ``depth`` deep (Turtle and N-Triples): a segfault from about 20,000."""
    s, p = "<http://example.org/s>", "<http://example.org/p>"
    return f"{s} {p} " + f"<<( {s} {p} " * depth + '"x"' + " )>>" * depth + " .\n"


def yaml_alias_bomb(fan: int = 200) -> str:
    """2.6 KB: sub-projects, initiatives and outputs as aliases, fan**3 = 8 M outputs for pydantic."""
    def refs(name: str) -> str:
        return "[" + ", ".join([f"*{name}"] * fan) + "]"
    return (f"out: &o {{printed: x, label: x, quantity: 1, unit: x}}\nouts: &os {refs('o')}\n"
            f"ini: &i {{no: 1, name: x, name_en: x, methods: [], summary: x, outputs: *os}}\ninis: &is {refs('i')}\n"
            f"sp: &s {{no: 1, name: x, name_en: x, budget: [], initiatives: *is}}\n"
            f"project:\n  sub_projects: {refs('s')}\n")


def yaml_deep(depth: int = 100_000) -> str:
    return "project: " + "[" * depth + "]" * depth + "\n"


RDF_CASES = {  # name → (file name, text, what the message says)
    "rdfxml-billion-laughs": ("bomb.rdf", rdfxml_bomb(), "XML entities expand"),
    "jsonld-5000": ("deep-5000.jsonld", jsonld_nested(5_000), "nested more than"),
    "jsonld-100000": ("deep-100000.jsonld", jsonld_nested(100_000), "nested more than"),
    "jsonld-context-chain-100000": ("chain.jsonld", jsonld_context_chain(100_000), "@context with more than"),
    "turtle-triple-terms-30000": ("deep.ttl", triple_terms_nested(30_000), "nested more than"),
    "ntriples-triple-terms-30000": ("deep.nt", triple_terms_nested(30_000), "nested more than"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {}
    for case, (name, text, why) in RDF_CASES.items():
        (folder / name).write_text(text)
        files[case] = (folder / name, why)
    return files


# ------------------------------------------------------------------ every command that reads an RDF file


@pytest.mark.parametrize("case", RDF_CASES)
def test_validate_refuses(hostile, case):
    path, why = hostile[case]
    assert_refused(run_cli("validate", str(path)), path, why)


@pytest.mark.parametrize("case", RDF_CASES)
def test_load_refuses_before_any_network(hostile, case):
    path, why = hostile[case]
    assert_refused(run_cli("load", "--to", "http://127.0.0.1:9/x", "--only-graphs", "--graph", str(path)), path, why)


@pytest.mark.parametrize("case", RDF_CASES)
def test_serve_refuses_before_any_worker_starts(hostile, case):
    path, why = hostile[case]
    done = run_cli("serve", "--only-graphs", "--port", str(free_port()), "--workers", "1", "--graph", str(path),
                   timeout=60)
    assert_refused(done, path, why)
    assert "serving" not in done.stdout


def test_namespace_entities_still_work(tmp_path):
    path = tmp_path / "ontology-style.rdf"
    path.write_text(rdfxml_with_namespace_entities())
    done = run_cli("validate", str(path))
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    # load gets past the check to the network (nothing listens on port 9): exit 1, not 2
    done = run_cli("load", "--to", "http://127.0.0.1:9/x", "--only-graphs", "--graph", str(path))
    assert done.returncode == 1, done.stderr
    assert "127.0.0.1:9" in done.stderr


# ------------------------------------------------------------------ YAML: build --sheet


@pytest.mark.parametrize("name,text,why", [
    ("alias-bomb.yaml", yaml_alias_bomb(), "aliases expand to more than"),
    ("deep.yaml", yaml_deep(), "nested more than"),
])
def test_build_refuses_a_hostile_sheet(tmp_path, name, text, why):
    path = tmp_path / name
    path.write_text(text)
    done = run_cli("build", "--sheet", str(path), "--out", str(tmp_path / "dist"), "--quiet")
    assert_refused(done, path, why)
    assert not (tmp_path / "dist").exists()


# ------------------------------------------------------------------ leftovers of interrupted builds


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_build_clears_what_interrupted_builds_left(build, tmp_path):
    out = tmp_path / "dist"
    host, _ = build_mod._owner().rsplit("-", 1)
    dead = _dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        gone = [f".dist-tmp-{host}-{dead}-abcd1234", f".dist-old-{host}-{dead}", f".dist-old-{dead}"]
        kept = [f".dist-tmp-{host}-{live.pid}-efgh5678",    # a concurrent build, still running
                f".dist-old-{host}-{live.pid}",
                f".dist-tmp-otherhost-{dead}-ijkl9012",     # another host's: its pid means nothing here
                ".dist-notes", "dist-tmp-x"]
        gone.append(".dist-k2j_9x0a")                    # an older version's mkdtemp folder, two days old
        kept.append(".dist-p4q8r2s6")                    # … and one from a build that may still run
        for name in gone + kept:
            (tmp_path / name).mkdir()
            (tmp_path / name / "policygraph.nq").write_text("partial")
        two_days_ago = time.time() - 2 * 86_400
        os.utime(tmp_path / ".dist-k2j_9x0a", (two_days_ago, two_days_ago))
        out.mkdir()
        write_dumps(build, out)
        left = sorted(p.name for p in tmp_path.iterdir())
        assert left == sorted(["dist", *kept]), left
        assert (out / "policygraph.nq").stat().st_size > 100_000
    finally:
        live.kill()
        live.wait()


def test_an_interrupted_swap_puts_the_previous_build_back(build, tmp_path, monkeypatch):
    """Killed between moving dist aside and moving the new one in: the next build, even a failing
    one, starts by putting the old dist back."""
    out = tmp_path / "dist"
    host, _ = build_mod._owner().rsplit("-", 1)
    old = tmp_path / f".dist-old-{host}-{_dead_pid()}"
    old.mkdir()
    (old / "policygraph.trig").write_text("previous build")
    monkeypatch.setitem(build_mod.DUMPS, "broken.xyz", ("no-such-format", "x/y"))
    with pytest.raises(PluginException):
        write_dumps(build, out)
    assert (out / "policygraph.trig").read_text() == "previous build"
    assert [p.name for p in tmp_path.iterdir()] == ["dist"]


def test_build_folders_name_their_owner(build, tmp_path, monkeypatch):
    """Host and pid in the temporary folder's name: what lets the next build tell a live build's
    folder from a dead one's."""
    seen = []
    swap_in = build_mod._swap_in
    monkeypatch.setattr(build_mod, "_swap_in", lambda new, out: (seen.append(new.name), swap_in(new, out)))
    write_dumps(build, tmp_path / "dist")
    host = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())
    assert seen and seen[0].startswith(f".dist-tmp-{host}-{os.getpid()}-"), seen

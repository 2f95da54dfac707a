"""The installable package: a wheel built from this checkout installs into a fresh virtual environment
and builds, answers queries and serves from an empty directory, with nothing written there."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import httpx
import pytest
from conftest import ROOT, free_port, wait_for

NAGANO_LABELS = ("SELECT ?l WHERE { <https://w3id.org/policygraph/id/prefecture/20> "
                 "<http://www.w3.org/2000/01/rdf-schema#label> ?l }")


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_wheel_installs_anywhere_and_serves_from_an_empty_directory(tmp_path):
    # from the committed tree, as a clean clone has it (a build in the checkout would leave build/ there)
    source, wheels = tmp_path / "source", tmp_path / "wheels"
    source.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-f", "-", "-C", str(source)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)],
                   check=True, timeout=600)
    (wheel,) = wheels.glob("policygraph-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("policygraph/project/ontology/policygraph.ttl", "policygraph/project/queries/prefectures.rq",
                   "policygraph/project/data/reference/prefectures.yaml", "policygraph/web/templates/base.html"):
        assert needed in names
    assert not any(n.startswith(("tests/", "benchmarks/", "research/")) for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], check=True, timeout=900)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLICYGRAPH_", "PYTHON", "VIRTUAL_ENV"))}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}"}
    policygraph = str(venv / "bin" / "policygraph")

    answer = subprocess.run([policygraph, "query", NAGANO_LABELS, "--format", "csv"], cwd=empty, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert answer.returncode == 0, answer.stderr
    assert "長野県" in answer.stdout and "Nagano Prefecture" in answer.stdout
    assert (tmp_path / "cache" / "policygraph").is_dir()  # the build went to the user's cache

    port = free_port()
    server = subprocess.Popen([policygraph, "serve", "--port", str(port)], cwd=empty, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", server, seconds=300)
        base = f"http://127.0.0.1:{port}"
        rows = httpx.get(base + "/queries/prefectures", headers={"Accept": "application/json"}).json()
        assert len(rows["rows"]) == 47
        page = httpx.get(base + "/id/prefecture/20", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "長野県" in page.text
        assert httpx.get(base + "/static/query.js").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert list(empty.iterdir()) == []  # nothing written where it was started

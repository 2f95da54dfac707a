"""The wheel carries the project's inputs — ontology/, shapes/, queries/, data/ — inside the package, as
policygraph/project/, so an installed policygraph builds, validates and serves from any directory
(build/dataset.py's project_root finds them). A checkout (an editable install) reads them in place."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PROJECT_DIRS = ("ontology", "shapes", "queries", "data")


class BuildWithProject(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in PROJECT_DIRS:
            shutil.copytree(Path(name), Path(self.build_lib) / "policygraph" / "project" / name, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithProject})

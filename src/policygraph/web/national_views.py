"""Sections for the national side of the graph (national programs, alignments, counterparts, the plan tree).

A stub until its owner fills it: resources.py runs every builder listed here.
"""

from __future__ import annotations

from policygraph.web.sections import Builder

BUILDERS: list[Builder] = []

"""Sections of a resource page designed for one kind of resource (a project's budget table, a
national program's alignments, the plan's tree …).

A builder looks at the resource's types and returns the sections it has for it, or none; the
resource page (resources.py) renders each with its template under templates/sections/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from policygraph.web.graph import Site


@dataclass
class Section:
    """One part of a resource page: ``template`` (under templates/sections/) gets ``data`` as ``data``."""
    template: str
    data: Any
    heading: dict[str, str] = field(default_factory=dict)   # {"ja": …, "en": …}; empty: the template titles itself


@dataclass
class Subject:
    """The resource a page is about: what every builder needs to know of it."""
    iri: str
    types: set[str]
    lang: str
    site: Site


Builder = Callable[[Request, Subject], Awaitable[list[Section]]]

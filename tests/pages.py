"""Reading our HTML pages in tests: BeautifulSoup 4 on Python's own html.parser (no compiled dependency).

Attribute filters are written as keywords: ``class_`` matches one class of the element, any other name
has its underscores read as hyphens (``data_kind="x"`` is ``data-kind="x"``) and must equal the value.
Text is every text node below an element joined as it stands (nothing stripped).
"""
from __future__ import annotations

from bs4 import BeautifulSoup, Tag


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _attrs(attrs: dict[str, str]) -> dict[str, str]:
    return {"class" if k == "class_" else k.replace("_", "-"): v for k, v in attrs.items()}


def find(node: Tag, tag: str | None = None, /, **attrs: str) -> list[Tag]:
    """Descendants in document order with this tag name (any when None) and these attribute values."""
    return list(node.find_all(tag, attrs=_attrs(attrs)))


def one(node: Tag, tag: str | None = None, /, **attrs: str) -> Tag:
    """The one descendant so named: fails when there are none or several."""
    found = find(node, tag, **attrs)
    assert len(found) == 1, f"{len(found)} <{tag} {attrs}>"
    return found[0]


def hrefs(node: Tag) -> list[str]:
    """The href of every link below node, in document order."""
    return [str(a["href"]) for a in node.find_all("a", href=True)]


def by_id(page: BeautifulSoup, key: str) -> Tag:
    """The element with this id: fails when there is none."""
    found = page.find(id=key)
    assert isinstance(found, Tag), f"no id={key}"
    return found


def unique_ids(page: BeautifulSoup) -> dict[str, Tag]:
    """The page's elements by id; fails on an id used twice."""
    ids: dict[str, Tag] = {}
    for el in page.find_all(id=True):
        key = str(el["id"])
        assert key not in ids, f"duplicate id {key}"
        ids[key] = el
    return ids


def children(node: Tag, name: str) -> list[Tag]:
    """The child elements of node (not deeper) with this tag name."""
    return list(node.find_all(name, recursive=False))


def text(node: Tag) -> str:
    """The element's text without the whitespace around it."""
    return node.get_text().strip()

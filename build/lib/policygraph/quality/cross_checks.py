"""Budget cross-checks on the built graph.

They run as SPARQL over the data, so they hold for every prefecture's sheets, not only
the ones shipped: the parts of a program add up to its total for each year, stage and
funding source; 予算現額 = 前年度繰越 + 当初 + 補正; うち一般財源 never exceeds its total.
"""

from __future__ import annotations

from decimal import Decimal

import pyoxigraph as ox

from policygraph.transform.ids import PG

_PREFIX = f"PREFIX pg: <{PG}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
_STAGE = "https://w3id.org/policygraph/id/code/budget-stage/"

COMPONENT_SUMS = _PREFIX + """
SELECT ?parent ?year ?stage ?funding ?total (SUM(?amount) AS ?sum) (COUNT(?child) AS ?parts) WHERE {
  ?parent pg:hasComponent ?child .
  ?o pg:program ?child ; pg:fiscalYear ?year ; pg:budgetStage ?stage ; pg:fundingSource ?funding ; pg:amount ?amount .
  ?p pg:program ?parent ; pg:fiscalYear ?year ; pg:budgetStage ?stage ; pg:fundingSource ?funding ; pg:amount ?total .
}
GROUP BY ?parent ?year ?stage ?funding ?total
HAVING (SUM(?amount) != ?total)
"""

CURRENT_BUDGET = _PREFIX + f"""
SELECT ?program ?year ?funding ?current ?carried ?initial ?supplementary WHERE {{
  ?c pg:program ?program ; pg:fiscalYear ?year ; pg:fundingSource ?funding ;
     pg:budgetStage <{_STAGE}current> ; pg:amount ?current .
  ?i pg:program ?program ; pg:fiscalYear ?year ; pg:fundingSource ?funding ;
     pg:budgetStage <{_STAGE}initial> ; pg:amount ?initial .
  OPTIONAL {{ ?k pg:program ?program ; pg:fiscalYear ?year ; pg:fundingSource ?funding ;
              pg:budgetStage <{_STAGE}carried-over> ; pg:amount ?carried . }}
  OPTIONAL {{ ?s pg:program ?program ; pg:fiscalYear ?year ; pg:fundingSource ?funding ;
              pg:budgetStage <{_STAGE}supplementary> ; pg:amount ?supplementary . }}
  FILTER (COALESCE(?carried, 0) + ?initial + COALESCE(?supplementary, 0) != ?current)
}}
"""

GENERAL_REVENUE = _PREFIX + """
SELECT ?program ?year ?stage ?part ?total WHERE {
  ?g pg:program ?program ; pg:fiscalYear ?year ; pg:budgetStage ?stage ; pg:amount ?part ;
     pg:fundingSource <https://w3id.org/policygraph/id/code/funding-source/general-revenue> .
  ?t pg:program ?program ; pg:fiscalYear ?year ; pg:budgetStage ?stage ; pg:amount ?total ;
     pg:fundingSource <https://w3id.org/policygraph/id/code/funding-source/all> .
  FILTER (?part > ?total)
}
"""


class CrossCheckError(ValueError):
    """The parts of a budget do not add up."""


def _num(term) -> Decimal:
    return Decimal(term.value) if term is not None else Decimal(0)


def _name(store: ox.Store, node) -> str:
    """Label a program for a message: 中小企業経営支援関連事業費 <…/prefectural-project/20/070201>."""
    # node comes from the store, so it is a well-formed IRI and safe to write into the query
    query = _PREFIX + f"SELECT ?l WHERE {{ <{node.value}> rdfs:label ?l FILTER(lang(?l) = 'ja') }}"
    labels = [s["l"].value for s in _select(store, query)]
    return f"{labels[0] if labels else ''} <{node.value}>".strip()


def _year(term) -> str:
    return "FY" + term.value.rsplit("/", 1)[-1]


def _code(term) -> str:
    return term.value.rsplit("/", 1)[-1]


def _select(store: ox.Store, query: str) -> ox.QuerySolutions:
    """The rows of a SELECT over the union of the graphs."""
    rows = store.query(query, use_default_graph_as_union=True)
    assert isinstance(rows, ox.QuerySolutions)
    return rows


def budget_problems(store: ox.Store) -> list[str]:
    """Every cross-check failure, one readable line each (empty when the budgets are consistent)."""
    out = []
    for r in _select(store, COMPONENT_SUMS):
        out.append(f"{_name(store, r['parent'])}: {_year(r['year'])} {_code(r['stage'])} ({_code(r['funding'])}): "
                   f"its {r['parts'].value} parts add up to {_num(r['sum']):,} 千円 but its total is "
                   f"{_num(r['total']):,} 千円")
    for r in _select(store, CURRENT_BUDGET):
        parts = _num(r["carried"]) + _num(r["initial"]) + _num(r["supplementary"])
        out.append(f"{_name(store, r['program'])}: {_year(r['year'])} current ({_code(r['funding'])}): "
                   f"前年度繰越 {_num(r['carried']):,} + 当初 {_num(r['initial']):,} + "
                   f"補正 {_num(r['supplementary']):,} = {parts:,} but 予算現額 is {_num(r['current']):,}")
    for r in _select(store, GENERAL_REVENUE):
        out.append(f"{_name(store, r['program'])}: {_year(r['year'])} {_code(r['stage'])}: "
                   f"うち一般財源 {_num(r['part']):,} exceeds the total {_num(r['total']):,}")
    return sorted(out)


def check_budgets(store: ox.Store) -> None:
    if problems := budget_problems(store):
        raise CrossCheckError("budget cross-checks failed:\n  " + "\n  ".join(problems))

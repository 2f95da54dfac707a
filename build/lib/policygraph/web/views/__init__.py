"""What the pages show, computed from the graph: per-kind sections of resource pages (prefecture,
project, national plan and alignments, with the statements every page has and the budget table),
the named-query forms, and the ontology and shapes documentation with its class diagram.

Views read the graph through web.graph and return plain data for the templates; routers (the
modules one level up) call them. Nothing here imports a router.
"""

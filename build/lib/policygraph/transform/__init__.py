"""Stage 2, transform: records → RDF, one module per source kind, IRIs minted in ids.py.
May import: records."""

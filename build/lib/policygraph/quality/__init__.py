"""Stage 3, quality: OWL 2 RL entailments, budget cross-checks, SHACL (our Oxigraph engine or pyshacl).
May import: transform, records."""

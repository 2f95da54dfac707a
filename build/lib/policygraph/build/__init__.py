"""Stage 4, build: one dataset from every record, checked, written as dumps; the validated build a
service publishes. May import: quality, transform, records."""

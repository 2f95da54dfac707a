"""Stage 1, records: the YAML files in data/ (and researchers' spreadsheets) read into typed models.
Imports nothing else from policygraph."""

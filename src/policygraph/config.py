"""The service configuration: CLI options, POLICYGRAPH_* variables and defaults in one place."""

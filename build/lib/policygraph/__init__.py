"""policygraph: a knowledge graph of Japanese public policy on small and medium enterprises."""

__version__ = "0.1.0"

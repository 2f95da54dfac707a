"""Stage 5, store: where queries run (embedded worker pool or a remote endpoint behind one Engine
protocol), the request check, result formats, named queries, loading. May import: build and below."""

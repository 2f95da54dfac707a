"""Stage 6, web: the FastAPI service, one router per concern, Jinja2 templates, one error model.
May import: store and below (never config or cli)."""

"""API documentation that works offline: Swagger UI served from this app, not from a CDN.

The assets come from the swagger-ui-bundle-v2 package (Swagger UI 5.31, Apache-2.0, its licence in
the package's metadata), which renders the OpenAPI 3.1 that FastAPI writes (Swagger UI 4 cannot).
ReDoc has no packaged assets, so /redoc sends browsers to /docs.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS, OAUTH2_REDIRECT, ASSETS = "/docs", "/docs/oauth2-redirect", "/static/swagger-ui"
PATHS = (DOCS, OAUTH2_REDIRECT)  # the pages whose inline scripts the security headers allow by hash

router = APIRouter(include_in_schema=False)


@router.get(DOCS)
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="policygraph API",
                               oauth2_redirect_url=OAUTH2_REDIRECT,
                               swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                               swagger_css_url=f"{ASSETS}/swagger-ui.css",
                               swagger_favicon_url=f"{ASSETS}/favicon-32x32.png")


@router.get(OAUTH2_REDIRECT)
async def oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc() -> RedirectResponse:
    return RedirectResponse(DOCS, status_code=301)


def mount_assets(app: FastAPI) -> None:
    """Swagger UI's files under /static/swagger-ui (before the app's own /static mount)."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

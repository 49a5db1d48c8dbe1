"""The citizen page at ``/``: server-rendered with jinja2, its script and style served under ``/static/``.

The page calls the assistant endpoints (``/v1/assistant/chat``, ``/v1/assistant/handover``) with URLs
relative to itself and no key: how those calls are authorised is the application's decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Query
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from souverain.web import i18n

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# Everything from the page's own origin, nothing inline, no framing: the script has no inline handlers.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
    "Vary": "Accept-Language",
}


def page_environment() -> Environment:
    """The jinja2 environment of the page templates (HTML autoescaped)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page_context(language: str, notices: Mapping[str, str] | None) -> dict[str, object]:
    """What the page template renders for ``language``."""
    return {
        "language": language,
        "t": i18n.strings(language),
        "script_strings": i18n.script_strings(language),
        "languages": [(code, i18n.strings(code)["language_name"]) for code in i18n.LANGUAGES],
        "notice": i18n.notice_for(language, notices),
        "attribution": i18n.ATTRIBUTION[language],
    }


def web_router(notices: Mapping[str, str] | None = None) -> APIRouter:
    """A router serving the citizen page; ``notices`` is the use case's AI notice per language."""
    environment = page_environment()
    router = APIRouter(tags=["web"])

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def citizen_page(
        lang: Annotated[str | None, Query()] = None,
        accept_language: Annotated[str | None, Header()] = None,
    ) -> HTMLResponse:
        language = i18n.choose_language(lang, accept_language)
        html = environment.get_template("page.html").render(page_context(language, notices))
        return HTMLResponse(html, headers=PAGE_HEADERS)

    return router


def mount_web(app: FastAPI, notices: Mapping[str, str] | None = None) -> None:
    """Serve the citizen page at ``/`` and its script and style under ``/static/`` on ``app``."""
    app.include_router(web_router(notices))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
